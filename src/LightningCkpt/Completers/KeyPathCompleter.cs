using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using LightningCkpt.Pickle;

namespace LightningCkpt.Commands.Completers
{
    /// <summary>
    /// Completes Import-Ckpt -Key level by level from the graph of the checkpoint the command line names: after
    /// 'optimizer_states/0/' it offers 'optimizer_states/0/state' and 'optimizer_states/0/param_groups'.
    /// </summary>
    internal sealed class KeyPathCompleter : LiteralValueCompleter
    {
        protected override IEnumerable<string> Candidates(string file, string word)
        {
            int slash = word.LastIndexOf('/');
            string parent = slash < 0 ? "" : word.Substring(0, slash);
            string leaf = word.Substring(slash + 1);
            var root = CkptGraph.Load(file);
            var node = parent.Length == 0 ? root : CkptGraph.Select(root, parent);
            return Children(node)
                .Where(k => k.StartsWith(leaf, StringComparison.OrdinalIgnoreCase))
                .Select(k => parent.Length == 0 ? k : parent + "/" + k);
        }

        /// <summary>The key segments one level below <paramref name="node"/>: dict keys as -Key spells them, list indices.</summary>
        private static IEnumerable<string> Children(object? node)
        {
            switch (node)
            {
                case PyDict d:
                    foreach (var e in d.Entries) yield return PyRepr.KeySegment(e.Key);
                    break;
                case IList list:
                    for (int i = 0; i < list.Count; i++) yield return i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    break;
            }
        }
    }
}

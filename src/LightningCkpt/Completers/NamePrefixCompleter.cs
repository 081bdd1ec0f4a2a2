using System;
using System.Collections.Generic;
using System.Linq;

namespace LightningCkpt.Commands.Completers
{
    /// <summary>Completes Select-CkptWeights -StripPrefix with the name prefixes of the checkpoint's weights (model., model.net.).</summary>
    internal sealed class NamePrefixCompleter : LiteralValueCompleter
    {
        private const int MaxPrefixes = 500;

        protected override IEnumerable<string> Candidates(string file, string word)
        {
            var prefixes = new List<string>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var entry in TensorNameCompleter.NamesOf(file, all: false))
                for (int dot = entry.Name.IndexOf('.'); dot >= 0 && prefixes.Count < MaxPrefixes; dot = entry.Name.IndexOf('.', dot + 1))
                {
                    var prefix = entry.Name.Substring(0, dot + 1);
                    if (seen.Add(prefix)) prefixes.Add(prefix);
                }
            return prefixes.Where(p => p.StartsWith(word, StringComparison.OrdinalIgnoreCase));
        }
    }
}

using System;
using LightningCkpt.Safety;

namespace LightningCkpt.Pickle
{
    /// <summary>
    /// What torch.load(weights_only=False)'s unpickler looks a GLOBAL up as: torch's own module mapping
    /// (torch.tensor → torch._tensor), then Python's find_class with fix_imports — at protocol ≤ 2 a (module, name)
    /// pair in _compat_pickle.NAME_MAPPING, else a module in IMPORT_MAPPING, is replaced — and from protocol 4 on a
    /// dotted name is an attribute path from the module (('pathlib', 'os.system') is pathlib.os.system, i.e. os.system).
    /// </summary>
    public static class FindClassPath
    {
        public static PyGlobal Of(string module, string name, int protocol)
        {
            if (module == "torch.tensor") module = "torch._tensor";
            if (protocol < 3)
            {
                if (SafetyTables.NameMapping.TryGetValue(module + "\n" + name, out var mapped))
                {
                    int nl = mapped.IndexOf('\n');
                    return new PyGlobal(mapped.Substring(0, nl), mapped.Substring(nl + 1));
                }
                if (SafetyTables.ImportMapping.TryGetValue(module, out var m)) module = m;
            }
            return new PyGlobal(module, name);
        }

        /// <summary>The attribute names of <paramref name="name"/> (one unless it is dotted).</summary>
        public static string[] AttributePath(string name) => name.Split(new[] { '.' }, StringSplitOptions.None);
    }
}

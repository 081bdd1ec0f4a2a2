using System.Collections.Generic;
using LightningCkpt.Pickle;

namespace LightningCkpt.Container.Sharded
{
    /// <summary>Reading dataclass-like inert objects (DCP metadata, DeepSpeed state) by field name, as data.</summary>
    internal static class PyFields
    {
        /// <summary>The field's value, or null when the object (or dict) does not have it (old pickles lack new fields).</summary>
        public static object? Get(object? o, string name)
        {
            switch (o)
            {
                case PyObject obj:
                    foreach (var f in obj.Fields) if (f.Key is string k && k == name) return f.Value;
                    return null;
                case PyDict d:
                    return d.Get(name);
                default:
                    return null;
            }
        }

        public static bool Has(object? o, string name)
        {
            if (o is PyDict d) return d.ContainsKey(name);
            if (o is PyObject obj) foreach (var f in obj.Fields) if (f.Key is string k && k == name) return true;
            return false;
        }

        /// <summary>The class name of an inert object ("module.Name"), or "" when it is not one.</summary>
        public static string ClassOf(object? o) => (o as PyObject)?.Class?.FullName ?? "";

        public static long[]? Longs(object? v)
        {
            IReadOnlyList<object?>? items = v switch { PyTuple t => t, PyList l => l, _ => null };
            if (items == null) return null;
            var r = new long[items.Count];
            for (int i = 0; i < r.Length; i++)
            {
                if (items[i] is long l) r[i] = l;
                else return null;
            }
            return r;
        }

        public static long? Long(object? v) => v is long l ? l : v is bool b ? (b ? 1 : 0) : (long?)null;
    }
}

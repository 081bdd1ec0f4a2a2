using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics;
using LightningCkpt.Pickle;
using LightningCkpt.Torch;

namespace LightningCkpt.Writing
{
    /// <summary>
    /// Turns a graph into data that torch's weights_only loader accepts in torch 1.13 and 2.x, keeping every value:
    /// dict subclasses (AttributeDict, Counter, defaultdict …) → dict (OrderedDict stays), omegaconf DictConfig/ListConfig
    /// → dict/list of their contents, enums → their value, paths → str, sets → lists, deques → lists, Namespace,
    /// dataclasses and other objects → a dict of their fields, numpy arrays → nested lists and numpy scalars → numbers,
    /// classes, functions and functools.partial → their dotted name (a string). Tensors, torch.dtype, torch.device and
    /// torch.Size are kept (a writer may swap tensors for its own). Each conversion is noted
    /// in <see cref="Conversions"/> under its kind, with the paths it happened at.
    /// </summary>
    internal sealed class SafeTypes
    {
        private readonly Func<object, object?>? _mapTensor;
        private readonly Func<object, object?>? _normalize;
        private readonly GraphMemo<object?> _memo = new GraphMemo<object?>();

        /// <param name="mapTensor">Maps a tensor (TensorRef or CkptTensor) to what the writer pickles; null keeps it.</param>
        /// <param name="normalize">Maps foreign wrappers (PowerShell's PSObject) to plain values first.</param>
        public SafeTypes(Func<object, object?>? mapTensor = null, Func<object, object?>? normalize = null)
        {
            _mapTensor = mapTensor;
            _normalize = normalize;
        }

        /// <summary>Conversion kind ("argparse.Namespace → dict" …) → the paths where it was made, in order.</summary>
        public Dictionary<string, List<string>> Conversions { get; } = new Dictionary<string, List<string>>(StringComparer.Ordinal);

        /// <summary>True for kinds that lose behaviour, not data (callables written as their names): worth a warning.</summary>
        public static bool IsLossy(string kind) => kind.EndsWith("→ dotted name", StringComparison.Ordinal);

        /// <summary>One line per kind, for warnings and -Verbose.</summary>
        public IEnumerable<string> Describe()
        {
            foreach (var k in Conversions)
            {
                var paths = k.Value;
                string where = string.Join(", ", paths.Take(3)) + (paths.Count > 3 ? $" and {paths.Count - 3} more" : "");
                yield return $"{k.Key}: {where}" + (IsLossy(k.Key) ? " (the callable itself is not kept; load it by name)" : "");
            }
        }

        public object? Convert(object? v, string path) => Convert(v, path, 0);

        private void Note(string kind, string path)
        {
            if (!Conversions.TryGetValue(kind, out var list)) Conversions[kind] = list = new List<string>();
            list.Add(path.Length == 0 ? "(root)" : path);
        }

        private object? Convert(object? v, string path, int depth)
        {
            if (v != null && _normalize != null) v = _normalize(v);
            if (depth > GraphPickler.MaxDepth) throw new GraphWriteException($"{path} nests deeper than {GraphPickler.MaxDepth} levels");
            switch (v)
            {
                case null: case DType _: return v;
                case bool _: case string _: case byte[] _: case Complex _:
                case long _: case int _: case short _: case sbyte _: case byte _: case ushort _: case uint _: case ulong _:
                case BigInteger _: case double _: case float _: case decimal _: case char _:
                    if (Construction.Of(v) is not { } made) return v;
                    // numpy scalars (and bytearrays) remember how they were made; a fresh copy is the plain value
                    Note((made.Callable is PyGlobal g ? DottedName(g) : "a constructed value") + " → " + PythonTypeName(v), path);
                    return v switch
                    {
                        string str => new string(str.ToCharArray()),
                        byte[] bytes => (byte[])bytes.Clone(),
                        _ => Rebox(v),
                    };
                case TensorRef _: case CkptTensor _:
                    return _mapTensor != null ? _mapTensor(v) : v;
            }
            if (_memo.TryGet(v, out var done)) return done;
            if (!_memo.Enter(v)) throw new GraphWriteException($"{path} contains itself through a value that has to be converted; a weights_only file cannot hold that cycle");
            object? result = ConvertNew(v, path, depth);
            _memo.Leave(v, result);
            return result;
        }

        private object? ConvertNew(object v, string path, int depth)
        {
            switch (v)
            {
                case PyTuple t:
                {
                    var items = new object?[t.Count];
                    for (int i = 0; i < t.Count; i++) items[i] = Convert(t[i], path + "[" + i + "]", depth + 1);
                    return t.IsTorchSize ? PyTuple.TorchSize(items) : new PyTuple(items);
                }
                case PyList l:
                {
                    if (l.PythonType != null) Note($"{l.PythonType.Module}.{l.PythonType.Name} → list", path);
                    return ConvertList(l, path, depth);
                }
                case PySet s:
                {
                    Note((s.IsFrozen ? "frozenset" : "set") + " → list", path);
                    var list = new PyList();
                    int i = 0;
                    foreach (var x in s) list.Add(Convert(x, path + "[" + i++ + "]", depth + 1));
                    return list;
                }
                case PyDict d:
                {
                    var type = d.PythonType;
                    bool ordered = type != null && type.Is("collections", "OrderedDict");
                    if (type != null && !ordered) Note($"{type.Module}.{type.Name} → dict", path);
                    else if (d.DefaultFactory != null) Note("collections.defaultdict → dict", path);
                    return ConvertDict(d, ordered, path, depth);
                }
                case PyPath p:
                    Note($"{p.PythonType.Module}.{p.PythonType.Name} → str", path);
                    // str() of a Windows path joins its parts with backslashes
                    return p.PythonType.Name.IndexOf("Windows", StringComparison.Ordinal) >= 0 ? p.Path.Replace('/', '\\') : p.Path;
                case PyGlobal g:
                    Note("class or function → dotted name", path);
                    return DottedName(g);
                case NumpyArray a:
                    Note("numpy.ndarray → list", path);
                    return NumpyList(a, path);
                case PyObject o:
                    return ConvertObject(o, path, depth);
                case StorageValue _:
                    return v;
                case System.Collections.IDictionary map:
                {
                    var entries = new List<KeyValuePair<object?, object?>>();
                    foreach (System.Collections.DictionaryEntry e in map) entries.Add(new KeyValuePair<object?, object?>(e.Key, e.Value));
                    return ConvertDict(entries, false, path, depth);
                }
                case System.Collections.IEnumerable seq:
                    return ConvertList(seq.Cast<object?>(), path, depth);
            }
            throw new GraphWriteException($"{path} is a {v.GetType().Name} that has no weights_only form");
        }

        private PyList ConvertList(IEnumerable<object?> items, string path, int depth)
        {
            var list = new PyList();
            int i = 0;
            foreach (var x in items) list.Add(Convert(x, path + "[" + i++ + "]", depth + 1));
            return list;
        }

        private PyDict ConvertDict(IEnumerable<KeyValuePair<object?, object?>> entries, bool ordered, string path, int depth)
        {
            var dict = new PyDict();
            if (ordered) dict.PythonType = new PyGlobal("collections", "OrderedDict");
            foreach (var e in entries)
            {
                string sub = path + (path.Length == 0 ? "" : ".") + PyRepr.KeySegment(e.Key);
                var key = Convert(e.Key, sub + " (key)", depth + 1);
                if (key is PyList keyList) key = new PyTuple(keyList.ToArray()); // a set key became a list: keys must hash
                dict.Set(key, Convert(e.Value, sub, depth + 1));
            }
            return dict;
        }

        private object? ConvertObject(PyObject o, string path, int depth)
        {
            var cls = o.Class;
            string name = cls != null ? $"{cls.Module}.{cls.Name}" : "object";
            if (cls != null && cls.Is("torch", "device")) return o; // allow-listed: kept as it is
            if (cls != null && cls.Is("functools", "partial"))
            {
                Note("functools.partial → dotted name", path);
                var func = o.Args.Count > 0 ? o.Args[0] : (o.State as PyTuple)?.FirstOrDefault();
                return func is PyGlobal g ? DottedName(g) : name;
            }
            if (cls != null && cls.Module.StartsWith("omegaconf", StringComparison.Ordinal))
            {
                var content = o.Fields.FirstOrDefault(f => f.Key as string == "_content").Value;
                if (cls.Name == "DictConfig" && content is PyDict cd)
                {
                    Note($"{name} → dict", path);
                    return ConvertDict(cd.Select(e => new KeyValuePair<object?, object?>(e.Key, NodeValue(e.Value))), false, path, depth);
                }
                if (cls.Name == "ListConfig" && content is PyList cl)
                {
                    Note($"{name} → list", path);
                    return ConvertList(cl.Select(NodeValue), path, depth);
                }
                if (cls.Name.EndsWith("Node", StringComparison.Ordinal)) return Convert(NodeValue(o), path, depth + 1);
                if (content == null) Note($"{name} → dict", path); // a config left None or a "???" marker: its fields
            }
            // an enum, or any object pickled as cls(value): its value
            if (!o.ViaNewObject && o.State == null && o.Args.Count == 1 && o.DictItems == null && o.ListItems == null && cls != null)
            {
                Note($"{name} (enum) → value", path);
                return Convert(o.Args[0], path, depth + 1);
            }
            var fields = o.Fields.ToList();
            if (o.DictItems != null && o.DictItems.Count > 0)
            {
                Note($"{name} → dict", path); // a dict subclass with its own constructor: its items
                return ConvertDict(o.DictItems, false, path, depth);
            }
            if (o.ListItems != null && o.ListItems.Count > 0)
            {
                Note($"{name} → list", path);
                return ConvertList(o.ListItems, path, depth);
            }
            if (o.State != null && fields.Count == 0 && o.HasOpaqueState)
            {
                Note($"{name} (its pickled state) → data", path);
                return Convert(o.State, path, depth + 1);
            }
            if (fields.Count == 0 && o.Args.Count > 0)
            {
                Note($"{name} (its constructor arguments) → list", path);
                return ConvertList(o.Args, path, depth);
            }
            Note($"{name} → dict", path);
            return ConvertDict(fields, false, path, depth);
        }

        /// <summary>An omegaconf node's plain value (AnyNode, ValueNode …: their _val), else the node itself.</summary>
        private static object? NodeValue(object? node)
        {
            if (node is PyObject n && n.Class != null && n.Class.Module.StartsWith("omegaconf", StringComparison.Ordinal) && n.Class.Name.EndsWith("Node", StringComparison.Ordinal))
                return n.Fields.FirstOrDefault(f => f.Key as string == "_val").Value;
            return node;
        }

        // a fresh box (RuntimeHelpers.GetObjectValue hands primitives back unchanged)
        private static object Rebox(object v) => v switch
        {
            bool b => b, double d => d, float f => (double)f, decimal m => (double)m, long l => l, int i => (long)i, short s => (long)s,
            sbyte sb => (long)sb, byte by => (long)by, ushort us => (long)us, uint ui => (long)ui, ulong ul => new BigInteger(ul),
            BigInteger bi => new BigInteger(bi.ToByteArray()), Complex c => new Complex(c.Real, c.Imaginary), char ch => ch.ToString(),
            _ => v,
        };

        private static string PythonTypeName(object v) => v switch
        {
            bool _ => "bool", string _ => "str", byte[] _ => "bytes", Complex _ => "complex", double _ or float _ or decimal _ => "float", _ => "int",
        };

        private static string DottedName(PyGlobal g) => (g.PickledModule ?? g.Module) + "." + g.Name;

        /// <summary>Nested lists (row-major, by shape) of the array's elements as numpy's .tolist() gives them.</summary>
        private object NumpyList(NumpyArray a, string path)
        {
            var flat = new List<object?>();
            if (a.Items != null) for (int i = 0; i < a.Items.Count; i++) flat.Add(Convert(a.Items[i], path + "[" + i + "]", 1));
            else if (a.Data != null && a.DType != null && a.DType.ItemSize > 0)
            {
                int size = a.DType.ItemSize;
                for (int at = 0; at + size <= a.Data.Length; at += size)
                {
                    var raw = new byte[size];
                    Buffer.BlockCopy(a.Data, at, raw, 0, size);
                    flat.Add(a.DType.DecodeScalar(raw));
                }
            }
            if (a.FortranOrder && a.Shape.Length > 1) flat = FromFortran(flat, a.Shape);
            if (a.Shape.Length == 0) return flat.Count > 0 ? flat[0]! : new PyList();
            int pos = 0;
            return Nest(flat, a.Shape, 0, ref pos);
        }

        private static PyList Nest(List<object?> flat, long[] shape, int dim, ref int pos)
        {
            var list = new PyList();
            for (long i = 0; i < shape[dim]; i++)
            {
                if (dim == shape.Length - 1) list.Add(pos < flat.Count ? flat[pos++] : null);
                else list.Add(Nest(flat, shape, dim + 1, ref pos));
            }
            return list;
        }

        private static List<object?> FromFortran(List<object?> flat, long[] shape)
        {
            var result = new List<object?>(flat.Count);
            var index = new long[shape.Length];
            for (int n = 0; n < flat.Count; n++)
            {
                long f = 0, stride = 1;
                for (int d = 0; d < shape.Length; d++) { f += index[d] * stride; stride *= shape[d]; }
                result.Add(flat[(int)f]);
                for (int d = shape.Length - 1; d >= 0; d--) { if (++index[d] < shape[d]) break; index[d] = 0; }
            }
            return result;
        }
    }
}

using System;
using System.Collections.Generic;
using System.Numerics;
using System.Text;

namespace LightningCkpt.Pickle
{
    /// <summary>
    /// Meaning for the Python standard-library and numpy globals checkpoints use: containers, bytes, sets,
    /// collections, copyreg, pathlib, numpy arrays and scalars, Lightning's AttributeDict. Every other global
    /// becomes an inert <see cref="PyObject"/>. Nothing here runs code.
    /// </summary>
    public class PythonHost : IPickleHost
    {
        private static readonly HashSet<string> DictTypes = new HashSet<string>(StringComparer.Ordinal)
        {
            "builtins.dict", "collections.OrderedDict", "collections.Counter", "collections.defaultdict",
            "pytorch_lightning.utilities.parsing.AttributeDict", "lightning.pytorch.utilities.parsing.AttributeDict",
            "lightning.fabric.utilities.data.AttributeDict", "lightning_fabric.utilities.data.AttributeDict",
        };

        private static readonly HashSet<string> PathTypes = new HashSet<string>(StringComparer.Ordinal)
        {
            "pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath", "pathlib.PurePath", "pathlib.PurePosixPath",
            "pathlib.PureWindowsPath", "pathlib._local.PosixPath", "pathlib._local.WindowsPath",
            "pathlib._local.PurePosixPath", "pathlib._local.PureWindowsPath", "pathlib._local.Path",
        };

        /// <summary>Python 2 module names as Python 3's unpickler maps them.</summary>
        protected static string NormalizeModule(string module) => module switch
        {
            "__builtin__" => "builtins",
            "copy_reg" => "copyreg",
            "torch.tensor" => "torch._tensor",
            "numpy._core.multiarray" => "numpy.core.multiarray",
            "numpy._core.numeric" => "numpy.core.numeric",
            _ => module,
        };

        public virtual object? ResolveGlobal(string module, string name) => Named(module, name);

        /// <summary>A global by its normalized module, remembering the file's spelling.</summary>
        protected static PyGlobal Named(string pickledModule, string name)
        {
            var module = NormalizeModule(pickledModule);
            return new PyGlobal(module, name) { PickledModule = ReferenceEquals(module, pickledModule) ? null : pickledModule };
        }

        public virtual object? PersistentLoad(object? pid) =>
            new PyObject(new PyGlobal("", "persistent_load"), new PyTuple(new[] { pid }));

        public virtual object? Call(object? callable, PyTuple args)
        {
            if (callable is not PyGlobal g) return new PyObject(callable, args);
            var full = g.FullName;
            switch (full)
            {
                case "builtins.set": return ToSet(args, frozen: false);
                case "builtins.frozenset": return ToSet(args, frozen: true);
                case "builtins.bytearray":
                case "builtins.bytes": return ToBytes(args) ?? (object)new PyObject(g, args);
                case "_codecs.encode":
                    if (args.Count >= 1 && args[0] is string s)
                        return Encode(s, args.Count > 1 ? args[1] as string : "utf-8") ?? (object)new PyObject(g, args);
                    return new PyObject(g, args);
                case "builtins.complex":
                    if (args.Count >= 1 && ToDouble(args[0]) is double re)
                        return new Complex(re, args.Count > 1 && ToDouble(args[1]) is double im ? im : 0);
                    return new PyObject(g, args);
                case "builtins.list": return args.Count == 1 && Items(args[0]) is { } li ? new PyList(li) : args.Count == 0 ? new PyList() : new PyObject(g, args);
                case "builtins.tuple": return args.Count == 1 && Items(args[0]) is { } ti ? new PyTuple(new List<object?>(ti).ToArray()) : args.Count == 0 ? PyTuple.Empty : new PyObject(g, args);
                case "collections.deque":
                    {
                        var dq = new PyList { PythonType = g };
                        if (args.Count >= 1 && Items(args[0]) is { } di) dq.AddRange(di);
                        return dq;
                    }
                case "collections.defaultdict":
                    return new PyDict { PythonType = g, DefaultFactory = args.Count > 0 ? args[0] : null };
                case "copyreg._reconstructor":
                    if (args.Count >= 2) return NewObject(args[0], PyTuple.Empty, null);
                    return new PyObject(g, args);
                case "copyreg.__newobj__":
                    if (args.Count >= 1) return NewObject(args[0], Slice(args, 1), null);
                    return new PyObject(g, args);
                case "copyreg.__newobj_ex__":
                    if (args.Count == 3 && args[1] is PyTuple na) return NewObject(args[0], na, args[2] as PyDict);
                    return new PyObject(g, args);
                case "numpy.core.multiarray._reconstruct":
                    return new NumpyArray();
                case "numpy.core.multiarray.scalar":
                    if (args.Count == 2 && args[0] is NumpyDType dt && args[1] is byte[] raw) return dt.DecodeScalar(raw);
                    if (args.Count == 2 && args[0] is NumpyDType dt2 && args[1] is string latin) return dt2.DecodeScalar(Latin1Bytes(latin));
                    return new PyObject(g, args);
                case "numpy.dtype":
                    if (args.Count >= 1 && args[0] is string code) return new NumpyDType(code);
                    return new PyObject(g, args);
            }
            if (DictTypes.Contains(full)) return ToDict(g, args);
            if (PathTypes.Contains(full)) return ToPath(g, args);
            return new PyObject(g, args);
        }

        public virtual object? NewObject(object? cls, PyTuple args, PyDict? kwargs)
        {
            if (cls is PyGlobal g)
            {
                var full = g.FullName;
                if (DictTypes.Contains(full)) return ToDict(g, args);
                if (PathTypes.Contains(full)) return ToPath(g, args);
                switch (full)
                {
                    case "builtins.list": return new PyList();
                    case "builtins.set": return new PySet(false);
                    case "builtins.frozenset": return ToSet(args, true);
                    case "builtins.tuple": return args.Count == 1 && Items(args[0]) is { } ti ? new PyTuple(new List<object?>(ti).ToArray()) : PyTuple.Empty;
                    case "builtins.object": return new PyObject(g, PyTuple.Empty) { ViaNewObject = true };
                }
            }
            return new PyObject(cls, args, kwargs) { ViaNewObject = true };
        }

        public virtual object? Build(object? target, object? state)
        {
            switch (target)
            {
                case PyObject o:
                    if (o.State is PyDict existing && state is PyDict more)
                        foreach (var e in more) existing.Set(e.Key, e.Value);
                    else o.State = state;
                    return o;
                case PyDict d:
                    if (state is PyDict sd) MergeAttributes(d, sd);
                    else if (state is PyTuple t && t.Count == 2)
                    {
                        if (t[0] is PyDict a) MergeAttributes(d, a);
                        if (t[1] is PyDict b) MergeAttributes(d, b);
                    }
                    else if (state != null) throw new PickleDataException($"BUILD on a dict with a {PickleMachine.TypeName(state)} state");
                    return d;
                case NumpyArray arr:
                    FillArray(arr, state);
                    return arr;
                case NumpyDType dt:
                    if (state is PyTuple ds && ds.Count >= 2 && ds[1] is string order && order.Length == 1) dt.ByteOrder = order[0];
                    return dt;
                case PyList:
                case PySet:
                case PyPath:
                    return target; // list/set subclasses and paths carry no state we use
                default:
                    throw new PickleDataException($"BUILD on {PickleMachine.TypeName(target)}, which cannot take state");
            }
        }

        private static void MergeAttributes(PyDict d, PyDict state)
        {
            d.Attributes ??= new PyDict();
            foreach (var e in state) d.Attributes.Set(e.Key, e.Value);
        }

        private static void FillArray(NumpyArray arr, object? state)
        {
            // (version, shape, dtype, is_fortran, rawdata) — version may be absent in old numpy pickles
            if (state is not PyTuple t || t.Count < 4) throw new PickleDataException("numpy array state is not a tuple");
            int o = t.Count == 5 ? 1 : 0;
            if (t[o] is PyTuple shape)
            {
                var dims = new long[shape.Count];
                for (int i = 0; i < dims.Length; i++) dims[i] = shape[i] is long l ? l : throw new PickleDataException("numpy shape is not integral");
                arr.Shape = dims;
            }
            arr.DType = t[o + 1] as NumpyDType;
            arr.FortranOrder = t[o + 2] is bool f && f;
            switch (t[o + 3])
            {
                case byte[] raw: arr.Data = raw; break;
                case string latin: arr.Data = Latin1Bytes(latin); break;
                case PyList items: arr.Items = items; break;
            }
        }

        protected static PyTuple Slice(PyTuple t, int from)
        {
            if (from >= t.Count) return PyTuple.Empty;
            var a = new object?[t.Count - from];
            for (int i = 0; i < a.Length; i++) a[i] = t[from + i];
            return new PyTuple(a);
        }

        protected static IEnumerable<object?>? Items(object? v) => v switch
        {
            PyList l => l,
            PyTuple t => t,
            PySet s => s,
            PyDict d => d.Keys,
            _ => null,
        };

        private static object ToSet(PyTuple args, bool frozen)
        {
            var s = new PySet(frozen);
            if (args.Count >= 1 && Items(args[0]) is { } items) foreach (var i in items) s.AddItem(i);
            return s;
        }

        private static PyDict ToDict(PyGlobal type, PyTuple args)
        {
            var d = new PyDict { PythonType = type.Is("builtins", "dict") ? null : type };
            if (args.Count >= 1)
            {
                if (args[0] is PyDict src) foreach (var e in src) d.Set(e.Key, e.Value);
                else if (Items(args[0]) is { } pairs)
                    foreach (var p in pairs)
                        if (p is PyTuple kv && kv.Count == 2) d.Set(kv[0], kv[1]);
                        else if (p is PyList kl && kl.Count == 2) d.Set(kl[0], kl[1]);
            }
            return d;
        }

        private static object ToPath(PyGlobal type, PyTuple args)
        {
            var sep = type.Name.Contains("Windows") ? "\\" : "/";
            var sb = new StringBuilder();
            foreach (var a in args)
            {
                var part = a as string ?? (a as PyPath)?.Path;
                if (part == null) return new PyObject(type, args);
                if (sb.Length > 0 && !(sb[sb.Length - 1] == '/' || sb[sb.Length - 1] == '\\')) sb.Append(sep);
                sb.Append(part);
            }
            return new PyPath(type, sb.ToString());
        }

        private static byte[]? ToBytes(PyTuple args)
        {
            if (args.Count == 0) return Array.Empty<byte>();
            switch (args[0])
            {
                case byte[] b: return (byte[])b.Clone();
                case string s: return Encode(s, args.Count > 1 ? args[1] as string : "utf-8");
                case PyList l:
                    var r = new byte[l.Count];
                    for (int i = 0; i < r.Length; i++)
                        if (l[i] is long v && v >= 0 && v <= 255) r[i] = (byte)v; else return null;
                    return r;
                default: return null;
            }
        }

        private static byte[]? Encode(string s, string? encoding)
        {
            switch ((encoding ?? "utf-8").ToLowerInvariant().Replace('_', '-'))
            {
                case "latin1": case "latin-1": case "iso-8859-1": case "l1":
                    return Latin1Bytes(s);
                case "utf-8": case "utf8":
                    return Encoding.UTF8.GetBytes(s);
                case "ascii":
                    return Encoding.ASCII.GetBytes(s);
                default:
                    return null;
            }
        }

        protected static byte[] Latin1Bytes(string s)
        {
            var b = new byte[s.Length];
            for (int i = 0; i < s.Length; i++) b[i] = (byte)s[i];
            return b;
        }

        protected static double? ToDouble(object? v) => v switch
        {
            double d => d,
            long l => l,
            bool b => b ? 1 : 0,
            BigInteger bi => (double)bi,
            _ => null,
        };
    }
}

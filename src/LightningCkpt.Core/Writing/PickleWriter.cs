using System;
using System.Collections.Generic;
using System.IO;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Text;
using LightningCkpt.Pickle;

namespace LightningCkpt.Writing
{
    /// <summary>
    /// A protocol-2 pickle writer that only emits globals on torch's weights_only allow-list and only the opcodes the
    /// weights_only unpickler supports. Objects: None, bool, long/int/BigInteger, double, string, byte[]
    /// (<c>_codecs.encode</c>), <see cref="PyTuple"/>, <see cref="PyList"/>, <see cref="PyDict"/> (an OrderedDict when its
    /// PythonType says so, else a plain dict), <see cref="PySet"/> (<c>builtins.set</c>), <see cref="Complex"/>
    /// (<c>builtins.complex</c>) and <see cref="OutTensor"/> (<c>_rebuild_tensor_v2</c>/<c>_v3</c> with a storage
    /// persistent id). Containers and tensors are memoized (BINPUT) and reused (BINGET), so shared objects stay shared.
    /// </summary>
    internal sealed class PickleWriter
    {
        private const byte PROTO = 0x80, STOP = (byte)'.', MARK = (byte)'(', BINPUT = (byte)'q', LONG_BINPUT = (byte)'r',
            BINGET = (byte)'h', LONG_BINGET = (byte)'j', GLOBAL = (byte)'c', REDUCE = (byte)'R', BINPERSID = (byte)'Q',
            NONE = (byte)'N', NEWTRUE = 0x88, NEWFALSE = 0x89, BININT1 = (byte)'K', BININT2 = (byte)'M', BININT = (byte)'J',
            LONG1 = 0x8a, BINFLOAT = (byte)'G', BINUNICODE = (byte)'X', EMPTY_TUPLE = (byte)')', TUPLE1 = 0x85, TUPLE2 = 0x86,
            TUPLE3 = 0x87, TUPLE = (byte)'t', EMPTY_LIST = (byte)']', APPENDS = (byte)'e', EMPTY_DICT = (byte)'}', SETITEMS = (byte)'u';

        private const int Batch = 1000;
        private readonly MemoryStream _out = new MemoryStream();
        private readonly Dictionary<object, int> _memo = new Dictionary<object, int>(ReferenceEqualityComparer.Instance);
        private readonly Dictionary<string, int> _globals = new Dictionary<string, int>(StringComparer.Ordinal);
        private int _nextMemo;

        public static byte[] Dump(object? root)
        {
            var w = new PickleWriter();
            w._out.WriteByte(PROTO);
            w._out.WriteByte(2);
            w.Save(root);
            w._out.WriteByte(STOP);
            return w._out.ToArray();
        }

        private void Save(object? v)
        {
            switch (v)
            {
                case null: _out.WriteByte(NONE); return;
                case bool b: _out.WriteByte(b ? NEWTRUE : NEWFALSE); return;
                case int i: SaveLong(i); return;
                case long l: SaveLong(l); return;
                case BigInteger bi: SaveBig(bi); return;
                case double d: SaveDouble(d); return;
                case float f: SaveDouble(f); return;
                case string s: SaveString(s); return;
            }
            if (_memo.TryGetValue(v, out int id)) { Get(id); return; }
            switch (v)
            {
                case byte[] bytes:
                    // protocol 2 spelling of bytes: _codecs.encode(latin-1 text, 'latin1')
                    Global("_codecs", "encode");
                    var chars = new char[bytes.Length];
                    for (int k = 0; k < bytes.Length; k++) chars[k] = (char)bytes[k];
                    SaveString(new string(chars));
                    SaveString("latin1");
                    _out.WriteByte(TUPLE2);
                    _out.WriteByte(REDUCE);
                    Put(v);
                    return;
                case Complex c:
                    Global("builtins", "complex");
                    SaveDouble(c.Real); SaveDouble(c.Imaginary);
                    _out.WriteByte(TUPLE2); _out.WriteByte(REDUCE);
                    Put(v);
                    return;
                case PyTuple t: SaveTuple(t, v); return;
                case PyList list:
                    _out.WriteByte(EMPTY_LIST);
                    Put(v);
                    for (int k = 0; k < list.Count; k += Batch)
                    {
                        _out.WriteByte(MARK);
                        for (int j = k; j < Math.Min(list.Count, k + Batch); j++) Save(list[j]);
                        _out.WriteByte(APPENDS);
                    }
                    return;
                case PySet set:
                    Global("builtins", "set");
                    _out.WriteByte(EMPTY_LIST);
                    if (set.Count > 0)
                    {
                        _out.WriteByte(MARK);
                        foreach (var item in set) Save(item);
                        _out.WriteByte(APPENDS);
                    }
                    _out.WriteByte(TUPLE1);
                    _out.WriteByte(REDUCE);
                    Put(v);
                    return;
                case PyDict dict:
                    if (dict.PythonType != null && dict.PythonType.Is("collections", "OrderedDict"))
                    {
                        Global("collections", "OrderedDict");
                        _out.WriteByte(EMPTY_TUPLE);
                        _out.WriteByte(REDUCE);
                    }
                    else _out.WriteByte(EMPTY_DICT);
                    Put(v);
                    var entries = dict.Entries;
                    for (int k = 0; k < entries.Count; k += Batch)
                    {
                        _out.WriteByte(MARK);
                        for (int j = k; j < Math.Min(entries.Count, k + Batch); j++) { Save(entries[j].Key); Save(entries[j].Value); }
                        _out.WriteByte(SETITEMS);
                    }
                    return;
                case OutTensor t: SaveTensor(t); return;
            }
            throw new InvalidOperationException($"cannot pickle a {v.GetType().Name} with allow-listed globals only");
        }

        private void SaveTensor(OutTensor t)
        {
            var st = t.Storage ?? throw new InvalidOperationException($"tensor '{t.Name}' has no storage assigned");
            bool v3 = st.TypedAs == null;
            Global("torch._utils", v3 ? "_rebuild_tensor_v3" : "_rebuild_tensor_v2");
            _out.WriteByte(MARK);
            // persistent id ('storage', storage type, key, location, numel)
            _out.WriteByte(MARK);
            SaveString("storage");
            Global("torch", v3 ? "UntypedStorage" : st.TypedAs!.StorageName!);
            SaveString(st.Key);
            SaveString("cpu");
            SaveLong(st.Numel);
            _out.WriteByte(TUPLE);
            _out.WriteByte(BINPERSID);
            SaveLong(t.StorageOffset);
            SaveLongTuple(t.Shape);
            SaveLongTuple(t.Stride);
            Save(t.RequiresGrad);
            Global("collections", "OrderedDict");
            _out.WriteByte(EMPTY_TUPLE);
            _out.WriteByte(REDUCE);
            if (v3) Global("torch", t.DType.Name);
            _out.WriteByte(TUPLE);
            _out.WriteByte(REDUCE);
            Put(t);
        }

        private void SaveLongTuple(long[] items)
        {
            if (items.Length == 0) { _out.WriteByte(EMPTY_TUPLE); return; }
            if (items.Length > 3) _out.WriteByte(MARK);
            foreach (var x in items) SaveLong(x);
            _out.WriteByte(items.Length switch { 1 => TUPLE1, 2 => TUPLE2, 3 => TUPLE3, _ => TUPLE });
        }

        private void SaveTuple(PyTuple t, object key)
        {
            if (t.Count == 0) { _out.WriteByte(EMPTY_TUPLE); return; }
            if (t.Count > 3) _out.WriteByte(MARK);
            foreach (var x in t) Save(x);
            _out.WriteByte(t.Count switch { 1 => TUPLE1, 2 => TUPLE2, 3 => TUPLE3, _ => TUPLE });
            Put(key);
        }

        private void Global(string module, string name)
        {
            string full = module + "\n" + name + "\n";
            if (_globals.TryGetValue(full, out int id)) { Get(id); return; }
            _out.WriteByte(GLOBAL);
            var b = Encoding.ASCII.GetBytes(full);
            _out.Write(b, 0, b.Length);
            id = NextMemo();
            _globals[full] = id;
            PutId(id);
        }

        private int NextMemo() => _nextMemo++;

        private void Put(object key)
        {
            int id = NextMemo();
            _memo[key] = id;
            PutId(id);
        }

        private void PutId(int id)
        {
            if (id < 256) { _out.WriteByte(BINPUT); _out.WriteByte((byte)id); }
            else { _out.WriteByte(LONG_BINPUT); WriteInt32(id); }
        }

        private void Get(int id)
        {
            if (id < 256) { _out.WriteByte(BINGET); _out.WriteByte((byte)id); }
            else { _out.WriteByte(LONG_BINGET); WriteInt32(id); }
        }

        private void SaveLong(long v)
        {
            if (v >= 0 && v <= 0xff) { _out.WriteByte(BININT1); _out.WriteByte((byte)v); return; }
            if (v >= 0 && v <= 0xffff) { _out.WriteByte(BININT2); _out.WriteByte((byte)v); _out.WriteByte((byte)(v >> 8)); return; }
            if (v >= int.MinValue && v <= int.MaxValue) { _out.WriteByte(BININT); WriteInt32((int)v); return; }
            SaveBig(new BigInteger(v));
        }

        private void SaveBig(BigInteger v)
        {
            if (v >= int.MinValue && v <= int.MaxValue) { SaveLong((long)v); return; }
            var bytes = v.ToByteArray(); // two's complement little-endian, minimal
            if (bytes.Length > 255) throw new InvalidOperationException("integer too large to pickle with LONG1");
            _out.WriteByte(LONG1);
            _out.WriteByte((byte)bytes.Length);
            _out.Write(bytes, 0, bytes.Length);
        }

        private void SaveDouble(double d)
        {
            _out.WriteByte(BINFLOAT);
            long bits = BitConverter.DoubleToInt64Bits(d);
            for (int i = 7; i >= 0; i--) _out.WriteByte((byte)(bits >> (8 * i)));
        }

        private void SaveString(string s)
        {
            var b = new UTF8Encoding(false, false).GetBytes(s);
            _out.WriteByte(BINUNICODE);
            WriteInt32(b.Length);
            _out.Write(b, 0, b.Length);
        }

        private void WriteInt32(int v)
        {
            _out.WriteByte((byte)v); _out.WriteByte((byte)(v >> 8)); _out.WriteByte((byte)(v >> 16)); _out.WriteByte((byte)(v >> 24));
        }

        private sealed class ReferenceEqualityComparer : IEqualityComparer<object>
        {
            public static readonly ReferenceEqualityComparer Instance = new ReferenceEqualityComparer();
            public new bool Equals(object x, object y) => ReferenceEquals(x, y);
            public int GetHashCode(object obj) => RuntimeHelpers.GetHashCode(obj);
        }
    }
}

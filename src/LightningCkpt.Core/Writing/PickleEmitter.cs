using System;
using System.Collections.Generic;
using System.IO;
using System.Numerics;
using LightningCkpt.Pickle;
using System.Text;

namespace LightningCkpt.Writing
{
    /// <summary>
    /// The protocol-2 spelling of pickle's leaves (ints, floats, strings, bytes, complex, globals) and its memo
    /// (PUT/GET by object identity), shared by the weights writer and the object-graph writer.
    /// </summary>
    internal abstract class PickleEmitter
    {
        protected const byte PROTO = 0x80, STOP = (byte)'.', MARK = (byte)'(', POP = (byte)'0', POP_MARK = (byte)'1',
            BINPUT = (byte)'q', LONG_BINPUT = (byte)'r', BINGET = (byte)'h', LONG_BINGET = (byte)'j', GLOBAL = (byte)'c',
            REDUCE = (byte)'R', BUILD = (byte)'b', NEWOBJ = 0x81, NEWOBJ_EX = 0x92, BINPERSID = (byte)'Q',
            NONE = (byte)'N', NEWTRUE = 0x88, NEWFALSE = 0x89, BININT1 = (byte)'K', BININT2 = (byte)'M', BININT = (byte)'J',
            LONG1 = 0x8a, LONG4 = 0x8b, BINFLOAT = (byte)'G', BINUNICODE = (byte)'X', EMPTY_TUPLE = (byte)')', TUPLE1 = 0x85,
            TUPLE2 = 0x86, TUPLE3 = 0x87, TUPLE = (byte)'t', EMPTY_LIST = (byte)']', APPENDS = (byte)'e',
            EMPTY_DICT = (byte)'}', SETITEMS = (byte)'u';

        /// <summary>Items per APPENDS/SETITEMS, as Python's pickler batches them.</summary>
        protected const int Batch = 1000;

        protected readonly MemoryStream _out = new MemoryStream();
        protected readonly Dictionary<object, int> _memo = new Dictionary<object, int>(ReferenceComparer.Instance);
        private readonly Dictionary<string, int> _globals = new Dictionary<string, int>(StringComparer.Ordinal);

        /// <summary>Every global written, once each, in first-written order ("module.name").</summary>
        internal List<(string Module, string Name)> WrittenGlobals { get; } = new List<(string Module, string Name)>();
        private static readonly UTF8Encoding Utf8 = new UTF8Encoding(false, false);
        private int _nextMemo;

        protected void Op(byte op) => _out.WriteByte(op);

        protected void Global(string module, string name)
        {
            string full = module + "\n" + name + "\n";
            if (_globals.TryGetValue(full, out int id)) { Get(id); return; }
            WrittenGlobals.Add((module, name));
            _out.WriteByte(GLOBAL);
            var b = Utf8.GetBytes(full);
            _out.Write(b, 0, b.Length);
            id = _nextMemo++;
            _globals[full] = id;
            PutId(id);
        }

        protected void Put(object key)
        {
            int id = _nextMemo++;
            _memo[key] = id;
            PutId(id);
        }

        private void PutId(int id)
        {
            if (id < 256) { _out.WriteByte(BINPUT); _out.WriteByte((byte)id); }
            else { _out.WriteByte(LONG_BINPUT); WriteInt32(id); }
        }

        protected void Get(int id)
        {
            if (id < 256) { _out.WriteByte(BINGET); _out.WriteByte((byte)id); }
            else { _out.WriteByte(LONG_BINGET); WriteInt32(id); }
        }

        protected void SaveLong(long v)
        {
            if (v >= 0 && v <= 0xff) { _out.WriteByte(BININT1); _out.WriteByte((byte)v); return; }
            if (v >= 0 && v <= 0xffff) { _out.WriteByte(BININT2); _out.WriteByte((byte)v); _out.WriteByte((byte)(v >> 8)); return; }
            if (v >= int.MinValue && v <= int.MaxValue) { _out.WriteByte(BININT); WriteInt32((int)v); return; }
            SaveBig(new BigInteger(v));
        }

        protected void SaveBig(BigInteger v)
        {
            if (v >= int.MinValue && v <= int.MaxValue) { SaveLong((long)v); return; }
            var bytes = v.ToByteArray(); // two's complement little-endian, minimal
            if (bytes.Length <= 255) { _out.WriteByte(LONG1); _out.WriteByte((byte)bytes.Length); }
            else { _out.WriteByte(LONG4); WriteInt32(bytes.Length); }
            _out.Write(bytes, 0, bytes.Length);
        }

        protected void SaveDouble(double d)
        {
            _out.WriteByte(BINFLOAT);
            long bits = BitConverter.DoubleToInt64Bits(d);
            for (int i = 7; i >= 0; i--) _out.WriteByte((byte)(bits >> (8 * i)));
        }

        protected void SaveString(string s)
        {
            var b = Utf8.GetBytes(s);
            _out.WriteByte(BINUNICODE);
            WriteInt32(b.Length);
            _out.Write(b, 0, b.Length);
        }

        /// <summary>Protocol 2 has no bytes opcode: Python writes _codecs.encode(latin-1 text, 'latin1').</summary>
        protected void SaveBytes(byte[] bytes)
        {
            Global("_codecs", "encode");
            var chars = new char[bytes.Length];
            for (int k = 0; k < bytes.Length; k++) chars[k] = (char)bytes[k];
            SaveString(new string(chars));
            SaveString("latin1");
            _out.WriteByte(TUPLE2);
            _out.WriteByte(REDUCE);
            Put(bytes);
        }

        protected void SaveComplex(object boxed, Complex c)
        {
            Global("builtins", "complex");
            SaveDouble(c.Real); SaveDouble(c.Imaginary);
            _out.WriteByte(TUPLE2); _out.WriteByte(REDUCE);
            Put(boxed);
        }

        protected void SaveLongTuple(long[] items)
        {
            if (items.Length == 0) { _out.WriteByte(EMPTY_TUPLE); return; }
            if (items.Length > 3) _out.WriteByte(MARK);
            foreach (var x in items) SaveLong(x);
            _out.WriteByte(TupleOp(items.Length));
        }

        /// <summary>torch.Size((items…)) as torch.Size.__reduce__ gives it, memoized; items through <paramref name="save"/>.</summary>
        protected void SaveTorchSize(Pickle.PyTuple size, Action<object?> save)
        {
            Global("torch", "Size");
            if (size.Count > 3) Op(MARK);
            foreach (var x in size) save(x);
            Op(size.Count == 0 ? EMPTY_TUPLE : TupleOp(size.Count));
            Op(TUPLE1);
            Op(REDUCE);
            Put(size);
        }

        protected static byte TupleOp(int n) => n switch { 1 => TUPLE1, 2 => TUPLE2, 3 => TUPLE3, _ => TUPLE };

        protected void WriteInt32(int v)
        {
            _out.WriteByte((byte)v); _out.WriteByte((byte)(v >> 8)); _out.WriteByte((byte)(v >> 16)); _out.WriteByte((byte)(v >> 24));
        }

        protected byte[] Finish()
        {
            _out.WriteByte(STOP);
            return _out.ToArray();
        }

        protected void Start()
        {
            _out.WriteByte(PROTO);
            _out.WriteByte(2);
        }
    }
}

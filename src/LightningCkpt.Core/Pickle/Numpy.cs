using System;
using System.Text;

namespace LightningCkpt.Pickle
{
    /// <summary>A numpy dtype rebuilt from its pickled description ('f8', byte order from BUILD).</summary>
    public sealed class NumpyDType
    {
        public NumpyDType(string code) => Code = code;

        /// <summary>The numpy type code as pickled, e.g. "f8", "i4", "u1", "b1", "c16", "O8", "U5".</summary>
        public string Code { get; }

        /// <summary>'&lt;', '&gt;', '|' or '='; numpy pickles it in BUILD state.</summary>
        public char ByteOrder { get; set; } = '<';

        public char Kind => Code.Length > 0 ? Code[0] : '?';

        public int ItemSize
        {
            get
            {
                if (Code.Length > 1 && int.TryParse(Code.Substring(1), out int n)) return Kind == 'U' ? n * 4 : n;
                return 0;
            }
        }

        public bool IsBigEndian => ByteOrder == '>';

        public override string ToString() => (ByteOrder == '|' || ByteOrder == '=' ? "" : ByteOrder.ToString()) + Code;

        /// <summary>Decodes one scalar of this dtype from raw bytes, as numpy.core.multiarray.scalar does.</summary>
        public object? DecodeScalar(byte[] raw)
        {
            int size = ItemSize;
            if (size <= 0 || raw.Length < size) return raw;
            var b = new byte[size];
            Buffer.BlockCopy(raw, 0, b, 0, size);
            if (IsBigEndian != !BitConverter.IsLittleEndian && size > 1 && Kind != 'U' && Kind != 'S' && Kind != 'c') Array.Reverse(b);
            switch (Kind)
            {
                case 'f':
                    if (size == 8) return BitConverter.ToDouble(b, 0);
                    if (size == 4) return (double)BitConverter.ToSingle(b, 0);
                    if (size == 2) return Torch.ElementConverter.HalfToDouble(BitConverter.ToUInt16(b, 0));
                    return raw;
                case 'i':
                    if (size == 8) return BitConverter.ToInt64(b, 0);
                    if (size == 4) return (long)BitConverter.ToInt32(b, 0);
                    if (size == 2) return (long)BitConverter.ToInt16(b, 0);
                    if (size == 1) return (long)(sbyte)b[0];
                    return raw;
                case 'u':
                    if (size == 8) { ulong u = BitConverter.ToUInt64(b, 0); return u <= long.MaxValue ? (object)(long)u : new System.Numerics.BigInteger(u); }
                    if (size == 4) return (long)BitConverter.ToUInt32(b, 0);
                    if (size == 2) return (long)BitConverter.ToUInt16(b, 0);
                    if (size == 1) return (long)b[0];
                    return raw;
                case 'b': return b[0] != 0;
                case 'U': return Encoding.UTF32.GetString(b).TrimEnd('\0');
                case 'S': return b;
                default: return raw;
            }
        }
    }

    /// <summary>A numpy ndarray kept as data: dtype, shape, order and its raw bytes (or object items).</summary>
    public sealed class NumpyArray
    {
        public NumpyDType? DType { get; set; }
        public long[] Shape { get; set; } = Array.Empty<long>();
        public bool FortranOrder { get; set; }

        /// <summary>The raw element bytes when the array holds plain numbers.</summary>
        public byte[]? Data { get; set; }

        /// <summary>The items when the array holds Python objects (dtype 'O').</summary>
        public PyList? Items { get; set; }

        public override string ToString() => $"numpy.ndarray(dtype={DType}, shape=({string.Join(", ", Shape)}))";
    }
}

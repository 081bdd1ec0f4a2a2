using System;
using LightningCkpt.Torch;

namespace LightningCkpt.Data
{
    /// <summary>One element of any dtype, from little-endian bytes, as double (complex: its magnitude).</summary>
    public static class ElementDecoder
    {
        public static double ToDouble(byte[] b, int i, DType dtype)
        {
            switch (dtype.ScalarTypeId) // one integer switch: this runs per element on the scalar paths
            {
                case 11: return b[i] != 0 ? 1 : 0;
                case 0: case 13: return b[i];
                case 1: case 12: return (sbyte)b[i];
                case 2: return BitConverter.ToInt16(b, i);
                case 27: return BitConverter.ToUInt16(b, i);
                case 3: case 14: return BitConverter.ToInt32(b, i);
                case 28: return BitConverter.ToUInt32(b, i);
                case 4: return BitConverter.ToInt64(b, i);
                case 29: return BitConverter.ToUInt64(b, i);
                case 5: return ElementConverter.HalfToDouble(BitConverter.ToUInt16(b, i));
                case 15: return ElementConverter.BFloat16ToDouble(BitConverter.ToUInt16(b, i));
                case 6: return BitConverter.ToSingle(b, i);
                case 7: return BitConverter.ToDouble(b, i);
                case 8:
                    return Magnitude(ElementConverter.HalfToDouble(BitConverter.ToUInt16(b, i)), ElementConverter.HalfToDouble(BitConverter.ToUInt16(b, i + 2)));
                case 9: return Magnitude(BitConverter.ToSingle(b, i), BitConverter.ToSingle(b, i + 4));
                case 10: return Magnitude(BitConverter.ToDouble(b, i), BitConverter.ToDouble(b, i + 8));
            }
            if (dtype.Kind == DTypeKind.Float8) return ElementConverter.Float8ToDouble(b[i], dtype);
            return double.NaN;
        }

        private static double Magnitude(double re, double im) => Math.Sqrt(re * re + im * im);
    }
}

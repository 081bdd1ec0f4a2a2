using System;
using LightningCkpt.Torch;

namespace LightningCkpt.Data
{
    /// <summary>One element of any dtype, from little-endian bytes, as double (complex: its magnitude).</summary>
    public static class ElementDecoder
    {
        public static double ToDouble(byte[] b, int i, DType dtype)
        {
            switch (dtype.Name)
            {
                case "bool": return b[i] != 0 ? 1 : 0;
                case "uint8": case "quint8": return b[i];
                case "int8": case "qint8": return (sbyte)b[i];
                case "int16": return BitConverter.ToInt16(b, i);
                case "uint16": return BitConverter.ToUInt16(b, i);
                case "int32": case "qint32": return BitConverter.ToInt32(b, i);
                case "uint32": return BitConverter.ToUInt32(b, i);
                case "int64": return BitConverter.ToInt64(b, i);
                case "uint64": return BitConverter.ToUInt64(b, i);
                case "float16": return ElementConverter.HalfToDouble(BitConverter.ToUInt16(b, i));
                case "bfloat16": return ElementConverter.BFloat16ToDouble(BitConverter.ToUInt16(b, i));
                case "float32": return BitConverter.ToSingle(b, i);
                case "float64": return BitConverter.ToDouble(b, i);
                case "complex32":
                    return Magnitude(ElementConverter.HalfToDouble(BitConverter.ToUInt16(b, i)), ElementConverter.HalfToDouble(BitConverter.ToUInt16(b, i + 2)));
                case "complex64": return Magnitude(BitConverter.ToSingle(b, i), BitConverter.ToSingle(b, i + 4));
                case "complex128": return Magnitude(BitConverter.ToDouble(b, i), BitConverter.ToDouble(b, i + 8));
            }
            if (dtype.Kind == DTypeKind.Float8) return ElementConverter.Float8ToDouble(b[i], dtype);
            return double.NaN;
        }

        private static double Magnitude(double re, double im) => Math.Sqrt(re * re + im * im);
    }
}

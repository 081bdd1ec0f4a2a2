using System;

namespace LightningCkpt.Torch
{
    /// <summary>Bit-exact conversions of torch's narrow floating-point formats to double.</summary>
    public static class ElementConverter
    {
        /// <summary>
        /// float16 → double as torch's <c>.double()</c>: NaN keeps its sign and payload (moved up 42 bits) and comes
        /// out quiet, like the hardware and c10 conversions, so a cast loses nothing a float32/float64 can hold.
        /// </summary>
        public static double HalfToDouble(ushort h)
        {
            int sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
            if (exp == 31 && man != 0)
                return BitConverter.Int64BitsToDouble(((long)sign << 63) | 0x7FF8000000000000L | ((long)man << 42));
            double v;
            if (exp == 0) v = man * Math.Pow(2, -24);
            else if (exp == 31) v = man == 0 ? double.PositiveInfinity : double.NaN;
            else v = (1 + man / 1024.0) * Math.Pow(2, exp - 15);
            return sign != 0 ? -v : v;
        }

        public static unsafe double BFloat16ToDouble(ushort b)
        {
            int bits = b << 16;
            return *(float*)&bits;
        }

        /// <summary>float8 variants by dtype: e4m3fn, e5m2, e4m3fnuz, e5m2fnuz, e8m0fnu.</summary>
        public static double Float8ToDouble(byte b, DType dtype)
        {
            if (ReferenceEquals(dtype, DType.Float8E8M0Fnu)) return b == 0xff ? double.NaN : Math.Pow(2, b - 127);
            bool fnuz = ReferenceEquals(dtype, DType.Float8E4M3Fnuz) || ReferenceEquals(dtype, DType.Float8E5M2Fnuz);
            if (fnuz && b == 0x80) return double.NaN;
            bool e5 = ReferenceEquals(dtype, DType.Float8E5M2) || ReferenceEquals(dtype, DType.Float8E5M2Fnuz);
            int manBits = e5 ? 2 : 3, expBits = e5 ? 5 : 4;
            int bias = (e5 ? 15 : 7) + (fnuz ? 1 : 0);
            int sign = b >> 7, exp = (b >> manBits) & ((1 << expBits) - 1), man = b & ((1 << manBits) - 1);
            double v;
            if (ReferenceEquals(dtype, DType.Float8E5M2) && exp == 31) v = man == 0 ? double.PositiveInfinity : double.NaN;
            else if (ReferenceEquals(dtype, DType.Float8E4M3Fn) && exp == 15 && man == 7) v = double.NaN;
            else if (exp == 0) v = man / (double)(1 << manBits) * Math.Pow(2, 1 - bias);
            else v = (1 + man / (double)(1 << manBits)) * Math.Pow(2, exp - bias);
            return sign != 0 ? -v : v;
        }
    }

}

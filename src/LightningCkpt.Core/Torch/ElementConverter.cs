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

        /// <summary>
        /// float8 variants by dtype: e4m3fn, e5m2, e4m3fnuz, e5m2fnuz, e8m0fnu. NaNs are the bits of torch 2.14's
        /// <c>.double()</c>: e5m2 is the top byte of a float16 (its NaNs widen as <see cref="HalfToDouble"/>),
        /// e4m3fn's NaN is c10's float 0x7FF00000 with its sign, the fnuz and e8m0fnu NaNs are c10's float 0x7F800001,
        /// each widened (and quieted) to double.
        /// </summary>
        public static double Float8ToDouble(byte b, DType dtype)
        {
            if (ReferenceEquals(dtype, DType.Float8E5M2)) return HalfToDouble((ushort)(b << 8));
            if (ReferenceEquals(dtype, DType.Float8E8M0Fnu)) return b == 0xff ? Fnuz8NaN : Math.Pow(2, b - 127);
            bool fnuz = ReferenceEquals(dtype, DType.Float8E4M3Fnuz) || ReferenceEquals(dtype, DType.Float8E5M2Fnuz);
            if (fnuz && b == 0x80) return Fnuz8NaN;
            if (ReferenceEquals(dtype, DType.Float8E4M3Fn) && (b & 0x7F) == 0x7F)
                return BitConverter.Int64BitsToDouble((long)(b >> 7) << 63 | 0x7FFE000000000000L);
            bool e5 = ReferenceEquals(dtype, DType.Float8E5M2) || ReferenceEquals(dtype, DType.Float8E5M2Fnuz);
            int manBits = e5 ? 2 : 3, expBits = e5 ? 5 : 4;
            int bias = (e5 ? 15 : 7) + (fnuz ? 1 : 0);
            int sign = b >> 7, exp = (b >> manBits) & ((1 << expBits) - 1), man = b & ((1 << manBits) - 1);
            double v;
            if (exp == 0) v = man / (double)(1 << manBits) * Math.Pow(2, 1 - bias);
            else v = (1 + man / (double)(1 << manBits)) * Math.Pow(2, exp - bias);
            return sign != 0 ? -v : v;
        }

        /// <summary>
        /// float8 → float32 bits as torch's <c>.float()</c>: the value of <see cref="Float8ToDouble"/>, except that
        /// the fnuz and e8m0fnu NaN stays c10's signalling 0x7F800001 (a double cannot carry it unquieted).
        /// </summary>
        public static unsafe uint Float8ToFloat32Bits(byte b, DType dtype)
        {
            double v = Float8ToDouble(b, dtype);
            if (BitConverter.DoubleToInt64Bits(v) == 0x7FF8000020000000L) return 0x7F800001;
            float f = (float)v;
            return *(uint*)&f;
        }

        /// <summary>The fnuz and e8m0fnu NaN as torch widens it: c10's float 0x7F800001, quieted.</summary>
        private static readonly double Fnuz8NaN = BitConverter.Int64BitsToDouble(0x7FF8000020000000L);
    }

}

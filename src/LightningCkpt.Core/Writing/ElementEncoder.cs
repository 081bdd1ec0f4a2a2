using System;
using LightningCkpt.Torch;

namespace LightningCkpt.Writing
{
    /// <summary>
    /// double → element bytes (little-endian) with round-to-nearest-even, matching torch's own casts: float16 and
    /// bfloat16 (and float8, <see cref="Float8Encoder"/>) are reached through float32 first, exactly like c10's
    /// <c>Half(float)</c>/<c>BFloat16(float)</c> constructors that a double tensor's <c>.to()</c> uses; integers are
    /// truncated toward zero like a C cast. NaN bits are torch 2.14's (see <see cref="ToHalf"/>, <see cref="ToBFloat16"/>).
    /// </summary>
    internal static class ElementEncoder
    {
        public static bool CanEncode(DType d) =>
            d.Kind == DTypeKind.Float || d.Kind == DTypeKind.BFloat || d.Kind == DTypeKind.Bool ||
            d.Kind == DTypeKind.SignedInt || d.Kind == DTypeKind.UnsignedInt ||
            Float8Encoder.Handles(d);

        public static unsafe void Encode(double v, DType d, byte[] dst, int at)
        {
            if (Float8Encoder.Handles(d)) { dst[at] = Float8Encoder.Encode((float)v, d); return; }
            switch (d.ScalarTypeId) // float64, float32, float16, bfloat16, bool
            {
                case 7: { long bits = BitConverter.DoubleToInt64Bits(v); WriteLe(dst, at, (ulong)bits, 8); return; }
                case 6: { float f = (float)v; uint bits = *(uint*)&f; WriteLe(dst, at, bits, 4); return; }
                case 5: WriteLe(dst, at, ToHalf((float)v), 2); return;
                case 15: WriteLe(dst, at, ToBFloat16((float)v), 2); return;
                case 11: dst[at] = v != 0 ? (byte)1 : (byte)0; return;
            }
            if (d.Kind == DTypeKind.SignedInt || d.Kind == DTypeKind.UnsignedInt)
            {
                double t = Math.Truncate(v);
                ulong bits = d.Kind == DTypeKind.SignedInt ? (ulong)(long)t : (ulong)t;
                WriteLe(dst, at, bits, d.ItemSize);
                return;
            }
            throw new NotSupportedException($"cannot encode values as {d.Name}");
        }

        private static void WriteLe(byte[] dst, int at, ulong bits, int n)
        {
            for (int i = 0; i < n; i++) dst[at + i] = (byte)(bits >> (8 * i));
        }

        /// <summary>
        /// float32 → float16, round-to-nearest-even, on the bits: NaN as torch 2.14 writes it (x86's F16C conversion:
        /// the sign and the top ten payload bits kept, quieted; torch 1.13 wrote sign | 0x7E00), |f| ≥ 65520 (halfway
        /// above the largest half) becomes infinity, half subnormals are rounded by one float addition (0.5 has the ulp
        /// 2^-24 of a half subnormal, and float addition rounds to nearest even), normals by adding half an ulp minus
        /// one plus the lowest kept bit.
        /// </summary>
        public static unsafe ushort ToHalf(float f)
        {
            uint x = *(uint*)&f;
            uint sign = (x >> 16) & 0x8000;
            uint ax = x & 0x7FFFFFFF;
            if (ax > 0x7F800000) return (ushort)(sign | 0x7E00 | ((ax >> 13) & 0x3FF));
            if (ax >= 0x477FF000) return (ushort)(sign | 0x7C00);
            if (ax < 0x38800000)
            {
                float a = *(float*)&ax + 0.5f;
                return (ushort)(sign | (*(uint*)&a - 0x3F000000u));
            }
            uint odd = (ax >> 13) & 1;
            ax += unchecked((uint)((15 - 127) << 23)) + 0xFFF + odd;
            return (ushort)(sign | (ax >> 13));
        }

        /// <summary>
        /// float32 → bfloat16, rounded to nearest even on the bits; NaN is 0xFFFF, what torch's vectorised float32 and
        /// float64 → bfloat16 kernels write (1.13 and 2.14 alike; every float32 element, every float64 element but the
        /// scalar tail of each thread's range). Sources torch converts element by element get c10's 0x7FC0 instead
        /// (<see cref="ScalarNaN"/>).
        /// </summary>
        public static unsafe ushort ToBFloat16(float f)
        {
            uint x = *(uint*)&f;
            if ((x & 0x7FFFFFFF) > 0x7F800000) return VectorNaN;
            return (ushort)((x + 0x7FFF + ((x >> 16) & 1)) >> 16);
        }

        /// <summary>The bfloat16 NaN of torch's vectorised casts from float32 and float64.</summary>
        public const ushort VectorNaN = 0xFFFF;

        /// <summary>
        /// The bfloat16 NaN of c10's scalar <c>BFloat16(float)</c>, which torch uses for float16 and float8 sources
        /// (their .to(torch.bfloat16) never writes 0xFFFF).
        /// </summary>
        public const ushort ScalarNaN = 0x7FC0;

        private static unsafe int Sign(float f) { uint b = *(uint*)&f; return (int)(b >> 31); }

        /// <summary>
        /// Rounds a finite or infinite float to a binary format (manBits mantissa bits, expBits exponent bits,
        /// bias) with round-half-to-even; returns sign|exponent|mantissa. With <paramref name="ieeeInf"/> the
        /// all-ones exponent is reserved for infinity, otherwise the caller checks overflow.
        /// </summary>
        internal static uint RoundIeee(float value, int manBits, int expBits, int bias, bool ieeeInf)
        {
            uint sign = (uint)Sign(value) << (manBits + expBits);
            double a = Math.Abs((double)value);
            uint expMax = (1u << expBits) - 1;
            if (double.IsInfinity(a)) return sign | (expMax << manBits);
            if (a == 0) return sign;
            int e = (int)((BitConverter.DoubleToInt64Bits(a) >> 52) & 0x7FF) - 1023; // a comes from a float: always normal in double
            int q = Math.Max(e, 1 - bias) - manBits;
            double m = a * Math.Pow(2, -q);                 // exact: power-of-two scaling
            double r = Math.Round(m, MidpointRounding.ToEven);
            long ri = (long)r;
            if (ri == 0) return sign;
            if (ri >= 1L << (manBits + 1)) { ri >>= 1; q++; }
            uint expField, man;
            if (ri < 1L << manBits) { expField = 0; man = (uint)ri; }
            else { expField = (uint)(q + manBits + bias); man = (uint)(ri - (1L << manBits)); }
            if (ieeeInf && expField >= expMax) return sign | (expMax << manBits);
            if (!ieeeInf && expField > expMax) return sign | (expMax << manBits) | ((1u << manBits) - 1);
            return sign | (expField << manBits) | man;
        }
    }
}

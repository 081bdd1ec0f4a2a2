using LightningCkpt.Torch;

namespace LightningCkpt.Writing
{
    /// <summary>
    /// float32 → the five float8 formats, bit for bit torch 2.14's <c>.to(dtype)</c> (checked against it over every
    /// rounding edge, overflow and NaN; a double reaches them through float32 first, as in torch). Finite values round
    /// to nearest, ties to even, subnormals included; the formats differ in what lies beyond their range:
    /// <list type="bullet">
    /// <item>e4m3fn (no infinities): overflow and ±inf saturate to ±448; NaN is 0x7F with the sign.</item>
    /// <item>e5m2 (IEEE-like): overflow gives ±inf; NaN is 0x7F with the sign.</item>
    /// <item>e4m3fnuz / e5m2fnuz (bias 8 / 16, no infinities, no negative zero): overflow, ±inf and NaN are the one NaN
    /// 0x80; a value that rounds to zero is +0 whatever its sign.</item>
    /// <item>e8m0fnu (an exponent only, no sign): the float's exponent field, raised by one when the dropped mantissa is
    /// above half, or exactly half with an odd (normal) implied bit, as c10 rounds it; ±inf and NaN are 0xFF, and so is
    /// a rounding past 2^127; the sign is dropped and zero is 2^-127 (0x00).</item>
    /// </list>
    /// </summary>
    internal static class Float8Encoder
    {
        /// <summary>Whether <paramref name="d"/> is one of the float8 formats encoded here.</summary>
        public static bool Handles(DType d) => d.ScalarTypeId is 23 or 24 or 25 or 26 or 44;

        public static byte Encode(float f, DType d) => d.ScalarTypeId switch
        {
            24 => E4M3Fn(f),
            23 => E5M2(f),
            26 => Fnuz(f, 3, 4, 8),
            25 => Fnuz(f, 2, 5, 16),
            44 => E8M0Fnu(f),
            _ => throw new System.NotSupportedException($"{d.Name} is not a float8 format"),
        };

        private static byte E4M3Fn(float f)
        {
            int s = Sign(f) << 7;
            if (float.IsNaN(f)) return (byte)(s | 0x7F);
            if (float.IsInfinity(f)) return (byte)(s | 0x7E);
            uint bits = ElementEncoder.RoundIeee(f, 3, 4, 7, false);
            return (bits & 0x7F) > 0x7E ? (byte)(s | 0x7E) : (byte)bits;
        }

        private static byte E5M2(float f) =>
            float.IsNaN(f) ? (byte)(Sign(f) << 7 | 0x7F) : (byte)ElementEncoder.RoundIeee(f, 2, 5, 15, true);

        /// <summary>
        /// Rounded with one exponent bit to spare, so that an overflow shows as a magnitude above the largest code
        /// (0x7F) instead of being clipped.
        /// </summary>
        private static byte Fnuz(float f, int manBits, int expBits, int bias)
        {
            if (float.IsNaN(f) || float.IsInfinity(f)) return 0x80;
            uint magnitude = ElementEncoder.RoundIeee(System.Math.Abs(f), manBits, expBits + 1, bias, false);
            if (magnitude > 0x7F) return 0x80;
            if (magnitude == 0) return 0;
            return (byte)(Sign(f) << 7 | (int)magnitude);
        }

        private static unsafe byte E8M0Fnu(float f)
        {
            uint bits = *(uint*)&f;
            uint exponent = (bits >> 23) & 0xFF;
            if (exponent == 0xFF) return 0xFF;
            bool guard = (bits & 0x400000) != 0, rest = (bits & 0x3FFFFF) != 0, odd = exponent > 0;
            return (byte)(guard && (rest || odd) ? exponent + 1 : exponent);
        }

        private static unsafe int Sign(float f) => (int)(*(uint*)&f >> 31);
    }
}

using System.Numerics;
using System.Runtime.CompilerServices;
using LightningCkpt.Writing;

namespace LightningCkpt.Data
{
    /// <summary>
    /// float32 → bfloat16 and float32 → float16 with Vector&lt;T&gt;, bit for bit the scalar
    /// <see cref="ElementEncoder.ToBFloat16"/> and <see cref="ElementEncoder.ToHalf"/> (checked over all 2³² inputs
    /// when written; the tests compare them on the rounding edges). netstandard2.0's Vector&lt;T&gt; has no shifts, so
    /// the right shift of the rounded bits is done exactly in float: the bits are cleared below the shift, which
    /// leaves at most 16 significant bits (exact as a float), then scaled by 2^-shift and converted back. Callers check
    /// <see cref="SimdKernels.Available"/>; each method returns how many elements it converted (whole vector pairs),
    /// the caller's scalar loop does the rest.
    /// </summary>
    internal static unsafe class VectorCasts
    {
        [MethodImpl(MethodImplOptions.NoInlining)]
        public static int Float32ToBFloat16(float* src, int n, ushort* dst)
        {
            int w = Vector<uint>.Count;
            var x = (uint*)src;
            int i = 0;
            for (; i + 2 * w <= n; i += 2 * w)
                *(Vector<ushort>*)(dst + i) = Vector.Narrow(BFloat16(*(Vector<uint>*)(x + i)), BFloat16(*(Vector<uint>*)(x + i + w)));
            return i;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public static int Float32ToHalf(float* src, int n, ushort* dst)
        {
            int w = Vector<uint>.Count;
            var x = (uint*)src;
            int i = 0;
            for (; i + 2 * w <= n; i += 2 * w)
                *(Vector<ushort>*)(dst + i) = Vector.Narrow(Half(*(Vector<uint>*)(x + i)), Half(*(Vector<uint>*)(x + i + w)));
            return i;
        }

        /// <summary>Round to nearest even on the bits; NaN → 0xFFFF (torch's vectorised cast).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector<uint> BFloat16(Vector<uint> x)
        {
            var abs = new Vector<uint>(0x7FFFFFFF);
            var ax = x & abs;
            var odd = Vector.Equals(ax & new Vector<uint>(0x10000), new Vector<uint>(0x10000)); // all ones: subtracting adds 1
            var rounded = (ax + new Vector<uint>(0x7FFF) - odd) & new Vector<uint>(0xFFFF0000);  // < 2^31
            var h = ShiftRight(rounded, 1f / 65536);
            h |= Vector.Equals(x & ~abs, ~abs) & new Vector<uint>(0x8000);
            var nan = Vector.GreaterThan(Vector.AsVectorInt32(ax), new Vector<int>(0x7F800000));
            return Vector.ConditionalSelect(Vector.AsVectorUInt32(nan), new Vector<uint>(ElementEncoder.VectorNaN), h);
        }

        /// <summary>
        /// The cases of <see cref="ElementEncoder.ToHalf"/> computed side by side and selected per lane: normals
        /// rebiased and rounded on the bits, half subnormals by one float addition of 0.5, overflow to infinity,
        /// NaN → 0x7E00 with the top ten payload bits; the sign goes back on last.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector<uint> Half(Vector<uint> x)
        {
            var abs = new Vector<uint>(0x7FFFFFFF);
            var ax = x & abs;
            var iax = Vector.AsVectorInt32(ax);
            var odd = Vector.Equals(ax & new Vector<uint>(0x2000), new Vector<uint>(0x2000));
            var rebiased = (ax + new Vector<uint>(unchecked((uint)((15 - 127) << 23)) + 0xFFF) - odd) & new Vector<uint>(0xFFFFE000);
            var normal = ShiftRight(rebiased, 1f / 8192); // meaningful (< 2^28) only where the lane is a half normal
            var sub = Vector.AsVectorUInt32(Vector.AsVectorSingle(ax) + new Vector<float>(0.5f)) - new Vector<uint>(0x3F000000);
            var r = Vector.ConditionalSelect(Vector.AsVectorUInt32(Vector.LessThan(iax, new Vector<int>(0x38800000))), sub, normal);
            r = Vector.ConditionalSelect(Vector.AsVectorUInt32(Vector.GreaterThanOrEqual(iax, new Vector<int>(0x477FF000))), new Vector<uint>(0x7C00), r);
            var nan = new Vector<uint>(0x7E00) | ShiftRight(ax & new Vector<uint>(0x7FE000), 1f / 8192);
            r = Vector.ConditionalSelect(Vector.AsVectorUInt32(Vector.GreaterThan(iax, new Vector<int>(0x7F800000))), nan, r);
            return r | (Vector.Equals(x & ~abs, ~abs) & new Vector<uint>(0x8000));
        }

        /// <summary>bits / 2^k for lanes whose low k bits are clear and whose value is below 2^31: exact through float.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector<uint> ShiftRight(Vector<uint> cleared, float scale) =>
            Vector.AsVectorUInt32(Vector.ConvertToInt32(Vector.ConvertToSingle(Vector.AsVectorInt32(cleared)) * new Vector<float>(scale)));
    }
}

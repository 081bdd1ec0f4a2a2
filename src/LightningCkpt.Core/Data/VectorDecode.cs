using System;
using System.Numerics;
using System.Runtime.CompilerServices;
using LightningCkpt.Torch;

namespace LightningCkpt.Data
{
    /// <summary>
    /// Stored elements → float32 or double with Vector&lt;T&gt;, for the dtypes whose values the target holds exactly:
    /// bfloat16, float16, bool, uint8, int8, int16 (and float32 itself) to float32; those, int32 and float64 to double.
    /// Bit for bit the scalar decoders (<see cref="ElementBlock.Convert"/>; for bfloat16 → float32 the plain bit move
    /// of <see cref="ElementCast.Cast"/>, so a signalling NaN stays signalling until it is widened): the tests check
    /// all 2^16 bfloat16/float16 patterns and the integer edges. netstandard2.0's Vector&lt;T&gt; has no shifts, so
    /// bits move up by multiplying (bfloat16: ×65536; float16: ×8192 plus the exponent rebias) and float16
    /// subnormals are converted as integers times 2^-24. The entry points take runs of any length, do whole vectors
    /// in the kernels and the rest with the scalar rule, and fall back to the scalar code when
    /// <see cref="SimdKernels.Available"/> is false; the methods that touch Vector&lt;T&gt; are only compiled when called.
    /// </summary>
    internal static unsafe class VectorDecode
    {
        /// <summary>Shorter runs are decoded by the scalar rule: the vector setup would cost more than it saves.</summary>
        private const int MinRun = 64;

        /// <summary>Whether <see cref="ToFloat32"/> takes this kernel geometry: every value a float32 exactly, no dequantization.</summary>
        public static bool ExactInFloat32(in ViewGeometry g) => !g.IsAffine && ExactInFloat32(g.DType);

        /// <summary>Whether every element of <paramref name="d"/> is a float32 exactly (before any dequantization).</summary>
        public static bool ExactInFloat32(DType d)
        {
            switch (d.ScalarTypeId)
            {
                case 0: case 1: case 2: case 5: case 6: case 11: case 15: return true;
                default: return false;
            }
        }

        /// <summary>
        /// <paramref name="n"/> elements of a dtype <see cref="ExactInFloat32(DType)"/> accepts, as float32, into
        /// <paramref name="dst"/> (which must not overlap the source).
        /// </summary>
        public static void ToFloat32(byte* src, int n, DType d, float* dst)
        {
            int id = d.ScalarTypeId;
            if (id == 6) { Buffer.MemoryCopy(src, dst, (long)n * 4, (long)n * 4); return; }
            int i = 0;
            if (n >= MinRun && SimdKernels.Available)
                switch (id)
                {
                    case 15: i = BFloat16ToFloat32((ushort*)src, n, dst); break;
                    case 5: i = HalfToFloat32((ushort*)src, n, (uint*)dst); break;
                    case 0: case 11: i = UInt8ToFloat32(src, n, dst); break;
                    case 1: i = Int8ToFloat32((sbyte*)src, n, dst); break;
                    case 2: i = Int16ToFloat32((short*)src, n, dst); break;
                }
            ScalarToFloat32(src, i, n, id, dst);
        }

        /// <summary>The scalar rule for elements [start, n): the reference the vector kernels are tested against.</summary>
        internal static void ScalarToFloat32(byte* src, int start, int n, int id, float* dst)
        {
            switch (id)
            {
                case 15: { var s = (ushort*)src; var o = (uint*)dst; for (int i = start; i < n; i++) o[i] = BFloat16Bits(s[i]); return; }
                case 5: { var s = (ushort*)src; for (int i = start; i < n; i++) dst[i] = (float)ElementConverter.HalfToDouble(s[i]); return; }
                case 0: case 11: for (int i = start; i < n; i++) dst[i] = src[i]; return;
                case 1: { var s = (sbyte*)src; for (int i = start; i < n; i++) dst[i] = s[i]; return; }
                case 2: { var s = (short*)src; for (int i = start; i < n; i++) dst[i] = s[i]; return; }
                case 6: { var s = (float*)src; for (int i = start; i < n; i++) dst[i] = s[i]; return; }
                default: throw new InvalidOperationException($"scalar type {id} is not exact in float32");
            }
        }

        /// <summary>The scalar bfloat16 rule: the bits moved up into a float32's (stored as bits, a signalling NaN stays signalling).</summary>
        internal static uint BFloat16Bits(ushort h) => (uint)h << 16;

        /// <summary>
        /// <see cref="ElementBlock.Convert"/>, with the dtypes whose values a double holds exactly (those of
        /// <see cref="ExactInFloat32(DType)"/>, int32, float64) decoded by vector kernels when the run is long enough.
        /// </summary>
        public static void ToDouble(byte* src, int n, in ViewGeometry g, double* dst)
        {
            int id = g.DType.ScalarTypeId;
            if (id == 7 || n < MinRun || g.IsAffine || !SimdKernels.Available || !(id == 3 || ExactInFloat32(g)))
            {
                ElementBlock.Convert(src, n, g, dst);
                return;
            }
            int done = id == 3 ? Int32ToDouble((int*)src, n, dst) : id == 6 ? Float32ToDouble((float*)src, n, dst) : ViaFloat32ToDouble(src, n, g.DType, dst);
            if (done < n) ElementBlock.Convert(src + (long)done * g.DType.ItemSize, n - done, g, dst + done);
        }

        /// <summary>Through float32 in pieces that stay in L1, then widened: exact both ways, NaN quieted by the widening as the scalar conversion quiets it.</summary>
        private static int ViaFloat32ToDouble(byte* src, int n, DType d, double* dst)
        {
            const int piece = 1024;
            float* f = stackalloc float[piece];
            int item = d.ItemSize;
            int done = 0;
            for (; done + piece <= n; done += piece)
            {
                ToFloat32(src + (long)done * item, piece, d, f);
                Float32ToDouble(f, piece, dst + done);
            }
            int rest = n - done;
            if (rest >= MinRun)
            {
                ToFloat32(src + (long)done * item, rest, d, f);
                done += Float32ToDouble(f, rest, dst + done);
            }
            return done;
        }

        // ---- the kernels: whole vectors only, each returns how many elements it decoded ----

        [MethodImpl(SimdKernels.Hot)]
        private static int BFloat16ToFloat32(ushort* src, int n, float* dst)
        {
            int w = Vector<ushort>.Count, half = Vector<float>.Count;
            int i = 0;
            for (; i + w <= n; i += w)
            {
                BFloat16Lanes(*(Vector<ushort>*)(src + i), out var lo, out var hi);
                *(Vector<float>*)(dst + i) = lo;
                *(Vector<float>*)(dst + i + half) = hi;
            }
            return i;
        }

        /// <summary>One vector of bfloat16 bits → two vectors of the float32 they are (the decode kernel and <see cref="Data.BFloat16Lanes"/>).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static void BFloat16Lanes(Vector<ushort> v, out Vector<float> lo, out Vector<float> hi)
        {
            var up = new Vector<uint>(65536); // bits << 16 without a shift: bfloat16 is the top half of a float32
            Vector.Widen(v, out var a, out var b);
            lo = Vector.AsVectorSingle(a * up);
            hi = Vector.AsVectorSingle(b * up);
        }

        [MethodImpl(SimdKernels.Hot)]
        private static int HalfToFloat32(ushort* src, int n, uint* dst)
        {
            int w = Vector<ushort>.Count, half = Vector<uint>.Count;
            int i = 0;
            for (; i + w <= n; i += w)
            {
                Vector.Widen(*(Vector<ushort>*)(src + i), out var lo, out var hi);
                *(Vector<uint>*)(dst + i) = Half(lo);
                *(Vector<uint>*)(dst + i + half) = Half(hi);
            }
            return i;
        }

        /// <summary>
        /// float16 bits (one per lane, below 2^16) → float32 bits, the cases side by side and selected per lane:
        /// normals moved up 13 bits and rebiased (15 → 127), subnormals and zero as mantissa × 2^-24 (exact, no
        /// float32 subnormal arithmetic), infinity, and NaN quieted with its payload moved up 13 bits (the exponent
        /// bits ORed over the moved-up ones); the sign goes on last, NaN included, as torch keeps it.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector<uint> Half(Vector<uint> h)
        {
            var a = h & new Vector<uint>(0x7FFF);
            var ia = Vector.AsVectorInt32(a); // below 2^15: signed comparisons are exact
            var up = a * new Vector<uint>(8192);
            var normal = up + new Vector<uint>((127 - 15) << 23);
            var sub = Vector.AsVectorUInt32(Vector.ConvertToSingle(ia) * new Vector<float>(1f / 16777216));
            var r = Vector.ConditionalSelect(Vector.AsVectorUInt32(Vector.LessThan(ia, new Vector<int>(0x400))), sub, normal);
            r = Vector.ConditionalSelect(Vector.AsVectorUInt32(Vector.Equals(ia, new Vector<int>(0x7C00))), new Vector<uint>(0x7F800000), r);
            r = Vector.ConditionalSelect(Vector.AsVectorUInt32(Vector.GreaterThan(ia, new Vector<int>(0x7C00))), up | new Vector<uint>(0x7FC00000), r);
            return r | (Vector.Equals(h & new Vector<uint>(0x8000), new Vector<uint>(0x8000)) & new Vector<uint>(0x80000000));
        }

        /// <summary>uint8 as int8 with the top bit flipped, then 128 added back: exact in float32, one widening kernel for both.</summary>
        [MethodImpl(SimdKernels.Hot)]
        private static int UInt8ToFloat32(byte* src, int n, float* dst)
        {
            int w = Vector<byte>.Count;
            var flip = new Vector<byte>(0x80);
            var bias = new Vector<float>(128f);
            int i = 0;
            for (; i + w <= n; i += w) BytesToFloat32(Vector.AsVectorSByte(*(Vector<byte>*)(src + i) ^ flip), bias, dst + i);
            return i;
        }

        [MethodImpl(SimdKernels.Hot)]
        private static int Int8ToFloat32(sbyte* src, int n, float* dst)
        {
            int w = Vector<sbyte>.Count;
            var bias = Vector<float>.Zero;
            int i = 0;
            for (; i + w <= n; i += w) BytesToFloat32(*(Vector<sbyte>*)(src + i), bias, dst + i);
            return i;
        }

        /// <summary>One vector of int8 → four vectors of float32, each plus <paramref name="bias"/> (exact: |x| ≤ 255).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void BytesToFloat32(Vector<sbyte> v, Vector<float> bias, float* dst)
        {
            int q = Vector<float>.Count;
            Vector.Widen(v, out var lo, out var hi);
            Vector.Widen(lo, out var a, out var b);
            Vector.Widen(hi, out var c, out var d);
            *(Vector<float>*)dst = Vector.ConvertToSingle(a) + bias;
            *(Vector<float>*)(dst + q) = Vector.ConvertToSingle(b) + bias;
            *(Vector<float>*)(dst + 2 * q) = Vector.ConvertToSingle(c) + bias;
            *(Vector<float>*)(dst + 3 * q) = Vector.ConvertToSingle(d) + bias;
        }

        [MethodImpl(SimdKernels.Hot)]
        private static int Int16ToFloat32(short* src, int n, float* dst)
        {
            int w = Vector<short>.Count, q = Vector<float>.Count;
            int i = 0;
            for (; i + w <= n; i += w)
            {
                Vector.Widen(*(Vector<short>*)(src + i), out var lo, out var hi);
                *(Vector<float>*)(dst + i) = Vector.ConvertToSingle(lo);
                *(Vector<float>*)(dst + i + q) = Vector.ConvertToSingle(hi);
            }
            return i;
        }

        [MethodImpl(SimdKernels.Hot)]
        private static int Float32ToDouble(float* src, int n, double* dst)
        {
            int w = Vector<float>.Count, half = Vector<double>.Count;
            int i = 0;
            for (; i + w <= n; i += w)
            {
                Vector.Widen(*(Vector<float>*)(src + i), out var lo, out var hi);
                *(Vector<double>*)(dst + i) = lo;
                *(Vector<double>*)(dst + i + half) = hi;
            }
            return i;
        }

        /// <summary>
        /// int32 → double without a 64-bit integer conversion (AVX2 has none): 2^52 + 2^51 + x has x in its low
        /// mantissa bits for every int32 x, so adding x to that double's bit pattern and subtracting the constant as a
        /// double gives x exactly.
        /// </summary>
        [MethodImpl(SimdKernels.Hot)]
        private static int Int32ToDouble(int* src, int n, double* dst)
        {
            int w = Vector<int>.Count, half = Vector<long>.Count;
            var magicBits = new Vector<long>(0x4338000000000000);
            var magic = new Vector<double>(6755399441055744.0);
            int i = 0;
            for (; i + w <= n; i += w)
            {
                Vector.Widen(*(Vector<int>*)(src + i), out var lo, out var hi);
                *(Vector<double>*)(dst + i) = Vector.AsVectorDouble(lo + magicBits) - magic;
                *(Vector<double>*)(dst + i + half) = Vector.AsVectorDouble(hi + magicBits) - magic;
            }
            return i;
        }
    }
}

using System;
using LightningCkpt.Torch;
using LightningCkpt.Writing;

namespace LightningCkpt.Data
{
    /// <summary>
    /// Whole runs of elements converted in one call, with the dtype dispatched once per run rather than per element:
    /// stored bytes → double (<see cref="ElementBlock.Convert"/>), double → stored bytes, and dtype → dtype casts
    /// with direct paths between the float formats. Results are those of the per-element
    /// <see cref="ElementEncoder.Encode"/> (torch's casts: float16/bfloat16/float8 reached through float32 with
    /// round-to-nearest-even, integers truncated), only cheaper: float16 and bfloat16 are rounded with integer
    /// arithmetic on the float32 bits instead of by scaling. Sources that are float32 values exactly (float16,
    /// bfloat16, bool, 8/16-bit integers) are decoded by <see cref="VectorDecode"/> and cast from float32.
    /// </summary>
    internal static unsafe class ElementCast
    {
        /// <summary>Elements converted per step through the double scratch of <see cref="Cast"/> (8 KB on the stack).</summary>
        private const int Step = 1024;

        /// <summary>Whether <see cref="Encode"/> and <see cref="Cast"/> can produce <paramref name="d"/>.</summary>
        public static bool CanEncode(DType d) => ElementEncoder.CanEncode(d);

        /// <summary>Writes <paramref name="n"/> doubles as little-endian elements of <paramref name="d"/>.</summary>
        public static void Encode(double* src, int n, DType d, byte* dst)
        {
            switch (d.ScalarTypeId)
            {
                case 7: Buffer.MemoryCopy(src, dst, (long)n * 8, (long)n * 8); return;
                case 6: { var p = (float*)dst; for (int i = 0; i < n; i++) p[i] = (float)src[i]; return; }
                case 5: { var p = (ushort*)dst; for (int i = 0; i < n; i++) p[i] = ElementEncoder.ToHalf((float)src[i]); return; }
                case 15: { var p = (ushort*)dst; for (int i = 0; i < n; i++) p[i] = ElementEncoder.ToBFloat16((float)src[i]); return; }
            }
            int item = d.ItemSize;
            var one = new byte[item];
            for (int i = 0; i < n; i++)
            {
                ElementEncoder.Encode(src[i], d, one, 0);
                for (int k = 0; k < item; k++) dst[(long)i * item + k] = one[k];
            }
        }

        private static ViewGeometry Plain(DType d) => new ViewGeometry(d, new long[] { 0 }, new long[] { 1 }, 0, false);

        /// <summary>
        /// float16/bfloat16/small integers → float32, float64, float16 or bfloat16 through the float32 they equal exactly:
        /// the scalar path rounds the same value through float32 too (<see cref="Encode"/>), so the bits agree.
        /// </summary>
        private static void ThroughFloat32(byte* src, DType from, int n, DType to, byte* dst)
        {
            if (to.ScalarTypeId == 6)
            {
                VectorDecode.ToFloat32(src, n, from, (float*)dst);
                return;
            }
            if (to.ScalarTypeId == 7)
            {
                VectorDecode.ToDouble(src, n, Plain(from), (double*)dst);
                return;
            }
            float* f = stackalloc float[Step];
            int inSize = from.ItemSize;
            for (int done = 0; done < n; done += Step)
            {
                int m = Math.Min(Step, n - done);
                VectorDecode.ToFloat32(src + (long)done * inSize, m, from, f);
                Cast((byte*)f, DType.Float32, m, to, dst + (long)done * 2);
            }
        }

        /// <summary>
        /// Casts <paramref name="n"/> little-endian elements of <paramref name="from"/> at <paramref name="src"/> to
        /// <paramref name="to"/> at <paramref name="dst"/> (which must not overlap the source).
        /// </summary>
        public static void Cast(byte* src, DType from, int n, DType to, byte* dst)
        {
            int a = from.ScalarTypeId, b = to.ScalarTypeId;
            if (a == b && (a == 5 || a == 6 || a == 7 || a == 15)) { Buffer.MemoryCopy(src, dst, (long)n * to.ItemSize, (long)n * to.ItemSize); return; }
            if (a == 6)
            {
                var f = (float*)src;
                switch (b)
                {
                    case 15:
                    {
                        var p = (ushort*)dst;
                        int i = SimdKernels.Available ? VectorCasts.Float32ToBFloat16(f, n, p) : 0;
                        for (; i < n; i++) p[i] = ElementEncoder.ToBFloat16(f[i]);
                        return;
                    }
                    case 5:
                    {
                        var p = (ushort*)dst;
                        int i = SimdKernels.Available ? VectorCasts.Float32ToHalf(f, n, p) : 0;
                        for (; i < n; i++) p[i] = ElementEncoder.ToHalf(f[i]);
                        return;
                    }
                    case 7: { var p = (double*)dst; for (int i = 0; i < n; i++) p[i] = f[i]; return; }
                }
            }
            // bfloat16 → float32 is VectorDecode's bit move; it and the other float32-exact sources go through float32
            // (vectorised where Vector<T> is, its scalar rules elsewhere: the same bits as the double path below)
            if ((b == 5 || b == 6 || b == 7 || b == 15) && VectorDecode.ExactInFloat32(from))
            {
                ThroughFloat32(src, from, n, to, dst);
                if (b == 15) ScalarBFloat16NaN(dst, n, from);
                return;
            }
            if (b == 6 && from.Kind == DTypeKind.Float8)
            {
                // a float8 NaN may be a signalling float32 in torch, which no double carries: a bit table instead
                var table = stackalloc uint[256];
                for (int k = 0; k < 256; k++) table[k] = ElementConverter.Float8ToFloat32Bits((byte)k, from);
                var o = (uint*)dst;
                for (int i = 0; i < n; i++) o[i] = table[src[i]];
                return;
            }
            var g = new ViewGeometry(from, new long[] { n }, new long[] { 1 }, 0, false);
            double* scratch = stackalloc double[Step];
            int inSize = from.ItemSize, outSize = to.ItemSize;
            for (int done = 0; done < n; done += Step)
            {
                int m = Math.Min(Step, n - done);
                VectorDecode.ToDouble(src + (long)done * inSize, m, g, scratch);
                Encode(scratch, m, to, dst + (long)done * outSize);
            }
            if (b == 15) ScalarBFloat16NaN(dst, n, from);
        }

        /// <summary>
        /// torch casts float32 and float64 to bfloat16 in vectorised kernels (NaN 0xFFFF, <see cref="ElementEncoder.ToBFloat16"/>)
        /// but every other source element by element through c10's <c>BFloat16(float)</c>: its NaN is 0x7FC0. 0xFFFF
        /// is only ever a NaN, so the bfloat16 just written is rewritten where it holds one.
        /// </summary>
        private static void ScalarBFloat16NaN(byte* dst, int n, DType from)
        {
            if (from.ScalarTypeId == 6 || from.ScalarTypeId == 7) return;
            var p = (ushort*)dst;
            for (int i = 0; i < n; i++) if (p[i] == ElementEncoder.VectorNaN) p[i] = ElementEncoder.ScalarNaN;
        }
    }
}

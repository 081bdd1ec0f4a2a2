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
    /// arithmetic on the float32 bits instead of by scaling.
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
            if (a == 15 && b == 6)
            {
                var s = (ushort*)src;
                var p = (uint*)dst;
                for (int i = 0; i < n; i++) p[i] = (uint)s[i] << 16; // exact: bfloat16 is the top half of a float32
                return;
            }
            var g = new ViewGeometry(from, new long[] { n }, new long[] { 1 }, 0, false);
            double* scratch = stackalloc double[Step];
            int inSize = from.ItemSize, outSize = to.ItemSize;
            for (int done = 0; done < n; done += Step)
            {
                int m = Math.Min(Step, n - done);
                ElementBlock.Convert(src + (long)done * inSize, m, g, scratch);
                Encode(scratch, m, to, dst + (long)done * outSize);
            }
        }
    }
}

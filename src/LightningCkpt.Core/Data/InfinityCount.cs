using System.Numerics;
using LightningCkpt.Torch;

namespace LightningCkpt.Data
{
    /// <summary>
    /// Counts ±inf among little-endian IEEE elements by their bits: how a cast tells the values it pushed past the
    /// target's largest finite number (70000 → float16 inf) from infinities that were already there.
    /// A cast counts every chunk it writes, so the scan is one vector compare per vector and the per-lane count runs
    /// only for the rare vectors that hold an infinity (the scalar loop alone was ~a quarter of a bfloat16 cast).
    /// </summary>
    internal static unsafe class InfinityCount
    {
        /// <summary>Whether <see cref="Of"/> can count infinities of <paramref name="d"/>.</summary>
        public static bool Counts(DType d) => d.ScalarTypeId is 5 or 6 or 7 or 15;

        public static long Of(byte* p, int n, DType d) => d.ScalarTypeId switch
        {
            5 => Count16(p, n, 0x7C00),
            15 => Count16(p, n, 0x7F80),
            6 => Count32(p, n),
            7 => Count64(p, n),
            _ => 0,
        };

        /// <summary>
        /// How many finite values a cast of <paramref name="n"/> elements turned into ±inf: infinities of the output
        /// less those of the input (an infinity stays one, so the input is scanned only when the output has any).
        /// </summary>
        public static long Overflowed(byte* src, DType from, byte* dst, DType to, int n)
        {
            long made = Of(dst, n, to);
            return made == 0 ? 0 : made - Of(src, n, from);
        }

        private static long Count16(byte* p, int n, ushort inf)
        {
            var h = (ushort*)p;
            int i = 0;
            long count = 0;
            if (SimdKernels.Available)
            {
                var abs = new Vector<ushort>(0x7FFF);
                var vinf = new Vector<ushort>(inf);
                for (int w = Vector<ushort>.Count; i + w <= n; i += w)
                    if (Vector.EqualsAny(*(Vector<ushort>*)(h + i) & abs, vinf))
                        for (int k = i; k < i + w; k++) if ((h[k] & 0x7FFF) == inf) count++;
            }
            for (; i < n; i++) if ((h[i] & 0x7FFF) == inf) count++;
            return count;
        }

        private static long Count32(byte* p, int n)
        {
            var f = (uint*)p;
            int i = 0;
            long count = 0;
            if (SimdKernels.Available)
            {
                var abs = new Vector<uint>(0x7FFFFFFFu);
                var vinf = new Vector<uint>(0x7F800000u);
                for (int w = Vector<uint>.Count; i + w <= n; i += w)
                    if (Vector.EqualsAny(*(Vector<uint>*)(f + i) & abs, vinf))
                        for (int k = i; k < i + w; k++) if ((f[k] & 0x7FFFFFFFu) == 0x7F800000u) count++;
            }
            for (; i < n; i++) if ((f[i] & 0x7FFFFFFFu) == 0x7F800000u) count++;
            return count;
        }

        private static long Count64(byte* p, int n)
        {
            var f = (ulong*)p;
            int i = 0;
            long count = 0;
            if (SimdKernels.Available)
            {
                var abs = new Vector<ulong>(0x7FFFFFFFFFFFFFFFul);
                var vinf = new Vector<ulong>(0x7FF0000000000000ul);
                for (int w = Vector<ulong>.Count; i + w <= n; i += w)
                    if (Vector.EqualsAny(*(Vector<ulong>*)(f + i) & abs, vinf))
                        for (int k = i; k < i + w; k++) if ((f[k] & 0x7FFFFFFFFFFFFFFFul) == 0x7FF0000000000000ul) count++;
            }
            for (; i < n; i++) if ((f[i] & 0x7FFFFFFFFFFFFFFFul) == 0x7FF0000000000000ul) count++;
            return count;
        }
    }
}

using System.Numerics;
using LightningCkpt.Torch;

namespace LightningCkpt.Data
{
    /// <summary>
    /// Counts ±inf among little-endian IEEE elements by their bits: how a cast tells the values it pushed past the
    /// target's largest finite number (70000 → float16 inf) from infinities that were already there.
    /// A cast counts every chunk it writes, so the scan is one vector compare per vector and the per-lane count runs
    /// only for the rare vectors that hold an infinity (two scalar loops made a float32 → bfloat16 cast 8.5× slower).
    /// Vector&lt;T&gt; gives the same answers without hardware acceleration, only slower.
    /// </summary>
    internal static unsafe class InfinityCount
    {
        /// <summary>Whether <see cref="Of"/> can count infinities of <paramref name="d"/>.</summary>
        public static bool Counts(DType d) => d.ScalarTypeId is 5 or 6 or 7 or 15;

        public static long Of(byte* p, int n, DType d) => d.ScalarTypeId switch
        {
            5 => Count((ushort*)p, n, (ushort)0x7FFF, (ushort)0x7C00),
            15 => Count((ushort*)p, n, (ushort)0x7FFF, (ushort)0x7F80),
            6 => Count((uint*)p, n, 0x7FFFFFFFu, 0x7F800000u),
            7 => Count((ulong*)p, n, 0x7FFFFFFFFFFFFFFFul, 0x7FF0000000000000ul),
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

        /// <summary>Elements whose bits without the sign (<paramref name="abs"/>) equal <paramref name="inf"/>.</summary>
        private static long Count<T>(T* p, int n, T abs, T inf) where T : unmanaged
        {
            var vabs = new Vector<T>(abs);
            var vinf = new Vector<T>(inf);
            int w = Vector<T>.Count, i = 0;
            long count = 0;
            for (; i + w <= n; i += w)
            {
                var v = *(Vector<T>*)(p + i) & vabs;
                if (Vector.EqualsAny(v, vinf)) count += Lanes(Vector.Equals(v, vinf));
            }
            if (i < n)
            {
                // the tail through one zero-padded vector: a zero lane is no infinity
                T* tail = stackalloc T[w];
                for (int k = 0; k < w; k++) tail[k] = i + k < n ? p[i + k] : default;
                count += Lanes(Vector.Equals(*(Vector<T>*)tail & vabs, vinf));
            }
            return count;
        }

        /// <summary>The lanes of a comparison result that are set (all ones); rare, so one lane at a time.</summary>
        private static int Lanes<T>(Vector<T> equal) where T : unmanaged
        {
            int set = 0;
            for (int k = 0; k < Vector<T>.Count; k++) if (!equal[k].Equals(default(T))) set++;
            return set;
        }
    }
}

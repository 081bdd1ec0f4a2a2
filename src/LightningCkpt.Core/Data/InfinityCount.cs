using LightningCkpt.Torch;

namespace LightningCkpt.Data
{
    /// <summary>
    /// Counts ±inf among little-endian IEEE elements by their bits: how a cast tells the values it pushed past the
    /// target's largest finite number (70000 → float16 inf) from infinities that were already there.
    /// </summary>
    internal static unsafe class InfinityCount
    {
        /// <summary>Whether <see cref="Of"/> can count infinities of <paramref name="d"/>.</summary>
        public static bool Counts(DType d) => d.ScalarTypeId is 5 or 6 or 7 or 15;

        public static long Of(byte* p, int n, DType d)
        {
            long count = 0;
            switch (d.ScalarTypeId)
            {
                case 5: { var h = (ushort*)p; for (int i = 0; i < n; i++) if ((h[i] & 0x7FFF) == 0x7C00) count++; break; }
                case 15: { var h = (ushort*)p; for (int i = 0; i < n; i++) if ((h[i] & 0x7FFF) == 0x7F80) count++; break; }
                case 6: { var f = (uint*)p; for (int i = 0; i < n; i++) if ((f[i] & 0x7FFFFFFFu) == 0x7F800000u) count++; break; }
                case 7: { var f = (ulong*)p; for (int i = 0; i < n; i++) if ((f[i] & 0x7FFFFFFFFFFFFFFFul) == 0x7FF0000000000000ul) count++; break; }
            }
            return count;
        }
    }
}

using System;

namespace LightningCkpt.Container.Zstd
{
    /// <summary>XXH64 with seed 0: zstd's content checksum is its low 32 bits.</summary>
    internal static class XxHash64
    {
        private const ulong P1 = 11400714785074694791UL, P2 = 14029467366897019727UL, P3 = 1609587929392839161UL, P4 = 9650029242287828579UL, P5 = 2870177450012600261UL;

        public static ulong Hash(byte[] data, int start, int length)
        {
            int pos = start, end = start + length;
            ulong h;
            if (length >= 32)
            {
                ulong v1 = unchecked(P1 + P2), v2 = P2, v3 = 0, v4 = unchecked(0 - P1);
                int limit = end - 32;
                do
                {
                    v1 = Round(v1, Read64(data, pos)); v2 = Round(v2, Read64(data, pos + 8));
                    v3 = Round(v3, Read64(data, pos + 16)); v4 = Round(v4, Read64(data, pos + 24));
                    pos += 32;
                } while (pos <= limit);
                h = unchecked(Rotl(v1, 1) + Rotl(v2, 7) + Rotl(v3, 12) + Rotl(v4, 18));
                h = Merge(h, v1); h = Merge(h, v2); h = Merge(h, v3); h = Merge(h, v4);
            }
            else h = P5;
            h = unchecked(h + (ulong)length);
            for (; pos + 8 <= end; pos += 8) h = unchecked(Rotl(h ^ Round(0, Read64(data, pos)), 27) * P1 + P4);
            if (pos + 4 <= end)
            {
                h = unchecked(Rotl(h ^ (BitConverter.ToUInt32(data, pos) * P1), 23) * P2 + P3);
                pos += 4;
            }
            for (; pos < end; pos++) h = unchecked(Rotl(h ^ (data[pos] * P5), 11) * P1);
            h ^= h >> 33;
            h = unchecked(h * P2);
            h ^= h >> 29;
            h = unchecked(h * P3);
            h ^= h >> 32;
            return h;
        }

        private static ulong Read64(byte[] d, int p) => BitConverter.ToUInt64(d, p);

        private static ulong Round(ulong acc, ulong input) => unchecked(Rotl(acc + input * P2, 31) * P1);

        private static ulong Merge(ulong h, ulong v) => unchecked((h ^ Round(0, v)) * P1 + P4);

        private static ulong Rotl(ulong x, int r) => (x << r) | (x >> (64 - r));
    }
}

namespace LightningCkpt.Writing
{
    /// <summary>
    /// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the one zip uses. Slicing-by-8: eight tables let
    /// the loop fold eight bytes per step instead of one, which keeps writing close to the speed of copying.
    /// </summary>
    internal static unsafe class Crc32
    {
        private static readonly uint[] Tables = BuildTables();

        private static uint[] BuildTables()
        {
            var t = new uint[8 * 256];
            for (uint i = 0; i < 256; i++)
            {
                uint c = i;
                for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
                t[i] = c;
            }
            for (int i = 0; i < 256; i++)
                for (int s = 1; s < 8; s++)
                    t[s * 256 + i] = (t[(s - 1) * 256 + i] >> 8) ^ t[t[(s - 1) * 256 + i] & 0xff];
            return t;
        }

        /// <summary>Continues a CRC: start with 0, pass the previous result back in.</summary>
        public static uint Update(uint crc, byte[] data, int offset, int count)
        {
            fixed (byte* p = data) return Update(crc, p + offset, count);
        }

        public static uint Update(uint crc, byte* p, long count)
        {
            uint c = ~crc;
            fixed (uint* t = Tables)
            {
                long i = 0;
                for (; i + 8 <= count; i += 8)
                {
                    uint lo = c ^ (uint)(p[i] | p[i + 1] << 8 | p[i + 2] << 16 | p[i + 3] << 24);
                    uint hi = (uint)(p[i + 4] | p[i + 5] << 8 | p[i + 6] << 16 | p[i + 7] << 24);
                    c = t[7 * 256 + (lo & 0xff)] ^ t[6 * 256 + ((lo >> 8) & 0xff)] ^ t[5 * 256 + ((lo >> 16) & 0xff)] ^ t[4 * 256 + (lo >> 24)]
                      ^ t[3 * 256 + (hi & 0xff)] ^ t[2 * 256 + ((hi >> 8) & 0xff)] ^ t[256 + ((hi >> 16) & 0xff)] ^ t[hi >> 24];
                }
                for (; i < count; i++) c = t[(c ^ p[i]) & 0xff] ^ (c >> 8);
            }
            return ~c;
        }
    }
}

namespace LightningCkpt.Writing
{
    /// <summary>Table-driven CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the one zip uses.</summary>
    internal static unsafe class Crc32
    {
        private static readonly uint[] Table = BuildTable();

        private static uint[] BuildTable()
        {
            var t = new uint[256];
            for (uint i = 0; i < 256; i++)
            {
                uint c = i;
                for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
                t[i] = c;
            }
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
            var table = Table;
            for (long i = 0; i < count; i++) c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
            return ~c;
        }
    }
}

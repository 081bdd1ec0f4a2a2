using System;

namespace LightningCkpt.Writing
{
    /// <summary>
    /// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the one zip uses. Slicing-by-8 folds eight bytes per
    /// step; large buffers are cut into three parts whose CRCs are computed in one interleaved loop (the steps of one
    /// CRC wait on each other, three independent ones keep the core busy) and joined by shifting in GF(2).
    /// Where the runtime ships zlib (<see cref="RuntimeZlibCrc32"/>) its folding code does the work instead, about
    /// five times faster; this managed code is the fallback everywhere else (.NET Framework).
    /// </summary>
    internal static unsafe class Crc32
    {
        private const uint Polynomial = 0xEDB88320u;
        private const long InterleaveMin = 1 << 14;
        private static readonly uint[] Tables = BuildTables();
        private static readonly uint[] PowersOfX = BuildPowers();

        private static uint[] BuildTables()
        {
            var t = new uint[8 * 256];
            for (uint i = 0; i < 256; i++)
            {
                uint c = i;
                for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? Polynomial ^ (c >> 1) : c >> 1;
                t[i] = c;
            }
            for (int i = 0; i < 256; i++)
                for (int s = 1; s < 8; s++)
                    t[s * 256 + i] = (t[(s - 1) * 256 + i] >> 8) ^ t[t[(s - 1) * 256 + i] & 0xff];
            return t;
        }

        /// <summary>x^(2^k) modulo the polynomial, k = 0..31, in the reflected bit order CRCs use.</summary>
        private static uint[] BuildPowers()
        {
            var p = new uint[32];
            p[0] = 1u << 30; // x^1
            for (int k = 1; k < 32; k++) p[k] = MultiplyModP(p[k - 1], p[k - 1]);
            return p;
        }

        /// <summary>Continues a CRC: start with 0, pass the previous result back in.</summary>
        public static uint Update(uint crc, byte[] data, int offset, int count)
        {
            if (offset < 0 || count < 0 || offset > data.Length - count) throw new ArgumentOutOfRangeException(nameof(count));
            fixed (byte* p = data) return Update(crc, p + offset, count);
        }

        public static uint Update(uint crc, byte* p, long count) =>
            RuntimeZlibCrc32.IsAvailable ? RuntimeZlibCrc32.Update(crc, p, count) : Managed(crc, p, count);

        /// <summary>Whether <see cref="Update(uint, byte*, long)"/> is fast enough to run inline rather than beside a write.</summary>
        public static bool IsAccelerated => RuntimeZlibCrc32.IsAvailable;

        /// <summary>The managed computation (the fallback; tests compare both).</summary>
        internal static uint Managed(uint crc, byte* p, long count)
        {
            if (count < InterleaveMin || !BitConverter.IsLittleEndian) return Serial(crc, p, count);
            long part = count / 3 & ~7L;
            uint a = ~crc, b = ~0u, c = ~0u;
            fixed (uint* t = Tables)
            {
                byte* pa = p, pb = p + part, pc = p + 2 * part;
                for (long i = 0; i < part; i += 8)
                {
                    a = Step(t, a, pa + i);
                    b = Step(t, b, pb + i);
                    c = Step(t, c, pc + i);
                }
            }
            uint ab = Combine(~a, ~b, part);
            uint abc = Combine(ab, ~c, part);
            return Serial(abc, p + 3 * part, count - 3 * part);
        }

        /// <summary>The CRC of A followed by B, from CRC(A), CRC(B) and B's length.</summary>
        public static uint Combine(uint crcA, uint crcB, long lengthB) => MultiplyModP(XPow8N(lengthB), crcA) ^ crcB;

        private static uint Serial(uint crc, byte* p, long count)
        {
            uint c = ~crc;
            fixed (uint* t = Tables)
            {
                long i = 0;
                // the word loads read bytes in little-endian order; other hosts take the byte loop
                for (; BitConverter.IsLittleEndian && i + 8 <= count; i += 8) c = Step(t, c, p + i);
                for (; i < count; i++) c = t[(c ^ p[i]) & 0xff] ^ (c >> 8);
            }
            return ~c;
        }

        private static uint Step(uint* t, uint c, byte* p)
        {
            uint lo = c ^ *(uint*)p;
            uint hi = *(uint*)(p + 4);
            return t[7 * 256 + (lo & 0xff)] ^ t[6 * 256 + ((lo >> 8) & 0xff)] ^ t[5 * 256 + ((lo >> 16) & 0xff)] ^ t[4 * 256 + (lo >> 24)]
                 ^ t[3 * 256 + (hi & 0xff)] ^ t[2 * 256 + ((hi >> 8) & 0xff)] ^ t[256 + ((hi >> 16) & 0xff)] ^ t[hi >> 24];
        }

        /// <summary>a·b modulo the CRC polynomial (reflected: bit 31 is x^0).</summary>
        private static uint MultiplyModP(uint a, uint b)
        {
            uint product = 0;
            for (uint m = 1u << 31; m != 0; m >>= 1)
            {
                if ((a & m) != 0) product ^= b;
                b = (b & 1) != 0 ? (b >> 1) ^ Polynomial : b >> 1;
            }
            return product;
        }

        /// <summary>x^(8·n) modulo the polynomial: shifting a CRC past n zero bytes.</summary>
        private static uint XPow8N(long n)
        {
            uint p = 1u << 31; // x^0
            for (int k = 3; n != 0; n >>= 1, k++)
                if ((n & 1) != 0) p = MultiplyModP(PowersOfX[k & 31], p);
            return p;
        }
    }
}

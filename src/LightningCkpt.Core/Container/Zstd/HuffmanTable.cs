namespace LightningCkpt.Container.Zstd
{
    /// <summary>
    /// The Huffman table of zstd literals (RFC 8878 4.2): read from a tree description (weights, FSE-coded or 4-bit
    /// direct), decoded through a lookup of <see cref="MaxBits"/> bits per state.
    /// </summary>
    internal sealed class HuffmanTable
    {
        private const int MaxCodeBits = 11;

        private HuffmanTable(int maxBits)
        {
            MaxBits = maxBits;
            Symbols = new byte[1 << maxBits];
            Bits = new byte[1 << maxBits];
        }

        public int MaxBits { get; }
        public byte[] Symbols { get; }
        public byte[] Bits { get; }

        /// <summary>Reads a tree description at <paramref name="pos"/> (inside a literals section ending at <paramref name="end"/>).</summary>
        public static HuffmanTable Read(byte[] src, ref int pos, int end)
        {
            if (pos >= end) throw new ZstdDataException("a Huffman tree description is missing");
            int header = src[pos++];
            var weights = new byte[256];
            int count;
            if (header < 128)
            {
                // FSE-coded weights: two interleaved states over one backward stream
                int streamEnd = pos + header;
                if (streamEnd > end) throw new ZstdDataException("Huffman weights run past their section");
                int at = pos;
                var fse = FseTable.Read(src, ref at, streamEnd, 6, 256);
                var bits = new BackwardBits(src, at, streamEnd);
                uint s1 = bits.Read(fse.AccuracyLog), s2 = bits.Read(fse.AccuracyLog);
                count = 0;
                while (true)
                {
                    if (count >= 255) throw new ZstdDataException("more than 255 Huffman weights");
                    weights[count++] = fse.Symbols[s1];
                    s1 = fse.Base[s1] + bits.Read(fse.Bits[s1]);
                    if (bits.Position < 0) { weights[count++] = fse.Symbols[s2]; break; }
                    if (count >= 255) throw new ZstdDataException("more than 255 Huffman weights");
                    weights[count++] = fse.Symbols[s2];
                    s2 = fse.Base[s2] + bits.Read(fse.Bits[s2]);
                    if (bits.Position < 0) { weights[count++] = fse.Symbols[s1]; break; }
                }
                pos = streamEnd;
            }
            else
            {
                count = header - 127;
                int bytes = (count + 1) / 2;
                if (pos + bytes > end) throw new ZstdDataException("Huffman weights run past their section");
                for (int i = 0; i < count; i++) weights[i] = (byte)(i % 2 == 0 ? src[pos + i / 2] >> 4 : src[pos + i / 2] & 15);
                pos += bytes;
            }
            return FromWeights(weights, count);
        }

        private static HuffmanTable FromWeights(byte[] weights, int count)
        {
            // the last symbol's weight is implied: it completes the sum of 2^(w-1) to a power of two
            long sum = 0;
            for (int i = 0; i < count; i++)
            {
                if (weights[i] > MaxCodeBits) throw new ZstdDataException($"a Huffman weight of {weights[i]}");
                if (weights[i] > 0) sum += 1L << (weights[i] - 1);
            }
            if (sum == 0) throw new ZstdDataException("Huffman weights that are all zero");
            int maxBits = FseTable.HighBit((int)sum) + 1;
            if (maxBits > MaxCodeBits) throw new ZstdDataException($"a Huffman code of {maxBits} bits");
            long rest = (1L << maxBits) - sum;
            int lastWeight = FseTable.HighBit((int)rest) + 1;
            if ((1L << (lastWeight - 1)) != rest) throw new ZstdDataException("Huffman weights that do not complete a tree");
            weights[count++] = (byte)lastWeight;

            var t = new HuffmanTable(maxBits);
            var rankCount = new int[MaxCodeBits + 2];
            var codeBits = new byte[count];
            for (int i = 0; i < count; i++)
            {
                codeBits[i] = (byte)(weights[i] > 0 ? maxBits + 1 - weights[i] : 0);
                rankCount[codeBits[i]]++;
            }
            var rankStart = new int[MaxCodeBits + 2];
            rankStart[maxBits] = 0;
            for (int b = maxBits; b >= 1; b--)
            {
                rankStart[b - 1] = rankStart[b] + rankCount[b] * (1 << (maxBits - b));
                for (int i = rankStart[b]; i < rankStart[b - 1]; i++) t.Bits[i] = (byte)b;
            }
            if (rankStart[0] != 1 << maxBits) throw new ZstdDataException("Huffman codes that do not fill their table");
            for (int s = 0; s < count; s++)
            {
                int b = codeBits[s];
                if (b == 0) continue;
                int len = 1 << (maxBits - b);
                for (int i = 0; i < len; i++) t.Symbols[rankStart[b] + i] = (byte)s;
                rankStart[b] += len;
            }
            return t;
        }

        /// <summary>Decodes exactly <paramref name="count"/> literals of one stream [start, end) into dst at dstPos.</summary>
        /// <remarks>
        /// The decoder's state is always the <see cref="MaxBits"/> stream bits below the read position, so each literal
        /// is one lookup of those bits and a step back by the code's length; the stream is used up exactly when the
        /// position reaches its start. Reads are single 8-byte loads where the array allows (this is the hot loop).
        /// </remarks>
        public unsafe void DecodeStream(byte[] src, int start, int end, byte[] dst, int dstPos, int count)
        {
            long top = new BackwardBits(src, start, end).Position; // bits above the stream's start
            int maxBits = MaxBits;
            ulong mask = (1UL << maxBits) - 1;
            var symbols = Symbols;
            var lengths = Bits;
            fixed (byte* s = src)
            {
                long fast = (long)(src.Length - 8 - start) * 8; // below this bit a load of 8 bytes stays inside src
                for (int i = 0; i < count; i++)
                {
                    long low = top - maxBits;
                    uint idx = low >= 0 && low < fast
                        ? (uint)((*(ulong*)(s + start + (low >> 3)) >> (int)(low & 7)) & mask)
                        : BackwardBits.Peek(src, start, low, maxBits);
                    dst[dstPos + i] = symbols[idx];
                    top -= lengths[idx];
                }
            }
            if (top != 0) throw new ZstdDataException("a Huffman stream that is not used up exactly");
        }
    }
}

namespace LightningCkpt.Container.Zstd
{
    /// <summary>
    /// A finite-state-entropy decoding table (RFC 8878 4.1): per state the symbol, how many bits to read next and the
    /// base the read bits are added to. Built from normalised counts (a description, a predefined distribution) or as
    /// a single-symbol (RLE) table.
    /// </summary>
    internal sealed class FseTable
    {
        public const int MaxSymbols = 256;

        private FseTable(int accuracyLog)
        {
            AccuracyLog = accuracyLog;
            int size = 1 << accuracyLog;
            Symbols = new byte[size];
            Bits = new byte[size];
            Base = new ushort[size];
        }

        public int AccuracyLog { get; }
        public byte[] Symbols { get; }
        public byte[] Bits { get; }
        public ushort[] Base { get; }

        public static FseTable Rle(byte symbol)
        {
            var t = new FseTable(0);
            t.Symbols[0] = symbol;
            return t;
        }

        /// <summary>Reads a table description at <paramref name="pos"/>; returns the table and moves past it.</summary>
        public static FseTable Read(byte[] src, ref int pos, int end, int maxAccuracyLog, int maxSymbols)
        {
            var bits = new ForwardBits(src, pos, end);
            int accuracyLog = 5 + (int)bits.Read(4);
            if (accuracyLog > maxAccuracyLog) throw new ZstdDataException($"an FSE accuracy log of {accuracyLog} (at most {maxAccuracyLog} here)");
            int remaining = 1 << accuracyLog;
            var counts = new short[MaxSymbols];
            int symbol = 0;
            while (remaining > 0 && symbol < maxSymbols)
            {
                int width = HighBit(remaining + 1) + 1;
                uint value = bits.Read(width);
                uint lowerMask = (1u << (width - 1)) - 1;
                uint threshold = (1u << width) - 1 - (uint)(remaining + 1);
                if ((value & lowerMask) < threshold)
                {
                    bits.Rewind(1);
                    value &= lowerMask;
                }
                else if (value > lowerMask) value -= threshold;
                int count = (int)value - 1;
                remaining -= count < 0 ? -count : count;
                counts[symbol++] = (short)count;
                if (count == 0)
                {
                    uint repeat = bits.Read(2);
                    while (true)
                    {
                        for (uint i = 0; i < repeat && symbol < maxSymbols; i++) counts[symbol++] = 0;
                        if (repeat != 3) break;
                        repeat = bits.Read(2);
                    }
                }
            }
            if (remaining != 0) throw new ZstdDataException("an FSE table description whose counts do not add up");
            pos = bits.BytePosition;
            if (pos > end) throw new ZstdDataException("an FSE table description runs past its block");
            return FromCounts(counts, symbol, accuracyLog);
        }

        public static FseTable FromCounts(short[] counts, int symbolCount, int accuracyLog)
        {
            var t = new FseTable(accuracyLog);
            int size = 1 << accuracyLog;
            var next = new int[MaxSymbols];
            int high = size;
            for (int s = 0; s < symbolCount; s++)
                if (counts[s] == -1)
                {
                    t.Symbols[--high] = (byte)s; // "less than 1": one cell from the top, a full state reset
                    next[s] = 1;
                }
            int step = (size >> 1) + (size >> 3) + 3, mask = size - 1, pos = 0;
            for (int s = 0; s < symbolCount; s++)
            {
                if (counts[s] <= 0) continue;
                next[s] = counts[s];
                for (int i = 0; i < counts[s]; i++)
                {
                    t.Symbols[pos] = (byte)s;
                    do pos = (pos + step) & mask; while (pos >= high);
                }
            }
            if (pos != 0) throw new ZstdDataException("an FSE distribution that does not fill its table");
            for (int i = 0; i < size; i++)
            {
                int state = next[t.Symbols[i]]++;
                int nb = accuracyLog - HighBit(state);
                t.Bits[i] = (byte)nb;
                t.Base[i] = (ushort)((state << nb) - size);
            }
            return t;
        }

        /// <summary>floor(log2(v)) for v &gt; 0.</summary>
        public static int HighBit(int v)
        {
            int r = -1;
            while (v != 0) { v >>= 1; r++; }
            return r;
        }
    }
}

using System;

namespace LightningCkpt.Container.Zstd
{
    /// <summary>A malformed zstd stream; the decoder turns it into a CheckpointFormatException naming the file.</summary>
    internal sealed class ZstdDataException : Exception
    {
        public ZstdDataException(string message) : base(message) { }

        /// <summary>The stream may be fine but decodes to more than the limit allows.</summary>
        public bool IsLimit { get; set; }
    }

    /// <summary>
    /// zstd's forward bit stream (FSE table descriptions): little-endian bits from a byte position, lowest bit first.
    /// </summary>
    internal struct ForwardBits
    {
        private readonly byte[] _src;
        private readonly int _end;
        private long _bit; // absolute bit position in _src

        public ForwardBits(byte[] src, int start, int end)
        {
            _src = src;
            _end = end;
            _bit = (long)start * 8;
        }

        public uint Read(int count)
        {
            uint v = Peek(count);
            _bit += count;
            if (_bit > (long)_end * 8) throw new ZstdDataException("a table description runs past its block");
            return v;
        }

        public void Rewind(int count) => _bit -= count;

        private uint Peek(int count)
        {
            if (count == 0) return 0;
            ulong acc = 0;
            long first = _bit >> 3;
            for (int i = 0; i < 5 && first + i < _end; i++) acc |= (ulong)_src[first + i] << (8 * i);
            return (uint)((acc >> (int)(_bit & 7)) & ((1UL << count) - 1));
        }

        /// <summary>The byte after the last bit read (the description ends on a byte boundary).</summary>
        public int BytePosition => (int)((_bit + 7) >> 3);
    }

    /// <summary>
    /// zstd's backward bit stream (Huffman streams, FSE-coded sequences and weights): it is read from its end towards
    /// its start, after the highest set bit of the last byte (the end mark). Bits wanted from before the start read
    /// as zeros and drive <see cref="Position"/> negative, which is how a decoder tells the stream is used up.
    /// </summary>
    internal struct BackwardBits
    {
        private readonly byte[] _src;
        private readonly int _start;

        public BackwardBits(byte[] src, int start, int end)
        {
            if (end <= start) throw new ZstdDataException("an empty bit stream");
            byte last = src[end - 1];
            if (last == 0) throw new ZstdDataException("a bit stream without its end mark");
            int high = 7;
            while ((last >> high) == 0) high--;
            _src = src;
            _start = start;
            Position = (long)(end - start) * 8 - (8 - high);
        }

        /// <summary>Bits left before the start of the stream (negative once zeros were read from before it).</summary>
        public long Position { get; private set; }

        public uint Read(int count)
        {
            if (count == 0) return 0;
            Position -= count;
            long at = Position;
            int n = count;
            if (at < 0)
            {
                n += (int)at;
                if (n <= 0) return 0;
                return Gather(0, n) << (int)-at;
            }
            return Gather(at, n);
        }

        /// <summary>The <paramref name="count"/> bits of the stream at [<paramref name="low"/>, low + count), zeros below its start.</summary>
        public static uint Peek(byte[] src, int start, long low, int count)
        {
            if (low >= 0) return Gather(src, start, low, count);
            int n = count + (int)low;
            return n <= 0 ? 0 : Gather(src, start, 0, n) << (int)-low;
        }

        private uint Gather(long bit, int count) => Gather(_src, _start, bit, count);

        private static uint Gather(byte[] src, int start, long bit, int count)
        {
            long first = start + (bit >> 3);
            ulong acc = 0;
            if (first + 8 <= src.Length) acc = BitConverter.ToUInt64(src, (int)first); // one load away from the array's end
            else for (int i = 0; first + i < src.Length; i++) acc |= (ulong)src[first + i] << (8 * i);
            return (uint)((acc >> (int)(bit & 7)) & ((1UL << count) - 1));
        }
    }
}

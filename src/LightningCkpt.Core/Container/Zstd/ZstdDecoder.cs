using System;

namespace LightningCkpt.Container.Zstd
{
    /// <summary>
    /// A zstd decoder (RFC 8878) for DCP's <c>stream.zstd/1</c> transform: whole frames from a byte array into one
    /// output array under a size limit. Raw, RLE and compressed blocks, Huffman literals (1 or 4 streams, tree reused
    /// by treeless blocks), FSE sequences (predefined, RLE, described and repeated tables), repeat offsets, frame
    /// content size and XXH64 content checksum are checked; skippable frames are skipped. Dictionaries are refused
    /// (DCP never uses one). Written here instead of a package: a few hundred lines, no dependency that Windows
    /// PowerShell 5.1 would have to load (System.Memory), and only run when a zstd item is met.
    /// </summary>
    internal static class ZstdDecoder
    {
        private const uint FrameMagic = 0xFD2FB528;
        private const int MaxBlockBytes = 128 * 1024;

        public static byte[] Decode(byte[] src, long maxOutput, string path, string part)
        {
            try
            {
                var output = new Output(maxOutput);
                int pos = 0;
                if (src.Length < 4) throw new ZstdDataException("too short for a zstd frame");
                while (pos < src.Length)
                {
                    if (src.Length - pos < 4) throw new ZstdDataException("bytes after the last frame");
                    uint magic = BitConverter.ToUInt32(src, pos);
                    if ((magic & 0xFFFFFFF0) == 0x184D2A50)
                    {
                        if (src.Length - pos < 8) throw new ZstdDataException("a truncated skippable frame");
                        long skip = BitConverter.ToUInt32(src, pos + 4);
                        if (skip > src.Length - pos - 8) throw new ZstdDataException("a truncated skippable frame");
                        pos += 8 + (int)skip;
                        continue;
                    }
                    if (magic != FrameMagic) throw new ZstdDataException($"no zstd frame magic at byte {pos} (0x{magic:X8})");
                    pos = Frame(src, pos + 4, output);
                }
                return output.ToArray();
            }
            catch (ZstdDataException e) when (e.IsLimit)
            {
                throw new CheckpointFormatException(path, part, "the zstd stream: " + e.Message) { Kind = CheckpointErrorKind.LimitExceeded };
            }
            catch (ZstdDataException e)
            {
                throw new CheckpointFormatException(path, part, "the zstd stream is damaged: " + e.Message);
            }
            catch (IndexOutOfRangeException)
            {
                throw new CheckpointFormatException(path, part, "the zstd stream is damaged: it ends inside a block") { Defect = CheckpointDefect.Truncated };
            }
        }

        private static int Frame(byte[] src, int pos, Output output)
        {
            int descriptor = src[pos++];
            int fcsFlag = descriptor >> 6;
            bool singleSegment = (descriptor & 0x20) != 0;
            if ((descriptor & 0x08) != 0) throw new ZstdDataException("a frame header with the reserved bit set");
            bool checksum = (descriptor & 0x04) != 0;
            int dictIdBytes = new[] { 0, 1, 2, 4 }[descriptor & 3];
            if (!singleSegment) pos++; // window descriptor: the whole output stays in memory, so any window fits
            uint dictId = 0;
            for (int i = 0; i < dictIdBytes; i++) dictId |= (uint)src[pos++] << (8 * i);
            if (dictId != 0) throw new ZstdDataException($"the frame needs dictionary {dictId}, which a DCP item never uses");
            int fcsBytes = fcsFlag == 0 ? (singleSegment ? 1 : 0) : 1 << fcsFlag;
            long contentSize = -1;
            if (fcsBytes > 0)
            {
                ulong v = 0;
                for (int i = 0; i < fcsBytes; i++) v |= (ulong)src[pos++] << (8 * i);
                if (fcsBytes == 2) v += 256;
                if (v > long.MaxValue) throw new ZstdDataException("a content size beyond any file");
                contentSize = (long)v;
            }
            long frameStart = output.Length;
            var state = new FrameState();
            while (true)
            {
                if (pos + 3 > src.Length) throw new ZstdDataException("a truncated block header");
                int header = src[pos] | src[pos + 1] << 8 | src[pos + 2] << 16;
                pos += 3;
                bool last = (header & 1) != 0;
                int type = (header >> 1) & 3;
                int size = header >> 3;
                switch (type)
                {
                    case 0:
                        if (size > src.Length - pos) throw new ZstdDataException("a truncated raw block");
                        output.Append(src, pos, size);
                        pos += size;
                        break;
                    case 1:
                        if (pos >= src.Length) throw new ZstdDataException("a truncated RLE block");
                        output.Repeat(src[pos++], size);
                        break;
                    case 2:
                        if (size > MaxBlockBytes) throw new ZstdDataException($"a compressed block of {size} bytes (at most {MaxBlockBytes})");
                        if (size > src.Length - pos) throw new ZstdDataException("a truncated compressed block");
                        ZstdBlock.Decode(src, pos, pos + size, state, output, frameStart);
                        pos += size;
                        break;
                    default:
                        throw new ZstdDataException("a block of the reserved type");
                }
                if (last) break;
            }
            long produced = output.Length - frameStart;
            if (contentSize >= 0 && produced != contentSize)
                throw new ZstdDataException($"the frame declares {contentSize} bytes but holds {produced}");
            if (checksum)
            {
                if (pos + 4 > src.Length) throw new ZstdDataException("the content checksum is missing");
                uint expected = BitConverter.ToUInt32(src, pos);
                pos += 4;
                uint actual = (uint)XxHash64.Hash(output.Buffer, (int)frameStart, (int)produced);
                if (actual != expected) throw new ZstdDataException($"the content checksum is {actual:X8}, the frame records {expected:X8}");
            }
            return pos;
        }

        /// <summary>The decoded bytes so far (all frames), growing up to the limit.</summary>
        internal sealed class Output
        {
            private readonly long _max;

            public Output(long max)
            {
                _max = Math.Min(max, int.MaxValue - 64);
                Buffer = new byte[4096];
            }

            public byte[] Buffer { get; private set; }
            public int Length { get; private set; }

            public void Reserve(long more)
            {
                long need = Length + more;
                if (need > _max) throw new ZstdDataException($"the decoded item exceeds the {_max}-byte limit") { IsLimit = true };
                if (need <= Buffer.Length) return;
                long size = Math.Min(_max, Math.Max(need, (long)Buffer.Length * 2));
                var b = new byte[size];
                System.Buffer.BlockCopy(Buffer, 0, b, 0, Length);
                Buffer = b;
            }

            public void Append(byte[] src, int pos, int count)
            {
                Reserve(count);
                System.Buffer.BlockCopy(src, pos, Buffer, Length, count);
                Length += count;
            }

            public void Repeat(byte value, int count)
            {
                Reserve(count);
                for (int i = 0; i < count; i++) Buffer[Length + i] = value;
                Length += count;
            }

            /// <summary>Copies <paramref name="count"/> bytes from <paramref name="distance"/> back (overlapping copies repeat the pattern).</summary>
            public void Match(int distance, int count)
            {
                Reserve(count);
                int from = Length - distance;
                var b = Buffer;
                if (distance >= count) System.Buffer.BlockCopy(b, from, b, Length, count);
                else for (int i = 0; i < count; i++) b[Length + i] = b[from + i];
                Length += count;
            }

            public byte[] ToArray()
            {
                var r = new byte[Length];
                System.Buffer.BlockCopy(Buffer, 0, r, 0, Length);
                return r;
            }
        }

        /// <summary>What a frame's blocks hand on to the next: repeat offsets, the last Huffman and sequence tables.</summary>
        internal sealed class FrameState
        {
            public readonly int[] Offsets = { 1, 4, 8 };
            public HuffmanTable? Huffman;
            public FseTable? LiteralLengths, OffsetCodes, MatchLengths;
        }
    }
}

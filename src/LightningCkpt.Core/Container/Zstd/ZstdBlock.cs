namespace LightningCkpt.Container.Zstd
{
    /// <summary>One compressed zstd block (RFC 8878 3.1.1.3): its literals section, then its sequences, executed.</summary>
    internal static class ZstdBlock
    {
        // Literals_Length and Match_Length codes: baseline and extra bits (RFC 8878 3.1.1.3.2.1.1)
        private static readonly int[] LiteralBase =
        {
            0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 20, 22, 24, 28, 32, 40, 48, 64, 128, 256, 512,
            1024, 2048, 4096, 8192, 16384, 32768, 65536,
        };
        private static readonly byte[] LiteralExtra = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
        private static readonly int[] MatchBase =
        {
            3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
            33, 34, 35, 37, 39, 41, 43, 47, 51, 59, 67, 83, 99, 131, 259, 515, 1027, 2051, 4099, 8195, 16387, 32771, 65539,
        };
        private static readonly byte[] MatchExtra =
        {
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
        };

        // predefined distributions (RFC 8878 3.1.1.3.2.2)
        private static readonly FseTable LiteralDefault = FseTable.FromCounts(new short[]
        {
            4, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 2, 1, 1, 1, 1, 1, -1, -1, -1, -1,
        }.Pad(), 36, 6);
        private static readonly FseTable MatchDefault = FseTable.FromCounts(new short[]
        {
            1, 4, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
            1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1,
        }.Pad(), 53, 6);
        private static readonly FseTable OffsetDefault = FseTable.FromCounts(new short[]
        {
            1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1,
        }.Pad(), 29, 5);

        private static short[] Pad(this short[] counts)
        {
            var r = new short[FseTable.MaxSymbols];
            System.Array.Copy(counts, r, counts.Length);
            return r;
        }

        public static void Decode(byte[] src, int pos, int end, ZstdDecoder.FrameState state, ZstdDecoder.Output output, long frameStart)
        {
            var literals = Literals(src, ref pos, end, state, out int literalCount);
            Sequences(src, pos, end, state, output, literals, literalCount, frameStart);
        }

        private static byte[] Literals(byte[] src, ref int pos, int end, ZstdDecoder.FrameState state, out int count)
        {
            if (pos >= end) throw new ZstdDataException("a block without its literals section");
            int b0 = src[pos];
            int type = b0 & 3, format = (b0 >> 2) & 3;
            if (type < 2)
            {
                int size;
                switch (format)
                {
                    case 1: size = (b0 >> 4) | src[pos + 1] << 4; pos += 2; break;
                    case 3: size = (b0 >> 4) | src[pos + 1] << 4 | src[pos + 2] << 12; pos += 3; break;
                    default: size = b0 >> 3; pos += 1; break;
                }
                var lit = new byte[size];
                count = size;
                if (type == 0)
                {
                    if (size > end - pos) throw new ZstdDataException("raw literals run past their block");
                    System.Buffer.BlockCopy(src, pos, lit, 0, size);
                    pos += size;
                }
                else
                {
                    if (pos >= end) throw new ZstdDataException("RLE literals without their byte");
                    byte v = src[pos++];
                    for (int i = 0; i < size; i++) lit[i] = v;
                }
                return lit;
            }
            int regenerated, compressed, streams = format == 0 ? 1 : 4;
            switch (format)
            {
                case 0:
                case 1:
                    regenerated = (b0 >> 4) | (src[pos + 1] & 0x3F) << 4;
                    compressed = (src[pos + 1] >> 6) | src[pos + 2] << 2;
                    pos += 3;
                    break;
                case 2:
                    {
                        uint h = (uint)(b0 | src[pos + 1] << 8 | src[pos + 2] << 16 | src[pos + 3] << 24);
                        regenerated = (int)((h >> 4) & 0x3FFF);
                        compressed = (int)(h >> 18);
                        pos += 4;
                        break;
                    }
                default:
                    {
                        ulong h = (ulong)(uint)(b0 | src[pos + 1] << 8 | src[pos + 2] << 16 | src[pos + 3] << 24) | (ulong)src[pos + 4] << 32;
                        regenerated = (int)((h >> 4) & 0x3FFFF);
                        compressed = (int)((h >> 22) & 0x3FFFF);
                        pos += 5;
                        break;
                    }
            }
            int sectionEnd = pos + compressed;
            if (sectionEnd > end) throw new ZstdDataException("compressed literals run past their block");
            if (type == 2) state.Huffman = HuffmanTable.Read(src, ref pos, sectionEnd);
            var table = state.Huffman ?? throw new ZstdDataException("treeless literals before any Huffman tree");
            var output = new byte[regenerated];
            count = regenerated;
            if (streams == 1) table.DecodeStream(src, pos, sectionEnd, output, 0, regenerated);
            else
            {
                if (pos + 6 > sectionEnd) throw new ZstdDataException("a literals jump table runs past its section");
                int s1 = src[pos] | src[pos + 1] << 8, s2 = src[pos + 2] | src[pos + 3] << 8, s3 = src[pos + 4] | src[pos + 5] << 8;
                int start = pos + 6;
                int s4 = sectionEnd - start - s1 - s2 - s3;
                if (s4 <= 0) throw new ZstdDataException("a literals jump table larger than its streams");
                int per = (regenerated + 3) / 4;
                if (per * 3 > regenerated) throw new ZstdDataException("too few literals for four streams");
                table.DecodeStream(src, start, start + s1, output, 0, per);
                table.DecodeStream(src, start + s1, start + s1 + s2, output, per, per);
                table.DecodeStream(src, start + s1 + s2, start + s1 + s2 + s3, output, 2 * per, per);
                table.DecodeStream(src, start + s1 + s2 + s3, sectionEnd, output, 3 * per, regenerated - 3 * per);
            }
            pos = sectionEnd;
            return output;
        }

        private static void Sequences(byte[] src, int pos, int end, ZstdDecoder.FrameState state, ZstdDecoder.Output output, byte[] literals, int literalCount, long frameStart)
        {
            if (pos >= end) throw new ZstdDataException("a block without its sequences section");
            int b0 = src[pos++];
            int count;
            if (b0 < 128) count = b0;
            else if (b0 < 255) count = ((b0 - 128) << 8) + src[pos++];
            else { count = src[pos] + (src[pos + 1] << 8) + 0x7F00; pos += 2; }
            if (count == 0)
            {
                if (pos != end) throw new ZstdDataException("bytes after a block's last section");
                output.Append(literals, 0, literalCount);
                return;
            }
            int modes = src[pos++];
            if ((modes & 3) != 0) throw new ZstdDataException("sequence compression modes with the reserved bits set");
            state.LiteralLengths = Table(src, ref pos, end, modes >> 6, LiteralDefault, state.LiteralLengths, 9, 36);
            state.OffsetCodes = Table(src, ref pos, end, (modes >> 4) & 3, OffsetDefault, state.OffsetCodes, 8, 32);
            state.MatchLengths = Table(src, ref pos, end, (modes >> 2) & 3, MatchDefault, state.MatchLengths, 9, 53);
            FseTable ll = state.LiteralLengths, of = state.OffsetCodes, ml = state.MatchLengths;

            var bits = new BackwardBits(src, pos, end);
            uint llState = bits.Read(ll.AccuracyLog), ofState = bits.Read(of.AccuracyLog), mlState = bits.Read(ml.AccuracyLog);
            var rep = state.Offsets;
            int litPos = 0;
            for (int i = 0; i < count; i++)
            {
                int ofCode = of.Symbols[ofState], mlCode = ml.Symbols[mlState], llCode = ll.Symbols[llState];
                if (ofCode > 31) throw new ZstdDataException($"an offset code of {ofCode}");
                if (mlCode > 52 || llCode > 35) throw new ZstdDataException("a length code out of range");
                long offsetValue = (1L << ofCode) + bits.Read(ofCode);
                int matchLength = MatchBase[mlCode] + (int)bits.Read(MatchExtra[mlCode]);
                int literalLength = LiteralBase[llCode] + (int)bits.Read(LiteralExtra[llCode]);

                int offset;
                if (offsetValue > 3)
                {
                    if (offsetValue - 3 > int.MaxValue) throw new ZstdDataException("an offset beyond any window");
                    offset = (int)(offsetValue - 3);
                    rep[2] = rep[1]; rep[1] = rep[0]; rep[0] = offset;
                }
                else
                {
                    int idx = (int)offsetValue + (literalLength == 0 ? 1 : 0);
                    if (idx == 1) offset = rep[0];
                    else
                    {
                        offset = idx < 4 ? rep[idx - 1] : rep[0] - 1;
                        if (idx > 2) rep[2] = rep[1];
                        rep[1] = rep[0];
                        rep[0] = offset;
                    }
                }

                if (literalLength > literalCount - litPos) throw new ZstdDataException("a sequence asks for more literals than the block has");
                output.Append(literals, litPos, literalLength);
                litPos += literalLength;
                if (offset <= 0 || offset > output.Length - frameStart) throw new ZstdDataException($"a match {offset} bytes back, before the start of the frame");
                output.Match(offset, matchLength);

                if (i + 1 < count)
                {
                    llState = ll.Base[llState] + bits.Read(ll.Bits[llState]);
                    mlState = ml.Base[mlState] + bits.Read(ml.Bits[mlState]);
                    ofState = of.Base[ofState] + bits.Read(of.Bits[ofState]);
                }
            }
            if (bits.Position != 0) throw new ZstdDataException("a sequence bit stream that is not used up exactly");
            output.Append(literals, litPos, literalCount - litPos);
        }

        private static FseTable Table(byte[] src, ref int pos, int end, int mode, FseTable predefined, FseTable? previous, int maxLog, int maxSymbols)
        {
            switch (mode)
            {
                case 0: return predefined;
                case 1:
                    if (pos >= end) throw new ZstdDataException("an RLE sequence table without its symbol");
                    return FseTable.Rle(src[pos++]);
                case 2: return FseTable.Read(src, ref pos, end, maxLog, maxSymbols);
                default: return previous ?? throw new ZstdDataException("a repeated sequence table before any table");
            }
        }
    }
}

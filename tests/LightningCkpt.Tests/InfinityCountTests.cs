using System;
using System.Linq;
using LightningCkpt.Data;
using LightningCkpt.Torch;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// The cast's overflow count (Select-CkptWeights -DType, Merge's cast) scans a vector at a time and counts lanes only
    /// in vectors holding an infinity: it must give the element-by-element count on every length (whole vectors, tails)
    /// and with ±inf, NaNs whose bits are near an infinity's, and the largest finite values at every lane position.
    /// </summary>
    public unsafe class InfinityCountTests
    {
        private static DType Named(string name) => DType.Known.Single(k => k.Name == name);

        /// <summary>The definition: an element is ±inf when its bits without the sign are exactly the infinity's.</summary>
        private static long Expected(byte[] bytes, int width, ulong inf)
        {
            long count = 0;
            ulong abs = width == 8 ? 0x7FFFFFFFFFFFFFFFul : (1ul << (8 * width - 1)) - 1;
            for (int i = 0; i + width <= bytes.Length; i += width)
            {
                ulong bits = 0;
                for (int k = 0; k < width; k++) bits |= (ulong)bytes[i + k] << (8 * k);
                if ((bits & abs) == inf) count++;
            }
            return count;
        }

        public static TheoryData<string, ulong> Kinds => new TheoryData<string, ulong>
        {
            { "float16", 0x7C00 }, { "bfloat16", 0x7F80 }, { "float32", 0x7F800000 }, { "float64", 0x7FF0000000000000 },
        };

        [Theory]
        [MemberData(nameof(Kinds))]
        public void CountsEveryInfinityAtEveryLaneAndLength(string dtype, ulong inf)
        {
            var d = Named(dtype);
            int width = d.ItemSize;
            ulong sign = 1ul << (8 * width - 1);
            ulong[] edges = { inf, inf | sign, inf + 1, (inf + 1) | sign, inf - 1, (inf - 1) | sign, inf | (inf >> 1), 0, sign };
            var rng = new Random(24 + width);
            foreach (int n in new[] { 0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 1000, 4099 })
            {
                for (int trial = 0; trial < 6; trial++)
                {
                    var bytes = new byte[n * width];
                    rng.NextBytes(bytes);
                    int specials = trial == 0 ? 0 : trial * n / 8 + 1; // none, then sparse to dense
                    for (int s = 0; s < specials && n > 0; s++)
                    {
                        ulong v = edges[rng.Next(edges.Length)];
                        int at = rng.Next(n) * width;
                        for (int k = 0; k < width; k++) bytes[at + k] = (byte)(v >> (8 * k));
                    }
                    fixed (byte* p = bytes)
                        Assert.Equal(Expected(bytes, width, inf), InfinityCount.Of(p, n, d));
                }
            }
        }

        [Fact]
        public void OverflowIsWhatTheCastAddedNotWhatWasThere()
        {
            // float32 → float16: 70000 and -1e30 overflow, the two infinities were infinities already
            float[] src = { 1f, 70000f, float.PositiveInfinity, -1e30f, float.NegativeInfinity, 65504f, float.NaN, 0.5f };
            var dst = new ushort[src.Length];
            fixed (float* s = src) fixed (ushort* d = dst)
            {
                ElementCast.Cast((byte*)s, DType.Float32, src.Length, DType.Float16, (byte*)d);
                Assert.Equal(2, InfinityCount.Overflowed((byte*)s, DType.Float32, (byte*)d, DType.Float16, src.Length));
                Assert.Equal(0, InfinityCount.Overflowed((byte*)s, DType.Float32, (byte*)d, DType.Float16, 1));
            }
        }
    }
}

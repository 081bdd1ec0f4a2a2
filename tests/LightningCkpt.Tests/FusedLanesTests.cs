using System;
using System.Linq;
using LightningCkpt.Data;
using LightningCkpt.Torch;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// bfloat16 blocks widened inside the float32 kernels (<see cref="IFloatLanes"/>) give bit for bit what decoding
    /// the block to float32 and running the float32 path gives, for statistics and Compare (bfloat16 against bfloat16,
    /// float32 and, through Compare's block loop, the dtypes that are still decoded first), on every block length shape
    /// (odd and even vector counts, scalar tails) and on random and edge data (NaN, ±inf, ±0, subnormals, the largest
    /// finite values). float16 is decoded first; its rows check the dispatch around the widened path.
    /// </summary>
    public unsafe class FusedLanesTests
    {
        private static readonly int[] Lengths =
        {
            64, 65, 71, 72, 79, 80, 88, 95, 96, 97, 111, 112, 127, 128, 129, 143, 144, 1000, 1024, 1032, 1040, 2047,
            TensorAnalysis.BlockElements - 8, TensorAnalysis.BlockElements - 1, TensorAnalysis.BlockElements,
        };

        private static DType Named(string name) => DType.Known.Single(k => k.Name == name);

        /// <summary>Bits of n elements: "normal" values around 1, "bits" random finite patterns, "edges" with NaN/inf/±0/subnormals, "finite-edges" without NaN/inf.</summary>
        private static ushort[] Data16(DType d, int n, string kind, int seed)
        {
            var rng = new Random(seed);
            bool bf = d.ScalarTypeId == 15;
            ushort inf = bf ? (ushort)0x7F80 : (ushort)0x7C00, mant = bf ? (ushort)0x007F : (ushort)0x03FF;
            ushort[] specials = { inf, (ushort)(inf | 0x8000), (ushort)(inf | 1), (ushort)(inf | 0x8000 | mant), (ushort)(inf | (mant + 1) / 2) }; // ±inf, sNaN, −NaN, qNaN
            ushort[] finiteEdges = { 0, 0x8000, 1, 0x8001, mant, (ushort)(mant | 0x8000), (ushort)(inf - 1), (ushort)((inf - 1) | 0x8000), (ushort)(mant + 1) };
            var v = new ushort[n];
            var f32 = new float[1];
            for (int i = 0; i < n; i++)
            {
                ushort x = 0;
                if (kind == "normal")
                {
                    f32[0] = (float)((rng.NextDouble() - 0.3) * 3);
                    fixed (float* s = f32) ElementCast.Cast((byte*)s, DType.Float32, 1, d, (byte*)&x);
                }
                else
                {
                    do x = (ushort)rng.Next(0, 65536); while ((x & inf) == inf); // finite random bits
                    double roll = rng.NextDouble();
                    if (kind != "bits" && roll < 0.1) x = finiteEdges[rng.Next(finiteEdges.Length)];
                    else if (kind == "edges" && roll < 0.13) x = specials[rng.Next(specials.Length)];
                }
                v[i] = x;
            }
            return v;
        }

        private static float[] Decoded(ushort[] v, DType d)
        {
            var f = new float[v.Length];
            fixed (ushort* s = v) fixed (float* o = f) VectorDecode.ScalarToFloat32((byte*)s, 0, v.Length, d.ScalarTypeId, o);
            return f;
        }

        private static string Bits(TensorAnalysis.Moments m) => VectorDecodeTests.Bits(m);

        private static string Bits(CheckpointComparer.DiffSums s) => VectorDecodeTests.Bits(s);

        [Theory]
        [InlineData("bfloat16", "normal")]
        [InlineData("bfloat16", "bits")]
        [InlineData("bfloat16", "edges")]
        [InlineData("bfloat16", "finite-edges")]
        public void WidenedStatisticsAreThoseOfTheDecodedBlock(string dtype, string kind)
        {
            var d = Named(dtype);
            int seed = 1;
            foreach (int n in Lengths)
            {
                var v = Data16(d, n, kind, seed++);
                var f = Decoded(v, d);
                fixed (ushort* p = v) fixed (float* q = f)
                {
                    var decoded = TensorAnalysis.Reduce(q, n);
                    var widened = TensorAnalysis.ReduceBFloat16((byte*)p, n);
                    Assert.True(Bits(decoded) == Bits(widened), $"{dtype} {kind} n={n}: decoded {Bits(decoded)}, widened {Bits(widened)}");
                    if (kind == "edges") Assert.True(decoded.NaN > 0 || n < 1000, $"n={n}: the edge data should hold NaN");
                }
            }
        }

        [Fact]
        public void EveryPatternWidensAsItDecodes()
        {
            // all 2^16 patterns in one block (NaN among them: the exact redo), and the finite ones alone
            var d = DType.BFloat16;
            var all = Enumerable.Range(0, 65536).Select(i => (ushort)i).OrderBy(i => (i * 40503) & 0xFFFF).ToArray();
            ushort inf = d.ScalarTypeId == 15 ? (ushort)0x7F80 : (ushort)0x7C00;
            var finite = all.Where(x => (x & inf) != inf).ToArray();
            foreach (var v in new[] { all, finite })
            {
                var f = Decoded(v, d);
                fixed (ushort* p = v) fixed (float* q = f)
                    Assert.Equal(Bits(TensorAnalysis.Reduce(q, v.Length)), Bits(TensorAnalysis.ReduceBFloat16((byte*)p, v.Length)));
            }
        }

        [Theory]
        [InlineData("bfloat16", "normal")]
        [InlineData("bfloat16", "edges")]
        [InlineData("float16", "edges")]
        public void TheAccumulatorFoldsWidenedBlocksAsDecodedOnes(string dtype, string kind)
        {
            // several blocks and a short last one (below the kernel's minimum: decoded and reduced as before)
            var d = Named(dtype);
            int n = 2 * TensorAnalysis.BlockElements + 37;
            var v = Data16(d, n, kind, 99);
            var bytes = v.SelectMany(BitConverter.GetBytes).ToArray();
            var fbytes = Decoded(v, d).SelectMany(BitConverter.GetBytes).ToArray();
            var ours = new TensorAnalysis.MomentsAccumulator(new ViewGeometry(d, new long[] { 0 }, new long[] { 1 }, 0, false));
            ours.Add(bytes, bytes.Length);
            var asFloat32 = new TensorAnalysis.MomentsAccumulator(new ViewGeometry(DType.Float32, new long[] { 0 }, new long[] { 1 }, 0, false));
            asFloat32.Add(fbytes, fbytes.Length);
            Assert.Equal(Bits(asFloat32.Total), Bits(ours.Total));
        }

        /// <summary>A difference side: the left values, each changed a little, kept, or swapped for an edge.</summary>
        private static ushort[] Moved(ushort[] a, int seed)
        {
            var rng = new Random(seed);
            return a.Select(x => rng.Next(4) == 0 ? x : (ushort)(x ^ rng.Next(0, 4))).ToArray();
        }

        private static byte[] Stored(float[] f, DType d)
        {
            var bytes = f.SelectMany(BitConverter.GetBytes).ToArray();
            if (ReferenceEquals(d, DType.Float32)) return bytes;
            var o = new byte[f.Length * 2];
            fixed (byte* s = bytes) fixed (byte* p = o) ElementCast.Cast(s, DType.Float32, f.Length, d, p);
            return o;
        }

        [Theory]
        [InlineData("bfloat16", "bfloat16", "normal")]
        [InlineData("bfloat16", "bfloat16", "edges")]
        [InlineData("bfloat16", "bfloat16", "finite-edges")]
        [InlineData("bfloat16", "bfloat16", "bits")]
        [InlineData("bfloat16", "float32", "normal")]
        [InlineData("bfloat16", "float32", "edges")]
        [InlineData("float32", "bfloat16", "normal")]
        [InlineData("float32", "bfloat16", "edges")]
        [InlineData("float32", "float32", "edges")]
        public void WidenedDifferencesAreThoseOfTheDecodedBlocks(string left, string right, string kind)
        {
            DType da = Named(left), db = Named(right);
            int seed = 50;
            foreach (int n in Lengths)
            {
                // the values of one side, stored in each side's dtype (a float32 side holds the 16-bit values exactly,
                // or, when both are float32, the bfloat16 ones); the other side moved a little
                var baseType = ReferenceEquals(da, DType.Float32) ? (ReferenceEquals(db, DType.Float32) ? DType.BFloat16 : db) : da;
                var va = Data16(baseType, n, kind, seed++);
                var vb = Moved(va, seed++);
                byte[] a = Stored(Decoded(va, baseType), da), b = Stored(Decoded(vb, baseType), db);
                var fa = VectorDecodeTests.AsFloat32(a, da);
                var fb = VectorDecodeTests.AsFloat32(b, db);
                var scratch = new float[2 * n];
                fixed (byte* pa = a) fixed (byte* pb = b) fixed (byte* qa = fa) fixed (byte* qb = fb) fixed (float* sx = scratch)
                {
                    var decoded = CheckpointComparer.Block((float*)qa, (float*)qb, n, 1e-8, 1e-5);
                    var widened = CheckpointComparer.BlockLanes(pa, da, pb, db, n, 1e-8, 1e-5, sx, sx + n);
                    Assert.True(Bits(decoded) == Bits(widened), $"{left}/{right} {kind} n={n}: decoded {Bits(decoded)}, widened {Bits(widened)}");
                }
            }
        }

        [Theory]
        [InlineData("bfloat16", "bfloat16")]
        [InlineData("float32", "bfloat16")]
        [InlineData("bfloat16", "float16")]
        [InlineData("float16", "float32")]
        [InlineData("int8", "bfloat16")]
        public void CompareSumsFoldWidenedBlocksAsDecodedOnes(string left, string right)
        {
            // Compare's block loop over several blocks and a short last one, against the same values stored as float32
            DType da = Named(left), db = Named(right);
            int n = 2 * TensorAnalysis.BlockElements + 41;
            var baseType = ReferenceEquals(db, DType.Float32) ? da : db;
            var vb = Data16(baseType, n, "edges", 7);
            var vbf = Decoded(vb, baseType);
            var rng = new Random(8);
            var vaf = ReferenceEquals(da, DType.Int8) ? vbf.Select(_ => (float)rng.Next(-128, 128)).ToArray() : Decoded(Moved(vb, 9), baseType);
            byte[] a = ReferenceEquals(da, DType.Int8) ? vaf.Select(x => (byte)(sbyte)x).ToArray() : Stored(vaf, da), b = Stored(vbf, db);
            var ka = new ViewGeometry(da, new long[] { 0 }, new long[] { 1 }, 0, false);
            var kb = new ViewGeometry(db, new long[] { 0 }, new long[] { 1 }, 0, false);
            var k32 = new ViewGeometry(DType.Float32, new long[] { 0 }, new long[] { 1 }, 0, false);
            var o = new CompareOptions();
            var ours = default(CheckpointComparer.DiffSums);
            CheckpointComparer.Sums(a, b, n, ka, kb, false, o, ref ours);
            // the float32 reference decoded from the stored bytes (storing may quiet a NaN)
            var asFloat32 = default(CheckpointComparer.DiffSums);
            CheckpointComparer.Sums(VectorDecodeTests.AsFloat32(a, da), VectorDecodeTests.AsFloat32(b, db), n, k32, k32, true, o, ref asFloat32);
            Assert.Equal(Bits(asFloat32), Bits(ours));
            Assert.True(ours.NaNDiff > 0);
        }
    }
}

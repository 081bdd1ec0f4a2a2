using System;
using System.Collections.Generic;
using System.Linq;
using LightningCkpt.Data;
using LightningCkpt.Torch;
using LightningCkpt.Writing;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// The vector decoders give the scalar decoders' bits on every input (all 2^16 bfloat16/float16 patterns, the
    /// integer edges), and the paths built on them — statistics, Compare, Merge, casts — give the scalar results:
    /// bit for bit for casts and merges, and for statistics and Compare exactly the figures of the same values stored
    /// as float32 (the float32 kernel's summation order), within rounding of the scalar double loop.
    /// </summary>
    public unsafe class VectorDecodeTests
    {
        private static ViewGeometry Plain(DType d) => new ViewGeometry(d, new long[] { 0 }, new long[] { 1 }, 0, false);

        private static byte[] AllPatterns16() => Enumerable.Range(0, 65536).SelectMany(i => BitConverter.GetBytes((ushort)i)).ToArray();

        /// <summary>Bytes of <paramref name="count"/> elements of <paramref name="d"/>: its edges first, then random bits.</summary>
        private static byte[] Edges(DType d, int count, int seed)
        {
            var rng = new Random(seed);
            var bytes = new byte[count * d.ItemSize];
            rng.NextBytes(bytes);
            long[] edges = d.ScalarTypeId switch
            {
                1 => new long[] { 0, 1, -1, sbyte.MinValue, sbyte.MaxValue },
                2 => new long[] { 0, 1, -1, short.MinValue, short.MaxValue, 255, 256, -256 },
                3 => new long[] { 0, 1, -1, int.MinValue, int.MaxValue, int.MinValue + 1, 1 << 24, (1 << 24) + 1, -(1 << 24) - 1 },
                _ => new long[] { 0, 1, 255, 254, 128, 127 },
            };
            for (int i = 0; i < edges.Length; i++)
            {
                var e = BitConverter.GetBytes(edges[i]);
                Array.Copy(e, 0, bytes, i * d.ItemSize, d.ItemSize);
            }
            return bytes;
        }

        private static void AssertSameBits(double[] expected, double[] actual, string what)
        {
            Assert.Equal(expected.Length, actual.Length);
            for (int i = 0; i < expected.Length; i++)
                if (BitConverter.DoubleToInt64Bits(expected[i]) != BitConverter.DoubleToInt64Bits(actual[i]))
                    Assert.Fail($"{what}: element {i} is {BitConverter.DoubleToInt64Bits(actual[i]):x16}, the scalar decoder gives {BitConverter.DoubleToInt64Bits(expected[i]):x16}");
        }

        private static uint[] ToFloatBits(byte[] src, DType d, int offset, int n, bool vector)
        {
            var dst = new float[n];
            fixed (byte* s = src) fixed (float* o = dst)
            {
                if (vector) VectorDecode.ToFloat32(s + offset * d.ItemSize, n, d, o);
                else VectorDecode.ScalarToFloat32(s + offset * d.ItemSize, 0, n, d.ScalarTypeId, o);
            }
            return dst.Select(f => BitConverter.ToUInt32(BitConverter.GetBytes(f), 0)).ToArray();
        }

        private static double[] ToDouble(byte[] src, DType d, int offset, int n, bool vector)
        {
            var dst = new double[n];
            var g = Plain(d);
            fixed (byte* s = src) fixed (double* o = dst)
            {
                if (vector) VectorDecode.ToDouble(s + offset * d.ItemSize, n, g, o);
                else ElementBlock.Convert(s + offset * d.ItemSize, n, g, o);
            }
            return dst;
        }

        [Fact]
        public void EveryBFloat16AndFloat16PatternDecodesToTheScalarBits()
        {
            Assert.True(SimdKernels.Available);
            var all = AllPatterns16();
            foreach (var d in new[] { DType.BFloat16, DType.Float16 })
                // whole, and shifted by 3 elements with an odd length: unaligned loads and a scalar tail
                foreach (var (offset, n) in new[] { (0, 65536), (3, 65536 - 10) })
                {
                    var vector = ToFloatBits(all, d, offset, n, vector: true);
                    var scalar = ToFloatBits(all, d, offset, n, vector: false);
                    for (int i = 0; i < n; i++)
                        if (vector[i] != scalar[i]) Assert.Fail($"{d.Name} {offset + i:x4}: vector {vector[i]:x8}, scalar {scalar[i]:x8}");
                    // the float32 rule and the double decoder agree on every value (NaN for NaN)
                    var reference = ToDouble(all, d, offset, n, vector: false);
                    for (int i = 0; i < n; i++)
                    {
                        float f = BitConverter.ToSingle(BitConverter.GetBytes(vector[i]), 0);
                        Assert.True(((double)f).Equals(reference[i]), $"{d.Name} {offset + i:x4}: {f:R} against {reference[i]:R}");
                    }
                    AssertSameBits(reference, ToDouble(all, d, offset, n, vector: true), d.Name + " → double");
                }
        }

        [Fact]
        public void Float16DecodesSubnormalsInfinitiesAndNaNLikeTheScalarDecoder()
        {
            foreach (ushort h in new ushort[] { 0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0400, 0x7BFF, 0x7C00, 0xFC00, 0x7C01, 0x7E00, 0xFFFF })
            {
                var src = Enumerable.Repeat(h, 64).SelectMany(BitConverter.GetBytes).ToArray();
                var bits = ToFloatBits(src, DType.Float16, 0, 64, vector: true);
                float expected = (float)ElementConverter.HalfToDouble(h);
                Assert.All(bits, b => Assert.Equal(BitConverter.ToUInt32(BitConverter.GetBytes(expected), 0), b));
            }
        }

        /// <summary>
        /// A float16 NaN keeps its sign and payload and comes out quiet, as torch 1.13's <c>.float()</c> and
        /// <c>.double()</c> gave for these patterns; the old decoder flipped the sign and dropped the payload.
        /// </summary>
        [Theory]
        [InlineData(0x7E00, 0x7FC00000u, 0x7FF8000000000000ul)]
        [InlineData(0xFE00, 0xFFC00000u, 0xFFF8000000000000ul)]
        [InlineData(0xFE01, 0xFFC02000u, 0xFFF8040000000000ul)]
        [InlineData(0x7C01, 0x7FC02000u, 0x7FF8040000000000ul)]
        [InlineData(0x7D55, 0x7FEAA000u, 0x7FFD540000000000ul)]
        public void Float16NaNKeepsSignAndPayloadAsTorchDoes(int h, uint float32Bits, ulong float64Bits)
        {
            Assert.Equal(float64Bits, (ulong)BitConverter.DoubleToInt64Bits(ElementConverter.HalfToDouble((ushort)h)));
            var src = Enumerable.Repeat((ushort)h, 64).SelectMany(BitConverter.GetBytes).ToArray();
            Assert.All(ToFloatBits(src, DType.Float16, 0, 64, vector: true), b => Assert.Equal(float32Bits, b));
            Assert.All(ToFloatBits(src, DType.Float16, 0, 64, vector: false), b => Assert.Equal(float32Bits, b));
        }

        [Theory]
        [InlineData("uint8")]
        [InlineData("bool")]
        [InlineData("int8")]
        [InlineData("int16")]
        [InlineData("int32")]
        [InlineData("float32")]
        [InlineData("float64")]
        public void IntegersAndWideFloatsDecodeToTheScalarValues(string name)
        {
            var d = DType.Known.Single(k => k.Name == name);
            int count = d.ItemSize <= 2 && d.ScalarTypeId != 6 ? 65536 + 77 : 20011;
            var bytes = Edges(d, count, 41);
            if (d.ItemSize == 1) for (int i = 0; i < 256; i++) bytes[i + 16] = (byte)i; // every byte value
            if (d.ScalarTypeId == 2) for (int i = 0; i < 65536; i++) BitConverter.GetBytes((short)(i - 32768)).CopyTo(bytes, 2 * (i + 40));
            foreach (var (offset, n) in new[] { (0, count), (1, count - 5), (0, 63), (0, 64), (5, 100) })
            {
                AssertSameBits(ToDouble(bytes, d, offset, n, vector: false), ToDouble(bytes, d, offset, n, vector: true), $"{name} → double");
                if (VectorDecode.ExactInFloat32(d))
                {
                    var reference = ToDouble(bytes, d, offset, n, vector: false);
                    var bits = ToFloatBits(bytes, d, offset, n, vector: true);
                    Assert.Equal(ToFloatBits(bytes, d, offset, n, vector: false), bits);
                    for (int i = 0; i < n; i++) Assert.True(((double)BitConverter.ToSingle(BitConverter.GetBytes(bits[i]), 0)).Equals(reference[i]), $"{name} {i}");
                }
            }
            Assert.Equal(d.ScalarTypeId != 3 && d.ScalarTypeId != 7, VectorDecode.ExactInFloat32(d));
        }

        /// <summary>The cast the generic path makes: each element to double, then <see cref="ElementCast.Encode"/>.</summary>
        private static byte[] ScalarCast(byte[] src, DType from, DType to)
        {
            int n = src.Length / from.ItemSize;
            var x = new double[n];
            var dst = new byte[n * to.ItemSize];
            fixed (byte* s = src) fixed (double* p = x) fixed (byte* o = dst)
            {
                ElementBlock.Convert(s, n, Plain(from), p);
                if (from.ScalarTypeId == 15 && to.ScalarTypeId == 6) for (int i = 0; i < n; i++) ((uint*)o)[i] = (uint)((ushort*)s)[i] << 16;
                else ElementCast.Encode(p, n, to, o);
                // torch converts these sources to bfloat16 element by element: c10's NaN 0x7FC0, not the vector 0xFFFF
                if (to.ScalarTypeId == 15 && from.ScalarTypeId != 6 && from.ScalarTypeId != 7)
                    for (int i = 0; i < n; i++) if (((ushort*)o)[i] == ElementEncoder.VectorNaN) ((ushort*)o)[i] = ElementEncoder.ScalarNaN;
            }
            return dst;
        }

        [Theory]
        [InlineData("bfloat16")]
        [InlineData("float16")]
        [InlineData("int8")]
        [InlineData("uint8")]
        [InlineData("int16")]
        [InlineData("bool")]
        public void CastsFromExactSourcesGiveTheScalarBits(string name)
        {
            var from = DType.Known.Single(k => k.Name == name);
            var src = from.ItemSize == 2 ? AllPatterns16().Concat(AllPatterns16().Take(2 * 1001)).ToArray() : Edges(from, 5003, 9);
            foreach (var to in new[] { DType.Float32, DType.Float64, DType.Float16, DType.BFloat16 })
            {
                if (to == from) continue;
                int n = src.Length / from.ItemSize;
                var fast = new byte[n * to.ItemSize];
                fixed (byte* s = src) fixed (byte* o = fast) ElementCast.Cast(s, from, n, to, o);
                var slow = ScalarCast(src, from, to);
                for (int i = 0; i < slow.Length; i += to.ItemSize)
                    if (!slow.AsSpan(i, to.ItemSize).SequenceEqual(fast.AsSpan(i, to.ItemSize)))
                        Assert.Fail($"{name} → {to.Name}: element {i / to.ItemSize} is {Convert.ToHexString(fast, i, to.ItemSize)}, scalar {Convert.ToHexString(slow, i, to.ItemSize)}");
            }
        }

        /// <summary>Random 16-bit values with the edges mixed in: NaN, ±inf, ±0, subnormals, the largest finite, rounding ties.</summary>
        private static ushort[] Values16(DType d, int n, int seed, bool edgesToo = true)
        {
            var rng = new Random(seed);
            var edges = d.ScalarTypeId == 15
                ? new ushort[] { 0x7FC0, 0xFFC0, 0x7F80, 0xFF80, 0x0000, 0x8000, 0x0001, 0x8001, 0x7F7F, 0xFF7F, 0x3F80, 0x3F81 }
                : new ushort[] { 0x7E00, 0xFE00, 0x7C00, 0xFC00, 0x0000, 0x8000, 0x0001, 0x8001, 0x7BFF, 0xFBFF, 0x3C00, 0x3C01 };
            var v = new ushort[n];
            for (int i = 0; i < n; i++)
            {
                // mostly values near ±1 (the bulk of real weights), some any pattern at all
                float f = (float)((rng.NextDouble() - 0.5) * Math.Pow(2, rng.Next(-20, 6)));
                ushort bits;
                fixed (float* pf = new[] { f }) fixed (ushort* pb = new ushort[1])
                {
                    ElementCast.Cast((byte*)pf, DType.Float32, 1, d, (byte*)pb);
                    bits = *pb;
                }
                v[i] = !edgesToo ? bits : i % 97 == 0 ? edges[rng.Next(edges.Length)] : i % 13 == 0 ? (ushort)rng.Next(65536) : bits;
            }
            return v;
        }

        [Theory]
        [InlineData("bfloat16", 2, 1.0)]
        [InlineData("bfloat16", 3, 3.0)]
        [InlineData("float16", 2, 2.0)]
        [InlineData("float16", 4, 1.0)]
        public void MergeOf16BitInputsGivesTheScalarBits(string name, int inputs, double divide)
        {
            var d = DType.Known.Single(k => k.Name == name);
            int n = 3 * 1024 + 517;
            var data = Enumerable.Range(0, inputs).Select(k => Values16(d, n, 100 + k)).ToArray();
            var w = Enumerable.Range(0, inputs).Select(k => k == 0 ? 1.0 : 0.5 + k * 0.25).ToArray();
            var fast = new ushort[n];
            var slow = new ushort[n];
            var handles = data.Select(a => System.Runtime.InteropServices.GCHandle.Alloc(a, System.Runtime.InteropServices.GCHandleType.Pinned)).ToArray();
            try
            {
                var ptrs = new byte*[inputs];
                for (int k = 0; k < inputs; k++) ptrs[k] = (byte*)handles[k].AddrOfPinnedObject();
                fixed (ushort* f = fast) fixed (ushort* s = slow)
                {
                    WeightedMean.Compute(ptrs, w, divide, d, n, (byte*)f);
                    WeightedMean.Blocks(ptrs, w, divide, d, 0, n, (byte*)s);
                }
            }
            finally { foreach (var h in handles) h.Free(); }
            for (int i = 0; i < n; i++)
                if (fast[i] != slow[i]) Assert.Fail($"{name} element {i}: vector {fast[i]:x4}, scalar {slow[i]:x4} (inputs {string.Join(", ", data.Select(a => a[i].ToString("x4")))})");
        }

        private static TensorAnalysis.Moments Stats(byte[] bytes, DType d)
        {
            var acc = new TensorAnalysis.MomentsAccumulator(Plain(d));
            acc.Add(bytes, bytes.Length);
            return acc.Total;
        }

        internal static string Bits(TensorAnalysis.Moments m) =>
            string.Join(" ", new[] { m.Min, m.Max, m.Mean, m.M2, m.Sum, m.SumSq }.Select(v => BitConverter.DoubleToInt64Bits(v).ToString("x")))
            + $" n{m.N} nan{m.NaN} inf{m.Inf} z{m.Zero}";

        internal static byte[] AsFloat32(byte[] bytes, DType d)
        {
            int n = bytes.Length / d.ItemSize;
            var f = new byte[n * 4];
            fixed (byte* s = bytes) fixed (byte* o = f) VectorDecode.ScalarToFloat32(s, 0, n, d.ScalarTypeId, (float*)o);
            return f;
        }

        [Theory]
        [InlineData("bfloat16", false)]
        [InlineData("bfloat16", true)]
        [InlineData("float16", false)]
        [InlineData("float16", true)]
        [InlineData("int8", false)]
        [InlineData("int16", false)]
        public void StatisticsAreThoseOfTheSameValuesAsFloat32(string name, bool edges)
        {
            var d = DType.Known.Single(k => k.Name == name);
            int n = 2 * TensorAnalysis.BlockElements + 12345;
            byte[] bytes;
            if (d.ItemSize == 2)
            {
                var v = Values16(d, n, 3, edges);
                bytes = v.SelectMany(BitConverter.GetBytes).ToArray();
            }
            else bytes = Edges(d, n, 5);
            var ours = Stats(bytes, d);
            var asFloat32 = Stats(AsFloat32(bytes, d), DType.Float32);
            Assert.Equal(Bits(asFloat32), Bits(ours));
            // and the scalar double loop over the same values: counts and extremes exactly, sums to rounding
            var x = new double[n];
            fixed (byte* s = bytes) fixed (double* p = x) ElementBlock.Convert(s, n, Plain(d), p);
            var scalar = TensorAnalysis.Moments.Empty;
            fixed (double* p = x)
                for (int at = 0; at < n; at += TensorAnalysis.BlockElements)
                    scalar = TensorAnalysis.Moments.Merge(scalar, TensorAnalysis.Reduce(p + at, Math.Min(TensorAnalysis.BlockElements, n - at)));
            Assert.Equal((scalar.N, scalar.NaN, scalar.Inf, scalar.Zero), (ours.N, ours.NaN, ours.Inf, ours.Zero));
            if (scalar.NaN == 0)
            {
                Assert.Equal(scalar.Min, ours.Min);
                Assert.Equal(scalar.Max, ours.Max);
            }
            foreach (var (a, b) in new[] { (scalar.Sum, ours.Sum), (scalar.SumSq, ours.SumSq), (scalar.M2, ours.M2), (scalar.Mean, ours.Mean) })
                Assert.True(a.Equals(b) || Math.Abs(a - b) <= 1e-12 * Math.Max(Math.Abs(a), Math.Abs(scalar.SumSq / n)), $"{name}: scalar {a:R}, ours {b:R}");
            Assert.Equal(edges, ours.NaN > 0);
        }

        private static CheckpointComparer.DiffSums Sums(byte[] x, byte[] y, DType dx, DType dy, int n)
        {
            var s = default(CheckpointComparer.DiffSums);
            var o = new CompareOptions();
            CheckpointComparer.Sums(x, y, n, Plain(dx), Plain(dy), ReferenceEquals(dx, DType.Float32) && ReferenceEquals(dy, DType.Float32), o, ref s);
            return s;
        }

        internal static string Bits(CheckpointComparer.DiffSums s) =>
            string.Join(" ", new[] { s.MaxAbs, s.SumAbs, s.SumD2, s.SumA2, s.SumB2, s.SumAB }.Select(v => BitConverter.DoubleToInt64Bits(v).ToString("x")))
            + $" n{s.N} bad{s.NotClose} nan{s.NaNDiff}";

        [Theory]
        [InlineData("bfloat16", "bfloat16")]
        [InlineData("float16", "float16")]
        [InlineData("float32", "bfloat16")]
        [InlineData("float16", "float32")]
        [InlineData("bfloat16", "float16")]
        [InlineData("int8", "float16")]
        public void CompareSumsAreThoseOfTheSameValuesAsFloat32(string left, string right)
        {
            DType da = DType.Known.Single(k => k.Name == left), db = DType.Known.Single(k => k.Name == right);
            int n = TensorAnalysis.BlockElements + 4321;
            var rng = new Random(17);
            var va = new float[n];
            for (int i = 0; i < n; i++) va[i] = da.ScalarTypeId == 1 ? rng.Next(-128, 128) : (float)((rng.NextDouble() - 0.5) * 4);
            var vb = va.Select((v, i) => i % 5 == 0 ? v : v + (float)((rng.NextDouble() - 0.5) * 0.01)).ToArray();
            vb[100] = float.NaN; // one NaN: that block takes the exact loop
            byte[] Encode(float[] v, DType d)
            {
                if (ReferenceEquals(d, DType.Int8)) return v.Select(f => (byte)(sbyte)f).ToArray();
                var f32 = v.SelectMany(BitConverter.GetBytes).ToArray();
                if (ReferenceEquals(d, DType.Float32)) return f32;
                var o = new byte[n * 2];
                fixed (byte* s = f32) fixed (byte* p = o) ElementCast.Cast(s, DType.Float32, n, d, p);
                return o;
            }
            byte[] a = Encode(va, da), b = Encode(vb, db);
            var ours = Sums(a, b, da, db, n);
            Assert.Equal(Bits(Sums(AsFloat32(a, da), AsFloat32(b, db), DType.Float32, DType.Float32, n)), Bits(ours));
            // the double loop over the same values: counts exactly, sums to rounding
            var x = new double[n];
            var y = new double[n];
            fixed (byte* pa = a) fixed (byte* pb = b) fixed (double* px = x) fixed (double* py = y)
            {
                ElementBlock.Convert(pa, n, Plain(da), px);
                ElementBlock.Convert(pb, n, Plain(db), py);
                var scalar = default(CheckpointComparer.DiffSums);
                for (int at = 0; at < n; at += TensorAnalysis.BlockElements)
                    scalar = CheckpointComparer.DiffSums.Merge(scalar, CheckpointComparer.Block(px + at, py + at, Math.Min(TensorAnalysis.BlockElements, n - at), 1e-8, 1e-5));
                Assert.Equal((scalar.N, scalar.NotClose, scalar.NaNDiff), (ours.N, ours.NotClose, ours.NaNDiff));
                foreach (var (e, g) in new[] { (scalar.SumAbs, ours.SumAbs), (scalar.SumD2, ours.SumD2), (scalar.SumA2, ours.SumA2), (scalar.SumB2, ours.SumB2), (scalar.SumAB, ours.SumAB) })
                    Assert.True(e.Equals(g) || Math.Abs(e - g) <= 1e-12 * Math.Abs(e), $"{left}/{right}: scalar {e:R}, ours {g:R}");
            }
            Assert.True(ours.NaNDiff == 1 && ours.NotClose > 0);
        }
    }
}

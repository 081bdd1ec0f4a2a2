using System;
using System.Numerics;
using LightningCkpt.Data;
using LightningCkpt.Torch;
using Xunit;
using Xunit.Abstractions;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// The float32 statistics and difference sums on data that is hard for floating-point reductions (large
    /// offsets with tiny variance, an outlier as a block's first element, magnitudes from 1e-30 to 1e30, means near
    /// zero from cancelling halves, blocks with very different means), against exact sums: every float32 is an
    /// integer multiple of 2^-149, so Σx, Σx², Σ(a−b)² … are exact BigIntegers, rounded to double once at the end.
    /// The bounds are relative to the natural scale of each quantity (Σ|x| for a sum that may cancel, the value
    /// itself for non-negative sums), the form torch's float64 reductions are held to. Sums: 3e-14, the rounding
    /// bound of the kernels' two-level sums (a lane's value passes through about 128 + 64 additions per 64K block,
    /// plus the merge of the blocks: ~200·2^-53); one level of 8192 additions in a row gave 1.1e-13 on the constant
    /// case. Variance: 1e-12, which the shifted sums only meet with a shift near the block's centre (x[0] as the
    /// shift lost 4e-11 on the outlier case); what remains (2.6e-13 with mean/σ = 1e7) is the merge of block means
    /// that are rounded at 2^-53 of the mean.
    /// </summary>
    public unsafe class StatisticsAccuracyTests
    {
        private readonly ITestOutputHelper _out;

        public StatisticsAccuracyTests(ITestOutputHelper output) => _out = output;

        private const int N = 300_001; // several 64K blocks, not a multiple of a block or a vector

        public static TheoryData<string> Cases => new TheoryData<string>
        {
            "offset 1e4, sd 1e-3", "outlier first, then 1 ± 1e-4", "magnitudes 1e-30..1e30", "cancelling ±1e8 halves",
            "block means ±1e6", "constant 0.1", "normal weights sd 0.02",
        };

        private static float[] Data(string name)
        {
            int seed = 17;
            foreach (char ch in name) seed = seed * 31 + ch; // string.GetHashCode differs per process
            var rng = new Random(seed);
            double Normal() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            var x = new float[N];
            for (int i = 0; i < N; i++)
                x[i] = name switch
                {
                    "offset 1e4, sd 1e-3" => (float)(1e4 + 1e-3 * Normal()),
                    "outlier first, then 1 ± 1e-4" => i % TensorAnalysis.BlockElements == 0 ? 1e6f : (float)(1 + 1e-4 * Normal()),
                    "magnitudes 1e-30..1e30" => (float)((rng.Next(2) == 0 ? -1 : 1) * Math.Pow(10, rng.NextDouble() * 60 - 30)),
                    "cancelling ±1e8 halves" => (float)((i % 2 == 0 ? 1e8 : -1e8) + Normal()),
                    "block means ±1e6" => (float)((i / TensorAnalysis.BlockElements % 2 == 0 ? 1e6 : -1e6) + Normal()),
                    "constant 0.1" => 0.1f,
                    _ => (float)(0.02 * Normal()),
                };
            return x;
        }

        [Theory]
        [MemberData(nameof(Cases))]
        public void MomentsStayWithinFloat64RoundingOfTheExactSums(string name)
        {
            var x = Data(name);
            var bytes = new byte[x.Length * 4];
            Buffer.BlockCopy(x, 0, bytes, 0, bytes.Length);
            var acc = new TensorAnalysis.MomentsAccumulator(Float32Row(x.Length));
            acc.Add(bytes, bytes.Length);
            var m = acc.Total;

            BigInteger s1 = 0, s2 = 0, abs = 0;
            float min = x[0], max = x[0];
            foreach (var v in x)
            {
                var e = Exact.Of(v);
                s1 += e;
                s2 += e * e;
                abs += BigInteger.Abs(e);
                min = Math.Min(min, v);
                max = Math.Max(max, v);
            }
            double sum = Exact.ToDouble(s1, Exact.Scale), sumAbs = Exact.ToDouble(abs, Exact.Scale);
            double sumSq = Exact.ToDouble(s2, 2 * Exact.Scale);
            double m2 = Exact.ToDouble(N * s2 - s1 * s1, 2 * Exact.Scale) / N;

            double eSum = Math.Abs(m.Sum - sum) / sumAbs;
            double eSq = Math.Abs(m.SumSq - sumSq) / sumSq;
            double eM2 = m2 == 0 ? Math.Abs(m.M2) : Math.Abs(m.M2 - m2) / m2;
            _out.WriteLine($"{name}: Σx {eSum:E2} of Σ|x|, Σx² {eSq:E2}, M2 {eM2:E2} (exact M2 {m2:R})");
            Assert.Equal(N, m.N);
            Assert.Equal((double)min, m.Min);
            Assert.Equal((double)max, m.Max);
            Assert.True(eSum <= 3e-14, $"{name}: Σx off by {eSum:E2} of Σ|x|");
            Assert.True(eSq <= 3e-14, $"{name}: Σx² off by {eSq:E2}");
            Assert.True(eM2 <= 1e-12, $"{name}: Σ(x−mean)² off by {eM2:E2}");
        }

        [Theory]
        [MemberData(nameof(Cases))]
        public void DifferenceSumsStayWithinFloat64RoundingOfTheExactSums(string name)
        {
            var a = Data(name);
            var b = new float[a.Length];
            var rng = new Random(3);
            for (int i = 0; i < a.Length; i++)
                b[i] = i % 5 == 0 ? a[i] : BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(a[i]) + rng.Next(-40, 41)); // a few ulps apart
            CheckpointComparer.DiffSums s;
            fixed (float* pa = a) fixed (float* pb = b)
            {
                s = default;
                for (int at = 0; at < a.Length; at += TensorAnalysis.BlockElements)
                    s = CheckpointComparer.DiffSums.Merge(s, CheckpointComparer.Block(pa + at, pb + at, Math.Min(TensorAnalysis.BlockElements, a.Length - at), 1e-8, 1e-5));
            }
            BigInteger sa = 0, sd = 0, saa = 0, sbb = 0, sab = 0, sabAbs = 0;
            double maxAbs = 0;
            long notClose = 0;
            for (int i = 0; i < a.Length; i++)
            {
                BigInteger ea = Exact.Of(a[i]), eb = Exact.Of(b[i]), d = ea - eb;
                sa += BigInteger.Abs(d);
                sd += d * d;
                saa += ea * ea;
                sbb += eb * eb;
                sab += ea * eb;
                sabAbs += BigInteger.Abs(ea * eb);
                double ad = Math.Abs((double)a[i] - b[i]); // exact in double
                maxAbs = Math.Max(maxAbs, ad);
                if (!(ad <= 1e-8 + 1e-5 * Math.Abs((double)b[i]))) notClose++;
            }
            double Rel(double ours, BigInteger exact, BigInteger scale, int shift)
            {
                double e = Exact.ToDouble(exact, shift), sc = Exact.ToDouble(scale, shift);
                return sc == 0 ? Math.Abs(ours) : Math.Abs(ours - e) / sc;
            }
            double eSa = Rel(s.SumAbs, sa, sa, Exact.Scale), eSd = Rel(s.SumD2, sd, sd, 2 * Exact.Scale);
            double eAa = Rel(s.SumA2, saa, saa, 2 * Exact.Scale), eBb = Rel(s.SumB2, sbb, sbb, 2 * Exact.Scale);
            double eAb = Rel(s.SumAB, sab, sabAbs, 2 * Exact.Scale);
            _out.WriteLine($"{name}: Σ|a−b| {eSa:E2}, Σ(a−b)² {eSd:E2}, Σa² {eAa:E2}, Σb² {eBb:E2}, Σab {eAb:E2} of Σ|ab|");
            Assert.Equal(a.Length, s.N);
            Assert.Equal(maxAbs, s.MaxAbs);
            Assert.Equal(notClose, s.NotClose);
            foreach (var (what, e) in new[] { ("Σ|a−b|", eSa), ("Σ(a−b)²", eSd), ("Σa²", eAa), ("Σb²", eBb), ("Σab", eAb) })
                Assert.True(e <= 3e-14, $"{name}: {what} off by {e:E2}");
        }

        private static ViewGeometry Float32Row(long n) => new ViewGeometry(DType.Float32, new[] { n }, new[] { 1L }, 0, false);

        /// <summary>float32 values as exact integers in units of 2^-149 (the smallest subnormal).</summary>
        private static class Exact
        {
            public const int Scale = 149;

            public static BigInteger Of(float v)
            {
                int bits = BitConverter.SingleToInt32Bits(v);
                int exp = (bits >> 23) & 0xFF;
                if (exp == 0xFF) throw new ArgumentException("finite values only");
                long mant = bits & 0x7FFFFF;
                int shift = 0;
                if (exp != 0) { mant |= 0x800000; shift = exp - 1; }
                var e = new BigInteger(mant) << shift;
                return bits < 0 ? -e : e;
            }

            /// <summary>value / 2^scale as the nearest double (to within one rounding of 64 leading bits).</summary>
            public static double ToDouble(BigInteger value, int scale)
            {
                if (value.IsZero) return 0;
                int sign = value.Sign;
                var mag = BigInteger.Abs(value);
                long length = (long)mag.GetBitLength();
                int drop = (int)Math.Max(0, length - 64);
                double top = (double)(ulong)(mag >> drop);
                return sign * Math.ScaleB(top, drop - scale);
            }
        }
    }
}

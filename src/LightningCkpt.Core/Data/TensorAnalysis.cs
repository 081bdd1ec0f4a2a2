using System;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using LightningCkpt.Torch;

namespace LightningCkpt.Data
{
    /// <summary>
    /// Fills a tensor's hash and statistics from one streaming pass over its bytes, read with read-ahead (the next
    /// chunk is read on one core while this one is reduced on the other); expanded views are reduced over their distinct
    /// elements and scaled by the repeat count.
    /// </summary>
    /// <remarks>
    /// Semantics, chosen to match torch on <c>t.double()</c> (complex: <c>t.abs().double()</c>; per-tensor quantized:
    /// <c>t.dequantize().double()</c>):
    /// <list type="bullet">
    /// <item>Every element is converted to double (float16, bfloat16, float8 variants exactly; int64/uint64 rounded to
    /// the nearest double; bool as 0/1; complex as its magnitude).</item>
    /// <item><c>Std</c> is torch.std's default: the unbiased sample standard deviation (correction = 1),
    /// sqrt(Σ(x−mean)² / (n−1)); NaN when the tensor has one element.</item>
    /// <item>NaN propagates as in torch.min/max/mean/std/linalg.norm: when NaNCount &gt; 0, Min, Max, Mean, Std and
    /// L2Norm are NaN. ±inf take part like any value (a mean of +inf and −inf is NaN).</item>
    /// <item>ZeroFraction counts elements equal to 0 (−0.0 included; NaN is not zero).</item>
    /// <item>Empty tensors: Min…L2Norm and ZeroFraction stay null, NaNCount and InfCount are 0.</item>
    /// <item>Dtypes without numeric elements (sub-byte quantized, bits, opaque, per-channel quantized) get no
    /// statistics (all null); their hash is still computed.</item>
    /// </list>
    /// Accumulation is in double: each block of 64K elements is reduced with shifted sums, Σ(x−k) and Σ(x−k)², plus
    /// Σx² directly (every float32 square is exact in double, so only the additions round), and the blocks are merged
    /// with Chan's parallel formula, so the variance does not suffer from cancellation. The shift k is the median of
    /// 31 elements spread over the block: near the block's centre, so Σ(x−k)² stays close to Σ(x−mean)² and the
    /// rounding of the shifted sums stays of the order of Σx²'s own, also when the first element is an outlier (the
    /// former shift, x[0], lost 4e-11 of the variance on such data). Blocks holding NaN/inf, or where the shift still
    /// leaves more than 99.9 % of Σ(x−k)² to cancel, are redone with an exact two-pass mean and variance. A block's
    /// figures depend on its elements only, so ranges of a tensor reduced on several cores fold to exactly the
    /// figures of one pass. The float32 kernel sums in two levels (runs of 1024 elements, then the block), so the
    /// sums stay within a few 1e-15 of exact sums on hard data (StatisticsAccuracyTests); the merge of blocks rounds
    /// each block mean at 2^-53 of the mean, which shows as ~3e-13 of the variance when the mean is 1e7 standard
    /// deviations from zero. No float32 accumulation: a float32 partial sum rounds at 6e-8, far above the 1e-16 of
    /// torch's float64 reductions that these figures are compared with.
    /// float16, bfloat16, bool and the 8/16-bit integers are reduced as the float32 they equal exactly by the float32
    /// loop (vector lanes summed in another order than the double loop's two), so their figures are bit for bit those
    /// of the same values stored as float32: bfloat16 widened in the kernel's registers (<see cref="IFloatLanes"/>),
    /// the others decoded to a float32 block first.
    /// </remarks>
    public static unsafe class TensorAnalysis
    {
        internal const int BlockElements = 1 << 16;

        [ThreadStatic] private static double[]? _block;

        internal static double[] Block() => _block ??= new double[BlockElements];

        public static void Analyze(CkptTensor tensor, TensorDataReader reader, bool hash, bool statistics)
        {
            var t = tensor.Tensor;
            if (!t.HasData) return;
            var g = statistics ? ViewGeometry.Of(t) : null;
            if (g == null)
            {
                if (statistics && QuantizedValues.Handles(t)) Apply(tensor, QuantizedValues.Moments(t, reader));
                if (hash) tensor.Sha256 = reader.Sha256(t);
                return;
            }
            var distinct = DistinctView.Of(t, out long repeat);
            if (hash && repeat == 1 && !DistinctView.Overlaps(t))
            {
                // one read feeds both the hash and the statistics
                using var sha = SHA256.Create();
                var acc = new MomentsAccumulator(g.Value);
                reader.ReadRowMajor(t, (b, n) =>
                {
                    sha.TransformBlock(b, 0, n, null, 0);
                    acc.Add(b, n);
                });
                sha.TransformFinalBlock(Array.Empty<byte>(), 0, 0);
                tensor.Sha256 = TensorDataReader.ToHex(sha.Hash!);
                Apply(tensor, acc.Total);
                return;
            }
            Apply(tensor, Compute(distinct, reader, tensor.FullName).Scale(repeat));
            if (hash) tensor.Sha256 = reader.Sha256(t);
        }

        /// <summary>Streaming moments of a view's elements (a view without stride-0 dimensions).</summary>
        internal static Moments Compute(TensorRef distinct, TensorDataReader reader, string file)
        {
            if (distinct.Numel == 0) return Moments.Empty;
            DistinctView.CheckWalkable(distinct, file);
            var acc = new MomentsAccumulator(ViewGeometry.Of(distinct)!.Value);
            reader.ReadRowMajor(distinct, acc.Add);
            return acc.Total;
        }

        /// <summary>Folds row-major little-endian element bytes, chunk after chunk, into moments.</summary>
        internal sealed class MomentsAccumulator
        {
            private readonly ViewGeometry _g;
            private readonly bool _float32, _viaFloat32, _widened;

            public MomentsAccumulator(ViewGeometry g)
            {
                _g = g;
                _float32 = ReferenceEquals(g.DType, DType.Float32);
                // float16/bfloat16/small integers are float32 values exactly: reduced as the float32 tensor they equal
                _viaFloat32 = !_float32 && SimdKernels.Available && VectorDecode.ExactInFloat32(g);
                // bfloat16 goes further: widened in the kernel's registers, no float32 copy
                _widened = _viaFloat32 && FloatLanes.Widened(g.DType);
            }

            public Moments Total { get; private set; } = Moments.Empty;

            public void Add(byte[] bytes, int count)
            {
                int item = _g.DType.ItemSize;
                int n = count / item;
                var total = Total;
                fixed (byte* p = bytes)
                    for (int at = 0; at < n; at += BlockElements)
                        total = Moments.Merge(total, BlockMoments(p + (long)at * item, Math.Min(BlockElements, n - at)));
                Total = total;
            }

            /// <summary>
            /// The moments of each block of a piece, stored at <paramref name="into"/>[<paramref name="first"/>…]:
            /// ranges of one tensor reduced on several workers, folded in block order afterwards by
            /// <see cref="Fold"/>, give exactly what <see cref="Add"/> gives when one pass folds every block.
            /// </summary>
            public void AddBlocks(byte[] bytes, int count, Moments[] into, long first)
            {
                int item = _g.DType.ItemSize;
                int n = count / item;
                fixed (byte* p = bytes)
                    for (int at = 0; at < n; at += BlockElements)
                        into[first++] = BlockMoments(p + (long)at * item, Math.Min(BlockElements, n - at));
            }

            /// <summary>The left-to-right fold of block moments, as one pass over the blocks folds them.</summary>
            public static Moments Fold(Moments[] blocks)
            {
                var total = Moments.Empty;
                foreach (var b in blocks) total = Moments.Merge(total, b);
                return total;
            }

            private Moments BlockMoments(byte* p, int m)
            {
                // float32 reduced straight from the read buffer, no conversion
                if (_float32) return Reduce((float*)p, m);
                if (_widened && m >= SimdKernels.MinElements) return ReduceBFloat16(p, m);
                fixed (double* buf = Block())
                {
                    if (_viaFloat32)
                    {
                        // the double block has room for the floats: decoded in place of it, then the float32 kernel
                        VectorDecode.ToFloat32(p, m, _g.DType, (float*)buf);
                        return Reduce((float*)buf, m);
                    }
                    VectorDecode.ToDouble(p, m, _g, buf);
                    return Reduce(buf, m);
                }
            }
        }

        internal static void Apply(CkptTensor tensor, Moments m)
        {
            tensor.NaNCount = m.NaN;
            tensor.InfCount = m.Inf;
            if (m.N == 0)
            {
                tensor.Min = tensor.Max = tensor.Mean = tensor.Std = tensor.L2Norm = tensor.ZeroFraction = null;
                return;
            }
            bool nan = m.NaN > 0;
            tensor.Min = nan ? double.NaN : m.Min;
            tensor.Max = nan ? double.NaN : m.Max;
            tensor.Mean = nan ? double.NaN : m.Sum / m.N;
            tensor.Std = nan || m.N <= 1 ? double.NaN : Math.Sqrt(m.M2 / (m.N - 1));
            tensor.L2Norm = nan ? double.NaN : Math.Sqrt(m.SumSq);
            tensor.ZeroFraction = (double)m.Zero / m.N;
        }

        /// <summary>
        /// One block: a single pass of shifted sums (Σ(x−K), Σ(x−K)² with K = <see cref="Shift{T}"/>), Σx²,
        /// extremes and zeros. Blocks holding NaN/±inf, or whose shift was so far
        /// from the mean that the shifted variance would cancel, are redone by the exact two-pass loop.
        /// </summary>
        internal static Moments Reduce(double* x, int n) =>
            n == 0 ? Moments.Empty : TryReduceRun(new DoubleRun(x), n, Shift(new DoubleRun(x), n), 0, 0, 0, 0, x[0], x[0], 0, out var m) ? m : ReduceExact(new DoubleRun(x), n);

        /// <summary>The same for float32 read straight from the stored floats; the vector kernel takes the bulk.</summary>
        internal static Moments Reduce(float* x, int n)
        {
            if (n == 0) return Moments.Empty;
            if (SimdKernels.Available && n >= SimdKernels.MinElements) return ReduceFloat32(x, n);
            return TryReduceRun(new FloatRun(x), n, Shift(new FloatRun(x), n), 0, 0, 0, 0, x[0], x[0], 0, out var m) ? m : ReduceExact(x, n);
        }

        // the lane sources are named only in methods that run when SimdKernels.Available (see IFloatLanes)
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static Moments ReduceFloat32(float* x, int n) => TryReduce(new Float32Lanes(x), n, out var m) ? m : ReduceExact(x, n);

        /// <summary>
        /// bfloat16 bits (n ≥ <see cref="SimdKernels.MinElements"/>, kernels available) reduced straight from the stored bits:
        /// the figures of the decoded floats through <see cref="Reduce(float*, int)"/>, bit for bit.
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        internal static Moments ReduceBFloat16(byte* p, int n)
        {
            if (TryReduce(new BFloat16Lanes((ushort*)p), n, out var m)) return m;
            // NaN/±inf or a cancelling shift (rare blocks): the exact loop over the decoded floats, the very loop the
            // float32 path redoes them with, so even the NaN a sum carries (which depends on the loop's code) is the same
            fixed (double* buf = Block())
            {
                VectorDecode.ToFloat32(p, n, DType.BFloat16, (float*)buf);
                return ReduceExact((float*)buf, n);
            }
        }

        /// <summary>The vector kernel over a lane source and its scalar tail; false when the block needs the exact loop.</summary>
        private static bool TryReduce<L>(L x, int n, out Moments m) where L : struct, IFloatLanes
        {
            double k = Shift(x, n);
            SimdKernels.Moments(x, n, k, out var s, out var q, out var r, out var mn, out var mx, out var z, out int done);
            return TryReduceRun(x, n, k, done, s, q, r, mn, mx, z, out m);
        }

        /// <summary>Elements sampled for a block's shift.</summary>
        private const int ShiftSamples = 31;

        /// <summary>
        /// The shift of a block's sums: the median of <see cref="ShiftSamples"/> elements at even steps (all of a
        /// shorter block). One of the block's own values, so x − k is exact in double for float32 data.
        /// </summary>
        private static double Shift<T>(T x, int n) where T : struct, IElementRun
        {
            int m = Math.Min(ShiftSamples, n);
            int step = n / m;
            double* sorted = stackalloc double[ShiftSamples];
            for (int i = 0; i < m; i++)
            {
                double v = x[i * step];
                int j = i;
                for (; j > 0 && sorted[j - 1] > v; j--) sorted[j] = sorted[j - 1];
                sorted[j] = v;
            }
            return sorted[m / 2];
        }

        internal static Moments ReduceExact(float* x, int n) => ReduceExact(new FloatRun(x), n);

        /// <summary>
        /// The scalar loop from <paramref name="start"/>, continuing sums a vector kernel may have begun; false when the
        /// block needs the exact loop. Generic over the element reader so the JIT compiles one specialised loop per element type.
        /// </summary>
        private static bool TryReduceRun<T>(T x, int n, double k, int start, double s0, double q0, double r0, double mn0, double mx0, long z0, out Moments m)
            where T : struct, IElementRun
        {
            // two lanes wide: more lanes spill the 16 SSE registers and run slower
            double s1 = 0, q1 = 0, r1 = 0, mn1 = mn0, mx1 = mx0;
            long z1 = 0;
            int i = start;
            for (; i + 2 <= n; i += 2)
            {
                double a0 = x[i], a1 = x[i + 1];
                double d0 = a0 - k, d1 = a1 - k;
                s0 += d0; s1 += d1;
                q0 += d0 * d0; q1 += d1 * d1;
                r0 += a0 * a0; r1 += a1 * a1;
                mn0 = a0 < mn0 ? a0 : mn0; mn1 = a1 < mn1 ? a1 : mn1;
                mx0 = a0 > mx0 ? a0 : mx0; mx1 = a1 > mx1 ? a1 : mx1;
                z0 += a0 == 0 ? 1 : 0; z1 += a1 == 0 ? 1 : 0;
            }
            if (i < n)
            {
                double a = x[i], d = a - k;
                s0 += d; q0 += d * d; r0 += a * a;
                mn0 = a < mn0 ? a : mn0; mx0 = a > mx0 ? a : mx0;
                z0 += a == 0 ? 1 : 0;
            }
            double s = s0 + s1, q = q0 + q1, r = r0 + r1;
            double shift = s * s / n;
            // non-finite data (NaN/inf make r non-finite), or a shift far from the mean: the exact two-pass path
            if (double.IsNaN(r) || double.IsInfinity(r) || double.IsNaN(q) || double.IsInfinity(q) || q - shift < 1e-3 * q)
            {
                m = default;
                return false;
            }
            double mn = Math.Min(mn0, mn1), mx = Math.Max(mx0, mx1);
            m = new Moments(n, mn, mx, k + s / n, q - shift, n * k + s, r, 0, 0, z0 + z1);
            return true;
        }

        /// <summary>Two passes over a cache-resident block: extremes, sums and counts, then Σ(x − blockMean)².</summary>
        private static Moments ReduceExact<T>(T x, int n) where T : struct, IElementRun
        {
            double min0 = double.PositiveInfinity, max0 = double.NegativeInfinity, s0 = 0, q0 = 0;
            long nan = 0, inf = 0, zero = 0;
            for (int i = 0; i < n; i++)
            {
                double a = x[i];
                min0 = a < min0 ? a : min0; max0 = a > max0 ? a : max0;
                s0 += a; q0 += a * a;
                nan += double.IsNaN(a) ? 1 : 0;
                inf += double.IsInfinity(a) ? 1 : 0;
                zero += a == 0 ? 1 : 0;
            }
            double mean = s0 / n;
            double m0 = 0, m1 = 0;
            int j = 0;
            for (; j + 2 <= n; j += 2)
            {
                double a = x[j] - mean, b = x[j + 1] - mean;
                m0 += a * a; m1 += b * b;
            }
            for (; j < n; j++) { double a = x[j] - mean; m0 += a * a; }
            return new Moments(n, min0, max0, mean, m0 + m1, s0, q0, nan, inf, zero);
        }

        /// <summary>Count, extremes, sums, mean and Σ(x−mean)² of a set of values, mergeable across blocks and threads.</summary>
        internal readonly struct Moments
        {
            public Moments(long n, double min, double max, double mean, double m2, double sum, double sumSq, long nan, long inf, long zero)
            {
                N = n; Min = min; Max = max; Mean = mean; M2 = m2; Sum = sum; SumSq = sumSq; NaN = nan; Inf = inf; Zero = zero;
            }

            /// <summary>The moments of the same values each repeated <paramref name="r"/> times (expanded views).</summary>
            public Moments Scale(long r) => r == 1 || N == 0 ? this
                : new Moments(N * r, Min, Max, Mean, M2 * r, Sum * r, SumSq * r, NaN * r, Inf * r, Zero * r);

            public static Moments Empty => new Moments(0, double.PositiveInfinity, double.NegativeInfinity, 0, 0, 0, 0, 0, 0, 0);

            public long N { get; }
            public double Min { get; }
            public double Max { get; }
            public double Mean { get; }
            public double M2 { get; }
            /// <summary>Σx: the mean is Sum / N, so ±inf give torch's inf/NaN means.</summary>
            public double Sum { get; }
            public double SumSq { get; }
            public long NaN { get; }
            public long Inf { get; }
            public long Zero { get; }

            /// <summary>Chan, Golub and LeVeque's pairwise update of mean and M2.</summary>
            public static Moments Merge(Moments a, Moments b)
            {
                if (a.N == 0) return b;
                if (b.N == 0) return a;
                long n = a.N + b.N;
                double delta = b.Mean - a.Mean;
                double mean = a.Mean + delta * ((double)b.N / n);
                double m2 = a.M2 + b.M2 + delta * delta * ((double)a.N * b.N / n);
                return new Moments(n, a.Min < b.Min ? a.Min : b.Min, a.Max > b.Max ? a.Max : b.Max, mean, m2,
                    a.Sum + b.Sum, a.SumSq + b.SumSq, a.NaN + b.NaN, a.Inf + b.Inf, a.Zero + b.Zero);
            }
        }
    }
}

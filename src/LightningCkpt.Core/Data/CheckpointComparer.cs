using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using LightningCkpt.Lightning;
using LightningCkpt.Torch;

namespace LightningCkpt.Data
{
    /// <summary>Options of a comparison: torch.allclose tolerances, which tensors, whether Equal rows are emitted.</summary>
    public sealed class CompareOptions
    {
        public double AbsoluteTolerance { get; set; } = 1e-8;
        public double RelativeTolerance { get; set; } = 1e-5;
        public bool IncludeEqual { get; set; }

        /// <summary>Compare every tensor in the file, not only the model weights.</summary>
        public bool AllTensors { get; set; }

        /// <summary>Tensor-name filter (the cmdlet passes PowerShell wildcard matching); null = all.</summary>
        public Func<string, bool>? NameFilter { get; set; }

        /// <summary>Cancellation and bytes read (both files); null = not cancellable.</summary>
        public ReadProgress? Progress { get; set; }

        /// <summary>
        /// The tolerances for a tensor whose dtype changed: at least the rounding of the coarser dtype (twice its unit
        /// roundoff relative, half its smallest subnormal absolute; integers: under 1 from truncation), so an honest
        /// cast is DTypeChanged while a value the cast broke (70000 → float16 inf, a wrapped integer) is Changed.
        /// </summary>
        internal CompareOptions ForCast(DType a, DType b)
        {
            var (atol, rtol) = CastRounding(a);
            var (atol2, rtol2) = CastRounding(b);
            var o = (CompareOptions)MemberwiseClone();
            o.AbsoluteTolerance = Math.Max(AbsoluteTolerance, Math.Max(atol, atol2));
            o.RelativeTolerance = Math.Max(RelativeTolerance, Math.Max(rtol, rtol2));
            return o;
        }

        private static (double atol, double rtol) CastRounding(DType d)
        {
            switch (d.Name)
            {
                case "float64": return (0, 0);
                case "float32": return (Math.Pow(2, -150), Math.Pow(2, -23));
                case "float16": return (Math.Pow(2, -25), Math.Pow(2, -10));
                case "bfloat16": return (Math.Pow(2, -134), Math.Pow(2, -7));
                case "float8_e4m3fn": case "float8_e4m3fnuz": return (Math.Pow(2, -10), Math.Pow(2, -3));
                case "float8_e5m2": case "float8_e5m2fnuz": return (Math.Pow(2, -17), Math.Pow(2, -2));
            }
            return d.Kind == DTypeKind.SignedInt || d.Kind == DTypeKind.UnsignedInt || d.Kind == DTypeKind.Bool ? (1, 0) : (0, 0);
        }
    }

    /// <summary>Progress of a comparison: tensors done of total, and bytes.</summary>
    public readonly struct CompareProgress
    {
        public CompareProgress(int done, int total, string current)
        {
            Done = done;
            Total = total;
            Current = current;
        }

        public int Done { get; }
        public int Total { get; }
        public string Current { get; }
    }

    /// <summary>
    /// Compares two checkpoints tensor by tensor, streaming both files with positional reads in lockstep, block by
    /// block (64K elements converted into two reusable double buffers per thread), so memory stays constant in the
    /// tensor size. Tensor pairs run on every core at once, largest first, and large ones are cut into ranges
    /// (<see cref="PairComparison"/>); the rows come out in name order once every pair is compared.
    /// </summary>
    /// <remarks>
    /// <para>Rows: first metadata rows (Kind "Metadata": epoch, global_step, lightning version, and every
    /// hyperparameter key <c>hyper_parameters.KEY</c>; the NameFilter picks tensors only), then one row per tensor
    /// name (weights by their key; with AllTensors every tensor, others by path): Removed (only in the reference),
    /// Added (only in the difference), ShapeChanged, DTypeChanged (same shape, values within the coarser dtype's
    /// rounding), else Changed (also a dtype change whose values moved further) or Equal.
    /// Equal rows are omitted unless IncludeEqual.</para>
    /// <para>Equal follows torch.allclose(a, b, rtol, atol, equal_nan=False) evaluated in double:
    /// every element satisfies a == b (so +inf matches +inf) or |a − b| is finite and |a − b| ≤ atol + rtol·|b|.
    /// A NaN anywhere makes the tensors not close. Because the test runs in double, narrow dtypes (float32,
    /// float16…) can differ from torch's own-dtype evaluation only for values within one rounding of the bound.
    /// One exception: tensors whose row-major element bytes are identical are Equal even when they hold NaN
    /// (identical bits are the same values); their MaxAbsDiff, MeanAbsDiff and RelativeL2 are 0 and
    /// CosineSimilarity is 1 (null when every byte is zero; a tensor of only −0.0 reports 1). Contiguous tensors are
    /// checked for identical bytes first, which short-circuits the float path.</para>
    /// <para>Numbers: MaxAbsDiff = max|a − b| (NaN when any difference is NaN, e.g. NaN in either tensor or inf −
    /// inf, as torch's (a−b).abs().max()), MeanAbsDiff = mean|a − b|, RelativeL2 = ‖a − b‖₂ / ‖a‖₂ (0 when both are
    /// 0, +inf when only ‖a‖₂ is), CosineSimilarity = a·b / (‖a‖₂‖b‖₂) (null when a norm is 0). Complex tensors are
    /// compared as their real and imaginary parts: every number above runs over the 2·n components, so the
    /// allclose test is per component rather than on complex magnitudes. Quantized tensors are compared as their
    /// dequantize(): per-tensor ones through the element path, per-channel and packed ones (of the same dtype on both
    /// sides) by <see cref="QuantizedValues"/>; dtypes without numeric elements (sub-byte, bits, opaque) are compared by bytes only (Equal or
    /// Changed, no numbers). Empty tensors of equal shape are Equal with no numbers.</para>
    /// <para>Pairs whose both sides are float32 values exactly (float32, float16, bfloat16, bool, 8/16-bit integers,
    /// in any mix) are summed as the float32 they equal by the float32 kernel, so their numbers are bit for bit those of
    /// the same values stored as float32: float32 and bfloat16 sides are read in place (bfloat16 widened in the
    /// kernel's registers, <see cref="IFloatLanes"/>), the others decoded to a float32 block first.</para>
    /// </remarks>
    public static unsafe class CheckpointComparer
    {
        [ThreadStatic] private static double[]? _second;

        public static IEnumerable<CkptDiff> Compare(Checkpoint reference, Checkpoint difference, CompareOptions options, Action<CompareProgress>? progress = null)
        {
            if (reference == null) throw new ArgumentNullException(nameof(reference));
            if (difference == null) throw new ArgumentNullException(nameof(difference));
            options ??= new CompareOptions();
            return Run(reference, difference, options, progress);
        }

        private static IEnumerable<CkptDiff> Run(Checkpoint reference, Checkpoint difference, CompareOptions options, Action<CompareProgress>? progress)
        {
            // the name filter picks tensors; metadata rows stay (Where-Object Kind -eq Tensor drops them)
            foreach (var m in MetadataDiffs(reference, difference))
                if (m.Status != DiffStatus.Equal || options.IncludeEqual) yield return m;

            var left = Index(CkptTensor.List(reference, options.AllTensors));
            var right = Index(CkptTensor.List(difference, options.AllTensors));
            var names = new List<string>();
            foreach (var n in left.Keys) if (options.NameFilter == null || options.NameFilter(n)) names.Add(n);
            foreach (var n in right.Keys) if (!left.ContainsKey(n) && (options.NameFilter == null || options.NameFilter(n))) names.Add(n);

            // every tensor pair is planned first (in name order; a view beyond the limits ends the planning there, as
            // reaching it ends a sequential walk), then all passes run on every core, largest first, and the rows
            // come out in name order
            var jobs = new PairComparison.Job?[names.Count];
            var passes = new List<PairComparison.Pass>();
            ExceptionDispatchInfo? failure = null;
            try
            {
                for (int i = 0; i < names.Count; i++)
                {
                    left.TryGetValue(names[i], out var a);
                    right.TryGetValue(names[i], out var b);
                    jobs[i] = Plan(names[i], a, b, options, passes);
                }
            }
            catch (Exception e) { failure = ExceptionDispatchInfo.Capture(e); }
            var shared = options.Progress ?? new ReadProgress();
            try { ParallelPasses.Run(passes, 0, _ => new PairComparison.Worker(shared), "compare"); }
            catch (Exception e) { failure = ExceptionDispatchInfo.Capture(e); } // a read failure or a stop comes before a planning one
            for (int i = 0; i < names.Count; i++)
            {
                progress?.Invoke(new CompareProgress(i, names.Count, names[i]));
                var job = jobs[i];
                if (job == null || !job.Done) failure!.Throw();
                var d = job!.Row;
                d.ReferencePath = reference.FilePath;
                d.DifferencePath = difference.FilePath;
                if (d.Status != DiffStatus.Equal || options.IncludeEqual) yield return d;
            }
            progress?.Invoke(new CompareProgress(names.Count, names.Count, ""));
        }

        private static Dictionary<string, CkptTensor> Index(List<CkptTensor> list)
        {
            var d = new Dictionary<string, CkptTensor>(StringComparer.Ordinal);
            foreach (var t in list) if (!d.ContainsKey(t.Name)) d.Add(t.Name, t);
            return d;
        }

        /// <summary>
        /// The row of one name: finished at once when no bytes need reading (added, removed, shape changed, no
        /// data…), else a job whose passes are added to <paramref name="passes"/> and which fills the row when its
        /// last pass ends.
        /// </summary>
        private static PairComparison.Job Plan(string name, CkptTensor? a, CkptTensor? b, CompareOptions o, List<PairComparison.Pass> passes)
        {
            var d = new CkptDiff { Kind = "Tensor", Name = name };
            if (a != null) { d.ReferenceShape = a.Shape; d.ReferenceDType = a.DType; }
            if (b != null) { d.DifferenceShape = b.Shape; d.DifferenceDType = b.DType; }
            if (a == null) return Finished(d, DiffStatus.Added);
            if (b == null) return Finished(d, DiffStatus.Removed);
            if (!a.Shape.SequenceEqual(b.Shape)) return Finished(d, DiffStatus.ShapeChanged);
            TensorRef ta = a.Tensor, tb = b.Tensor;
            if (a.DType != b.DType)
            {
                // same shape, another dtype (a float16 export of float32 weights …): the values are still compared,
                // each side read as double, within the coarser dtype's rounding: DTypeChanged when the cast kept them,
                // Changed when it did not (see CompareOptions.ForCast)
                d.Status = DiffStatus.DTypeChanged;
                if (!ta.HasData || !tb.HasData || ta.Numel == 0 || ta.DType.IsComplex != tb.DType.IsComplex) return Finished(d, DiffStatus.DTypeChanged);
                var gx = ViewGeometry.Components(ta);
                var gy = ViewGeometry.Components(tb);
                if (gx == null || gy == null || !QuantizersMatch(ta, tb)) return Finished(d, DiffStatus.DTypeChanged);
                return Numbers(d, ta, tb, gx.Value, gy.Value, o.ForCast(ta.DType, tb.DType), passes, sameDType: false);
            }
            if (!ta.HasData || !tb.HasData) return Finished(d, ta.HasData == tb.HasData ? DiffStatus.Equal : DiffStatus.Changed);
            if (ta.Numel == 0) return Finished(d, DiffStatus.Equal);
            if (QuantizedValues.Handles(ta) && QuantizedValues.Handles(tb)) return new PairComparison.DequantizedJob(d, ta, tb, o, passes);
            var ga = ViewGeometry.Components(ta);
            var gb = ViewGeometry.Components(tb);
            if (ga == null || gb == null || !QuantizersMatch(ta, tb)) return new PairComparison.HashJob(d, ta, tb, passes);
            return Numbers(d, ta, tb, ga.Value, gb.Value, o, passes);
        }

        private static PairComparison.Job Finished(CkptDiff d, DiffStatus status)
        {
            d.Status = status;
            return new PairComparison.Job(d, done: true);
        }

        /// <summary>
        /// The difference numbers from a lockstep pass over both tensors' row-major bytes, cut into ranges of whole
        /// read chunks (see <see cref="PairComparison.NumbersJob"/>). Chunks are first checked for identical bytes;
        /// while every chunk so far is identical no sums are computed. Views that share the same stride-0 (expanded)
        /// dimensions are compared over their distinct elements and the sums scaled.
        /// </summary>
        // sameDType false (a dtype change): bytes say nothing then, so every chunk is summed
        private static PairComparison.Job Numbers(CkptDiff d, TensorRef ta, TensorRef tb, ViewGeometry ga, ViewGeometry gb, CompareOptions o, List<PairComparison.Pass> passes, bool sameDType = true)
        {
            long repeat = 1;
            if (SameExpansion(ta, tb))
            {
                ta = DistinctView.Of(ta, out repeat);
                tb = DistinctView.Of(tb, out _);
            }
            DistinctView.CheckWalkable(ta, FileOf(ta));
            DistinctView.CheckWalkable(tb, FileOf(tb));
            DistinctView.CheckMaterialisable(ta, FileOf(ta), "comparing every element");
            DistinctView.CheckMaterialisable(tb, FileOf(tb), "comparing every element");
            return new PairComparison.NumbersJob(d, ta, tb, Kernel(ga), Kernel(gb), repeat, sameDType, o, passes);
        }

        private static string FileOf(TensorRef t) => t.Storage?.File?.Path ?? "";

        /// <summary>True when both views repeat along the same dimensions (stride 0 with size above 1 on both sides).</summary>
        private static bool SameExpansion(TensorRef a, TensorRef b)
        {
            bool any = false;
            for (int i = 0; i < a.Shape.Length; i++)
            {
                bool ea = a.Stride[i] == 0 && a.Shape[i] > 1, eb = b.Stride[i] == 0 && b.Shape[i] > 1;
                if (ea != eb) return false;
                any |= ea;
            }
            return any;
        }

        /// <summary>The element conversion for row-major bytes: the view's dtype (complex: its component) and dequantization.</summary>
        internal static ViewGeometry Kernel(ViewGeometry g) => new ViewGeometry(g.DType, new long[] { 0 }, new long[] { 1 }, 0, false, g.Scale, g.ZeroPoint);

        /// <summary>
        /// Folds the sums over <paramref name="n"/> numbers of both buffers into <paramref name="total"/>, block by
        /// block: a chunk read in several pieces (each a whole number of blocks) folds exactly as one piece would.
        /// </summary>
        internal static void Sums(byte[] x, byte[] y, int n, in ViewGeometry ka, in ViewGeometry kb, bool float32, CompareOptions o, ref DiffSums total)
        {
            int block = TensorAnalysis.BlockElements;
            fixed (byte* px = x) fixed (byte* py = y)
            {
                if (float32)
                {
                    for (int at = 0; at < n; at += block)
                        total = DiffSums.Merge(total, Block((float*)px + at, (float*)py + at, Math.Min(block, n - at), o.AbsoluteTolerance, o.RelativeTolerance));
                    return;
                }
                var second = _second ??= new double[block];
                int ia = ka.DType.ItemSize, ib = kb.DType.ItemSize;
                fixed (double* bx = TensorAnalysis.Block()) fixed (double* by = second)
                {
                    if (SimdKernels.Available && VectorDecode.ExactInFloat32(ka) && VectorDecode.ExactInFloat32(kb))
                    {
                        // float16/bfloat16/small integers (either side, or float32 against them): compared as the
                        // float32 they equal exactly, by the float32 kernel; a float32 side is read in place
                        bool fa = ReferenceEquals(ka.DType, DType.Float32), fb = ReferenceEquals(kb.DType, DType.Float32);
                        // float32/bfloat16 on both sides: both read in place, bfloat16 widened in the kernel
                        bool lanes = FloatLanes.Of(ka.DType) && FloatLanes.Of(kb.DType);
                        for (int at = 0; at < n; at += block)
                        {
                            int m = Math.Min(block, n - at);
                            if (lanes && m >= SimdKernels.MinElements)
                            {
                                total = DiffSums.Merge(total, BlockLanes(px + (long)at * ia, ka.DType, py + (long)at * ib, kb.DType, m, o.AbsoluteTolerance, o.RelativeTolerance, (float*)bx, (float*)by));
                                continue;
                            }
                            float* xa = fa ? (float*)px + at : (float*)bx, yb = fb ? (float*)py + at : (float*)by;
                            if (!fa) VectorDecode.ToFloat32(px + (long)at * ia, m, ka.DType, xa);
                            if (!fb) VectorDecode.ToFloat32(py + (long)at * ib, m, kb.DType, yb);
                            total = DiffSums.Merge(total, Block(xa, yb, m, o.AbsoluteTolerance, o.RelativeTolerance));
                        }
                        return;
                    }
                    for (int at = 0; at < n; at += block)
                    {
                        int m = Math.Min(block, n - at);
                        VectorDecode.ToDouble(px + (long)at * ia, m, ka, bx);
                        VectorDecode.ToDouble(py + (long)at * ib, m, kb, by);
                        total = DiffSums.Merge(total, Block(bx, by, m, o.AbsoluteTolerance, o.RelativeTolerance));
                    }
                }
            }
        }

        /// <summary>The row for two tensors with the same elements: Equal, no difference, cosine 1 (undefined for zero norm).</summary>
        internal static CkptDiff Identical(CkptDiff d, bool zeroNorm)
        {
            d.Status = DiffStatus.Equal;
            d.MaxAbsDiff = 0; d.MeanAbsDiff = 0; d.RelativeL2 = 0;
            d.CosineSimilarity = zeroNorm ? (double?)null : 1;
            return d;
        }

        private static bool QuantizersMatch(TensorRef a, TensorRef b)
        {
            if (a.DType.Kind != DTypeKind.Quantized) return true;
            return a.Quantizer != null && b.Quantizer != null; // both per-tensor (Components already refused others)
        }

        internal static void FillNumbers(CkptDiff d, DiffSums s)
        {
            d.Status = s.NotClose == 0 ? DiffStatus.Equal : DiffStatus.Changed;
            d.MaxAbsDiff = s.NaNDiff > 0 ? double.NaN : s.MaxAbs;
            d.MeanAbsDiff = s.SumAbs / s.N;
            double na = Math.Sqrt(s.SumA2), nb = Math.Sqrt(s.SumB2), nd = Math.Sqrt(s.SumD2);
            d.RelativeL2 = na == 0 ? (nd == 0 ? 0 : double.IsNaN(nd) ? double.NaN : double.PositiveInfinity) : nd / na;
            d.CosineSimilarity = na == 0 || nb == 0 ? (double?)null : s.SumAB / (na * nb);
        }

        [MethodImpl(SimdKernels.Hot)]
        internal static bool Equal(byte* a, byte* b, long n, out bool nonZero)
        {
            ulong or = 0;
            long i = 0;
            for (; i + 32 <= n; i += 32)
            {
                ulong x0 = *(ulong*)(a + i), x1 = *(ulong*)(a + i + 8), x2 = *(ulong*)(a + i + 16), x3 = *(ulong*)(a + i + 24);
                if (((x0 ^ *(ulong*)(b + i)) | (x1 ^ *(ulong*)(b + i + 8)) | (x2 ^ *(ulong*)(b + i + 16)) | (x3 ^ *(ulong*)(b + i + 24))) != 0)
                {
                    nonZero = true;
                    return false;
                }
                or |= x0 | x1 | x2 | x3;
            }
            for (; i < n; i++)
            {
                if (a[i] != b[i]) { nonZero = true; return false; }
                or |= a[i];
            }
            nonZero = or != 0;
            return true;
        }

        /// <summary>
        /// One block: allclose failures, NaN differences, max/sum of |a−b|, Σ(a−b)², Σa², Σb², Σab. The fast loop
        /// assumes finite values (then |a−b| ≤ atol + rtol·|b| is exactly torch's test); a block whose sums come out
        /// NaN or infinite is redone by the exact loop, which also handles inf == inf and counts NaN differences.
        /// </summary>
        internal static DiffSums Block(double* x, double* y, int n, double atol, double rtol) =>
            TryBlockRun(new DoubleRun(x), new DoubleRun(y), n, atol, rtol, 0, 0, 0, 0, 0, 0, 0, 0, out var s) ? s : BlockExact(new DoubleRun(x), new DoubleRun(y), n, atol, rtol);

        /// <summary>The same for float32 read straight from the stored floats; the vector kernel takes the bulk.</summary>
        internal static DiffSums Block(float* x, float* y, int n, double atol, double rtol)
        {
            if (SimdKernels.Available && n >= SimdKernels.MinElements) return BlockFloat32(x, y, n, atol, rtol);
            return TryBlockRun(new FloatRun(x), new FloatRun(y), n, atol, rtol, 0, 0, 0, 0, 0, 0, 0, 0, out var s) ? s : BlockExact(new FloatRun(x), new FloatRun(y), n, atol, rtol);
        }

        // the lane sources are named only in methods that run when SimdKernels.Available (see IFloatLanes)
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static DiffSums BlockFloat32(float* x, float* y, int n, double atol, double rtol) =>
            TryBlock(new Float32Lanes(x), new Float32Lanes(y), n, atol, rtol, out var s) ? s : BlockExact(new FloatRun(x), new FloatRun(y), n, atol, rtol);

        /// <summary>
        /// A block of float32/bfloat16 elements on each side (n ≥ <see cref="SimdKernels.MinElements"/>, kernels available),
        /// summed straight from the stored bytes: the sums of the decoded floats through
        /// <see cref="Block(float*, float*, int, double, double)"/>, bit for bit. The scratch blocks (n floats each)
        /// take the decoded floats of a block that needs the exact loop.
        /// </summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        internal static DiffSums BlockLanes(byte* x, DType dx, byte* y, DType dy, int n, double atol, double rtol, float* scratchX, float* scratchY)
        {
            bool fast;
            DiffSums s;
            switch (dx.ScalarTypeId)
            {
                case 15: fast = TryBlockLanes(new BFloat16Lanes((ushort*)x), y, dy, n, atol, rtol, out s); break;
                default: fast = TryBlockLanes(new Float32Lanes((float*)x), y, dy, n, atol, rtol, out s); break;
            }
            if (fast) return s;
            // NaN/±inf (rare blocks): the exact loop over the decoded floats, the very loop the float32 path redoes them
            // with, so even the NaN a sum carries (which depends on the loop's code) is the same
            float* fx = (float*)x, fy = (float*)y;
            if (dx.ScalarTypeId != 6) VectorDecode.ToFloat32(x, n, dx, fx = scratchX);
            if (dy.ScalarTypeId != 6) VectorDecode.ToFloat32(y, n, dy, fy = scratchY);
            return BlockExact(new FloatRun(fx), new FloatRun(fy), n, atol, rtol);
        }

        private static bool TryBlockLanes<LA>(LA x, byte* y, DType dy, int n, double atol, double rtol, out DiffSums s) where LA : struct, IFloatLanes
        {
            switch (dy.ScalarTypeId)
            {
                case 15: return TryBlock(x, new BFloat16Lanes((ushort*)y), n, atol, rtol, out s);
                default: return TryBlock(x, new Float32Lanes((float*)y), n, atol, rtol, out s);
            }
        }

        /// <summary>The vector kernel over two lane sources and its scalar tail; false when the block needs the exact loop.</summary>
        private static bool TryBlock<LA, LB>(LA x, LB y, int n, double atol, double rtol, out DiffSums s) where LA : struct, IFloatLanes where LB : struct, IFloatLanes
        {
            SimdKernels.Differences(x, y, n, atol, rtol, out var mx, out var sa, out var d2, out var a2, out var b2, out var ab, out var bad, out int done);
            return TryBlockRun(x, y, n, atol, rtol, done, mx, sa, d2, a2, b2, ab, bad, out s);
        }

        /// <summary>The scalar loop from <paramref name="start"/>, continuing sums a vector kernel may have begun; false when the block needs the exact loop.</summary>
        private static bool TryBlockRun<TA, TB>(TA x, TB y, int n, double atol, double rtol, int start,
            double mx0, double sa0, double d20, double a20, double b20, double ab0, long bad, out DiffSums s) where TA : struct, IElementRun where TB : struct, IElementRun
        {
            double mx1 = 0, sa1 = 0, d21 = 0, a21 = 0, b21 = 0, ab1 = 0;
            int i = start;
            for (; i + 2 <= n; i += 2)
            {
                double a = x[i], b = y[i], c = x[i + 1], e = y[i + 1];
                double d = a - b, f = c - e;
                double ad = Math.Abs(d), af = Math.Abs(f);
                mx0 = ad > mx0 ? ad : mx0; mx1 = af > mx1 ? af : mx1;
                sa0 += ad; sa1 += af;
                d20 += d * d; d21 += f * f;
                a20 += a * a; a21 += c * c;
                b20 += b * b; b21 += e * e;
                ab0 += a * b; ab1 += c * e;
                bad += (ad <= atol + rtol * Math.Abs(b) ? 0 : 1) + (af <= atol + rtol * Math.Abs(e) ? 0 : 1);
            }
            if (i < n)
            {
                double a = x[i], b = y[i], d = a - b, ad = Math.Abs(d);
                mx0 = ad > mx0 ? ad : mx0; sa0 += ad; d20 += d * d; a20 += a * a; b20 += b * b; ab0 += a * b;
                bad += ad <= atol + rtol * Math.Abs(b) ? 0 : 1;
            }
            double check = sa0 + sa1 + d20 + d21 + a20 + a21 + b20 + b21 + ab0 + ab1;
            if (double.IsNaN(check) || double.IsInfinity(check))
            {
                s = default;
                return false;
            }
            s = new DiffSums(n, bad, 0, Math.Max(mx0, mx1), sa0 + sa1, d20 + d21, a20 + a21, b20 + b21, ab0 + ab1);
            return true;
        }

        private static DiffSums BlockExact<T>(T x, T y, int n, double atol, double rtol) where T : struct, IElementRun
        {
            double maxAbs = 0, sumAbs = 0, d2 = 0, a2 = 0, b2 = 0, ab = 0;
            long notClose = 0, nan = 0;
            for (int i = 0; i < n; i++)
            {
                double a = x[i], b = y[i];
                double d = a - b;
                double ad = Math.Abs(d);
                maxAbs = ad > maxAbs ? ad : maxAbs;
                sumAbs += ad; d2 += d * d; a2 += a * a; b2 += b * b; ab += a * b;
                bool close = a == b || (ad <= atol + rtol * Math.Abs(b) && ad < double.PositiveInfinity);
                notClose += close ? 0 : 1;
                nan += double.IsNaN(ad) ? 1 : 0;
            }
            return new DiffSums(n, notClose, nan, maxAbs, sumAbs, d2, a2, b2, ab);
        }

        internal readonly struct DiffSums
        {
            public DiffSums(long n, long notClose, long nan, double maxAbs, double sumAbs, double sumD2, double sumA2, double sumB2, double sumAB)
            {
                N = n; NotClose = notClose; NaNDiff = nan; MaxAbs = maxAbs; SumAbs = sumAbs; SumD2 = sumD2; SumA2 = sumA2; SumB2 = sumB2; SumAB = sumAB;
            }

            public long N { get; }
            public long NotClose { get; }
            public long NaNDiff { get; }
            public double MaxAbs { get; }
            public double SumAbs { get; }
            public double SumD2 { get; }
            public double SumA2 { get; }
            public double SumB2 { get; }
            public double SumAB { get; }

            /// <summary>The sums of the same pairs each repeated <paramref name="r"/> times (shared expansion).</summary>
            public DiffSums Scale(long r) => r == 1 ? this
                : new DiffSums(N * r, NotClose * r, NaNDiff * r, MaxAbs, SumAbs * r, SumD2 * r, SumA2 * r, SumB2 * r, SumAB * r);

            public static DiffSums Merge(DiffSums a, DiffSums b) => new DiffSums(a.N + b.N, a.NotClose + b.NotClose, a.NaNDiff + b.NaNDiff,
                Math.Max(a.MaxAbs, b.MaxAbs), a.SumAbs + b.SumAbs, a.SumD2 + b.SumD2, a.SumA2 + b.SumA2, a.SumB2 + b.SumB2, a.SumAB + b.SumAB);
        }

        // ---- metadata ----

        internal static IEnumerable<CkptDiff> MetadataDiffs(Checkpoint reference, Checkpoint difference)
        {
            var va = reference.View;
            var vb = difference.View;
            yield return Meta("epoch", Text(va.Epoch), Text(vb.Epoch), reference, difference);
            yield return Meta("global_step", Text(va.GlobalStep), Text(vb.GlobalStep), reference, difference);
            yield return Meta("pytorch-lightning_version", va.LightningVersion, vb.LightningVersion, reference, difference);
            var ha = Flatten(va.HyperParameters);
            var hb = Flatten(vb.HyperParameters);
            foreach (var kv in ha)
            {
                // equal by structure, not by the (capped) text: linear on shared sub-lists, exact beyond the cap
                bool kept = hb.TryGetValue(kv.Key, out var v);
                var status = !kept ? DiffStatus.Removed : RenderedValue.Equal(kv.Value, v) ? DiffStatus.Equal : DiffStatus.Changed;
                yield return Meta("hyper_parameters." + kv.Key, Text(kv.Value), kept ? Text(v) : null, reference, difference, status);
            }
            foreach (var kv in hb)
                if (!ha.ContainsKey(kv.Key)) yield return Meta("hyper_parameters." + kv.Key, null, Text(kv.Value), reference, difference, DiffStatus.Added);
            foreach (var row in Settings(OptimizerSettings(va), OptimizerSettings(vb), reference, difference)) yield return row;
            foreach (var row in Settings(SchedulerSettings(va), SchedulerSettings(vb), reference, difference)) yield return row;
        }

        /// <summary>Rows for named settings on either side: Equal, Changed, Added or Removed, in the reference's order.</summary>
        private static IEnumerable<CkptDiff> Settings(List<KeyValuePair<string, object?>> a, List<KeyValuePair<string, object?>> b, Checkpoint ra, Checkpoint rb)
        {
            var bByName = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var kv in b) bByName[kv.Key] = kv.Value;
            var aNames = new HashSet<string>(StringComparer.Ordinal);
            foreach (var kv in a)
            {
                aNames.Add(kv.Key);
                bool kept = bByName.TryGetValue(kv.Key, out var v);
                var status = !kept ? DiffStatus.Removed : RenderedValue.Equal(kv.Value, v) ? DiffStatus.Equal : DiffStatus.Changed;
                yield return Meta(kv.Key, Text(kv.Value), kept ? Text(v) : null, ra, rb, status);
            }
            foreach (var kv in b)
                if (!aNames.Contains(kv.Key)) yield return Meta(kv.Key, null, Text(kv.Value), ra, rb, DiffStatus.Added);
        }

        /// <summary>Every optimizer's param-group settings (lr, betas, weight_decay …; not the params indices), by their path.</summary>
        private static List<KeyValuePair<string, object?>> OptimizerSettings(CheckpointView v)
        {
            var result = new List<KeyValuePair<string, object?>>();
            foreach (var o in v.Optimizers)
                for (int g = 0; g < o.ParamGroupStates.Count; g++)
                    foreach (var e in o.ParamGroupStates[g])
                        if (e.Key is string k && k != "params")
                            result.Add(new KeyValuePair<string, object?>($"optimizer_states.{o.Index}.param_groups.{g}.{k}", e.Value));
            return result;
        }

        /// <summary>Every LR scheduler's plain settings (last_epoch, _last_lr, T_max …; not tensors or objects), by their path.</summary>
        private static List<KeyValuePair<string, object?>> SchedulerSettings(CheckpointView v)
        {
            var result = new List<KeyValuePair<string, object?>>();
            foreach (var s in v.LrSchedulers)
                if (s.State != null)
                    foreach (var e in s.State)
                        if (e.Key is string k && IsPlain(e.Value))
                            result.Add(new KeyValuePair<string, object?>($"lr_schedulers.{s.Index}.{k}", e.Value));
            return result;
        }

        private static bool IsPlain(object? v) => v switch
        {
            null or string or long or double or bool => true,
            Pickle.PyList l => l.Count <= 64 && l.All(IsPlain),
            Pickle.PyTuple t => t.Count <= 64 && t.All(IsPlain),
            _ => false,
        };

        private static CkptDiff Meta(string name, string? a, string? b, Checkpoint ra, Checkpoint rb, DiffStatus? status = null)
        {
            DiffStatus st = status ?? (a == b ? DiffStatus.Equal : a == null ? DiffStatus.Added : b == null ? DiffStatus.Removed : DiffStatus.Changed);
            return new CkptDiff { Kind = "Metadata", Name = name, Status = st, ReferenceValue = a, DifferenceValue = b, ReferencePath = ra.FilePath, DifferencePath = rb.FilePath };
        }

        private static Dictionary<string, object?> Flatten(object? hparams)
        {
            var result = new Dictionary<string, object?>(StringComparer.Ordinal);
            var rendered = HyperParameterRenderer.Render(hparams);
            if (rendered == null) return result;
            foreach (DictionaryEntry e in (IDictionary)rendered) result[System.Convert.ToString(e.Key, CultureInfo.InvariantCulture) ?? ""] = e.Value;
            return result;
        }

        /// <summary>A metadata value as a row shows it, capped on shared sub-graphs (<see cref="RenderedValue.LiteralText"/>).</summary>
        internal static string? Text(object? v) => RenderedValue.LiteralText(v);
    }
}

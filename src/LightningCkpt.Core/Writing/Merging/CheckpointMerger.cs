using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using LightningCkpt.Data;
using LightningCkpt.Lightning;
using LightningCkpt.Torch;

namespace LightningCkpt.Writing.Merging
{
    /// <summary>
    /// The streaming merge driver behind Merge-CkptWeights: checks that the inputs (and the base) hold the same
    /// names, shapes and dtypes, then writes one tensor at a time, each read in aligned windows of every input (a few
    /// windows in memory whatever the number of inputs), computed in float64 by the method's
    /// <see cref="MergeStrategy"/> and cast back to the tensor's dtype as torch's <c>.to(dtype)</c> does. Integer,
    /// bool and complex tensors, and those the filter leaves out, are copied from the first input (the base for base
    /// methods), with a warning when the inputs' integer/bool values differ.
    /// </summary>
    public static class CheckpointMerger
    {
        /// <summary>Elements per block decoded to float64 for a strategy.</summary>
        private const int Block = 1024;

        /// <summary>Bytes of input read per window and slot for all inputs together: 3 slots in flight stay under 24 MB.</summary>
        private const int WindowBudget = 8 << 20;

        /// <returns>The number of tensors written.</returns>
        public static int Merge(IReadOnlyList<Checkpoint> inputs, MergeRequest request, string outFile, WeightsFileFormat format, bool overwrite)
        {
            if (inputs == null || inputs.Count == 0) throw new ArgumentException("at least one checkpoint is required");
            if (request == null) throw new ArgumentNullException(nameof(request));
            int n = inputs.Count;
            CheckRequest(request, n);

            var parts = new List<Checkpoint>(inputs);
            if (request.UsesBase) parts.Add(request.Base!);
            var reference = request.UsesBase ? request.Base! : inputs[0];
            var lists = parts.Select(c => WeightSelection.WeightsOf(c, request.Source)).ToList();
            int referenceIndex = request.UsesBase ? n : 0;
            var referenceList = lists[referenceIndex];
            var maps = CheckAligned(parts, lists, referenceIndex);

            using var pool = new ReaderPool(request.Progress);
            var outs = new List<OutTensor>();
            // one set of window buffers for every tensor (the writer runs the producers one after another): multi-MB
            // arrays per tensor would be garbage piling up on the large-object heap between full collections
            var buffers = new WindowBuffers(parts.Count);
            // TIES' top-k selections, one per input, reused by every tensor for the same reason; their candidate
            // keys share one budget (8 MB) whatever the number of inputs
            var topK = request.Method == MergeMethod.Ties
                ? Enumerable.Range(0, n).Select(_ => new MagnitudeThreshold(MagnitudeThreshold.DefaultCandidateLimit / n)).ToArray() : null;
            foreach (var nt in referenceList)
            {
                var t0 = nt.Tensor;
                bool floating = t0.DType.Kind == DTypeKind.Float || t0.DType.Kind == DTypeKind.BFloat || t0.DType.Kind == DTypeKind.Float8;
                if (!floating)
                {
                    WarnIfDifferent(nt.Name, parts, maps, referenceIndex, pool, request.Warn);
                    outs.Add(OutTensor.FromSource(nt.Name, reference, t0));
                    continue;
                }
                if (request.Filter != null && !request.Filter(nt.Name))
                {
                    outs.Add(OutTensor.FromSource(nt.Name, reference, t0));
                    continue;
                }
                if (!ElementEncoder.CanEncode(t0.DType))
                    throw new WeightsRequestException(WeightsRequestProblem.DTypeNotWritable, $"'{nt.Name}' is {t0.DType.Name}; merging into that dtype is not supported");
                var tensors = new TensorRef[parts.Count];
                for (int k = 0; k < parts.Count; k++) tensors[k] = maps[k][nt.Name];
                var weights = WeightsFor(nt.Name, request, n);
                string name = nt.Name;
                outs.Add(OutTensor.FromProducer(name, t0.DType, t0.Shape, false, sink =>
                {
                    var readers = parts.Select(pool.Get).ToArray();
                    buffers.Fit(FullWindow(tensors) * t0.DType.ItemSize, WindowBytes(tensors));
                    if (request.Method == MergeMethod.Linear) Linear(tensors, readers, weights, request.Weights == null && Matching(name, request) == null ? n : 1, pool, sink, buffers);
                    else Strategy(tensors, readers, NewStrategy(name, request, weights, t0.Numel, topK), pool, sink, buffers);
                }));
            }

            string description = $"{request.Method} of " + string.Join(", ", parts.Select(c => Remote.RemoteUrl.FileNameOf(c.FilePath)));
            var sources = parts.SelectMany(OutputGuard.FilesOf).Distinct().ToArray(); // every file of every input
            WeightSelection.WriteFile(outFile, overwrite, sources, outs, format, request.KeepMetadata ? inputs[0] : null, description, request.Warn, pool,
                request.Progress?.Cancellation ?? default);
            return outs.Count;
        }

        private static void CheckRequest(MergeRequest r, int n)
        {
            string method = r.Method.ToString();
            if (r.Method == MergeMethod.Slerp && n != 2) throw new ArgumentException($"Slerp merges exactly two checkpoints; {n} were given");
            if (r.UsesBase && r.Base == null) throw new ArgumentException($"{method} needs a base model (-BasePath): the task vectors are each input minus the base");
            if (!r.UsesBase && r.Base != null) throw new ArgumentException($"{method} takes no base model; -BasePath is for TaskArithmetic, Ties, Dare and DareTies");
            if (r.UsesDensity)
            {
                if (r.Density is not double d) throw new ArgumentException($"{method} needs -Density, the fraction of each task vector kept (0 < d ≤ 1)");
                if (!(d > 0 && d <= 1)) throw new ArgumentException($"-Density must be in (0, 1]; it is {d:R}");
            }
            else if (r.Density != null) throw new ArgumentException($"{method} takes no -Density; it is for Ties, Dare and DareTies");
            if (double.IsNaN(r.Scale) || double.IsInfinity(r.Scale)) throw new ArgumentException("-Scale must be a finite number");
            if (r.Weights != null) CheckWeights(r, r.Weights, n, "-Weight");
            foreach (var rule in r.WeightMap) CheckWeights(r, rule.Weights, n, $"-WeightMap '{rule.Pattern}'");
        }

        private static void CheckWeights(MergeRequest r, IReadOnlyList<double> w, int n, string what)
        {
            int expected = r.Method == MergeMethod.Slerp ? 1 : n;
            if (w.Count != expected)
                throw new ArgumentException(r.Method == MergeMethod.Slerp
                    ? $"{what} has {w.Count} values; Slerp takes one, the interpolation factor t"
                    : $"{what} has {w.Count} values but {n} checkpoints were given; give one weight per checkpoint");
            if (w.Any(x => double.IsNaN(x) || double.IsInfinity(x))) throw new ArgumentException($"{what}: weights must be finite numbers");
            if (r.Method == MergeMethod.Linear)
            {
                double sum = w.Sum();
                if (Math.Abs(sum - 1) > 1e-6) throw new ArgumentException($"{what}: weights must sum to 1 (they sum to {sum:R}); they are used as given, not normalised");
            }
        }

        private static WeightRule? Matching(string name, MergeRequest r) => r.WeightMap.FirstOrDefault(rule => rule.Matches(name));

        /// <summary>The weights of tensor <paramref name="name"/>: the first matching -WeightMap rule, else -Weight, else the method's default.</summary>
        private static double[] WeightsFor(string name, MergeRequest r, int n)
        {
            var w = Matching(name, r)?.Weights ?? r.Weights;
            if (w != null) return w.ToArray();
            return r.Method switch
            {
                MergeMethod.Slerp => new[] { 0.5 },
                MergeMethod.Linear => Enumerable.Repeat(1.0, n).ToArray(), // summed, then divided by n like torch's mean
                _ => Enumerable.Repeat(1.0, n).ToArray(),
            };
        }

        private static MergeStrategy NewStrategy(string name, MergeRequest r, double[] w, long numel, MagnitudeThreshold[]? topK)
        {
            switch (r.Method)
            {
                case MergeMethod.Slerp: return new SlerpStrategy(w[0]);
                case MergeMethod.TaskArithmetic: return new TaskVectorStrategy(w, r.Scale, false, null, 0, numel, null, 1);
                case MergeMethod.Ties: return new TaskVectorStrategy(w, r.Scale, true, topK, r.Density!.Value, numel, null, 1);
                case MergeMethod.Dare:
                case MergeMethod.DareTies:
                    var dare = new DareGenerator[w.Length];
                    for (int i = 0; i < dare.Length; i++) dare[i] = new DareGenerator(r.Seed, name, i, r.Density!.Value);
                    return new TaskVectorStrategy(w, r.Scale, r.Method == MergeMethod.DareTies, null, 0, numel, dare, r.Density!.Value);
                default: throw new ArgumentOutOfRangeException(nameof(r));
            }
        }

        /// <summary>Every part has the reference's names with the same shapes and dtypes, and no others; the error names the first mismatch.</summary>
        private static List<Dictionary<string, TensorRef>> CheckAligned(List<Checkpoint> parts, List<IReadOnlyList<NamedTensor>> lists, int referenceIndex)
        {
            var reference = parts[referenceIndex];
            var maps = new List<Dictionary<string, TensorRef>>();
            foreach (var list in lists)
            {
                var map = new Dictionary<string, TensorRef>(StringComparer.Ordinal);
                foreach (var nt in list) map[nt.Name] = nt.Tensor;
                maps.Add(map);
            }
            var referenceMap = maps[referenceIndex];
            foreach (var nt in lists[referenceIndex])
            {
                var t0 = nt.Tensor;
                // sparse, nested, meta, quantized and storage-less subclass tensors are not a storage plus a view
                if (WeightSelection.NotWritable(t0) is { } why) throw new WeightsRequestException(WeightsRequestProblem.TensorNotWritable, $"'{nt.Name}' of '{reference.FilePath}' {why}");
                for (int k = 0; k < parts.Count; k++)
                {
                    if (k == referenceIndex) continue;
                    if (!maps[k].TryGetValue(nt.Name, out var tk))
                        throw new WeightsRequestException(WeightsRequestProblem.MergeMismatch, $"'{nt.Name}' is in '{reference.FilePath}' but missing from '{parts[k].FilePath}'");
                    if (!ReferenceEquals(tk.DType, t0.DType) || !tk.Shape.SequenceEqual(t0.Shape))
                        throw new WeightsRequestException(WeightsRequestProblem.MergeMismatch, $"'{nt.Name}' is {tk.DType.Name} [{string.Join(", ", tk.Shape)}] in '{parts[k].FilePath}' but {t0.DType.Name} [{string.Join(", ", t0.Shape)}] in '{reference.FilePath}'");
                    if (WeightSelection.NotWritable(tk) is { } whyK) throw new WeightsRequestException(WeightsRequestProblem.TensorNotWritable, $"'{nt.Name}' of '{parts[k].FilePath}' {whyK}");
                }
            }
            for (int k = 0; k < parts.Count; k++)
            {
                var extra = lists[k].FirstOrDefault(x => !referenceMap.ContainsKey(x.Name));
                if (extra != null) throw new WeightsRequestException(WeightsRequestProblem.MergeMismatch, $"'{extra.Name}' is in '{parts[k].FilePath}' but missing from '{reference.FilePath}'");
            }
            return maps;
        }

        private static void WarnIfDifferent(string name, List<Checkpoint> parts, List<Dictionary<string, TensorRef>> maps, int referenceIndex, ReaderPool pool, Action<string>? warn)
        {
            if (parts.Count < 2) return;
            string h0 = pool.Get(parts[referenceIndex]).Sha256(maps[referenceIndex][name]);
            for (int k = 0; k < parts.Count; k++)
            {
                if (k == referenceIndex) continue;
                if (pool.Get(parts[k]).Sha256(maps[k][name]) != h0)
                {
                    var t = maps[referenceIndex][name];
                    warn?.Invoke($"'{name}' ({t.DType.Name}) differs between the inputs; taken from '{parts[referenceIndex].FilePath}'");
                    return;
                }
            }
        }

        /// <summary>Bytes of each part read per window: the budget shared by the parts, whole elements, at most one read chunk.</summary>
        private static int WindowBytes(TensorRef[] parts)
        {
            int item = parts[0].DType.ItemSize;
            return Math.Min(Limits.ReadChunkBytes, Math.Max(item, WindowBudget / parts.Length / item * item));
        }

        /// <summary>Elements of this tensor per window: a whole window, or the whole tensor when smaller (most weights are small).</summary>
        private static int FullWindow(TensorRef[] parts) => (int)Math.Min(parts[0].Numel, WindowBytes(parts) / parts[0].DType.ItemSize);

        private unsafe delegate void WindowAction(long start, int count, byte*[] at);

        /// <summary>
        /// Streams aligned windows of every part in row-major order: a read-ahead worker reads window i+1 of every
        /// part (each by its own reader; parts in parallel when they are different files) while this thread handles
        /// window i. Progress counts the bytes of the output pass only.
        /// </summary>
        private static unsafe void Windows(TensorRef[] parts, TensorDataReader[] readers, WindowBuffers buffers, bool countProgress, CancellationToken cancel, WindowAction act)
        {
            var t0 = parts[0];
            int item = t0.DType.ItemSize;
            long numel = t0.Numel;
            if (numel == 0) return;
            foreach (var p in parts) DistinctView.CheckMaterialisable(p, p.Storage?.File?.Path ?? "", "merging every element");
            // a reader is not shared across threads, so the same checkpoint given twice is read in turn
            bool parallel = parts.Length > 1 && Environment.ProcessorCount > 1 && readers.Distinct().Count() == readers.Length;
            long window = FullWindow(parts);
            long windows = (numel + window - 1) / window;
            int Count(long i) => (int)Math.Min(window, numel - i * window);
            var at = new byte*[parts.Length];
            ReadAhead.Run(windows, buffers.Slots,
                (i, slot) =>
                {
                    int m = Count(i);
                    if (parallel) System.Threading.Tasks.Parallel.For(0, parts.Length, k => readers[k].ReadElements(parts[k], i * window, m, slot[k]));
                    else for (int k = 0; k < parts.Length; k++) readers[k].ReadElements(parts[k], i * window, m, slot[k]);
                },
                (i, slot) =>
                {
                    int m = Count(i);
                    var handles = new System.Runtime.InteropServices.GCHandle[slot.Length];
                    try
                    {
                        for (int k = 0; k < slot.Length; k++)
                        {
                            handles[k] = System.Runtime.InteropServices.GCHandle.Alloc(slot[k], System.Runtime.InteropServices.GCHandleType.Pinned);
                            at[k] = (byte*)handles[k].AddrOfPinnedObject();
                        }
                        act(i * window, m, at);
                    }
                    finally
                    {
                        foreach (var h in handles) if (h.IsAllocated) h.Free();
                    }
                    if (countProgress) for (int k = 0; k < parts.Length; k++) readers[k].Progress.Advance((long)m * item);
                },
                cancel);
        }

        /// <summary>The weighted mean, on the stored bytes (<see cref="WeightedMean"/>: vector paths, bit for bit the scalar ones).</summary>
        private static unsafe void Linear(TensorRef[] parts, TensorDataReader[] readers, double[] w, double divide, ReaderPool pool, Action<byte[], int> sink, WindowBuffers buffers)
        {
            var dtype = parts[0].DType;
            int item = dtype.ItemSize;
            var buffer = buffers.Output;
            Windows(parts, readers, buffers, true, pool.Progress.Cancellation, (start, m, at) =>
            {
                fixed (byte* o = buffer) WeightedMean.Compute(at, w, divide, dtype, m, o);
                sink(buffer, m * item);
            });
        }

        /// <summary>A strategy's reduction passes, then its output pass, in float64 blocks.</summary>
        private static unsafe void Strategy(TensorRef[] parts, TensorDataReader[] readers, MergeStrategy strategy, ReaderPool pool, Action<byte[], int> sink, WindowBuffers buffers)
        {
            var dtype = parts[0].DType;
            int item = dtype.ItemSize;
            var g = new ViewGeometry(dtype, new long[] { 1 }, new long[] { 1 }, 0, false);
            var scratch = new double[(parts.Length + 1) * Block];
            var buffer = buffers.Output;
            var cancel = pool.Progress.Cancellation;
            var x = new double*[parts.Length];
            fixed (double* s = scratch)
            {
                double* result = s + parts.Length * Block;
                for (int k = 0; k < parts.Length; k++) x[k] = s + k * Block;
                void Decode(long start, int count, byte*[] at, Action<long, int> blockAction)
                {
                    for (int b = 0; b < count; b += Block)
                    {
                        int m = Math.Min(Block, count - b);
                        for (int k = 0; k < parts.Length; k++) VectorDecode.ToDouble(at[k] + (long)b * item, m, g, x[k]);
                        blockAction(start + b, b);
                    }
                }
                for (int pass = 0; strategy.NeedsPass(pass); pass++)
                {
                    int p = pass;
                    Windows(parts, readers, buffers, false, cancel, (start, count, at) =>
                        Decode(start, count, at, (blockStart, b) => strategy.Reduce(p, blockStart, Math.Min(Block, count - b), x)));
                    strategy.EndPass(pass);
                }
                Windows(parts, readers, buffers, true, cancel, (start, count, at) =>
                {
                    fixed (byte* o = buffer)
                    {
                        byte* dst = o;
                        Decode(start, count, at, (blockStart, b) =>
                        {
                            int m = Math.Min(Block, count - b);
                            strategy.Combine(blockStart, m, x, result);
                            ElementCast.Encode(result, m, dtype, dst + (long)b * item);
                        });
                    }
                    sink(buffer, count * item);
                });
            }
        }
    }
}

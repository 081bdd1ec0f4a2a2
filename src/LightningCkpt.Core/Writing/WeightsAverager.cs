using System;
using System.Collections.Generic;
using System.Linq;
using LightningCkpt.Data;
using LightningCkpt.Torch;

namespace LightningCkpt.Writing
{
    /// <summary>
    /// Averages N checkpoints tensor by tensor (float64 accumulation) into one file: a plain state dict
    /// (OrderedDict name → tensor) or safetensors. Every input must have the same weight names with the same shapes
    /// and dtypes. Weights are used as given and must sum to 1 (±1e-6); null means uniform 1/N. Floating tensors
    /// (float16/bfloat16/float32/float64, float8 e4m3fn/e5m2) are averaged and cast back to their dtype the way
    /// torch's <c>.to(dtype)</c> does; integer, bool and complex tensors are taken from the first input, with a
    /// warning when the inputs differ.
    /// </summary>
    public static class WeightsAverager
    {
        private const int Window = 1 << 20; // elements per streamed slice of a contiguous tensor

        public static void Merge(IReadOnlyList<Checkpoint> inputs, IReadOnlyList<double>? weights, string outFile, WeightsFileFormat format, bool overwrite, Action<string>? warn,
            Data.ReadProgress? progress = null)
        {
            if (inputs == null || inputs.Count == 0) throw new ArgumentException("at least one checkpoint is required", nameof(inputs));
            int n = inputs.Count;
            double[] w;
            double divide = 1;
            if (weights == null) { w = Enumerable.Repeat(1.0, n).ToArray(); divide = n; } // sum then divide, like torch's mean
            else
            {
                if (weights.Count != n) throw new ArgumentException($"{weights.Count} weights given for {n} checkpoints", nameof(weights));
                w = weights.ToArray();
                if (w.Any(x => double.IsNaN(x) || double.IsInfinity(x))) throw new ArgumentException("weights must be finite numbers", nameof(weights));
                double sum = w.Sum();
                if (Math.Abs(sum - 1) > 1e-6) throw new ArgumentException($"weights must sum to 1 (they sum to {sum:R}); they are used as given, not normalised", nameof(weights));
            }

            var first = inputs[0].View.Weights;
            if (first.Count == 0) throw new WeightsRequestException(WeightsRequestProblem.NoWeightsSelected, $"'{inputs[0].FilePath}' holds no model weights");
            var maps = new List<Dictionary<string, TensorRef>>();
            for (int k = 0; k < n; k++)
            {
                var map = new Dictionary<string, TensorRef>(StringComparer.Ordinal);
                foreach (var nt in inputs[k].View.Weights) map[nt.Name] = nt.Tensor;
                maps.Add(map);
            }
            foreach (var nt in first)
            {
                var t0 = nt.Tensor;
                if (!t0.HasData) throw new WeightsRequestException(WeightsRequestProblem.TensorNotWritable, $"'{nt.Name}' has no data in '{inputs[0].FilePath}'");
                for (int k = 1; k < n; k++)
                {
                    if (!maps[k].TryGetValue(nt.Name, out var tk))
                        throw new WeightsRequestException(WeightsRequestProblem.MergeMismatch, $"'{nt.Name}' is missing from '{inputs[k].FilePath}'");
                    if (!ReferenceEquals(tk.DType, t0.DType) || !tk.Shape.SequenceEqual(t0.Shape))
                        throw new WeightsRequestException(WeightsRequestProblem.MergeMismatch, $"'{nt.Name}' is {tk.DType.Name} [{string.Join(", ", tk.Shape)}] in '{inputs[k].FilePath}' but {t0.DType.Name} [{string.Join(", ", t0.Shape)}] in '{inputs[0].FilePath}'");
                    if (!tk.HasData) throw new WeightsRequestException(WeightsRequestProblem.TensorNotWritable, $"'{nt.Name}' has no data in '{inputs[k].FilePath}'");
                }
            }
            for (int k = 1; k < n; k++)
            {
                var extra = inputs[k].View.Weights.FirstOrDefault(x => !maps[0].ContainsKey(x.Name));
                if (extra != null) throw new WeightsRequestException(WeightsRequestProblem.MergeMismatch, $"'{extra.Name}' is in '{inputs[k].FilePath}' but missing from '{inputs[0].FilePath}'");
            }

            using var pool = new ReaderPool(progress);
            var outs = new List<OutTensor>();
            // one output buffer for every tensor (the writer runs the producers one after another): a 4 MB array
            // per large tensor would be garbage piling up on the large-object heap between full collections
            byte[] output = Array.Empty<byte>();
            foreach (var nt in first)
            {
                var t0 = nt.Tensor;
                bool average = (t0.DType.Kind == DTypeKind.Float || t0.DType.Kind == DTypeKind.BFloat || t0.DType.Kind == DTypeKind.Float8);
                if (average && !ElementEncoder.CanEncode(t0.DType))
                    throw new WeightsRequestException(WeightsRequestProblem.DTypeNotWritable, $"'{nt.Name}' is {t0.DType.Name}; averaging into that dtype is not supported");
                if (!average)
                {
                    if (n > 1)
                    {
                        string h0 = pool.Get(inputs[0]).Sha256(t0);
                        for (int k = 1; k < n; k++)
                            if (pool.Get(inputs[k]).Sha256(maps[k][nt.Name]) != h0)
                            {
                                warn?.Invoke($"'{nt.Name}' ({t0.DType.Name}) differs between the inputs; taken from '{inputs[0].FilePath}'");
                                break;
                            }
                    }
                    outs.Add(OutTensor.FromSource(nt.Name, inputs[0], t0));
                    continue;
                }
                var parts = new TensorRef[n];
                for (int k = 0; k < n; k++) parts[k] = maps[k][nt.Name];
                outs.Add(OutTensor.FromProducer(nt.Name, t0.DType, t0.Shape, false, sink => output = Average(parts, inputs, w, divide, pool, sink, output)));
            }

            // every file of every input (a folder's shards, index and metadata too), never only the path it was opened by
            var sources = inputs.SelectMany(OutputGuard.FilesOf).ToArray();
            AtomicFile.Write(outFile, overwrite, sources, stream =>
            {
                if (format == WeightsFileFormat.Safetensors)
                    SafetensorsWriter.Write(stream, outs, new List<KeyValuePair<string, string>>
                    {
                        new KeyValuePair<string, string>("format", "pt"),
                        new KeyValuePair<string, string>("source", "average of " + string.Join(", ", inputs.Select(c => System.IO.Path.GetFileName(c.FilePath)))),
                    }, pool);
                else
                    TorchZipWriter.Write(stream, WeightSelection.StateDict(outs), outs, TorchZipWriter.ArchiveNameFor(outFile), pool);
            }, progress?.Cancellation ?? default);
        }

        /// <summary>Bytes of input read per window and slot for all inputs together: 3 slots in flight stay under 48 MB.</summary>
        private const int WindowBudget = 16 << 20;

        /// <summary>
        /// Streams the weighted mean of one tensor: a read-ahead worker reads window i+1 of every input (each by its
        /// own reader; inputs in parallel when they are different files) while this thread averages window i and
        /// hands it to the writer, which checksums and writes it.
        /// </summary>
        private static unsafe byte[] Average(TensorRef[] parts, IReadOnlyList<Checkpoint> inputs, double[] w, double divide, ReaderPool pool, Action<byte[], int> sink, byte[] outBuf)
        {
            var t0 = parts[0];
            var dtype = t0.DType;
            int item = dtype.ItemSize;
            long numel = t0.Numel;
            if (numel == 0) return outBuf;
            foreach (var p in parts) DistinctView.CheckMaterialisable(p, p.Storage?.File?.Path ?? "", "averaging every element");
            var readers = new TensorDataReader[parts.Length];
            for (int k = 0; k < parts.Length; k++) readers[k] = pool.Get(inputs[k]);
            // a reader is not shared across threads, so the same checkpoint given twice is read in turn
            bool parallel = parts.Length > 1 && Environment.ProcessorCount > 1 && readers.Distinct().Count() == readers.Length;
            int windowBytes = Math.Min(Limits.ReadChunkBytes, Math.Max(item, WindowBudget / parts.Length / item * item));
            long window = Math.Min(windowBytes / item, numel);
            long windows = (numel + window - 1) / window;
            int Count(long i) => (int)Math.Min(window, numel - i * window);
            // grown to the largest window met so far, not the full window: most weights are small
            if (outBuf.Length < window * item) outBuf = new byte[window * item];
            var at = new byte*[parts.Length];
            ReadAhead.Run(windows, parts.Length,
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
                        fixed (byte* o = outBuf) WeightedMean.Compute(at, w, divide, dtype, m, o);
                    }
                    finally
                    {
                        foreach (var h in handles) if (h.IsAllocated) h.Free();
                    }
                    for (int k = 0; k < parts.Length; k++) readers[k].Progress.Advance((long)m * item);
                    sink(outBuf, m * item);
                },
                pool.Progress.Cancellation, windowBytes);
            return outBuf;
        }
    }
}

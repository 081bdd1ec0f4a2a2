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
                outs.Add(OutTensor.FromProducer(nt.Name, t0.DType, t0.Shape, false, sink => Average(parts, inputs, w, divide, pool, sink)));
            }

            var sources = inputs.Select(c => c.FilePath).ToArray();
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

        private static void Average(TensorRef[] parts, IReadOnlyList<Checkpoint> inputs, double[] w, double divide, ReaderPool pool, Action<byte[], int> sink)
        {
            var t0 = parts[0];
            var dtype = t0.DType;
            int item = dtype.ItemSize;
            long numel = t0.Numel;
            if (numel == 0) return;
            bool windowed = parts.All(p => p.IsContiguous);
            long window = windowed ? Window : numel;
            if (!windowed && numel > int.MaxValue / 8) throw new NotSupportedException($"{t0} is too large to average as a non-contiguous view");
            var readers = new TensorDataReader[parts.Length];
            for (int k = 0; k < parts.Length; k++) readers[k] = pool.Get(inputs[k]);
            // each input decodes its slice on its own core; a reader is not shared across threads, so the same
            // checkpoint given twice is read in turn
            bool parallel = parts.Length > 1 && Environment.ProcessorCount > 1 && readers.Distinct().Count() == readers.Length;
            // buffers sized to the tensor, not the window: most weights are small, and a window-sized set per tensor
            // would be tens of MB of large-object allocations for each bias and norm
            int size = (int)Math.Min(window, numel);
            var values = new double[parts.Length][];
            for (int k = 0; k < parts.Length; k++) values[k] = new double[size];
            var acc = new double[size];
            var outBuf = new byte[(long)size * item];
            for (long start = 0; start < numel; start += window)
            {
                int len = (int)Math.Min(window, numel - start);
                long from = start;
                void Decode(int k)
                {
                    var p = parts[k];
                    var slice = windowed ? new TensorRef(dtype, new long[] { len }, new long[] { 1 }, p.StorageOffset + from, p.Storage) : p;
                    DecodeInto(readers[k], slice, values[k]);
                }
                if (parallel) System.Threading.Tasks.Parallel.For(0, parts.Length, Decode);
                else for (int k = 0; k < parts.Length; k++) Decode(k);
                // summed in input order, as before: 0 + w0·x0 + w1·x1 + … then divided
                for (int i = 0; i < len; i++) acc[i] = 0;
                for (int k = 0; k < parts.Length; k++)
                {
                    double wk = w[k];
                    var x = values[k];
                    for (int i = 0; i < len; i++) acc[i] += wk * x[i];
                }
                if (divide != 1) for (int i = 0; i < len; i++) acc[i] /= divide;
                EncodeInto(acc, len, dtype, outBuf);
                sink(outBuf, len * item);
            }
        }

        /// <summary>The slice's elements as doubles, converted a read chunk at a time.</summary>
        private static unsafe void DecodeInto(TensorDataReader reader, TensorRef slice, double[] into)
        {
            var g = new ViewGeometry(slice.DType, new long[] { 1 }, new long[] { 1 }, 0, false);
            int item = slice.DType.ItemSize;
            int at = 0;
            reader.ReadRowMajor(slice, (b, cnt) =>
            {
                int m = cnt / item;
                fixed (byte* src = b) fixed (double* dst = into) ElementBlock.Convert(src, m, g, dst + at);
                at += m;
            });
        }

        private static unsafe void EncodeInto(double[] values, int n, DType dtype, byte[] into)
        {
            fixed (double* src = values) fixed (byte* dst = into) ElementCast.Encode(src, n, dtype, dst);
        }
    }
}

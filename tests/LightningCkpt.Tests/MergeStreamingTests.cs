using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using LightningCkpt.Data;
using LightningCkpt.Torch;
using LightningCkpt.Writing;
using LightningCkpt.Writing.Merging;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// The merge streams: tensors larger than a window give the same bits as the whole-tensor computation, and the
    /// memory a merge allocates does not grow with the number of tensors (issue 21's bench row).
    /// </summary>
    public sealed class MergeStreamingTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "ckptmergestream-" + Guid.NewGuid().ToString("N"));

        public MergeStreamingTests() => Directory.CreateDirectory(_dir);

        public void Dispose() { try { Directory.Delete(_dir, true); } catch { } }

        private string In(string name) => Path.Combine(_dir, name);

        /// <summary>A safetensors file of float32 tensors.</summary>
        private string Write(string file, IEnumerable<(string name, float[] values)> tensors)
        {
            var outs = tensors.Select(t =>
            {
                var bytes = new byte[t.values.Length * 4];
                Buffer.BlockCopy(t.values, 0, bytes, 0, bytes.Length);
                return OutTensor.FromProducer(t.name, DType.Float32, new long[] { t.values.Length }, false, sink => sink(bytes, bytes.Length));
            }).ToList();
            using (var stream = File.Create(In(file)))
            using (var pool = new ReaderPool())
                SafetensorsWriter.Write(stream, outs, Array.Empty<KeyValuePair<string, string>>(), pool);
            return In(file);
        }

        private static float[] Read(string file, string name)
        {
            var c = Checkpoint.Open(file);
            using var reader = new TensorDataReader(c);
            var bytes = reader.ToBytes(c.View.Weights.Single(w => w.Name == name).Tensor);
            var values = new float[bytes.Length / 4];
            Buffer.BlockCopy(bytes, 0, values, 0, bytes.Length);
            return values;
        }

        /// <summary>TIES on whole arrays in float64, as issue 21 states it; ties at the threshold kept first in row-major order.</summary>
        private static float[] TiesInMemory(float[] b, float[][] m, double[] w, double density, double scale, out bool tiesSplit)
        {
            int numel = b.Length, n = m.Length;
            long k = (long)Math.Floor(density * numel);
            var delta = new double[n][];
            tiesSplit = false;
            for (int i = 0; i < n; i++)
            {
                var tau = Enumerable.Range(0, numel).Select(j => (double)m[i][j] - b[j]).ToArray();
                var order = Enumerable.Range(0, numel).OrderByDescending(j => Math.Abs(tau[j])).ThenBy(j => j).ToArray();
                var keep = new bool[numel];
                for (long r = 0; r < k; r++) keep[order[r]] = true;
                if (k > 0 && k < numel && Math.Abs(tau[order[k - 1]]) == Math.Abs(tau[order[k]])) tiesSplit = true;
                delta[i] = Enumerable.Range(0, numel).Select(j => keep[j] ? w[i] * tau[j] : 0).ToArray();
            }
            var result = new float[numel];
            for (int j = 0; j < numel; j++)
            {
                double sum = 0;
                for (int i = 0; i < n; i++) sum += delta[i][j];
                int sign = sum >= 0 ? 1 : -1;
                double num = 0, den = 0;
                for (int i = 0; i < n; i++)
                    if (Math.Sign(delta[i][j]) == sign) { num += delta[i][j]; den += w[i]; }
                result[j] = (float)(b[j] + scale * (num / (den == 0 ? 1 : den)));
            }
            return result;
        }

        [Fact]
        public void TiesOfTensorsLargerThanAWindowEqualsTheWholeTensorComputation()
        {
            // 1.3 M elements: several windows of four inputs, many float64 blocks. "steps" takes |τ| from 17 values
            // (ties at the threshold, split by position); "spread" has distinct magnitudes (a narrow threshold bucket)
            const int numel = 1_300_003;
            var random = new Random(20261206);
            float[] Base() => Enumerable.Range(0, numel).Select(_ => (float)(random.Next(-512, 512) / 64.0)).ToArray();
            var baseSteps = Base();
            var baseSpread = Base();
            var steps = new float[3][];
            var spread = new float[3][];
            for (int i = 0; i < 3; i++)
            {
                steps[i] = baseSteps.Select(v => v + (float)(random.Next(-8, 9) / 8.0)).ToArray();
                spread[i] = baseSpread.Select(v => v + (float)(random.NextDouble() * 2 - 1)).ToArray();
            }
            string basePath = Write("base.safetensors", new[] { ("steps", baseSteps), ("spread", baseSpread) });
            var models = Enumerable.Range(0, 3).Select(i => Checkpoint.Open(Write($"m{i}.safetensors", new[] { ("steps", steps[i]), ("spread", spread[i]) }))).ToList();
            var w = new[] { 1, 0.6, 0.8 };
            CheckpointMerger.Merge(models, new MergeRequest { Method = MergeMethod.Ties, Base = Checkpoint.Open(basePath), Weights = w, Density = 0.3, Scale = 1.2 },
                In("ties.safetensors"), WeightsFileFormat.Safetensors, false);

            var expectSteps = TiesInMemory(baseSteps, steps, w, 0.3, 1.2, out bool split);
            Assert.True(split, "the fixture should put ties at the threshold");
            Assert.Equal(expectSteps, Read(In("ties.safetensors"), "steps"));
            Assert.Equal(TiesInMemory(baseSpread, spread, w, 0.3, 1.2, out _), Read(In("ties.safetensors"), "spread"));
        }

        [Fact]
        public void TiesAllocatesTheSameBuffersWhateverTheNumberOfTensors()
        {
            // 8 against 80 tensors of 4096 elements: the per-tensor cost is names, entries and a few small arrays,
            // not selection histograms (3 × 512 KB a tensor) or window buffers
            long Allocated(int tensors, string tag)
            {
                var random = new Random(tensors);
                (string, float[])[] Model() => Enumerable.Range(0, tensors).Select(t => ($"layer{t}.weight", Enumerable.Range(0, 4096).Select(_ => (float)random.NextDouble()).ToArray())).ToArray();
                var basePath = Write($"base{tag}.safetensors", Model());
                var models = Enumerable.Range(0, 3).Select(i => Checkpoint.Open(Write($"m{i}{tag}.safetensors", Model()))).ToList();
                var request = new MergeRequest { Method = MergeMethod.Ties, Base = Checkpoint.Open(basePath), Density = 0.2 };
                long before = GC.GetAllocatedBytesForCurrentThread();
                CheckpointMerger.Merge(models, request, In($"ties{tag}.safetensors"), WeightsFileFormat.Safetensors, false);
                return GC.GetAllocatedBytesForCurrentThread() - before;
            }
            Allocated(8, "warm");
            long few = Allocated(8, "few"), many = Allocated(80, "many");
            long perTensor = (many - few) / 72;
            Assert.True(perTensor < 256 << 10, $"{perTensor} bytes allocated per extra tensor ({few} for 8 tensors, {many} for 80)");
        }
    }
}

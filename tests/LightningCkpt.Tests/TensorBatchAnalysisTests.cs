using System;
using System.IO;
using System.Linq;
using System.Threading;
using LightningCkpt.Data;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>Analysing tensors on several workers, largest first, gives exactly what one reader gives in order.</summary>
    public class TensorBatchAnalysisTests
    {
        private static string Sample() => Path.Combine(RepoPaths.Samples, "lightning_logs", "version_0", "checkpoints", "last.ckpt");

        [Theory]
        [InlineData(true, true)]
        [InlineData(true, false)]
        [InlineData(false, true)]
        public void WorkersGiveTheSequentialResults(bool hash, bool statistics)
        {
            var c = Checkpoint.Open(Sample());
            var expected = CkptTensor.List(c, true);
            using (var reader = new TensorDataReader(c))
                foreach (var t in expected) TensorAnalysis.Analyze(t, reader, hash, statistics);
            var actual = CkptTensor.List(c, true);
            Assert.True(actual.Count > 4, "the sample should hold several tensors");
            var progress = new ReadProgress();
            TensorBatchAnalysis.AnalyzeAll(actual, hash, statistics, progress, workers: 3);
            Assert.True(progress.Bytes > 0);
            for (int i = 0; i < expected.Count; i++)
            {
                Assert.Equal(expected[i].Name, actual[i].Name);
                Assert.Equal(expected[i].Sha256, actual[i].Sha256);
                Assert.Equal(expected[i].Mean, actual[i].Mean);
                Assert.Equal(expected[i].Std, actual[i].Std);
                Assert.Equal(expected[i].Min, actual[i].Min);
                Assert.Equal(expected[i].Max, actual[i].Max);
            }
            if (hash) Assert.All(actual.Where(t => t.Tensor.HasData), t => Assert.Matches("^[0-9a-f]{64}$", t.Sha256));
        }

        /// <summary>
        /// Tensors large enough to be cut into ranges shared by the workers (several dtypes, a shifted mean, a NaN, an
        /// offset slice, an expanded view, a transposed view that is not cut) give bit for bit the figures of one pass.
        /// </summary>
        [SkippableTheory]
        [InlineData(false)]
        [InlineData(true)]
        public void RangesSharedByWorkersGiveTheOnePassFiguresExactly(bool hash)
        {
            Skip.IfNot(PythonOracle.HasTorch, "torch is not installed");
            var dir = Path.Combine(Path.GetTempPath(), "ckbatch-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                var path = Path.Combine(dir, "big.pt");
                var code = "import torch; g=torch.Generator().manual_seed(7); r=lambda n: torch.randn(n, generator=g); " +
                           "nan=r(2_500_000); nan[1_700_000]=float('nan'); base=r(4_000_000); " +
                           "d={'f32': r(3_100_000)*3+1e4, 'f64': r(2_300_000).double(), 'f16': r(5_000_001).half(), 'bf16': r(4_200_000).bfloat16(), " +
                           "'i8': (r(9_000_000)*40).to(torch.int8), 'nan': nan, 'slice': base[12345:], " +
                           "'expanded': r(2_200_000).expand(3, -1), 't': r(3_000_000).reshape(1000, 3000).t()}; " +
                           $"torch.save(d, r'{path}')";
                Assert.True(PythonOracle.Run($"-c \"{code}\"", out var output) == 0, output);
                var c = Checkpoint.Open(path);
                var expected = CkptTensor.List(c, true);
                using (var reader = new TensorDataReader(c))
                    foreach (var t in expected) TensorAnalysis.Analyze(t, reader, hash, statistics: true);
                var actual = CkptTensor.List(c, true);
                var progress = new ReadProgress();
                TensorBatchAnalysis.AnalyzeAll(actual, hash, statistics: true, progress, workers: 3);
                Assert.Equal(9, actual.Count);
                for (int i = 0; i < expected.Count; i++)
                {
                    var e = expected[i];
                    var a = actual[i];
                    Assert.True(e.Mean.HasValue, e.Name);
                    Assert.Equal((e.Name, e.Sha256, e.NaNCount, e.InfCount), (a.Name, a.Sha256, a.NaNCount, a.InfCount));
                    // bit for bit: the blocks are folded in the order one pass folds them
                    Assert.Equal(new[] { e.Min, e.Max, e.Mean, e.Std, e.L2Norm, e.ZeroFraction }.Select(Bits), new[] { a.Min, a.Max, a.Mean, a.Std, a.L2Norm, a.ZeroFraction }.Select(Bits));
                }
                Assert.True(double.IsNaN(actual.Single(t => t.Name == "nan").Mean!.Value));
            }
            finally { Directory.Delete(dir, true); }
        }

        private static long? Bits(double? v) => v.HasValue ? BitConverter.DoubleToInt64Bits(v.Value) : (long?)null;

        [Fact]
        public void ACancellationStopsEveryWorkerAndSurfaces()
        {
            var c = Checkpoint.Open(Sample());
            var tensors = CkptTensor.List(c, true);
            using var cts = new CancellationTokenSource();
            cts.Cancel();
            Assert.ThrowsAny<OperationCanceledException>(() => TensorBatchAnalysis.AnalyzeAll(tensors, true, true, new ReadProgress(cts.Token), workers: 2));
        }
    }
}

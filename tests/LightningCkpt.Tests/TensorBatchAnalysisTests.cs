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

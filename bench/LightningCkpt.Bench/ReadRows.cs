using System.Linq;
using LightningCkpt.Data;

namespace LightningCkpt.Bench
{
    /// <summary>
    /// The timed bodies of the statistics and Compare rows, shared by the main bench (fp32 bench_a/bench_b) and
    /// --only decode (their bfloat16 casts), each with the sequential read of the same bytes measured beside it.
    /// </summary>
    internal static class ReadRows
    {
        /// <summary>Get-CkptTensor -Statistics over every weight of <paramref name="file"/>, opened afresh each time.</summary>
        public static (double Seconds, double SequentialSeconds, long WeightBytes, Memory Memory) Statistics(string file, int repeat)
        {
            long weightBytes = 0;
            double seconds = Measure.TimeThenSample(() =>
            {
                var weights = CkptTensor.List(Checkpoint.Open(file), false);
                TensorBatchAnalysis.AnalyzeAll(weights, hash: false, statistics: true);
                weightBytes = weights.Sum(t => t.Bytes);
            }, repeat, out var memory);
            double seq = Measure.Time(() => Program.SequentialRead(file, weightBytes), repeat, out _);
            return (seconds, seq, weightBytes, memory);
        }

        /// <summary>Compare-Ckpt -All of two files, opened afresh each time; the limit reads the same bytes of both.</summary>
        public static (double Seconds, double SequentialSeconds, long Bytes, int Changed, Memory Memory) Compare(string a, string b, int repeat)
        {
            long bytes = 0;
            int changed = 0;
            double seconds = Measure.TimeThenSample(() =>
            {
                var ca = Checkpoint.Open(a);
                var cb = Checkpoint.Open(b);
                bytes = CkptTensor.List(ca, true).Sum(t => t.Bytes) + CkptTensor.List(cb, true).Sum(t => t.Bytes);
                changed = CheckpointComparer.Compare(ca, cb, new CompareOptions { AllTensors = true }).Count(r => r.Kind == "Tensor");
            }, repeat, out var memory);
            double seq = Measure.Time(() => { Program.SequentialRead(a, bytes / 2); Program.SequentialRead(b, bytes / 2); }, repeat, out _);
            return (seconds, seq, bytes, changed, memory);
        }
    }
}

using System;
using System.Diagnostics;
using System.Globalization;
using System.Linq;

namespace LightningCkpt.Bench
{
    /// <summary>
    /// Get-CkptInfo's Core work (open + summary) called 1200 times in a row in one process: the first call (JIT and
    /// type loading), calls 2–200 (tiered JIT still recompiling) and calls 1000+ (steady state), each as median and
    /// mean, with what one call allocates and how many full (gen 2) collections the run cost.
    /// </summary>
    public static class MetadataBench
    {
        public sealed record Spread(double Median, double Mean, double Min);

        public sealed record Result(double FirstMs, Spread Early, Spread Late, double AllocatedKbPerCall, int Gen2, int Gen0, int Weights, int Tensors, Memory Memory);

        public const int Calls = 1200;

        public static Result Run(string path)
        {
            var times = new double[Calls];
            int weights = 0, tensors = 0;
            int gen2 = 0, gen0 = 0;
            long allocated = 0;
            Measure.Time(() =>
            {
                // counted inside the timed action: Measure.Time's own GC.Collect() before it must not count as the opens'
                gen2 = GC.CollectionCount(2);
                gen0 = GC.CollectionCount(0);
                long a0 = GC.GetAllocatedBytesForCurrentThread();
                for (int i = 0; i < Calls; i++)
                {
                    var sw = Stopwatch.StartNew();
                    var info = CkptInfo.From(Checkpoint.Open(path));
                    times[i] = sw.Elapsed.TotalMilliseconds;
                    weights = info.TensorCount;
                    tensors = info.AllTensorCount;
                }
                allocated = GC.GetAllocatedBytesForCurrentThread() - a0;
                gen2 = GC.CollectionCount(2) - gen2;
                gen0 = GC.CollectionCount(0) - gen0;
            }, 1, out var memory);
            return new Result(times[0], SpreadOf(times, 1, 200), SpreadOf(times, 1000, Calls), allocated / 1024.0 / Calls,
                gen2, gen0, weights, tensors, memory);
        }

        private static Spread SpreadOf(double[] t, int from, int to)
        {
            var s = t.Skip(from).Take(to - from).OrderBy(x => x).ToArray();
            return new Spread(s[s.Length / 2], s.Average(), s[0]);
        }

        public static void Print(Result r, double torchLoadSeconds)
        {
            string F(double v) => v.ToString("F3", CultureInfo.InvariantCulture);
            Console.WriteLine();
            Console.WriteLine($"open + metadata, {Calls} calls in one process (ms): first {r.FirstMs.ToString("F1", CultureInfo.InvariantCulture)}; " +
                $"calls 2–200 median {F(r.Early.Median)} mean {F(r.Early.Mean)}; calls 1000+ median {F(r.Late.Median)} mean {F(r.Late.Mean)} min {F(r.Late.Min)}; " +
                $"{r.AllocatedKbPerCall.ToString("F0", CultureInfo.InvariantCulture)} KB allocated per call, {r.Gen0} gen0 / {r.Gen2} gen2 collections; " +
                (double.IsNaN(torchLoadSeconds) ? "torch not run" : $"torch.load warm {(torchLoadSeconds / (r.Late.Median / 1000)).ToString("F0", CultureInfo.InvariantCulture)}× the median"));
        }
    }
}

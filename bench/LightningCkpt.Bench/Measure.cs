using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Threading;

namespace LightningCkpt.Bench
{
    /// <summary>Peak managed heap and peak growth of anonymous RSS while a task ran (mapped file pages are not anonymous).</summary>
    public sealed class Memory
    {
        public long ManagedPeak;
        public long AnonPeakDelta;
        public override string ToString() => $"{Measure.Mb(ManagedPeak)} / {Measure.Mb(AnonPeakDelta)}";
    }

    /// <summary>Best-of-N wall time with the memory sampled meanwhile.</summary>
    public static class Measure
    {
        public static string Mb(long bytes) => bytes <= 0 ? "0 MB" : (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture) + " MB";

        /// <summary>Best wall time of <paramref name="repeat"/> runs; samples anonymous RSS and managed heap every 5 ms meanwhile.</summary>
        public static double Time(Action action, int repeat, out Memory memory)
        {
            memory = new Memory();
            double best = double.MaxValue;
            for (int i = 0; i < repeat; i++)
            {
                best = Math.Min(best, Sampled(action, out var m));
                memory.AnonPeakDelta = Math.Max(memory.AnonPeakDelta, m.AnonPeakDelta);
                memory.ManagedPeak = Math.Max(memory.ManagedPeak, m.ManagedPeak);
            }
            return best;
        }

        /// <summary>
        /// Best wall time of <paramref name="repeat"/> runs with nothing else running, then one more run, untimed,
        /// for the memory: for the parallel read rows, where the 5 ms sampler (about 50 µs of CPU per sample, a
        /// third thread on a 2-core machine) would interrupt one of the two workers throughout every timed run.
        /// </summary>
        public static double TimeThenSample(Action action, int repeat, out Memory memory)
        {
            double best = Best(action, repeat);
            Sampled(action, out memory);
            return best;
        }

        /// <summary>Best wall time of <paramref name="repeat"/> runs, nothing measured beside them.</summary>
        public static double Best(Action action, int repeat)
        {
            double best = double.MaxValue;
            for (int i = 0; i < repeat; i++)
            {
                Settle();
                var sw = Stopwatch.StartNew();
                action();
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
            }
            return best;
        }

        private static void Settle()
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
        }

        /// <summary>One run of <paramref name="action"/>, its seconds, and its peak managed heap and anonymous RSS growth.</summary>
        private static double Sampled(Action action, out Memory memory)
        {
            Settle();
            long anon0 = RssAnon();
            long managed0 = GC.GetTotalMemory(false);
            long peakAnon = anon0, peakManaged = managed0;
            using var stop = new CancellationTokenSource();
            var sampler = new Thread(() =>
            {
                while (!stop.IsCancellationRequested)
                {
                    peakAnon = Math.Max(peakAnon, RssAnon());
                    peakManaged = Math.Max(peakManaged, GC.GetTotalMemory(false));
                    Thread.Sleep(5);
                }
            }) { IsBackground = true };
            sampler.Start();
            var sw = Stopwatch.StartNew();
            action();
            sw.Stop();
            stop.Cancel();
            sampler.Join();
            peakAnon = Math.Max(peakAnon, RssAnon());
            memory = new Memory { AnonPeakDelta = peakAnon - anon0, ManagedPeak = peakManaged };
            return sw.Elapsed.TotalSeconds;
        }

        public static long RssAnon()
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("RssAnon:", StringComparison.Ordinal))
                    return long.Parse(line.Substring(8).Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            return 0;
        }

        /// <summary>
        /// The write limit: <paramref name="bytes"/> read from <paramref name="source"/> and written to a new file,
        /// flushed to disk (like our writer, which fsyncs before its atomic rename), then deleted. Best of N.
        /// </summary>
        public static double CopyFsync(string source, string workDir, long bytes, int repeat)
        {
            string copy = Path.Combine(workDir, "raw_copy.bin");
            double best = double.MaxValue;
            var buf = new byte[1 << 20];
            for (int r = 0; r < repeat; r++)
            {
                var sw = Stopwatch.StartNew();
                using (var src = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan))
                using (var dst = new FileStream(copy, FileMode.Create, FileAccess.Write, FileShare.None, 1))
                {
                    for (long left = bytes; left > 0;)
                    {
                        int n = src.Read(buf, 0, (int)Math.Min(buf.Length, left));
                        if (n <= 0) { src.Position = 0; continue; } // a source shorter than the output: wrap around
                        dst.Write(buf, 0, n);
                        left -= n;
                    }
                    dst.Flush(true);
                }
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
                File.Delete(copy);
            }
            return best;
        }
    }
}

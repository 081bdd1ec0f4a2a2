using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using LightningCkpt;
using LightningCkpt.Data;

namespace LightningCkpt.Bench
{
    /// <summary>
    /// dotnet run -c Release --project bench/LightningCkpt.Bench -- --work /tmp/ckbench [--python /usr/bin/python3] [--repeat 3] [--only export]
    /// Makes (or reuses) a ~1.3 GB Lightning checkpoint and a perturbed twin with torch, then times LightningCkpt
    /// against torch for open+metadata, statistics and compare, next to a plain sequential read of the same file.
    /// </summary>
    public static class Program
    {
        private static string _python = "/usr/bin/python3";
        private static string _script = "";

        public static int Main(string[] args)
        {
            string work = "/tmp/ckbench";
            int repeat = 3;
            bool onlyExport = false;
            bool sharded = false;
            for (int i = 0; i < args.Length; i++)
            {
                if (args[i] == "--sharded") sharded = true;
                else if (args[i] == "--work") work = args[++i];
                else if (args[i] == "--python") _python = args[++i];
                else if (args[i] == "--repeat") repeat = int.Parse(args[++i]);
                else if (args[i] == "--only" && args[++i] == "export") onlyExport = true;
                else { Console.Error.WriteLine($"unknown argument {args[i]}"); return 2; }
            }
            _script = FindScript();
            Directory.CreateDirectory(work);
            if (sharded) return ShardedBench.Run(work, repeat);
            string a = Path.Combine(work, "bench_a.ckpt"), b = Path.Combine(work, "bench_b.ckpt");
            if (!File.Exists(a) || !File.Exists(b))
            {
                Console.WriteLine($"making the checkpoints in {work} with torch …");
                RunPython("make", work);
            }
            else Console.WriteLine($"reusing {a} and {b}");

            // warm the page cache: every figure below is with both files cached
            double seq = Time(() => SequentialRead(a), repeat, out _);
            SequentialRead(b);
            long fileBytes = new FileInfo(a).Length;
            double seqRate = fileBytes / seq;
            var rows = new List<(BenchRow row, string mem, string torchMem)>();
            if (onlyExport)
            {
                foreach (var r in ExportBench.Run(a, work, repeat)) rows.Add((r, "", ""));
                Print(rows, seqRate, fileBytes);
                return 0;
            }
            rows.Add((new BenchRow("sequential read (FileStream, 4 MB buffer)", seq, null, fileBytes, "physical limit"), Mem(null), ""));

            // 1. open + metadata
            CkptInfo? info = null;
            double open = Time(() => info = CkptInfo.From(Checkpoint.Open(a)), repeat * 3, out var openMem);
            var tLoad = RunPython("load", a);
            rows.Add((new BenchRow("open + metadata (Get-CkptInfo) vs torch.load", open, tLoad.seconds, null, $"{info!.TensorCount} weights, {info.AllTensorCount} tensors"), Mem(openMem), Mb(tLoad.rss)));

            // 2. statistics over all weights
            long weightBytes = 0;
            double stats = Time(() =>
            {
                var c = Checkpoint.Open(a);
                using var reader = new TensorDataReader(c);
                weightBytes = 0;
                foreach (var t in CkptTensor.List(c, false))
                {
                    TensorAnalysis.Analyze(t, reader, hash: false, statistics: true);
                    weightBytes += t.Bytes;
                }
            }, repeat, out var statsMem);
            var tStats = RunPython("stats", a);
            rows.Add((new BenchRow("statistics of all weights (min/max/mean/std/…)", stats, tStats.seconds, weightBytes, "torch: load + per-tensor min/max/mean/std"), Mem(statsMem), Mb(tStats.rss)));

            // 2b. statistics + SHA-256 in the same pass
            double statsHash = Time(() =>
            {
                var c = Checkpoint.Open(a);
                using var reader = new TensorDataReader(c);
                foreach (var t in CkptTensor.List(c, false)) TensorAnalysis.Analyze(t, reader, hash: true, statistics: true);
            }, repeat, out var statsHashMem);
            rows.Add((new BenchRow("statistics + SHA-256 of all weights", statsHash, null, weightBytes, "hash runs beside the statistics"), Mem(statsHashMem), ""));

            // 3. compare every tensor of the two files
            long compareBytes = 0;
            int changed = 0;
            double compare = Time(() =>
            {
                var ca = Checkpoint.Open(a);
                var cb = Checkpoint.Open(b);
                compareBytes = CkptTensor.List(ca, true).Sum(t => t.Bytes) + CkptTensor.List(cb, true).Sum(t => t.Bytes);
                changed = CheckpointComparer.Compare(ca, cb, new LightningCkpt.Data.CompareOptions { AllTensors = true }).Count(r => r.Kind == "Tensor");
            }, repeat, out var compareMem);
            var tCompare = RunPython("compare", a, b);
            rows.Add((new BenchRow("compare all tensors of the two files", compare, tCompare.seconds, compareBytes, $"{changed} tensors changed; torch: load both + max|a-b| + allclose"), Mem(compareMem), Mb(tCompare.rss)));

            foreach (var r in SelectWriteBench.Run(a, work)) rows.Add((r, "", ""));
            foreach (var r in ExportBench.Run(a, work, repeat)) rows.Add((r, "", ""));

            Print(rows, seqRate, fileBytes);
            return 0;
        }

        private static void Print(List<(BenchRow row, string mem, string torchMem)> rows, double seqRate, long fileBytes)
        {
            Console.WriteLine();
            Console.WriteLine($"file: {fileBytes / 1e9:F2} GB; {Environment.ProcessorCount} cores; sequential read {seqRate / 1e9:F2} GB/s; best of the repeats for ours, one torch run");
            Console.WriteLine();
            Console.WriteLine("| task | ours (s) | torch (s) | torch/ours | GB/s | % of seq. read | ours: managed peak / anon RSS Δpeak | torch: maxrss | note |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---|---:|---|");
            foreach (var (r, mem, tmem) in rows)
            {
                string torch = r.TorchSeconds is double ts ? ts.ToString("F3", CultureInfo.InvariantCulture) : "";
                string ratio = r.TorchSeconds is double t2 ? (t2 / r.OursSeconds).ToString(t2 / r.OursSeconds >= 100 ? "F0" : "F1", CultureInfo.InvariantCulture) + "×" : "";
                string gbs = r.Bytes is double by ? (by / r.OursSeconds / 1e9).ToString("F2", CultureInfo.InvariantCulture) : "";
                string pct = r.Bytes is double b2 ? (b2 / r.OursSeconds / seqRate * 100).ToString("F0", CultureInfo.InvariantCulture) + " %" : "";
                Console.WriteLine($"| {r.Task} | {r.OursSeconds.ToString("F4", CultureInfo.InvariantCulture)} | {torch} | {ratio} | {gbs} | {pct} | {mem} | {tmem} | {r.Note} |");
            }
        }

        internal sealed class Memory
        {
            public long ManagedPeak;
            public long AnonPeakDelta;
        }

        internal static string Mem(Memory? m) => m == null ? "" : $"{Mb(m.ManagedPeak)} / {Mb(m.AnonPeakDelta)}";
        internal static string Mb(long bytes) => bytes <= 0 ? "0 MB" : $"{bytes / 1048576.0:F1} MB";

        /// <summary>Best wall time of <paramref name="repeat"/> runs; samples anonymous RSS and managed heap meanwhile.</summary>
        internal static double Time(Action action, int repeat, out Memory memory)
        {
            memory = new Memory();
            double best = double.MaxValue;
            for (int i = 0; i < repeat; i++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                GC.Collect();
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
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
                memory.AnonPeakDelta = Math.Max(memory.AnonPeakDelta, peakAnon - anon0);
                memory.ManagedPeak = Math.Max(memory.ManagedPeak, peakManaged);
            }
            return best;
        }

        private static long RssAnon()
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("RssAnon:", StringComparison.Ordinal))
                    return long.Parse(line.Substring(8).Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            return 0;
        }

        private static long SequentialRead(string path)
        {
            var buffer = new byte[4 << 20];
            long total = 0;
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            int n;
            while ((n = fs.Read(buffer, 0, buffer.Length)) > 0) total += n;
            return total;
        }

        private static (double seconds, long rss) RunPython(string mode, params string[] args) => RunScript(_script, mode, args);

        /// <summary>Runs a bench script in its own process; its last output line is {"seconds", "maxrss_bytes"}.</summary>
        internal static (double seconds, long rss) RunScript(string script, string mode, params string[] args)
        {
            var psi = new ProcessStartInfo(_python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add(script);
            psi.ArgumentList.Add(mode);
            foreach (var a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            var output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException($"{Path.GetFileName(script)} {mode} failed: {err.Result}");
            if (mode == "make") return (0, 0);
            using var doc = JsonDocument.Parse(output.Trim().Split('\n').Last());
            return (doc.RootElement.GetProperty("seconds").GetDouble(), doc.RootElement.GetProperty("maxrss_bytes").GetInt64());
        }

        /// <summary>A script beside bench_torch.py.</summary>
        internal static string Script(string name) => Path.Combine(Path.GetDirectoryName(_script)!, name);

        private static string FindScript()
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir != null && !File.Exists(Path.Combine(dir.FullName, "bench", "bench_torch.py"))) dir = dir.Parent;
            return dir != null ? Path.Combine(dir.FullName, "bench", "bench_torch.py") : throw new InvalidOperationException("cannot find bench/bench_torch.py above " + AppContext.BaseDirectory);
        }
    }
}

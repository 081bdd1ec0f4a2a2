using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using LightningCkpt;
using LightningCkpt.Data;

namespace LightningCkpt.Bench
{
    /// <summary>
    /// dotnet run -c Release --project bench/LightningCkpt.Bench -- --work /tmp/ckbench [--out DIR] [--python /usr/bin/python3] [--repeat 3]
    ///     [--only meta|export|read|write|decode|process|remote [--row half|cast|merge|ties]] [--no-torch] [--no-torch2] [--sharded [--only dcp|dcp2|ds|dsopt] [--ext .pt|.safetensors]]
    /// Makes (or reuses) a ~1.3 GB Lightning checkpoint and a perturbed twin with torch, then times LightningCkpt
    /// against torch 2.x (its best recipe: mmap, weights_only, all threads; tools/torch2, provisioned on first use) and
    /// torch 1.13 — all warm, all best of N, in the same run — next to the machine's limits measured in that run:
    /// a sequential read of the same bytes for the read paths, a copy flushed to disk for the write paths.
    /// </summary>
    public static class Program
    {
        private static string _python = "/usr/bin/python3";
        private static string _script = "";
        private static int _repeat = 3;
        private static bool _torch = true, _torch2 = true;

        public static int Main(string[] args)
        {
            string work = "/tmp/ckbench";
            string? outDir = null, only = null, ext = null, row = null;
            bool sharded = false, torch = true;
            for (int i = 0; i < args.Length; i++)
            {
                if (args[i] == "--sharded") sharded = true;
                else if (args[i] == "--work") work = args[++i];
                else if (args[i] == "--out") outDir = args[++i];
                else if (args[i] == "--python") _python = args[++i];
                else if (args[i] == "--repeat") _repeat = int.Parse(args[++i], CultureInfo.InvariantCulture);
                else if (args[i] == "--only") only = args[++i];
                else if (args[i] == "--ext") ext = args[++i];
                else if (args[i] == "--row") row = args[++i];
                else if (args[i] == "--no-torch") torch = false;
                else if (args[i] == "--no-torch2") _torch2 = false;
                else { Console.Error.WriteLine($"unknown argument {args[i]}"); return 2; }
            }
            bool known = only == null || (sharded ? only == "dcp" || only == "dcp2" || only == "ds" || only == "dsopt" : only == "meta" || only == "export" || only == "read" || only == "write" || only == "decode" || only == "process" || only == "remote");
            if (row != null && (only != "write" || (row != "half" && row != "cast" && row != "merge" && row != "ties"))) known = false;
            if (!known || (ext != null && (!sharded || (ext != ".pt" && ext != ".safetensors"))))
            {
                Console.Error.WriteLine("--only takes meta|export|read|write|decode|process|remote (or dcp|dcp2|ds|dsopt with --sharded), --row half|cast|merge|ties goes with --only write; --ext .pt|.safetensors needs --sharded");
                return 2;
            }
            _script = FindScript("bench_torch.py");
            _torch = torch;
            _torch2 &= torch;
            if (_torch2) TorchTwo.Provision();
            Directory.CreateDirectory(work);
            // outputs (and the copies of the limit) go to --out: the inputs in --work are shared and never rewritten
            outDir ??= work;
            Directory.CreateDirectory(outDir);
            if (sharded) return ShardedBench.Run(work, outDir, _repeat, only, ext, torch, _torch2);
            if (only == "decode") return DecodeBench.Run(work, outDir, _repeat, torch, Load(), Load);
            string a = Path.Combine(work, "bench_a.ckpt"), b = Path.Combine(work, "bench_b.ckpt");
            if (!File.Exists(a) || !File.Exists(b))
            {
                Console.WriteLine($"making the checkpoints in {work} with torch …");
                RunPython("make", work);
            }
            else Console.WriteLine($"reusing {a} and {b}");
            string loadBefore = Load();
            if (only == "meta") return RunMetadataOnly(a, loadBefore);
            if (only == "process") return ProcessBench.Run(a, work, _repeat, _torch, _torch2, loadBefore, Load);
            if (only == "remote") return RemoteBench.Run(a, outDir, _repeat, loadBefore, Load);

            // warm the page cache: every figure below is with both files cached, ours and torch's alike
            double seq = Measure.Time(() => SequentialRead(a), _repeat, out _);
            SequentialRead(b);
            long fileBytes = new FileInfo(a).Length;
            double seqRate = fileBytes / seq;
            var table = new Table(seqRate);
            table.Read("sequential read (FileStream, 4 MB buffer)", seq, TorchTimes.None, fileBytes, null, "the read limit");
            if (only == "export")
            {
                ExportBench.Run(a, outDir, _repeat, table);
                table.Print(fileBytes, loadBefore, Load(), _repeat);
                return 0;
            }
            if (only == "write")
            {
                foreach (var w in WriteBench.Run(a, b, outDir, _repeat, RunTorch, row)) table.Write(w);
                table.Print(fileBytes, loadBefore, Load(), _repeat);
                table.PrintGoals(null, 0);
                return 0;
            }

            // --only read: the three data read rows (statistics, statistics + hash, compare), ours only, in a minute
            bool readOnly = only == "read";

            // 1. open + metadata: in-process calls, first and warm, then torch.load warm
            MetadataBench.Result? meta = null;
            TorchTimes tLoad = TorchTimes.None;
            if (!readOnly)
            {
                meta = MetadataBench.Run(a);
                tLoad = RunTorch("load", a);
                table.Read("open + metadata (Get-CkptInfo), warm median of calls 1000+", meta.Late.Median / 1000, tLoad, null, meta.Memory,
                    $"{meta.Weights} weights, {meta.Tensors} tensors; torch.load warm best of {_repeat} (torch 2.x: mmap=True, weights_only=True)");
            }

            // 2. statistics over all weights (what Get-CkptTensor -Statistics does)
            var (stats, seqWeights, weightBytes, statsMem) = ReadRows.Statistics(a, _repeat);
            // the ceilings of every core on the same weight bytes: reading only, hashing only
            var weightsA = CkptTensor.List(Checkpoint.Open(a), false);
            var ranges = CoreLimits.WeightRanges(weightsA);
            double readAll = Measure.Best(() => CoreLimits.ReadAllCores(a, ranges), _repeat);
            var inMemory = CoreLimits.LoadLargestFirst(a, ranges);
            double hashAll = Measure.Best(() => CoreLimits.HashAllCores(inMemory), _repeat);
            inMemory = null;
            var tStats = readOnly ? TorchTimes.None : RunTorch("stats", a);
            int cores = Environment.ProcessorCount;
            table.Read($"read on all cores ({cores} threads, 256 KB positional reads)", readAll, TorchTimes.None, weightBytes, null,
                "the weight bytes, 8 MB ranges largest first: the read limit of the parallel rows", seqWeights);
            table.Read("statistics of all weights (min/max/mean/std/…)", stats, tStats, weightBytes, statsMem,
                $"{F0(readAll / stats * 100)} % of read on all cores; ours float64-exact; torch 1.13: load + min/max/mean/std in double; torch 2.x: mmap + native float32 reductions on {cores} threads", seqWeights, goal: Goal.StatisticsAtReadSpeed);
            table.Read($"SHA-256 alone on all cores ({cores} threads)", hashAll, TorchTimes.None, weightBytes, null,
                "the weight bytes from memory, one stream per tensor, largest first: the hashing limit", seqWeights);

            // 2b. statistics + SHA-256 in the same pass
            double statsHash = Measure.TimeThenSample(() =>
            {
                var c = Checkpoint.Open(a);
                TensorBatchAnalysis.AnalyzeAll(CkptTensor.List(c, false), hash: true, statistics: true);
            }, _repeat, out var statsHashMem);
            var tHash = readOnly ? TorchTimes.None : RunTorch("hash", a);
            table.Read("statistics + SHA-256 of all weights", statsHash, tHash, weightBytes, statsHashMem,
                "Get-CkptTensor -Hash -Statistics (tensors on all cores, largest first); torch: its statistics + hashlib SHA-256 of each tensor's (mmap'd) bytes", hashAll, "SHA-256 alone on all cores", goal: Goal.HashingThroughput);

            // 3. compare every tensor of the two files
            var (compare, seqCompare, compareBytes, changed, compareMem) = ReadRows.Compare(a, b, _repeat);
            var tCompare = readOnly ? TorchTimes.None : RunTorch("compare", a, b);
            table.Read("compare all tensors of the two files", compare, tCompare, compareBytes, compareMem,
                $"{changed} tensors changed; torch: load both + max|a-b| + allclose", seqCompare, goal: Goal.CompareAtReadSpeed);

            if (readOnly)
            {
                table.Print(fileBytes, loadBefore, Load(), _repeat);
                table.PrintGoals(null, 0);
                return 0;
            }

            // 4. writing: each against a copy of the same byte count flushed to disk, measured beside it
            foreach (var w in WriteBench.Run(a, b, outDir, _repeat, RunTorch)) table.Write(w);
            double importRatio = ExportBench.Run(a, outDir, _repeat, table);

            string loadAfter = Load();
            table.Print(fileBytes, loadBefore, loadAfter, _repeat);
            MetadataBench.Print(meta!, tLoad.Torch1 ?? double.NaN);
            table.PrintGoals(meta, tLoad.Torch1 ?? double.NaN, importRatio, tLoad.Torch2 ?? double.NaN);
            return 0;
        }

        /// <summary>
        /// --only meta: the metadata rows alone (no page-cache warm-up of the 1.3 GB files, no torch): 1200 opens in one
        /// process, then Import-Ckpt's core against Get-CkptInfo's, each printed beside its goal.
        /// </summary>
        private static int RunMetadataOnly(string a, string loadBefore)
        {
            var meta = MetadataBench.Run(a);
            var (info, import) = ExportBench.ImportAgainstInfo(a, _repeat);
            Console.WriteLine($"load average before {loadBefore}, after {Load()}");
            MetadataBench.Print(meta, double.NaN);
            Console.WriteLine($"import whole graph (Import-Ckpt core) {import * 1000:F2} ms against open + summary (Get-CkptInfo core) {info * 1000:F2} ms: {import / info:F2}× (goal ≤ 2×)");
            new Table(1).PrintGoals(meta, double.NaN, import / info);
            return 0;
        }

        private static string F0(double v) => v.ToString("F0", CultureInfo.InvariantCulture);

        /// <summary>The 1/5/15-minute load averages: the machine is shared, so every figure is quoted with them.</summary>
        private static string Load()
        {
            try { return string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
            catch (IOException) { return "?"; }
        }

        internal static long SequentialRead(string path, long limit = long.MaxValue)
        {
            var buffer = new byte[4 << 20];
            long total = 0;
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            int n;
            while (total < limit && (n = fs.Read(buffer, 0, (int)Math.Min(buffer.Length, limit - total))) > 0) total += n;
            return total;
        }

        internal static (double seconds, long rss) RunPython(string mode, params string[] args) =>
            RunScript(_script, mode, mode == "make" ? args : args.Append(_repeat.ToString(CultureInfo.InvariantCulture)).ToArray());

        /// <summary>One bench_torch.py task under each torch that is switched on, torch 2.x first (it is the one the goals name).</summary>
        internal static TorchTimes RunTorch(string mode, params string[] args)
        {
            var withRepeat = args.Append(_repeat.ToString(CultureInfo.InvariantCulture)).ToArray();
            (double? s, long rss) two = _torch2 ? TorchTwo.Run(_script, mode, withRepeat) : (null, 0);
            (double? s, long rss) one = _torch ? RunScript(_script, mode, withRepeat) : (null, 0);
            return new TorchTimes(one.s, one.rss, two.s, two.rss);
        }

        /// <summary>A script beside bench_torch.py.</summary>
        internal static string Script(string name) => Path.Combine(Path.GetDirectoryName(_script)!, name);

        // the measuring helpers ShardedBench uses
        internal static double Time(Action action, int repeat, out Memory memory) => Measure.Time(action, repeat, out memory);
        internal static string Mb(long bytes) => Measure.Mb(bytes);

        /// <summary>Runs a bench script in its own process; its last output line is {"seconds", "maxrss_bytes"}.</summary>
        internal static (double seconds, long rss) RunScript(string script, string mode, params string[] args) =>
            RunScriptWith(new[] { _python }, script, mode, args);

        /// <summary>Runs a bench script with the interpreter command <paramref name="python"/> (program and leading arguments).</summary>
        internal static (double seconds, long rss) RunScriptWith(string[] python, string script, string mode, params string[] args)
        {
            var psi = new ProcessStartInfo(python[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var p0 in python.Skip(1)) psi.ArgumentList.Add(p0);
            psi.ArgumentList.Add(script);
            psi.ArgumentList.Add(mode);
            foreach (var a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            var output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException($"{Path.GetFileName(script)} {mode} failed: {err.Result}");
            if (mode == "make" || mode == "make_many") return (0, 0);
            using var doc = JsonDocument.Parse(output.Trim().Split('\n').Last());
            return (doc.RootElement.GetProperty("seconds").GetDouble(), doc.RootElement.GetProperty("maxrss_bytes").GetInt64());
        }

        internal static string FindScript(string name)
        {
            foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
            {
                var dir = new DirectoryInfo(start);
                while (dir != null && !File.Exists(Path.Combine(dir.FullName, "bench", name))) dir = dir.Parent;
                if (dir != null) return Path.Combine(dir.FullName, "bench", name);
            }
            throw new InvalidOperationException($"cannot find bench/{name} above " + AppContext.BaseDirectory);
        }
    }
}

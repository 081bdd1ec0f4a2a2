using System;
using System.IO;
using System.Linq;
using LightningCkpt.Writing;

namespace LightningCkpt.Bench
{
    /// <summary>
    /// Consolidation of ~1.3 GB sharded checkpoints (torch 1.13 DCP, 4 row shards per tensor; DeepSpeed ZeRO-3, 4 ranks)
    /// with Select-CkptWeights' engine, against copying the same bytes (cp) and against torch loading the shards into
    /// full tensors and saving them, in one run. Memory: peak growth of anonymous RSS (ours, sampled) and torch's maxrss.
    /// </summary>
    internal static class ShardedBench
    {
        public static int Run(string work, int repeat)
        {
            var script = Program.Script("sharded_bench.py");
            if (!File.Exists(Path.Combine(work, "dcp", ".metadata")) || !File.Exists(Path.Combine(work, "ds", "latest")))
            {
                Console.WriteLine($"making the sharded checkpoints in {work} with torch …");
                Program.RunScript(script, "make", work);
            }
            Console.WriteLine("| row | ours s | cp s | torch s | ours/cp | torch/ours | ours anon peak | largest tensor | torch maxrss |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
            foreach (var (name, mode) in new[] { ("dcp", "dcp"), ("ds", "ds") })
            {
                var src = Path.Combine(work, name);
                var files = Directory.GetFiles(src, "*", SearchOption.AllDirectories);
                foreach (var f in files) Copy(f, Path.Combine(work, "warm.tmp")); // page cache warm for every side
                var copyDir = Path.Combine(work, "copy");
                double cp = Program.Time(() =>
                {
                    if (Directory.Exists(copyDir)) Directory.Delete(copyDir, true);
                    Directory.CreateDirectory(copyDir);
                    foreach (var f in files) Copy(f, Path.Combine(copyDir, Path.GetFileName(f)));
                }, repeat, out _);
                long largest = 0;
                foreach (var ext in new[] { ".pt", ".safetensors" })
                {
                    var outFile = Path.Combine(work, name + "_ours" + ext);
                    double ours = Program.Time(() =>
                    {
                        if (File.Exists(outFile)) File.Delete(outFile);
                        var c = Checkpoint.Open(src);
                        largest = c.View.Weights.Max(w => w.Tensor.NBytes);
                        var o = new SelectOptions();
                        WeightSelection.Write(c, WeightSelection.Select(c, o), o, outFile, WeightSelection.FormatFor(outFile), false);
                    }, repeat, out var mem);
                    var torchOut = Path.Combine(work, name + "_torch.pt");
                    var (torchS, torchRss) = ext == ".pt" ? Program.RunScript(script, mode, src, torchOut) : (double.NaN, 0L);
                    if (File.Exists(torchOut)) File.Delete(torchOut);
                    Console.WriteLine($"| {name} → {ext} | {ours:F2} | {cp:F2} | {(double.IsNaN(torchS) ? "" : torchS.ToString("F2"))} | {ours / cp:F2} | {(double.IsNaN(torchS) ? "" : (torchS / ours).ToString("F2"))} | {Program.Mb(mem.AnonPeakDelta)} | {Program.Mb(largest)} | {(torchRss > 0 ? Program.Mb(torchRss) : "")} |");
                    File.Delete(outFile);
                }
                Directory.Delete(copyDir, true);
            }
            File.Delete(Path.Combine(work, "warm.tmp"));
            return 0;
        }

        /// <summary>cp: a plain stream copy with a 1 MB buffer (what cp does with the page cache warm).</summary>
        private static void Copy(string from, string to)
        {
            using var a = new FileStream(from, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
            using var b = new FileStream(to, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
            a.CopyTo(b, 1 << 20);
        }
    }
}

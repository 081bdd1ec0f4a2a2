using System;
using System.IO;
using System.Linq;
using LightningCkpt.Writing;

namespace LightningCkpt.Bench
{
    /// <summary>
    /// Consolidation of ~1.3 GB sharded checkpoints (torch 1.13 DCP, 4 row shards per tensor; torch 2.x DCP of DTensors
    /// on 2 gloo ranks; DeepSpeed ZeRO-3, 4 ranks) with Select-CkptWeights' engine, and of a ~1.3 GB ZeRO-3 folder with its Adam state by Import-Ckpt | Export-Ckpt, against copying the same bytes (cp) and against torch loading the shards into
    /// full tensors and saving them (torch 2.x: its own dcp_to_torch_save of the folder it wrote), in one run. Memory: peak growth of anonymous RSS (ours, sampled) and torch's maxrss.
    /// </summary>
    internal static class ShardedBench
    {
        /// <summary>
        /// <paramref name="only"/> (dcp or ds) and <paramref name="onlyExt"/> (.pt or .safetensors) pick rows; outputs
        /// and copies go to <paramref name="outDir"/>; without <paramref name="torch"/> the torch column stays empty.
        /// </summary>
        public static int Run(string work, string outDir, int repeat, string? only, string? onlyExt, bool torch, bool torch2)
        {
            var script = Program.Script("sharded_bench.py");
            var script2 = Program.Script("sharded_bench2.py");
            if (!File.Exists(Path.Combine(work, "dcp", ".metadata")) || !File.Exists(Path.Combine(work, "ds", "latest")) || !File.Exists(Path.Combine(work, "dsopt", "latest")))
            {
                Console.WriteLine($"making the sharded checkpoints in {work} with torch …");
                Program.RunScript(script, "make", work);
            }
            // torch 2.x cannot read torch 1.13's DCP metadata: its row is a folder torch 2.x's dcp.save wrote on 2 ranks
            if (torch2 && (only == null || only == "dcp2") && !File.Exists(Path.Combine(work, "dcp2", ".metadata")))
            {
                Console.WriteLine($"making the torch 2.x DCP folder in {work} with torch 2.x on 2 gloo ranks …");
                TorchTwo.Run(script2, "make", work);
            }
            Console.WriteLine("| row | ours s | cp s | torch 1.13 s | ours/cp | torch 1.13/ours | torch 2.x s | torch 2.x/ours | ours anon peak | largest tensor | torch maxrss 1.13 / 2.x |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
            foreach (var (name, mode) in new[] { ("dcp", "dcp"), ("dcp2", "dcp"), ("ds", "ds"), ("dsopt", "dsopt") })
            {
                if (only != null && only != name) continue;
                bool byTorch2 = name == "dcp2"; // written by torch 2.x: only torch 2.x consolidates it
                if (byTorch2 && !File.Exists(Path.Combine(work, name, ".metadata"))) continue;
                // full consolidation (issue 22): the folder with its Adam state, Import-Ckpt | Export-Ckpt, torch file only
                bool full = name == "dsopt";
                var src = Path.Combine(work, name);
                var files = Directory.GetFiles(src, "*", SearchOption.AllDirectories);
                foreach (var f in files) Copy(f, Path.Combine(outDir, "warm.tmp")); // page cache warm for every side
                Sync();
                var copyDir = Path.Combine(outDir, "copy");
                double cp = Program.Time(() =>
                {
                    if (Directory.Exists(copyDir)) Directory.Delete(copyDir, true);
                    Directory.CreateDirectory(copyDir);
                    foreach (var f in files) Copy(f, Path.Combine(copyDir, Path.GetFileName(f)));
                }, repeat, out _);
                // cp leaves its copy dirty in the page cache: written back now, untimed, so that the row measured next
                // does not pay for cp's writeback (cp and torch.save do not fsync; ours does, before its rename)
                Sync();
                long largest = 0;
                foreach (var ext in new[] { ".pt", ".safetensors" })
                {
                    if (onlyExt != null && onlyExt != ext) continue;
                    if (full && ext != ".pt") continue;
                    var outFile = Path.Combine(outDir, name + "_ours" + ext);
                    double ours = Program.Time(() =>
                    {
                        if (File.Exists(outFile)) File.Delete(outFile);
                        if (full)
                        {
                            var graph = CkptGraph.Load(src, out var source);
                            largest = source.View.Weights.Max(w => w.Tensor.NBytes);
                            CheckpointExport.Write(graph, outFile, overwrite: false);
                            return;
                        }
                        var c = Checkpoint.Open(src);
                        largest = c.View.Weights.Max(w => w.Tensor.NBytes);
                        var o = new SelectOptions();
                        WeightSelection.Write(c, WeightSelection.Select(c, o), o, outFile, WeightSelection.FormatFor(outFile), false);
                    }, repeat, out var mem);
                    var torchOut = Path.Combine(outDir, name + "_torch.pt");
                    var (torchS, torchRss) = ext == ".pt" && torch && !byTorch2 ? Program.RunScript(script, mode, src, torchOut) : (double.NaN, 0L);
                    if (File.Exists(torchOut)) File.Delete(torchOut);
                    // torch 2.x consolidates the folder it wrote; after its write, the same sync as after cp
                    var (torch2S, torch2Rss) = ext == ".pt" && torch2 && byTorch2 ? TorchTwo.Run(script2, mode, src, torchOut) : (double.NaN, 0L);
                    if (File.Exists(torchOut)) File.Delete(torchOut);
                    Sync();
                    Console.WriteLine($"| {(full ? "ds + Adam, Import→Export" : name == "dcp2" ? "dcp2 (torch 2.x DTensors, 2 ranks)" : name)} → {ext} | {ours:F2} | {cp:F2} | {S(torchS)} | {ours / cp:F2} | {(double.IsNaN(torchS) ? "" : (torchS / ours).ToString("F2"))} | {S(torch2S)} | {(double.IsNaN(torch2S) ? "" : (torch2S / ours).ToString("F2"))} | {Program.Mb(mem.AnonPeakDelta)} | {Program.Mb(largest)} | {(torchRss > 0 ? Program.Mb(torchRss) : "")} / {(torch2Rss > 0 ? Program.Mb(torch2Rss) : "")} |");
                    File.Delete(outFile);
                    Sync();
                }
                Directory.Delete(copyDir, true);
            }
            File.Delete(Path.Combine(outDir, "warm.tmp"));
            return 0;
        }

        private static string S(double seconds) => double.IsNaN(seconds) ? "" : seconds.ToString("F2");

        /// <summary>sync(1): every dirty page of the machine written back, so each row starts from clean writeback.</summary>
        private static void Sync()
        {
            using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("sync") { UseShellExecute = false })!;
            p.WaitForExit();
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

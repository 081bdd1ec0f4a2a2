using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using LightningCkpt.Writing;

namespace LightningCkpt.Bench
{
    /// <summary>Select-and-write of the first half of the weights vs a raw copy of the same bytes vs torch load-filter-save.</summary>
    public static class SelectWriteBench
    {
        public static IReadOnlyList<BenchRow> Run(string checkpointPath, string workDir)
        {
            Directory.CreateDirectory(workDir);
            string outFile = Path.Combine(workDir, "select_half.pt");
            string copy = Path.Combine(workDir, "raw_copy.bin");
            double ours = double.MaxValue, raw = double.MaxValue;
            long bytes = 0;
            int selected = 0;
            // best of three for both, alternating, so writeback of the previous file hits both sides alike
            for (int round = 0; round < 3; round++)
            {
                if (File.Exists(outFile)) File.Delete(outFile);
                var sw = Stopwatch.StartNew();
                var c = Checkpoint.Open(checkpointPath);
                var half = new HashSet<string>(c.View.Weights.Take((c.View.Weights.Count + 1) / 2).Select(w => w.Name), StringComparer.Ordinal);
                var opt = new SelectOptions { Filter = half.Contains, StripPrefixes = new[] { "model." } };
                var sel = WeightSelection.Select(c, opt);
                WeightSelection.Write(c, sel, opt, outFile, WeightsFileFormat.TorchZip, true);
                ours = Math.Min(ours, sw.Elapsed.TotalSeconds);
                bytes = new FileInfo(outFile).Length;
                selected = sel.Count;
                raw = Math.Min(raw, RawCopy(checkpointPath, copy, bytes));
            }

            double? torch = null;
            string script = FindScript();
            if (File.Exists("/usr/bin/python3") && script != null)
            {
                var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
                psi.ArgumentList.Add(script); psi.ArgumentList.Add(checkpointPath); psi.ArgumentList.Add(Path.Combine(workDir, "torch_half.pt"));
                using var p = Process.Start(psi)!;
                string o = p.StandardOutput.ReadToEnd(); p.StandardError.ReadToEnd(); p.WaitForExit();
                var m = Regex.Match(o, "seconds=([0-9.eE+-]+)");
                if (p.ExitCode == 0 && m.Success) torch = double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            }
            return new[]
            {
                new BenchRow("select-write half of weights (torch zip)", ours, torch, bytes, $"{selected} tensors; raw copy of same bytes {raw:F3}s ({ours / raw:F2}× of it)"),
            };
        }

        /// <summary>A plain read+write loop of the same byte count, flushed to disk like our writer: the physical limit.</summary>
        private static double RawCopy(string source, string copy, long bytes)
        {
            var sw = Stopwatch.StartNew();
            using (var src = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20))
            using (var dst = new FileStream(copy, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                var buf = new byte[1 << 20];
                long left = bytes;
                while (left > 0)
                {
                    int n = src.Read(buf, 0, (int)Math.Min(buf.Length, left));
                    if (n <= 0) break;
                    dst.Write(buf, 0, n);
                    left -= n;
                }
                dst.Flush(true);
            }
            double seconds = sw.Elapsed.TotalSeconds;
            File.Delete(copy);
            return seconds;
        }

        private static string FindScript()
        {
            DirectoryInfo? dir = null;
            foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
            {
                dir = new DirectoryInfo(start);
                while (dir != null && !File.Exists(Path.Combine(dir.FullName, "bench", "select_bench.py"))) dir = dir.Parent;
                if (dir != null) break;
            }
            return dir == null ? null! : Path.Combine(dir.FullName, "bench", "select_bench.py");
        }
    }
}

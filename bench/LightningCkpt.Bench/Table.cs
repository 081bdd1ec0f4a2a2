using System;
using System.Collections.Generic;
using System.Globalization;

namespace LightningCkpt.Bench
{
    /// <summary>Issue 11's read goals, defined on the fp32 bench checkpoint: a row says which one it is measured for.</summary>
    public enum Goal { None, StatisticsAtReadSpeed, HashingThroughput, CompareAtReadSpeed }

    /// <summary>The benchmark table: every ratio printed next to the limit it is measured against, from the same run.</summary>
    public sealed class Table
    {
        private sealed record Line(string Task, double Ours, TorchTimes Torch, string Throughput, string Limit, string Mem, string Note, double? LimitRatio, Memory? Memory, Goal Goal = Goal.None);

        private readonly List<Line> _lines = new List<Line>();
        private readonly double _seqRate;

        public Table(double seqRate) => _seqRate = seqRate;

        private static string F(double v, string f) => v.ToString(f, CultureInfo.InvariantCulture);

        /// <summary>
        /// A read path; <paramref name="seqSameBytes"/> is the limit measured beside it on the same byte count: a
        /// sequential read unless <paramref name="limitName"/> names another. <paramref name="goal"/>: the issue 11 goal
        /// line this row is checked against (rows on other inputs, such as the bfloat16 file, have none).
        /// </summary>
        public void Read(string task, double ours, TorchTimes torch, double? bytes, Memory? mem, string note, double? seqSameBytes = null,
            string limitName = "seq. read", Goal goal = Goal.None)
        {
            string gbs = bytes is double by ? F(by / ours / 1e9, "F2") : "";
            double? ratio = seqSameBytes is double s ? s / ours : bytes is double b2 ? b2 / ours / _seqRate : null;
            string limit = ratio is double r ? $"{F(r * 100, "F0")} % of {limitName}" + (seqSameBytes is double s2 ? $" ({F(s2, "F3")} s)" : "") : "";
            _lines.Add(new Line(task, ours, torch, gbs, limit, mem?.ToString() ?? "", note, ratio, mem, goal));
        }

        public void Write(WriteRow w)
        {
            double x = w.OursSeconds / w.CopySeconds;
            _lines.Add(new Line(w.Task, w.OursSeconds, w.Torch, F(w.Bytes / w.OursSeconds / 1e9, "F2"),
                $"{F(x, "F2")}× cp+fsync ({F(w.CopySeconds, "F3")} s)", w.Memory?.ToString() ?? "", $"{w.Note}; {F(w.Bytes / 1e6, "F0")} MB written", x, w.Memory));
        }

        public void Print(long fileBytes, string loadBefore, string loadAfter, int repeat)
        {
            Console.WriteLine();
            Console.WriteLine($"file: {F(fileBytes / 1e9, "F2")} GB; {Environment.ProcessorCount} cores; load average {loadBefore} before, {loadAfter} after; " +
                $"sequential read {F(_seqRate / 1e9, "F2")} GB/s; ours and torch both warm, best of {repeat}");
            Console.WriteLine();
            Console.WriteLine("| task | ours (s) | torch 2.x (s) | torch 2.x/ours | torch 1.13 (s) | torch 1.13/ours | GB/s | against the limit (same run) | ours: managed peak / anon RSS Δpeak | torch maxrss: 1.13 / 2.x | note |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---|---|---:|---|");
            foreach (var l in _lines)
            {
                Console.WriteLine($"| {l.Task} | {F(l.Ours, "F4")} | {l.Torch.Seconds2} | {TorchTimes.Ratio(l.Torch.Torch2, l.Ours)} | {l.Torch.Seconds1} | {TorchTimes.Ratio(l.Torch.Torch1, l.Ours)} | {l.Throughput} | {l.Limit} | {l.Mem} | {l.Torch.Memory} | {l.Note} |");
            }
        }

        /// <summary>The goals of issue 11 with this run's figures; <paramref name="meta"/> is null when the metadata rows did not run.</summary>
        /// <param name="torchLoad">torch 1.13's torch.load warm seconds; NaN when torch was not run.</param>
        /// <param name="importRatio">Import-Ckpt core over Get-CkptInfo core; NaN when not measured.</param>
        /// <param name="torch2Load">torch 2.x's torch.load(mmap=True, weights_only=True) warm seconds; NaN when not run.</param>
        public void PrintGoals(MetadataBench.Result? meta, double torchLoad, double importRatio = double.NaN, double torch2Load = double.NaN)
        {
            var goals = new List<(string goal, string measured, bool met)>();
            if (meta != null)
            {
                goals.Add(("Get-CkptInfo warm median ≤ 1.0 ms (calls 1000+)", F(meta.Late.Median, "F3") + " ms", meta.Late.Median <= 1.0));
                goals.Add(("Get-CkptInfo warm mean ≤ 1.5 ms (calls 1000+)", F(meta.Late.Mean, "F3") + " ms", meta.Late.Mean <= 1.5));
                if (!double.IsNaN(torchLoad))
                    goals.Add(("Get-CkptInfo ≥ 500× torch.load warm", F(torchLoad / (meta.Late.Median / 1000), "F0") + "×", torchLoad / (meta.Late.Median / 1000) >= 500));
                if (!double.IsNaN(torch2Load))
                    goals.Add(("Get-CkptInfo in a session ≥ 20× torch 2.x mmap load (issue 24)", F(torch2Load / (meta.Late.Median / 1000), "F1") + "×", torch2Load / (meta.Late.Median / 1000) >= 20));
                goals.Add(("no full GC while opening (gen 2 collections in 1200 opens)", meta.Gen2.ToString(CultureInfo.InvariantCulture), meta.Gen2 == 0));
            }
            if (!double.IsNaN(importRatio)) goals.Add(("Import-Ckpt core ≤ 2× Get-CkptInfo core", F(importRatio, "F2") + "×", importRatio <= 2));
            foreach (var l in _lines)
            {
                if (l.Goal == Goal.StatisticsAtReadSpeed) goals.Add(("statistics ≥ 75 % of a sequential read of the same bytes", l.Limit, l.LimitRatio >= 0.75));
                if (l.Goal == Goal.HashingThroughput) goals.Add(("statistics + SHA-256 ≥ 2 GB/s", l.Throughput + " GB/s", double.Parse(l.Throughput, CultureInfo.InvariantCulture) >= 2));
                if (l.Goal == Goal.CompareAtReadSpeed) goals.Add(("Compare ≥ 100 % of a sequential read of the same bytes", l.Limit, l.LimitRatio >= 1.0));
                if (l.Task.StartsWith("Select-CkptWeights -DType", StringComparison.Ordinal) || l.Task.StartsWith("Merge-CkptWeights of", StringComparison.Ordinal))
                {
                    goals.Add((l.Task + " ≤ 1.5× cp+fsync", l.Limit, l.LimitRatio <= 1.5));
                    goals.Add((l.Task + " faster than torch 1.13", l.Torch.Torch1 is double t ? F(t / l.Ours, "F2") + "× torch" : "no torch figure", l.Torch.Torch1 is double t3 && t3 > l.Ours));
                }
                // issue 24: every data row at least twice as fast as torch 2.x's best recipe on the same threads
                if (l.Torch.Torch2 is double t2 && l.Goal != Goal.None || l.Torch.Torch2 is double && (l.Task.StartsWith("Select-CkptWeights -DType", StringComparison.Ordinal) || l.Task.StartsWith("Merge-CkptWeights of", StringComparison.Ordinal)))
                    goals.Add((l.Task + " ≥ 2× torch 2.x (issue 24)", F(l.Torch.Torch2!.Value / l.Ours, "F2") + "× torch 2.x", l.Torch.Torch2.Value / l.Ours >= 2));
                // the TIES row (issue 21) is held to the memory goal only: it reads every input (three models and the base) three times
                if (l.Memory != null) goals.Add(($"anonymous memory < 64 MB: {l.Task}", Measure.Mb(l.Memory.AnonPeakDelta), l.Memory.AnonPeakDelta < 64L << 20));
            }
            Console.WriteLine();
            Console.WriteLine("| goal (issues 11 and 24) | this run | met |");
            Console.WriteLine("|---|---|---|");
            foreach (var (goal, measured, met) in goals) Console.WriteLine($"| {goal} | {measured} | {(met ? "yes" : "no")} |");
        }
    }
}

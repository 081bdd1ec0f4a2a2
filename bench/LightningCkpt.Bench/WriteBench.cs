using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using LightningCkpt.Torch;
using LightningCkpt.Writing;

namespace LightningCkpt.Bench
{
    /// <summary>One writing task: our best time, the output size, the copy-and-fsync limit of that size, torch's best time.</summary>
    public sealed record WriteRow(string Task, double OursSeconds, long Bytes, double CopySeconds, TorchTimes Torch, string Note, Memory? Memory = null);

    /// <summary>Select-and-write (half the weights; all weights cast to bfloat16) and Merge, each beside a flushed copy of its output size.</summary>
    public static class WriteBench
    {
        public static IEnumerable<WriteRow> Run(string a, string b, string work, int repeat, Func<string, string[], TorchTimes> torch, string? only = null)
        {
            if (only == null || only == "half") yield return Half(a, work, repeat, torch);
            if (only == null || only == "cast") yield return Cast(a, work, repeat, torch);
            if (only == null || only == "merge") yield return Merge(a, b, work, repeat, torch);
            if (only == null || only == "ties") yield return Ties(a, b, work, repeat);
        }

        private static WriteRow Half(string a, string work, int repeat, Func<string, string[], TorchTimes> torch)
        {
            string half = Path.Combine(work, "select_half.pt");
            return Row("select-write half of the weights (torch zip)", work, a, repeat, half, () =>
            {
                var c = Checkpoint.Open(a);
                var keep = new HashSet<string>(c.View.Weights.Take((c.View.Weights.Count + 1) / 2).Select(w => w.Name), StringComparer.Ordinal);
                var opt = new SelectOptions { Filter = keep.Contains, StripPrefixes = new[] { "model." } };
                WeightSelection.Write(c, WeightSelection.Select(c, opt), opt, half, WeightsFileFormat.TorchZip, true);
                return $"{keep.Count} tensors";
            }, torch("half", new[] { a, Path.Combine(work, "torch_half.pt") }));
        }

        private static WriteRow Cast(string a, string work, int repeat, Func<string, string[], TorchTimes> torch)
        {
            string cast = Path.Combine(work, "select_bf16.pt");
            return Row("Select-CkptWeights -DType bfloat16, all weights", work, a, repeat, cast, () =>
            {
                var c = Checkpoint.Open(a);
                var opt = new SelectOptions { CastTo = DType.BFloat16 };
                var sel = WeightSelection.Select(c, opt);
                WeightSelection.Write(c, sel, opt, cast, WeightsFileFormat.TorchZip, true);
                return $"{sel.Count} tensors float32 → bfloat16";
            }, torch("cast", new[] { a, Path.Combine(work, "torch_bf16.pt") }));
        }

        private static WriteRow Merge(string a, string b, string work, int repeat, Func<string, string[], TorchTimes> torch)
        {
            string merged = Path.Combine(work, "merge_ab.pt");
            return Row("Merge-CkptWeights of the two files (mean)", work, a, repeat, merged, () =>
            {
                var inputs = new[] { Checkpoint.Open(a), Checkpoint.Open(b) };
                WeightsAverager.Merge(inputs, null, merged, WeightsFileFormat.TorchZip, true, null);
                return $"{inputs[0].View.Weights.Count} tensors averaged";
            }, torch("merge", new[] { a, b, Path.Combine(work, "torch_merge.pt") }));
        }

        /// <summary>
        /// TIES of three checkpoints on a base (issue 21's memory goal: anonymous memory &lt; 64 MB whatever the inputs):
        /// base bench_a; models bench_b and two mixes of a and b written once before the timing (same names, shapes
        /// and dtypes, different values). No torch side: torch would need every task vector in memory at once.
        /// </summary>
        private static WriteRow Ties(string a, string b, string work, int repeat)
        {
            string mid = Path.Combine(work, "ties_model_mid.pt"), far = Path.Combine(work, "ties_model_far.pt"), merged = Path.Combine(work, "ties_abc.pt");
            if (!File.Exists(mid)) WeightsAverager.Merge(new[] { Checkpoint.Open(a), Checkpoint.Open(b) }, null, mid, WeightsFileFormat.TorchZip, true, null);
            if (!File.Exists(far)) WeightsAverager.Merge(new[] { Checkpoint.Open(a), Checkpoint.Open(b) }, new[] { 0.25, 0.75 }, far, WeightsFileFormat.TorchZip, true, null);
            return Row("Merge-CkptWeights -Method Ties of three files on a base (d = 0.2)", work, a, repeat, merged, () =>
            {
                var models = new[] { Checkpoint.Open(b), Checkpoint.Open(mid), Checkpoint.Open(far) };
                var request = new Writing.Merging.MergeRequest { Method = Writing.Merging.MergeMethod.Ties, Base = Checkpoint.Open(a), Density = 0.2 };
                Writing.Merging.CheckpointMerger.Merge(models, request, merged, WeightsFileFormat.TorchZip, true);
                return $"{models[0].View.Weights.Count} tensors, 3 models + base";
            }, TorchTimes.None);
        }

        internal static WriteRow Row(string task, string work, string source, int repeat, string output, Func<string> ours, TorchTimes torch)
        {
            double best = double.MaxValue, copy = double.MaxValue;
            string note = "";
            var mem = new Memory();
            // alternating, so the writeback of the previous file weighs on both sides alike
            for (int r = 0; r < repeat; r++)
            {
                if (File.Exists(output)) File.Delete(output);
                best = Math.Min(best, Measure.Time(() => note = ours(), 1, out var m));
                mem.ManagedPeak = Math.Max(mem.ManagedPeak, m.ManagedPeak);
                mem.AnonPeakDelta = Math.Max(mem.AnonPeakDelta, m.AnonPeakDelta);
                copy = Math.Min(copy, Measure.CopyFsync(source, work, new FileInfo(output).Length, 1));
            }
            return new WriteRow(task, best, new FileInfo(output).Length, copy, torch, note, mem);
        }
    }
}

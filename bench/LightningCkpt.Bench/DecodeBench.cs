using System;
using System.IO;
using System.Linq;
using LightningCkpt.Data;
using LightningCkpt.Torch;
using LightningCkpt.Writing;

namespace LightningCkpt.Bench
{
    /// <summary>
    /// --only decode: the element-conversion rows on bfloat16 weights (mixed-precision checkpoints): statistics of
    /// every weight against a sequential read of the same bytes, Compare of two bfloat16 files against a sequential
    /// read of both, Merge of the two and Select -DType float32 of one against cp+fsync of the output size, each with
    /// torch's time for the same task in the same run. The inputs are <c>WORK/select_bf16.pt</c> (the cast row's output of bench_a, never rewritten)
    /// and its twin from bench_b, made once in OUT.
    /// </summary>
    public static class DecodeBench
    {
        public static int Run(string work, string outDir, int repeat, bool torch, string loadBefore, Func<string> load)
        {
            string a = Path.Combine(work, "select_bf16.pt"), b = Path.Combine(outDir, "select_bf16_b.pt");
            if (!File.Exists(a))
            {
                Console.Error.WriteLine($"{a} is missing: run the bench's cast row (--only write --row cast) first");
                return 2;
            }
            if (!File.Exists(b)) MakeTwin(Path.Combine(work, "bench_b.ckpt"), b);
            Console.WriteLine($"bfloat16 inputs {a} and {b}");
            Func<string, string[], TorchTimes> torchSide = torch ? Program.RunTorch : (_, _) => TorchTimes.None;

            // both files in the page cache, as for every other row
            double seq = Measure.Time(() => Program.SequentialRead(a), repeat, out _);
            Program.SequentialRead(b);
            var table = new Table(new FileInfo(a).Length / seq);

            var (stats, seqWeights, weightBytes, statsMem) = ReadRows.Statistics(a, repeat);
            var tStats = torchSide("stats", new[] { a });
            table.Read("statistics of all weights, bfloat16 file", stats, tStats, weightBytes, statsMem,
                "torch 1.13: load + per-tensor min/max/mean/std in double; torch 2.x: mmap + native bfloat16 reductions", seqWeights);

            var (compare, seqCompare, compareBytes, changed, compareMem) = ReadRows.Compare(a, b, repeat);
            var tCompare = torchSide("compare", new[] { a, b });
            table.Read("compare two bfloat16 files", compare, tCompare, compareBytes, compareMem,
                $"{changed} tensors changed; torch: load both + max|a-b| + allclose", seqCompare);

            string merged = Path.Combine(outDir, "merge_bf16.pt");
            table.Write(WriteBench.Row("Merge-CkptWeights of two bfloat16 files (mean)", outDir, a, repeat, merged, () =>
            {
                var inputs = new[] { Checkpoint.Open(a), Checkpoint.Open(b) };
                WeightsAverager.Merge(inputs, null, merged, WeightsFileFormat.TorchZip, true, null);
                return $"{inputs[0].View.Weights.Count} tensors averaged";
            }, torchSide("merge", new[] { a, b, Path.Combine(outDir, "torch_merge_bf16.pt") })));

            string upcast = Path.Combine(outDir, "select_f32_from_bf16.pt");
            table.Write(WriteBench.Row("Select-CkptWeights -DType float32 of the bfloat16 file", outDir, a, repeat, upcast, () =>
            {
                var c = Checkpoint.Open(a);
                var opt = new SelectOptions { CastTo = DType.Float32 };
                var sel = WeightSelection.Select(c, opt);
                WeightSelection.Write(c, sel, opt, upcast, WeightsFileFormat.TorchZip, true);
                return $"{sel.Count} tensors bfloat16 → float32";
            }, torchSide("upcast", new[] { a, Path.Combine(outDir, "torch_f32_from_bf16.pt") })));

            table.Print(new FileInfo(a).Length, loadBefore, load(), repeat);
            table.PrintGoals(null, 0);
            return 0;
        }

        /// <summary>bench_b's weights cast to bfloat16, as the cast row casts bench_a's: the twin Compare and Merge need.</summary>
        private static void MakeTwin(string source, string outFile)
        {
            Console.WriteLine($"making {outFile} from {source} …");
            var c = Checkpoint.Open(source);
            var opt = new SelectOptions { CastTo = DType.BFloat16 };
            WeightSelection.Write(c, WeightSelection.Select(c, opt), opt, outFile, WeightsFileFormat.TorchZip, true);
        }
    }
}

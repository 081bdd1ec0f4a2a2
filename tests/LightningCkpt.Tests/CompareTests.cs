using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using LightningCkpt.Data;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>CheckpointComparer against torch (data_case.py) and on the Lightning samples.</summary>
    public class CompareTests
    {
        private static string Sample(string version, string file) =>
            Path.Combine(RepoPaths.Samples, "lightning_logs", version, "checkpoints", file);

        [SkippableTheory]
        [InlineData(1, "torch1")]
        [InlineData(0, "torch1")] // 0 = a fresh seed per run
        [InlineData(1, "torch2")]
        [InlineData(0, "torch2")]
        public void DifferencesMatchTorch(int fixedSeed, string oracle)
        {
            int seed = fixedSeed != 0 ? fixedSeed : DataOracle.FreshSeed();
            using var o = DataOracle.Make(seed, oracle);
            var root = o.Truth.RootElement;
            var tols = root.GetProperty("tolerances").EnumerateArray().Select(t => (rtol: t[0].GetDouble(), atol: t[1].GetDouble())).ToList();
            var errors = new List<string>();
            for (int k = 0; k < tols.Count; k++)
            {
                var options = new CompareOptions { RelativeTolerance = tols[k].rtol, AbsoluteTolerance = tols[k].atol, IncludeEqual = true, AllTensors = true };
                var progress = new List<CompareProgress>();
                var rows = CheckpointComparer.Compare(Checkpoint.Open(o.A), Checkpoint.Open(o.B), options, progress.Add)
                    .Where(r => r.Kind == "Tensor").ToDictionary(r => r.Name);
                Assert.Equal(rows.Count, progress.Last().Total);
                Assert.Equal(progress.Last().Total, progress.Last().Done);
                foreach (var s in root.GetProperty("status").EnumerateObject())
                    if (rows[s.Name].Status.ToString() != s.Value.GetString()) errors.Add($"{s.Name}: expected {s.Value.GetString()}, got {rows[s.Name].Status}");
                foreach (var d in root.GetProperty("diffs").EnumerateObject())
                {
                    var row = rows[d.Name];
                    Assert.Equal(o.A, row.ReferencePath);
                    Assert.Equal(o.B, row.DifferencePath);
                    var e = d.Value;
                    bool identical = e.GetProperty("identical").GetBoolean();
                    bool close = e.GetProperty("allclose")[k].GetBoolean();
                    var expected = identical || close ? DiffStatus.Equal : DiffStatus.Changed;
                    string what = $"{d.Name} [{string.Join(",", row.ReferenceShape!)}] {row.ReferenceDType} (rtol {tols[k].rtol}, atol {tols[k].atol})";
                    if (row.Status != expected) errors.Add($"{what}: torch says identical={identical} allclose={close}, we say {row.Status}");
                    if (!e.TryGetProperty("max_abs", out var maxAbs)) continue;
                    if (identical)
                    {
                        if (row.MaxAbsDiff != 0 || row.MeanAbsDiff != 0 || row.RelativeL2 != 0) errors.Add($"{what}: identical but numbers {row.MaxAbsDiff} {row.MeanAbsDiff} {row.RelativeL2}");
                        continue;
                    }
                    void Check(string name, double exp, double? act, double rel)
                    {
                        if (!DataOracle.Close(exp, act, rel)) errors.Add($"{what} {name}: torch {exp:R}, ours {act:R}");
                    }
                    Check("max_abs", DataOracle.Num(maxAbs), row.MaxAbsDiff, 0);
                    Check("mean_abs", DataOracle.Num(e.GetProperty("mean_abs")), row.MeanAbsDiff, 1e-9);
                    Check("rel_l2", DataOracle.Num(e.GetProperty("rel_l2")), row.RelativeL2, 1e-8);
                    var cos = e.GetProperty("cos");
                    if (cos.ValueKind == JsonValueKind.Null) { if (row.CosineSimilarity != null) errors.Add($"{what}: cos should be null"); }
                    else Check("cos", DataOracle.Num(cos), row.CosineSimilarity, 1e-8);
                }
            }
            Assert.True(errors.Count == 0, $"seed {seed}:\n" + string.Join("\n", errors));
        }

        [SkippableFact]
        public void AllcloseEdgesFollowTorch()
        {
            using var o = DataOracle.Make(3);
            var options = new CompareOptions { RelativeTolerance = 0.5, AbsoluteTolerance = 0.25, IncludeEqual = true };
            var rows = CheckpointComparer.Compare(Checkpoint.Open(o.A), Checkpoint.Open(o.B), options)
                .Where(r => r.Kind == "Tensor").ToDictionary(r => r.Name);
            // exactly at atol + rtol·|b| is close, one step above is not
            Assert.Equal(DiffStatus.Equal, rows["edge_at_float64"].Status);
            Assert.Equal(DiffStatus.Equal, rows["edge_at_float32"].Status);
            Assert.Equal(1.25, rows["edge_at_float64"].MaxAbsDiff);
            Assert.Equal(DiffStatus.Changed, rows["edge_above_float64"].Status);
            Assert.Equal(DiffStatus.Changed, rows["edge_above_float32"].Status);
            // inf matches inf of the same sign only; a NaN on one side is never close
            Assert.Equal(DiffStatus.Equal, rows["inf_same"].Status);
            Assert.Equal(DiffStatus.Changed, rows["inf_opposite"].Status);
            Assert.Equal(DiffStatus.Changed, rows["inf_finite"].Status);
            Assert.Equal(DiffStatus.Changed, rows["nan_one_side"].Status);
            Assert.True(double.IsNaN(rows["nan_one_side"].MaxAbsDiff!.Value));
            // identical values holding NaN are Equal, through a transposed (non-contiguous) view too
            Assert.Equal(DiffStatus.Equal, rows["nan_both_view"].Status);
            Assert.Equal(DiffStatus.Removed, rows["only_ref"].Status);
            Assert.Equal(DiffStatus.Added, rows["only_diff"].Status);
            Assert.Equal(DiffStatus.ShapeChanged, rows["reshaped"].Status);
            Assert.Equal(DiffStatus.DTypeChanged, rows["retyped"].Status);
            Assert.Equal("float32", rows["retyped"].ReferenceDType);
            Assert.Equal("float64", rows["retyped"].DifferenceDType);
        }

        [Fact]
        public void AFileAgainstItselfIsAllEqual()
        {
            var path = Sample("version_0", "epoch=2-step=30.ckpt");
            var a = Checkpoint.Open(path);
            var b = Checkpoint.Open(path);
            Assert.Empty(CheckpointComparer.Compare(a, b, new CompareOptions()));
            var all = CheckpointComparer.Compare(a, b, new CompareOptions { IncludeEqual = true, AllTensors = true }).ToList();
            Assert.All(all, r => Assert.Equal(DiffStatus.Equal, r.Status));
            var tensors = all.Where(r => r.Kind == "Tensor").ToList();
            Assert.Equal(CkptTensor.List(a, true).Count, tensors.Count);
            Assert.All(tensors.Where(r => r.MaxAbsDiff != null), r => Assert.Equal(0, r.MaxAbsDiff));
            Assert.Contains(all, r => r.Kind == "Metadata" && r.Name == "epoch" && r.ReferenceValue == "2");
        }

        [Fact]
        public void EpochZeroAndEpochTwoDifferInWeightsAndMetadata()
        {
            var a = Checkpoint.Open(Sample("version_0", "epoch=0-step=10.ckpt"));
            var b = Checkpoint.Open(Sample("version_0", "epoch=2-step=30.ckpt"));
            var rows = CheckpointComparer.Compare(a, b, new CompareOptions()).ToList();
            var epoch = rows.Single(r => r.Name == "epoch");
            Assert.Equal(("Metadata", DiffStatus.Changed, "0", "2"), (epoch.Kind, epoch.Status, epoch.ReferenceValue, epoch.DifferenceValue));
            var step = rows.Single(r => r.Name == "global_step");
            Assert.Equal(("10", "30"), (step.ReferenceValue, step.DifferenceValue));
            var weights = rows.Where(r => r.Kind == "Tensor").ToList();
            Assert.NotEmpty(weights);
            Assert.All(weights, r => Assert.Equal(DiffStatus.Changed, r.Status));
            Assert.All(weights, r => Assert.True(r.MaxAbsDiff > 0 && r.CosineSimilarity <= 1 + 1e-12 && r.RelativeL2 > 0, r.Name));
            Assert.Equal(CkptTensor.List(a, false).Count, weights.Count);

            // a name filter restricts the tensors; the metadata rows stay (issue 9: -Name must not hide them)
            var first = weights[0].Name;
            var filtered = CheckpointComparer.Compare(a, b, new CompareOptions { NameFilter = n => n == first }).ToList();
            Assert.Equal(first, Assert.Single(filtered, r => r.Kind == "Tensor").Name);
            var metadata = filtered.Where(r => r.Kind == "Metadata").Select(r => r.Name).ToList();
            Assert.Equal(new[] { "epoch", "global_step" }, metadata.Take(2));
            // the rest: the optimizer's lr and the scheduler's state, which moved with the epochs (issue 19 item 6)
            Assert.Contains("optimizer_states.0.param_groups.0.lr", metadata);
            Assert.Contains("lr_schedulers.0.last_epoch", metadata);
            Assert.All(metadata.Skip(2), n => Assert.True(n.StartsWith("optimizer_states.0.param_groups.0.", StringComparison.Ordinal) || n.StartsWith("lr_schedulers.0.", StringComparison.Ordinal), n));
        }

        [Fact]
        public void HyperParameterChangesAreMetadataRows()
        {
            var a = Checkpoint.Open(Sample("version_0", "last.ckpt"));
            var b = Checkpoint.Open(Sample("version_1", "epoch=1-step=30.ckpt"));
            var meta = CheckpointComparer.Compare(a, b, new CompareOptions { IncludeEqual = true }).Where(r => r.Kind == "Metadata").ToList();
            Assert.Contains(meta, r => r.Name == "pytorch-lightning_version");
            var hp = meta.Where(r => r.Name.StartsWith("hyper_parameters.")).ToList();
            Assert.NotEmpty(hp);
            Assert.All(hp, r => Assert.Equal(r.ReferenceValue == r.DifferenceValue ? DiffStatus.Equal : r.ReferenceValue == null ? DiffStatus.Added : r.DifferenceValue == null ? DiffStatus.Removed : DiffStatus.Changed, r.Status));
        }

        /// <summary>
        /// Pairs cut into ranges on several cores, read in cache-sized pieces (differences that start after an
        /// identical prefix, in one chunk, everywhere, a dtype change, complex, expanded and transposed views) give
        /// bit for bit the figures of one sequential pass: chunk sums from the first different chunk to the end, then
        /// the identical prefix, each chunk folded block by block.
        /// </summary>
        [SkippableFact]
        public void PairsSharedByWorkersGiveTheSequentialFiguresExactly()
        {
            Skip.IfNot(PythonOracle.HasTorch, "torch is not installed");
            var dir = Path.Combine(Path.GetTempPath(), "ckcmp-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                string a = Path.Combine(dir, "a.pt"), b = Path.Combine(dir, "b.pt");
                var code = "import torch; g=torch.Generator().manual_seed(5); r=lambda n: torch.randn(n, generator=g); " +
                           "x={'late': r(3_300_000), 'one': r(5_000_001).half(), 'all': r(2_100_000).double(), 'c64': torch.complex(r(1_500_000), r(1_500_000)), " +
                           "'same': r(2_000_000), 'cast': r(2_500_000), 'exp': r(2_200_000).expand(3, -1), 't': r(3_000_000).reshape(1000, 3000).t()}; " +
                           "y={k: v.clone() for k, v in x.items()}; y['late'][2_500_000:] += 1e-3; y['one'][4_000_000] += 1; y['all'] += 1e-9; " +
                           "y['c64'][1_400_000] += 1; y['cast'] = x['cast'].half(); y['exp'] = (x['exp'][0] + 1e-4).expand(3, -1); " +
                           "y['t'] = (x['t'].t() + r(3_000_000).reshape(1000, 3000) * 1e-3).t(); " +
                           $"torch.save(x, r'{a}'); torch.save(y, r'{b}')";
                Assert.True(PythonOracle.Run($"-c \"{code}\"", out var output) == 0, output);
                var ca = Checkpoint.Open(a);
                var cb = Checkpoint.Open(b);
                var o = new CompareOptions { AllTensors = true, IncludeEqual = true };
                var rows = CheckpointComparer.Compare(ca, cb, o).Where(r => r.Kind == "Tensor").ToDictionary(r => r.Name);
                var ta = CkptTensor.List(ca, true).ToDictionary(t => t.Name);
                var tb = CkptTensor.List(cb, true).ToDictionary(t => t.Name);
                Assert.Equal(8, rows.Count);
                foreach (var name in rows.Keys)
                {
                    var expected = SequentialNumbers(ta[name].Tensor, tb[name].Tensor, o);
                    var row = rows[name];
                    Assert.True(Bits(expected) == Bits(row), $"{name}: one pass {Bits(expected)}, ours {Bits(row)}");
                }
                Assert.Equal(DiffStatus.Equal, rows["same"].Status);
                Assert.Equal(DiffStatus.DTypeChanged, rows["cast"].Status);
                Assert.Equal(DiffStatus.Changed, rows["late"].Status);
            }
            finally { Directory.Delete(dir, true); }
        }

        private static string Bits(CkptDiff d) =>
            string.Join(" ", new[] { d.MaxAbsDiff, d.MeanAbsDiff, d.RelativeL2, d.CosineSimilarity }.Select(v => v.HasValue ? BitConverter.DoubleToInt64Bits(v.Value).ToString("x") : "null"));

        /// <summary>The reference: one reader per side walking whole read chunks in order, as a single pass would.</summary>
        private static CkptDiff SequentialNumbers(Torch.TensorRef a, Torch.TensorRef b, CompareOptions o)
        {
            long repeat = 1;
            if (a.Stride.Contains(0L)) { a = DistinctView.Of(a, out repeat); b = DistinctView.Of(b, out _); }
            var ka = CheckpointComparer.Kernel(ViewGeometry.Components(a)!.Value);
            var kb = CheckpointComparer.Kernel(ViewGeometry.Components(b)!.Value);
            bool float32 = ReferenceEquals(ka.DType, Torch.DType.Float32) && ReferenceEquals(kb.DType, Torch.DType.Float32);
            bool same = a.DType == b.DType;
            int comps = a.DType.IsComplex ? 2 : 1;
            long chunk = Math.Min(TensorDataReader.ChunkElements(a), TensorDataReader.ChunkElements(b));
            long chunks = (a.Numel + chunk - 1) / chunk;
            using var ra = new TensorDataReader();
            using var rb = new TensorDataReader();
            var x = new byte[Limits.ReadChunkBytes];
            var y = new byte[Limits.ReadChunkBytes];
            CheckpointComparer.DiffSums Chunk(long c)
            {
                int n = (int)Math.Min(chunk, a.Numel - c * chunk);
                ra.ReadElements(a, c * chunk, n, x);
                rb.ReadElements(b, c * chunk, n, y);
                var s = default(CheckpointComparer.DiffSums);
                CheckpointComparer.Sums(x, y, n * comps, ka, kb, float32, o, ref s);
                return s;
            }
            bool Identical(long c)
            {
                int n = (int)Math.Min(chunk, a.Numel - c * chunk);
                ra.ReadElements(a, c * chunk, n, x);
                rb.ReadElements(b, c * chunk, n, y);
                return x.AsSpan(0, n * a.DType.ItemSize).SequenceEqual(y.AsSpan(0, n * a.DType.ItemSize));
            }
            long first = 0;
            if (same) while (first < chunks && Identical(first)) first++;
            var d = new CkptDiff();
            if (first == chunks) return CheckpointComparer.Identical(d, false);
            var total = default(CheckpointComparer.DiffSums);
            for (long c = first; c < chunks; c++) total = CheckpointComparer.DiffSums.Merge(total, Chunk(c));
            for (long c = 0; c < first; c++) total = CheckpointComparer.DiffSums.Merge(total, Chunk(c));
            CheckpointComparer.FillNumbers(d, total.Scale(repeat));
            return d;
        }
    }
}

using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using LightningCkpt.Container;
using LightningCkpt.Data;
using LightningCkpt.Pickle;
using LightningCkpt.Safety;
using LightningCkpt.Torch;
using Xunit;
using Xunit.Abstractions;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// DeepSpeed universal checkpoints (ds_to_universal's layout, written by make_universal.py from known full tensors):
    /// the weights, moments and statistics are the truth's; the root and the step folder open alike; a missing fp32.pt,
    /// a shape that disagrees with param_shapes and the layouts not read are findings / refusals naming the file.
    /// The committed fixtures also run through ShardedCheckpointTests' truth theory and ShardedConsolidationTests.
    /// </summary>
    public sealed class DeepSpeedUniversalTests : IDisposable
    {
        private readonly ITestOutputHelper _out;
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "lightningckpt-universal-" + Guid.NewGuid().ToString("N").Substring(0, 8));

        public DeepSpeedUniversalTests(ITestOutputHelper output)
        {
            _out = output;
            Directory.CreateDirectory(_dir);
        }

        public void Dispose() => Directory.Delete(_dir, recursive: true);

        private static string Fixture(string name) => Path.Combine(ShardedCheckpointTests.Dir, name);

        /// <summary>The moments (optimizer_states[0] for Lightning, optimizer otherwise) and statistics equal the truth's.</summary>
        private static void AssertMomentsAndStatistics(string path)
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path + ".truth.json"));
            var truth = doc.RootElement;
            var c = ShardedCheckpointTests.AssertMatchesTruth(path);
            var root = (PyDict)c.Root!;
            var optimizer = root.Get("optimizer_states") is PyList l ? (PyDict)l[0]! : (PyDict)root.Get("optimizer")!;
            var state = (PyDict)optimizer.Get("state")!;
            using var reader = new TensorDataReader(c);
            var moments = truth.GetProperty("moments").EnumerateArray().ToList();
            Assert.Equal(moments.Count, state.Sum(e => ((PyDict)e.Value!).Entries.Count(x => x.Key is "exp_avg" or "exp_avg_sq")));
            foreach (var m in moments)
            {
                var t = (TensorRef)((PyDict)state.Get(IndexOf(optimizer, m.GetProperty("name").GetString()!))!).Get(m.GetProperty("key").GetString())!;
                Assert.Equal(m.GetProperty("dtype").GetString(), t.DType.Name);
                Assert.Equal(m.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()), t.Shape);
                Assert.True(m.GetProperty("sha256").GetString() == reader.Sha256(t), $"{path}: {m.GetProperty("key")} of {m.GetProperty("name")} differs from the truth");
            }
            var steps = CkptTensor.List(c, true).Where(x => x.Name.EndsWith(".step", StringComparison.Ordinal)).ToList();
            if (truth.GetProperty("step").ValueKind == JsonValueKind.Number)
            {
                Assert.Equal(state.Count, steps.Count);
                Assert.All(steps, x => Assert.Equal(truth.GetProperty("step").GetDouble(), x.ToArray()[0]));
            }
            else
            {
                // stage 3: ds_to_universal writes no step.pt; the step comes from the copied optimizer dict (make_universal.py's step_value)
                Assert.Equal(state.Count, steps.Count);
                Assert.All(steps, x => Assert.Equal(3.0, x.ToArray()[0]));
            }
            Assert.StartsWith("Adam", Assert.Single(c.View.Optimizers).Kind);

            var stats = truth.GetProperty("statistics");
            foreach (var t in CkptTensor.List(c, false))
            {
                TensorAnalysis.Analyze(t, reader, hash: false, statistics: true);
                var s = stats.GetProperty(t.Name);
                if (s.ValueKind == JsonValueKind.Null) continue;
                foreach (var (want, got) in new[] { (s.GetProperty("min").GetDouble(), t.Min), (s.GetProperty("max").GetDouble(), t.Max), (s.GetProperty("mean").GetDouble(), t.Mean) })
                    Assert.True(Math.Abs(want - got!.Value) <= 1e-9 * Math.Max(1, Math.Abs(want)), $"{path}: {t.Name} statistic {got} vs torch {want}");
            }
        }

        /// <summary>A parameter's index in torch's optimizer layout: its place in the param_groups' param_names.</summary>
        private static long IndexOf(PyDict optimizer, string name)
        {
            foreach (PyDict g in (PyList)optimizer.Get("param_groups")!)
            {
                var names = (PyList)g.Get("param_names")!;
                for (int i = 0; i < names.Count; i++) if ((string)names[i]! == name) return (long)((PyList)g.Get("params")!)[i]!;
            }
            throw new Xunit.Sdk.XunitException($"'{name}' is in no param group");
        }

        [Theory]
        [InlineData("dsu_zero2_bf16_dp2")]
        [InlineData("dsu_zero3_fp16_dp2")]
        public void MomentsAndStatisticsAreTheTruths(string name) => AssertMomentsAndStatistics(Fixture(name));

        [Theory]
        [InlineData("dsu_zero2_bf16_dp2", "global_step33_universal", 2, 2, 12)]
        [InlineData("dsu_zero3_fp16_dp2", "global_step33", 3, 2, 9)]
        public void TheRootAndItsStepFolderOpenAsOneUniversalCheckpoint(string name, string step, int stage, int world, int parameterFiles)
        {
            var root = Fixture(name);
            var viaRoot = CkptInfo.Read(root);
            var viaStep = CkptInfo.Read(Path.Combine(root, step));
            foreach (var info in new[] { viaRoot, viaStep })
            {
                Assert.Equal(CheckpointFormat.DeepSpeedUniversal, info.Format);
                Assert.Equal(stage, info.ZeroStage);
                Assert.Equal(world, info.WorldSize);
                Assert.Equal(parameterFiles, info.ShardCount); // fp32, exp_avg, exp_avg_sq (and step at stage 2) of three parameters
                Assert.Equal(5 * 3 + 4 * 3 + 4 + 3 + 3 + 1 + 5 * 3, info.ParameterCount); // embed, lin.weight, lin.bias, frozen norm.weight, buffers, tied head
            }
            Assert.Equal(root, Checkpoint.Open(root).FilePath);
            Assert.Equal(step, Checkpoint.Open(root).Sharding!.Tag);
            var test = CheckpointValidator.Test(root);
            Assert.True(test.IsValid && test.IsSafe, string.Join("; ", test.Findings));
        }

        [Fact]
        public void AFolderWithLatestBesideLatestUniversalOpensTheZeroOriginalAndSaysSo()
        {
            var d = ShardedValidationTests.CopyFixture("ds_zero2_bf16_dp2", _dir);
            File.WriteAllText(Path.Combine(d, "latest_universal"), "checkpoint_universal");
            var c = Checkpoint.Open(d);
            Assert.Equal(CheckpointFormat.DeepSpeed, c.Format);
            Assert.Contains(c.Sharding!.Notes, n => n.Contains("latest_universal"));
        }

        private static CheckpointFormatException OpenFails(string path) => Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(path));

        [Fact]
        public void AMissingFp32FileIsNamedAndAFinding()
        {
            var d = ShardedValidationTests.CopyFixture("dsu_zero2_bf16_dp2", _dir);
            var missing = Path.Combine(d, "global_step33_universal", "zero", "lin.weight", "fp32.pt");
            File.Delete(missing);
            var e = OpenFails(d);
            Assert.Equal(CheckpointDefect.MissingStorage, e.Defect);
            Assert.Equal(missing, e.FilePath);
            Assert.Contains("'lin.weight'", e.Reason);
            var r = CheckpointValidator.Test(d);
            Assert.False(r.IsValid);
            Assert.Equal("MissingStorage", r.Findings.First(f => f.Severity == FindingSeverity.Error).Kind);
        }

        [Theory]
        [InlineData("dsu_zero2_bf16_dp2", "global_step33_universal", "[5, 3]")]
        [InlineData("dsu_zero3_fp16_dp2", "global_step33", "[15]")]
        public void AShapeThatDisagreesWithParamShapesIsAFinding(string name, string step, string saved)
        {
            // embed.weight's fp32.pt ([5, 3]; flat [15] at stage 3) where param_shapes says lin.weight is [4, 3]
            var d = ShardedValidationTests.CopyFixture(name, _dir);
            var zero = Path.Combine(d, step, "zero");
            File.Copy(Path.Combine(zero, "embed.weight", "fp32.pt"), Path.Combine(zero, "lin.weight", "fp32.pt"), overwrite: true);
            var e = OpenFails(d);
            Assert.Equal(CheckpointDefect.StorageSizeMismatch, e.Defect);
            Assert.Contains($"'lin.weight' has shape {saved} but param_shapes says [4, 3]", e.Reason);
            Assert.Equal(Path.Combine(zero, "lin.weight", "fp32.pt"), e.FilePath);
            Assert.False(CheckpointValidator.Test(d).IsValid);
        }

        [Fact]
        public void TensorParallelModelStatesAreRefusedAsUnsupported()
        {
            var d = ShardedValidationTests.CopyFixture("dsu_zero2_bf16_dp2", _dir);
            var step = Path.Combine(d, "global_step33_universal");
            File.Copy(Path.Combine(step, "mp_rank_00_model_states.pt"), Path.Combine(step, "mp_rank_01_model_states.pt"));
            var e = OpenFails(d);
            Assert.Equal(CheckpointErrorKind.Unsupported, e.Kind);
            Assert.Contains("tensor-parallel", e.Reason);
            Assert.EndsWith("mp_rank_01_model_states.pt", e.FilePath);
            Assert.Equal("Unsupported", CheckpointValidator.Test(d).Findings.First(f => f.Severity == FindingSeverity.Error).Kind);
        }

        [SkippableFact]
        public void ASubParameterLayoutOfAnotherShapeIsRefusedAsUnsupportedAndAVocabularyTensorKeepsItsRows()
        {
            Skip.IfNot(PythonOracle.HasTorch, "torch is not installed at /usr/bin/python3");
            var d = ShardedValidationTests.CopyFixture("dsu_zero2_bf16_dp2", _dir);
            var zero = Path.Combine(d, "global_step33_universal", "zero");
            string lin = Path.Combine(zero, "lin.weight", "fp32.pt"), embed = Path.Combine(zero, "embed.weight", "fp32.pt");
            // as merge_tp_slices writes them: a fused parameter split by a SubparamShape pattern, a vocabulary cut to its original rows
            int code = PythonOracle.Run($"-c \"import torch; torch.save({{'sub_param_shape': {{'patterns': ['lin'], 'shape': ((2, 2), 3), 'partition_dim': 0}}, 'param': torch.zeros(2, 2, 3)}}, r'{lin}'); " +
                $"torch.save({{'cat_dim': 0, 'vocab_tensor': True, 'param': torch.arange(12.).reshape(4, 3)}}, r'{embed}')\"", out var log);
            Assert.True(code == 0, log);
            var e = OpenFails(d);
            Assert.Equal(CheckpointErrorKind.Unsupported, e.Kind);
            Assert.Contains("sub_param_shape", e.Reason);
            Assert.Equal(lin, e.FilePath);

            File.Copy(Path.Combine(ShardedCheckpointTests.Dir, "dsu_zero2_bf16_dp2", "global_step33_universal", "zero", "lin.weight", "fp32.pt"), lin, overwrite: true);
            var c = Checkpoint.Open(d);
            var w = c.View.Weights.Single(x => x.Name == "embed.weight").Tensor;
            Assert.Equal(new long[] { 4, 3 }, w.Shape); // param_shapes says [5, 3]: the padding row is gone
            Assert.Contains(c.Sharding!.Notes, n => n.Contains("vocabulary tensor"));
        }

        [SkippableFact]
        public void RandomUniversalCheckpointsReadAndConsolidateAsTheirTruth()
        {
            Skip.IfNot(PythonOracle.HasTorch, "torch is not installed at /usr/bin/python3");
            int seed = int.TryParse(Environment.GetEnvironmentVariable("LIGHTNINGCKPT_DIFF_SEED"), out var s) ? s : new Random().Next(1, int.MaxValue);
            var dir = Path.Combine(_dir, "rand");
            int code = PythonOracle.Run($"\"{Path.Combine(RepoPaths.Fixtures, "make_universal.py")}\" --seed {seed} --out \"{dir}\"", out var log);
            Assert.True(code == 0, $"make_universal.py failed (seed {seed}): {log}");
            var cases = Directory.GetFiles(dir, "*.truth.json").Select(f => f.Substring(0, f.Length - ".truth.json".Length)).OrderBy(f => f, StringComparer.Ordinal).ToList();
            Assert.Equal(3, cases.Count);
            try
            {
                var outputs = cases.SelectMany(p => new[] { ".pt", ".safetensors" }.Select(ext => (p, ext))).ToList();
                foreach (var p in cases) AssertMomentsAndStatistics(p);
                var files = outputs.Select(o => ShardedConsolidationTests.ConsolidateTo(o.p, o.p + ".out" + o.ext)).ToArray();
                var results = ShardedConsolidationTests.Oracle(files);
                for (int k = 0; k < outputs.Count; k++)
                {
                    using var truth = JsonDocument.Parse(File.ReadAllText(outputs[k].p + ".truth.json"));
                    ShardedConsolidationTests.AssertSameTensors(truth.RootElement, results[k], outputs[k].ext, Path.GetFileName(files[k]));
                }
            }
            catch (Exception e) when (e is not Xunit.SkipException) { throw new Xunit.Sdk.XunitException($"seed {seed}: {e.Message}"); }
            _out.WriteLine($"seed {seed}: {cases.Count} random universal checkpoints read and consolidated as their truth");
        }
    }
}

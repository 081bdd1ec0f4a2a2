using System;
using System.IO;
using System.Linq;
using LightningCkpt.Data;
using Xunit;
using Xunit.Abstractions;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// Sharded checkpoints written by real torch 2.x (make_torch2_sharded.py in the torch 2.x chroot): the committed
    /// folders compared with torch's own consolidation of them, and fresh random ones every run read as torch loads them.
    /// </summary>
    public sealed class Torch2ShardedTests : IDisposable
    {
        private readonly ITestOutputHelper _out;
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "lightningckpt-torch2sharded-" + Guid.NewGuid().ToString("N").Substring(0, 8));

        public Torch2ShardedTests(ITestOutputHelper output)
        {
            _out = output;
            Directory.CreateDirectory(_dir);
        }

        public void Dispose() => Directory.Delete(_dir, recursive: true);

        /// <summary>
        /// Compare-Ckpt of a DCP folder against the file torch's format_utils.dcp_to_torch_save makes of it: every tensor
        /// and every plain value the same (no row at all), so the folder reads as torch's consolidation, bit for bit.
        /// </summary>
        [SkippableTheory]
        [InlineData("dcp2_gloo2_plain")]
        [InlineData("dcp2_dtensor")]
        [InlineData("dcp2_fsdp2_adam")]
        [InlineData("dcp2_zstd")]
        [InlineData("dcp2_torch_save_to_dcp")]
        public void AFolderComparesIdenticalToTorchsOwnConsolidationOfIt(string fixture)
        {
            var o = TorchOracle.Torch2;
            Skip.IfNot(o.Available, o.SkipReason);
            var folder = Path.Combine(ShardedCheckpointTests.Dir, fixture);
            var whole = Path.Combine(_dir, fixture + ".pt");
            var script = "import sys\nfrom torch.distributed.checkpoint.format_utils import dcp_to_torch_save\ndcp_to_torch_save(sys.argv[1], sys.argv[2])\n";
            var py = Path.Combine(_dir, "consolidate.py");
            File.WriteAllText(py, script);
            int code = o.Run($"\"{py}\" \"{folder}\" \"{whole}\"", out var log);
            Assert.True(code == 0, "dcp_to_torch_save failed: " + log);
            var diffs = CheckpointComparer.Compare(Checkpoint.Open(whole), Checkpoint.Open(folder), new CompareOptions { AllTensors = true, AbsoluteTolerance = 0, RelativeTolerance = 0 }).ToList();
            Assert.True(diffs.Count == 0, string.Join("\n", diffs.Select(d => $"{d.Kind} {d.Name}: {d.Status} {d.ReferenceValue} {d.DifferenceValue}")));
            var tensors = CkptTensor.List(Checkpoint.Open(folder), true);
            Assert.NotEmpty(tensors);
            var rows = CheckpointComparer.Compare(Checkpoint.Open(whole), Checkpoint.Open(folder), new CompareOptions { AllTensors = true, IncludeEqual = true }).Where(d => d.Kind == "Tensor").ToList();
            Assert.Equal(tensors.Count, rows.Count);
            Assert.All(rows, r => { Assert.Equal(DiffStatus.Equal, r.Status); Assert.Equal(0.0, r.MaxAbsDiff ?? 0.0); });
        }

        /// <summary>A fresh seed every run (LIGHTNINGCKPT_DIFF_SEED=N replays): random shapes and values, every layout.</summary>
        [SkippableFact]
        public void FreshRandomTorch2ShardedCheckpointsReadAsTorchLoadsThem()
        {
            var o = TorchOracle.Torch2;
            Skip.IfNot(o.Available, o.SkipReason);
            int seed = int.TryParse(Environment.GetEnvironmentVariable("LIGHTNINGCKPT_DIFF_SEED"), out var s) ? s : new Random().Next(1, int.MaxValue);
            var script = Path.Combine(RepoPaths.Fixtures, "make_torch2_sharded.py");
            int code = o.Run($"\"{script}\" --seed {seed} --out \"{_dir}\" --timeout 240", out var log, timeoutMs: 420_000);
            Assert.True(code == 0, $"make_torch2_sharded.py failed (seed {seed}): {log}");
            var cases = Directory.GetFiles(_dir, "*.truth.json").OrderBy(f => f, StringComparer.Ordinal).ToList();
            Assert.True(cases.Count >= 10, $"seed {seed}: only {cases.Count} cases");
            foreach (var truth in cases)
            {
                var path = truth.Substring(0, truth.Length - ".truth.json".Length);
                try { ShardedCheckpointTests.AssertMatchesTruth(path); }
                catch (Exception e) when (e is not Xunit.SkipException) { throw new Xunit.Sdk.XunitException($"seed {seed}, {Path.GetFileName(path)}: {e.Message}"); }
            }
            _out.WriteLine($"seed {seed}: {cases.Count} torch 2.x sharded checkpoints read as torch loads them");
        }
    }
}

using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using LightningCkpt.Data;
using Xunit;
using Xunit.Abstractions;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// DCP written by two real gloo ranks on loopback (make_dcp_multiproc.py, torch 1.13): each rank saved its own
    /// ShardedTensor pieces (uneven row and column cuts, a rank with two pieces of one tensor, a tensor only rank 1
    /// holds), the coordinator the replicated tensor and the non-tensor items. Truth is torch's load_state_dict into
    /// full-size tensors plus torch's statistics; the committed folder is fixed, the differential one random per run.
    /// </summary>
    public sealed class ShardedMultiRankTests : IDisposable
    {
        private readonly ITestOutputHelper _out;
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "lightningckpt-multirank-" + Guid.NewGuid().ToString("N").Substring(0, 8));

        public ShardedMultiRankTests(ITestOutputHelper output)
        {
            _out = output;
            Directory.CreateDirectory(_dir);
        }

        public void Dispose() => Directory.Delete(_dir, recursive: true);

        [Fact]
        public void TwoGlooRanksReadAsOneCheckpointWithTorchsValuesAndStatistics()
        {
            var path = Path.Combine(ShardedCheckpointTests.Dir, "dcp13_gloo2_sharded");
            var c = AssertMatchesTruthAndStatistics(path);
            Assert.Equal(2, c.Sharding!.ShardCount);
            Assert.Equal(new[] { ".metadata", "__0_0.distcp", "__1_0.distcp" }, c.Sharding.Files.Select(Path.GetFileName));
            var chunked = c.View.Weights.Where(w => w.Tensor.IsChunked).Select(w => w.Name).ToList();
            Assert.Equal(new[] { "rows", "cols", "split" }, chunked);
            // the pieces of one tensor come from both ranks' files
            var rows = c.View.Weights.Single(w => w.Name == "rows").Tensor;
            Assert.Equal(new[] { "__0_0.distcp", "__1_0.distcp" }, rows.Chunks!.Chunks.Select(x => x.Origin.Split('@')[0]).OrderBy(x => x, StringComparer.Ordinal));
        }

        [SkippableFact]
        public void RandomTwoRankCheckpointsReadAndConsolidateAsTorchLoadsThem()
        {
            Skip.IfNot(PythonOracle.HasTorch, "torch is not installed at /usr/bin/python3");
            int seed = int.TryParse(Environment.GetEnvironmentVariable("LIGHTNINGCKPT_DIFF_SEED"), out var s) ? s : new Random().Next(1, int.MaxValue);
            var script = Path.Combine(RepoPaths.Fixtures, "make_dcp_multiproc.py");
            int code = PythonOracle.Run($"\"{script}\" --seed {seed} --out \"{_dir}\" --timeout 120", out var log, timeoutMs: 180_000);
            Assert.True(code == 0, $"make_dcp_multiproc.py failed (seed {seed}): {log}");
            var path = Path.Combine(_dir, "rand_dcp2_" + seed);
            try
            {
                AssertMatchesTruthAndStatistics(path);
                var outputs = new[] { ".pt", ".safetensors" }.Select(ext => ShardedConsolidationTests.ConsolidateTo(path, Path.Combine(_dir, "whole" + ext))).ToArray();
                var torch = ShardedConsolidationTests.Oracle(outputs);
                using var truth = JsonDocument.Parse(File.ReadAllText(path + ".truth.json"));
                for (int i = 0; i < outputs.Length; i++)
                {
                    Assert.True(torch[i].GetProperty("weights_only").GetBoolean(), $"{outputs[i]} needed the full unpickler");
                    ShardedConsolidationTests.AssertSameTensors(truth.RootElement, torch[i], Path.GetExtension(outputs[i]), Path.GetFileName(outputs[i]));
                }
            }
            catch (Exception e) when (e is not Xunit.SkipException) { throw new Xunit.Sdk.XunitException($"seed {seed}: {e.Message}"); }
            _out.WriteLine($"seed {seed}: two gloo ranks' DCP read and consolidated as torch loads it");
        }

        /// <summary>Truth of make_sharded's schema, then torch's statistics per tensor and the non-tensor values.</summary>
        private static Checkpoint AssertMatchesTruthAndStatistics(string path)
        {
            var c = ShardedCheckpointTests.AssertMatchesTruth(path);
            Assert.Equal(2, c.Sharding!.WorldSize);
            using var doc = JsonDocument.Parse(File.ReadAllText(path + ".truth.json"));
            var truth = doc.RootElement;
            var tensors = CkptTensor.List(c, false).ToDictionary(t => t.Name);
            var errors = new System.Collections.Generic.List<string>();
            using (var reader = new TensorDataReader(c))
                foreach (var kv in truth.GetProperty("stats").EnumerateObject())
                {
                    var t = tensors[kv.Name];
                    TensorAnalysis.Analyze(t, reader, hash: true, statistics: true);
                    errors.AddRange(DataOracle.StatisticsMismatches(kv.Name, kv.Value, t));
                }
            Assert.True(errors.Count == 0, string.Join("\n", errors));
            var root = Assert.IsAssignableFrom<System.Collections.IDictionary>(c.Root);
            foreach (var v in truth.GetProperty("values").EnumerateObject()) TruthComparer.AssertPlainValue(v.Value, root[v.Name], v.Name);
            return c;
        }
    }
}

using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using LightningCkpt.Writing;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// Full consolidation: Import-Ckpt of a sharded folder piped to Export-Ckpt writes one file with everything the
    /// folder holds, tensors assembled from chunks (or cut from flat partitions) written as fresh dense storages; torch
    /// loads it, its weights are the truth's, and it equals what torch's dcp_to_torch_save (and Lightning's
    /// consolidate_checkpoint) write.
    /// </summary>
    public sealed class FullConsolidationTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "lightningckpt-fullcons-" + Guid.NewGuid().ToString("N").Substring(0, 8));

        public FullConsolidationTests() => Directory.CreateDirectory(_dir);
        public void Dispose() => Directory.Delete(_dir, recursive: true);

        private static string Source(string name) => Path.Combine(ShardedCheckpointTests.Dir, name);

        /// <summary>Import-Ckpt | Export-Ckpt.</summary>
        internal static string ImportExport(string source, string outFile)
        {
            var graph = CkptGraph.Load(source);
            CheckpointExport.Write(graph, outFile, overwrite: false);
            return outFile;
        }

        internal static JsonElement RunOracle(TorchOracle o, params string[] args)
        {
            var script = Path.Combine(RepoPaths.Fixtures, "consolidation_oracle.py");
            int code = o.Run($"\"{script}\" " + string.Join(" ", args.Select(a => $"\"{a}\"")), out var output);
            Assert.True(code == 0, $"consolidation_oracle.py {args[0]} failed under {o.Label}: {output}");
            return JsonDocument.Parse(output).RootElement.Clone();
        }

        private static string[] Diffs(JsonElement same) => same.GetProperty("diffs").EnumerateArray().Select(x => x.GetString()!).ToArray();

        [SkippableFact]
        public void EveryShardedFixtureExportsWholeWithTheTruthsWeights()
        {
            Skip.IfNot(TorchOracle.Torch1.Available, TorchOracle.Torch1.SkipReason);
            var names = ShardedCheckpointTests.CommittedFixtures().Select(f => (string)f[0]).ToList();
            var outputs = names.Select(n => ImportExport(Source(n), Path.Combine(_dir, n + ".pt"))).ToArray();
            var results = RunOracle(TorchOracle.Torch1, new[] { "weights" }.Concat(outputs).ToArray()).EnumerateArray().ToArray();
            for (int k = 0; k < names.Count; k++)
            {
                using var truth = JsonDocument.Parse(File.ReadAllText(Source(names[k]) + ".truth.json"));
                ShardedConsolidationTests.AssertSameTensors(truth.RootElement, results[k], ".pt", names[k]);
            }
        }

        [SkippableTheory]
        [InlineData("dcp2x_tied", false)]
        [InlineData("lightning2x_sharded.ckpt", true)]
        public void AChunkedDcpFolderExportsAsDcpToTorchSaveWritesIt(string name, bool lightning)
        {
            var o = TorchOracle.Torch2;
            Skip.IfNot(o.Available, o.SkipReason);
            var outFile = ImportExport(Source(name), Path.Combine(_dir, name + ".pt"));
            var reference = Path.Combine(_dir, name + ".reference.pt");
            RunOracle(o, lightning ? new[] { "dcp", Source(name), reference, "lightning" } : new[] { "dcp", Source(name), reference });
            Assert.Empty(Diffs(RunOracle(o, "same", outFile, reference)));
            // a chunked tensor is one fresh storage holding exactly its elements, never a whole source partition
            var back = Checkpoint.Open(outFile);
            Assert.All(back.View.Weights, w => Assert.Equal(w.Tensor.NBytes, w.Tensor.Storage!.DeclaredBytes));
        }

        [SkippableTheory]
        [MemberData(nameof(TorchOracle.Both), MemberType = typeof(TorchOracle))]
        public void TorchSizeValuesExportAsTorchSize(string oracle)
        {
            var o = TorchOracle.Named(oracle);
            Skip.IfNot(o.Available, o.SkipReason);
            // DeepSpeed's model states hold param_shapes and frozen_param_shapes as torch.Size values
            var source = Path.Combine(Source("ds_zero2_bf16_dp2"), "checkpoint", "mp_rank_00_model_states.pt");
            var outFile = ImportExport(source, Path.Combine(_dir, "model_states." + oracle + ".pt"));
            Assert.Empty(Diffs(RunOracle(o, "same", outFile, source)));
        }
    }
}

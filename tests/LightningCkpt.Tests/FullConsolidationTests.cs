using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using LightningCkpt.Pickle;
using LightningCkpt.Torch;
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
            // fixtures whose truth names their weights ("tensors"); the DCP-only truths of make_torch2_sharded.py list
            // every tensor by path instead, and those folders are held to dcp_to_torch_save itself (below, Torch2ShardedTests)
            var names = ShardedCheckpointTests.CommittedFixtures().Select(f => (string)f[0])
                .Where(n => JsonDocument.Parse(File.ReadAllText(Source(n) + ".truth.json")).RootElement.TryGetProperty("tensors", out _)).ToList();
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
        [InlineData("lightning2_fsdp.ckpt", true)]
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

        /// <summary>Real torch 2.x DCP folders (two gloo processes: FSDP2 model + AdamW, DTensors, a Lightning folder), made once per run.</summary>
        private static readonly Lazy<string> Torch2Folders = new Lazy<string>(() =>
        {
            var dir = Path.Combine(Path.GetTempPath(), "lightningckpt-dcp2cons-" + Guid.NewGuid().ToString("N").Substring(0, 8));
            var script = Path.Combine(RepoPaths.Fixtures, "make_dcp2_consolidation.py");
            int code = TorchOracle.Torch2.Run($"\"{script}\" --out \"{dir}\"", out var log, timeoutMs: 240_000);
            Assert.True(code == 0, "make_dcp2_consolidation.py failed: " + log);
            AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(dir, true); } catch (IOException) { } };
            return dir;
        });

        [SkippableTheory]
        [InlineData("fsdp2", false)]
        [InlineData("dtensor", false)]
        [InlineData("lightning.ckpt", true)]
        public void ARealTorch2FolderExportsAsDcpToTorchSaveWritesIt(string name, bool lightning)
        {
            var o = TorchOracle.Torch2;
            Skip.IfNot(o.Available, o.SkipReason);
            var source = Path.Combine(Torch2Folders.Value, name);
            var outFile = ImportExport(source, Path.Combine(_dir, name + ".pt"));
            var reference = Path.Combine(_dir, name + ".reference.pt");
            RunOracle(o, lightning ? new[] { "dcp", source, reference, "lightning" } : new[] { "dcp", source, reference });
            Assert.Empty(Diffs(RunOracle(o, "same", outFile, reference)));
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
    

        public static TheoryData<string> ZeroFolders => new TheoryData<string> { "ds_zero1_fp16_dp2", "ds_zero2_bf16_dp2", "ds_zero3_bf16_dp2", "ds_bf16opt_dp2" };

        /// <summary>
        /// The fixtures' Adam moments are functions of the fp32 masters (make_sharded.py moment1/moment2, padding
        /// included), so every element of every reassembled moment is checked against the master at its place; the step
        /// of group g is 3 + g and the learning rate 0.1·(g+1).
        /// </summary>
        [Theory]
        [MemberData(nameof(ZeroFolders))]
        public void DeepSpeedMomentsAreCutAndShapedExactlyAsTheMasters(string name)
        {
            var c = Checkpoint.Open(Source(name));
            var opt = (PyDict)((PyList)((PyDict)c.Root!).Get("optimizer_states")!)[0]!;
            var groups = ((PyList)opt.Get("param_groups")!).Cast<PyDict>().ToList();
            Assert.Equal(new[] { new object[] { "embed.weight", "lin.weight" }, new object[] { "lin.bias" } },
                groups.Select(g => ((PyList)g.Get("param_names")!).ToArray()));
            Assert.Equal(new[] { new object[] { 0L, 1L }, new object[] { 2L } }, groups.Select(g => ((PyList)g.Get("params")!).ToArray()));
            Assert.Equal(new[] { 0.1, 0.2 }, groups.Select(g => (double)g.Get("lr")!));

            AssertMomentsAreTheMastersFunctions(c, name);
        }

        /// <summary>
        /// Every parameter of every group has exp_avg = m·0.5 − 1 and exp_avg_sq = m·m + 0.25 of its own fp32 master m,
        /// element by element and in its shape, and group g's step (3 + g, a tensor per parameter) and lr (0.1·(g+1)).
        /// </summary>
        internal static void AssertMomentsAreTheMastersFunctions(Checkpoint c, string what)
        {
            var root = (PyDict)c.Root!;
            var opt = (PyDict)((PyList)root.Get("optimizer_states")!)[0]!;
            var state = (PyDict)opt.Get("state")!;
            var tensors = CkptTensor.List(c, all: true); // Get-CkptTensor -All sees them
            double[] Values(string path) => tensors.Single(t => t.TensorPath == path).ToArray();
            var groups = ((PyList)opt.Get("param_groups")!).Cast<PyDict>().ToList();
            var trainable = DeepSpeedParamShapes(root);
            Assert.Equal(trainable, groups.SelectMany(g => ((PyList)g.Get("param_names")!).Cast<string>()));
            Assert.Equal(Enumerable.Range(0, trainable.Count).Select(i => (object)(long)i), state.Keys.ToArray()); // every trainable parameter keeps its moments
            int index = 0;
            for (int g = 0; g < groups.Count; g++)
            {
                Assert.Equal(0.1 * (g + 1), (double)groups[g].Get("lr")!, 12);
                foreach (var n in ((PyList)groups[g].Get("param_names")!).Cast<string>())
                {
                    var i = (long)((PyList)groups[g].Get("params")!)[index - IndexBase(groups, g)]!;
                    Assert.Equal(index, i);
                    var master = tensors.Single(t => t.TensorPath == "state_dict." + n);
                    var st = (PyDict)state.Get(i)!;
                    Assert.Equal(new object[] { "step", "exp_avg", "exp_avg_sq" }, st.Keys.ToArray());
                    foreach (var key in new[] { "exp_avg", "exp_avg_sq" })
                        Assert.True(master.Tensor.Shape.SequenceEqual(((TensorRef)st.Get(key)!).Shape), $"{what}: {n} {key} is not shaped like the parameter");
                    var m = master.ToArray().Select(x => (float)x).ToArray();
                    Assert.True(m.Select(x => (double)(x * 0.5f - 1.0f)).SequenceEqual(Values($"optimizer_states.0.state.{i}.exp_avg")), $"{what}: {n} exp_avg");
                    Assert.True(m.Select(x => (double)(x * x + 0.25f)).SequenceEqual(Values($"optimizer_states.0.state.{i}.exp_avg_sq")), $"{what}: {n} exp_avg_sq");
                    Assert.Equal(new[] { 3.0 + g }, Values($"optimizer_states.0.state.{i}.step"));
                    index++;
                }
            }
            // each parameter's step is a tensor of its own: torch's Adam advances it in place
            Assert.Equal(state.Count, state.Values.Select(v => ((PyDict)v!).Get("step")!).Distinct(ReferenceComparer.Instance).Count());
        }

        private static int IndexBase(List<PyDict> groups, int g) => groups.Take(g).Sum(x => ((PyList)x.Get("params")!).Count);

        /// <summary>The trainable parameters in param_shapes order, from the rank-0 model states kept in the root.</summary>
        private static List<string> DeepSpeedParamShapes(PyDict root) =>
            ((PyList)root.Get("param_shapes")!).Cast<PyDict>().SelectMany(g => g.Keys.Cast<string>()).ToList();

        [SkippableFact]
        public void RandomZeroFoldersKeepEveryMomentOfEveryTrainableParameter()
        {
            Skip.IfNot(TorchOracle.Torch1.Available, TorchOracle.Torch1.SkipReason);
            int seed = int.TryParse(Environment.GetEnvironmentVariable("LIGHTNINGCKPT_DIFF_SEED"), out var s) ? s : new Random().Next(1, int.MaxValue);
            var dir = Path.Combine(_dir, "random");
            int code = TorchOracle.Torch1.Run($"\"{Path.Combine(RepoPaths.Fixtures, "make_sharded.py")}\" --seed {seed} --out \"{dir}\"", out var log);
            Assert.True(code == 0, $"make_sharded.py failed (seed {seed}): {log}");
            var folders = Directory.GetDirectories(dir, "rand_ds_*");
            Assert.NotEmpty(folders);
            foreach (var f in folders) AssertMomentsAreTheMastersFunctions(Checkpoint.Open(f), $"seed {seed}, {Path.GetFileName(f)}");
        }

        [SkippableTheory]
        [MemberData(nameof(ZeroFoldersInBothTorches))]
        public void AConsolidatedZeroFolderResumesInTorchAdamW(string name, string oracle)
        {
            var o = TorchOracle.Named(oracle);
            Skip.IfNot(o.Available, o.SkipReason);
            var outFile = ImportExport(Source(name), Path.Combine(_dir, name + "." + oracle + ".ckpt"));
            var r = RunOracle(o, "resume", outFile);
            Assert.Empty(r.GetProperty("errors").EnumerateArray().Select(x => x.GetString()));
            Assert.Equal(3, r.GetProperty("checked").GetInt32());
        }

        public static TheoryData<string, string> ZeroFoldersInBothTorches()
        {
            var d = new TheoryData<string, string>();
            foreach (var f in new[] { "ds_zero1_fp16_dp2", "ds_zero2_bf16_dp2", "ds_zero3_bf16_dp2", "ds_bf16opt_dp2", "dsu_zero2_bf16_dp2", "dsu_zero3_fp16_dp2" })
                foreach (var o in new[] { "torch1", "torch2" }) d.Add(f, o);
            return d;
        }
    }
}

using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using LightningCkpt.Container;
using LightningCkpt.Data;
using LightningCkpt.Writing;
using Xunit;
using Xunit.Abstractions;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// Sharded checkpoints (DCP from torch 1.13 and 2.x class paths, Lightning sharded folders, DeepSpeed ZeRO 1/2/3
    /// and BF16_Optimizer, Hugging Face indexes) and safetensors files, read as one logical checkpoint and checked
    /// against the truth make_sharded.py wrote: torch's own load_state_dict for DCP, the known full tensors for
    /// DeepSpeed, the split state dict for HF.
    /// </summary>
    public class ShardedCheckpointTests
    {
        private readonly ITestOutputHelper _out;
        public ShardedCheckpointTests(ITestOutputHelper output) => _out = output;

        internal static string Dir => Path.Combine(RepoPaths.Fixtures, "sharded");

        public static IEnumerable<object[]> CommittedFixtures() =>
            Directory.GetFiles(Path.Combine(RepoPaths.Root, "tests", "fixtures", "sharded"), "*.truth.json")
                .Select(f => new object[] { Path.GetFileName(f).Substring(0, Path.GetFileName(f).Length - ".truth.json".Length) }).OrderBy(x => (string)x[0]);

        [Theory]
        [MemberData(nameof(CommittedFixtures))]
        public void CommittedFixtureReadsAsItsTruth(string name) => AssertMatchesTruth(Path.Combine(Dir, name));

        [Theory]
        [InlineData("hf_safetensors", "model.safetensors.index.json")]
        [InlineData("hf_bin", "pytorch_model.bin.index.json")]
        [InlineData("dcp13_gloo2_sharded", ".metadata")]
        [InlineData("lightning13_sharded.ckpt", ".metadata")]
        [InlineData("ds_zero3_bf16_dp2", null)]
        public void AFolderCheckpointIsNamedByItsFolderAlsoThroughItsIndexOrMetadataFile(string folder, string? marker)
        {
            var dir = Path.Combine(Dir, folder);
            Assert.Equal(dir, Checkpoint.Open(dir).FilePath);
            Assert.Equal(dir, Checkpoint.Open(dir + Path.DirectorySeparatorChar).FilePath);
            if (marker != null) Assert.Equal(dir, Checkpoint.Open(Path.Combine(dir, marker)).FilePath);
        }

        [Fact]
        public void AnIndexTheFolderDoesNotOpenAsIsNamedByItself()
        {
            // both HF indexes in one folder: the folder opens as the safetensors one, so the .bin index keeps its own name
            var dir = Path.Combine(Path.GetTempPath(), "lightningckpt-twoindexes-" + Guid.NewGuid().ToString("N").Substring(0, 8));
            Directory.CreateDirectory(dir);
            try
            {
                foreach (var src in new[] { "hf_safetensors", "hf_bin" })
                    foreach (var f in Directory.GetFiles(Path.Combine(Dir, src))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
                var bin = Path.Combine(dir, "pytorch_model.bin.index.json");
                Assert.Equal(bin, Checkpoint.Open(bin).FilePath);
                Assert.Equal(dir, Checkpoint.Open(Path.Combine(dir, "model.safetensors.index.json")).FilePath);
                var folder = Checkpoint.Open(dir);
                Assert.Equal(dir, folder.FilePath);
                Assert.EndsWith("model.safetensors.index.json", folder.Files[0]);
            }
            finally { Directory.Delete(dir, recursive: true); }
        }

        /// <summary>Opens <paramref name="path"/> and checks names (in order), dtypes, shapes and the bytes' SHA-256 against the truth.</summary>
        internal static Checkpoint AssertMatchesTruth(string path)
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path + ".truth.json"));
            var truth = doc.RootElement;
            var c = Checkpoint.Open(path);
            Assert.Equal(truth.GetProperty("format").GetString(), c.Format.ToString());
            using var reader = new TensorDataReader(c);
            if (truth.TryGetProperty("all_tensors", out var all))
            {
                AssertEveryTensor(path, c, reader, all);
                AssertPlainValues(c, truth.GetProperty("values"));
            }
            if (!truth.TryGetProperty("tensors", out var named)) named = default;
            var expected = named.ValueKind == JsonValueKind.Array ? named.EnumerateArray().ToList() : new List<JsonElement>();
            var weights = c.View.Weights;
            if (named.ValueKind == JsonValueKind.Array) Assert.Equal(expected.Select(e => e.GetProperty("name").GetString()), weights.Select(w => w.Name));
            for (int i = 0; i < expected.Count; i++)
            {
                var e = expected[i];
                var t = weights[i].Tensor;
                Assert.True(e.GetProperty("dtype").GetString() == t.DType.Name, $"{path}: {weights[i].Name} is {t.DType.Name}, torch says {e.GetProperty("dtype").GetString()}");
                Assert.Equal(e.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()), t.Shape);
                Assert.True(e.GetProperty("sha256").GetString() == reader.Sha256(t), $"{path}: bytes of {weights[i].Name} differ from the truth");
            }
            if (truth.TryGetProperty("world_size", out var ws) && ws.ValueKind == JsonValueKind.Number)
                Assert.Equal(ws.GetInt32(), c.Sharding!.WorldSize);
            if (truth.TryGetProperty("zero_stage", out var zs) && zs.ValueKind == JsonValueKind.Number)
                Assert.Equal(zs.GetInt32(), c.Sharding!.ZeroStage);
            if (truth.TryGetProperty("epoch", out var ep) && ep.ValueKind == JsonValueKind.Number)
                Assert.Equal(ep.GetInt64(), c.View.Epoch);
            if (truth.TryGetProperty("global_step", out var gs) && gs.ValueKind == JsonValueKind.Number)
                Assert.Equal(gs.GetInt64(), c.View.GlobalStep);
            return c;
        }

        /// <summary>
        /// make_torch2_sharded.py's "all_tensors": every tensor torch loaded, by path in torch's order, with dtype, shape,
        /// SHA-256 and torch's statistics; "values": the plain values by path.
        /// </summary>
        private static void AssertEveryTensor(string path, Checkpoint c, TensorDataReader reader, JsonElement all)
        {
            var expected = all.EnumerateArray().ToList();
            var actual = c.AllTensors;
            Assert.Equal(expected.Select(e => e.GetProperty("path").GetString()).ToArray(), actual.Select(a => a.Path).ToArray());
            var errors = new List<string>();
            var listed = CkptTensor.List(c, true); // every tensor in AllTensors' order
            for (int i = 0; i < expected.Count; i++)
            {
                var e = expected[i];
                var t = actual[i].Tensor;
                var name = actual[i].Path;
                if (e.GetProperty("dtype").GetString() != t.DType.Name) errors.Add($"{name}: {t.DType.Name}, torch says {e.GetProperty("dtype").GetString()}");
                else if (!e.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()).SequenceEqual(t.Shape)) errors.Add($"{name}: shape [{string.Join(",", t.Shape)}] differs from torch's");
                else if (e.GetProperty("sha256").GetString() != reader.Sha256(t)) errors.Add($"{name}: bytes differ from torch's");
                else
                {
                    TensorAnalysis.Analyze(listed[i], reader, hash: false, statistics: true);
                    errors.AddRange(DataOracle.StatisticsMismatches(name, e.GetProperty("stats"), listed[i]));
                }
            }
            Assert.True(errors.Count == 0, path + ":\n" + string.Join("\n", errors));
        }

        /// <summary>"values": every plain value (int, float, str, bool, None) torch loaded, by the generator's path rule.</summary>
        internal static void AssertPlainValues(Checkpoint c, JsonElement values)
        {
            var ours = new Dictionary<string, object?>(StringComparer.Ordinal);
            CollectPlainValues(c.Root, "", ours);
            foreach (var v in values.EnumerateObject())
            {
                Assert.True(ours.TryGetValue(v.Name, out var actual), $"{c.FilePath}: no plain value at '{v.Name}'");
                TruthComparer.AssertPlainValue(v.Value, actual, v.Name);
            }
        }

        private static void CollectPlainValues(object? v, string prefix, Dictionary<string, object?> into)
        {
            string Join(object? key) => (prefix.Length == 0 ? "" : prefix + ".") + Convert.ToString(key, System.Globalization.CultureInfo.InvariantCulture);
            switch (v)
            {
                case Pickle.PyDict d:
                    foreach (var e in d) CollectPlainValues(e.Value, Join(e.Key), into);
                    break;
                case IReadOnlyList<object?> list when list.Any(x => x is Torch.TensorRef || x is Pickle.PyDict || x is Pickle.PyList || x is Pickle.PyTuple):
                    for (int i = 0; i < list.Count; i++) CollectPlainValues(list[i], Join(i), into);
                    break;
                case null: case long _: case double _: case string _: case bool _:
                    into[prefix] = v;
                    break;
            }
        }
    }
}

namespace LightningCkpt.Tests
{
    /// <summary>
    /// Live differential test for sharded formats: make_sharded.py --seed N writes random DCP folders (real torch 1.13,
    /// random row and column cuts), random DeepSpeed folders (stage 1/2/3, 1–4 ranks, bf16/fp16, BF16_Optimizer) and a
    /// random 2.x-shaped Lightning folder, each with its truth; a fresh seed every run (LIGHTNINGCKPT_DIFF_SEED=N replays).
    /// </summary>
    public class ShardedDifferentialTests
    {
        private readonly Xunit.Abstractions.ITestOutputHelper _out;
        public ShardedDifferentialTests(Xunit.Abstractions.ITestOutputHelper output) => _out = output;

        [SkippableFact]
        public void RandomShardedCheckpointsReadAsTheirTruth()
        {
            Skip.IfNot(PythonOracle.HasTorch, "torch is not installed at /usr/bin/python3");
            int seed = int.TryParse(System.Environment.GetEnvironmentVariable("LIGHTNINGCKPT_DIFF_SEED"), out var s) ? s : new System.Random().Next(1, int.MaxValue);
            var dir = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "lightningckpt-sharddiff-" + seed);
            try
            {
                var script = System.IO.Path.Combine(RepoPaths.Fixtures, "make_sharded.py");
                int code = PythonOracle.Run($"\"{script}\" --seed {seed} --out \"{dir}\"", out var log);
                Assert.True(code == 0, $"make_sharded.py failed (seed {seed}): {log}");
                var cases = System.IO.Directory.GetFiles(dir, "*.truth.json").OrderBy(f => f).ToList();
                Assert.True(cases.Count >= 8, $"seed {seed}: only {cases.Count} cases");
                foreach (var truth in cases)
                {
                    var path = truth.Substring(0, truth.Length - ".truth.json".Length);
                    try { ShardedCheckpointTests.AssertMatchesTruth(path); }
                    catch (System.Exception e) { throw new Xunit.Sdk.XunitException($"seed {seed}, {System.IO.Path.GetFileName(path)}: {e.Message}"); }
                }
                _out.WriteLine($"seed {seed}: {cases.Count} random sharded checkpoints read as their truth");
            }
            finally { if (System.IO.Directory.Exists(dir)) System.IO.Directory.Delete(dir, recursive: true); }
        }
    }
}

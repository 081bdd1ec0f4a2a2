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

        /// <summary>Opens <paramref name="path"/> and checks names (in order), dtypes, shapes and the bytes' SHA-256 against the truth.</summary>
        internal static Checkpoint AssertMatchesTruth(string path)
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path + ".truth.json"));
            var truth = doc.RootElement;
            var c = Checkpoint.Open(path);
            Assert.Equal(truth.GetProperty("format").GetString(), c.Format.ToString());
            var expected = truth.GetProperty("tensors").EnumerateArray().ToList();
            var weights = c.View.Weights;
            Assert.Equal(expected.Select(e => e.GetProperty("name").GetString()), weights.Select(w => w.Name));
            using var reader = new TensorDataReader(c);
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
    }
}

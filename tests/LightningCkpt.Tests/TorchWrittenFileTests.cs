using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using LightningCkpt.Data;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// Every single file of tests/fixtures/torch2 (real torch.save output of torch 2.14 and of torch 1.13, written by
    /// make_files.py) reads as that torch reads it: the stub graph's tensors, torch's statistics of their values, the
    /// optimizer classes, and the tensors only torch's own classes describe (jagged NestedTensor, DTensor).
    /// </summary>
    public class TorchWrittenFileTests
    {
        public static IEnumerable<object[]> Files() =>
            Directory.GetFiles(Path.Combine(RepoPaths.Torch2Fixtures, "truth"), "*.json").OrderBy(f => f, StringComparer.Ordinal)
                .Select(f => new object[] { Path.GetFileNameWithoutExtension(f) });

        private static JsonDocument Truth(string file) => JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Torch2Fixtures, "truth", file + ".json")));
        private static string FilePath(string file) => Path.Combine(RepoPaths.Torch2Fixtures, "files", file);

        [Fact]
        public void BothTorchesWroteFiles()
        {
            var names = Files().Select(f => (string)f[0]).ToList();
            Assert.True(names.Count(n => n.StartsWith("t2_", StringComparison.Ordinal)) >= 13, string.Join(", ", names));
            Assert.True(names.Count(n => n.StartsWith("t1_", StringComparison.Ordinal)) >= 7, string.Join(", ", names));
        }

        [Theory]
        [MemberData(nameof(Files))]
        public void ReadsLikeTheTorchThatWroteIt(string file)
        {
            using var doc = Truth(file);
            TruthComparer.AssertMatches(FilePath(file), doc.RootElement);
            TruthComparer.AssertMatches(FilePath(file), doc.RootElement, gatherWindowBytes: 16);
        }

        [Theory]
        [MemberData(nameof(Files))]
        public void StatisticsAreTorchs(string file)
        {
            using var doc = Truth(file);
            if (!doc.RootElement.TryGetProperty("stats", out var stats) || !stats.EnumerateObject().Any()) return;
            var c = Checkpoint.Open(FilePath(file));
            var tensors = CkptTensor.List(c, all: true).ToDictionary(t => t.TensorPath, StringComparer.Ordinal);
            var errors = new List<string>();
            using var reader = new TensorDataReader(c);
            foreach (var e in stats.EnumerateObject())
            {
                Assert.True(tensors.TryGetValue(e.Name, out var t), $"{file}: torch has a tensor at {e.Name}, we do not");
                TensorAnalysis.Analyze(t!, reader, hash: false, statistics: true);
                errors.AddRange(DataOracle.StatisticsMismatches(e.Name, e.Value, t!));
            }
            Assert.True(errors.Count == 0, $"{file} ({doc.RootElement.GetProperty("torch")}):\n" + string.Join("\n", errors));
        }

        /// <summary>Jagged NestedTensors (values, offsets, ragged shape) and DTensors (their local shard) as torch loads them.</summary>
        [Theory]
        [MemberData(nameof(Files))]
        public void NestedAndDistributedTensorsAreTorchs(string file)
        {
            using var doc = Truth(file);
            if (!doc.RootElement.TryGetProperty("special", out var special) || special.GetArrayLength() == 0) return;
            var c = Checkpoint.Open(FilePath(file));
            var byPath = c.AllTensors.ToDictionary(e => e.Path, e => e.Tensor, StringComparer.Ordinal);
            using var reader = new TensorDataReader(c);
            foreach (var e in special.EnumerateArray())
            {
                var path = e.GetProperty("path").GetString()!;
                Assert.True(byPath.TryGetValue(path, out var t), $"{file}: torch has {path}, we list {string.Join(", ", byPath.Keys)}");
                Assert.Equal(e.GetProperty("dtype").GetString(), t!.DType.Name);
                var shape = e.GetProperty("shape").EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Null ? -1 : x.GetInt64()).ToArray();
                Assert.Equal(shape, t.Shape);
                switch (e.GetProperty("kind").GetString())
                {
                    case "jagged":
                        Assert.Equal("jagged", t.Layout);
                        Assert.Equal(e.GetProperty("values_shape").EnumerateArray().Select(x => x.GetInt64()).ToArray(), t.Components[0].Shape);
                        Assert.Equal(t.Components[0].Numel, t.Numel);
                        Assert.Equal(e.GetProperty("values_sha256").GetString(), reader.Sha256(t.Components[0]));
                        Assert.Equal(e.GetProperty("offsets_sha256").GetString(), reader.Sha256(t.Components[1]));
                        break;
                    case "dtensor":
                        Assert.Equal("DTensor", t.SubclassType?.Name);
                        Assert.Equal("cpu", t.Device);
                        Assert.True(byPath.TryGetValue(path + "._local_tensor", out var local), $"{file}: the local shard of {path} is not listed");
                        Assert.Equal(e.GetProperty("local_shape").EnumerateArray().Select(x => x.GetInt64()).ToArray(), local!.Shape);
                        Assert.Equal(e.GetProperty("local_stride").EnumerateArray().Select(x => x.GetInt64()).ToArray(), local.Stride);
                        Assert.Equal(e.GetProperty("local_sha256").GetString(), reader.Sha256(local));
                        break;
                    default: throw new Xunit.Sdk.XunitException("unknown kind " + e.GetProperty("kind"));
                }
            }
        }

        [Theory]
        [MemberData(nameof(Files))]
        public void OptimizersAreTheClassesTorchUsed(string file)
        {
            using var doc = Truth(file);
            if (!doc.RootElement.TryGetProperty("optimizers", out var names)) return;
            bool torch1 = doc.RootElement.GetProperty("torch").GetString()!.StartsWith("1.", StringComparison.Ordinal);
            var info = CkptInfo.From(Checkpoint.Open(FilePath(file)));
            var expected = names.EnumerateArray().Select(n => n.GetString()!).ToList();
            Assert.Equal(expected.Count, info.Optimizers.Count);
            var wrong = new List<string>();
            for (int i = 0; i < expected.Count; i++)
            {
                // torch 1.13's Adam and AdamW keep the same keys (AdamW is told apart only by decoupled_weight_decay, 2.x)
                var want = torch1 && (expected[i] == "Adam" || expected[i] == "AdamW") ? "Adam/AdamW" : expected[i];
                // a qualifier may follow the class: "SGD (momentum)"
                if (info.Optimizers[i] != want && !info.Optimizers[i].StartsWith(want + " (", StringComparison.Ordinal)) wrong.Add($"{expected[i]} read as {info.Optimizers[i]}");
            }
            Assert.True(wrong.Count == 0, file + ": " + string.Join("; ", wrong));
        }
    }
}

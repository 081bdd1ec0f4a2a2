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

using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text.Json;
using LightningCkpt.Writing;
using LightningCkpt.Writing.Merging;
using Xunit;
using Xunit.Abstractions;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// Merge-CkptWeights' methods against torch: tests/fixtures/merge_oracle.py makes random Lightning checkpoints
    /// (a fresh seed each run, printed), the merger writes every method, and the script recomputes each in float64
    /// with torch and loads every output with torch.load(weights_only=True).
    /// </summary>
    public sealed class MergeMethodTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "ckptmerge-" + Guid.NewGuid().ToString("N"));
        private readonly ITestOutputHelper _out;

        public MergeMethodTests(ITestOutputHelper output)
        {
            _out = output;
            Directory.CreateDirectory(_dir);
        }

        public void Dispose() { try { Directory.Delete(_dir, true); } catch { } }

        private string In(string name) => Path.Combine(_dir, name);

        private static readonly string Script = Path.Combine(RepoPaths.Fixtures, "merge_oracle.py");

        private sealed class Case
        {
            public string Out = "";
            public MergeRequest Request = new MergeRequest();
            public string[] Inputs = { "m0.ckpt", "m1.ckpt", "m2.ckpt" };
            public string? Base;
            public string[]? Include;
            public (string pattern, double[] weights)[] Map = Array.Empty<(string, double[])>();
        }

        private static Func<string, bool> Wildcard(string pattern)
        {
            var regex = new System.Text.RegularExpressions.Regex("^" + System.Text.RegularExpressions.Regex.Escape(pattern).Replace("\\*", ".*").Replace("\\?", ".") + "$",
                System.Text.RegularExpressions.RegexOptions.IgnoreCase);
            return regex.IsMatch;
        }

        private static IEnumerable<Case> Cases()
        {
            yield return new Case { Out = "linear.pt" };
            yield return new Case { Out = "linear_w.pt", Request = new MergeRequest { Weights = new[] { 0.2, 0.3, 0.5 } } };
            yield return new Case { Out = "linear_map.pt", Map = new[] { ("layer.*", new[] { 0.6, 0.3, 0.1 }), ("*", new[] { 0.1, 0.1, 0.8 }) } };
            yield return new Case { Out = "slerp.pt", Inputs = new[] { "m0.ckpt", "m1.ckpt" }, Request = new MergeRequest { Method = MergeMethod.Slerp, Weights = new[] { 0.3 } } };
            yield return new Case { Out = "slerp_map.pt", Inputs = new[] { "m0.ckpt", "m2.ckpt" }, Request = new MergeRequest { Method = MergeMethod.Slerp }, Map = new[] { ("big.*", new[] { 0.8 }) } };
            yield return new Case { Out = "task.pt", Base = "base.ckpt", Request = new MergeRequest { Method = MergeMethod.TaskArithmetic, Weights = new[] { 0.5, 0.8, -0.3 }, Scale = 0.7 } };
            yield return new Case { Out = "ties.pt", Base = "base.ckpt", Request = new MergeRequest { Method = MergeMethod.Ties, Weights = new[] { 1, 0.6, 0.8 }, Density = 0.3, Scale = 1.2 } };
            yield return new Case { Out = "ties_all.pt", Base = "base.ckpt", Request = new MergeRequest { Method = MergeMethod.Ties, Density = 1 } };
            yield return new Case { Out = "ties_include.pt", Base = "base.ckpt", Include = new[] { "layer.*", "ties.*" }, Request = new MergeRequest { Method = MergeMethod.Ties, Density = 0.5 } };
            yield return new Case { Out = "dare.pt", Base = "base.ckpt", Request = new MergeRequest { Method = MergeMethod.Dare, Weights = new[] { 0.4, 0.3, 0.3 }, Density = 0.4, Seed = 1234, Scale = 0.9 } };
            yield return new Case { Out = "dareties.pt", Base = "base.ckpt", Request = new MergeRequest { Method = MergeMethod.DareTies, Weights = new[] { 1, 0.5, 0.7 }, Density = 0.6, Seed = -77 } };
            yield return new Case { Out = "ties_meta.ckpt", Base = "base.ckpt", Request = new MergeRequest { Method = MergeMethod.Ties, Density = 0.2, KeepMetadata = true } };
        }

        [SkippableTheory]
        [MemberData(nameof(TorchOracle.Both), MemberType = typeof(TorchOracle))]
        public void EveryMethodEqualsTorchInFloat64(string oracleName)
        {
            var oracle = TorchOracle.Named(oracleName);
            Skip.IfNot(oracle.Available, oracle.SkipReason);
            // a printed seed is replayed with LIGHTNINGCKPT_DIFF_SEED, as in the other differential tests
            string seed = int.TryParse(Environment.GetEnvironmentVariable("LIGHTNINGCKPT_DIFF_SEED"), out var s) ? " " + s : "";
            Assert.True(oracle.Run($"\"{Script}\" make \"{_dir}\"{seed}", out var made) == 0, made);
            _out.WriteLine($"{oracle.Label}: {made.Trim()}");

            var cases = Cases().ToList();
            var json = new List<Dictionary<string, object?>>();
            foreach (var c in cases)
            {
                var r = c.Request;
                r.Base = c.Base == null ? null : Checkpoint.Open(In(c.Base));
                r.WeightMap = c.Map.Select(m => new WeightRule(m.pattern, Wildcard(m.pattern), m.weights)).ToList();
                if (c.Include != null) r.Filter = name => c.Include.Any(p => Wildcard(p)(name));
                var warnings = new List<string>();
                r.Warn = warnings.Add;
                CheckpointMerger.Merge(c.Inputs.Select(i => Checkpoint.Open(In(i))).ToList(), r, In(c.Out), WeightsFileFormat.TorchZip, overwrite: false);
                Assert.Empty(warnings); // the integer and bool tensors are the same in every input
                json.Add(new Dictionary<string, object?>
                {
                    ["out"] = c.Out, ["method"] = r.Method.ToString(), ["inputs"] = c.Inputs, ["base"] = c.Base,
                    ["weights"] = r.Weights, ["weightmap"] = c.Map.Select(m => new object[] { m.pattern, m.weights }).ToArray(),
                    ["scale"] = r.Scale, ["density"] = r.Density, ["seed"] = r.Seed, ["include"] = c.Include, ["keep_metadata"] = r.KeepMetadata,
                });
            }
            File.WriteAllText(In("cases.json"), JsonSerializer.Serialize(json));
            Assert.True(oracle.Run($"\"{Script}\" check \"{_dir}\" \"{In("cases.json")}\"", out var result) == 0, result);
            _out.WriteLine(result);
            using var doc = JsonDocument.Parse(result);
            var problems = doc.RootElement.GetProperty("problems").EnumerateArray().Select(p => p.GetString()).ToList();
            Assert.True(problems.Count == 0, string.Join("\n", problems.Take(20)));
        }

        [SkippableFact]
        public void DareIsReproducibleForASeedAndChangesWithIt()
        {
            var oracle = TorchOracle.Torch1;
            Skip.IfNot(oracle.Available, oracle.SkipReason);
            Assert.True(oracle.Run($"\"{Script}\" make \"{_dir}\"", out var made) == 0, made);
            string Merge(string name, long seed)
            {
                var inputs = new[] { "m0.ckpt", "m1.ckpt" }.Select(i => Checkpoint.Open(In(i))).ToList();
                CheckpointMerger.Merge(inputs, new MergeRequest { Method = MergeMethod.DareTies, Base = Checkpoint.Open(In("base.ckpt")), Density = 0.5, Seed = seed },
                    In(name), WeightsFileFormat.Safetensors, false);
                using var sha = SHA256.Create();
                return Convert.ToBase64String(sha.ComputeHash(File.ReadAllBytes(In(name))));
            }
            string first = Merge("a.safetensors", 42);
            Assert.Equal(first, Merge("b.safetensors", 42));
            Assert.NotEqual(first, Merge("c.safetensors", 43));
        }

        [SkippableFact]
        public void IntegerTensorsComeFromTheBaseWithAWarningWhenTheInputsDiffer()
        {
            var oracle = TorchOracle.Torch1;
            Skip.IfNot(oracle.Available, oracle.SkipReason);
            Assert.True(oracle.Run($"\"{Script}\" make \"{_dir}\"", out var made) == 0, made);
            var warnings = new List<string>();
            var baseCkpt = Checkpoint.Open(In("base.ckpt"));
            CheckpointMerger.Merge(new[] { Checkpoint.Open(In("m0.ckpt")), Checkpoint.Open(In("m0_counted.ckpt")) },
                new MergeRequest { Method = MergeMethod.TaskArithmetic, Base = baseCkpt, Warn = warnings.Add }, In("int.pt"), WeightsFileFormat.TorchZip, false);
            var warning = Assert.Single(warnings);
            Assert.Contains("bn.num_batches_tracked", warning);
            Assert.Contains("base.ckpt", warning);
            var written = Checkpoint.Open(In("int.pt"));
            using var reader = new Data.TensorDataReader(written);
            using var baseReader = new Data.TensorDataReader(baseCkpt);
            Assert.Equal(baseReader.ReadScalar(baseCkpt.View.Weights.Single(w => w.Name == "bn.num_batches_tracked").Tensor),
                reader.ReadScalar(written.View.Weights.Single(w => w.Name == "bn.num_batches_tracked").Tensor));
        }

        [Theory]
        [InlineData(0.1)]
        [InlineData(0.5)]
        [InlineData(0.9)]
        public void DareKeepsAFractionWithinOnePercentOfTheDensity(double density)
        {
            const int n = 4_000_000;
            var g = new DareGenerator(20261206, "model.layers.0.mlp.weight", 1, density);
            long kept = 0;
            for (long j = 0; j < n; j++) if (g.Keeps(j)) kept++;
            double fraction = (double)kept / n;
            Assert.InRange(fraction, density * 0.99, density * 1.01);
        }

        [Fact]
        public void DareStreamsDifferPerInputAndTensor()
        {
            var a = new DareGenerator(1, "w", 0, 0.5);
            var b = new DareGenerator(1, "w", 1, 0.5);
            var c = new DareGenerator(1, "v", 0, 0.5);
            int sameAB = 0, sameAC = 0;
            for (long j = 0; j < 10_000; j++)
            {
                if (a.Keeps(j) == b.Keeps(j)) sameAB++;
                if (a.Keeps(j) == c.Keeps(j)) sameAC++;
            }
            Assert.InRange(sameAB, 4_500, 5_500);
            Assert.InRange(sameAC, 4_500, 5_500);
        }

        [Theory]
        [InlineData(0, 0)]
        [InlineData(1, 0)]
        [InlineData(2, 0)]
        [InlineData(0, 7)]
        [InlineData(1, 7)]
        [InlineData(2, 7)]
        [InlineData(0, MagnitudeThreshold.DefaultCandidateLimit)]
        [InlineData(1, MagnitudeThreshold.DefaultCandidateLimit)]
        [InlineData(2, MagnitudeThreshold.DefaultCandidateLimit)]
        public void TopKThresholdKeepsExactlyTheKLargestMagnitudes(int seed, int candidateLimit)
        {
            // candidateLimit 0: every digit counted in a streamed pass; 7: the small buckets' digits chosen in memory;
            // the default: two streamed passes. One selection reset for every tensor, as a merge does
            var random = new Random(seed);
            var t = new MagnitudeThreshold(candidateLimit);
            foreach (int numel in new[] { 1, 7, 1000, 70_000 })
            {
                // few distinct magnitudes (many ties), then spread-out ones
                var values = Enumerable.Range(0, numel).Select(_ => seed == 0 ? (random.Next(9) - 4) * 0.25 : random.NextDouble() * 2 - 1).ToArray();
                if (seed == 2) values[numel / 2] = double.NaN;
                foreach (long k in new long[] { 0, 1, numel / 3, numel - 1, numel })
                {
                    t.Reset(k, numel);
                    for (int pass = 0; t.NeedsPass; pass++)
                    {
                        Assert.True(pass < MagnitudeThreshold.Passes);
                        Count(t, values);
                        t.EndPass();
                    }
                    var kept = values.Select(v => t.Keeps(MagnitudeThreshold.Key(v))).ToArray();
                    Assert.Equal(k, kept.LongCount(x => x));
                    // every kept magnitude is ≥ every dropped one (NaN ranks above all, as in torch.topk)
                    double Rank(double v) => double.IsNaN(v) ? double.PositiveInfinity : Math.Abs(v);
                    if (k > 0 && k < numel)
                        Assert.True(Enumerable.Range(0, numel).Where(i => kept[i]).Min(i => Rank(values[i])) >= Enumerable.Range(0, numel).Where(i => !kept[i]).Max(i => Rank(values[i])));
                    // ties at the threshold: the first ones in order are kept
                    if (k > 0 && k < numel)
                    {
                        double threshold = Enumerable.Range(0, numel).Where(i => kept[i]).Min(i => Rank(values[i]));
                        var equal = Enumerable.Range(0, numel).Where(i => Rank(values[i]) == threshold).ToList();
                        int lastKept = equal.Where(i => kept[i]).DefaultIfEmpty(-1).Max();
                        Assert.All(equal.Where(i => i < lastKept), i => Assert.True(kept[i]));
                    }
                }
            }
        }

        /// <summary>One streamed pass over <paramref name="values"/> (as task vectors against a zero base), in blocks as the merger feeds it.</summary>
        private static unsafe void Count(MagnitudeThreshold t, double[] values)
        {
            var zeros = new double[1024];
            fixed (double* v = values)
            fixed (double* z = zeros)
                for (int at = 0; at < values.Length; at += zeros.Length) t.Count(v + at, z, Math.Min(zeros.Length, values.Length - at));
        }

        [Fact]
        public void TopKThresholdOfDistinctMagnitudesTakesTwoStreamedPasses()
        {
            // the first digit narrows 1 M magnitudes to a bucket that fits the candidates: the rest is chosen in memory
            var random = new Random(5);
            var values = Enumerable.Range(0, 1_000_000).Select(_ => random.NextDouble() * 2 - 1).ToArray();
            var keys = values.Select(MagnitudeThreshold.Key).ToArray();
            var t = new MagnitudeThreshold(200_000, keys.Length);
            int passes = 0;
            for (; t.NeedsPass; passes++)
            {
                Count(t, values);
                t.EndPass();
            }
            Assert.Equal(2, passes);
            var sorted = keys.OrderByDescending(x => x).ToArray();
            Assert.NotEqual(sorted[199_999], sorted[200_000]);
            var kept = keys.Select(t.Keeps).ToArray();
            Assert.Equal(keys.Select(x => x >= sorted[199_999]), kept);
        }

        [Fact]
        public void SlerpFallsBackToLinearForParallelOrZeroTensors()
        {
            Assert.Equal((0.7, 0.3), SlerpStrategy.Coefficients(0.3, 0, 0, 4));
            Assert.Equal((0.7, 0.3), SlerpStrategy.Coefficients(0.3, 2, 1, 4)); // cos = 1
            var (a, b) = SlerpStrategy.Coefficients(0.5, 0, 1, 1); // orthogonal unit vectors
            Assert.Equal(Math.Sqrt(0.5), a, 12);
            Assert.Equal(Math.Sqrt(0.5), b, 12);
        }

        [Fact]
        public void RequestsThatCannotWorkAreRefusedBeforeWriting()
        {
            var a = Checkpoint.Open(Path.Combine(RepoPaths.FixtureFiles, "lightning2_full.ckpt"));
            void Refused(MergeRequest r, int n, string text)
            {
                var e = Assert.Throws<ArgumentException>(() => CheckpointMerger.Merge(Enumerable.Repeat(a, n).ToList(), r, In("x.pt"), WeightsFileFormat.TorchZip, false));
                Assert.Contains(text, e.Message);
                Assert.False(File.Exists(In("x.pt")));
            }
            Refused(new MergeRequest { Method = MergeMethod.Slerp }, 3, "exactly two");
            Refused(new MergeRequest { Method = MergeMethod.Ties, Density = 0.5 }, 2, "-BasePath");
            Refused(new MergeRequest { Method = MergeMethod.Ties, Base = a }, 2, "-Density");
            Refused(new MergeRequest { Method = MergeMethod.Dare, Base = a, Density = 1.5 }, 2, "(0, 1]");
            Refused(new MergeRequest { Method = MergeMethod.Linear, Base = a }, 2, "takes no base");
            Refused(new MergeRequest { Method = MergeMethod.Slerp, Weights = new[] { 0.2, 0.8 } }, 2, "Slerp takes one");
            Refused(new MergeRequest { WeightMap = new[] { new WeightRule("enc.*", _ => true, new[] { 0.5, 0.6 }) } }, 2, "-WeightMap 'enc.*'");
        }

        [Fact]
        public void ABaseThatDoesNotFitIsNamedInTheError()
        {
            var a = Checkpoint.Open(Path.Combine(RepoPaths.FixtureFiles, "lightning2_full.ckpt"));
            var other = Checkpoint.Open(Path.Combine(RepoPaths.FixtureFiles, "params_zip.pt"));
            var e = Assert.Throws<WeightsRequestException>(() => CheckpointMerger.Merge(new[] { a, a }, new MergeRequest { Method = MergeMethod.TaskArithmetic, Base = other }, In("x.pt"), WeightsFileFormat.TorchZip, false));
            Assert.Equal(WeightsRequestProblem.MergeMismatch, e.Problem);
            Assert.Contains("params_zip.pt", e.Message);
            Assert.False(File.Exists(In("x.pt")));
        }
    }
}

using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using LightningCkpt.Data;
using LightningCkpt.Torch;
using LightningCkpt.Writing;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// Consolidation is Select-CkptWeights -OutFile on a sharded input: every fixture is written as a torch file and
    /// as safetensors, and torch (weights_only=True; safetensors read by the spec) must find exactly the truth's
    /// tensors. Statistics and differences over chunked tensors must agree with the consolidated copy.
    /// </summary>
    public sealed class ShardedConsolidationTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "lightningckpt-consolidate-" + Guid.NewGuid().ToString("N").Substring(0, 8));

        public ShardedConsolidationTests() => Directory.CreateDirectory(_dir);
        public void Dispose() => Directory.Delete(_dir, recursive: true);

        private static string Source(string name) => Path.Combine(ShardedCheckpointTests.Dir, name);

        private string Consolidate(string name, string ext, SelectOptions? options = null) =>
            ConsolidateTo(Source(name), Path.Combine(_dir, name + ext), options);

        /// <summary>Select-CkptWeights -OutFile: the weights of the checkpoint at <paramref name="source"/> written to <paramref name="outFile"/> (format by extension).</summary>
        internal static string ConsolidateTo(string source, string outFile, SelectOptions? options = null)
        {
            var c = Checkpoint.Open(source);
            options ??= new SelectOptions();
            var sel = WeightSelection.Select(c, options);
            WeightSelection.Write(c, sel, options, outFile, WeightSelection.FormatFor(outFile), overwrite: false);
            return outFile;
        }

        /// <summary>torch's view of each output file (one python start for all of them).</summary>
        internal static JsonElement[] Oracle(params string[] files)
        {
            var psi = new ProcessStartInfo(PythonOracle.Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add(Path.Combine(RepoPaths.Fixtures, "sharded_oracle.py"));
            psi.ArgumentList.Add("hashes");
            foreach (var f in files) psi.ArgumentList.Add(f);
            using var p = Process.Start(psi)!;
            string o = p.StandardOutput.ReadToEnd(), e = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, "sharded_oracle.py failed: " + e);
            return JsonDocument.Parse(o).RootElement.EnumerateArray().Select(x => x.Clone()).ToArray();
        }

        [SkippableFact]
        public void EveryFixtureConsolidatesToAFileTorchReadsAsTheTruth()
        {
            Skip.IfNot(PythonOracle.HasTorch, "torch is not installed at /usr/bin/python3");
            // fixtures whose truth names the weights ("tensors"); make_torch2_sharded's DCP folders list every tensor by path instead
            var cases = (from f in ShardedCheckpointTests.CommittedFixtures()
                         where File.ReadAllText(Source((string)f[0]) + ".truth.json").Contains("\"tensors\":")
                         from ext in new[] { ".pt", ".safetensors" }
                         select (name: (string)f[0], ext)).ToList();
            var outputs = cases.Select(c => Consolidate(c.name, c.ext)).ToArray();
            var results = Oracle(outputs);
            for (int k = 0; k < cases.Count; k++)
            {
                var (name, ext) = cases[k];
                using var truth = JsonDocument.Parse(File.ReadAllText(Source(name) + ".truth.json"));
                AssertSameTensors(truth.RootElement, results[k], ext, name + ext);
            }
        }

        /// <summary>torch's reading of a consolidated file has the truth's tensors: names, dtypes, shapes, SHA-256.</summary>
        internal static void AssertSameTensors(JsonElement truth, JsonElement oracle, string ext, string what)
        {
            var want = truth.GetProperty("tensors").EnumerateArray().Select(Row).ToList();
            var got = oracle.GetProperty("tensors").EnumerateArray().Select(Row).ToList();
            // safetensors has no order of its own (writers sort by dtype and name): compare as sets there
            if (ext == ".safetensors") { want.Sort(StringComparer.Ordinal); got.Sort(StringComparer.Ordinal); }
            Assert.True(want.SequenceEqual(got), $"{what}:\n  want {string.Join("\n       ", want)}\n  got  {string.Join("\n       ", got)}");
        }

        private static string Row(JsonElement e) =>
            $"{e.GetProperty("name").GetString()} {e.GetProperty("dtype").GetString()} [{string.Join(",", e.GetProperty("shape").EnumerateArray().Select(x => x.GetInt64()))}] {e.GetProperty("sha256").GetString()}";

        [SkippableFact]
        public void ConsolidationCastsFiltersStripsAndKeepsLightningMetadata()
        {
            Skip.IfNot(PythonOracle.HasTorch, "torch is not installed at /usr/bin/python3");
            var options = new SelectOptions
            {
                Filter = n => n.StartsWith("0.", StringComparison.Ordinal),
                StripPrefixes = new[] { "0." },
                CastTo = DType.Float16,
                KeepMetadata = true,
            };
            var outFile = Consolidate("lightning2_fsdp.ckpt", ".ckpt", options);
            var o = Oracle(outFile)[0];
            Assert.Equal(2, o.GetProperty("epoch").GetInt32());
            Assert.Equal(60, o.GetProperty("global_step").GetInt32());
            var t = o.GetProperty("tensors").EnumerateArray().ToList();
            Assert.Equal(new[] { "weight", "bias" }, t.Select(x => x.GetProperty("name").GetString()));
            Assert.All(t, x => Assert.Equal("float16", x.GetProperty("dtype").GetString()));
            // the float16 values are the source's, rounded: compare with our own reading of the sharded tensors
            var src = Checkpoint.Open(Source("lightning2_fsdp.ckpt"));
            var back = Checkpoint.Open(outFile);
            var a = CkptTensor.List(src, false).Single(x => x.Name == "0.weight").ToArray();
            var b = CkptTensor.List(back, false).Single(x => x.Name == "weight").ToArray();
            Assert.Equal(a.Length, b.Length);
            for (int i = 0; i < a.Length; i++) Assert.Equal((double)(Half)a[i], b[i]);
        }

        [SkippableTheory]
        [InlineData("ds_zero2_bf16_dp2", null)]
        [InlineData("ds_zero3_bf16_dp2", null)]
        [InlineData("ds_zero3_bf16_dp2", "float16")]
        [InlineData("dcp2x_tied", null)]
        [InlineData("dcp2x_tied", "bfloat16")]
        public void TiedWeightsAreOneStorageInATorchFileAndTwoCopiesInSafetensors(string name, string? dtype)
        {
            Skip.IfNot(PythonOracle.HasTorch, "torch is not installed at /usr/bin/python3");
            var options = new SelectOptions { CastTo = dtype == null ? null : DType.FromName(dtype) };
            var pt = Consolidate(name, "." + (dtype ?? "same") + ".pt", options);
            var st = Consolidate(name, "." + (dtype ?? "same") + ".safetensors", options);
            var o = Oracle(pt, st);
            // torch.load finds head.weight and embed.weight on one storage, as zero_to_fp32's torch.save leaves them
            var tied = o[0].GetProperty("tied").EnumerateArray().Select(g => g.EnumerateArray().Select(x => x.GetString()).OrderBy(x => x, StringComparer.Ordinal).ToArray()).ToList();
            Assert.Equal(new[] { new[] { "embed.weight", "head.weight" } }, tied);
            Assert.Empty(o[1].GetProperty("tied").EnumerateArray());
            var source = Checkpoint.Open(Source(name));
            Assert.Equal(source.View.Weights.Count - 1, Checkpoint.Open(pt).Storages.Count);
            // and the values are right in both files: each name's bytes are the source's, cast as asked
            using var reader = new TensorDataReader(source);
            foreach (var file in o)
            {
                var rows = file.GetProperty("tensors").EnumerateArray().ToDictionary(x => x.GetProperty("name").GetString()!, x => x.GetProperty("sha256").GetString());
                Assert.Equal(source.View.Weights.Count, rows.Count);
                Assert.Equal(rows["embed.weight"], rows["head.weight"]);
                if (dtype == null)
                    foreach (var w in source.View.Weights) Assert.Equal(reader.Sha256(w.Tensor), rows[w.Name]);
            }
            if (dtype != null)
            {
                var back = Checkpoint.Open(pt);
                var cast = DType.FromName(dtype)!;
                var a = CkptTensor.List(source, false).Single(x => x.Name == "embed.weight").ToArray();
                var b = CkptTensor.List(back, false).Single(x => x.Name == "head.weight").ToArray();
                Assert.Equal(a.Select(v => RoundTo(v, cast)), b);
            }
        }

        private static double RoundTo(double v, DType d) => d == DType.Float16 ? (double)(Half)v : (double)BitConverter.Int32BitsToSingle(Bf16(v));

        private static int Bf16(double v)
        {
            int bits = BitConverter.SingleToInt32Bits((float)v);
            return (bits + 0x7FFF + ((bits >> 16) & 1)) & unchecked((int)0xFFFF0000); // round to nearest even
        }

        [SkippableFact]
        public void TiedWeightsOfAnOrdinaryFileStayOneStorageWhenCast()
        {
            Skip.IfNot(PythonOracle.HasTorch, "torch is not installed at /usr/bin/python3");
            // model.state_dict() of a tied model: two detached tensors over one storage, plus a slice of it (not the same tensor)
            var src = Path.Combine(_dir, "tied_source.pt");
            int code = PythonOracle.Run("-c \"import torch; w = torch.randn(4, 3); torch.save({'embed.weight': w.detach(), 'head.weight': w.detach(), 'part': w[1:], 'b': torch.randn(3)}, '" + src + "')\"", out var log);
            Assert.True(code == 0, log);
            var outs = new[] { null, DType.Float16 }.Select(d => ConsolidateTo(src, Path.Combine(_dir, "tied_" + (d?.Name ?? "same") + ".pt"), new SelectOptions { CastTo = d })).ToArray();
            var o = Oracle(outs);
            Assert.Equal("[[\"embed.weight\",\"head.weight\",\"part\"]]", o[0].GetProperty("tied").GetRawText().Replace(" ", ""));
            Assert.Equal("[[\"embed.weight\",\"head.weight\"]]", o[1].GetProperty("tied").GetRawText().Replace(" ", ""));
            Assert.Equal(3, Checkpoint.Open(outs[1]).Storages.Count); // the cast tied pair, the cast slice, b
        }

        [Theory]
        [InlineData("dcp13_gloo_sharded")]
        [InlineData("dcp13_gloo2_sharded")]
        [InlineData("ds_zero3_bf16_dp2")]
        [InlineData("ds_zero2_bf16_dp2")]
        [InlineData("lightning2_fsdp.ckpt")]
        public void StatisticsAndDifferencesOverChunksAgreeWithTheConsolidatedCopy(string name)
        {
            var outFile = Consolidate(name, ".safetensors");
            var sharded = Checkpoint.Open(Source(name));
            var whole = Checkpoint.Open(outFile);
            var a = CkptTensor.List(sharded, false);
            var b = CkptTensor.List(whole, false).ToDictionary(x => x.Name);
            Assert.Contains(a, x => x.Tensor.IsChunked);
            using (var ra = new TensorDataReader(sharded))
            using (var rb = new TensorDataReader(whole))
                foreach (var x in a)
                {
                    var y = b[x.Name];
                    TensorAnalysis.Analyze(x, ra, hash: true, statistics: true);
                    TensorAnalysis.Analyze(y, rb, hash: true, statistics: true);
                    Assert.Equal(y.Sha256, x.Sha256);
                    Assert.Equal(y.Min, x.Min);
                    Assert.Equal(y.Max, x.Max);
                    Assert.Equal(y.ZeroFraction, x.ZeroFraction);
                    Close(y.Mean, x.Mean);
                    Close(y.Std, x.Std);
                    Close(y.L2Norm, x.L2Norm);
                    Assert.Equal(y.ToArray(), x.ToArray());
                }
            var diffs = CheckpointComparer.Compare(sharded, whole, new CompareOptions { IncludeEqual = true }).Where(d => d.Kind == "Tensor").ToList();
            Assert.Equal(a.Count, diffs.Count);
            Assert.All(diffs, d => Assert.Equal(DiffStatus.Equal, d.Status));
        }

        [Fact]
        public void ADifferentValueInOneChunkIsSeenByCompare()
        {
            // consolidate, then change one element of the copy: the chunked reference must report exactly that change
            var outFile = Consolidate("dcp13_gloo_sharded", ".safetensors");
            var bytes = File.ReadAllBytes(outFile);
            var whole = Checkpoint.Open(outFile);
            var cols = whole.View.Weights.Single(w => w.Name == "cols").Tensor;
            long at = cols.Storage!.FileOffset + 4 * 11; // element [1, 5]: in the last column chunk
            var v = BitConverter.ToSingle(bytes, (int)at);
            BitConverter.GetBytes(v + 0.5f).CopyTo(bytes, (int)at);
            var changed = Path.Combine(_dir, "changed.safetensors");
            File.WriteAllBytes(changed, bytes);
            var diffs = CheckpointComparer.Compare(Checkpoint.Open(Source("dcp13_gloo_sharded")), Checkpoint.Open(changed), new CompareOptions()).Where(d => d.Kind == "Tensor").ToList();
            var d = Assert.Single(diffs);
            Assert.Equal("cols", d.Name);
            Assert.Equal(DiffStatus.Changed, d.Status);
            Assert.Equal(0.5, d.MaxAbsDiff!.Value, 5);
        }

        private static void Close(double? expected, double? actual)
        {
            Assert.Equal(expected.HasValue, actual.HasValue);
            if (expected == null) return;
            double e = expected.Value, a = actual!.Value;
            if (double.IsNaN(e)) { Assert.True(double.IsNaN(a)); return; }
            Assert.True(Math.Abs(e - a) <= 1e-12 * Math.Max(1, Math.Abs(e)), $"{a} differs from {e}");
        }
    }
}

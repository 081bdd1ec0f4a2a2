using System;
using System.IO;
using System.Linq;
using LightningCkpt.Data;
using LightningCkpt.Safety;
using LightningCkpt.Torch;
using LightningCkpt.Writing;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>What the output objects say, as the views and serialisers show it (issue 9's defects).</summary>
    public sealed class OutputObjectTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "ckptoutput-" + Guid.NewGuid().ToString("N"));

        public OutputObjectTests() => Directory.CreateDirectory(_dir);
        public void Dispose() { try { Directory.Delete(_dir, true); } catch { } }

        private static string Fixture(string name) => Path.Combine(RepoPaths.FixtureFiles, name);
        private static string Sample(string name) => Path.Combine(RepoPaths.Samples, "lightning_logs", "version_0", "checkpoints", name);

        [Theory]
        [InlineData(0L, "0 B")]
        [InlineData(1023L, "1023 B")]
        [InlineData(1024L, "1.0 KB")]
        [InlineData(10137L, "9.9 KB")]
        [InlineData(10752L, "10.5 KB")]
        [InlineData(1048575L, "1.0 MB")] // one decimal below 100, so 1.0 MB stands beside 1.1 MB (issue 19 item 12)
        [InlineData(1153434L, "1.1 MB")]
        [InlineData(104752742L, "99.9 MB")]
        [InlineData(125L << 20, "125 MB")]
        [InlineData(1395864371L, "1.3 GB")]
        public void ByteSize_reads_like_a_file_manager(long bytes, string expected) => Assert.Equal(expected, ByteSize.Format(bytes));

        [Fact]
        public void SinglePrecision_gives_the_decimal_of_the_float()
        {
            Assert.Equal(0.9, SinglePrecision.Shortest(0.9f));
            Assert.Equal(0.49562836, SinglePrecision.Shortest(0.49562836f));
            Assert.True(double.IsPositiveInfinity(SinglePrecision.Shortest(double.PositiveInfinity)));
            Assert.True(double.IsNaN(SinglePrecision.Shortest(double.NaN)));
            // order is kept: neighbouring floats stay distinct and sorted
            float a = 0.9f, b = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(a) + 1);
            Assert.True(SinglePrecision.Shortest(a) < SinglePrecision.Shortest(b));
        }

        [Fact]
        public void A_float32_best_score_is_its_float32_decimal_and_mode_is_kept()
        {
            var info = CkptInfo.Read(Fixture("lightning_inf_sentinel.ckpt"));
            Assert.Equal(0.9, info.BestModelScore);
            Assert.Equal("max", info.Mode);
            Assert.True(info.IsSafe);
            Assert.Null(info.SafetyWarning);
        }

        [Fact]
        public void Dangerous_globals_make_the_info_unsafe_with_a_warning_naming_file_and_global()
        {
            var file = Path.Combine(RepoPaths.Fixtures, "malicious", "real_zip_hostile_datapkl.pt");
            var info = CkptInfo.Read(file);
            Assert.False(info.IsSafe);
            Assert.Contains("os.system", info.SafetyWarning);
            Assert.Contains(file, info.SafetyWarning);
        }

        [Fact]
        public void Tensor_FullName_is_the_file_and_TensorPath_the_place_in_it()
        {
            var file = Sample("last.ckpt");
            var t = CkptTensor.List(Checkpoint.Open(file), all: false)[0];
            Assert.Equal(file, t.FullName);
            Assert.Equal(@"Microsoft.PowerShell.Core\FileSystem::" + file, t.PSPath);
            Assert.Equal("state_dict.model.net.0.weight", t.TensorPath);
            Assert.Equal("[16, 4]", t.Shape.ToString());
            Assert.Equal(new long[] { 16, 4 }, t.Shape.ToArray());
            Assert.Equal("[4, 1]", t.Stride.ToString());
            Assert.Null(typeof(CkptTensor).GetProperty("Tensor")); // engine internals are not public
        }

        [Fact]
        public void CheckValues_checks_weights_not_Lightnings_inf_sentinel()
        {
            var options = new ValidateOptions { CheckValues = true };
            var sentinel = CheckpointValidator.Test(Fixture("lightning_inf_sentinel.ckpt"), options);
            Assert.DoesNotContain(sentinel.Findings, f => f.Kind == "NonFiniteValues");
            Assert.True(sentinel.Passed);

            var bad = CheckpointValidator.Test(Fixture("lightning_nonfinite_weights.ckpt"), options);
            var finding = Assert.Single(bad.Findings, f => f.Kind == "NonFiniteValues");
            Assert.Equal("tensor state_dict.model.0.weight", finding.Location);
            Assert.Contains("1 NaN and 1 Inf", finding.Message);
            Assert.True(bad.IsValid && bad.IsSafe);
            Assert.False(bad.Passed);
        }

        [Fact]
        public void Findings_carry_their_file_and_the_result_summarises_them()
        {
            var truncated = CheckpointValidator.Test(Fixture("truncated_zip.ckpt"));
            Assert.All(truncated.Findings, f => Assert.Equal(truncated.FullName, f.FullName));
            Assert.All(truncated.Findings, f => Assert.Equal("truncated_zip.ckpt", f.Name));
            Assert.Equal("Truncated", truncated.Summary);
            Assert.Null(truncated.Format);

            var good = CheckpointValidator.Test(Sample("last.ckpt"));
            Assert.Equal("UnknownGlobal, WeightsOnlyRefused", good.Summary); // its AttributeDict: the file-level finding says which torch refuses it
            Assert.Equal(Container.CheckpointFormat.Zip, good.Format);

            var hostile = CheckpointValidator.Test(Path.Combine(RepoPaths.Fixtures, "malicious", "real_zip_hostile_datapkl.pt"));
            Assert.StartsWith("DangerousGlobal", hostile.Summary); // most severe first
        }

        [Fact]
        public void Compare_measures_values_across_a_dtype_change()
        {
            var source = Checkpoint.Open(Sample("last.ckpt"));
            var options = new SelectOptions { CastTo = DType.Float16 };
            var half = Path.Combine(_dir, "half.ckpt");
            WeightSelection.Write(source, WeightSelection.Select(source, options), options, half, WeightsFileFormat.TorchZip, false);
            var rows = CheckpointComparer.Compare(source, Checkpoint.Open(half), new CompareOptions()).Where(d => d.Kind == "Tensor").ToList();
            Assert.Equal(4, rows.Count);
            foreach (var d in rows)
            {
                Assert.Equal(DiffStatus.DTypeChanged, d.Status);
                Assert.Equal("float32 → float16", d.Change);
                Assert.Equal("half.ckpt", d.DifferenceName);
                // float16 keeps 11 significant bits: every value moves by at most half a float16 step
                Assert.InRange(d.MaxAbsDiff!.Value, 1e-9, 1e-3);
                Assert.InRange(d.CosineSimilarity!.Value, 0.99999, 1.0000001);
            }
        }

        [Fact]
        public void A_name_filter_picks_tensors_and_keeps_the_metadata_rows()
        {
            var a = Checkpoint.Open(Sample("last.ckpt"));
            var b = Checkpoint.Open(Sample("epoch=0-step=10.ckpt"));
            var rows = CheckpointComparer.Compare(a, b, new CompareOptions { NameFilter = n => n.EndsWith(".bias", StringComparison.Ordinal) }).ToList();
            Assert.All(rows.Where(d => d.Kind == "Tensor"), d => Assert.EndsWith(".bias", d.Name));
            var epoch = Assert.Single(rows, d => d.Name == "epoch");
            Assert.Equal("2 → 0", epoch.Change);
            Assert.Equal("", rows.First(d => d.Kind == "Tensor").Change); // values only: the numbers say how much
        }
    }
}

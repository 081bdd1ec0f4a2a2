using System.IO;
using System.Linq;
using LightningCkpt.Safety;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>Test-Ckpt -VerifyCrc on torch 2.x files whose CRC-32 torch left at 0 (skip_data(), compute_crc32=False).</summary>
    public class CrcNotRecordedTests
    {
        [Fact]
        public void ARecordedZeroIsNotRecordedNotAMismatch()
        {
            // torch 2.14's skip_data() save: its data entries record CRC-32 0 (torch never checks it)
            var file = Path.Combine(RepoPaths.Torch2Fixtures, "files", "t2_skip_data.pt");
            var r = CheckpointValidator.Test(file, new ValidateOptions { VerifyCrc = true });
            Assert.True(r.IsValid, string.Join("; ", r.Findings));
            Assert.DoesNotContain(r.Findings, f => f.Kind == "CrcMismatch");
            var notRecorded = r.Findings.Where(f => f.Kind == "CrcNotRecorded").ToList();
            Assert.Equal(new[] { "entry 't2_skip_data/data/0'", "entry 't2_skip_data/data/1'" }, notRecorded.Select(f => f.Location).ToArray());
            Assert.All(notRecorded, f => Assert.Equal(FindingSeverity.Info, f.Severity));
        }

        [Fact]
        public void AFileWithRecordedCrcsHasNoNotRecordedFinding()
        {
            var file = Path.Combine(RepoPaths.Torch2Fixtures, "files", "t2_dtypes.pt");
            var r = CheckpointValidator.Test(file, new ValidateOptions { VerifyCrc = true });
            Assert.True(r.IsValid, string.Join("; ", r.Findings));
            Assert.DoesNotContain(r.Findings, f => f.Kind == "CrcNotRecorded" || f.Kind == "CrcMismatch");
        }
    }
}

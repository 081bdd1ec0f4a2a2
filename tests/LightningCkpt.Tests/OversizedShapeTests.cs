using System;
using System.IO;
using LightningCkpt.Safety;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// Sizes whose element or byte count overflows 64 bits, in every reader that multiplies sizes read from a file
    /// (tests/fixtures/make_oversized.py): a LimitExceeded naming the tensor, never an internal OverflowException.
    /// </summary>
    public class OversizedShapeTests
    {
        private static readonly Lazy<string> Made = new Lazy<string>(() =>
        {
            var dir = Path.Combine(Path.GetTempPath(), $"lightningckpt-oversized-{Environment.ProcessId}-{Guid.NewGuid():N}");
            Directory.CreateDirectory(dir);
            AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(dir, true); } catch (IOException) { } };
            var code = TorchOracle.Torch2.Run($"\"{Path.Combine(RepoPaths.Fixtures, "make_oversized.py")}\" \"{dir}\" \"{RepoPaths.Root}\"", out var output);
            if (code != 0) throw new InvalidOperationException(output);
            return dir;
        });

        [SkippableTheory]
        [InlineData("huge_bytes.safetensors", "'w' of shape [4611686018427387904] has more than 9223372036854775807 bytes")]
        [InlineData("huge_elements.safetensors", "'w' of shape [4294967296, 4294967296, 4] has more than 9223372036854775807 elements")]
        [InlineData("huge_tar.pt", "'storage 0' of shape [4611686018427387904] has more than 9223372036854775807 bytes")]
        [InlineData("ds", "'embed.weight' of shape [4611686018427387904, 4] has more than")]
        [InlineData("dcp", "'embed.weight' of shape [4611686018427387904, 4] has more than")]
        public void OverflowingSizeIsALimitNamingTheTensor(string file, string message)
        {
            Skip.IfNot(TorchOracle.Torch2.Available, TorchOracle.Torch2.SkipReason);
            var path = Path.Combine(Made.Value, file);
            var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(path));
            Assert.Equal(CheckpointErrorKind.LimitExceeded, e.Kind);
            Assert.Contains(message, e.Reason);
            Assert.DoesNotContain(Checkpoint.InternalErrorPrefix, e.Reason);
            var r = CheckpointValidator.Test(path);
            Assert.Contains(r.Findings, f => f.Kind == "LimitExceeded" && f.Message.Contains(message));
        }
    }
}

using System;
using System.IO;
using System.Linq;
using System.Text;
using LightningCkpt.Safety;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>Zip entries flagged encrypted hold ciphertext: torch refuses them, and so does every reader here (issue 25 item 8).</summary>
    public class EncryptedZipTests
    {
        [SkippableTheory]
        [InlineData("archive/data.pkl")]
        [InlineData("archive/data/0")]
        public void EncryptedEntryIsRefusedWithAReason(string encrypted)
        {
            var pickle = new PickleBuilder().Proto(2).Op('}').Str("w").Global("torch._utils", "_rebuild_tensor_v2").Op('(')
                .Op('(').Str("storage").Global("torch", "FloatStorage").Str("0").Str("cpu").Int(2).Op('t').Op('Q')
                .Int(0).Int(2).Op(0x85).Int(1).Op(0x85).Op(0x89).Global("collections", "OrderedDict").Op(')').Op('R').Op('t').Op('R')
                .Op('s').Op('.').ToArray();
            var items = new[]
            {
                new FuzzZip.Item("archive/data.pkl", pickle),
                new FuzzZip.Item("archive/data/0", new byte[8]),
                new FuzzZip.Item("archive/version", Encoding.ASCII.GetBytes("3\n")),
            };
            var path = Path.Combine(Path.GetTempPath(), $"lightningckpt-encrypted-{Environment.ProcessId}-{Guid.NewGuid():N}.pt");
            try
            {
                File.WriteAllBytes(path, FuzzZip.Write(items));
                Assert.True(CheckpointValidator.Test(path).IsValid); // the same file unflagged reads
                items.Single(i => i.Name == encrypted).Flags = 1;
                File.WriteAllBytes(path, FuzzZip.Write(items));

                var r = CheckpointValidator.Test(path, new ValidateOptions { VerifyCrc = true });
                Assert.False(r.IsValid);
                Assert.False(r.IsSafe);
                Assert.Contains(r.Findings, f => f.Kind == "Unsupported" && f.Message.Contains("encrypted") && f.Message.Contains(encrypted));
                var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(path));
                Assert.Equal(CheckpointErrorKind.Unsupported, e.Kind);

                // torch refuses it too
                var oracle = TorchOracle.Torch1;
                Skip.IfNot(oracle.Available, oracle.SkipReason);
                oracle.Run("-", out var output, stdin: $"import torch\ntry:\n    torch.load('{path}', weights_only=False)\n    print('loaded')\nexcept Exception as e:\n    print('refused')\n");
                Assert.Equal("refused", output.Trim());
            }
            finally { File.Delete(path); }
        }
    }
}

using System;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using LightningCkpt.Data;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>A dtype this version does not know costs its tensor, never the file (issue 18 item 3).</summary>
    public class UnknownDTypeTests
    {
        /// <summary>
        /// Synthetic: torch 2.14's real t2_dtypes.pt with its global torch.float8_e5m2 renamed to torch.float8_x5m2
        /// (same length, so the stored data.pkl keeps its size), as a newer torch's dtype would appear.
        /// </summary>
        private static string FileWithAnUnknownDType()
        {
            var bytes = File.ReadAllBytes(Path.Combine(RepoPaths.Torch2Fixtures, "files", "t2_dtypes.pt"));
            var from = Encoding.ASCII.GetBytes("ctorch\nfloat8_e5m2\n");
            var to = Encoding.ASCII.GetBytes("ctorch\nfloat8_x5m2\n");
            int at = -1;
            for (int i = 0; i + from.Length <= bytes.Length && at < 0; i++)
                if (bytes.AsSpan(i, from.Length).SequenceEqual(from)) at = i;
            Assert.True(at >= 0, "t2_dtypes.pt no longer names torch.float8_e5m2 with GLOBAL");
            to.CopyTo(bytes, at);
            var path = Path.Combine(Path.GetTempPath(), $"lck-unknown-dtype-{Guid.NewGuid():N}.pt");
            File.WriteAllBytes(path, bytes);
            return path;
        }

        [Fact]
        public void OneTensorIsUnsupportedAndTheRestReadsExactly()
        {
            var path = FileWithAnUnknownDType();
            try
            {
                var c = Checkpoint.Open(path);
                using var truth = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Torch2Fixtures, "truth", "t2_dtypes.pt.json")));
                var expected = truth.RootElement.GetProperty("tensors").EnumerateArray().ToDictionary(e => e.GetProperty("path").GetString()!);
                Assert.Equal(expected.Keys, c.AllTensors.Select(t => t.Path));
                using var reader = new TensorDataReader(c);
                foreach (var e in c.AllTensors)
                {
                    if (e.Path.StartsWith("float8_e5m2", StringComparison.Ordinal) && !e.Path.StartsWith("float8_e5m2fnuz", StringComparison.Ordinal))
                    {
                        Assert.Equal("float8_x5m2", e.Tensor.DType.Name);
                        Assert.False(e.Tensor.HasData);
                        Assert.Equal(new long[] { e.Path.EndsWith("_t", StringComparison.Ordinal) ? 3 : 2, e.Path.EndsWith("_t", StringComparison.Ordinal) ? 2 : 3 }, e.Tensor.Shape);
                        Assert.Contains("torch.float8_x5m2", e.Tensor.UnsupportedReason);
                        var listed = CkptTensor.List(c, all: true).Single(t => t.TensorPath == e.Path);
                        listed.Source = c;
                        var ex = Assert.Throws<InvalidOperationException>(() => listed.ToArray());
                        Assert.Contains("does not know", ex.Message);
                        continue;
                    }
                    Assert.Equal(expected[e.Path].GetProperty("sha256").GetString(), reader.Sha256(e.Tensor));
                }
            }
            finally { File.Delete(path); }
        }
    }
}

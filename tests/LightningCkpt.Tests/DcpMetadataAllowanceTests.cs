using System;
using System.IO;
using System.Linq;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// A DCP folder written by many ranks has a large .metadata by nature (tensors × ranks chunk entries): its object
    /// allowance follows the .distcp bytes it describes (Limits.MaxDcpMetadataCostFor), so the same metadata is read
    /// beside data files that hold that much, and refused as LimitExceeded beside empty ones.
    /// </summary>
    public sealed class DcpMetadataAllowanceTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "lightningckpt-dcpmeta-" + Guid.NewGuid().ToString("N").Substring(0, 8));

        public DcpMetadataAllowanceTests() => Directory.CreateDirectory(_dir);

        public void Dispose() => Directory.Delete(_dir, recursive: true);

        private string Make(string name, string args)
        {
            var out_ = Path.Combine(_dir, name);
            var script = Path.Combine(RepoPaths.Fixtures, "make_dcp_many_chunks.py");
            int code = PythonOracle.Run($"\"{script}\" --out \"{out_}\" {args}", out var log, timeoutMs: 300_000);
            Assert.True(code == 0, "make_dcp_many_chunks.py failed: " + log);
            return out_;
        }

        [SkippableFact]
        public void ManyRankMetadataIsReadWhenTheDataFilesHoldWhatItDescribes()
        {
            Skip.IfNot(PythonOracle.HasTorch, "torch is not installed at /usr/bin/python3");
            // 131,072 chunk entries: past the flat per-pickle allowance (memo entries and objects)
            const string size = "--tensors 256 --ranks 512";
            var empty = Make("empty", size + " --empty-data");
            var refused = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(empty));
            Assert.Equal(CheckpointErrorKind.LimitExceeded, refused.Kind);
            Assert.EndsWith(".metadata", refused.FilePath);

            // the same metadata beside sparse data files of the size it describes (16 MB each): the pickle is read,
            // and what stops the open is the first chunk's bytes (zeros, not a torch.save archive)
            var sparse = Make("sparse", size);
            var later = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(sparse));
            Assert.NotEqual(CheckpointErrorKind.LimitExceeded, later.Kind);
            Assert.EndsWith(".distcp", later.FilePath);
        }

        [SkippableFact]
        public void GeneratedChunkArchivesOpenAsTheDescribedTensors()
        {
            Skip.IfNot(PythonOracle.HasTorch, "torch is not installed at /usr/bin/python3");
            var path = Make("archives", "--tensors 4 --ranks 3 --rows 2 --cols 8 --archives");
            var c = Checkpoint.Open(path);
            Assert.Equal(3, c.Sharding!.WorldSize);
            var tensors = c.AllTensors;
            Assert.Equal(4, tensors.Count);
            Assert.All(tensors, t => Assert.Equal(new long[] { 6, 8 }, t.Tensor.Shape));
        }

        [Fact]
        public void TheAllowanceScalesWithTheDataBetweenItsFloorAndCeiling()
        {
            Assert.Equal(Limits.MaxPickleCost, Limits.MaxDcpMetadataCostFor(0));
            Assert.Equal(Limits.MaxPickleCost, Limits.MaxDcpMetadataCostFor(Limits.MaxPickleCost / Limits.DcpMetadataCostPerDataByte));
            Assert.Equal(1L << 30, Limits.MaxDcpMetadataCostFor((1L << 30) / Limits.DcpMetadataCostPerDataByte));
            Assert.Equal(Limits.MaxDcpMetadataCost, Limits.MaxDcpMetadataCostFor(long.MaxValue / 2));
        }
    }
}

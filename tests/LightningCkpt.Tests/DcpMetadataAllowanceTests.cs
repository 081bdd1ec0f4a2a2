using System;
using System.IO;
using System.Linq;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// A DCP folder written by many ranks has a large .metadata by nature (tensors × ranks chunk entries): its object
    /// allowance follows the .distcp bytes it describes and that are stored on disk (Limits.MaxDcpMetadataCostFor),
    /// so the same metadata is read beside data files that hold that much, and refused as LimitExceeded beside empty
    /// or sparse ones, or beside a large file it does not name.
    /// </summary>
    public sealed class DcpMetadataAllowanceTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "lightningckpt-dcpmeta-" + Guid.NewGuid().ToString("N").Substring(0, 8));

        public DcpMetadataAllowanceTests() => Directory.CreateDirectory(_dir);

        public void Dispose() => Directory.Delete(_dir, recursive: true);

        private string Make(string name, string args) => PythonOracle.MakeFixture("make_dcp_many_chunks.py", Path.Combine(_dir, name), args);

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

            // every chunk a real torch.save archive (~150 MB in 512 files): the metadata is read and the folder opens
            var real = Make("archives", size + " --rows 1 --cols 16 --archives");
            var c = Checkpoint.Open(real);
            Assert.Equal(512, c.Sharding!.WorldSize);
            Assert.NotEmpty(c.AllTensors);
            Assert.All(c.AllTensors, t => Assert.Equal(new long[] { 512, 16 }, t.Tensor.Shape));
        }

        [SkippableFact]
        public void SparseDataFilesDoNotBuyTheMetadataAnAllowance()
        {
            Skip.IfNot(PythonOracle.HasTorch, "torch is not installed at /usr/bin/python3");
            const string size = "--tensors 256 --ranks 512";
            // the data files the metadata names have the length it describes (16 MB each) but store nothing
            var sparse = Make("sparse", size);
            var refused = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(sparse));
            Assert.Equal(CheckpointErrorKind.LimitExceeded, refused.Kind);
            Assert.EndsWith(".metadata", refused.FilePath);
        }

        [SkippableFact]
        public void AFileTheMetadataDoesNotNameDoesNotBuyItAnAllowance()
        {
            Skip.IfNot(PythonOracle.HasTorch, "torch is not installed at /usr/bin/python3");
            const string size = "--tensors 256 --ranks 512";
            // empty named data files beside a 64 GiB sparse file the metadata does not name
            var extra = Make("extra", size + " --empty-data --sparse-extra " + (64L << 30));
            var also = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(extra));
            Assert.Equal(CheckpointErrorKind.LimitExceeded, also.Kind);
            Assert.EndsWith(".metadata", also.FilePath);
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

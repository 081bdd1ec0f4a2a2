using LightningCkpt.Container.Sharded;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>Which DCP items may share bytes of a data file: none, except a tied alias (one range, two keys).</summary>
    public sealed class DcpByteRangesTests
    {
        [Fact]
        public void DisjointRangesAndATiedAliasPass()
        {
            var r = new DcpByteRanges();
            r.Add("f", 0, 100, "embed.weight", "a");
            r.Add("f", 0, 100, "head.weight", "b");
            r.Add("f", 100, 50, "bias", "c");
            r.Add("g", 0, 100, "other", "d");
            r.Add("f", 10, 0, "empty", "e"); // an empty tensor holds no bytes
            r.RequireDisjoint();
        }

        [Fact]
        public void TwoChunksOfOneKeyAtTheSameRangeAreRefused()
        {
            var r = new DcpByteRanges();
            r.Add("f", 0, 100, "w", "the chunk of 'w' at [0, 0]");
            r.Add("f", 0, 100, "w", "the chunk of 'w' at [1, 0]");
            var e = Assert.Throws<CheckpointFormatException>(() => r.RequireDisjoint());
            Assert.Equal("f", e.FilePath);
            Assert.Contains("the chunk of 'w' at [1, 0] (bytes [0, 100)) overlaps the chunk of 'w' at [0, 0]", e.Message);
        }

        [Fact]
        public void APartialOverlapIsRefusedEvenBetweenKeys()
        {
            var r = new DcpByteRanges();
            r.Add("f", 0, 100, "a", "A");
            r.Add("f", 0, 100, "b", "B");
            r.Add("f", 99, 10, "c", "C");
            var e = Assert.Throws<CheckpointFormatException>(() => r.RequireDisjoint());
            Assert.Contains("C (bytes [99, 109)) overlaps B (bytes [0, 100))", e.Message);
        }
    }
}

using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>Every committed fixture reads exactly as torch 1.13 read it when the fixture was made.</summary>
    public class FixtureTruthTests
    {
        public static IEnumerable<object[]> Fixtures() =>
            Directory.GetFiles(RepoPaths.FixtureTruth, "*.json").OrderBy(f => f).Select(f => new object[] { Path.GetFileNameWithoutExtension(f) });

        [Theory]
        [MemberData(nameof(Fixtures))]
        public void ReadsLikeTorch(string file)
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.FixtureTruth, file + ".json")));
            TruthComparer.AssertMatches(Path.Combine(RepoPaths.FixtureFiles, file), doc.RootElement);
        }

        /// <summary>The same truth with every strided view wider than 16 bytes gathered piece by piece (BlockGather).</summary>
        [Theory]
        [MemberData(nameof(Fixtures))]
        public void ReadsLikeTorchThroughATinyGatherWindow(string file)
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.FixtureTruth, file + ".json")));
            TruthComparer.AssertMatches(Path.Combine(RepoPaths.FixtureFiles, file), doc.RootElement, gatherWindowBytes: 16);
        }

        [Fact]
        public void ThereAreFixturesToCheck() => Assert.True(Fixtures().Count() >= 40);
    }
}

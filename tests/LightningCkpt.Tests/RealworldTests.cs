using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// Genuine checkpoints from public projects (../shared/realworld, not in the repo) read with exactly the
    /// tensors torch reports; the ones torch cannot load fail with our one clean exception. Skips when absent.
    /// </summary>
    public class RealworldTests
    {
        public static IEnumerable<object[]> Files() =>
            Directory.GetFiles(RepoPaths.RealworldTruth, "*.json").OrderBy(f => f).Select(f => new object[] { Path.GetFileNameWithoutExtension(f) });

        [SkippableTheory]
        [MemberData(nameof(Files))]
        public void ReadsLikeTorch(string file)
        {
            var path = Path.Combine(RepoPaths.RealworldFiles, file);
            Skip.IfNot(File.Exists(path), $"{RepoPaths.RealworldFiles} is absent");
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.RealworldTruth, file + ".json")));
            TruthComparer.AssertMatches(path, doc.RootElement);
        }
    }
}

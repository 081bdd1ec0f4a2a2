using System;
using System.IO;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// DCP metadata that asks for far more than its folder holds: chunks aliasing one byte range (a small folder as a
    /// tensor of any size) and planner_data paths padding lists to a million slots. Both are refused at open, so the
    /// cost of a folder follows the folder (tests/fixtures/make_dcp_hostile.py builds them with torch 1.13's classes).
    /// </summary>
    public sealed class DcpHostileMetadataTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "lightningckpt-dcphostile-" + Guid.NewGuid().ToString("N").Substring(0, 8));

        public DcpHostileMetadataTests() => Directory.CreateDirectory(_dir);

        public void Dispose() => Directory.Delete(_dir, recursive: true);

        private static string Make(string dir, string name, string args) => PythonOracle.MakeFixture("make_dcp_hostile.py", Path.Combine(dir, name), args);

        [SkippableFact]
        public void ChunksAliasingOneByteRangeAreRefusedNamingTheFileAndBothChunks()
        {
            Skip.IfNot(PythonOracle.HasTorch, "torch is not installed at /usr/bin/python3");
            // 4,096 rows of [1, 16] float32, all read from the one 811-byte archive at byte 0
            var path = Make(_dir, "alias", "alias --chunks 4096");
            var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(path));
            Assert.Equal(CheckpointErrorKind.Malformed, e.Kind);
            Assert.Equal(CheckpointDefect.ViewOutOfBounds, e.Defect);
            Assert.EndsWith("__0_0.distcp", e.FilePath);
            Assert.Matches(@"the chunk of 'w' at \[\d+, 0\] \(bytes \[0, \d+\)\) overlaps the chunk of 'w' at \[\d+, 0\]", e.Message);
        }

        [SkippableFact]
        public void PlannerListsArePaidFromTheMetadataAllowance()
        {
            Skip.IfNot(PythonOracle.HasTorch, "torch is not installed at /usr/bin/python3");
            // 16 tensors, each placed at index 999,999 of its own list: 16 M slots from a 3.5 KB .metadata
            var path = Make(_dir, "planner", "planner --lists 16");
            var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(path));
            Assert.Equal(CheckpointErrorKind.LimitExceeded, e.Kind);
            Assert.EndsWith(".metadata", e.FilePath);
            Assert.Contains("planner_data list slots", e.Message);
        }

        [SkippableFact]
        public void OnePaddedPlannerListWithinTheAllowanceStillOpens()
        {
            Skip.IfNot(PythonOracle.HasTorch, "torch is not installed at /usr/bin/python3");
            // torch's set_element pads a list with None up to the index: one such list costs 8 MB, inside the floor
            var path = Make(_dir, "planner1", "planner --lists 1");
            var c = Checkpoint.Open(path);
            var list = Assert.IsType<Pickle.PyList>(Assert.IsType<Pickle.PyDict>(c.Root).Get("k0"));
            Assert.Equal(1_000_000, list.Count);
            Assert.IsType<Torch.TensorRef>(list[999_999]);
        }
    }
}

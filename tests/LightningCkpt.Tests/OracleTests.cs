using Xunit;
using Xunit.Abstractions;

namespace LightningCkpt.Tests
{
    /// <summary>Both torch oracles are what they claim to be: torch 1.13 on the host, torch 2.x in the chroot.</summary>
    public class OracleTests
    {
        private readonly ITestOutputHelper _out;
        public OracleTests(ITestOutputHelper output) => _out = output;

        [SkippableTheory]
        [MemberData(nameof(TorchOracle.Both), MemberType = typeof(TorchOracle))]
        public void OracleRunsTheTorchItNames(string name)
        {
            var oracle = TorchOracle.Named(name);
            Skip.IfNot(oracle.Available, oracle.SkipReason);
            _out.WriteLine($"{oracle.Label}: torch {oracle.Version}");
            Assert.Equal(name == "torch2", oracle.IsTorch2);
            // the chroot sees the host's paths: a file written here is read there
            var file = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "lightningckpt-oracle-" + System.Guid.NewGuid().ToString("N") + ".txt");
            System.IO.File.WriteAllText(file, "seen");
            try
            {
                Assert.True(oracle.Run($"-c \"print(open(r'{file}').read())\"", out var seen) == 0, seen);
                Assert.Equal("seen", seen.Trim());
            }
            finally { System.IO.File.Delete(file); }
        }
    }
}

using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using Xunit;
using Xunit.Abstractions;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// Live differential test: real torch writes fresh random checkpoints with a new seed on every run, and we
    /// must read each exactly as torch does, against torch 1.13 and torch 2.x alike. The seed is printed so a failure can be replayed
    /// (LIGHTNINGCKPT_DIFF_SEED=N).
    /// </summary>
    public class DifferentialTests
    {
        private readonly ITestOutputHelper _out;
        public DifferentialTests(ITestOutputHelper output) => _out = output;

        [SkippableTheory]
        [MemberData(nameof(TorchOracle.Both), MemberType = typeof(TorchOracle))]
        public void RandomCheckpointsReadExactlyAsTorchReadsThem(string oracleName)
        {
            var oracle = TorchOracle.Named(oracleName);
            Skip.IfNot(oracle.Available, oracle.SkipReason);
            int seed = int.TryParse(Environment.GetEnvironmentVariable("LIGHTNINGCKPT_DIFF_SEED"), out var s) ? s : new Random().Next(1, int.MaxValue);
            int count = int.TryParse(Environment.GetEnvironmentVariable("LIGHTNINGCKPT_DIFF_CASES"), out var c) ? c : 60;
            var dir = Path.Combine(Path.GetTempPath(), $"lightningckpt-diff-{oracleName}-{seed}-{Guid.NewGuid():N}");
            Directory.CreateDirectory(dir);
            try
            {
                var script = Path.Combine(RepoPaths.Fixtures, "random_case.py");
                int code = oracle.Run($"\"{script}\" --seed {seed} --out \"{dir}\" --count {count}", out var log);
                Assert.True(code == 0, $"random_case.py under {oracle.Label} failed (seed {seed}): {log}");
                var cases = Directory.GetFiles(dir, "case_*.json").OrderBy(f => f).ToList();
                Assert.Equal(count, cases.Count);
                foreach (var truthFile in cases)
                {
                    using var doc = JsonDocument.Parse(File.ReadAllText(truthFile));
                    var file = Path.Combine(dir, doc.RootElement.GetProperty("file").GetString()!);
                    // and again with strided views gathered through 16-byte windows, piece by piece (BlockGather)
                    try { TruthComparer.AssertMatches(file, doc.RootElement); TruthComparer.AssertMatches(file, doc.RootElement, gatherWindowBytes: 16); }
                    catch (Exception e)
                    {
                        throw new Xunit.Sdk.XunitException($"{oracle.Label} {oracle.Version}, seed {seed}, {Path.GetFileName(file)}: {e.Message}");
                    }
                }
                _out.WriteLine($"{oracle.Label} {oracle.Version}, seed {seed}: {count} random checkpoints read exactly as torch reads them");
            }
            finally { Directory.Delete(dir, recursive: true); }
        }
    }
}

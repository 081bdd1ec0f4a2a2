using System;
using System.IO;
using System.Linq;
using LightningCkpt.Container.Zstd;
using Xunit;
using Xunit.Abstractions;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// The zstd decoder against python-zstandard (the library torch's DCP ZStandard transform uses, in the torch 2.x
    /// chroot): zstd_cases.py compresses contents that reach every block, literal and table kind at several levels,
    /// streamed and in one call, with and without checksum and content size; every frame must decode to its content.
    /// A fresh seed each run (LIGHTNINGCKPT_DIFF_SEED=N replays). Damaged frames give a CheckpointFormatException.
    /// </summary>
    public sealed class ZstdDecoderTests : IDisposable
    {
        private readonly ITestOutputHelper _out;
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "lightningckpt-zstd-" + Guid.NewGuid().ToString("N").Substring(0, 8));

        public ZstdDecoderTests(ITestOutputHelper output) => _out = output;

        public void Dispose()
        {
            if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
        }

        private int MakeCases(int seed)
        {
            var o = TorchOracle.Torch2;
            Skip.IfNot(o.Available, o.SkipReason);
            int code = o.Run($"\"{Path.Combine(RepoPaths.Fixtures, "zstd_cases.py")}\" --out \"{_dir}\" --seed {seed}", out var log);
            Assert.True(code == 0, $"zstd_cases.py failed (seed {seed}): {log}");
            return int.Parse(log.Trim().Split('\n').Last(), System.Globalization.CultureInfo.InvariantCulture);
        }

        [SkippableFact]
        public void EveryFramePythonZstandardWritesDecodesToItsContent()
        {
            int seed = int.TryParse(Environment.GetEnvironmentVariable("LIGHTNINGCKPT_DIFF_SEED"), out var s) ? s : new Random().Next(1, int.MaxValue);
            int n = MakeCases(seed);
            Assert.True(n >= 30, $"seed {seed}: only {n} cases");
            var failures = new System.Collections.Generic.List<string>();
            for (int i = 0; i < n; i++)
            {
                var raw = File.ReadAllBytes(Path.Combine(_dir, i + ".raw"));
                var z = File.ReadAllBytes(Path.Combine(_dir, i + ".zst"));
                try
                {
                    var got = ZstdDecoder.Decode(z, 1L << 30, i + ".zst", "test");
                    if (!got.SequenceEqual(raw)) failures.Add($"case {i}: {got.Length} bytes decoded, {raw.Length} expected, first difference at {FirstDifference(got, raw)}");
                }
                catch (CheckpointFormatException e) { failures.Add($"case {i} ({raw.Length} bytes): {e.Message}"); }
            }
            Assert.True(failures.Count == 0, $"seed {seed}:\n" + string.Join("\n", failures));
            _out.WriteLine($"seed {seed}: {n} zstd frames decoded as python-zstandard wrote them");
        }

        [SkippableFact]
        public void DamagedFramesAreRefusedWithTheFileNamedNeverAnotherException()
        {
            int n = MakeCases(7);
            var rng = new Random(7);
            for (int i = 0; i < n; i++)
            {
                var z = File.ReadAllBytes(Path.Combine(_dir, i + ".zst"));
                if (z.Length < 12) continue;
                for (int k = 0; k < 20; k++)
                {
                    var bad = (byte[])z.Clone();
                    if (k % 4 == 0) Array.Resize(ref bad, rng.Next(1, z.Length)); // cut short
                    else bad[rng.Next(4, bad.Length)] ^= (byte)(1 << rng.Next(8));   // one flipped bit after the magic
                    try { ZstdDecoder.Decode(bad, 1L << 26, "case.zst", "bytes 0"); }
                    catch (CheckpointFormatException e) { Assert.Contains("case.zst", e.Message); }
                }
            }
        }

        [Fact]
        public void AFrameLargerThanTheLimitIsALimitErrorNotAnAllocation()
        {
            // a raw-free RLE frame: 1 MiB of zeros in a handful of bytes
            var z = new byte[] { 0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x58 }.Concat(RleBlocks(8, 128 * 1024)).ToArray();
            var e = Assert.Throws<CheckpointFormatException>(() => ZstdDecoder.Decode(z, 1 << 20 - 1, "big.zst", "bytes 0"));
            Assert.Equal(CheckpointErrorKind.LimitExceeded, e.Kind);
            Assert.Equal(8 * 128 * 1024, ZstdDecoder.Decode(z, 1 << 30, "big.zst", "bytes 0").Length);
        }

        private static byte[] RleBlocks(int count, int size)
        {
            var r = new System.Collections.Generic.List<byte>();
            for (int i = 0; i < count; i++)
            {
                int h = (size << 3) | (1 << 1) | (i == count - 1 ? 1 : 0);
                r.AddRange(new[] { (byte)h, (byte)(h >> 8), (byte)(h >> 16), (byte)0 });
            }
            return r.ToArray();
        }

        private static int FirstDifference(byte[] a, byte[] b)
        {
            int n = Math.Min(a.Length, b.Length);
            for (int i = 0; i < n; i++) if (a[i] != b[i]) return i;
            return n;
        }
    }
}

using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>A download cut short says the size the file has and the size it needs (issue 19 item 11).</summary>
    public sealed class CutShortTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "ckpt-cutshort-" + Guid.NewGuid().ToString("N"));

        public CutShortTests() => Directory.CreateDirectory(_dir);

        public void Dispose() => Directory.Delete(_dir, true);

        private string Cut(string source, long keep)
        {
            var bytes = File.ReadAllBytes(source);
            var path = Path.Combine(_dir, $"{keep}-{Path.GetFileName(source)}");
            File.WriteAllBytes(path, bytes.Take((int)keep).ToArray());
            return path;
        }

        private static (long Has, long Needs) Sizes(string message)
        {
            var m = Regex.Match(message, @"the file has ([\d,]+) bytes but needs (?:at least )?([\d,]+): a download or copy cut short");
            Assert.True(m.Success, message);
            return (long.Parse(m.Groups[1].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture),
                long.Parse(m.Groups[2].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture));
        }

        [Fact]
        public void A_torch_zip_cut_in_its_tensors_names_a_size_it_needs_that_never_exceeds_the_real_one()
        {
            var source = Path.Combine(RepoPaths.Samples, "lightning_logs", "version_0", "checkpoints", "last.ckpt");
            long full = new FileInfo(source).Length;
            // cuts after the pickle (the first 2 KB): the storages it declares tell how much is missing
            foreach (long keep in new[] { full / 2, full * 3 / 5, full * 4 / 5 })
            {
                var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(Cut(source, keep)));
                Assert.Equal(CheckpointDefect.Truncated, e.Defect);
                Assert.Contains("at least", e.Message);
                var (has, needs) = Sizes(e.Message);
                Assert.Equal(keep, has);
                Assert.InRange(needs, keep + 1, full); // a lower bound: more than it has, never more than the real file
            }
        }

        [Fact]
        public void A_legacy_file_cut_in_its_storages_names_its_exact_size()
        {
            var source = Path.Combine(RepoPaths.FixtureFiles, "plain_state_dict_legacy.pt");
            long full = new FileInfo(source).Length;
            var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(Cut(source, full - 100)));
            Assert.Equal((full - 100, full), Sizes(e.Message));
        }

        [Fact]
        public void A_safetensors_file_cut_in_its_data_names_its_exact_size()
        {
            // header: one float32 tensor of 4 elements (16 bytes); the file keeps 8 of them
            var json = "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}";
            json += new string(' ', (8 - json.Length % 8) % 8);
            var path = Path.Combine(_dir, "cut.safetensors");
            File.WriteAllBytes(path, BitConverter.GetBytes((ulong)json.Length).Concat(System.Text.Encoding.ASCII.GetBytes(json)).Concat(new byte[8]).ToArray());
            var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(path));
            Assert.Equal((8L + json.Length + 8, 8L + json.Length + 16), Sizes(e.Message));
        }

        [Fact]
        public void A_file_that_is_no_torch_zip_keeps_the_plain_message()
        {
            var path = Path.Combine(_dir, "plain.zip");
            File.WriteAllBytes(path, new byte[] { 0x50, 0x4b, 0x03, 0x04 }.Concat(new byte[200]).ToArray());
            var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(path));
            Assert.DoesNotContain("needs", e.Message);
        }
    }
}

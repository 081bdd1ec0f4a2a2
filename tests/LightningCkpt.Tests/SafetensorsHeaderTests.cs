using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using LightningCkpt.Pickle;
using LightningCkpt.Torch;
using Xunit;
using Xunit.Abstractions;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// A safetensors header within the format's 100 MB used to cost 1–2.9 GB and 5–20 s (1.66 M zero-size tensors;
    /// one 100 MB metadata string). The header is read by a streaming parser whose allocations are proportional to
    /// the header with small constants, and headers past Limits.MaxSafetensorsHeaderBytes (16 MiB unless raised, up
    /// to the format's limit) are refused before they are read. The hostile headers are written here, not committed.
    /// Tests that change the process-wide limit live in this one class, so they never run beside each other.
    /// </summary>
    public sealed class SafetensorsHeaderTests : IDisposable
    {
        private readonly ITestOutputHelper _out;
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "lightningckpt-sthdr-" + Guid.NewGuid().ToString("N").Substring(0, 8));

        public SafetensorsHeaderTests(ITestOutputHelper output)
        {
            _out = output;
            Directory.CreateDirectory(_dir);
        }

        public void Dispose()
        {
            Limits.MaxSafetensorsHeaderBytes = Limits.DefaultSafetensorsHeaderBytes;
            Directory.Delete(_dir, recursive: true);
        }

        private string Write(string name, string header, int dataBytes = 0) => ShardedValidationTests.WriteSafetensors(Path.Combine(_dir, name), header, dataBytes);

        /// <summary>{"t0": zero-size F32, "t1": …} of about <paramref name="bytes"/> bytes.</summary>
        private static string ZeroSizeTensors(long bytes, out int count)
        {
            var sb = new StringBuilder("{");
            count = 0;
            while (sb.Length < bytes)
            {
                if (count > 0) sb.Append(',');
                sb.Append("\"t").Append(count++).Append("\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}");
            }
            return sb.Append('}').ToString();
        }

        private static string OneMetadataString(int chars) => "{\"__metadata__\":{\"notes\":\"" + new string('a', chars) + "\"}}";

        private static long AllocatedWhileOpening(string path, out Checkpoint c)
        {
            GC.Collect();
            long before = GC.GetAllocatedBytesForCurrentThread();
            c = Checkpoint.Open(path);
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        [Fact]
        public void AHeaderPastTheDefaultLimitIsRefusedNamingHowToRaiseIt()
        {
            var path = Write("big.safetensors", OneMetadataString((int)Limits.DefaultSafetensorsHeaderBytes));
            var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(path));
            Assert.Equal(CheckpointErrorKind.LimitExceeded, e.Kind);
            Assert.Equal(path, e.FilePath);
            Assert.Contains("[LightningCkpt.Limits]::MaxSafetensorsHeaderBytes", e.Message);

            Limits.MaxSafetensorsHeaderBytes = Limits.MaxJsonHeaderBytes;
            var c = Checkpoint.Open(path);
            Assert.Equal((int)Limits.DefaultSafetensorsHeaderBytes, Assert.Single(c.TextMetadata!).Value.Length);
        }

        [Fact]
        public void TheLimitCannotBeRaisedPastTheFormatsOwn()
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => Limits.MaxSafetensorsHeaderBytes = Limits.MaxJsonHeaderBytes + 1);
            Assert.Throws<ArgumentOutOfRangeException>(() => Limits.MaxSafetensorsHeaderBytes = 0);
            Assert.Equal(Limits.DefaultSafetensorsHeaderBytes, Limits.MaxSafetensorsHeaderBytes);
        }

        [Fact]
        public void ManyZeroSizeTensorsCostAFewBytesPerHeaderByte()
        {
            // 12 MB of entries: ~210k tensors
            var header = ZeroSizeTensors(12_000_000, out int count);
            var path = Write("zero.safetensors", header);
            long allocated = AllocatedWhileOpening(path, out var c);
            double perByte = (double)allocated / header.Length;
            _out.WriteLine($"{count} zero-size tensors, {header.Length} header bytes: {allocated / 1e6:F1} MB allocated, {perByte:F1} per header byte, {allocated / count} per entry");
            Assert.Equal(count, Assert.IsType<PyDict>(c.Root).Count);
            // each entry keeps its name, a storage and a tensor reference: ~620 bytes allocated for ~58 header bytes
            // (the general JSON tree allocated ~2,270, 39 per header byte)
            Assert.True(perByte < 16, $"{perByte:F1} bytes allocated per header byte");
        }

        [Fact]
        public void OneLongMetadataStringCostsItsTextOnce()
        {
            var header = OneMetadataString(12_000_000);
            var path = Write("meta.safetensors", header);
            long allocated = AllocatedWhileOpening(path, out var c);
            double perByte = (double)allocated / header.Length;
            _out.WriteLine($"one {header.Length}-byte metadata string: {allocated / 1e6:F1} MB allocated, {perByte:F1} per header byte");
            Assert.Equal(12_000_000, Assert.Single(c.TextMetadata!).Value.Length);
            // the header bytes once, the string (UTF-16) once: 3 per header byte (the header as text and a
            // StringBuilder allocated 7)
            Assert.True(perByte < 4, $"{perByte:F1} bytes allocated per header byte");
        }

        [Theory]
        [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":{\"x\":[1,2.5,true,null,\"s\\u00e9\"]}},\"__metadata__\":{\"k\\n\\\"q\\\"\":\"v\\ud83d\\ude00\"}}", "a", "k\n\"q\"", "v\U0001F600")]
        [InlineData("{ \"__metadata__\" : { } , \"a\" : { \"data_offsets\" : [ 0 , 4 ] , \"shape\" : [ 1 ] , \"dtype\" : \"F32\" } } ", "a", null, null)]
        [InlineData("{\"\\u00e9t\\u00e9\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", "été", null, null)]
        public void WellFormedHeadersReadAsBefore(string header, string tensor, string? key, string? value)
        {
            var c = Checkpoint.Open(Write("ok.safetensors", header, 4));
            var t = Assert.IsType<TensorRef>(Assert.IsType<PyDict>(c.Root).Get(tensor));
            Assert.Equal(new long[] { 1 }, t.Shape);
            if (key != null) Assert.Equal(new KeyValuePair<string, string>(key, value!), Assert.Single(c.TextMetadata!));
        }

        [Theory]
        [InlineData("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", "duplicate field \"dtype\"")]
        [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}", "shape[0] is not an integer")]
        [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", "shape[0] is not an integer")]
        [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,4]}}", "shape[0] is not an integer")]
        [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", "has no data_offsets list")]
        [InlineData("{\"a\":[1]}", "entry 'a' is not an object")]
        [InlineData("{\"__metadata__\":{\"k\":1}}", "__metadata__ value of 'k' is not a string")]
        [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}} x", "unexpected text after the JSON value")]
        [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", "expected ',' or '}'")]
        [InlineData("{\"a\\ud800\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", "half of a surrogate pair")]
        [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":\"\\q\"}}", "unknown escape")]
        public void MalformedHeadersAreRefusedWithTheReason(string header, string reason)
        {
            var path = Write("bad.safetensors", header, 4);
            var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(path));
            Assert.Contains(reason, e.Message);
        }

        [Fact]
        public void NestingInAnUnknownFieldIsBounded()
        {
            var deep = new string('[', Limits.MaxJsonDepth + 5) + new string(']', Limits.MaxJsonDepth + 5);
            var path = Write("deep.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":" + deep + "}}", 4);
            var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(path));
            Assert.Equal(CheckpointErrorKind.LimitExceeded, e.Kind);
        }

        [Fact]
        public void InvalidUtf8IsRefusedInNamesAndInSkippedValues()
        {
            foreach (var inner in new[] { "\"a\xff\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":\"\xff\"}" })
            {
                var path = Path.Combine(_dir, "utf8.safetensors");
                var h = new List<byte>();
                h.Add((byte)'{');
                foreach (char ch in inner) h.Add((byte)ch); // \xff stays one raw byte: not UTF-8
                h.Add((byte)'}');
                var bytes = new List<byte>(BitConverter.GetBytes((ulong)h.Count));
                bytes.AddRange(h);
                bytes.AddRange(new byte[4]);
                File.WriteAllBytes(path, bytes.ToArray());
                var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(path));
                Assert.Contains("not valid UTF-8", e.Message);
            }
        }
    }
}

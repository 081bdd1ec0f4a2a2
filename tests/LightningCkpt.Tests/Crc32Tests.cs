using System;
using System.Runtime.InteropServices;
using System.Text;
using LightningCkpt.Writing;
using Xunit;

namespace LightningCkpt.Tests
{
    public class Crc32Tests
    {
        [Fact]
        public void MatchesTheStandardCheckValue() =>
            Assert.Equal(0xCBF43926u, Crc32.Update(0, Encoding.ASCII.GetBytes("123456789"), 0, 9));

        [Fact]
        public void ChunkedUpdatesEqualOneUpdateAtEveryAlignment()
        {
            var data = new byte[1000];
            new Random(3).NextBytes(data);
            uint whole = Crc32.Update(0, data, 0, data.Length);
            // against the plain bitwise definition
            uint c = 0xFFFFFFFF;
            foreach (var b in data)
            {
                c ^= b;
                for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }
            Assert.Equal(~c, whole);
            for (int split = 0; split < 20; split++)
                Assert.Equal(whole, Crc32.Update(Crc32.Update(0, data, 0, split), data, split, data.Length - split));
        }

        [Theory]
        [InlineData(16384)]
        [InlineData(100_003)]
        [InlineData(1 << 20)]
        public void TheInterleavedPathEqualsTheBytewiseDefinition(int length)
        {
            var data = new byte[length];
            new Random(length).NextBytes(data);
            uint c = 0xFFFFFFFF;
            foreach (var b in data)
            {
                c ^= b;
                for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }
            Assert.Equal(~c, Crc32.Update(0, data, 0, data.Length));
            uint head = Crc32.Update(0, data, 0, 777);
            Assert.Equal(~c, Crc32.Update(head, data, 777, data.Length - 777));
            Assert.Equal(~c, Crc32.Combine(head, Crc32.Update(0, data, 777, data.Length - 777), data.Length - 777));
        }

        [Fact]
        public unsafe void TheRuntimeZlibAndTheManagedCodeAgree()
        {
            // on .NET (Core) the runtime's zlib does the work; the managed fallback must give the same sums
            Assert.True(RuntimeZlibCrc32.IsAvailable || RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.Ordinal),
                "the .NET runtime ships System.IO.Compression.Native, so its CRC-32 should have been found");
            var rng = new Random();
            var data = new byte[rng.Next(1 << 16, 3 << 20)];
            rng.NextBytes(data);
            int split = rng.Next(data.Length);
            fixed (byte* p = data)
            {
                uint managed = Crc32.Managed(Crc32.Managed(0, p, split), p + split, data.Length - split);
                Assert.Equal(managed, Crc32.Update(Crc32.Update(0, p, split), p + split, data.Length - split));
                Assert.Equal(managed, Crc32.Update(0, p, data.Length));
                Assert.Equal(0x12345678u, Crc32.Update(0x12345678u, p, 0));
            }
        }
    }
}

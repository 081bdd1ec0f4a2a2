using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>Float64 values in views at a readable precision (issue 19 item 12); the objects keep every digit.</summary>
    public sealed class ReadableNumberTests
    {
        [Theory]
        [InlineData(0.41000000000000003, "0.41")]
        [InlineData(0.009000000000000001, "0.009")]
        [InlineData(0.49562836, "0.49562836")]          // a float32 score's shortest form stays whole
        [InlineData(1e-05, "1e-05")]
        [InlineData(123456789.123, "123456789.123")]   // no shorter at 8 digits
        [InlineData(3.0, "3")]
        public void Format_shortens_float_noise_only(double value, string expected) => Assert.Equal(expected, ReadableNumber.Format(value));

        [Fact]
        public void Format_of_null_is_empty() => Assert.Equal("", ReadableNumber.Format(null));

        [Theory]
        [InlineData("0.009000000000000001", "0.007290000000000001", "0.009", "0.00729")]
        [InlineData("[0.009000000000000001]", "[0.007290000000000001]", "[0.009]", "[0.00729]")]
        // values that differ only past the 6th digit keep the digits that tell them apart
        [InlineData("0.1234567001", "0.1234568002", "0.1234567", "0.1234568")]
        [InlineData("0", "2", "0", "2")]
        [InlineData("(0.9, 0.999)", "(0.9, 0.98)", "(0.9, 0.999)", "(0.9, 0.98)")]
        [InlineData("model.net.0.weight_1.5", "x", "model.net.0.weight_1.5", "x")]   // numbers inside names stay
        public void Pair_shortens_each_decimal_and_keeps_a_difference(string a, string b, string ea, string eb)
        {
            var (ra, rb) = ReadableNumber.Pair(a, b);
            Assert.Equal(ea, ra);
            Assert.Equal(eb, rb);
        }
    }
}

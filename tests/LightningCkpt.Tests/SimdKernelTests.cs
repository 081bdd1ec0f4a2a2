using System;
using LightningCkpt.Data;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>The vector kernels agree with the scalar loops they stand in for.</summary>
    public unsafe class SimdKernelTests
    {
        [Fact]
        public void VectorsAreAvailableOnThisRuntime() => Assert.True(SimdKernels.Available);

        [Theory]
        [InlineData(64, 1)]
        [InlineData(1000, 2)]
        [InlineData(65536, 3)]
        public void MomentsMatchTheExactScalarLoop(int n, int seed)
        {
            var rng = new Random(seed);
            var data = new float[n];
            for (int i = 0; i < n; i++) data[i] = i % 17 == 0 ? 0f : (float)(rng.NextDouble() * 200 - 50);
            fixed (float* p = data)
            {
                var fast = TensorAnalysis.Reduce(p, n);
                var exact = TensorAnalysis.ReduceExact(p, n);
                Assert.Equal(exact.Min, fast.Min);
                Assert.Equal(exact.Max, fast.Max);
                Assert.Equal(exact.Zero, fast.Zero);
                Assert.Equal(exact.Mean, fast.Mean, 9);
                Assert.Equal(exact.M2 / n, fast.M2 / n, 6);
                Assert.Equal(exact.SumSq, fast.SumSq, 3);
            }
        }

        [Fact]
        public void DifferencesMatchTheExactScalarLoopIncludingTheAllcloseBound()
        {
            var rng = new Random(7);
            int n = 4099;
            var a = new float[n];
            var b = new float[n];
            for (int i = 0; i < n; i++)
            {
                a[i] = (float)(rng.NextDouble() * 2 - 1);
                b[i] = i % 3 == 0 ? a[i] : a[i] + (float)((rng.NextDouble() - 0.5) * 1e-4);
            }
            fixed (float* pa = a)
            fixed (float* pb = b)
            {
                var fast = CheckpointComparer.Block(pa, pb, n, 1e-8, 1e-5);
                SimdKernels.Differences(new Float32Lanes(pa), new Float32Lanes(pb), n, 1e-8, 1e-5, out var max, out var sum, out _, out _, out _, out _, out var bad, out int done);
                Assert.True(done > n / 2);
                long scalarBad = 0;
                double scalarMax = 0;
                for (int i = 0; i < n; i++)
                {
                    double d = Math.Abs((double)a[i] - b[i]);
                    scalarMax = Math.Max(scalarMax, d);
                    if (!(d <= 1e-8 + 1e-5 * Math.Abs((double)b[i]))) scalarBad++;
                }
                Assert.Equal(scalarBad, fast.NotClose);
                Assert.Equal(scalarMax, fast.MaxAbs);
                Assert.True(bad > 0 && bad <= scalarBad);
            }
        }
    }
}

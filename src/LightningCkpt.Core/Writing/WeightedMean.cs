using System;
using System.Numerics;
using System.Runtime.CompilerServices;
using LightningCkpt.Data;
using LightningCkpt.Torch;

namespace LightningCkpt.Writing
{
    /// <summary>
    /// The arithmetic of Merge-CkptWeights over a run of elements: out = ((0 + w₀·x₀ + w₁·x₁ + …) / divide) in
    /// float64, inputs in that order, the division skipped when divide is 1, then cast back to the dtype like
    /// torch's <c>.to(dtype)</c> (<see cref="ElementCast.Encode"/>). float32 runs take a Vector&lt;T&gt; path doing the
    /// same IEEE operations in the same order (widening is exact, the narrowing rounds to nearest like the scalar
    /// cast), so its results are bit for bit the scalar ones — NaN lanes, whose payload could differ, are redone by
    /// the scalar loop; float16/bfloat16 runs are decoded to float32 and take the same path; other dtypes go
    /// through a double scratch in blocks.
    /// </summary>
    internal static unsafe class WeightedMean
    {
        private const int Block = 1024;

        /// <summary>
        /// Writes the weighted mean of <paramref name="n"/> elements of each input (little-endian
        /// <paramref name="dtype"/>, all alike) to <paramref name="dst"/> as <paramref name="dtype"/>.
        /// </summary>
        public static void Compute(byte*[] inputs, double[] w, double divide, DType dtype, int n, byte* dst)
        {
            int done = 0;
            if (dtype.ScalarTypeId == 6 && SimdKernels.Available) done = Float32Vector(inputs, w, divide, n, (float*)dst);
            else if ((dtype.ScalarTypeId == 5 || dtype.ScalarTypeId == 15) && SimdKernels.Available) done = ThroughFloat32(inputs, w, divide, dtype, n, dst);
            if (done < n) Blocks(inputs, w, divide, dtype, done, n - done, dst);
        }

        [ThreadStatic] private static float[]? _decoded;

        /// <summary>
        /// float16/bfloat16: each input's block decoded to the float32 it equals exactly, the float32 mean (the same
        /// double arithmetic as the scalar loop, then rounded to float32 as the scalar <c>(float)</c> before its
        /// 16-bit rounding), then the vector float32 → 16-bit cast: bit for bit the scalar result.
        /// </summary>
        private static int ThroughFloat32(byte*[] inputs, double[] w, double divide, DType dtype, int n, byte* dst)
        {
            int k = inputs.Length;
            var buf = _decoded;
            if (buf == null || buf.Length < (k + 1) * Block) _decoded = buf = new float[(k + 1) * Block];
            var at = new byte*[k];
            fixed (float* f = buf)
            {
                float* mean = f + k * Block;
                for (int j = 0; j < k; j++) at[j] = (byte*)(f + j * Block);
                for (int start = 0; start < n; start += Block)
                {
                    int m = Math.Min(Block, n - start);
                    for (int j = 0; j < k; j++) VectorDecode.ToFloat32(inputs[j] + (long)start * 2, m, dtype, (float*)at[j]);
                    Compute(at, w, divide, DType.Float32, m, (byte*)mean);
                    ElementCast.Cast((byte*)mean, DType.Float32, m, dtype, dst + (long)start * 2);
                }
            }
            return n;
        }

        /// <summary>Elements [start, start+count) through a double scratch, one block at a time.</summary>
        internal static void Blocks(byte*[] inputs, double[] w, double divide, DType dtype, int start, int count, byte* dst)
        {
            var g = new ViewGeometry(dtype, new long[] { 1 }, new long[] { 1 }, 0, false);
            int item = dtype.ItemSize;
            double* x = stackalloc double[Block];
            double* acc = stackalloc double[Block];
            for (int at = start; at < start + count; at += Block)
            {
                int m = Math.Min(Block, start + count - at);
                for (int i = 0; i < m; i++) acc[i] = 0;
                for (int k = 0; k < inputs.Length; k++)
                {
                    VectorDecode.ToDouble(inputs[k] + (long)at * item, m, g, x);
                    double wk = w[k];
                    for (int i = 0; i < m; i++) acc[i] += wk * x[i];
                }
                if (divide != 1) for (int i = 0; i < m; i++) acc[i] /= divide;
                ElementCast.Encode(acc, m, dtype, dst + (long)at * item);
            }
        }

        /// <summary>The float32 elements it handled (whole vectors); the caller does the rest.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static int Float32Vector(byte*[] inputs, double[] w, double divide, int n, float* dst)
        {
            int width = Vector<float>.Count;
            var weights = new Vector<double>[inputs.Length];
            for (int k = 0; k < weights.Length; k++) weights[k] = new Vector<double>(w[k]);
            var d = new Vector<double>(divide);
            bool divides = divide != 1;
            int i = 0;
            for (; i + width <= n; i += width)
            {
                Vector<double> lo = Vector<double>.Zero, hi = Vector<double>.Zero;
                for (int k = 0; k < inputs.Length; k++)
                {
                    Vector.Widen(*(Vector<float>*)((float*)inputs[k] + i), out var a, out var b);
                    lo = lo + weights[k] * a; // the sum on the left, as acc += w·x
                    hi = hi + weights[k] * b;
                }
                if (divides) { lo /= d; hi /= d; }
                // a NaN's payload depends on which operand of an addition carried it, and the JIT may order a
                // vector addition's operands either way: lanes with a NaN are redone by the scalar loop
                if (Vector.EqualsAll(lo, lo) && Vector.EqualsAll(hi, hi)) *(Vector<float>*)(dst + i) = Vector.Narrow(lo, hi);
                else Blocks(inputs, w, divide, DType.Float32, i, width, (byte*)dst);
            }
            return i;
        }
    }
}

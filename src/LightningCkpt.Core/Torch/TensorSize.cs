using System;

namespace LightningCkpt.Torch
{
    /// <summary>
    /// The one checked multiplication for a tensor's element and byte counts read from a file (a safetensors header, a
    /// legacy tar record, DCP metadata, DeepSpeed's param_shapes): a count past 2^63 is a limit the file exceeds,
    /// named by the tensor, never an OverflowException deeper in.
    /// </summary>
    public static class TensorSize
    {
        /// <summary>
        /// The element count of <paramref name="shape"/>, after checking that it — and the contiguous strides, which
        /// multiply the non-zero sizes even when another size is 0 — fit a long.
        /// </summary>
        public static long Elements(long[] shape, string name, string file, string part)
        {
            long n = 1, strides = 1;
            foreach (var d in shape)
            {
                if (d < 0) throw new CheckpointFormatException(file, part, $"'{name}' has a negative size in [{string.Join(", ", shape)}]");
                if (d == 0) { n = 0; continue; }
                if (strides > long.MaxValue / d) throw TooLarge(name, shape, file, part, "elements");
                strides *= d;
                if (n != 0) n = strides;
            }
            return n;
        }

        /// <summary>The bytes <paramref name="elements"/> of <paramref name="dtype"/> take, checked.</summary>
        public static long Bytes(DType dtype, long elements, string name, long[] shape, string file, string part)
        {
            try { return dtype.BytesFor(elements); }
            catch (OverflowException) { throw TooLarge(name, shape, file, part, "bytes"); }
        }

        private static CheckpointFormatException TooLarge(string name, long[] shape, string file, string part, string what) =>
            new CheckpointFormatException(file, part, $"'{name}' of shape [{string.Join(", ", shape)}] has more than {long.MaxValue} {what}")
            {
                Kind = CheckpointErrorKind.LimitExceeded,
            };
    }
}

using System.Collections.Generic;
using LightningCkpt.Torch;

namespace LightningCkpt.Data
{
    /// <summary>
    /// Expanded (stride-0, broadcast) views repeat their elements: <c>zeros(1).expand(2**40)</c> is one stored
    /// element seen 2^40 times. Costs must follow the stored bytes, not the logical size, so statistics and
    /// comparisons work on the view without its stride-0 dimensions and scale by the repeat count, and anything that
    /// must produce every logical element (hashes, arrays, writers) refuses above <see cref="Limits.MaxExpandedBytes"/>.
    /// </summary>
    internal static class DistinctView
    {
        /// <summary>The view without its stride-0 dimensions; <paramref name="repeat"/> is how often each element repeats.</summary>
        public static TensorRef Of(TensorRef t, out long repeat)
        {
            repeat = 1;
            if (t.Numel == 0 || t.DType.BitsPerElement < 8) return t;
            var shape = new List<long>();
            var stride = new List<long>();
            for (int i = 0; i < t.Shape.Length; i++)
            {
                if (t.Stride[i] == 0 && t.Shape[i] > 1) { repeat *= t.Shape[i]; continue; }
                shape.Add(t.Shape[i]);
                stride.Add(t.Stride[i]);
            }
            return repeat == 1 ? t : t.WithGeometry(shape.ToArray(), stride.ToArray(), t.StorageOffset);
        }

        /// <summary>True when the view shows some stored element more than once (stride 0 or overlapping strides).</summary>
        public static bool Overlaps(TensorRef t) =>
            t.Numel > 0 && t.DType.BitsPerElement >= 8 && t.Numel > t.ComputeSpanEnd() - t.StorageOffset;

        /// <summary>
        /// Refuses to produce every logical element of an overlapping view larger than the limit: its cost would be
        /// set by the shape, not by the file.
        /// </summary>
        public static void CheckMaterialisable(TensorRef t, string file, string what)
        {
            if (Overlaps(t) && t.NBytes > Limits.MaxExpandedBytes)
                throw new CheckpointFormatException(file, "tensor data",
                    $"{what} of {t} needs all of its {t.NBytes} logical bytes, but the view repeats elements of a {t.DType.BytesFor(t.ComputeSpanEnd() - t.StorageOffset)}-byte span (expanded or overlapping strides) and exceeds the limit of {Limits.MaxExpandedBytes} bytes for such views")
                { Kind = CheckpointErrorKind.LimitExceeded };
        }

        /// <summary>
        /// Refuses a statistics or comparison walk over an overlapping view whose distinct form is still larger than
        /// the limit (as_strided views with overlapping non-zero strides).
        /// </summary>
        public static void CheckWalkable(TensorRef distinct, string file)
        {
            if (Overlaps(distinct) && distinct.Numel > Limits.MaxOverlappingElements)
                throw new CheckpointFormatException(file, "tensor data",
                    $"{distinct} has overlapping strides [{string.Join(", ", distinct.Stride)}] and {distinct.Numel} elements, beyond the limit of {Limits.MaxOverlappingElements} for walking such views")
                { Kind = CheckpointErrorKind.LimitExceeded };
        }
    }
}

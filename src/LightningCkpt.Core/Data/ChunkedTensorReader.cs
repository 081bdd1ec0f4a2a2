using System;
using LightningCkpt.Torch;

namespace LightningCkpt.Data
{
    /// <summary>
    /// The element-range read of a logical tensor assembled from chunks (sharded checkpoints): the row-major range is
    /// split into runs, each a contiguous slice of one chunk's piece, read from that piece's own file straight into
    /// place. Every consumer (hashes, statistics, comparisons, writers, values) reads through
    /// <see cref="TensorDataReader.ReadElements"/>, so none of them ever needs the whole tensor in memory.
    /// </summary>
    internal static class ChunkedTensorReader
    {
        public static void ReadElements(TensorDataReader reader, TensorRef t, long start, int count, byte[] dst)
        {
            var layout = t.Chunks!;
            if (t.DType.BitsPerElement < 8) throw new InvalidOperationException($"chunked {t.DType.Name} tensors cannot be read");
            int item = t.DType.ItemSize;
            if (dst.Length < (long)count * item) throw new ArgumentException("buffer too small", nameof(dst));
            int at = 0;
            foreach (var run in layout.Runs(start, count))
            {
                var piece = run.Chunk.Piece;
                var storage = piece.Storage ?? throw new InvalidOperationException($"chunk {run.Chunk} has no storage");
                int bytes = checked((int)(run.Length * item));
                // pieces are contiguous (the containers check it), so a run is one positional read
                reader.ReadStorageBytes(storage, (piece.StorageOffset + run.PieceOffset) * item, dst, at, bytes);
                if (storage.IsBigEndian) Swap(t.DType, dst, at, bytes);
                at += bytes;
            }
            if (at != count * item) throw new InvalidOperationException($"the chunks of {t} gave {at} bytes for {count} elements");
        }

        private static void Swap(DType dtype, byte[] b, int at, int count)
        {
            int width = dtype.IsComplex ? dtype.ItemSize / 2 : dtype.ItemSize;
            if (width <= 1) return;
            for (int i = at; i + width <= at + count; i += width) Array.Reverse(b, i, width);
        }
    }
}

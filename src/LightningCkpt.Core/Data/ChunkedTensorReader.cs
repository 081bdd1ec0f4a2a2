using System;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using LightningCkpt.Torch;

namespace LightningCkpt.Data
{
    /// <summary>
    /// Reads logical tensors assembled from chunks (sharded checkpoints) run by run, each run a slice of one piece
    /// read by the ordinary reader. Nothing holds more than a window of the tensor: hashes, statistics, differences
    /// and writes stream, so a model is never assembled in memory.
    /// </summary>
    public static unsafe class ChunkedTensorReader
    {
        /// <summary>Elements per window of the pull reads (statistics, differences, values).</summary>
        internal const int WindowBytes = 1 << 20;

        /// <summary>The contiguous slice of a chunk's piece that a run covers.</summary>
        private static TensorRef Slice(ChunkRun run)
        {
            var p = run.Chunk.Piece;
            return new TensorRef(p.DType, new[] { run.Length }, new[] { 1L }, p.StorageOffset + run.PieceOffset, p.Storage);
        }

        /// <summary>The tensor's row-major little-endian bytes, in consecutive pieces.</summary>
        public static void ReadRowMajor(TensorDataReader reader, TensorRef t, Action<byte[], int> sink)
        {
            var layout = t.Chunks ?? throw new ArgumentException($"{t} is not assembled from chunks", nameof(t));
            foreach (var run in layout.Runs(0, t.Numel)) reader.ReadRowMajor(Slice(run), sink);
        }

        /// <summary>The runs of raw storage bytes in row-major order (byte order as stored).</summary>
        internal static void ForEachRun(TensorDataReader reader, TensorRef t, TensorDataReader.RunHandler handler)
        {
            foreach (var run in t.Chunks!.Runs(0, t.Numel)) reader.ForEachRun(Slice(run), handler);
        }

        /// <summary>
        /// Row-major little-endian bytes of elements [<paramref name="start"/>, start+<paramref name="count"/>) of any
        /// readable tensor (plain or chunked) into <paramref name="dst"/> at <paramref name="at"/>.
        /// </summary>
        public static void ReadRange(TensorDataReader reader, TensorRef t, long start, long count, byte[] dst, int at)
        {
            int item = t.DType.ItemSize;
            if (t.DType.BitsPerElement < 8) throw new InvalidOperationException($"{t.DType.Name} elements cannot be read by range");
            if (t.IsChunked)
            {
                foreach (var run in t.Chunks!.Runs(start, count))
                {
                    var piece = run.Chunk.Piece;
                    if (piece.IsChunked) throw new InvalidOperationException("nested chunked tensors are not supported");
                    ReadRange(reader, Slice(run), 0, run.Length, dst, at);
                    at += checked((int)(run.Length * item));
                }
                return;
            }
            if (count == 0) return;
            var g = new ViewGeometry(t.DType, t.Shape, t.Stride, t.StorageOffset, t.Storage!.IsBigEndian);
            var cursor = new ViewCursor(reader.BasePointer(t), g, start, count);
            int n;
            while ((n = cursor.NextRun(int.MaxValue, out var src)) > 0)
            {
                int bytes = checked(n * item);
                Marshal.Copy((IntPtr)src, dst, at, bytes);
                if (g.BigEndian) Swap(t.DType, dst, at, bytes);
                at += bytes;
            }
        }

        private static void Swap(DType dtype, byte[] b, int at, int count)
        {
            int width = dtype.IsComplex ? dtype.ItemSize / 2 : dtype.ItemSize;
            if (width <= 1) return;
            for (int i = at; i + width <= at + count; i += width) Array.Reverse(b, i, width);
        }

        /// <summary>Hash and statistics of a chunked tensor in one streaming pass (the values are never all in memory).</summary>
        internal static void Analyze(CkptTensor tensor, TensorDataReader reader, bool hash, bool statistics)
        {
            var t = tensor.Tensor;
            var g = statistics ? ViewGeometry.Of(t) : null;
            using var sha = hash ? SHA256.Create() : null;
            var total = TensorAnalysis.Moments.Empty;
            int item = t.DType.ItemSize;
            ReadRowMajor(reader, t, (b, n) =>
            {
                sha?.TransformBlock(b, 0, n, null, 0);
                if (g == null || n == 0) return;
                var window = new ViewGeometry(t.DType, new long[] { n / item }, new long[] { 1 }, 0, false, g.Value.Scale, g.Value.ZeroPoint);
                fixed (byte* p = b) total = TensorAnalysis.Moments.Merge(total, TensorAnalysis.Compute(p, window));
            });
            if (sha != null)
            {
                sha.TransformFinalBlock(Array.Empty<byte>(), 0, 0);
                tensor.Sha256 = TensorDataReader.ToHex(sha.Hash!);
            }
            if (g != null) TensorAnalysis.Apply(tensor, total);
        }

        /// <summary>The first <paramref name="count"/> elements as doubles.</summary>
        internal static double[] ReadDoubles(TensorDataReader reader, TensorRef t, long count)
        {
            var g0 = ViewGeometry.Of(t) ?? throw new InvalidOperationException($"{t} has dtype {t.DType.Name}, whose elements are not numbers");
            var result = new double[count];
            int item = t.DType.ItemSize;
            int windowElements = Math.Max(1, WindowBytes / item);
            var buffer = new byte[(int)Math.Min((long)windowElements * item, Math.Max(item, count * item))];
            for (long done = 0; done < count;)
            {
                int n = (int)Math.Min(windowElements, count - done);
                ReadRange(reader, t, done, n, buffer, 0);
                var g = new ViewGeometry(t.DType, new long[] { n }, new long[] { 1 }, 0, false, g0.Scale, g0.ZeroPoint);
                fixed (byte* p = buffer)
                fixed (double* d = result)
                    new ViewCursor(p, g, 0, n).Fill(d + done, n);
                done += n;
            }
            return result;
        }

        /// <summary>Difference sums of two same-shape tensors (either may be chunked), window by window.</summary>
        internal static CheckpointComparer.DiffSums DiffSums(TensorDataReader ra, TensorRef a, TensorDataReader rb, TensorRef b, double atol, double rtol)
        {
            var ga = ViewGeometry.Of(a)!.Value;
            var gb = ViewGeometry.Of(b)!.Value;
            int item = a.DType.ItemSize;
            int windowElements = Math.Max(1, WindowBytes / item);
            long numel = a.Numel;
            var bufA = new byte[(int)Math.Min((long)windowElements * item, numel * item)];
            var bufB = new byte[bufA.Length];
            var total = default(CheckpointComparer.DiffSums);
            for (long done = 0; done < numel;)
            {
                int n = (int)Math.Min(windowElements, numel - done);
                ReadRange(ra, a, done, n, bufA, 0);
                ReadRange(rb, b, done, n, bufB, 0);
                var wa = new ViewGeometry(a.DType, new long[] { n }, new long[] { 1 }, 0, false, ga.Scale, ga.ZeroPoint);
                var wb = new ViewGeometry(b.DType, new long[] { n }, new long[] { 1 }, 0, false, gb.Scale, gb.ZeroPoint);
                fixed (byte* pa = bufA)
                fixed (byte* pb = bufB)
                    total = CheckpointComparer.DiffSums.Merge(total, CheckpointComparer.Sums(pa, wa, pb, wb, atol, rtol));
                done += n;
            }
            return total;
        }
    }
}

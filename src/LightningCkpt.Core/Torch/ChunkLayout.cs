using System;
using System.Collections.Generic;

namespace LightningCkpt.Torch
{
    /// <summary>
    /// One piece of a logical tensor: an n-d box (<see cref="Offsets"/>, <see cref="Sizes"/>) of the chunk grid whose
    /// elements, in row-major order, are the elements of <see cref="Piece"/> (a contiguous tensor in some file).
    /// </summary>
    public sealed class TensorChunk
    {
        public TensorChunk(long[] offsets, long[] sizes, TensorRef piece, string origin)
        {
            Offsets = offsets;
            Sizes = sizes;
            Piece = piece;
            Origin = origin;
            Numel = TensorRef.ComputeNumel(sizes);
        }

        /// <summary>Where the box starts in the grid, per dimension.</summary>
        public long[] Offsets { get; }

        /// <summary>The box's extent per dimension.</summary>
        public long[] Sizes { get; }

        /// <summary>The bytes: a contiguous tensor whose elements fill the box in row-major order.</summary>
        public TensorRef Piece { get; }

        /// <summary>Where the piece comes from, for messages ("__1_0.distcp", "rank 1 group 0" …).</summary>
        public string Origin { get; }

        public long Numel { get; }

        public override string ToString() => $"[{string.Join(", ", Offsets)}]+[{string.Join(", ", Sizes)}] from {Origin}";
    }

    /// <summary>A row-major run of a logical tensor: <see cref="Length"/> elements of a piece, from <see cref="PieceOffset"/>.</summary>
    public readonly struct ChunkRun
    {
        public ChunkRun(TensorChunk chunk, long pieceOffset, long length)
        {
            Chunk = chunk;
            PieceOffset = pieceOffset;
            Length = length;
        }

        public TensorChunk Chunk { get; }
        public long PieceOffset { get; }
        public long Length { get; }
    }

    /// <summary>
    /// How a logical tensor is made of pieces. The grid is either the tensor's shape (DCP boxes) or its flat element
    /// range [numel] (DeepSpeed slices of flat partitions); both enumerate elements in the same row-major order, so a
    /// reader walks runs and never needs the whole tensor in memory.
    /// </summary>
    public sealed class ChunkLayout
    {
        private readonly TensorChunk[] _sorted;   // by offsets, dimension 0 first (overlap check)
        private readonly TensorChunk[] _byRun;    // by offset in the split dimension (run order within a row)
        private readonly int _splitDim;
        private readonly long _inner;

        public ChunkLayout(long[] grid, IReadOnlyList<TensorChunk> chunks)
        {
            Grid = grid;
            Chunks = chunks;
            Numel = TensorRef.ComputeNumel(grid);
            _sorted = new TensorChunk[chunks.Count];
            for (int i = 0; i < chunks.Count; i++) _sorted[i] = chunks[i];
            Array.Sort(_sorted, CompareOffsets);
            // The first dimension from which every chunk spans the whole extent of all later dimensions: each chunk
            // is then one contiguous run per coordinate of the dimensions before it.
            _splitDim = 0;
            for (int d = grid.Length - 1; d >= 1; d--)
            {
                bool allFull = true;
                foreach (var c in chunks)
                    if (c.Offsets.Length == grid.Length && (c.Offsets[d] != 0 || c.Sizes[d] != grid[d])) { allFull = false; break; }
                if (!allFull) { _splitDim = d; break; }
            }
            _inner = 1;
            for (int d = _splitDim + 1; d < grid.Length; d++) _inner *= grid[d];
            _byRun = (TensorChunk[])_sorted.Clone();
            int split = _splitDim;
            Array.Sort(_byRun, (a, b) => a.Offsets.Length > split && b.Offsets.Length > split ? a.Offsets[split].CompareTo(b.Offsets[split]) : 0);
        }

        /// <summary>The shape the chunk boxes live in.</summary>
        public long[] Grid { get; }
        public IReadOnlyList<TensorChunk> Chunks { get; }
        public long Numel { get; }

        private static int CompareOffsets(TensorChunk a, TensorChunk b)
        {
            int n = Math.Min(a.Offsets.Length, b.Offsets.Length);
            for (int i = 0; i < n; i++)
            {
                int c = a.Offsets[i].CompareTo(b.Offsets[i]);
                if (c != 0) return c;
            }
            return a.Offsets.Length.CompareTo(b.Offsets.Length);
        }

        /// <summary>
        /// Problems with the boxes: wrong rank, out of bounds, a piece that does not hold the box's elements, two boxes
        /// sharing elements, elements no box covers. Empty when the chunks tile the grid exactly.
        /// </summary>
        public List<string> Problems()
        {
            var problems = new List<string>();
            long covered = 0;
            foreach (var c in Chunks)
            {
                if (c.Offsets.Length != Grid.Length || c.Sizes.Length != Grid.Length)
                {
                    problems.Add($"chunk {c} has {c.Offsets.Length} dimensions, the tensor {Grid.Length}");
                    continue;
                }
                bool inside = true;
                for (int d = 0; d < Grid.Length; d++)
                    if (c.Offsets[d] < 0 || c.Sizes[d] < 0 || c.Offsets[d] > Grid[d] - c.Sizes[d]) inside = false;
                if (!inside) problems.Add($"chunk {c} lies outside the tensor's [{string.Join(", ", Grid)}]");
                if (c.Piece.Numel != c.Numel)
                    problems.Add($"chunk {c} needs {c.Numel} elements but its piece holds {c.Piece.Numel}");
                covered += c.Numel;
            }
            if (problems.Count > 0) return problems;
            for (int i = 0; i < _sorted.Length; i++)
                for (int j = i + 1; j < _sorted.Length; j++)
                {
                    // sorted by offsets: once chunk j starts at or past the end of i in dimension 0, no later one overlaps i
                    if (Grid.Length > 0 && _sorted[j].Offsets[0] >= _sorted[i].Offsets[0] + _sorted[i].Sizes[0]) break;
                    if (Overlap(_sorted[i], _sorted[j])) problems.Add($"chunks {_sorted[i]} and {_sorted[j]} overlap");
                }
            if (problems.Count == 0 && covered != Numel)
                problems.Add($"the chunks cover {covered} of the tensor's {Numel} elements; the rest is in no shard");
            return problems;
        }

        private bool Overlap(TensorChunk a, TensorChunk b)
        {
            if (a.Numel == 0 || b.Numel == 0) return false;
            for (int d = 0; d < Grid.Length; d++)
                if (a.Offsets[d] >= b.Offsets[d] + b.Sizes[d] || b.Offsets[d] >= a.Offsets[d] + a.Sizes[d]) return false;
            return true;
        }

        /// <summary>
        /// The runs making up elements [<paramref name="start"/>, start+<paramref name="count"/>) in row-major order.
        /// Assumes <see cref="Problems"/> found nothing.
        /// </summary>
        public IEnumerable<ChunkRun> Runs(long start, long count)
        {
            long end = start + count;
            if (count <= 0) yield break;
            if (Grid.Length == 0)
            {
                foreach (var c in _sorted) if (c.Numel == 1) { yield return new ChunkRun(c, 0, 1); yield break; }
                yield break;
            }
            int d = _splitDim;
            long rowSpan = Grid[d] * _inner; // elements per coordinate of the dimensions before d
            if (rowSpan == 0) yield break;
            var outer = new long[d];
            long outerIndex = start / rowSpan;
            // coordinates of outerIndex in Grid[0..d)
            long rem = outerIndex;
            for (int i = d - 1; i >= 0; i--) { outer[i] = rem % Grid[i]; rem /= Grid[i]; }
            for (long o = outerIndex; o * rowSpan < end; o++)
            {
                long rowBase = o * rowSpan;
                foreach (var c in _byRun)
                {
                    if (c.Numel == 0) continue;
                    long local = 0;
                    bool contains = true;
                    for (int i = 0; i < d; i++)
                    {
                        long k = outer[i] - c.Offsets[i];
                        if (k < 0 || k >= c.Sizes[i]) { contains = false; break; }
                        local = local * c.Sizes[i] + k;
                    }
                    if (!contains) continue;
                    long runLength = c.Sizes[d] * _inner;
                    long runStart = rowBase + c.Offsets[d] * _inner;
                    long from = Math.Max(runStart, start), to = Math.Min(runStart + runLength, end);
                    if (from >= to) continue;
                    yield return new ChunkRun(c, local * runLength + (from - runStart), to - from);
                }
                for (int i = d - 1; i >= 0; i--)
                {
                    if (++outer[i] < Grid[i]) break;
                    outer[i] = 0;
                }
            }
        }
    }
}

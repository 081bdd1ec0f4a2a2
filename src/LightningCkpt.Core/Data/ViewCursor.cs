using System;

namespace LightningCkpt.Data
{
    /// <summary>
    /// A pull cursor over a range of a view's elements in row-major order, converting them to double straight
    /// from the storage bytes. Trailing dimensions that are contiguous with each other are merged into runs, so a
    /// contiguous tensor is one run and a transposed one is walked element by element. The cursor can start at
    /// any element, which lets several threads walk disjoint ranges of one tensor.
    /// </summary>
    internal sealed unsafe class ViewCursor
    {
        private readonly byte* _base;
        private readonly ViewGeometry _g;
        private readonly int _item;
        private readonly long _runElems;
        private readonly int _inner;
        private readonly long[] _idx;
        private long _off;       // element offset (in storage) of the current run's first element
        private long _posInRun;
        private long _remaining;

        public ViewCursor(byte* storageBase, in ViewGeometry g, long start, long count)
        {
            _base = storageBase;
            _g = g;
            _item = g.DType.ItemSize;
            int nd = g.Shape.Length;
            long run = 1;
            int inner = nd;
            while (inner > 0 && (g.Shape[inner - 1] == 1 || g.Stride[inner - 1] == run))
            {
                run *= g.Shape[inner - 1];
                inner--;
            }
            _runElems = Math.Max(1, run);
            _inner = inner;
            _idx = new long[inner];
            _remaining = count;
            long runIndex = start / _runElems;
            _posInRun = start % _runElems;
            _off = g.Offset;
            for (int d = inner - 1; d >= 0 && runIndex > 0; d--)
            {
                long i = runIndex % g.Shape[d];
                runIndex /= g.Shape[d];
                _idx[d] = i;
                _off += i * g.Stride[d];
            }
        }

        public long Remaining => _remaining;

        /// <summary>Converts up to <paramref name="max"/> next elements into <paramref name="dst"/>; returns how many.</summary>
        public int Fill(double* dst, int max)
        {
            int filled = 0;
            while (filled < max && _remaining > 0)
            {
                int n = (int)Math.Min(Math.Min(_runElems - _posInRun, max - filled), _remaining);
                byte* src = _base + (_off + _posInRun) * _item;
                if (_g.BigEndian) ElementBlock.ConvertSwapped(src, n, _g, dst + filled);
                else ElementBlock.Convert(src, n, _g, dst + filled);
                filled += n;
                _remaining -= n;
                _posInRun += n;
                if (_posInRun == _runElems) NextRunStart();
            }
            return filled;
        }

        /// <summary>Length in elements of the contiguous runs this view is walked in.</summary>
        public long RunElements => _runElems;

        /// <summary>
        /// The next up to <paramref name="max"/> elements that lie contiguously in the storage, in place (no
        /// conversion); returns how many (0 at the end). For little-endian views of long runs.
        /// </summary>
        public int NextRun(int max, out byte* source)
        {
            source = null;
            if (_remaining == 0) return 0;
            int n = (int)Math.Min(Math.Min(_runElems - _posInRun, max), _remaining);
            source = _base + (_off + _posInRun) * _item;
            _remaining -= n;
            _posInRun += n;
            if (_posInRun == _runElems) NextRunStart();
            return n;
        }

        /// <summary>Steps the outer indices (an odometer over the non-run dimensions) to the next run's start.</summary>
        private void NextRunStart()
        {
            _posInRun = 0;
            for (int d = _inner - 1; d >= 0; d--)
            {
                _idx[d]++;
                _off += _g.Stride[d];
                if (_idx[d] < _g.Shape[d]) break;
                _off -= _g.Stride[d] * _g.Shape[d];
                _idx[d] = 0;
            }
        }

        /// <summary>Element-range chunks for parallel walks: [start, start+count) pieces of about <paramref name="size"/>.</summary>
        public static int ChunkCount(long numel, long size) => (int)((numel + size - 1) / size);
    }
}

using System;

namespace LightningCkpt.Data
{
    /// <summary>
    /// A pull cursor over a range of a view's elements in row-major order, giving the storage offset of each run of
    /// elements that lie contiguously in the storage. Trailing dimensions that are contiguous with each other are
    /// merged into runs, so a contiguous tensor is one run and a transposed one is walked element by element. The
    /// cursor can start at any element. It only does arithmetic: the reader copies the bytes.
    /// </summary>
    internal sealed class ViewCursor
    {
        private readonly long[] _shape;
        private readonly long[] _stride;
        private readonly long _runElems;
        private readonly int _inner;
        private readonly long[] _idx;
        private long _off;       // element offset (in storage) of the current run's first element
        private long _posInRun;
        private long _remaining;

        public ViewCursor(long[] shape, long[] stride, long offset, long start, long count)
        {
            _shape = shape;
            _stride = stride;
            int nd = shape.Length;
            long run = 1;
            int inner = nd;
            while (inner > 0 && (shape[inner - 1] == 1 || stride[inner - 1] == run))
            {
                run *= shape[inner - 1];
                inner--;
            }
            _runElems = Math.Max(1, run);
            _inner = inner;
            _idx = new long[inner];
            _remaining = count;
            long runIndex = start / _runElems;
            _posInRun = start % _runElems;
            _off = offset;
            for (int d = inner - 1; d >= 0 && runIndex > 0; d--)
            {
                long i = runIndex % shape[d];
                runIndex /= shape[d];
                _idx[d] = i;
                _off += i * stride[d];
            }
        }

        public long Remaining => _remaining;

        /// <summary>Length in elements of the contiguous runs this view is walked in.</summary>
        public long RunElements => _runElems;

        /// <summary>
        /// The next up to <paramref name="max"/> elements that lie contiguously in the storage: returns how many
        /// (0 at the end) and the storage element offset of the first.
        /// </summary>
        public int NextRun(int max, out long elementOffset)
        {
            elementOffset = 0;
            if (_remaining == 0) return 0;
            int n = (int)Math.Min(Math.Min(_runElems - _posInRun, max), _remaining);
            elementOffset = _off + _posInRun;
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
                _off += _stride[d];
                if (_idx[d] < _shape[d]) break;
                _off -= _stride[d] * _shape[d];
                _idx[d] = 0;
            }
        }
    }
}

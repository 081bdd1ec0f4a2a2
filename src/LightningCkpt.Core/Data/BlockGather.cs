using System;
using LightningCkpt.Torch;

namespace LightningCkpt.Data
{
    /// <summary>
    /// Gathers a row-major range of a strided view whose storage span is wider than the gather window (e.g. a [N, 4]
    /// float32 stored transposed: every row touches four places N elements apart). The range is cut into at most
    /// 2 × ndim boxes (a fixed prefix of indices, a run of one dimension, the rest whole); each box is walked in storage
    /// order (its dimensions by decreasing stride), so its pieces come in increasing offset, and consecutive pieces are
    /// read together when they lie within <see cref="MaxGapBytes"/> of each other and within one window of at most
    /// the window size. Every storage byte the range needs is read about once, in a handful of positional reads.
    /// </summary>
    internal sealed class BlockGather
    {
        /// <summary>A gap up to this size between two needed pieces is read through rather than split into two reads.</summary>
        public const int MaxGapBytes = 16 << 10;

        /// <summary>Pieces collected before they are read: bounds this helper's memory to ~1 MB however wide the view.</summary>
        private const int MaxPieces = 1 << 16;

        /// <summary>Reads storage bytes [start, end) and returns the buffer holding them with the storage byte its index 0 stands for.</summary>
        public delegate byte[] WindowReader(long startByte, long endByte, out long baseByte);

        private readonly long[] _offset = new long[MaxPieces]; // storage element of each piece
        private readonly int[] _length = new int[MaxPieces];   // elements in each piece
        private readonly int[] _target = new int[MaxPieces];   // destination element of each piece, from the range start
        private int _count;

        private TensorRef _t = null!;
        private byte[] _dst = null!;
        private int _at, _item;
        private long _windowElements;
        private WindowReader _read = null!;

        /// <summary>Elements [<paramref name="start"/>, +<paramref name="count"/>) of <paramref name="t"/> into <paramref name="dst"/> at byte <paramref name="at"/>.</summary>
        public void Gather(TensorRef t, long start, int count, byte[] dst, int at, int windowBytes, WindowReader read)
        {
            _t = t; _dst = dst; _at = at; _read = read;
            _item = t.DType.ItemSize;
            _windowElements = Math.Max(1, windowBytes / _item);
            _count = 0;
            var shape = t.Shape;
            int n = shape.Length;
            if (n == 0) { Add(t.StorageOffset, 1, 0); Flush(); return; }
            var inner = new long[n]; // row-major elements per index step of each dimension
            long p = 1;
            for (int d = n - 1; d >= 0; d--) { inner[d] = p; p *= shape[d]; }
            long a = start, end = start + count;
            while (a < end)
            {
                // the outermost dimension whose step a is aligned to and that still fits in what is left
                for (int d = 0; d < n; d++)
                {
                    if (a % inner[d] != 0) continue;
                    long lo = (a / inner[d]) % shape[d];
                    long steps = Math.Min((end - a) / inner[d], shape[d] - lo);
                    if (steps < 1) continue;
                    Box(a, d, lo, steps, start, inner);
                    a += steps * inner[d];
                    break;
                }
            }
            Flush();
        }

        /// <summary>Walks one box in storage order: indices of dimensions before d fixed (from a), d over [lo, lo+steps), the rest whole.</summary>
        private void Box(long a, int d, long lo, long steps, long rangeStart, long[] inner)
        {
            var shape = _t.Shape;
            var stride = _t.Stride;
            long baseOffset = _t.StorageOffset;
            for (int f = 0; f < d; f++) baseOffset += (a / inner[f]) % shape[f] * stride[f];
            baseOffset += lo * stride[d];
            // the free dimensions (extent > 1), outermost first in storage order: larger stride, then row-major order
            int m = 0;
            var dims = new int[shape.Length - d];
            for (int f = d; f < shape.Length; f++) if ((f == d ? steps : shape[f]) > 1) dims[m++] = f;
            Array.Sort(dims, 0, m, Comparer.For(stride));
            var extent = new long[m];
            for (int k = 0; k < m; k++) extent[k] = dims[k] == d ? steps : shape[dims[k]];
            long target = a - rangeStart;
            // the innermost free dimension is one contiguous piece when it steps by one in both storage and output
            bool runInner = m > 0 && stride[dims[m - 1]] == 1 && inner[dims[m - 1]] == 1;
            int outer = runInner ? m - 1 : m;
            long pieceLength = runInner ? extent[m - 1] : 1;
            var index = new long[Math.Max(outer, 1)];
            long offset = baseOffset, dstIndex = target;
            while (true)
            {
                for (long done = 0; done < pieceLength;)
                {
                    int len = (int)Math.Min(pieceLength - done, Math.Min(_windowElements, int.MaxValue / _item));
                    Add(offset + done, len, dstIndex + done);
                    done += len;
                }
                // odometer over the outer free dimensions, last fastest
                int k = outer - 1;
                for (; k >= 0; k--)
                {
                    int dim = dims[k];
                    if (++index[k] < extent[k]) { offset += stride[dim]; dstIndex += inner[dim]; break; }
                    offset -= (extent[k] - 1) * stride[dim];
                    dstIndex -= (extent[k] - 1) * inner[dim];
                    index[k] = 0;
                }
                if (k < 0) break;
            }
        }

        private void Add(long offset, int length, long target)
        {
            if (_count == MaxPieces) Flush();
            _offset[_count] = offset;
            _length[_count] = length;
            _target[_count] = (int)target;
            _count++;
        }

        /// <summary>Reads the collected pieces, neighbours together, and copies each to its place.</summary>
        private void Flush()
        {
            long gap = Math.Max(1, MaxGapBytes / _item);
            int i = 0;
            while (i < _count)
            {
                long lo = _offset[i], hi = lo + _length[i];
                int j = i + 1;
                for (; j < _count; j++)
                {
                    long o = _offset[j], e = o + _length[j];
                    // increasing, close to the last piece, and the window still within its size
                    if (o < lo || o > hi + gap || Math.Max(hi, e) - lo > _windowElements) break;
                    hi = Math.Max(hi, e);
                }
                var window = _read(lo * _item, hi * _item, out long baseByte);
                for (int k = i; k < j; k++)
                {
                    int bytes = _length[k] * _item;
                    int src = (int)(_offset[k] * _item - baseByte);
                    int dst = _at + _target[k] * _item;
                    if (bytes <= 16) for (int b = 0; b < bytes; b++) _dst[dst + b] = window[src + b];
                    else Buffer.BlockCopy(window, src, _dst, dst, bytes);
                }
                i = j;
            }
            _count = 0;
        }

        /// <summary>Orders dimensions by decreasing stride, ties in row-major order.</summary>
        private sealed class Comparer : System.Collections.Generic.IComparer<int>
        {
            private readonly long[] _stride;
            private Comparer(long[] stride) => _stride = stride;
            public static Comparer For(long[] stride) => new Comparer(stride);
            public int Compare(int x, int y) => _stride[x] != _stride[y] ? _stride[y].CompareTo(_stride[x]) : x.CompareTo(y);
        }
    }
}

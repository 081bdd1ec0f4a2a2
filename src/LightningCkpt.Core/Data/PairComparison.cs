using System;
using System.Collections.Generic;
using System.Threading;
using LightningCkpt.Torch;

namespace LightningCkpt.Data
{
    /// <summary>
    /// The reading side of <see cref="CheckpointComparer"/>: each tensor pair is a job cut into passes that
    /// <see cref="ParallelPasses"/> runs on every core, largest first. A pass reads both sides in lockstep on its
    /// worker's thread, in cache-sized pieces, with one reader per file per worker. The job that finishes its last
    /// pass fills its row, with exactly the figures one sequential pass over the pair gives.
    /// </summary>
    internal static class PairComparison
    {
        /// <summary>Read chunks per range of a pair that can be read anywhere: 8 MB of float32 per side.</summary>
        internal const int RangeChunks = 2;

        /// <summary>One row: filled at planning (nothing to read) or by the last of its passes.</summary>
        internal class Job
        {
            private volatile bool _done;

            public Job(CkptDiff row, bool done = false)
            {
                Row = row;
                _done = done;
            }

            public CkptDiff Row { get; }

            public bool Done => _done;

            protected void Complete() => _done = true;
        }

        internal abstract class Pass : ParallelPasses.Pass<Worker> { }

        /// <summary>A worker's readers (one per side: an inflating reader keeps its place in one entry) and buffers.</summary>
        internal sealed class Worker : IDisposable
        {
            public Worker(ReadProgress progress)
            {
                A = new TensorDataReader(progress);
                B = new TensorDataReader(progress);
            }

            public TensorDataReader A { get; }
            public TensorDataReader B { get; }
            public PieceBuffer X { get; } = new PieceBuffer();
            public PieceBuffer Y { get; } = new PieceBuffer();

            public void Dispose()
            {
                A.Dispose();
                B.Dispose();
            }
        }

        /// <summary>A pair read whole by one pass, which fills the row (<see cref="Fill"/>).</summary>
        internal abstract class OnePassJob : Job
        {
            protected OnePassJob(CkptDiff row, TensorRef a, TensorRef b, List<Pass> passes) : base(row)
            {
                A = a;
                B = b;
                passes.Add(new WholePass(this));
            }

            protected TensorRef A { get; }
            protected TensorRef B { get; }

            protected abstract void Fill(Worker w);

            private sealed class WholePass : Pass
            {
                private readonly OnePassJob _job;

                public WholePass(OnePassJob job)
                {
                    _job = job;
                    Bytes = job.A.NBytes + job.B.NBytes;
                }

                public override void Run(Worker w)
                {
                    _job.Fill(w);
                    _job.Complete();
                }
            }
        }

        /// <summary>Dtypes without numbers (sub-byte, bits, opaque) or unlike quantizers: Equal when the SHA-256 of the bytes agree.</summary>
        internal sealed class HashJob : OnePassJob
        {
            public HashJob(CkptDiff row, TensorRef a, TensorRef b, List<Pass> passes) : base(row, a, b, passes) { }

            protected override void Fill(Worker w) =>
                Row.Status = w.A.Sha256(A, w.X) == w.B.Sha256(B, w.Y) ? DiffStatus.Equal : DiffStatus.Changed;
        }

        /// <summary>
        /// Per-channel and packed quantized tensors (<see cref="QuantizedValues"/>): the numbers of both sides'
        /// dequantize(), in one pass of float32 chunks.
        /// </summary>
        internal sealed class DequantizedJob : OnePassJob
        {
            private readonly CompareOptions _options;

            public DequantizedJob(CkptDiff row, TensorRef a, TensorRef b, CompareOptions options, List<Pass> passes) : base(row, a, b, passes)
            {
                _options = options;
            }

            protected override unsafe void Fill(Worker w)
            {
                int chunk = (int)Math.Min(A.Numel, TensorAnalysis.BlockElements);
                var x = new QuantizedValues.Dequantizer(A, w.A, chunk);
                var y = new QuantizedValues.Dequantizer(B, w.B, x.Chunk);
                if (y.Chunk != x.Chunk) x = new QuantizedValues.Dequantizer(A, w.A, y.Chunk); // whole bytes of both packings
                var fx = new float[x.Chunk];
                var fy = new float[x.Chunk];
                var total = default(CheckpointComparer.DiffSums);
                fixed (float* px = fx) fixed (float* py = fy)
                    for (long at = 0; at < A.Numel; at += x.Chunk)
                    {
                        int n = x.Fill(at, fx);
                        y.Fill(at, fy);
                        total = CheckpointComparer.DiffSums.Merge(total, CheckpointComparer.Block(px, py, n, _options.AbsoluteTolerance, _options.RelativeTolerance));
                    }
                CheckpointComparer.FillNumbers(Row, total);
            }
        }

        /// <summary>
        /// The numbers of one pair. The views are walked in read chunks of
        /// <see cref="TensorDataReader.ChunkElements"/> (the smaller side's), each reduced block by block into its own
        /// sums, and the chunk sums are merged in the order of one pass that skips identical chunks until the first
        /// different one (chunk k): k … last, then the identical prefix 0 … k−1. So the ranges of a pair can run on
        /// several cores and the figures stay those of one pass. A chunk that turns out different after identical
        /// pieces is re-read from its start with sums; identical chunks left without sums once some chunk differs are
        /// re-read by the job's last pass.
        /// </summary>
        internal sealed class NumbersJob : Job
        {
            private readonly TensorRef _a, _b;
            private readonly ViewGeometry _ka, _kb;
            private readonly long _repeat;
            private readonly bool _sameDType, _float32;
            private readonly CompareOptions _options;
            private readonly int _components, _item;
            private readonly long _chunkElements;
            private readonly int _piece;
            private readonly CheckpointComparer.DiffSums?[] _sums; // null: the chunk's bytes were identical
            private int _nonZero, _pending;

            public NumbersJob(CkptDiff row, TensorRef a, TensorRef b, ViewGeometry ka, ViewGeometry kb, long repeat, bool sameDType,
                CompareOptions options, List<Pass> passes) : base(row)
            {
                _a = a;
                _b = b;
                _ka = ka;
                _kb = kb;
                _repeat = repeat;
                _sameDType = sameDType;
                _options = options;
                _float32 = ReferenceEquals(ka.DType, DType.Float32) && ReferenceEquals(kb.DType, DType.Float32) && !ka.IsAffine && !kb.IsAffine;
                _components = a.DType.IsComplex ? 2 : 1;
                _item = a.DType.ItemSize;
                _chunkElements = Math.Min(TensorDataReader.ChunkElements(a), TensorDataReader.ChunkElements(b));
                // pieces: whole blocks of numbers, about a piece (TensorDataReader.PieceBytes) of the wider side, dividing the chunk
                int block = TensorAnalysis.BlockElements / _components;
                long wide = Math.Max(a.DType.ItemSize, b.DType.ItemSize);
                long bytes = Math.Max(TensorDataReader.PieceBytes(a), TensorDataReader.PieceBytes(b));
                long piece = Math.Max(block, bytes / wide / block * block);
                _piece = (int)(piece <= _chunkElements && _chunkElements % piece == 0 ? piece : _chunkElements);
                long chunks = (a.Numel + _chunkElements - 1) / _chunkElements;
                _sums = new CheckpointComparer.DiffSums?[chunks];
                int step = TensorDataReader.IsRandomAccess(a) && TensorDataReader.IsRandomAccess(b) ? RangeChunks : (int)Math.Min(int.MaxValue, chunks);
                for (long c = 0; c < chunks; c += step)
                {
                    _pending++;
                    passes.Add(new Range(this, c, Math.Min(chunks, c + step)));
                }
            }

            private long ChunkEnd(long c) => Math.Min(_a.Numel, (c + 1) * _chunkElements);

            private void Advance(TensorDataReader r, int count)
            {
                // both readers share the comparison's progress
                r.Progress.Advance(_a.DType.BytesFor(count) + _b.DType.BytesFor(count));
            }

            private (byte[] x, byte[] y) Read(Worker w, long at, int count)
            {
                var x = w.X.For(_a.DType, _piece);
                var y = w.Y.For(_b.DType, _piece);
                w.A.ReadElements(_a, at, count, x);
                w.B.ReadElements(_b, at, count, y);
                return (x, y);
            }

            /// <summary>
            /// Chunk <paramref name="c"/>: null when <paramref name="check"/> and its bytes are identical, else its
            /// sums (restarting the chunk with sums when a difference shows after identical pieces).
            /// </summary>
            private unsafe CheckpointComparer.DiffSums? Chunk(Worker w, long c, bool check)
            {
                long start = c * _chunkElements, end = ChunkEnd(c);
                var sums = default(CheckpointComparer.DiffSums);
                bool nonZero = false;
                for (long at = start; at < end; at += _piece)
                {
                    int count = (int)Math.Min(_piece, end - at);
                    var (x, y) = Read(w, at, count);
                    if (check)
                    {
                        bool equal;
                        bool nz;
                        fixed (byte* px = x) fixed (byte* py = y) equal = CheckpointComparer.Equal(px, py, (long)count * _item, out nz);
                        if (equal)
                        {
                            nonZero |= nz;
                            Advance(w.A, count);
                            continue;
                        }
                        check = false;
                        if (at > start)
                        {
                            Advance(w.A, count);
                            return Chunk(w, c, check: false);
                        }
                    }
                    CheckpointComparer.Sums(x, y, count * _components, _ka, _kb, _float32, _options, ref sums);
                    Advance(w.A, count);
                }
                if (check)
                {
                    if (nonZero) Interlocked.Exchange(ref _nonZero, 1);
                    return null;
                }
                return sums;
            }

            private void Finish(Worker w)
            {
                if (Interlocked.Decrement(ref _pending) > 0) return;
                int first = Array.FindIndex(_sums, s => s.HasValue);
                if (first < 0)
                {
                    CheckpointComparer.Identical(Row, Volatile.Read(ref _nonZero) == 0);
                    Complete();
                    return;
                }
                var total = default(CheckpointComparer.DiffSums);
                for (long k = 0; k < _sums.Length; k++)
                {
                    long c = (first + k) % _sums.Length;
                    total = CheckpointComparer.DiffSums.Merge(total, _sums[c] ?? Chunk(w, c, check: false)!.Value);
                }
                CheckpointComparer.FillNumbers(Row, total.Scale(_repeat));
                if (!_sameDType && Row.Status == DiffStatus.Equal) Row.Status = DiffStatus.DTypeChanged; // Changed stays: the cast broke values
                Complete();
            }

            private sealed class Range : Pass
            {
                private readonly NumbersJob _job;
                private readonly long _first, _end;

                public Range(NumbersJob job, long first, long end)
                {
                    _job = job;
                    _first = first;
                    _end = end;
                    long elements = job.ChunkEnd(end - 1) - first * job._chunkElements;
                    Bytes = job._a.DType.BytesFor(elements) + job._b.DType.BytesFor(elements);
                }

                public override void Run(Worker w)
                {
                    // as one pass does: once a chunk differs, the later chunks are summed without the byte check
                    bool check = _job._sameDType;
                    for (long c = _first; c < _end; c++)
                    {
                        var s = _job.Chunk(w, c, check);
                        _job._sums[c] = s;
                        if (s.HasValue) check = false;
                    }
                    _job.Finish(w);
                }
            }
        }
    }
}

using System;
using System.Collections.Generic;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using LightningCkpt.Torch;

namespace LightningCkpt.Data
{
    /// <summary>
    /// Hashes and statistics of many tensors on every core. The work is cut into sequential passes run by
    /// <see cref="ParallelPasses"/>, largest first: a tensor's SHA-256 is one pass (it cannot be split; statistics
    /// asked for with it ride on the same read), while statistics alone of a tensor that can be read anywhere are cut
    /// into ranges of whole 64K-element blocks, so one large tensor keeps every core busy. Each range stores its
    /// blocks' moments and the last range to finish folds them in block order: the figures are exactly those of one
    /// pass (<see cref="TensorAnalysis.Analyze"/>). Each worker reads into its own cache-sized buffer with its own
    /// <see cref="TensorDataReader"/>; all of them count into one <see cref="ReadProgress"/>, which is thread-safe.
    /// </summary>
    public static class TensorBatchAnalysis
    {
        /// <summary>Blocks per statistics range: 8 MB of float32, small enough to share out, large enough to read on.</summary>
        internal const int RangeBlocks = 32;

        /// <summary>
        /// Fills hash and/or statistics of every tensor in <paramref name="tensors"/>. The first failure (a damaged
        /// file, a cancellation) stops the other workers at their next pass and is rethrown here; tensors finished
        /// before it keep their results.
        /// </summary>
        public static void AnalyzeAll(IReadOnlyList<CkptTensor> tensors, bool hash, bool statistics, ReadProgress? progress = null, int workers = 0)
        {
            progress ??= new ReadProgress();
            var passes = new List<Pass>();
            foreach (var t in tensors)
                if (t.Tensor.HasData) Plan(t, hash, statistics, passes);
            // fewer passes than cores (one large tensor to hash): a core would sit idle, so it reads ahead instead
            ParallelPasses.Run(passes, workers, spareCores => new Worker(progress, spareCores), "analysis");
        }

        /// <summary>The passes one tensor needs, as <see cref="TensorAnalysis.Analyze"/> would make them in one go.</summary>
        private static void Plan(CkptTensor tensor, bool hash, bool statistics, List<Pass> passes)
        {
            var t = tensor.Tensor;
            var g = statistics ? ViewGeometry.Of(t) : null;
            if (g == null)
            {
                if (statistics && QuantizedValues.Handles(t)) passes.Add(new DequantizedPass(tensor));
                if (hash) passes.Add(new HashPass(tensor));
                return;
            }
            var distinct = DistinctView.Of(t, out long repeat);
            if (hash && repeat == 1 && !DistinctView.Overlaps(t))
            {
                passes.Add(new FusedPass(tensor, g.Value));
                return;
            }
            if (distinct.Numel == 0) TensorAnalysis.Apply(tensor, TensorAnalysis.Moments.Empty);
            else
            {
                var job = new StatisticsJob(tensor, distinct, repeat);
                long blocks = (distinct.Numel + TensorAnalysis.BlockElements - 1) / TensorAnalysis.BlockElements;
                if (blocks <= RangeBlocks || !TensorDataReader.IsRandomAccess(distinct)) job.Add(passes, 0, blocks, split: false);
                else for (long b = 0; b < blocks; b += RangeBlocks) job.Add(passes, b, Math.Min(blocks, b + RangeBlocks), split: true);
            }
            if (hash) passes.Add(new HashPass(tensor));
        }

        /// <summary>What one worker owns: its reader and its read buffer.</summary>
        private sealed class Worker : IDisposable
        {
            public Worker(ReadProgress progress, bool readAhead)
            {
                Reader = new TensorDataReader(progress);
                ReadAhead = readAhead;
            }

            public TensorDataReader Reader { get; }

            /// <summary>Passes read ahead on a worker of their own (<see cref="TensorDataReader.ReadRowMajor(TensorRef, Action{byte[], int})"/>).</summary>
            public bool ReadAhead { get; }

            public PieceBuffer Buffer { get; } = new PieceBuffer();

            public void Dispose() => Reader.Dispose();
        }

        private abstract class Pass : ParallelPasses.Pass<Worker> { }

        /// <summary>Statistics of a per-channel or packed quantized tensor's dequantize() (<see cref="QuantizedValues"/>).</summary>
        private sealed class DequantizedPass : Pass
        {
            private readonly CkptTensor _tensor;

            public DequantizedPass(CkptTensor tensor)
            {
                _tensor = tensor;
                Bytes = tensor.Tensor.NBytes;
            }

            public override void Run(Worker w) => TensorAnalysis.Apply(_tensor, QuantizedValues.Moments(_tensor.Tensor, w.Reader));
        }

        /// <summary>SHA-256 of the row-major bytes, hashed straight from the read buffer.</summary>
        private sealed class HashPass : Pass
        {
            private readonly CkptTensor _tensor;

            public HashPass(CkptTensor tensor)
            {
                _tensor = tensor;
                Bytes = tensor.Tensor.NBytes;
            }

            public override void Run(Worker w) =>
                _tensor.Sha256 = w.ReadAhead ? w.Reader.Sha256(_tensor.Tensor) : w.Reader.Sha256(_tensor.Tensor, w.Buffer);
        }

        /// <summary>Hash and statistics from one read of a view without repeated elements.</summary>
        private sealed class FusedPass : Pass
        {
            private readonly CkptTensor _tensor;
            private readonly ViewGeometry _g;

            public FusedPass(CkptTensor tensor, ViewGeometry g)
            {
                _tensor = tensor;
                _g = g;
                Bytes = tensor.Tensor.NBytes;
            }

            public override void Run(Worker w)
            {
                if (w.ReadAhead)
                {
                    TensorAnalysis.Analyze(_tensor, w.Reader, hash: true, statistics: true); // the same fused pass, read ahead
                    return;
                }
                var t = _tensor.Tensor;
                DistinctView.CheckMaterialisable(t, t.Storage?.File?.Path ?? "", "reading every element");
                using var sha = SHA256.Create();
                var acc = new TensorAnalysis.MomentsAccumulator(_g);
                int piece = TensorDataReader.PieceElements(t, TensorAnalysis.BlockElements);
                w.Reader.ReadRange(t, 0, t.Numel, piece, w.Buffer.For(t.DType, piece), (b, n) =>
                {
                    sha.TransformBlock(b, 0, n, null, 0);
                    acc.Add(b, n);
                });
                sha.TransformFinalBlock(Array.Empty<byte>(), 0, 0);
                _tensor.Sha256 = TensorDataReader.ToHex(sha.Hash!);
                TensorAnalysis.Apply(_tensor, acc.Total);
            }
        }

        /// <summary>
        /// Statistics of a view's distinct elements in one or more ranges of blocks; the range that finishes last
        /// folds the blocks in order, scales by the repeat count and fills the tensor.
        /// </summary>
        private sealed class StatisticsJob
        {
            private readonly CkptTensor _tensor;
            private readonly TensorRef _distinct;
            private readonly long _repeat;
            private TensorAnalysis.Moments[]? _blocks;
            private int _pending;

            public StatisticsJob(CkptTensor tensor, TensorRef distinct, long repeat)
            {
                _tensor = tensor;
                _distinct = distinct;
                _repeat = repeat;
            }

            public void Add(List<Pass> passes, long firstBlock, long endBlock, bool split)
            {
                if (split && _blocks == null)
                    _blocks = new TensorAnalysis.Moments[(_distinct.Numel + TensorAnalysis.BlockElements - 1) / TensorAnalysis.BlockElements];
                _pending++;
                passes.Add(new Range(this, firstBlock, endBlock));
            }

            private void Finish(TensorAnalysis.Moments total)
            {
                if (Interlocked.Decrement(ref _pending) > 0) return;
                if (_blocks != null) total = TensorAnalysis.MomentsAccumulator.Fold(_blocks);
                TensorAnalysis.Apply(_tensor, total.Scale(_repeat));
            }

            private sealed class Range : Pass
            {
                private readonly StatisticsJob _job;
                private readonly long _first, _end;

                public Range(StatisticsJob job, long firstBlock, long endBlock)
                {
                    _job = job;
                    _first = firstBlock;
                    _end = endBlock;
                    Bytes = job._distinct.DType.BytesFor(Math.Min(job._distinct.Numel, endBlock * TensorAnalysis.BlockElements) - firstBlock * TensorAnalysis.BlockElements);
                }

                public override void Run(Worker w)
                {
                    var t = _job._distinct;
                    DistinctView.CheckWalkable(t, t.Storage?.File?.Path ?? "");
                    var acc = new TensorAnalysis.MomentsAccumulator(ViewGeometry.Of(t)!.Value);
                    int piece = TensorDataReader.PieceElements(t, TensorAnalysis.BlockElements);
                    long start = _first * TensorAnalysis.BlockElements, end = Math.Min(t.Numel, _end * TensorAnalysis.BlockElements);
                    var blocks = _job._blocks;
                    long block = _first;
                    w.Reader.ReadRange(t, start, end, piece, w.Buffer.For(t.DType, piece), (b, n) =>
                    {
                        if (blocks == null) acc.Add(b, n);
                        else
                        {
                            acc.AddBlocks(b, n, blocks, block);
                            block += (n / t.DType.ItemSize + TensorAnalysis.BlockElements - 1) / TensorAnalysis.BlockElements;
                        }
                    });
                    _job.Finish(acc.Total);
                }
            }
        }
    }
}

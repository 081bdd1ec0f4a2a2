using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.ExceptionServices;
using System.Threading;

namespace LightningCkpt.Data
{
    /// <summary>
    /// Hashes and statistics of many tensors on every core. One tensor is one sequential pass (SHA-256 of it cannot be
    /// split, and the statistics ride on the same read), so whole tensors are handed to one worker per core, largest
    /// first: the biggest pass starts at once and the small ones fill the gaps at the end. Each worker has its own
    /// <see cref="TensorDataReader"/> (readers are not shared by threads); all of them count into one
    /// <see cref="ReadProgress"/>, which is thread-safe.
    /// </summary>
    public static class TensorBatchAnalysis
    {
        /// <summary>
        /// Fills hash and/or statistics of every tensor in <paramref name="tensors"/>. The first failure (a damaged
        /// file, a cancellation) stops the other workers at their next tensor and is rethrown here.
        /// </summary>
        public static void AnalyzeAll(IReadOnlyList<CkptTensor> tensors, bool hash, bool statistics, ReadProgress? progress = null, int workers = 0)
        {
            progress ??= new ReadProgress();
            var order = tensors.Where(t => t.Tensor.HasData).OrderByDescending(t => t.Bytes).ToArray();
            if (workers <= 0) workers = Environment.ProcessorCount;
            workers = Math.Max(1, Math.Min(workers, order.Length));
            int next = -1;
            ExceptionDispatchInfo? failure = null;
            void Work()
            {
                try
                {
                    using var reader = new TensorDataReader(progress);
                    int i;
                    while (Volatile.Read(ref failure) == null && (i = Interlocked.Increment(ref next)) < order.Length)
                        TensorAnalysis.Analyze(order[i], reader, hash, statistics);
                }
                catch (Exception e) { Interlocked.CompareExchange(ref failure, ExceptionDispatchInfo.Capture(e), null); }
            }
            var threads = new Thread[workers - 1];
            for (int w = 0; w < threads.Length; w++)
            {
                threads[w] = new Thread(Work) { IsBackground = true, Name = "LightningCkpt analysis " + (w + 1) };
                threads[w].Start();
            }
            Work(); // the calling thread is one of the workers
            foreach (var th in threads) th.Join();
            failure?.Throw();
        }
    }
}

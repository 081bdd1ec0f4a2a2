using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.ExceptionServices;
using System.Threading;

namespace LightningCkpt.Data
{
    /// <summary>
    /// Hashes and statistics of many tensors on every core. SHA-256 of one tensor cannot be split, so whole tensors
    /// are handed to one worker per core, largest first (the biggest hash starts at once and the small ones fill the
    /// gaps at the end). Each worker has its own <see cref="TensorDataReader"/>; readers are not shared by threads.
    /// </summary>
    public static class TensorBatchAnalysis
    {
        /// <summary>
        /// Fills hash and/or statistics of every tensor in <paramref name="tensors"/>. <paramref name="done"/> is
        /// called on the calling thread after each tensor, in completion order (for progress). The first failure
        /// stops the batch and is rethrown here.
        /// </summary>
        public static void AnalyzeAll(Checkpoint checkpoint, IReadOnlyList<CkptTensor> tensors, bool hash, bool statistics,
            Action<CkptTensor>? done = null, int workers = 0)
        {
            var order = tensors.Where(t => t.Tensor.HasData).OrderByDescending(t => t.Bytes).ToArray();
            if (workers <= 0) workers = Environment.ProcessorCount;
            workers = Math.Max(1, Math.Min(workers, order.Length));
            if (workers == 1 || !hash)
            {
                // statistics alone already split large tensors over the cores; one reader keeps that simple
                using var reader = new TensorDataReader(checkpoint);
                foreach (var t in order)
                {
                    TensorAnalysis.Analyze(t, reader, hash, statistics);
                    done?.Invoke(t);
                }
                return;
            }

            int next = -1;
            ExceptionDispatchInfo? failure = null;
            using var finished = new BlockingCollection<CkptTensor>();
            var threads = new Thread[workers];
            int running = workers;
            for (int w = 0; w < workers; w++)
            {
                // dedicated threads: Analyze blocks on its own pool tasks, which blocked pool threads would starve
                threads[w] = new Thread(() =>
                {
                    try
                    {
                        using var reader = new TensorDataReader(checkpoint);
                        int i;
                        while (Volatile.Read(ref failure) == null && (i = Interlocked.Increment(ref next)) < order.Length)
                        {
                            TensorAnalysis.Analyze(order[i], reader, hash, statistics);
                            finished.Add(order[i]);
                        }
                    }
                    catch (Exception e) { Interlocked.CompareExchange(ref failure, ExceptionDispatchInfo.Capture(e), null); }
                    finally { if (Interlocked.Decrement(ref running) == 0) finished.CompleteAdding(); }
                }) { IsBackground = true, Name = "LightningCkpt analysis " + w };
                threads[w].Start();
            }
            try
            {
                foreach (var t in finished.GetConsumingEnumerable()) done?.Invoke(t);
            }
            catch (Exception e)
            {
                // the caller's callback failed (a stopped pipeline): stop the workers before leaving
                Interlocked.CompareExchange(ref failure, ExceptionDispatchInfo.Capture(e), null);
                foreach (var th in threads) th.Join();
                throw;
            }
            foreach (var th in threads) th.Join();
            failure?.Throw();
        }
    }
}

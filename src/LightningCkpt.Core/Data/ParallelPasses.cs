using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.ExceptionServices;
using System.Threading;

namespace LightningCkpt.Data
{
    /// <summary>
    /// Runs independent sequential passes over tensor bytes on one worker per core, in the order given (callers put
    /// the largest first: the longest pass starts at once and the small ones fill the gaps at the end). Each worker
    /// reads on its own thread into its own buffers with its own readers (readers are not shared by threads), so N
    /// cores run N passes, each reading and computing in turn, with no read-ahead thread competing for the cores.
    /// The first failure (a damaged file, a cancellation) stops the other workers at their next pass and is rethrown.
    /// </summary>
    internal static class ParallelPasses
    {
        /// <summary>One sequential pass: <see cref="Bytes"/> orders the passes, largest first.</summary>
        public abstract class Pass<TWorker>
        {
            public long Bytes { get; protected set; }
            public abstract void Run(TWorker worker);
        }

        /// <summary>
        /// Runs <paramref name="passes"/> largest first (a stable order: the ranges of one tensor stay next to each
        /// other, so the workers read neighbouring bytes); <paramref name="newWorker"/> gets whether there are fewer
        /// passes than cores, when a pass may read ahead on a core that would sit idle.
        /// </summary>
        public static void Run<TWorker>(IEnumerable<Pass<TWorker>> passes, int workers, Func<bool, TWorker> newWorker, string name)
            where TWorker : IDisposable
        {
            var order = passes.OrderByDescending(p => p.Bytes).ToArray();
            bool spareCores = order.Length < Environment.ProcessorCount;
            Run(order.Length, workers, () => newWorker(spareCores), (w, i) => order[i].Run(w), name);
        }

        private static void Run<TWorker>(int count, int workers, Func<TWorker> newWorker, Action<TWorker, int> run, string name)
            where TWorker : IDisposable
        {
            if (count == 0) return;
            if (workers <= 0) workers = Environment.ProcessorCount;
            workers = Math.Max(1, Math.Min(workers, count));
            int next = -1;
            ExceptionDispatchInfo? failure = null;
            void Work()
            {
                try
                {
                    using var worker = newWorker();
                    int i;
                    while (Volatile.Read(ref failure) == null && (i = Interlocked.Increment(ref next)) < count)
                        run(worker, i);
                }
                catch (Exception e) { Interlocked.CompareExchange(ref failure, ExceptionDispatchInfo.Capture(e), null); }
            }
            var threads = new Thread[workers - 1];
            for (int w = 0; w < threads.Length; w++)
            {
                threads[w] = new Thread(Work) { IsBackground = true, Name = $"LightningCkpt {name} {w + 1}" };
                threads[w].Start();
            }
            Work(); // the calling thread is one of the workers
            foreach (var th in threads) th.Join();
            failure?.Throw();
        }
    }
}

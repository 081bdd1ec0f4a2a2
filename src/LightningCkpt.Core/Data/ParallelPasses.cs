using System;
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
        public static void Run<TWorker>(int count, int workers, Func<TWorker> newWorker, Action<TWorker, int> run, string name)
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

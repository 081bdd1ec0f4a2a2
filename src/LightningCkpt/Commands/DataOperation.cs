using System;
using System.Collections.Concurrent;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using LightningCkpt.Data;

namespace LightningCkpt.Commands
{
    /// <summary>
    /// Runs a cmdlet's long data work (hashing, statistics, comparing, checking, writing) on a worker thread while
    /// the pipeline thread shows its progress in bytes and relays its warnings. StopProcessing (Ctrl+C) cancels the
    /// work, which stops within one read chunk (milliseconds), and the cmdlet ends with PipelineStoppedException.
    /// </summary>
    internal sealed class DataOperation : IDisposable
    {
        private const int PollMilliseconds = 50;
        private readonly CancellationTokenSource _cancel = new CancellationTokenSource();
        private readonly ConcurrentQueue<Action> _posted = new ConcurrentQueue<Action>();
        private readonly int _pipelineThread = Thread.CurrentThread.ManagedThreadId;
        private readonly ThrottledProgress _progress;

        public DataOperation(Cmdlet cmdlet, int activityId, string activity) => _progress = new ThrottledProgress(cmdlet, activityId, activity);

        /// <summary>Called from StopProcessing (another thread).</summary>
        public void Cancel() => _cancel.Cancel();

        /// <summary>Runs <paramref name="action"/> on the pipeline thread: now when called there, else at the next poll.</summary>
        public void Post(Action action)
        {
            if (Thread.CurrentThread.ManagedThreadId == _pipelineThread) action();
            else _posted.Enqueue(action);
        }

        /// <summary>
        /// Runs <paramref name="work"/> on a worker; while it runs, reports "<paramref name="status"/>: done of total"
        /// in bytes. Exceptions of the work are rethrown here, on the pipeline thread.
        /// </summary>
        public T Run<T>(string status, long totalBytes, Func<ReadProgress, T> work)
        {
            var progress = new ReadProgress(_cancel.Token);
            var task = Task.Run(() => work(progress));
            // Task.Wait would throw an AggregateException for a failed task; wait on its handle instead, so
            // GetResult below rethrows the work's own exception (CheckpointFormatException …) for the error mapping
            while (!((IAsyncResult)task).AsyncWaitHandle.WaitOne(PollMilliseconds))
            {
                Drain();
                long done = progress.Bytes;
                _progress.Report($"{status}: {Size(done)} of {Size(totalBytes)}", done, totalBytes);
            }
            Drain();
            try
            {
                return task.GetAwaiter().GetResult();
            }
            catch (OperationCanceledException) when (_cancel.IsCancellationRequested)
            {
                throw new PipelineStoppedException();
            }
        }

        public void Run(string status, long totalBytes, Action<ReadProgress> work) =>
            Run<bool>(status, totalBytes, p => { work(p); return true; });

        public void Complete() => _progress.Complete();

        private void Drain()
        {
            while (_posted.TryDequeue(out var a)) a();
        }

        private static string Size(long bytes) =>
            bytes >= 1L << 30 ? $"{bytes / (double)(1L << 30):0.00} GB" : $"{bytes / (double)(1 << 20):0.0} MB";

        public void Dispose() => _cancel.Dispose();
    }
}

using System.Threading;

namespace LightningCkpt.Data
{
    /// <summary>
    /// What a long data operation shares with whoever started it: the cancellation token, checked once per chunk
    /// (inside a tensor, not only between tensors), and the count of tensor bytes processed so far, which a cmdlet
    /// polls from its own thread to show progress in bytes. Thread-safe.
    /// </summary>
    public sealed class ReadProgress
    {
        private long _bytes;

        public ReadProgress(CancellationToken cancellation = default) => Cancellation = cancellation;

        /// <summary>A progress that is never cancelled and that nobody reads.</summary>
        public static ReadProgress None => new ReadProgress();

        public CancellationToken Cancellation { get; }

        /// <summary>Tensor bytes processed so far (logical bytes of the elements handed on).</summary>
        public long Bytes => Interlocked.Read(ref _bytes);

        /// <summary>Counts <paramref name="bytes"/> more and throws OperationCanceledException when cancelled.</summary>
        public void Advance(long bytes)
        {
            if (bytes != 0) Interlocked.Add(ref _bytes, bytes);
            Cancellation.ThrowIfCancellationRequested();
        }
    }
}

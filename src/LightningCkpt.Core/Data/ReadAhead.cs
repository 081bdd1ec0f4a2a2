using System;
using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using System.Threading;
using System.Threading.Tasks;

namespace LightningCkpt.Data
{
    /// <summary>
    /// Reads chunk i+1 on a worker while the caller processes chunk i: on two cores the read (a copy from the page
    /// cache or the disk) and the computation overlap. Chunks reach the caller in order. A slot is the set of
    /// buffers one chunk fills (one per tensor; two when comparing). The worker never outlives the call.
    /// </summary>
    internal static class ReadAhead
    {
        private const int InFlight = 2;

        private const int PoolMax = 12;
        private static readonly ConcurrentBag<byte[]> Pool = new ConcurrentBag<byte[]>();

        /// <summary>How many slots one run uses at once: the one being handled, and those read ahead.</summary>
        public const int Slots = InFlight + 1;

        /// <summary>
        /// Runs <paramref name="chunks"/> chunks through slots of <paramref name="buffersPerSlot"/> buffers of
        /// <see cref="Limits.ReadChunkBytes"/> bytes, pooled across calls (allocating 4 MB arrays per tensor would
        /// cost as much as reading them).
        /// </summary>
        public static void Run(long chunks, int buffersPerSlot, Action<long, byte[][]> fill, Action<long, byte[][]> consume, CancellationToken cancel)
        {
            var rented = new ConcurrentBag<byte[][]>();
            byte[][] NewSlot()
            {
                var slot = new byte[buffersPerSlot][];
                for (int i = 0; i < slot.Length; i++) slot[i] = Pool.TryTake(out var b) ? b : new byte[Limits.ReadChunkBytes];
                rented.Add(slot);
                return slot;
            }
            try { Pipeline(chunks, NewSlot, fill, consume, cancel); }
            finally
            {
                foreach (var slot in rented)
                    foreach (var b in slot)
                        if (Pool.Count < PoolMax) Pool.Add(b);
            }
        }

        /// <summary>
        /// The same through the caller's <see cref="Slots"/> slots, which it reuses from call to call: many inputs
        /// read at once (a merge) need buffers smaller than a read chunk, which the pool does not hold.
        /// </summary>
        public static void Run(long chunks, byte[][][] slots, Action<long, byte[][]> fill, Action<long, byte[][]> consume, CancellationToken cancel)
        {
            if (slots.Length < Slots) throw new ArgumentException($"{Slots} slots are needed", nameof(slots));
            int next = 0;
            Pipeline(chunks, () => slots[next++], fill, consume, cancel);
        }

        private static void Pipeline(long chunks, Func<byte[][]> newSlot, Action<long, byte[][]> fill, Action<long, byte[][]> consume, CancellationToken cancel)
        {
            if (chunks <= 1)
            {
                var slot = chunks == 1 ? newSlot() : Array.Empty<byte[]>();
                for (long i = 0; i < chunks; i++)
                {
                    cancel.ThrowIfCancellationRequested();
                    fill(i, slot);
                    consume(i, slot);
                }
                return;
            }
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            using var full = new BlockingCollection<(long index, byte[][] slot)>(InFlight);
            using var free = new BlockingCollection<byte[][]>(InFlight + 1);
            for (int i = 0; i < InFlight + 1; i++) free.Add(newSlot());
            var worker = Task.Run(() =>
            {
                try
                {
                    for (long i = 0; i < chunks; i++)
                    {
                        var slot = free.Take(stop.Token);
                        fill(i, slot);
                        full.Add((i, slot), stop.Token);
                    }
                }
                finally { full.CompleteAdding(); }
            });
            Exception? failure = null;
            try
            {
                foreach (var (index, slot) in full.GetConsumingEnumerable(stop.Token))
                {
                    consume(index, slot);
                    free.Add(slot);
                }
            }
            catch (Exception e) { failure = e; }
            if (failure != null) stop.Cancel();
            try { worker.GetAwaiter().GetResult(); }
            catch (OperationCanceledException) when (failure != null) { }
            catch (Exception) when (failure != null) { }
            if (failure != null) ExceptionDispatchInfo.Capture(failure).Throw();
        }
    }
}

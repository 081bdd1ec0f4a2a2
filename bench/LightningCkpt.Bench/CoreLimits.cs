using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;

namespace LightningCkpt.Bench
{
    /// <summary>
    /// The ceilings of the parallel read rows, measured in the same run on the same weight bytes: N threads (one per
    /// core) only reading them, and N threads only hashing them. Statistics + SHA-256 cannot beat the hashing alone
    /// (a tensor's SHA-256 is one sequential stream), statistics cannot beat the reading alone.
    /// </summary>
    public static class CoreLimits
    {
        /// <summary>Read and hash pieces: the size our workers read (<c>Limits.CachedPieceBytes</c>).</summary>
        private const int Piece = 256 << 10;

        /// <summary>Read jobs: each tensor's bytes cut into ranges of at most this, so one large tensor uses every core.</summary>
        private const long Range = 8 << 20;

        /// <summary>The file ranges (offset, length) of contiguous stored weights.</summary>
        public static List<(long offset, long length)> WeightRanges(IEnumerable<CkptTensor> weights)
        {
            var ranges = new List<(long, long)>();
            foreach (var w in weights)
            {
                if (w.StorageFileOffset < 0 || !w.IsContiguous || w.Numel == 0) throw new InvalidOperationException($"{w.Name} is not stored contiguously");
                ranges.Add((w.StorageFileOffset + w.StorageOffset * (w.Bytes / w.Numel), w.Bytes));
            }
            return ranges;
        }

        /// <summary>
        /// Reads every range with positional reads of <see cref="Piece"/> bytes on one thread per core, ranges cut
        /// to at most <see cref="Range"/> bytes and handed out largest first: the read ceiling of all cores.
        /// </summary>
        public static void ReadAllCores(string path, IReadOnlyList<(long offset, long length)> ranges)
        {
            var jobs = new List<(long offset, long length)>();
            foreach (var (offset, length) in ranges)
                for (long at = 0; at < length; at += Range) jobs.Add((offset + at, Math.Min(Range, length - at)));
            var order = jobs.OrderByDescending(j => j.length).ToArray();
            OnAllCores(order.Length, () =>
            {
                var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None);
                var buffer = new byte[Piece];
                return (fs, (Action<int>)(i =>
                {
                    var (offset, length) = order[i];
                    for (long at = 0; at < length; at += Piece)
                    {
                        fs.Position = offset + at;
                        int want = (int)Math.Min(Piece, length - at), got = 0, n;
                        while (got < want && (n = fs.Read(buffer, got, want - got)) > 0) got += n;
                    }
                }));
            });
        }

        /// <summary>
        /// The ranges' bytes in memory, largest first (read once, before any timing): what <see cref="HashAllCores"/> hashes.
        /// </summary>
        public static byte[][] LoadLargestFirst(string path, IEnumerable<(long offset, long length)> ranges)
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.None);
            return ranges.OrderByDescending(r => r.length).Select(r =>
            {
                var bytes = new byte[r.length];
                fs.Position = r.offset;
                int got = 0, n;
                while (got < bytes.Length && (n = fs.Read(bytes, got, bytes.Length - got)) > 0) got += n;
                return bytes;
            }).ToArray();
        }

        /// <summary>
        /// SHA-256 of each array in <see cref="Piece"/>-byte updates straight from memory, one array per job, one
        /// thread per core, largest first: the hashing ceiling of all cores (no read, no statistics).
        /// </summary>
        public static void HashAllCores(byte[][] largestFirst)
        {
            OnAllCores(largestFirst.Length, () =>
            {
                var sha = SHA256.Create();
                return (sha, (Action<int>)(i =>
                {
                    var bytes = largestFirst[i];
                    for (int at = 0; at < bytes.Length; at += Piece) sha.TransformBlock(bytes, at, Math.Min(Piece, bytes.Length - at), null, 0);
                    sha.TransformFinalBlock(Array.Empty<byte>(), 0, 0);
                }));
            });
        }

        /// <summary>Runs jobs 0 … count−1 in order on one new thread per core, each with its own state (disposed at the end).</summary>
        private static void OnAllCores(int count, Func<(IDisposable state, Action<int> run)> worker)
        {
            int next = -1;
            var threads = Enumerable.Range(0, Environment.ProcessorCount).Select(_ => new Thread(() =>
            {
                var (state, run) = worker();
                using (state)
                {
                    int i;
                    while ((i = Interlocked.Increment(ref next)) < count) run(i);
                }
            })).ToArray();
            foreach (var t in threads) t.Start();
            foreach (var t in threads) t.Join();
        }
    }
}

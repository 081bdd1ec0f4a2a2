using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using LightningCkpt.Remote;

namespace LightningCkpt.Container.Sharded
{
    /// <summary>
    /// The files beside a remote index or .metadata: each is the URL of its name resolved against the marker's URL,
    /// with the marker's query (a folder-wide SAS or signature reaches them too), opened through the call's session
    /// (identity recorded by the first range, every later range conditional on it). A URL prefix cannot be listed.
    /// </summary>
    internal sealed class RemoteShardFolder : ShardFolder
    {
        private readonly RemoteSession _session;
        private readonly Uri _marker;

        /// <param name="session">The call's session: objects opened once, requests counted.</param>
        /// <param name="url">The index's or .metadata's URL as given (credentials included: they are never shown).</param>
        public RemoteShardFolder(RemoteSession session, string url)
        {
            _session = session;
            _marker = RemoteUrl.Parse(url);
            Location = RemoteUrl.Redact(_marker);
        }

        public override string Location { get; }

        protected override string Combine(string name) => RemoteUrl.Redact(UrlOf(name));

        /// <summary>The URL of <paramref name="name"/> beside the marker, with the marker's query.</summary>
        private Uri UrlOf(string name)
        {
            if (name.IndexOf(':') >= 0 || name.IndexOf('?') >= 0 || name.IndexOf('#') >= 0)
                throw new CheckpointFormatException(Location, "file names", $"'{name}' is not a plain file name beside {RemoteUrl.NameOf(_marker)}");
            var escaped = string.Join("/", name.Replace('\\', '/').Split('/').Select(Uri.EscapeDataString));
            return new UriBuilder(new Uri(_marker, escaped)) { Query = _marker.Query.TrimStart('?') }.Uri;
        }

        /// <summary>
        /// Bytes fetched ahead at each end of an item (and what a data file's opening request asks for): a torch.save
        /// archive's local header and data.pkl at its start, its central directory and end records at its end.
        /// </summary>
        internal const int ItemEndBytes = RemoteObject.SmallBlockBytes;

        /// <summary>Requests in flight while prefetching.</summary>
        private const int PrefetchInFlight = 8;

        /// <param name="name">A file beside the marker.</param>
        /// <param name="headBytes">What the opening request fetches: a whole small file (meta.pt), or a data file's first item end.</param>
        private RemoteObject? TryOpen(string name, int headBytes = ItemEndBytes)
        {
            try
            {
                return _session.Open(UrlOf(name).AbsoluteUri, headBytes);
            }
            catch (RemoteSourceException e) when (e.Problem == RemoteProblem.NotFound)
            {
                return null;
            }
        }

        public override bool Has(string name) => TryOpen(name, RemoteObject.BlockBytes) != null;

        public override byte[] ReadAll(string name, long maxBytes, string what, out SourceFile source)
        {
            var o = _session.Open(UrlOf(name).AbsoluteUri);
            if (o.Length > maxBytes) throw CheckedFile.TooLarge(o.DisplayUrl, o.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), maxBytes, what);
            source = new SourceFile(o);
            var bytes = new byte[o.Length];
            o.ReadAt(0, bytes, 0, bytes.Length); // every range after the first is conditional on its identity
            return bytes;
        }

        public override Stream? OpenData(string name, out SourceFile source)
        {
            source = null!;
            var o = TryOpen(name);
            if (o == null) return null;
            source = new SourceFile(o);
            return source.OpenForData();
        }

        public override IReadOnlyList<KeyValuePair<string, long>>? List(string suffix) => null;

        /// <summary>
        /// Opens the files and fetches both ends of every item, <see cref="PrefetchInFlight"/> requests at a time, the
        /// ends of neighbouring items merged into one range, so the parse that follows finds its bytes cached instead
        /// of asking for them one after another. Failures are left to that parse, which reports them where they belong.
        /// </summary>
        public override void Prefetch(IEnumerable<KeyValuePair<string, (long Offset, long Length)>> items)
        {
            var byFile = items.GroupBy(i => i.Key, StringComparer.Ordinal).ToList();
            var parallel = new System.Threading.Tasks.ParallelOptions { MaxDegreeOfParallelism = PrefetchInFlight, CancellationToken = _session.Stopping };
            var opened = new System.Collections.Concurrent.ConcurrentDictionary<string, RemoteObject>(StringComparer.Ordinal);
            try
            {
                System.Threading.Tasks.Parallel.ForEach(byFile, parallel, g => Quietly(() =>
                {
                    if (TryOpen(g.Key) is { } o) opened[g.Key] = o;
                }));
                var ranges = byFile.Where(g => opened.ContainsKey(g.Key))
                    .SelectMany(g => EndRanges(g.Select(i => i.Value)).Select(r => (Object: opened[g.Key], r.Start, r.End)))
                    .ToList();
                System.Threading.Tasks.Parallel.ForEach(ranges, parallel, r => Quietly(() => r.Object.Warm(r.Start, (int)(r.End - r.Start))));
            }
            catch (OperationCanceledException) { } // Ctrl+C: the parse stops on the same token
        }

        /// <summary>The first and last <see cref="ItemEndBytes"/> of each item, overlapping or touching ranges merged.</summary>
        internal static List<(long Start, long End)> EndRanges(IEnumerable<(long Offset, long Length)> items)
        {
            var ends = new List<(long Start, long End)>();
            foreach (var (offset, length) in items)
            {
                if (offset < 0 || length <= 0) continue;
                long end = offset + length;
                ends.Add((offset, Math.Min(end, offset + ItemEndBytes)));
                ends.Add((Math.Max(offset, end - ItemEndBytes), end));
            }
            ends.Sort((a, b) => a.Start.CompareTo(b.Start));
            var merged = new List<(long Start, long End)>();
            foreach (var r in ends)
            {
                if (merged.Count > 0 && r.Start <= merged[merged.Count - 1].End)
                    merged[merged.Count - 1] = (merged[merged.Count - 1].Start, Math.Max(merged[merged.Count - 1].End, r.End));
                else merged.Add(r);
            }
            return merged;
        }

        private static void Quietly(Action fetch)
        {
            // any failure here (a status, a timeout, Ctrl+C, bytes outside the object) comes again from the parse's own read
            try { fetch(); }
            catch (Exception e) when (!(e is OutOfMemoryException)) { }
        }

        public override Checkpoint OpenPart(string name, string what) => Checkpoint.Open(UrlOf(name).AbsoluteUri, _session);
    }
}

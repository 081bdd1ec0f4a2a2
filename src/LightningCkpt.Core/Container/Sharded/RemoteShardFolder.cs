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

        private RemoteObject? TryOpen(string name)
        {
            try
            {
                return _session.Open(UrlOf(name).AbsoluteUri);
            }
            catch (RemoteSourceException e) when (e.Problem == RemoteProblem.NotFound)
            {
                return null;
            }
        }

        public override bool Has(string name) => TryOpen(name) != null;

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

        public override Checkpoint OpenPart(string name, string what) => Checkpoint.Open(UrlOf(name).AbsoluteUri, _session);
    }
}

using System;
using System.Collections.Generic;
using System.Net.Http;
using System.Threading;

namespace LightningCkpt.Remote
{
    /// <summary>
    /// One cmdlet call's access to remote objects: the options, the objects opened so far (a URL opened twice in a
    /// call, as Select-CkptWeights does, reuses its identity and metadata bytes) and the counts of requests and bytes.
    /// Requests go through one process-wide HttpClient (the platform's handler: the system trust store and the
    /// environment's proxy), which outlives every session: tensors imported by one call may be read by a later one.
    /// </summary>
    public sealed class RemoteSession
    {
        // redirects are followed by RemoteObject (credentials stay with the host they were given for); bodies must
        // arrive as stored (a compressed range is not the object's bytes); timeouts are per request (RemoteOptions)
        private static readonly HttpClient Shared = new HttpClient(
            new HttpClientHandler { AllowAutoRedirect = false, AutomaticDecompression = System.Net.DecompressionMethods.None, UseProxy = true })
        { Timeout = System.Threading.Timeout.InfiniteTimeSpan };

        private readonly Dictionary<string, RemoteObject> _objects = new Dictionary<string, RemoteObject>(StringComparer.Ordinal);
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private long _requests, _bytes;

        public RemoteSession(RemoteOptions? options = null) => Options = options ?? new RemoteOptions();

        public RemoteOptions Options { get; }

        internal HttpClient Client => Shared;

        /// <summary>Cancelled by <see cref="Cancel"/> (Ctrl+C): requests in flight stop.</summary>
        public CancellationToken Stopping => _stop.Token;

        /// <summary>HTTP requests sent (redirects and retries included).</summary>
        public long Requests => Interlocked.Read(ref _requests);

        /// <summary>Body bytes received.</summary>
        public long BytesReceived => Interlocked.Read(ref _bytes);

        /// <summary>Called per request by the objects (a verbose line or a test may read the counts).</summary>
        public Action<string>? Log { get; set; }

        internal void CountRequest() => Interlocked.Increment(ref _requests);
        internal void CountBytes(long n) => Interlocked.Add(ref _bytes, n);

        /// <summary>
        /// The object at <paramref name="url"/>, opened (identity recorded, the first <paramref name="headBytes"/>
        /// bytes cached) on first use in this session.
        /// </summary>
        public RemoteObject Open(string url, int headBytes = RemoteObject.BlockBytes)
        {
            lock (_objects)
                if (_objects.TryGetValue(url, out var known)) return known;
            var opened = RemoteObject.Open(this, RemoteUrl.Parse(url), headBytes);
            lock (_objects)
            {
                if (_objects.TryGetValue(url, out var raced)) return raced;
                _objects[url] = opened;
            }
            return opened;
        }

        /// <summary>Ctrl+C: every request of this session in flight or to come stops.</summary>
        public void Cancel()
        {
            _stop.Cancel();
        }

    }
}

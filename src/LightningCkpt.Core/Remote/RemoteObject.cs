using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Threading;
using System.Threading.Tasks;

namespace LightningCkpt.Remote
{
    /// <summary>
    /// One object behind an http(s) URL read by byte ranges: its identity (length, ETag, Last-Modified) is recorded
    /// by the first request (the head: format magic, torch's data.pkl, a safetensors header) and every later range is conditional on it (If-Match, else If-Unmodified-Since) and
    /// checked against it (Content-Range length, ETag), so an object replaced mid-read gives ChangedWhileReading,
    /// never mixed bytes. Small reads (the container's metadata) are served from cached blocks; reads of
    /// <see cref="DirectBytes"/> or more (tensor data) go straight into the caller's buffer. Thread-safe.
    /// </summary>
    public sealed class RemoteObject
    {
        /// <summary>
        /// What the first read near the end fetches: the zip end records and, for most checkpoints, the whole central
        /// directory. (Fetched by an explicit range once the length is known: Azure Blob rejects suffix ranges.)
        /// </summary>
        public const int TailBytes = 64 << 10;

        /// <summary>Smallest block a miss in the file's head fetches (the head holds torch's data.pkl, written first).</summary>
        public const int BlockBytes = 64 << 10;

        /// <summary>
        /// Smallest block a miss elsewhere fetches (a zip local header and the start of its data); misses that
        /// continue the previous one double it up to <see cref="MaxBlockBytes"/>, so a sequential scan (legacy
        /// pickles) takes a few requests, not one per read.
        /// </summary>
        public const int SmallBlockBytes = 4 << 10;

        public const int MaxBlockBytes = 4 << 20;

        /// <summary>Reads this large are data: fetched exactly, into the caller's buffer, not cached.</summary>
        public const int DirectBytes = 256 << 10;

        /// <summary>A server that ignores Range is tolerated for objects up to this size (read whole, once).</summary>
        public const int WholeBodyLimit = 1 << 20;

        /// <summary>Cached metadata bytes kept per object.</summary>
        private const long CacheBudget = 64L << 20;

        private const int MaxRedirects = 10;

        private readonly RemoteSession _session;
        private readonly Uri _requested;
        private Uri _resolved;
        private readonly List<Segment> _cache = new List<Segment>();
        private long _cached;
        private long _lastMissEnd = -1;
        private int _lastBlock;

        private RemoteObject(RemoteSession session, Uri uri)
        {
            _session = session;
            _requested = uri;
            _resolved = uri;
            DisplayUrl = RemoteUrl.Redact(uri);
            Name = RemoteUrl.NameOf(uri);
            Token = session.Options.Token ?? RemoteOptions.EnvironmentTokenFor(uri);
            TokenSource = session.Options.Token != null ? session.Options.TokenSource ?? "-Token" : Token != null ? "HF_TOKEN" : null;
        }

        /// <summary>The URL as given, credentials included: to open it again, never to show.</summary>
        internal string Url => _requested.OriginalString;

        /// <summary>The URL as it may be shown (no query values, no user info).</summary>
        public string DisplayUrl { get; }

        public string Name { get; }

        public long Length { get; private set; }

        /// <summary>The entity tag as the server sent it (null when none).</summary>
        public string? ETag { get; private set; }

        public DateTimeOffset? LastModified { get; private set; }

        private string? Token { get; }
        private string? TokenSource { get; }

        private bool StrongETag => ETag != null && !ETag.StartsWith("W/", StringComparison.Ordinal);

        public override string ToString() =>
            $"{DisplayUrl}, {Length} bytes" + (ETag != null ? $", ETag {ETag}" : "") + (LastModified is { } lm ? $", modified {lm:O}" : "");

        /// <summary>
        /// Opens the object with one range request for its head: identity, length and the first
        /// <paramref name="headBytes"/> bytes (a shard whose metadata ranges are known asks for less than a file's head).
        /// </summary>
        internal static RemoteObject Open(RemoteSession session, Uri uri, int headBytes = BlockBytes)
        {
            var o = new RemoteObject(session, uri);
            Run(() => o.OpenAsync(Math.Max(1, headBytes), session.Stopping));
            return o;
        }

        /// <summary>
        /// Brings bytes [<paramref name="offset"/>, +<paramref name="count"/>) (clipped to the object) into the metadata
        /// cache with one conditional range, unless they are there already: what a reader that knows its metadata
        /// ranges (DCP items) asks for ahead, several objects at once.
        /// </summary>
        internal void Warm(long offset, int count)
        {
            long end = Math.Min(Length, offset + (long)count);
            if (offset < 0) return;
            // only what is missing: cached bytes at either end (a file's opening head) are not asked for again
            lock (_cache)
            {
                for (bool moved = true; offset < end && moved;)
                {
                    moved = false;
                    foreach (var s in _cache)
                    {
                        if (offset >= s.Start && offset < s.End) { offset = s.End; moved = true; }
                        if (end > s.Start && end <= s.End && offset < end) { end = Math.Max(offset, s.Start); moved = true; }
                    }
                }
            }
            if (offset >= end) return;
            var block = new byte[end - offset];
            Fetch(offset, block, 0, block.Length);
            AddToCache(offset, block);
        }

        /// <summary>
        /// Bytes [<paramref name="offset"/>, +<paramref name="count"/>) into <paramref name="dst"/>. A small read that
        /// misses the cache fetches at least <see cref="BlockBytes"/>, but never past <paramref name="spanEnd"/> when
        /// one is given (the end of the storage a data read belongs to).
        /// </summary>
        public void ReadAt(long offset, byte[] dst, int at, int count, long spanEnd = -1)
        {
            if (offset < 0 || count < 0 || offset > Length - count)
                throw new CheckpointFormatException(DisplayUrl, "file", $"{count} bytes at {offset} lie outside the {Length}-byte object") { Defect = CheckpointDefect.Truncated };
            while (count > 0)
            {
                int n = CopyFromCache(offset, dst, at, count);
                if (n == 0)
                {
                    if (count >= DirectBytes)
                    {
                        Fetch(offset, dst, at, count);
                        return;
                    }
                    long start = offset;
                    long end = Math.Min(Length, offset + Math.Max(count, NextBlock(offset)));
                    if (spanEnd > 0) end = Math.Min(end, Math.Max(offset + count, spanEnd));
                    end = Math.Min(end, Math.Max(offset + count, NextCachedStart(offset)));
                    if (spanEnd <= 0 && offset >= Length - TailBytes && NextCachedStart(offset) == Length)
                    {
                        // the end records: the whole tail in one request (a zip reader reads backwards from here)
                        start = Math.Max(CachedEndBefore(offset), Length - TailBytes);
                        end = Length;
                    }
                    var block = new byte[end - start];
                    Fetch(start, block, 0, block.Length);
                    AddToCache(start, block);
                    lock (_cache)
                    {
                        _lastMissEnd = end;
                        _lastBlock = block.Length;
                    }
                    continue;
                }
                offset += n;
                at += n;
                count -= n;
            }
        }

        private int NextBlock(long offset)
        {
            lock (_cache)
            {
                if (offset == _lastMissEnd) return (int)Math.Min(MaxBlockBytes, Math.Max(SmallBlockBytes, (long)_lastBlock * 2));
                return offset < BlockBytes ? BlockBytes : SmallBlockBytes;
            }
        }

        /// <summary>Fetches a fresh range (not cached): used by read-ahead.</summary>
        internal byte[] FetchNew(long offset, int count, CancellationToken cancel)
        {
            var b = new byte[count];
            using var both = CancellationTokenSource.CreateLinkedTokenSource(cancel, _session.Stopping);
            Run(() => FetchAsync(offset, b, 0, count, both.Token));
            return b;
        }

        private void Fetch(long offset, byte[] dst, int at, int count) => Run(() => FetchAsync(offset, dst, at, count, _session.Stopping));

        /// <summary>Waits for async work from a synchronous reader (on the pool: no context to deadlock on).</summary>
        private static void Run(Func<Task> work) => Task.Run(work).GetAwaiter().GetResult();

        // ---- cache ----

        private sealed class Segment
        {
            public Segment(long start, byte[] data) { Start = start; Data = data; }
            public long Start { get; }
            public byte[] Data { get; }
            public long End => Start + Data.Length;
        }

        private int CopyFromCache(long offset, byte[] dst, int at, int count)
        {
            lock (_cache)
            {
                foreach (var s in _cache)
                {
                    if (offset < s.Start || offset >= s.End) continue;
                    int n = (int)Math.Min(count, s.End - offset);
                    Buffer.BlockCopy(s.Data, (int)(offset - s.Start), dst, at, n);
                    return n;
                }
            }
            return 0;
        }

        private long NextCachedStart(long offset)
        {
            lock (_cache)
            {
                long next = Length;
                foreach (var s in _cache) if (s.Start > offset && s.Start < next) next = s.Start;
                return next;
            }
        }

        /// <summary>The end of the cached bytes nearest below <paramref name="offset"/> (0 when none).</summary>
        private long CachedEndBefore(long offset)
        {
            lock (_cache)
            {
                long end = 0;
                foreach (var s in _cache) if (s.End <= offset && s.End > end) end = s.End;
                return end;
            }
        }

        private void AddToCache(long start, byte[] data)
        {
            lock (_cache)
            {
                _cache.Add(new Segment(start, data));
                _cached += data.Length;
                // the oldest blocks go first; the newest always stays, so a read in progress finds its bytes
                while (_cached > CacheBudget && _cache.Count > 1)
                {
                    _cached -= _cache[0].Data.Length;
                    _cache.RemoveAt(0);
                }
            }
        }

        // ---- HTTP ----

        private Task OpenAsync(int headBytes, CancellationToken cancel) =>
            RequestAsync(() => r => r.Headers.Range = new RangeHeaderValue(0, headBytes - 1), conditional: false, async (resp, token) =>
            {
                if (resp.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && resp.Content.Headers.ContentRange?.Length == 0) // an empty object
                {
                    RecordIdentity(resp, 0);
                    return true;
                }
                if (resp.StatusCode == HttpStatusCode.OK)
                {
                    // a server without ranges: a small object is read whole, once; a large one is refused unread
                    long? whole = resp.Content.Headers.ContentLength;
                    if (whole is null || whole > WholeBodyLimit) throw RangeIgnored(whole);
                    var body = new byte[whole.Value];
                    int got = await ReadBodyAsync(resp, body, 0, body.Length, token).ConfigureAwait(false);
                    if (got != body.Length) throw new IOException($"the connection ended after {got} of {body.Length} bytes");
                    RecordIdentity(resp, body.Length);
                    AddToCache(0, body);
                    return true;
                }
                if (resp.StatusCode != HttpStatusCode.PartialContent) throw StatusError(resp);
                var range = resp.Content.Headers.ContentRange;
                if (range?.From is null || range.To is null || range.Length is null)
                    throw new RemoteSourceException(DisplayUrl, RemoteProblem.RequestFailed, "the server's partial answer has no usable Content-Range header", 206);
                if (range.From != 0) throw new RemoteSourceException(DisplayUrl, RemoteProblem.RequestFailed, $"asked for the first bytes, the server answered {range}", 206);
                RecordIdentity(resp, range.Length.Value);
                var head = new byte[range.To.Value + 1];
                int n = await ReadBodyAsync(resp, head, 0, head.Length, token).ConfigureAwait(false);
                if (n != head.Length) throw new IOException($"the connection ended after {n} of {head.Length} bytes");
                AddToCache(0, head);
                return true;
            }, cancel);

        private void RecordIdentity(HttpResponseMessage resp, long length)
        {
            Length = length;
            ETag = resp.Headers.ETag?.ToString();
            LastModified = resp.Content.Headers.LastModified;
        }

        /// <summary>One range, conditional on the identity, retried from where it stopped after a drop, 429 or 5xx.</summary>
        private Task FetchAsync(long offset, byte[] dst, int at, int count, CancellationToken cancel)
        {
            int got = 0;
            long to = offset + count - 1;
            return RequestAsync(() => r => r.Headers.Range = new RangeHeaderValue(offset + got, to), conditional: true, async (resp, token) =>
            {
                long from = offset + got;
                if (resp.StatusCode == HttpStatusCode.PreconditionFailed) throw Changed("the server says the object no longer matches the version opened (412)");
                if (resp.StatusCode == HttpStatusCode.OK) throw RangeIgnored(resp.Content.Headers.ContentLength);
                if (resp.StatusCode != HttpStatusCode.PartialContent) throw StatusError(resp);
                var range = resp.Content.Headers.ContentRange;
                if (range?.Length is long total && total != Length) throw Changed($"its length is now {total} bytes, not {Length}");
                var etag = resp.Headers.ETag?.ToString();
                if (ETag != null && etag != null && !SameTag(etag, ETag)) throw Changed($"its ETag is now {etag}, not {ETag}");
                if (range?.From != from)
                    throw new RemoteSourceException(DisplayUrl, RemoteProblem.RequestFailed, $"asked for bytes {from}-{to}, the server answered {range?.ToString() ?? "without Content-Range"}", 206);
                int want = (int)(Math.Min(to, range.To ?? to) - from + 1);
                int n = await ReadBodyAsync(resp, dst, at + got, want, token).ConfigureAwait(false);
                got += n;
                if (got == count) return true;
                // nothing arrived: a dropped connection (retried with backoff); some arrived: ask for the rest at once
                if (n == 0) throw new IOException($"the connection ended after {got} of {count} bytes");
                _session.Log?.Invoke($"{DisplayUrl}: the answer ended after {got} of {count} bytes at {offset}; asking for the rest");
                return false;
            }, cancel);
        }

        /// <summary>
        /// Sends the request <paramref name="request"/> describes (asked again for each attempt) until
        /// <paramref name="answer"/> has what it needs (true; false: progress, ask again with a fresh retry budget).
        /// 429/5xx answers and dropped connections are retried with backoff, at most <see cref="RemoteOptions.MaxAttempts"/>
        /// times in a row; each attempt has the whole timeout for its answer and body.
        /// </summary>
        private async Task RequestAsync(Func<Action<HttpRequestMessage>> request, bool conditional, Func<HttpResponseMessage, CancellationToken, Task<bool>> answer, CancellationToken cancel)
        {
            for (int attempt = 1; ; attempt++)
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancel);
                cts.CancelAfter(_session.Options.Timeout);
                HttpResponseMessage? resp = null;
                try
                {
                    resp = await SendAsync(request(), conditional, cts.Token).ConfigureAwait(false);
                    using var registration = cts.Token.Register(() => resp.Dispose());
                    if (Retryable(resp.StatusCode) && attempt < _session.Options.MaxAttempts)
                    {
                        await BackoffAsync(attempt, resp, cancel).ConfigureAwait(false);
                        continue;
                    }
                    if (await answer(resp, cts.Token).ConfigureAwait(false)) return;
                    attempt = 0;
                }
                catch (Exception e) when (IsTimeout(e, cts, cancel)) { throw Timeout(e); }
                catch (Exception e) when (IsDropped(e) && attempt < _session.Options.MaxAttempts)
                {
                    _session.Log?.Invoke($"{DisplayUrl}: {e.Message}; retrying");
                    await BackoffAsync(attempt, null, cancel).ConfigureAwait(false);
                }
                catch (Exception e) when (IsDropped(e)) { throw Failed(e); }
                finally { resp?.Dispose(); }
            }
        }

        private static bool SameTag(string a, string b) =>
            string.Equals(a.StartsWith("W/", StringComparison.Ordinal) ? a.Substring(2) : a, b.StartsWith("W/", StringComparison.Ordinal) ? b.Substring(2) : b, StringComparison.Ordinal);

        /// <summary>Sends one GET, following redirects itself: the token and headers go only to the host the URL names.</summary>
        private async Task<HttpResponseMessage> SendAsync(Action<HttpRequestMessage> range, bool conditional, CancellationToken cancel)
        {
            var uri = _resolved;
            for (int hop = 0; ; hop++)
            {
                using var req = new HttpRequestMessage(HttpMethod.Get, uri);
                range(req);
                req.Headers.TryAddWithoutValidation("Accept-Encoding", "identity");
                if (conditional)
                {
                    if (StrongETag) req.Headers.TryAddWithoutValidation("If-Match", ETag);
                    else if (LastModified is { } lm) req.Headers.IfUnmodifiedSince = lm;
                }
                if (SameOrigin(uri, _requested))
                {
                    foreach (var h in _session.Options.Headers)
                        if (!req.Headers.TryAddWithoutValidation(h.Key, h.Value)) throw new ArgumentException($"the header '{h.Key}' cannot be set on a request");
                    if (Token != null) req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
                }
                _session.CountRequest();
                _session.Log?.Invoke($"GET {RemoteUrl.Redact(uri)} {req.Headers.Range}");
                var resp = await _session.Client.SendAsync(req, HttpCompletionOption.ResponseHeadersRead, cancel).ConfigureAwait(false);
                int status = (int)resp.StatusCode;
                if (status is 301 or 302 or 303 or 307 or 308 && resp.Headers.Location is { } location)
                {
                    resp.Dispose();
                    if (hop >= MaxRedirects) throw new RemoteSourceException(DisplayUrl, RemoteProblem.RequestFailed, $"more than {MaxRedirects} redirects", status);
                    uri = location.IsAbsoluteUri ? location : new Uri(uri, location);
                    if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
                        throw new RemoteSourceException(DisplayUrl, RemoteProblem.RequestFailed, $"redirected to a {uri.Scheme}: URL", status);
                    continue;
                }
                // later ranges go straight to where the redirects led (the hub's CDN), as long as that keeps working
                if (resp.IsSuccessStatusCode) _resolved = uri;
                return resp;
            }
        }

        private static bool SameOrigin(Uri a, Uri b) =>
            a.Scheme == b.Scheme && string.Equals(a.Host, b.Host, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;

        private async Task<int> ReadBodyAsync(HttpResponseMessage resp, byte[] dst, int at, int count, CancellationToken cancel)
        {
            using var body = await resp.Content.ReadAsStreamAsync().ConfigureAwait(false);
            int got = 0;
            try
            {
                while (got < count)
                {
                    int n = await body.ReadAsync(dst, at + got, count - got, cancel).ConfigureAwait(false);
                    if (n <= 0) break;
                    got += n;
                    _session.CountBytes(n);
                }
            }
            catch (Exception e) when (got > 0 && IsDropped(e) && !cancel.IsCancellationRequested)
            {
                // a connection dropped mid-range: keep what arrived, the caller asks for the rest
            }
            return got;
        }

        private static bool Retryable(HttpStatusCode s) => (int)s == 429 || (int)s >= 500 && (int)s != 501 && (int)s != 505;

        private async Task BackoffAsync(int attempt, HttpResponseMessage? resp, CancellationToken cancel)
        {
            var o = _session.Options;
            var wait = TimeSpan.FromTicks(o.FirstBackoff.Ticks << Math.Min(attempt - 1, 16));
            var retryAfter = resp?.Headers.RetryAfter;
            if (retryAfter?.Delta is { } d) wait = d;
            else if (retryAfter?.Date is { } date) wait = date - DateTimeOffset.UtcNow;
            if (wait > o.MaxBackoff) wait = o.MaxBackoff;
            if (wait < TimeSpan.Zero) wait = TimeSpan.Zero;
            if (resp != null) _session.Log?.Invoke($"{DisplayUrl}: {(int)resp.StatusCode} {resp.ReasonPhrase}; retrying in {wait.TotalSeconds:0.##} s");
            await Task.Delay(wait, cancel).ConfigureAwait(false);
        }

        private static bool IsDropped(Exception e) => e is HttpRequestException || e is IOException && !(e is RemoteSourceException) || e is ObjectDisposedException;

        private static bool IsTimeout(Exception e, CancellationTokenSource attempt, CancellationToken caller) =>
            (e is OperationCanceledException || e is ObjectDisposedException || e is IOException || e is HttpRequestException)
            && attempt.IsCancellationRequested && !caller.IsCancellationRequested;

        private Exception Timeout(Exception e) =>
            new RemoteSourceException(DisplayUrl, RemoteProblem.Timeout, $"no complete answer within {_session.Options.Timeout.TotalSeconds:0.##} s (-TimeoutSec)", 0, e);

        private Exception Failed(Exception e) =>
            new RemoteSourceException(DisplayUrl, RemoteProblem.RequestFailed, $"the request failed after {_session.Options.MaxAttempts} attempts: {e.Message}", 0, e);

        private Exception RangeIgnored(long? length) =>
            new RemoteSourceException(DisplayUrl, RemoteProblem.RangeNotSupported,
                $"the server ignores byte ranges (it answered a range request with the whole {(length is long l ? l + "-byte " : "")}object); the transfer was stopped unread. Download the file and read it locally", 200);

        private CheckpointFormatException Changed(string why) =>
            new CheckpointFormatException(DisplayUrl, "file", $"the remote object changed while it was being read ({why}); open it again to read the new version") { Defect = CheckpointDefect.ChangedWhileReading };

        private Exception StatusError(HttpResponseMessage resp)
        {
            int status = (int)resp.StatusCode;
            string credential = TokenSource != null ? $"the token from {TokenSource}" : _requested.Query.Length > 1 ? "the URL's signature (presigned or SAS query)" : null!;
            return status switch
            {
                401 => new RemoteSourceException(DisplayUrl, RemoteProblem.Unauthorized, TokenSource != null
                    ? $"401 Unauthorized: the server refused {credential}"
                    : "401 Unauthorized: the server wants credentials; pass -Token (HF_TOKEN is used for huggingface.co), -Headers @{ Authorization = … } or a presigned URL", status),
                403 => new RemoteSourceException(DisplayUrl, RemoteProblem.Forbidden, credential != null
                    ? $"403 Forbidden: the server refused {credential} (wrong, expired or without read access)"
                    : "403 Forbidden: no credential was sent; pass -Token, -Headers or a presigned URL with read access", status),
                404 or 410 => new RemoteSourceException(DisplayUrl, RemoteProblem.NotFound, $"{status} {resp.ReasonPhrase}: there is no object at this URL", status),
                _ => new RemoteSourceException(DisplayUrl, RemoteProblem.RequestFailed, $"the server answered {status} {resp.ReasonPhrase}", status),
            };
        }
    }
}

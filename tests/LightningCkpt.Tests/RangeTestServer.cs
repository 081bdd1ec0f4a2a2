using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// A small HTTP/1.1 object server on a random loopback port for the range reader's tests: it answers ranges
    /// (206, Content-Range, ETag, Last-Modified, If-Match → 412) like a real object store, and injects the faults
    /// real ones show: ignoring Range, dropping a connection mid-range, 503/429 before answering, a replaced
    /// object, slow answers, 401 without a token, redirects. Every request is recorded.
    /// </summary>
    internal sealed class RangeTestServer : IDisposable
    {
        private readonly HttpListener _listener = new HttpListener();
        private readonly CancellationTokenSource _stop = new CancellationTokenSource();
        private readonly Task _loop;
        private byte[] _content;
        private int _version = 1;

        /// <summary>The version of each object of a served folder that was replaced (the others are version 1).</summary>
        private readonly ConcurrentDictionary<string, int> _objectVersions = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);

        /// <summary>Objects by URL path when the server serves a folder (null: one object at every path).</summary>
        private readonly ConcurrentDictionary<string, byte[]>? _objects;

        /// <summary>Serves every file of <paramref name="dir"/> (top level) at <paramref name="prefix"/> + its name; other paths are 404.</summary>
        public RangeTestServer(string dir, string prefix) : this(Array.Empty<byte>())
        {
            _objects = new ConcurrentDictionary<string, byte[]>(StringComparer.Ordinal);
            foreach (var f in System.IO.Directory.GetFiles(dir)) _objects[prefix + System.IO.Path.GetFileName(f)] = System.IO.File.ReadAllBytes(f);
        }

        public RangeTestServer(byte[] content)
        {
            _content = content;
            for (int attempt = 0; ; attempt++)
            {
                Port = FreePort();
                _listener.Prefixes.Clear();
                _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
                _listener.Prefixes.Add($"http://localhost:{Port}/"); // another host name for the same server: redirects across hosts
                try { _listener.Start(); break; }
                catch (HttpListenerException) when (attempt < 10) { }
            }
            _loop = Task.Run(Loop);
        }

        public int Port { get; }
        public string Url(string path = "/ckpt/last.ckpt") => $"http://127.0.0.1:{Port}{path}";

        /// <summary>Answer Range requests with 200 and the whole object.</summary>
        public volatile bool IgnoreRange;

        /// <summary>Never answer 412 (a server without conditional requests); the reader must still notice a change.</summary>
        public volatile bool IgnoreConditions;

        /// <summary>Omit the ETag (then If-Unmodified-Since is the condition).</summary>
        public volatile bool NoETag;

        /// <summary>The next answers' statuses before a real one (503, 429 …).</summary>
        public readonly ConcurrentQueue<int> Failures = new ConcurrentQueue<int>();

        /// <summary>The next N range answers send this many body bytes, then drop the connection.</summary>
        public int DropAfterBytes = -1;
        public int DropsLeft;

        /// <summary>Wait this long before answering.</summary>
        public int DelayMs;

        /// <summary>When set, requests without "Authorization: Bearer {token}" get 401.</summary>
        public string? RequiredToken;

        /// <summary>Requests under /redirect/ get a 302 to this prefix + the rest of the path and the query.</summary>
        public string? RedirectPrefix;

        public sealed record Seen(string PathAndQuery, string? Range, string? IfMatch, string? IfUnmodifiedSince, string? Authorization, string? Custom, int Status, long BodyBytes);

        /// <summary>Recorded when answered (an answer still being written is not there yet: read <see cref="Settled"/>).</summary>
        private readonly ConcurrentQueue<Seen> _requests = new ConcurrentQueue<Seen>();

        /// <summary>
        /// Every request so far, once each one that arrived has been answered (the client may have its bytes before
        /// the server thread records them): a synchronisation, not a time limit on the code under test.
        /// </summary>
        public Seen[] Settled()
        {
            var wait = System.Diagnostics.Stopwatch.StartNew();
            while (_requests.Count < Arrived && wait.Elapsed < TimeSpan.FromSeconds(30)) Thread.Sleep(5);
            return _requests.ToArray();
        }

        /// <summary>Requests received so far, counted on arrival.</summary>
        public int Arrived => Volatile.Read(ref _arrived);
        private int _arrived;

        public string ETag => $"\"v{_version}\"";

        /// <summary>Replaces the object at <paramref name="path"/> of a served folder (new bytes, its own new ETag and Last-Modified).</summary>
        public void Replace(string path, byte[] content)
        {
            _objects![path] = content;
            _objectVersions.AddOrUpdate(path, 2, (_, v) => v + 1);
        }

        /// <summary>Replaces the object (new bytes, new ETag and Last-Modified).</summary>
        public void Replace(byte[] content)
        {
            _content = content;
            Interlocked.Increment(ref _version);
        }

        private async Task Loop()
        {
            while (!_stop.IsCancellationRequested)
            {
                HttpListenerContext ctx;
                try { ctx = await _listener.GetContextAsync().ConfigureAwait(false); }
                catch (Exception) { return; }
                _ = Task.Run(() => Handle(ctx));
            }
        }

        private void Handle(HttpListenerContext ctx)
        {
            Interlocked.Increment(ref _arrived);
            var req = ctx.Request;
            var resp = ctx.Response;
            int status = 200;
            long sent = 0;
            bool aborted = false;
            try
            {
                if (DelayMs > 0) Thread.Sleep(DelayMs);
                var path = req.Url!.AbsolutePath;
                if (path.StartsWith("/redirect/", StringComparison.Ordinal) && RedirectPrefix != null)
                {
                    status = 302;
                    resp.StatusCode = 302;
                    resp.RedirectLocation = RedirectPrefix + path.Substring("/redirect/".Length) + req.Url.Query;
                    return;
                }
                if (RequiredToken != null && req.Headers["Authorization"] != "Bearer " + RequiredToken) { status = resp.StatusCode = 401; return; }
                if (path.EndsWith("/missing.ckpt", StringComparison.Ordinal)) { status = resp.StatusCode = 404; return; }
                if (path.EndsWith("/forbidden.ckpt", StringComparison.Ordinal)) { status = resp.StatusCode = 403; return; }
                if (Failures.TryDequeue(out var failure))
                {
                    status = resp.StatusCode = failure;
                    resp.AddHeader("Retry-After", "0");
                    return;
                }
                byte[]? content = _content;
                if (_objects != null && !_objects.TryGetValue(path, out content)) { status = resp.StatusCode = 404; return; }
                int version = _objects != null ? (_objectVersions.TryGetValue(path, out var v) ? v : 1) : _version;
                var etag = $"\"v{version}\"";
                var modified = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddMinutes(version);
                if (!IgnoreConditions)
                {
                    var ifMatch = req.Headers["If-Match"];
                    if (ifMatch != null && ifMatch != etag) { status = resp.StatusCode = 412; return; }
                    var ius = req.Headers["If-Unmodified-Since"];
                    if (ius != null && DateTime.Parse(ius).ToUniversalTime() < modified) { status = resp.StatusCode = 412; return; }
                }
                if (!NoETag) resp.AddHeader("ETag", etag);
                resp.AddHeader("Last-Modified", modified.ToString("R"));
                long from = 0, to = content.Length - 1;
                var range = req.Headers["Range"];
                bool partial = range != null && !IgnoreRange;
                if (partial)
                {
                    var spec = range!.Substring("bytes=".Length);
                    int dash = spec.IndexOf('-');
                    if (dash == 0) from = Math.Max(0, content.Length - long.Parse(spec.Substring(1)));
                    else
                    {
                        from = long.Parse(spec.Substring(0, dash));
                        if (dash < spec.Length - 1) to = Math.Min(to, long.Parse(spec.Substring(dash + 1)));
                    }
                    status = resp.StatusCode = 206;
                    resp.AddHeader("Content-Range", $"bytes {from}-{to}/{content.Length}");
                }
                long length = to - from + 1;
                resp.ContentLength64 = length;
                int limit = -1;
                if (partial && DropAfterBytes >= 0 && Interlocked.Decrement(ref DropsLeft) >= 0) limit = DropAfterBytes;
                var output = resp.OutputStream;
                for (long at = from; at <= to;)
                {
                    int n = (int)Math.Min(64 << 10, to - at + 1);
                    if (limit >= 0) n = (int)Math.Min(n, limit - sent);
                    if (n <= 0) break;
                    output.Write(content, (int)at, n);
                    output.Flush();
                    at += n;
                    sent += n;
                }
                if (limit >= 0 && sent < length)
                {
                    aborted = true;
                    resp.Abort();
                }
            }
            catch (Exception) // the client went away
            {
                aborted = true;
                try { resp.Abort(); } catch (Exception) { }
            }
            finally
            {
                _requests.Enqueue(new Seen(req.Url!.PathAndQuery, req.Headers["Range"], req.Headers["If-Match"], req.Headers["If-Unmodified-Since"],
                    req.Headers["Authorization"], req.Headers["X-Custom"], status, sent));
                if (!aborted) try { resp.Close(); } catch (Exception) { }
            }
        }

        private static int FreePort()
        {
            var l = new TcpListener(IPAddress.Loopback, 0);
            l.Start();
            int port = ((IPEndPoint)l.LocalEndpoint).Port;
            l.Stop();
            return port;
        }

        public void Dispose()
        {
            _stop.Cancel();
            try { _listener.Stop(); _listener.Close(); } catch (Exception) { }
            try { _loop.Wait(2000); } catch (Exception) { }
        }
    }
}

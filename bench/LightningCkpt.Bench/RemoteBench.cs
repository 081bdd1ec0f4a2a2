using System;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using LightningCkpt.Data;
using LightningCkpt.Remote;

namespace LightningCkpt.Bench
{
    /// <summary>
    /// --only remote: bench_a.ckpt served by a loopback nginx (started and stopped here), read by URL. Rows: open +
    /// metadata by URL (requests and bytes from the session, time against curl fetching the same head and tail
    /// ranges) and SHA-256 of every weight by URL (streaming by ranges, several in flight) against `curl -o /dev/null`
    /// of the whole object, the transfer limit of the same link.
    /// </summary>
    public static class RemoteBench
    {
        public static int Run(string checkpoint, string workDir, int repeat, string loadBefore, Func<string> load)
        {
            using var nginx = LoopbackNginx.Start(Path.GetDirectoryName(Path.GetFullPath(checkpoint))!, workDir);
            string url = $"{nginx.BaseUrl}/{Uri.EscapeDataString(Path.GetFileName(checkpoint))}";
            long length;
            using (var fs = File.OpenRead(checkpoint)) length = fs.Length; // (FileInfo of a symlink gives the link's own length)
            Console.WriteLine($"serving {checkpoint} at {url}");

            long requests = 0, bytes = 0;
            double meta = Measure.Best(() =>
            {
                var session = new RemoteSession();
                CkptInfo.From(Checkpoint.Open(url, session));
                requests = session.Requests;
                bytes = session.BytesReceived;
            }, repeat);
            double curlMeta = Measure.Best(() =>
            {
                Curl($"-s -o /dev/null -r 0-65535 {url}");
                Curl($"-s -o /dev/null -r {length - 65536}-{length - 1} {url}");
            }, repeat);

            long weightBytes = 0;
            double hash = Measure.Best(() =>
            {
                var tensors = CkptTensor.List(Checkpoint.Open(url, new RemoteSession()), false);
                weightBytes = 0;
                foreach (var t in tensors) weightBytes += t.Bytes;
                TensorBatchAnalysis.AnalyzeAll(tensors, hash: true, statistics: false);
            }, repeat);
            double curlAll = Measure.Best(() => Curl($"-s -o /dev/null {url}"), repeat);

            // the sharded bench's DCP folder (--sharded makes it in the same --work), by the URL of its .metadata
            string dcpDir = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(checkpoint))!, "dcp");
            string? dcpRow = null;
            if (File.Exists(Path.Combine(dcpDir, ".metadata")))
            {
                long dcpRequests = 0, dcpBytes = 0, dcpLength = 0;
                int shards = 0;
                double dcpMeta = Measure.Best(() =>
                {
                    var session = new RemoteSession();
                    var c = Checkpoint.Open($"{nginx.BaseUrl}/dcp/.metadata", session);
                    CkptInfo.From(c);
                    dcpRequests = session.Requests;
                    dcpBytes = session.BytesReceived;
                    dcpLength = c.FileLength;
                    shards = c.Sharding!.ShardCount;
                }, repeat);
                double dcpLocal = Measure.Best(() => CkptInfo.From(Checkpoint.Open(dcpDir)), repeat);
                dcpRow = $"| DCP open + metadata by URL of .metadata (Get-CkptInfo) | {dcpMeta:F3} | | {shards} .distcp files, {Measure.Mb(dcpLength)}: {dcpRequests} requests, {Measure.Mb(dcpBytes)}; the local folder opens in {dcpLocal:F3} s |";
            }
            else Console.WriteLine($"no DCP folder at {dcpDir} (run --sharded --only dcp with the same --work first): its row is skipped");

            Console.WriteLine($"load average before {loadBefore}, after {load()}");
            Console.WriteLine("| task | ours (s) | curl (s) | note |");
            Console.WriteLine("|---|---:|---:|---|");
            Console.WriteLine($"| open + metadata by URL (Get-CkptInfo) | {meta:F4} | {curlMeta:F4} | {requests} requests, {Measure.Mb(bytes)} of {Measure.Mb(length)} (goal ≤ 3 requests, < 1 MB); curl: the head and tail ranges |");
            Console.WriteLine($"| SHA-256 of all weights by URL (Get-CkptTensor -Hash) | {hash:F3} | {curlAll:F3} | {Measure.Mb(weightBytes)} weights at {weightBytes / hash / 1048576:F0} MB/s; curl of the whole {Measure.Mb(length)} object at {length / curlAll / 1048576:F0} MB/s: ours {curlAll * weightBytes / length / hash * 100:F0} % of curl's rate |");
            if (dcpRow != null) Console.WriteLine(dcpRow);
            return 0;
        }

        private static void Curl(string args)
        {
            using var p = Process.Start(new ProcessStartInfo("curl", args) { UseShellExecute = false })!;
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException($"curl {args} failed ({p.ExitCode})");
        }

        /// <summary>nginx in the foreground with its own prefix and config, serving one folder on a free loopback port.</summary>
        private sealed class LoopbackNginx : IDisposable
        {
            private readonly Process _process;
            private readonly string _dir;

            private LoopbackNginx(Process process, string dir, int port)
            {
                _process = process;
                _dir = dir;
                BaseUrl = $"http://127.0.0.1:{port}/files";
            }

            public string BaseUrl { get; }

            public static LoopbackNginx Start(string root, string workDir)
            {
                string dir = Path.Combine(workDir, "nginx-" + Guid.NewGuid().ToString("n"));
                Directory.CreateDirectory(dir);
                var l = new TcpListener(IPAddress.Loopback, 0);
                l.Start();
                int port = ((IPEndPoint)l.LocalEndpoint).Port;
                l.Stop();
                File.WriteAllText(Path.Combine(dir, "nginx.conf"), $@"daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/b; proxy_temp_path {dir}/p; fastcgi_temp_path {dir}/f; uwsgi_temp_path {dir}/u; scgi_temp_path {dir}/s;
    default_type application/octet-stream;
    sendfile on;
    server {{ listen 127.0.0.1:{port}; location /files/ {{ alias {root.TrimEnd('/')}/; }} }}
}}
");
                var p = Process.Start(new ProcessStartInfo("nginx", $"-p {dir} -c {dir}/nginx.conf -e {dir}/error.log") { UseShellExecute = false })!;
                for (int i = 0; i < 300; i++)
                {
                    if (p.HasExited) throw new InvalidOperationException($"nginx exited ({p.ExitCode}); see {dir}/error.log");
                    try { using var c = new TcpClient(); c.Connect(IPAddress.Loopback, port); return new LoopbackNginx(p, dir, port); }
                    catch (SocketException) { Thread.Sleep(100); }
                }
                p.Kill();
                throw new InvalidOperationException("nginx did not listen within 30 s");
            }

            public void Dispose()
            {
                if (!_process.HasExited) { _process.Kill(); _process.WaitForExit(10000); }
                try { Directory.Delete(_dir, true); } catch (IOException) { }
            }
        }
    }
}

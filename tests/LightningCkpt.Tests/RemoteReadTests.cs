using System;
using System.IO;
using System.Linq;
using LightningCkpt.Container;
using LightningCkpt.Data;
using LightningCkpt.Remote;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// The range reader (RemoteObject, RemoteStream, SourceFile over a URL) against a loopback server that behaves
    /// like an object store and injects its faults; and whole checkpoints read by URL against the same file read locally.
    /// </summary>
    public sealed class RemoteReadTests
    {
        private static readonly string Sample = Path.Combine(RepoPaths.Samples, "lightning_logs", "version_0", "checkpoints", "last.ckpt");

        /// <summary>A genuine 3.7 MB Lightning 2.2 checkpoint: larger than what one open caches, so its data needs ranges.</summary>
        private static string Larger()
        {
            var path = Path.Combine(RepoPaths.RealworldFiles, "dsgt-kaggle-clef__plantclef-2024__last.ckpt");
            Skip.IfNot(File.Exists(path), $"{RepoPaths.RealworldFiles} is absent");
            return path;
        }

        private static byte[] Pattern(int length)
        {
            var b = new byte[length];
            var rng = new Random(length);
            rng.NextBytes(b);
            return b;
        }

        private static RemoteSession Session(int timeoutSec = 30, string? token = null) =>
            new RemoteSession(new RemoteOptions { FirstBackoff = TimeSpan.FromMilliseconds(5), Timeout = TimeSpan.FromSeconds(timeoutSec), Token = token, TokenSource = token != null ? "-Token" : null });

        private static byte[] Read(RemoteObject o, long offset, int count)
        {
            var b = new byte[count];
            o.ReadAt(offset, b, 0, count);
            return b;
        }

        [Fact]
        public void Open_records_the_identity_with_one_head_request_and_later_ranges_are_conditional_on_it()
        {
            var content = Pattern(3 << 20);
            using var server = new RangeTestServer(content);
            var o = Session().Open(server.Url());
            Assert.Equal(content.Length, o.Length);
            Assert.Equal(server.ETag, o.ETag);
            var first = server.Settled().Single();
            Assert.Equal($"bytes=0-{RemoteObject.BlockBytes - 1}", first.Range);
            Assert.Null(first.IfMatch);
            // the head came with the open: no request for it
            Assert.Equal(content.Skip(10).Take(300).ToArray(), Read(o, 10, 300));
            Assert.Single(server.Settled());
            // the first read near the end fetches the whole tail (the zip end records), the next ones are served from it
            Assert.Equal(content.Skip(content.Length - 22).ToArray(), Read(o, content.Length - 22, 22));
            Assert.Equal(content.Skip(content.Length - 40_000).Take(100).ToArray(), Read(o, content.Length - 40_000, 100));
            Assert.Equal($"bytes={content.Length - RemoteObject.TailBytes}-{content.Length - 1}", server.Settled().Last().Range);
            Assert.Equal(content.Skip(1_000_000).Take(1 << 20).ToArray(), Read(o, 1_000_000, 1 << 20));
            var later = server.Settled().Skip(1).ToList();
            Assert.Equal(2, later.Count);
            Assert.All(later, r => Assert.Equal(server.ETag, r.IfMatch));
        }

        [Fact]
        public void Without_an_ETag_ranges_are_conditional_on_Last_Modified()
        {
            var content = Pattern(1 << 20);
            using var server = new RangeTestServer(content) { NoETag = true };
            var o = Session().Open(server.Url());
            Read(o, 200_000, 10);
            var r = server.Settled().Last();
            Assert.Null(r.IfMatch);
            Assert.NotNull(r.IfUnmodifiedSince);
            server.Replace(Pattern(1 << 20));
            var e = Assert.Throws<CheckpointFormatException>(() => Read(o, 500_000, 10));
            Assert.Equal(CheckpointDefect.ChangedWhileReading, e.Defect);
        }

        [Fact]
        public void An_object_replaced_between_requests_is_ChangedWhileReading_never_mixed_bytes()
        {
            var content = Pattern(2 << 20);
            using var server = new RangeTestServer(content);
            var o = Session().Open(server.Url());
            server.Replace(Pattern((2 << 20) + 1));
            var e = Assert.Throws<CheckpointFormatException>(() => Read(o, 0, 1 << 20));
            Assert.Equal(CheckpointDefect.ChangedWhileReading, e.Defect);
            Assert.Equal(412, server.Settled().Last().Status);
        }

        [Fact]
        public void A_server_without_conditional_requests_still_cannot_hand_over_a_replaced_object()
        {
            var content = Pattern(2 << 20);
            using var server = new RangeTestServer(content) { IgnoreConditions = true };
            var o = Session().Open(server.Url());
            server.Replace(Pattern(2 << 20)); // same length, new ETag
            var e = Assert.Throws<CheckpointFormatException>(() => Read(o, 0, 1 << 20));
            Assert.Equal(CheckpointDefect.ChangedWhileReading, e.Defect);
            Assert.Contains("ETag", e.Reason);
        }

        [Fact]
        public void A_server_that_ignores_Range_on_a_large_object_is_stopped_unread()
        {
            var content = Pattern(32 << 20);
            using var server = new RangeTestServer(content) { IgnoreRange = true };
            var session = Session();
            var e = Assert.Throws<RemoteSourceException>(() => session.Open(server.Url()));
            Assert.Equal(RemoteProblem.RangeNotSupported, e.Problem);
            Assert.Equal(0, session.BytesReceived);
            Assert.Equal(1, server.Arrived);
        }

        [Fact]
        public void A_server_that_ignores_Range_on_a_small_object_is_read_whole_once()
        {
            var content = Pattern(200_000);
            using var server = new RangeTestServer(content) { IgnoreRange = true };
            var o = Session().Open(server.Url());
            Assert.Equal(content, Read(o, 0, content.Length));
            Assert.Single(server.Settled());
        }

        [Fact]
        public void A_connection_dropped_mid_range_is_resumed_from_where_it_stopped()
        {
            var content = Pattern(4 << 20);
            using var server = new RangeTestServer(content);
            var session = Session();
            var o = session.Open(server.Url());
            server.DropAfterBytes = 100_000;
            server.DropsLeft = 1;
            const int at = 100_000;
            Assert.Equal(content.Skip(at).Take(3 << 20).ToArray(), Read(o, at, 3 << 20));
            var ranges = server.Settled().Skip(1).Select(r => r.Range).ToList();
            Assert.Equal(new[] { $"bytes={at}-{at + (3 << 20) - 1}", $"bytes={at + 100_000}-{at + (3 << 20) - 1}" }, ranges);
        }

        [Fact]
        public void Answers_503_and_429_are_retried_with_backoff_and_a_lasting_failure_is_reported_after_the_budget()
        {
            var content = Pattern(1 << 20);
            using var server = new RangeTestServer(content);
            server.Failures.Enqueue(503);
            server.Failures.Enqueue(429);
            var session = Session();
            var o = session.Open(server.Url());
            Assert.Equal(3, server.Settled().Length);
            for (int i = 0; i < 10; i++) server.Failures.Enqueue(503);
            var e = Assert.Throws<RemoteSourceException>(() => Read(o, 0, 400_000));
            Assert.Equal(RemoteProblem.RequestFailed, e.Problem);
            Assert.Equal(503, e.StatusCode);
            Assert.Equal(3 + session.Options.MaxAttempts, server.Settled().Length);
        }

        [Theory]
        [InlineData("/ckpt/missing.ckpt?sig=SECRETSIG", RemoteProblem.NotFound)]
        [InlineData("/ckpt/forbidden.ckpt?sig=SECRETSIG", RemoteProblem.Forbidden)]
        public void Status_errors_name_their_kind_and_never_the_query(string path, RemoteProblem problem)
        {
            using var server = new RangeTestServer(Pattern(1000));
            var e = Assert.Throws<RemoteSourceException>(() => Session().Open(server.Url(path)));
            Assert.Equal(problem, e.Problem);
            Assert.DoesNotContain("SECRETSIG", e.Message);
            Assert.Contains("sig=REDACTED", e.Message);
        }

        [Fact]
        public void A_401_says_which_credential_is_missing_and_a_token_is_sent_as_a_bearer()
        {
            using var server = new RangeTestServer(Pattern(1000)) { RequiredToken = "tok-SECRET" };
            var none = Assert.Throws<RemoteSourceException>(() => Session().Open(server.Url()));
            Assert.Equal(RemoteProblem.Unauthorized, none.Problem);
            Assert.Contains("-Token", none.Message);
            var wrong = Assert.Throws<RemoteSourceException>(() => Session(token: "other").Open(server.Url()));
            Assert.Contains("the token from -Token", wrong.Message);
            Assert.DoesNotContain("other", wrong.Message.Replace("another", ""));
            Assert.Equal(1000, Session(token: "tok-SECRET").Open(server.Url()).Length);
        }

        [Fact]
        public void Redirects_are_followed_and_credentials_stay_with_the_host_they_were_given_for()
        {
            var content = Pattern(1 << 20);
            using var target = new RangeTestServer(content);
            using var origin = new RangeTestServer(Pattern(10)) { RedirectPrefix = $"http://localhost:{target.Port}/cdn/" };
            var options = new RemoteOptions { Token = "tok-SECRET", FirstBackoff = TimeSpan.FromMilliseconds(5) };
            options.Headers["X-Custom"] = "custom-SECRET";
            var o = new RemoteSession(options).Open(origin.Url("/redirect/model.ckpt?download=1"));
            Assert.Equal(content.Length, o.Length);
            Assert.Equal(content.Skip(200_000).Take(1000).ToArray(), Read(o, 200_000, 1000));
            var first = origin.Settled().Single();
            Assert.Equal("Bearer tok-SECRET", first.Authorization);
            Assert.Equal("custom-SECRET", first.Custom);
            // the CDN (another host) gets neither; later ranges go straight to it
            Assert.Equal(2, target.Settled().Length);
            Assert.All(target.Settled(), r => { Assert.Null(r.Authorization); Assert.Null(r.Custom); Assert.StartsWith("/cdn/model.ckpt?download=1", r.PathAndQuery); });
        }

        [Fact]
        public void A_server_slower_than_the_timeout_is_a_Timeout()
        {
            using var server = new RangeTestServer(Pattern(1000)) { DelayMs = 8000 };
            var e = Assert.Throws<RemoteSourceException>(() => Session(timeoutSec: 1).Open(server.Url()));
            Assert.Equal(RemoteProblem.Timeout, e.Problem);
        }

        [Fact]
        public void Read_ahead_stays_inside_the_storage_it_reads()
        {
            var content = Pattern(16 << 20);
            using var server = new RangeTestServer(content);
            var session = Session();
            var o = session.Open(server.Url());
            long before = session.BytesReceived;
            using var stream = new RemoteStream(o);
            long start = 1_000_000, end = start + (5 << 20) + 1234; // a storage of 5 MB and a bit
            var buffer = new byte[1 << 20];
            for (long at = start; at < end; at += buffer.Length)
            {
                int n = (int)Math.Min(buffer.Length, end - at);
                stream.ReadData(at, buffer, 0, n, end);
                Assert.Equal(content.Skip((int)at).Take(n).ToArray(), buffer.Take(n).ToArray());
            }
            Assert.Equal(end - start, session.BytesReceived - before);
        }

        [Fact]
        public void A_small_checkpoint_comes_whole_with_the_open_and_reads_as_the_local_file()
        {
            using var server = new RangeTestServer(File.ReadAllBytes(Sample));
            var remote = Checkpoint.Open(server.Url(), Session());
            var local = Checkpoint.Open(Sample);
            using var reader = new TensorDataReader();
            Assert.Equal(CkptTensor.List(local, true).Select(t => reader.Sha256(t.Tensor)), CkptTensor.List(remote, true).Select(t => reader.Sha256(t.Tensor)));
            Assert.Single(server.Settled());
        }

        [Fact]
        public void Urls_are_shown_without_credentials()
        {
            Assert.Equal("https://acct.blob.core.windows.net/c/last.ckpt?sv=REDACTED&sig=REDACTED",
                RemoteUrl.Redact(new Uri("https://user:pw@acct.blob.core.windows.net/c/last.ckpt?sv=2021&sig=abc%2Bdef#x")));
            Assert.Equal("http://h:8080/a%20b/x.ckpt", RemoteUrl.Redact(new Uri("http://h:8080/a%20b/x.ckpt")));
            Assert.Equal("a b.ckpt", RemoteUrl.FileNameOf("http://h/a/a%20b.ckpt?X-Amz-Signature=1"));
            Assert.False(RemoteUrl.IsRemote("C:/x.ckpt"));
            Assert.False(RemoteUrl.IsRemote("ftp://h/x.ckpt"));
            Assert.True(RemoteUrl.IsRemote("HTTPS://h/x.ckpt"));
        }

        [SkippableFact]
        public void A_checkpoint_by_url_reads_its_metadata_in_two_requests_and_its_tensors_as_the_local_file()
        {
            var file = Larger();
            var bytes = File.ReadAllBytes(file);
            using var server = new RangeTestServer(bytes);
            var session = Session();
            var remote = Checkpoint.Open(server.Url("/ckpt/last.ckpt?sig=SECRET"), session);
            var local = Checkpoint.Open(file);
            Assert.Equal(server.Url("/ckpt/last.ckpt?sig=REDACTED"), remote.FilePath);
            Assert.True(server.Settled().Length <= 2, $"{server.Settled().Length} requests");
            Assert.True(session.BytesReceived < 256 << 10, $"{session.BytesReceived} bytes");
            Assert.Equal(local.View.Epoch, remote.View.Epoch);
            var lt = CkptTensor.List(local, all: true);
            var rt = CkptTensor.List(remote, all: true);
            Assert.Equal(lt.Select(t => t.Name), rt.Select(t => t.Name));
            using var lr = new TensorDataReader();
            using var rr = new TensorDataReader();
            for (int i = 0; i < lt.Count; i++) Assert.Equal(lr.Sha256(lt[i].Tensor), rr.Sha256(rt[i].Tensor));
        }

        [SkippableFact]
        public void Get_CkptInfo_of_a_Lightning_checkpoint_by_url_with_its_scores_takes_at_most_three_requests()
        {
            // the goal: the summary (epoch, step, the ModelCheckpoint scores) in <= 3 requests, < 1 MB.
            // torch.save orders storages by their key as text: scores that are storages 12 and 13 have "120" … "129"
            // (here 1 KB optimizer moments) between them, ~11 KB: each read alone would be a request of its own.
            var o = TorchOracle.Torch1;
            Skip.IfNot(o.Available, o.SkipReason);
            var file = Path.Combine(Path.GetTempPath(), $"lc-remote-scores-{Guid.NewGuid():N}.ckpt");
            try
            {
                var script = "import torch\n" +
                    "sd = {f'layer{i}.weight': torch.randn(16384) for i in range(12)}\n" +
                    "moments = {i: {'exp_avg': torch.randn(256)} for i in range(150)}\n" +
                    "cb = {'monitor': 'val_loss', 'best_model_score': torch.tensor(0.25), 'best_model_path': 'a.ckpt',\n" +
                    "      'current_score': torch.tensor(0.5), 'dirpath': '.', 'best_k_models': {}, 'kth_best_model_path': '',\n" +
                    "      'kth_value': torch.tensor(float('inf')), 'last_model_path': ''}\n" +
                    "torch.save({'epoch': 3, 'global_step': 40, 'pytorch-lightning_version': '2.4.0', 'state_dict': sd,\n" +
                    "            'callbacks': {\"ModelCheckpoint{'monitor': 'val_loss', 'mode': 'min', 'every_n_train_steps': 0, 'every_n_epochs': 1, 'train_time_interval': None}\": cb},\n" +
                    "            'optimizer_states': [{'state': moments, 'param_groups': [{'lr': 0.1, 'params': list(range(150))}]}]},\n" +
                    $"           r'{file}')\n";
                Assert.True(o.Run("-W ignore -", out var log, script) == 0, log);
                using var server = new RangeTestServer(File.ReadAllBytes(file));
                var session = Session();
                var remote = CkptInfo.From(Checkpoint.Open(server.Url("/ckpt/last.ckpt"), session));
                var local = CkptInfo.From(Checkpoint.Open(file));
                Assert.Equal(0.5, local.CurrentScore);
                Assert.Equal(local.CurrentScore, remote.CurrentScore);
                Assert.Equal(local.BestModelScore, remote.BestModelScore);
                Assert.Equal(local.ModelCheckpoints[0].KthValue, remote.ModelCheckpoints[0].KthValue);
                var seen = server.Settled();
                Assert.True(seen.Length <= 3, $"{seen.Length} requests: " + string.Join(", ", seen.Select(r => r.Range)));
                Assert.True(session.BytesReceived < 1 << 20, $"{session.BytesReceived} bytes");
            }
            finally { File.Delete(file); }
        }

        [SkippableFact]
        public void A_checkpoint_replaced_after_open_fails_its_data_read_with_ChangedWhileReading()
        {
            var bytes = File.ReadAllBytes(Larger());
            using var server = new RangeTestServer(bytes);
            var remote = Checkpoint.Open(server.Url(), Session());
            var big = CkptTensor.List(remote, all: true).OrderByDescending(t => t.Bytes).First();
            var changed = (byte[])bytes.Clone();
            changed[changed.Length / 2] ^= 1;
            server.Replace(changed);
            using var reader = new TensorDataReader();
            var e = Assert.Throws<CheckpointFormatException>(() => reader.Sha256(big.Tensor));
            Assert.Equal(CheckpointDefect.ChangedWhileReading, e.Defect);
        }
    }
}

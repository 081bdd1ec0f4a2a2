using System;
using System.IO;
using System.Linq;
using LightningCkpt.Data;
using LightningCkpt.Remote;
using LightningCkpt.Torch;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// torch.distributed.checkpoint folders (written by torch 2.14) read by the URL of their .metadata from a served
    /// folder: the same checkpoint as the local folder, each .distcp shard read by conditional ranges with its own
    /// identity, credentials never shown.
    /// </summary>
    public sealed class RemoteDcpTests : IDisposable
    {
        /// <summary>Folders a test generates (torch 2.x), removed after it.</summary>
        private readonly string _work = Path.Combine(Path.GetTempPath(), "lc-remote-dcp-" + Guid.NewGuid().ToString("N"));

        public void Dispose()
        {
            if (Directory.Exists(_work)) Directory.Delete(_work, recursive: true);
        }

        private const string Prefix = "/runs/step-100/";

        /// <summary>Where a fixture is served: under its own name, as a folder is named on disk.</summary>
        private static string PrefixOf(string name) => $"/runs/{name}/";

        private static string Fixture(string name) => Path.Combine(RepoPaths.Fixtures, "sharded", name);

        private static RemoteSession Session() =>
            new RemoteSession(new RemoteOptions { FirstBackoff = TimeSpan.FromMilliseconds(5), Timeout = TimeSpan.FromSeconds(30) });

        [Theory]
        [InlineData("dcp2_gloo2_plain")]
        [InlineData("dcp2_fsdp2_adam")]
        [InlineData("dcp2_dtensor")]
        [InlineData("dcp2_safetensors_format")]
        [InlineData("dcp2_zstd")]
        [InlineData("dcp2x_tied")]
        [InlineData("lightning2_fsdp.ckpt")]
        [InlineData("dcp13_gloo2_sharded")]
        public void A_dcp_folder_by_the_url_of_its_metadata_is_the_local_folder(string name)
        {
            var dir = Fixture(name);
            var prefix = PrefixOf(name);
            using var server = new RangeTestServer(dir, prefix);
            var session = Session();
            var remote = Checkpoint.Open(server.Url(prefix + ".metadata?sig=SECRET"), session);
            var local = Checkpoint.Open(dir);

            Assert.Equal(local.Format, remote.Format);
            Assert.Equal(CkptInfo.From(local).Name, CkptInfo.From(remote).Name); // named by its folder, as on disk
            Assert.Equal(server.Url(prefix + ".metadata?sig=REDACTED"), remote.FilePath);
            Assert.Equal(local.Sharding!.WorldSize, remote.Sharding!.WorldSize);
            Assert.Equal(local.Files.Select(Path.GetFileName), remote.Files.Select(f => RemoteUrl.NameOf(new Uri(f))));
            Assert.All(remote.Files, f => Assert.EndsWith("?sig=REDACTED", f));
            Assert.Equal(local.FileLength, remote.FileLength);
            Assert.Equal(local.View.Weights.Select(w => w.Name), remote.View.Weights.Select(w => w.Name));

            var lt = CkptTensor.List(local, all: true);
            var rt = CkptTensor.List(remote, all: true);
            Assert.Equal(lt.Select(t => t.Name), rt.Select(t => t.Name));
            Assert.Equal(lt.Select(t => t.DType + string.Join(",", t.Tensor.Shape)), rt.Select(t => t.DType + string.Join(",", t.Tensor.Shape)));
            using var lr = new TensorDataReader();
            using var rr = new TensorDataReader();
            for (int i = 0; i < lt.Count; i++) Assert.Equal(lr.Sha256(lt[i].Tensor), rr.Sha256(rt[i].Tensor));

            // every request is a range (never a whole shard), and each range after a shard's first is conditional on it
            var seen = server.Settled();
            Assert.All(seen, s => Assert.NotNull(s.Range));
            Assert.All(seen.Where(s => s.Status == 206).GroupBy(s => s.PathAndQuery).SelectMany(g => g.Skip(1)), s => Assert.NotNull(s.IfMatch));
            Assert.All(seen, s => Assert.EndsWith("?sig=SECRET", s.PathAndQuery)); // the query reaches every shard
        }

        [Fact]
        public void Every_shard_is_opened_with_its_own_identity_and_read_only_by_ranges()
        {
            var dir = Fixture("dcp2_fsdp2_adam");
            using var server = new RangeTestServer(dir, Prefix);
            var remote = Checkpoint.Open(server.Url(Prefix + ".metadata"), Session());
            var shards = remote.Storages.Select(s => s.File!).Distinct().ToList();
            Assert.Equal(new[] { "__0_0.distcp", "__1_0.distcp" }, shards.Select(s => s.Remote!.Name).OrderBy(n => n, StringComparer.Ordinal));
            foreach (var s in shards)
            {
                Assert.NotNull(s.Remote!.ETag);
                Assert.Equal(new FileInfo(Path.Combine(dir, s.Remote.Name)).Length, s.Remote.Length);
            }
            Assert.Equal(server.ETag, remote.Source.Remote!.ETag); // the .metadata's own identity
        }

        [SkippableFact]
        public void Metadata_fetches_the_two_ends_of_each_item_never_a_whole_block_of_tensor_data()
        {
            var dir = TwoLargeShards();
            using var server = new RangeTestServer(dir, Prefix);
            var remote = Checkpoint.Open(server.Url(Prefix + ".metadata"), Session());
            var seen = server.Settled();
            const int end = Container.Sharded.RemoteShardFolder.ItemEndBytes;
            foreach (var file in seen.Where(s => s.PathAndQuery.EndsWith(".distcp", StringComparison.Ordinal)).GroupBy(s => s.PathAndQuery))
            {
                var name = file.Key.Substring(Prefix.Length);
                int items = remote.Storages.Count(st => st.File!.Remote!.Name == name);
                // its opening request, then the ends of its items (the touching ends of neighbours merged)
                Assert.True(file.Count() <= items + 1, $"{name}: {file.Count()} requests for {items} items");
                Assert.True(file.Sum(s => s.BodyBytes) <= (2 * items + 1) * (long)end, $"{name}: {file.Sum(s => s.BodyBytes)} bytes for {items} items");
            }
        }

        [Fact]
        public void Item_ends_merge_when_they_touch_or_overlap()
        {
            var items = new[] { (0L, 10_000L), (10_000L, 100L), (10_100L, 50_000L), (200_000L, 0L), (300_000L, 5_000L) };
            Assert.Equal(new[] { (0L, 4096L), (5904L, 14196L), (56004L, 60100L), (300_000L, 305_000L) }, Container.Sharded.RemoteShardFolder.EndRanges(items));
        }

        /// <summary>The data files a tensor's bytes come from (its own storage's, or its chunks' pieces').</summary>
        private static string[] FilesOf(TensorRef t) =>
            (t.IsChunked ? t.Chunks!.Chunks.Select(c => c.Piece.Storage!.File!) : new[] { t.Storage!.File! }).Select(f => RemoteUrl.FileNameOf(f.Path)).Distinct().ToArray();

        /// <summary>
        /// A torch 2.x DCP folder with two data files whose tensors are larger than what an open caches
        /// (FileSystemWriter with thread_count=2 writes __0_0 and __0_1), so their reads are ranges of their own.
        /// </summary>
        private string TwoLargeShards()
        {
            var dir = _work;
            var o = TorchOracle.Torch2;
            Skip.IfNot(o.Available, o.SkipReason);
            Directory.CreateDirectory(dir);
            var script = Path.Combine(dir, "make.py");
            File.WriteAllText(script, string.Join("\n",
                "import sys, torch, torch.distributed.checkpoint as dcp",
                "torch.manual_seed(0)",
                "sd = {'model': {'a.weight': torch.randn(256, 512), 'b.weight': torch.randn(256, 512), 'c.bias': torch.randn(16)}}",
                "dcp.save(sd, storage_writer=dcp.FileSystemWriter(sys.argv[1], thread_count=2))"));
            var folder = Path.Combine(dir, "ckpt");
            int code = o.Run($"\"{script}\" \"{folder}\"", out var log);
            Assert.True(code == 0, "torch 2.x dcp.save failed: " + log);
            return folder;
        }

        [SkippableFact]
        public void A_shard_replaced_after_the_open_fails_the_reads_of_its_tensors_with_ChangedWhileReading()
        {
            var dir = TwoLargeShards();
            using var server = new RangeTestServer(dir, Prefix);
            var remote = Checkpoint.Open(server.Url(Prefix + ".metadata"), Session());
            var tensors = CkptTensor.List(remote, all: true).Where(t => t.Bytes > RemoteObject.BlockBytes).ToList();
            var changedFile = FilesOf(tensors[0].Tensor).Single();
            var inChanged = tensors[0];
            var elsewhere = tensors.First(t => !FilesOf(t.Tensor).Contains(changedFile));
            var bytes = File.ReadAllBytes(Path.Combine(dir, changedFile));
            bytes[bytes.Length / 2] ^= 1;
            server.Replace(Prefix + changedFile, bytes);
            using var reader = new TensorDataReader();
            var e = Assert.Throws<CheckpointFormatException>(() => reader.Sha256(inChanged.Tensor));
            Assert.Equal(CheckpointDefect.ChangedWhileReading, e.Defect);
            Assert.EndsWith(changedFile, e.FilePath);
            // the other shard is unchanged: it still reads, as the local file does
            using var lr = new TensorDataReader();
            var local = CkptTensor.List(Checkpoint.Open(dir), all: true).Single(t => t.Name == elsewhere.Name);
            Assert.Equal(lr.Sha256(local.Tensor), reader.Sha256(elsewhere.Tensor));
        }

        [Fact]
        public void A_shard_missing_from_the_server_is_MissingStorage_naming_it()
        {
            var dir = Fixture("dcp2_gloo2_plain");
            var copy = _work;
            Directory.CreateDirectory(copy);
            File.Copy(Path.Combine(dir, ".metadata"), Path.Combine(copy, ".metadata"));
            File.Copy(Path.Combine(dir, "__0_0.distcp"), Path.Combine(copy, "__0_0.distcp"));
            using var partial = new RangeTestServer(copy, Prefix);
            var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(partial.Url(Prefix + ".metadata?sig=SECRET"), Session()));
            Assert.Equal(CheckpointDefect.MissingStorage, e.Defect);
            Assert.Contains("__1_0.distcp", e.Message);
            Assert.DoesNotContain("SECRET", e.Message);
        }
    }
}

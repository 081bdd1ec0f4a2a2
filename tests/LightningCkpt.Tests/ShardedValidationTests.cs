using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using LightningCkpt.Data;
using LightningCkpt.Pickle;
using LightningCkpt.Safety;
using LightningCkpt.Writing;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// Damaged and foreign sharded input: a plain folder, a missing rank or shard, chunks that overlap or leave a gap,
    /// truncated data files, broken safetensors headers. Each is a CheckpointFormatException naming the file and the
    /// damage, and Test-Ckpt reports it as that finding. Genuine DCP/DeepSpeed pickles are not called dangerous.
    /// </summary>
    public sealed class ShardedValidationTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "lightningckpt-shardbad-" + Guid.NewGuid().ToString("N").Substring(0, 8));

        public ShardedValidationTests() => Directory.CreateDirectory(_dir);
        public void Dispose() => Directory.Delete(_dir, recursive: true);

        private string Copy(string fixture) => CopyFixture(fixture, _dir);

        /// <summary>A writable copy of a committed sharded fixture (folder and sub-folders) inside <paramref name="dir"/>.</summary>
        internal static string CopyFixture(string fixture, string dir)
        {
            var src = Path.Combine(ShardedCheckpointTests.Dir, fixture);
            var dst = Path.Combine(dir, fixture);
            foreach (var d in Directory.GetDirectories(src, "*", SearchOption.AllDirectories)) Directory.CreateDirectory(d.Replace(src, dst));
            Directory.CreateDirectory(dst);
            foreach (var f in Directory.GetFiles(src, "*", SearchOption.AllDirectories)) File.Copy(f, f.Replace(src, dst));
            return dst;
        }

        private static CheckpointFormatException OpenFails(string path) => Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(path));

        private static CkptFinding ErrorFinding(string path)
        {
            var r = CheckpointValidator.Test(path);
            Assert.False(r.IsValid);
            return r.Findings.First(f => f.Severity == FindingSeverity.Error);
        }

        [Fact]
        public void APlainFolderIsNotACheckpointAndSaysSo()
        {
            var folder = Path.Combine(_dir, "just_a_folder");
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, "notes.txt"), "hello");
            var e = OpenFails(folder);
            Assert.Equal(CheckpointErrorKind.NotACheckpoint, e.Kind);
            Assert.Contains(folder, e.Message);
            Assert.Contains("not a checkpoint", e.Reason);
            Assert.DoesNotContain("not supported", e.Message);
            Assert.Equal("NotACheckpoint", ErrorFinding(folder).Kind);
        }

        [Fact]
        public void ItemsRecordedAsZstdButStoredPlainAreDamagedZstdStreamsNamingTheDataFile()
        {
            // bad_dcp_zstd records stream.zstd/1 over plain torch.save bytes: the data file is wrong, not the reader
            var dir = Path.Combine(ShardedCheckpointTests.Dir, "bad_dcp_zstd");
            var e = OpenFails(dir);
            Assert.Equal(CheckpointErrorKind.Malformed, e.Kind);
            Assert.EndsWith("__0_0.distcp", e.FilePath);
            Assert.Contains("zstd stream is damaged", e.Message);
            Assert.Equal("Malformed", ErrorFinding(dir).Kind);
        }

        [Fact]
        public void AStreamTransformOtherThanZstdIsRefusedAsUnsupportedNamingIt()
        {
            // the real zstd folder with its descriptors renamed to a transform torch does not have (same length, so the pickle stays valid)
            var d = Copy("dcp2_zstd");
            var md = Path.Combine(d, ".metadata");
            var bytes = File.ReadAllBytes(md);
            var from = System.Text.Encoding.ASCII.GetBytes("stream.zstd/1");
            var to = System.Text.Encoding.ASCII.GetBytes("stream.lz4x/1");
            int replaced = 0;
            for (int i = 0; i + from.Length <= bytes.Length; i++)
                if (bytes.Skip(i).Take(from.Length).SequenceEqual(from)) { Array.Copy(to, 0, bytes, i, to.Length); replaced++; }
            Assert.True(replaced > 0);
            File.WriteAllBytes(md, bytes);
            var e = OpenFails(d);
            Assert.Equal(CheckpointErrorKind.Unsupported, e.Kind);
            Assert.Contains("stream.lz4x/1", e.Message);
            Assert.Equal("Unsupported", ErrorFinding(d).Kind);
        }

        [Fact]
        public void RankLocalDcpMetadataIsRefusedAsUnsupportedAndTheFolderIsStillACheckpoint()
        {
            // what the newest torch writes without collectives: __0.metadata, __1.metadata and no global .metadata
            var d = Copy("lightning2_fsdp.ckpt");
            File.Delete(Path.Combine(d, "meta.pt"));
            File.Copy(Path.Combine(d, ".metadata"), Path.Combine(d, "__1.metadata"));
            File.Move(Path.Combine(d, ".metadata"), Path.Combine(d, "__0.metadata"));
            Assert.True(Checkpoint.IsCheckpointFolder(d));
            foreach (var path in new[] { d, Path.Combine(d, "__1.metadata") })
            {
                var e = OpenFails(path);
                Assert.Equal(CheckpointErrorKind.Unsupported, e.Kind);
                Assert.Contains("rank-local metadata (__0.metadata, __1.metadata", e.Message);
                Assert.Contains(d, e.FilePath);
            }
            Assert.Equal("Unsupported", ErrorFinding(d).Kind);
        }

        [Theory]
        [InlineData("ds_zero2_bf16_dp2", "checkpoint/bf16_zero_pp_rank_1_mp_rank_00_optim_states.pt", "rank 1", null)]
        [InlineData("ds_zero3_bf16_dp2", "checkpoint/zero_pp_rank_1_mp_rank_00_model_states.pt", "rank 1", null)]
        [InlineData("lightning2_fsdp.ckpt", "__1_0.distcp", "__1_0.distcp", ".metadata")]
        [InlineData("dcp13_gloo2_sharded", ".metadata", "no .metadata", null)]
        public void AMissingRankShardOrMetadataFileIsNamed(string fixture, string missing, string words, string? findingAt)
        {
            var d = Copy(fixture);
            File.Delete(Path.Combine(d, missing));
            var e = OpenFails(d);
            Assert.Equal(CheckpointDefect.MissingStorage, e.Defect);
            Assert.Contains(words, e.Reason);
            var f = ErrorFinding(d);
            Assert.Equal("MissingStorage", f.Kind);
            if (findingAt != null) Assert.Contains(findingAt, f.Location);
        }

        [Fact]
        public void ATruncatedDistcpFileIsTruncated()
        {
            var d = Copy("dcp13_no_dist_single_file");
            var file = Path.Combine(d, "__0_0.distcp");
            var bytes = File.ReadAllBytes(file);
            File.WriteAllBytes(file, bytes.Take(bytes.Length - 100).ToArray());
            var e = OpenFails(d);
            Assert.Equal(CheckpointDefect.Truncated, e.Defect);
            Assert.Equal(file, e.FilePath);
        }

        [Theory]
        [InlineData("bad_dcp_overlap", "overlap")]
        [InlineData("bad_dcp_gap", "no shard")]
        public void ChunksMustTileTheirTensorExactly(string fixture, string words)
        {
            var e = OpenFails(Path.Combine(ShardedCheckpointTests.Dir, fixture));
            Assert.Contains(words, e.Reason);
            Assert.Contains("'w'", e.Part);
            Assert.NotEqual(CheckpointDefect.None, e.Defect);
        }

        [Fact]
        public void AMissingHuggingFaceShardIsNamed()
        {
            var d = Copy("hf_safetensors");
            File.Delete(Path.Combine(d, "model-00002-of-00002.safetensors"));
            var e = OpenFails(d);
            Assert.Equal(CheckpointDefect.MissingStorage, e.Defect);
            Assert.Contains("model-00002-of-00002.safetensors", e.Reason);
            // naming the index file itself opens the same checkpoint
            Assert.Equal(CheckpointDefect.MissingStorage, OpenFails(Path.Combine(d, "model.safetensors.index.json")).Defect);
        }

        [Fact]
        public void AnIndexMayNotPointOutsideItsFolder()
        {
            var d = Copy("hf_bin");
            var index = Path.Combine(d, "pytorch_model.bin.index.json");
            File.WriteAllText(index, File.ReadAllText(index).Replace("pytorch_model-00001-of-00003.bin", "../../etc/passwd"));
            var e = OpenFails(d);
            Assert.Contains("not a plain file name", e.Reason);
        }

        [Fact]
        public void EveryCommittedFixtureTestsValidAndSafe()
        {
            foreach (var f in ShardedCheckpointTests.CommittedFixtures())
            {
                var path = Path.Combine(ShardedCheckpointTests.Dir, (string)f[0]);
                var r = CheckpointValidator.Test(path, new ValidateOptions { CheckValues = true });
                Assert.True(r.IsValid, $"{f[0]}: {string.Join("; ", r.Findings.Select(x => x.Kind + " " + x.Message))}");
                Assert.True(r.IsSafe, $"{f[0]}: {string.Join("; ", r.Findings.Where(x => x.Severity == FindingSeverity.Dangerous).Select(x => x.Message))}");
            }
        }

        [Theory]
        [InlineData("dcp13_no_dist_single_file")]
        [InlineData("dcp13_gloo_sharded")]
        [InlineData("ds_zero2_bf16_dp2")]
        public void EnumLookupsThroughGetattrAreNotDangerous(string fixture)
        {
            var c = Checkpoint.Open(Path.Combine(ShardedCheckpointTests.Dir, fixture));
            Assert.Contains(c.Globals, g => g.Name == "getattr");
            Assert.NotEmpty(c.AttributeLookups);
            Assert.All(c.AttributeLookups, l => Assert.True(GlobalGrades.IsConstantLookup(l), l.ToString()));
            Assert.Empty(CkptInfo.From(c).UnsafeGlobals);
        }

        [Fact]
        public void AnyOtherGetattrStaysDangerous()
        {
            var getattr = new PyGlobal("builtins", "getattr");
            var member = new AttributeLookup(new PyGlobal("torch.distributed._shard.sharded_tensor.metadata", "MEM_FORMAT_ENCODING"), "TORCH_CONTIGUOUS_FORMAT");
            Assert.Equal(GlobalGrade.Unknown, GlobalGrades.Grade(getattr, new[] { member }));
            Assert.Equal(GlobalGrade.Dangerous, GlobalGrades.Grade(getattr, Array.Empty<AttributeLookup>()));
            Assert.Equal(GlobalGrade.Dangerous, GlobalGrades.Grade(getattr, new[] { member, new AttributeLookup(null, "system") }));
            Assert.Equal(GlobalGrade.Dangerous, GlobalGrades.Grade(getattr, new[] { new AttributeLookup(new PyGlobal("builtins", "object"), "__subclasses__") }));
            Assert.Equal(GlobalGrade.Dangerous, GlobalGrades.Grade(getattr, new[] { new AttributeLookup(new PyGlobal("os", "path"), "join") }));
            Assert.Equal(GlobalGrade.Dangerous, GlobalGrades.Grade(getattr, new[] { new AttributeLookup(new PyGlobal("mymod", "Thing"), null) }));
            // the hostile corpus' getattr(__import__('os'), 'system')(cmd) is still dangerous end to end
            var hostile = Path.Combine(RepoPaths.Fixtures, "malicious", "reduce_getattr_chain.pt");
            if (File.Exists(hostile)) Assert.Contains("builtins.getattr", CkptInfo.Read(hostile).UnsafeGlobals);
        }

        [Fact]
        public void ADcpPickleThatCallsWhatGetattrReturnedIsDangerous()
        {
            // protocol 2: getattr(EnumClass, 'X') is fine; calling its result (REDUCE on it) is not a lookup any more
            var p = new List<byte> { 0x80, 0x02 };
            void Global(string m, string n) => p.AddRange(Encoding.ASCII.GetBytes("c" + m + "\n" + n + "\n"));
            void Str(string s) { p.Add((byte)'U'); p.Add((byte)s.Length); p.AddRange(Encoding.ASCII.GetBytes(s)); }
            Global("__builtin__", "getattr"); Global("mymod", "Enum"); Str("X"); p.Add((byte)0x86); p.Add((byte)'R'); // getattr(Enum, 'X')
            Str("arg"); p.Add((byte)0x85); p.Add((byte)'R'); // (...)('arg')
            p.Add((byte)'.');
            var recorder = new GlobalsRecorder();
            var machine = new PickleMachine(new PythonHost(), "test", "pickle", recorder);
            machine.Load(p.ToArray());
            Assert.Equal(2, recorder.AttributeLookups.Count);
            Assert.Equal(GlobalGrade.Dangerous, GlobalGrades.Grade(new PyGlobal("builtins", "getattr"), recorder.AttributeLookups));
        }

        // ---- safetensors headers

        private string Safetensors(string name, string header, int dataBytes) => WriteSafetensors(Path.Combine(_dir, name), header, dataBytes);

        /// <summary>Writes a safetensors file of <paramref name="header"/> (as UTF-8) and <paramref name="dataBytes"/> zero bytes.</summary>
        internal static string WriteSafetensors(string path, string header, int dataBytes)
        {
            var h = Encoding.UTF8.GetBytes(header);
            using var fs = File.Create(path);
            fs.Write(BitConverter.GetBytes((ulong)h.Length), 0, 8);
            fs.Write(h, 0, h.Length);
            fs.Write(new byte[dataBytes], 0, dataBytes);
            return path;
        }

        [Theory]
        [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}", 8, "Truncated")]
        [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "StorageSizeMismatch")]
        [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]}}", 8, "ViewOutOfBounds")]
        [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "MissingStorage")]
        [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 12, "MissingStorage")]
        [InlineData("{\"a\":{\"dtype\":\"F6_E2M3\",\"shape\":[4],\"data_offsets\":[0,3]}}", 3, "Unsupported")]
        [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "Malformed")]
        [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,\"data_offsets\":[0,4]}}", 4, "Malformed")]
        [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "Malformed")]
        public void BrokenSafetensorsHeadersAreNamed(string header, int dataBytes, string kind)
        {
            var path = Safetensors("bad.safetensors", header, dataBytes);
            var e = OpenFails(path);
            Assert.Equal(path, e.FilePath);
            Assert.Equal("safetensors header", e.Part);
            Assert.Equal(kind, CheckpointValidator.Classify(e));
        }

        [Fact]
        public void AHeaderLongerThanTheFileIsNotReadAsSafetensors()
        {
            var path = Path.Combine(_dir, "short.safetensors");
            var h = Encoding.ASCII.GetBytes("{\"a\":1}");
            File.WriteAllBytes(path, BitConverter.GetBytes(1000UL).Concat(h).ToArray());
            // its claimed length runs past the file, so it is not sniffed as safetensors: the sniffer says what it is not
            var e = OpenFails(path);
            Assert.Equal(path, e.FilePath);
            Assert.Equal(CheckpointErrorKind.NotACheckpoint, e.Kind);
        }

        [Fact]
        public void OurOwnSafetensorsAndAnIndexOverThemReadBack()
        {
            var src = Checkpoint.Open(Path.Combine(RepoPaths.FixtureFiles, "lightning2_full.ckpt"));
            var names = src.View.Weights.Select(w => w.Name).ToList();
            Assert.True(names.Count >= 2);
            var half = names.Take(names.Count / 2).ToHashSet();
            var shards = new[] { ("model-00001-of-00002.safetensors", (Func<string, bool>)(n => half.Contains(n))), ("model-00002-of-00002.safetensors", n => !half.Contains(n)) };
            var map = new StringBuilder("{\"metadata\":{\"total_size\":0},\"weight_map\":{");
            bool first = true;
            foreach (var (file, filter) in shards)
            {
                var o = new SelectOptions { Filter = filter };
                WeightSelection.Write(src, WeightSelection.Select(src, o), o, Path.Combine(_dir, file), WeightsFileFormat.Safetensors, false);
                foreach (var n in names.Where(filter)) { map.Append(first ? "" : ",").Append('"').Append(n).Append("\":\"").Append(file).Append('"'); first = false; }
            }
            map.Append("}}");
            File.WriteAllText(Path.Combine(_dir, "model.safetensors.index.json"), map.ToString());
            var single = Checkpoint.Open(Path.Combine(_dir, shards[0].Item1));
            Assert.Equal(Container.CheckpointFormat.Safetensors, single.Format);
            Assert.Contains(single.TextMetadata, kv => kv.Key == "format" && kv.Value == "pt");
            var hf = Checkpoint.Open(_dir);
            Assert.Equal(Container.CheckpointFormat.HuggingFaceSharded, hf.Format);
            Assert.Equal(names, hf.View.Weights.Select(w => w.Name));
            Assert.Contains(hf.Sharding!.Notes, n => n.Contains("total_size"));
            using var ra = new TensorDataReader(src);
            using var rb = new TensorDataReader(hf);
            var want = src.View.Weights.ToDictionary(w => w.Name, w => ra.Sha256(w.Tensor));
            foreach (var w in hf.View.Weights) Assert.Equal(want[w.Name], rb.Sha256(w.Tensor));
            var diffs = CheckpointComparer.Compare(src, hf, new CompareOptions()).Where(x => x.Kind == "Tensor").ToList();
            Assert.Empty(diffs);
        }

        [Fact]
        public void InfoShowsFormatRanksStageAndTheLightningState()
        {
            var ds = CkptInfo.Read(Path.Combine(ShardedCheckpointTests.Dir, "ds_zero3_bf16_dp2"));
            Assert.Equal(Container.CheckpointFormat.DeepSpeed, ds.Format);
            Assert.Equal(3, ds.ZeroStage);
            Assert.Equal(2, ds.WorldSize);
            Assert.Equal(2, ds.ShardCount);
            Assert.Equal(2, ds.Epoch);
            Assert.Equal(33, ds.GlobalStep);
            Assert.Equal("2.1.3", ds.LightningVersion);
            Assert.Equal("lightning", ds.Kind);
            Assert.Equal(5, ds.ShardFiles.Count); // latest, 2 model states, 2 optimizer states
            var ls = CkptInfo.Read(Path.Combine(ShardedCheckpointTests.Dir, "lightning2_fsdp.ckpt"));
            Assert.Equal(Container.CheckpointFormat.LightningSharded, ls.Format);
            Assert.Equal(2, ls.Epoch);
            Assert.Equal(60, ls.GlobalStep);
            Assert.Equal(2, ls.WorldSize);
            Assert.Single(ls.Optimizers);
            Assert.Equal(3, ls.TensorCount);
            Assert.NotNull(CkptInfo.Read(Path.Combine(ShardedCheckpointTests.Dir, "lightning13_sharded.ckpt")).HyperParameters);
        }
    }
}

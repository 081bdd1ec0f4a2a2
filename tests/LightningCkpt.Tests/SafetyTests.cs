using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using LightningCkpt.Safety;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// Test-Ckpt on the hostile corpus (tests/fixtures/malicious, made by make_malicious.py) and on every benign file:
    /// hostile files are flagged and nothing runs; benign files are not flagged dangerous.
    /// </summary>
    public class SafetyTests
    {
        private const string Marker = "/tmp/lightningckpt-pwned";
        public static string MaliciousDir => Path.Combine(RepoPaths.Fixtures, "malicious");

        private static Dictionary<string, JsonElement> Expectations()
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(MaliciousDir, "expect.json")));
            return doc.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone());
        }

        public static IEnumerable<object[]> MaliciousFiles() => Expectations().Keys.OrderBy(k => k).Select(k => new object[] { k });

        [Theory]
        [MemberData(nameof(MaliciousFiles))]
        public void HostileFileIsFlaggedAndInert(string file)
        {
            var path = Path.Combine(MaliciousDir, file);
            var expect = Expectations()[file];
            bool markerBefore = File.Exists(Marker);

            // the readers: success or the one clean exception, never a reader bug
            Checkpoint? c = null;
            try { c = Checkpoint.Open(path); }
            catch (CheckpointFormatException e) { Assert.DoesNotContain(Checkpoint.InternalErrorPrefix, e.Reason); }
            if (c != null)
            {
                CkptInfo.From(c);
                CkptTensor.List(c, true);
            }

            var r = CheckpointValidator.Test(path, new ValidateOptions { VerifyCrc = true, CheckValues = true });
            Assert.DoesNotContain(r.Findings, f => f.Kind == "InternalError");
            if (expect.TryGetProperty("safe", out _))
            {
                // costly or suspicious-looking but harmless: a correct answer, and nothing flagged dangerous
                Assert.True(r.IsValid && r.IsSafe, $"{file}: {string.Join("; ", r.Findings)}");
                Assert.Empty(CkptInfo.From(c!).UnsafeGlobals);
                if (expect.TryGetProperty("tensors", out var count)) Assert.Equal(count.GetInt32(), c!.AllTensors.Count);
                if (expect.TryGetProperty("keep_metadata", out _)) AssertKeepMetadataWriteIsSmall(c!);
                return;
            }
            Assert.False(r.IsSafe, $"{file} was judged safe: {string.Join("; ", r.Findings)}");
            if (expect.TryGetProperty("dangerous", out var dangerous))
            {
                Assert.NotNull(c);
                Assert.True(r.IsValid, $"{file}: {string.Join("; ", r.Findings)}");
                var info = CkptInfo.From(c!);
                foreach (var g in dangerous.EnumerateArray().Select(x => x.GetString()!))
                {
                    Assert.Contains(r.Findings, f => f.Severity == FindingSeverity.Dangerous && f.Kind == "DangerousGlobal" && f.Message.Contains(g));
                    Assert.Contains(g, info.UnsafeGlobals);
                }
                if (expect.TryGetProperty("tensors", out var n)) Assert.Equal(n.GetInt32(), c!.AllTensors.Count);
            }
            else
            {
                var kind = expect.GetProperty("invalid").GetString();
                Assert.False(r.IsValid);
                Assert.Contains(r.Findings, f => f.Kind == kind && f.Severity == FindingSeverity.Error);
            }
            if (!markerBefore) Assert.False(File.Exists(Marker), "a payload ran: " + Marker + " exists");
        }

        /// <summary>Select -KeepMetadata on a graph with shared sub-lists: shared stays shared, so the output stays as small as the input.</summary>
        private static void AssertKeepMetadataWriteIsSmall(Checkpoint c)
        {
            var dir = Path.Combine(Path.GetTempPath(), "lightningckpt-keepmeta-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                var options = new LightningCkpt.Writing.SelectOptions { KeepMetadata = true };
                var outFile = Path.Combine(dir, "out.ckpt");
                LightningCkpt.Writing.WeightSelection.Write(c, LightningCkpt.Writing.WeightSelection.Select(c, options), options, outFile, LightningCkpt.Writing.WeightsFileFormat.TorchZip, false);
                Assert.True(new FileInfo(outFile).Length < 4 * c.FileLength + 4096, $"the output grew to {new FileInfo(outFile).Length} bytes from {c.FileLength}");
                var back = Checkpoint.Open(outFile);
                Assert.NotNull(back.View.HyperParameters);
                Assert.NotNull(CkptInfo.From(back).HyperParameters);
            }
            finally { Directory.Delete(dir, true); }
        }

        /// <summary>
        /// 60 levels of lists and dicts, each holding the next twice (2^60 paths), in the hyper-parameters and around a
        /// tensor: every walker answers (each shared container is walked once), under a hang detector, not a timer.
        /// </summary>
        [Fact]
        public async System.Threading.Tasks.Task SharedSubGraphsCostTheirDistinctObjectsInEveryWalker()
        {
            var run = System.Threading.Tasks.Task.Run(() =>
            {
                var path = Path.Combine(MaliciousDir, "shared_dag60_everywhere.ckpt");
                var c = Checkpoint.Open(path);
                // both distinct tensors are found; the 2^60 repeated paths to the shared one stop at the stated backstop
                Assert.Equal("state_dict.layer.weight", c.AllTensors[0].Path);
                Assert.Equal("extra" + string.Concat(Enumerable.Repeat(".0", 60)) + ".0", c.AllTensors[1].Path);
                Assert.Equal(2, c.AllTensors.Select(t => t.Tensor).Distinct().Count());
                Assert.InRange(c.AllTensors.Count, 1000, Limits.MaxRepeatedWalkSteps);
                // whole sub-graphs repeat: every listed path to the shared tensor is one of its 2^60, all distinct
                Assert.Equal(c.AllTensors.Count, c.AllTensors.Select(t => t.Path).Distinct().Count());

                var hp = CkptInfo.From(c).HyperParameters!;
                var text = hp.ToString();
                Assert.StartsWith("lr=0.1; net=[[[[", text);
                Assert.Equal(Limits.MaxValueTextLength + 1, text.Length); // capped, ending in "…"
                Assert.EndsWith("…", text);
                CkptTensor.List(c, true);
                Assert.True(CheckpointValidator.Test(path, new ValidateOptions { VerifyCrc = true, CheckValues = true }).IsSafe);

                var rows = LightningCkpt.Data.CheckpointComparer.Compare(c, Checkpoint.Open(path), new LightningCkpt.Data.CompareOptions { IncludeEqual = true }).ToList();
                var net = rows.Single(r => r.Name == "hyper_parameters.net");
                Assert.Equal(DiffStatus.Equal, net.Status);
                Assert.Equal(DiffStatus.Equal, rows.Single(r => r.Name == "hyper_parameters.tree").Status);
                Assert.True(net.ReferenceValue!.Length <= Limits.MaxValueTextLength + 1);

                Assert.True(LightningCkpt.Pickle.PyRepr.Render(c.Root).Length <= 4097);
                var dir = Path.Combine(Path.GetTempPath(), "lightningckpt-dag-" + Guid.NewGuid().ToString("N"));
                Directory.CreateDirectory(dir);
                try
                {
                    var outFile = Path.Combine(dir, "export.ckpt");
                    LightningCkpt.Writing.CheckpointExport.Write(CkptGraph.Load(path), outFile, overwrite: false);
                    Assert.True(new FileInfo(outFile).Length < 4 * c.FileLength + 4096);
                    Assert.Equal(c.AllTensors.Count, Checkpoint.Open(outFile).AllTensors.Count);
                }
                finally { Directory.Delete(dir, true); }
            });
            var first = await System.Threading.Tasks.Task.WhenAny(run, System.Threading.Tasks.Task.Delay(TimeSpan.FromSeconds(60)));
            Assert.True(first == run, "a walk over the shared graph did not finish within 60 s");
            await run;
        }

        [Fact]
        public void PartialIsGradedByWhatItWrapsAndWhetherThePickleCallsIt()
        {
            static GlobalGrade PartialGrade(string file)
            {
                var c = Checkpoint.Open(Path.Combine(MaliciousDir, file));
                return c.GradeOf(c.Globals.Single(g => g.FullName == "functools.partial"));
            }
            Assert.Equal(GlobalGrade.Unknown, PartialGrade("partial_adam_hparams.ckpt"));
            Assert.Equal(GlobalGrade.Dangerous, PartialGrade("partial_of_os_system.pt"));
            Assert.Equal(GlobalGrade.Dangerous, PartialGrade("partial_invoked.pt"));
            // on its own, with nothing known about its use, a partial stays Dangerous
            Assert.Equal(GlobalGrade.Dangerous, GlobalGrades.Grade("functools", "partial"));
        }

        [SkippableFact]
        public void RealHydraPartialOfAnOptimizerIsNotDangerous()
        {
            // functools.partial(adan_pytorch.adan.Adan, …) in the hyper-parameters of a real Lightning checkpoint
            var path = Path.Combine(RepoPaths.RealworldFiles, "VladislavZh__COTIC__checkpoints__last.ckpt");
            Skip.IfNot(File.Exists(path), $"{RepoPaths.RealworldFiles} is absent");
            var c = Checkpoint.Open(path);
            Assert.Contains(c.Globals, g => g.FullName == "functools.partial");
            Assert.DoesNotContain("functools.partial", CkptInfo.From(c).UnsafeGlobals);
            Assert.DoesNotContain(CheckpointValidator.Test(path).Findings, f => f.Severity == FindingSeverity.Dangerous && f.Message.Contains("functools.partial"));
        }

        [Fact]
        public void CorpusIsComplete()
        {
            var listed = Expectations().Keys.ToHashSet();
            var onDisk = Directory.GetFiles(MaliciousDir).Select(Path.GetFileName).Where(n => n != "expect.json").ToHashSet();
            Assert.Equal(onDisk.OrderBy(x => x), listed.OrderBy(x => x));
            Assert.True(listed.Count >= 30);
        }

        public static IEnumerable<object[]> FixtureFiles() =>
            Directory.GetFiles(RepoPaths.FixtureTruth, "*.json").OrderBy(f => f).Select(f => new object[] { Path.GetFileNameWithoutExtension(f) });

        [Theory]
        [MemberData(nameof(FixtureFiles))]
        public void FixtureIsGradedByItsTruth(string file)
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.FixtureTruth, file + ".json")));
            AssertGradedLikeTruth(Path.Combine(RepoPaths.FixtureFiles, file), doc.RootElement);
        }

        public static IEnumerable<object[]> RealworldFiles() =>
            Directory.GetFiles(RepoPaths.RealworldTruth, "*.json").OrderBy(f => f).Select(f => new object[] { Path.GetFileNameWithoutExtension(f) });

        [SkippableTheory]
        [MemberData(nameof(RealworldFiles))]
        public void RealworldFileIsGradedByItsTruth(string file)
        {
            var path = Path.Combine(RepoPaths.RealworldFiles, file);
            Skip.IfNot(File.Exists(path), $"{RepoPaths.RealworldFiles} is absent");
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.RealworldTruth, file + ".json")));
            AssertGradedLikeTruth(path, doc.RootElement);
        }

        /// <summary>
        /// A file torch loaded is valid (no Error finding); it is safe exactly when none of the globals torch's
        /// pickle listed grades Dangerous. A file torch refused is invalid.
        /// </summary>
        private static void AssertGradedLikeTruth(string path, JsonElement truth)
        {
            var r = CheckpointValidator.Test(path, new ValidateOptions { VerifyCrc = true, CheckValues = true });
            Assert.DoesNotContain(r.Findings, f => f.Kind == "InternalError");
            bool torchLoaded = truth.GetProperty("error").ValueKind == JsonValueKind.Null;
            if (!torchLoaded)
            {
                Assert.False(r.IsValid, $"{path}: torch refused it but Test-Ckpt says valid");
                Assert.False(r.IsSafe);
                return;
            }
            Assert.True(r.IsValid, $"{path}: {string.Join("; ", r.Findings.Where(f => f.Severity == FindingSeverity.Error))}");
            // getattr is graded by its call sites (enum members read by Python 3.11+ pickles are not code) and
            // functools.partial by its use (PartialIsGradedByWhatItWrapsAndWhetherThePickleCallsIt): the uses come
            // from our own reading, the globals from torch's; each rule has its own tests
            var lookups = Checkpoint.Open(path).AttributeLookups;
            var dangerous = truth.GetProperty("globals").EnumerateArray().Select(g => g.GetString()!)
                .Where(g => g != "functools.partial")
                .Where(g => GlobalGrades.Grade(new LightningCkpt.Pickle.PyGlobal(g.Substring(0, Math.Max(0, g.LastIndexOf('.'))), g.Substring(g.LastIndexOf('.') + 1)), lookups) == GlobalGrade.Dangerous)
                .ToList();
            // the fixtures of user classes whose __reduce__ calls the class (fakemods.Reduced) run that class's __init__
            // under torch.load(weights_only=False): Suspicious by design; every other genuine file calls nothing unknown
            bool callsUserCode = CallsUserConstructor.Contains(Path.GetFileName(path));
            Assert.Equal(callsUserCode, r.Findings.Any(f => f.Severity == FindingSeverity.Suspicious));
            Assert.Equal(dangerous.Count == 0 && !callsUserCode, r.IsSafe);
            foreach (var g in dangerous) Assert.Contains(r.Findings, f => f.Severity == FindingSeverity.Dangerous && f.Message.Contains(g));
        }

        private static readonly HashSet<string> CallsUserConstructor = new HashSet<string> { "foreign_zip.pt", "foreign_legacy.pt" };

        public static IEnumerable<object[]> SampleFiles() =>
            Directory.Exists(RepoPaths.Samples)
                ? Directory.GetFiles(RepoPaths.Samples, "*.ckpt", SearchOption.AllDirectories).OrderBy(f => f).Select(f => new object[] { Path.GetRelativePath(RepoPaths.Samples, f) })
                : Array.Empty<object[]>();

        [Theory]
        [MemberData(nameof(SampleFiles))]
        public void SampleIsValidAndSafe(string file)
        {
            var r = CheckpointValidator.Test(Path.Combine(RepoPaths.Samples, file), new ValidateOptions { VerifyCrc = true, CheckValues = true });
            Assert.True(r.IsValid && r.IsSafe, string.Join("; ", r.Findings));
            Assert.Equal(LightningCkpt.Container.CheckpointFormat.Zip, r.Format);
        }

        [Theory]
        [InlineData("os", "system")]
        [InlineData("posix", "system")]
        [InlineData("nt", "system")]
        [InlineData("builtins", "exec")]
        [InlineData("__builtin__", "exec")]
        [InlineData("__builtin__", "eval")]
        [InlineData("builtins", "eval")]
        [InlineData("builtins", "getattr")]
        [InlineData("builtins", "__import__")]
        [InlineData("subprocess", "Popen")]
        [InlineData("runpy", "_run_code")]
        [InlineData("pickle", "loads")]
        [InlineData("_pickle", "loads")]
        [InlineData("marshal", "loads")]
        [InlineData("importlib", "import_module")]
        [InlineData("torch", "load")]
        [InlineData("torch.serialization", "load")]
        [InlineData("torch", "serialization.load")]
        [InlineData("torch.storage", "_load_from_bytes")]
        [InlineData("numpy", "load")]
        [InlineData("shutil", "rmtree")]
        [InlineData("webbrowser", "open")]
        [InlineData("socket", "create_connection")]
        [InlineData("functools", "partial")]
        [InlineData("operator", "attrgetter")]
        [InlineData("_operator", "attrgetter")]
        [InlineData("os.path", "join")]
        [InlineData("builtins", "somethingnew")]
        public void DangerousGlobals(string module, string name) => Assert.Equal(GlobalGrade.Dangerous, GlobalGrades.Grade(module, name));

        [Theory]
        [InlineData("collections", "OrderedDict", GlobalGrade.Allowed)]
        [InlineData("torch._utils", "_rebuild_tensor_v2", GlobalGrade.Allowed)]
        [InlineData("torch", "FloatStorage", GlobalGrade.Allowed)]
        [InlineData("torch", "bfloat16", GlobalGrade.Allowed)]
        [InlineData("builtins", "set", GlobalGrade.Allowed)]
        [InlineData("__builtin__", "set", GlobalGrade.Allowed)]
        [InlineData("builtins", "dict", GlobalGrade.Unknown)]
        [InlineData("numpy.core.multiarray", "_reconstruct", GlobalGrade.Unknown)]
        [InlineData("omegaconf.dictconfig", "DictConfig", GlobalGrade.Unknown)]
        [InlineData("pathlib", "PosixPath", GlobalGrade.Unknown)]
        [InlineData("mymodel", "Net", GlobalGrade.Unknown)]
        public void OtherGlobals(string module, string name, GlobalGrade grade) => Assert.Equal(grade, GlobalGrades.Grade(module, name));

        // ---- structural findings on crafted files ----

        private static byte[] TensorPickle(long numel, long size)
        {
            // {'w': _rebuild_tensor_v2(('storage', FloatStorage, '0', 'cpu', numel), 0, (size,), (1,), False, OrderedDict())}
            var p = new PickleBuilder().Proto(2).Op(0x7d).Str("w").Global("torch._utils", "_rebuild_tensor_v2").Op('(')
                .Op('(').Str("storage").Global("torch", "FloatStorage").Str("0").Str("cpu").Int(numel).Op('t').Op('Q')
                .Int(0).Int(size).Op(0x85).Int(1).Op(0x85).Op(0x89).Global("collections", "OrderedDict").Op(')').Op('R').Op('t').Op('R')
                .Op('s').Op('.');
            return p.ToArray();
        }

        private static string Temp(byte[] bytes, string name)
        {
            var dir = Path.Combine(Path.GetTempPath(), "lightningckpt-safety-" + Environment.ProcessId);
            Directory.CreateDirectory(dir);
            var path = Path.Combine(dir, name);
            File.WriteAllBytes(path, bytes);
            return path;
        }

        [Fact]
        public void StorageSmallerThanItsEntryIsAWarning()
        {
            var path = Temp(FuzzZip.Checkpoint(TensorPickle(2, 2), ("0", new byte[16])), "smaller.pt");
            var r = CheckpointValidator.Test(path, new ValidateOptions { VerifyCrc = true });
            Assert.True(r.IsValid && r.IsSafe, string.Join("; ", r.Findings));
            Assert.Contains(r.Findings, f => f.Kind == "StorageSizeMismatch" && f.Severity == FindingSeverity.Warning);
        }

        [Fact]
        public void CrcAndValuesAreChecked()
        {
            var data = new byte[8];
            BitConverter.GetBytes(float.NaN).CopyTo(data, 0);
            BitConverter.GetBytes(float.PositiveInfinity).CopyTo(data, 4);
            var bytes = FuzzZip.Checkpoint(TensorPickle(2, 2), ("0", data));
            var good = Temp(bytes, "nan.pt");
            var r = CheckpointValidator.Test(good, new ValidateOptions { VerifyCrc = true, CheckValues = true });
            Assert.True(r.IsValid, string.Join("; ", r.Findings));
            var nf = Assert.Single(r.Findings, f => f.Kind == "NonFiniteValues");
            Assert.Equal(FindingSeverity.Warning, nf.Severity);
            Assert.Contains("1 NaN and 1 Inf", nf.Message);
            Assert.DoesNotContain(CheckpointValidator.Test(good, new ValidateOptions()).Findings, f => f.Kind == "NonFiniteValues");

            // damage one data byte: only -VerifyCrc sees it
            int at = IndexOf(bytes, data) + 1;
            bytes[at] ^= 0x40;
            var bad = Temp(bytes, "crc.pt");
            Assert.True(CheckpointValidator.Test(bad, new ValidateOptions()).IsValid);
            var rc = CheckpointValidator.Test(bad, new ValidateOptions { VerifyCrc = true });
            Assert.False(rc.IsValid);
            Assert.Contains(rc.Findings, f => f.Kind == "CrcMismatch" && f.Location == "entry 'archive/data/0'");
        }

        [Fact]
        public void DeflatedEntriesAreVerifiedAsStreams()
        {
            var items = new List<FuzzZip.Item>
            {
                new FuzzZip.Item("archive/data.pkl", TensorPickle(2, 2), deflate: true),
                new FuzzZip.Item("archive/data/0", new byte[8], deflate: true),
            };
            var ok = Temp(FuzzZip.Write(items), "deflated.pt");
            var r = CheckpointValidator.Test(ok, new ValidateOptions { VerifyCrc = true, CheckValues = true });
            Assert.True(r.IsValid && r.IsSafe, string.Join("; ", r.Findings));
            items[1].ClaimedSize = 7; // the storage entry inflates to more than recorded
            var r2 = CheckpointValidator.Test(Temp(FuzzZip.Write(items), "deflated-bad.pt"), new ValidateOptions { VerifyCrc = true });
            Assert.False(r2.IsValid);
        }

        [Fact]
        public void FormatProblemsAreClassified()
        {
            Assert.Contains(Test("not_a_checkpoint.pt").Findings, f => f.Kind == "UnknownFormat");
            Assert.Contains(Test("truncated_zip.ckpt").Findings, f => f.Kind == "Truncated");
            Assert.Contains(Test("truncated_legacy.pt").Findings, f => f.Kind == "Truncated");
            Assert.Contains(Test("torchscript_module.pt").Findings, f => f.Kind == "NotACheckpoint");
            var missing = Temp(FuzzZip.Checkpoint(TensorPickle(2, 2)), "missing.pt");
            var r = CheckpointValidator.Test(missing, new ValidateOptions());
            var f0 = Assert.Single(r.Findings);
            Assert.Equal("MissingStorage", f0.Kind);
            Assert.StartsWith("entry 'archive/data.pkl' at offset", f0.Location);
            var nofile = CheckpointValidator.Test(Path.Combine(Path.GetTempPath(), "lightningckpt-no-such-file.pt"), new ValidateOptions());
            Assert.False(nofile.IsValid);
            Assert.Equal("Unreadable", Assert.Single(nofile.Findings).Kind);

            static CkptTestResult Test(string f) => CheckpointValidator.Test(Path.Combine(RepoPaths.FixtureFiles, f), new ValidateOptions());
        }

        [Fact]
        public void UnknownGlobalsAreInfo()
        {
            var r = CheckpointValidator.Test(Path.Combine(RepoPaths.FixtureFiles, "foreign_zip.pt"), new ValidateOptions());
            Assert.True(r.IsValid, string.Join("; ", r.Findings));
            // functools.partial(fakemods.make_scheduler, …): a partial of a plain function the pickle never calls
            Assert.DoesNotContain(r.Findings, f => f.Kind == "DangerousGlobal" && f.Message.Contains("functools.partial"));
            Assert.Contains(r.Findings, f => f.Kind == "UnknownGlobal" && f.Message.Contains("functools.partial"));
            Assert.DoesNotContain(r.Findings, f => f.Message.Contains("__builtin__.long ") || f.Message.Contains("omegaconf") && f.Severity != FindingSeverity.Info);
            Assert.Contains(r.Findings, f => f.Kind == "UnknownGlobal" && f.Severity == FindingSeverity.Info && f.Message.Contains("weights_only=True"));
        }

        private static int IndexOf(byte[] hay, byte[] needle)
        {
            for (int i = 0; i + needle.Length <= hay.Length; i++)
            {
                int k = 0;
                while (k < needle.Length && hay[i + k] == needle[k]) k++;
                if (k == needle.Length) return i;
            }
            throw new InvalidOperationException("not found");
        }
    }

    /// <summary>Writes pickles opcode by opcode.</summary>
    internal sealed class PickleBuilder
    {
        private readonly MemoryStream _ms = new MemoryStream();
        public PickleBuilder Op(int b) { _ms.WriteByte((byte)b); return this; }
        public PickleBuilder Proto(int n) => Op(0x80).Op(n);
        public PickleBuilder Raw(byte[] b) { _ms.Write(b, 0, b.Length); return this; }
        public PickleBuilder Str(string s)
        {
            var b = Encoding.UTF8.GetBytes(s);
            Op('X').Raw(BitConverter.GetBytes(b.Length));
            return Raw(b);
        }
        public PickleBuilder Int(long v) => Op('J').Raw(BitConverter.GetBytes((int)v));
        public PickleBuilder Global(string module, string name) => Op('c').Raw(Encoding.ASCII.GetBytes(module + "\n" + name + "\n"));
        public PickleBuilder Repeat(int b, int count) { for (int i = 0; i < count; i++) _ms.WriteByte((byte)b); return this; }
        public long Length => _ms.Length;
        public byte[] ToArray() => _ms.ToArray();
    }
}

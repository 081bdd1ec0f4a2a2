using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using LightningCkpt.Data;
using LightningCkpt.Torch;
using LightningCkpt.Writing;
using Xunit;

namespace LightningCkpt.Tests
{
    public sealed class WriterTests : IDisposable
    {
        private const string Python = "/usr/bin/python3";
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "ckptwriters-" + Guid.NewGuid().ToString("N"));

        public WriterTests() => Directory.CreateDirectory(_dir);
        public void Dispose() { try { Directory.Delete(_dir, true); } catch { } }

        private static string Fixture(string name) => Path.Combine(RepoPaths.FixtureFiles, name);

        private static bool TorchAvailable()
        {
            if (!File.Exists(Python)) return false;
            try { return RunPython("-c", "import torch").code == 0; } catch { return false; }
        }

        private static (int code, string stdout, string stderr) RunPython(params string[] args)
        {
            var psi = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in args) psi.ArgumentList.Add(a);
            psi.Environment["PYTHONHASHSEED"] = "0";
            using var p = Process.Start(psi)!;
            string o = p.StandardOutput.ReadToEnd(), e = p.StandardError.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, o, e);
        }

        private static string Oracle(params string[] args)
        {
            var all = new[] { Path.Combine(RepoPaths.Fixtures, "writer_oracle.py") }.Concat(args).ToArray();
            var (code, o, e) = RunPython(all);
            Assert.True(code == 0, "oracle failed: " + e);
            return o.Trim();
        }

        private static Dictionary<string, string> Hashes(Checkpoint c)
        {
            using var r = new TensorDataReader(c);
            return c.View.Weights.ToDictionary(w => w.Name, w => r.Sha256(w.Tensor));
        }

        private string Out(string name) => Path.Combine(_dir, name);

        private static string MapJson(IEnumerable<SelectedTensor> sel, string? cast)
        {
            var sb = new StringBuilder("{\"map\":{");
            sb.Append(string.Join(",", sel.Select(s => Q(s.Name) + ":" + Q(s.OriginalName))));
            sb.Append("},\"cast\":").Append(cast == null ? "null" : Q(cast)).Append('}');
            return sb.ToString();
        }

        private static string Q(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

        [Theory]
        [InlineData("dtypes_zip.pt")]
        [InlineData("views_shared_zip.pt")]
        [InlineData("views_shared_legacy.pt")]
        [InlineData("params_zip.pt")]
        [InlineData("lightning2_full.ckpt")]
        [InlineData("synthetic_bigendian.pt")]
        [InlineData("synthetic_v3_dtypes.pt")]
        [InlineData("dtypes_legacy.pt")]
        public void TorchZipRoundTripsHashesAndSharing(string fixture)
        {
            var src = Checkpoint.Open(Fixture(fixture));
            var sel = WeightSelection.Select(src, new SelectOptions());
            Assert.NotEmpty(sel);
            string outFile = Out(Path.GetFileNameWithoutExtension(fixture) + ".out.pt");
            WeightSelection.Write(src, sel, new SelectOptions(), outFile, WeightsFileFormat.TorchZip, false);

            var back = Checkpoint.Open(outFile);
            var a = Hashes(src);
            var b = Hashes(back);
            Assert.Equal(sel.Select(s => s.Name), back.View.Weights.Select(w => w.Name));
            foreach (var s in sel) Assert.Equal(a[s.OriginalName], b[s.Name]);
            // each distinct source storage written once
            int distinct = sel.Select(s => s.Tensor.Storage!.ViewRoot ?? s.Tensor.Storage!).Distinct().Count();
            Assert.Equal(distinct, back.Storages.Count);
            Assert.Equal(Enumerable.Range(0, distinct).Select(i => i.ToString()), back.Storages.Select(s => s.Key));
            // every payload on a 64-byte boundary
            Assert.All(back.Storages, s => Assert.Equal(0, s.FileOffset % 64));

            // torch 1.13 has no _rebuild_tensor_v3 and does not byteswap big-endian sources: those are proven by the hashes above
            if (fixture == "synthetic_v3_dtypes.pt" || fixture == "synthetic_bigendian.pt" || !TorchAvailable()) return;
            var json = Oracle("compare", Fixture(fixture), outFile, MapJson(sel, null));
            Assert.Contains("\"mismatch\": []", json);
            if (fixture.StartsWith("views_shared"))
                Assert.Matches("\"shared_pairs\": [1-9]", json);
        }

        [SkippableFact]
        public void ZipEntriesMatchTorchLayout()
        {
            var src = Checkpoint.Open(Fixture("params_zip.pt"));
            string outFile = Out("epoch=3-step=500.ckpt");
            WeightSelection.Write(src, WeightSelection.Select(src, new SelectOptions()), new SelectOptions(), outFile, WeightsFileFormat.TorchZip, false);
            using var z = System.IO.Compression.ZipFile.OpenRead(outFile);
            var names = z.Entries.Select(e => e.FullName).ToList();
            Assert.Equal("epoch=3-step=500/data.pkl", names[0]);
            Assert.Equal(new[] { ".format_version", ".storage_alignment", "byteorder" }, names.Skip(1).Take(3).Select(n => n.Substring(n.IndexOf('/') + 1)));
            Assert.EndsWith("/version", names[names.Count - 2]);
            Assert.EndsWith("/.data/serialization_id", names[names.Count - 1]);
            foreach (var e in z.Entries)
            {
                using var s = e.Open();
                var ms = new MemoryStream();
                s.CopyTo(ms); // System.IO.Compression checks the CRC-32 at the end of the stream
                if (e.Name == "serialization_id") Assert.Matches("^[0-9]{40}$", Encoding.ASCII.GetString(ms.ToArray()));
                if (e.Name == "version") Assert.Equal("3\n", Encoding.ASCII.GetString(ms.ToArray()));
            }
            Skip.IfNot(TorchAvailable(), "no torch");
            var (code, _, err) = RunPython("-c", "import sys,zipfile,torch; zipfile.ZipFile(sys.argv[1]).testzip() is None or sys.exit(3); torch.load(sys.argv[1], weights_only=True)", outFile);
            Assert.True(code == 0, err);
        }

        [SkippableFact]
        public void StripPrefixFilterAndCastAreLoadedExactlyByTorch()
        {
            var src = Checkpoint.Open(Fixture("lightning2_full.ckpt"));
            foreach (var cast in new[] { DType.Float16, DType.BFloat16, DType.Float64 })
            {
                var opt = new SelectOptions { Filter = n => n.Contains("encoder"), StripPrefixes = new[] { "model." }, AddPrefix = "backbone.", CastTo = cast };
                var sel = WeightSelection.Select(src, opt);
                Assert.All(sel, s => Assert.StartsWith("backbone.encoder.", s.Name));
                string outFile = Out("cast_" + cast.Name + ".pt");
                WeightSelection.Write(src, sel, opt, outFile, WeightsFileFormat.TorchZip, false);
                var back = Checkpoint.Open(outFile);
                foreach (var w in back.View.Weights)
                    Assert.Equal(w.Name.EndsWith("num_batches_tracked") ? DType.Int64 : cast, w.Tensor.DType);
                if (!TorchAvailable()) continue;
                var json = Oracle("compare", Fixture("lightning2_full.ckpt"), outFile, MapJson(sel, cast.Name));
                Assert.Contains("\"mismatch\": []", json);
            }
            Skip.IfNot(TorchAvailable(), "no torch");
        }

        [SkippableFact]
        public void KeepMetadataWritesWeightsOnlyLightningFile()
        {
            var src = Checkpoint.Open(Fixture("lightning2_full.ckpt"));
            var warnings = new List<string>();
            var opt = new SelectOptions { KeepMetadata = true, Warn = warnings.Add };
            string outFile = Out("meta.ckpt");
            WeightSelection.Write(src, WeightSelection.Select(src, opt), opt, outFile, WeightsFileFormat.TorchZip, false);
            var back = Checkpoint.Open(outFile);
            Assert.True(back.View.IsLightning);
            Assert.Equal(src.View.Epoch, back.View.Epoch);
            Assert.Equal(src.View.GlobalStep, back.View.GlobalStep);
            Assert.Equal(src.View.LightningVersion, back.View.LightningVersion);
            Assert.NotNull(back.View.HyperParameters);
            Assert.All(back.Globals, g => Assert.Contains(g.FullName, new[] { "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch.FloatStorage", "torch.LongStorage", "_codecs.encode", "builtins.set", "builtins.complex" }));
            Skip.IfNot(TorchAvailable(), "no torch");
            var json = Oracle("meta", outFile);
            Assert.Contains($"\"epoch\": {src.View.Epoch}", json);
            Assert.Contains($"\"global_step\": {src.View.GlobalStep}", json);
            Assert.Contains("\"hp_type\": \"dict\"", json);
            Assert.Contains("'lr': 0.001", json);
            Assert.Contains("backbone", json); // an object among the hyper-parameters: converted to a dict of its fields, not dropped
            Assert.Matches("\"weights_only\": true|BINFLOAT unsupported", json);
            Assert.Contains(warnings, w => w.Contains("backbone"));
            Assert.Contains("\"state_dict_type\": \"OrderedDict\"", json);
        }

        [SkippableFact]
        public void SafetensorsFollowsTheSpec()
        {
            var src = Checkpoint.Open(Fixture("views_shared_zip.pt"));
            var opt = new SelectOptions { Filter = n => n != "c128_slice" };
            var sel = WeightSelection.Select(src, opt);
            string outFile = Out("v.safetensors");
            Assert.Equal(WeightsFileFormat.Safetensors, WeightSelection.FormatFor(outFile));
            WeightSelection.Write(src, sel, opt, outFile, WeightsFileFormat.Safetensors, false);

            // independent reader, written from the spec
            var bytes = File.ReadAllBytes(outFile);
            long n = BitConverter.ToInt64(bytes, 0);
            Assert.Equal(0, (8 + n) % 8);
            string header = Encoding.UTF8.GetString(bytes, 8, (int)n);
            Assert.StartsWith("{\"__metadata__\":{\"format\":\"pt\",\"source\":\"views_shared_zip.pt\"}", header);
            Assert.Equal(header.TrimEnd(' ').Length, header.TrimEnd(' ').LastIndexOf('}') + 1);
            var entries = Regex.Matches(header, "\"([^\"]+)\":\\{\"dtype\":\"([A-Z0-9_]+)\",\"shape\":\\[([0-9,]*)\\],\"data_offsets\":\\[([0-9]+),([0-9]+)\\]\\}")
                .Cast<Match>().Select(m => (name: m.Groups[1].Value, dtype: m.Groups[2].Value, b: long.Parse(m.Groups[4].Value), e: long.Parse(m.Groups[5].Value))).ToList();
            Assert.Equal(sel.Count, entries.Count);
            long expect = 0;
            foreach (var e in entries) { Assert.Equal(expect, e.b); expect = e.e; }
            Assert.Equal(bytes.Length - 8 - n, expect); // no holes, nothing after
            var srcHashes = Hashes(src);
            using var sha = System.Security.Cryptography.SHA256.Create();
            foreach (var e in entries)
            {
                var h = sha.ComputeHash(bytes, (int)(8 + n + e.b), (int)(e.e - e.b));
                Assert.Equal(srcHashes[e.name], string.Concat(h.Select(x => x.ToString("x2"))));
            }
            // sorted by width descending, then name
            var widths = entries.Select(e => DType.FromSafetensorsName(e.dtype)!.ItemSize).ToList();
            for (int i = 1; i < entries.Count; i++)
                Assert.True(widths[i - 1] > widths[i] || (widths[i - 1] == widths[i] && string.CompareOrdinal(entries[i - 1].name, entries[i].name) < 0));

            Skip.IfNot(TorchAvailable(), "no torch");
            Assert.Contains("\"mismatch\": []", Oracle("compare", Fixture("views_shared_zip.pt"), outFile, MapJson(sel, null)));
        }

        [Fact]
        public void SafetensorsRefusesDtypesWithoutTag()
        {
            var src = Checkpoint.Open(Fixture("dtypes_zip.pt"));
            var sel = WeightSelection.Select(src, new SelectOptions());
            var ex = Assert.Throws<WeightsRequestException>(() => WeightSelection.Write(src, sel, new SelectOptions(), Out("x.safetensors"), WeightsFileFormat.Safetensors, false));
            Assert.Equal(WeightsRequestProblem.DTypeNotWritable, ex.Problem);
            Assert.Contains("complex128", ex.Message);
            Assert.False(File.Exists(Out("x.safetensors")));
            Assert.Empty(Directory.GetFiles(_dir));
        }

        [Theory]
        [InlineData(false, WeightsFileFormat.TorchZip)]
        [InlineData(true, WeightsFileFormat.TorchZip)]
        [InlineData(false, WeightsFileFormat.Safetensors)]
        [InlineData(true, WeightsFileFormat.Safetensors)]
        public void InjectedFailureAtAnyPointLeavesNoPartialFileAndInputUntouched(bool targetExists, WeightsFileFormat format)
        {
            string input = Out("input.ckpt");
            File.Copy(Fixture("lightning2_full.ckpt"), input);
            var before = File.ReadAllBytes(input);
            var src = Checkpoint.Open(input);
            var sel = WeightSelection.Select(src, new SelectOptions());
            // same file name as the failing writes: a torch zip's root folder is named after its file
            string full = Path.Combine(Directory.CreateDirectory(Out("reference")).FullName, "out.ckpt");
            WeightSelection.Write(src, sel, new SelectOptions(), full, format, false);
            long size = new FileInfo(full).Length;
            // from the first byte through headers, data and the central directory to the last byte
            foreach (long failAt in new[] { 0, 1, 64, size / 4, size / 2, 3 * size / 4, size - 1 })
            {
                string outFile = Out("out.ckpt");
                if (File.Exists(outFile)) File.Delete(outFile);
                byte[]? old = null;
                if (targetExists) { old = Encoding.ASCII.GetBytes("previous"); File.WriteAllBytes(outFile, old); }
                WriterHooks.FailAfterBytes = failAt;
                try
                {
                    Assert.Throws<CheckpointWriteException>(() => WeightSelection.Write(src, sel, new SelectOptions(), outFile, format, true));
                }
                finally { WriterHooks.FailAfterBytes = null; }
                Assert.Equal(before, File.ReadAllBytes(input));
                if (targetExists) Assert.Equal(old, File.ReadAllBytes(outFile));
                else Assert.False(File.Exists(outFile), $"a partial target exists after a failure at byte {failAt}");
                Assert.Empty(Directory.GetFiles(_dir, "*.tmp", SearchOption.AllDirectories));
                // without the hook the same call succeeds
                WeightSelection.Write(src, sel, new SelectOptions(), outFile, format, true);
                Assert.Equal(File.ReadAllBytes(full), File.ReadAllBytes(outFile));
            }
        }

        [Fact]
        public void RefusesExistingTargetAndTheSourceItself()
        {
            var src = Checkpoint.Open(Fixture("params_zip.pt"));
            var sel = WeightSelection.Select(src, new SelectOptions());
            string outFile = Out("exists.pt");
            File.WriteAllText(outFile, "keep");
            var ex = Assert.Throws<CheckpointWriteException>(() => WeightSelection.Write(src, sel, new SelectOptions(), outFile, WeightsFileFormat.TorchZip, false));
            Assert.Contains("already exists", ex.Message);
            Assert.Equal("keep", File.ReadAllText(outFile));
            Assert.Equal(CheckpointWriteErrorKind.OutputIsInput, Assert.Throws<CheckpointWriteException>(() => WeightSelection.Write(src, sel, new SelectOptions(), src.FilePath, WeightsFileFormat.TorchZip, true)).Kind);
        }

        [Fact]
        public void DuplicateNamesAfterRenamingAreRejected()
        {
            var src = Checkpoint.Open(Fixture("lightning2_full.ckpt"));
            var ex = Assert.Throws<WeightsRequestException>(() =>
                WeightSelection.Select(src, new SelectOptions { StripPrefixes = new[] { "model.encoder.0.", "model.encoder.1." } }));
            Assert.Equal(WeightsRequestProblem.NameCollision, ex.Problem);
            Assert.Contains("would both be written as", ex.Message);
            Assert.Throws<ArgumentException>(() => WeightSelection.Select(src, new SelectOptions { CastTo = DType.Int32 }));
        }

        [Theory]
        [InlineData(1.0f, 0x3C00)]
        [InlineData(65504f, 0x7BFF)]
        [InlineData(65519.99f, 0x7BFF)]
        [InlineData(65520f, 0x7C00)]
        [InlineData(1.00048828125f, 0x3C00)]   // 1 + 2^-11: tie, rounds to even
        [InlineData(1.00146484375f, 0x3C02)]   // 1 + 3·2^-11: tie, rounds up to even
        [InlineData(5.9604645e-8f, 0x0001)]    // smallest subnormal
        [InlineData(2.9802322e-8f, 0x0000)]    // half of it: tie to even zero
        [InlineData(-2f, 0xC000)]
        public void HalfRoundsToNearestEven(float f, int bits) => Assert.Equal(bits, ElementEncoder.ToHalf(f));

        [Theory]
        [InlineData(1.0f, 0x3F80)]
        [InlineData(1.00390625f, 0x3F80)]      // 1 + 2^-8: tie to even
        [InlineData(1.01171875f, 0x3F82)]      // 1 + 3·2^-8: tie up
        [InlineData(float.MaxValue, 0x7F80)]
        [InlineData(-0.0f, 0x8000)]
        public void BFloat16RoundsToNearestEven(float f, int bits) => Assert.Equal(bits, ElementEncoder.ToBFloat16(f));

        private static string[] SampleCheckpoints() =>
            Directory.GetFiles(Path.Combine(RepoPaths.Samples, "lightning_logs", "version_0", "checkpoints"), "*.ckpt").OrderBy(x => x, StringComparer.Ordinal).ToArray();

        [SkippableFact]
        public void AverageMatchesTorchMean()
        {
            var files = SampleCheckpoints();
            Skip.If(files.Length < 2, "need two sample checkpoints");
            var inputs = files.Select(Checkpoint.Open).ToList();
            var warnings = new List<string>();
            foreach (var fmt in new[] { WeightsFileFormat.TorchZip, WeightsFileFormat.Safetensors })
            {
                string outFile = Out(fmt == WeightsFileFormat.TorchZip ? "avg.pt" : "avg.safetensors");
                WeightsAverager.Merge(inputs, null, outFile, fmt, false, warnings.Add);
                if (fmt == WeightsFileFormat.TorchZip)
                {
                var back = Checkpoint.Open(outFile);
                Assert.Equal(inputs[0].View.Weights.Select(w => w.Name).OrderBy(x => x, StringComparer.Ordinal), back.View.Weights.Select(w => w.Name).OrderBy(x => x, StringComparer.Ordinal));
                }
                if (!TorchAvailable()) continue;
                var json = Oracle(new[] { "average", outFile }.Concat(files).ToArray());
                Assert.Contains("\"mismatch\": []", json);
            }
            Skip.IfNot(TorchAvailable(), "no torch");
        }

        [Fact]
        public void AverageOfOneWithWeightOneIsIdentity()
        {
            var src = Checkpoint.Open(Fixture("lightning2_full.ckpt"));
            WeightsAverager.Merge(new[] { src, src }, new[] { 0.25, 0.75 }, Out("same.pt"), WeightsFileFormat.TorchZip, false, null);
            var a = Hashes(src);
            var b = Hashes(Checkpoint.Open(Out("same.pt")));
            Assert.Equal(a.OrderBy(x => x.Key), b.OrderBy(x => x.Key));
            Assert.Throws<ArgumentException>(() => WeightsAverager.Merge(new[] { src, src }, new[] { 0.5, 0.6 }, Out("bad.pt"), WeightsFileFormat.TorchZip, false, null));
        }

        [Fact]
        public void AverageNamesTheFirstMismatch()
        {
            var a = Checkpoint.Open(Fixture("lightning2_full.ckpt"));
            var b = Checkpoint.Open(Fixture("params_zip.pt"));
            var ex = Assert.Throws<WeightsRequestException>(() => WeightsAverager.Merge(new[] { a, b }, null, Out("m.pt"), WeightsFileFormat.TorchZip, false, null));
            Assert.Equal(WeightsRequestProblem.MergeMismatch, ex.Problem);
            Assert.Contains(a.View.Weights[0].Name, ex.Message);
            Assert.False(File.Exists(Out("m.pt")));
        }

        [Fact]
        public void A_selection_that_matches_nothing_writes_no_file()
        {
            var src = Checkpoint.Open(Fixture("lightning2_full.ckpt"));
            var options = new SelectOptions { Filter = _ => false };
            var sel = WeightSelection.Select(src, options);
            Assert.Empty(sel);
            var ex = Assert.Throws<WeightsRequestException>(() => WeightSelection.Write(src, sel, options, Out("empty.pt"), WeightsFileFormat.TorchZip, false));
            Assert.Equal(WeightsRequestProblem.NoWeightsSelected, ex.Problem);
            Assert.Empty(Directory.GetFiles(_dir));
        }

        [Fact]
        public void Describe_reports_the_cast_dtype_and_its_sizes()
        {
            var src = Checkpoint.Open(Fixture("dtypes_zip.pt"));
            var options = new SelectOptions { CastTo = DType.Float16 };
            var described = WeightSelection.Describe(src, WeightSelection.Select(src, options), options);
            foreach (var t in described)
            {
                var original = src.View.Weights.Single(w => w.Name == t.Name).Tensor;
                // floating tensors are cast; integers, bool and complex keep their dtype, as Write does
                var expected = WeightSelection.OutputDType(original, DType.Float16);
                Assert.Equal(expected.Name, t.DType);
                Assert.Equal(expected.BytesFor(original.Numel), t.Bytes);
            }
            Assert.Contains(described, t => t.Name == "float32" && t.DType == "float16");
            Assert.Contains(described, t => t.Name == "int64" && t.DType == "int64");
        }
    }
}

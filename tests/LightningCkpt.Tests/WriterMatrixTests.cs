using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using LightningCkpt.Pickle;
using LightningCkpt.Torch;
using LightningCkpt.Writing;
using Xunit;
using Xunit.Abstractions;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// Source files written by torch 2.x itself (writer_matrix.py make), made once per test run: every dtype of torch
    /// 2.x (two variants each, for merging), conj/neg views, sparse/meta/nested/quantized tensors, torch.Size values
    /// and a Lightning checkpoint whose hyper-parameters hold the classes weights_only refuses.
    /// </summary>
    public sealed class WriterMatrixSources : IDisposable
    {
        public string Dir { get; } = Path.Combine(Path.GetTempPath(), "ckpt-writer-matrix-" + Guid.NewGuid().ToString("N").Substring(0, 8));
        private readonly Lazy<string?> _made;

        public WriterMatrixSources()
        {
            _made = new Lazy<string?>(() =>
            {
                Directory.CreateDirectory(Dir);
                var script = Path.Combine(RepoPaths.Fixtures, "writer_matrix.py");
                int code = TorchOracle.Torch2.Run($"-W ignore \"{script}\" make \"{Dir}\"", out var log);
                return code == 0 ? null : log;
            });
        }

        /// <summary>Makes the sources (torch 2.x must be available); fails the test when the generator fails.</summary>
        public void Ensure()
        {
            Skip.IfNot(TorchOracle.Torch2.Available, TorchOracle.Torch2.SkipReason);
            Assert.True(_made.Value == null, "writer_matrix.py make failed: " + _made.Value);
        }

        public string File(string name) => Path.Combine(Dir, name);

        public IEnumerable<string> DTypes => Directory.GetFiles(Dir, "dtype_*.pt")
            .Select(f => Path.GetFileNameWithoutExtension(f).Substring(6))
            .Where(n => !n.EndsWith("_b", StringComparison.Ordinal)).OrderBy(n => n, StringComparer.Ordinal);

        public void Dispose()
        {
            try { Directory.Delete(Dir, true); } catch (IOException) { }
        }
    }

    /// <summary>
    /// Everything the writers produce, judged by torch 1.13 and 2.x as users load it (torch.load with weights_only=True)
    /// and compared with what torch itself makes of the same sources (writer_matrix.py check). torch 1.13 must load
    /// every output whose source it can load (the dtypes it holds), and equal it.
    /// </summary>
    public sealed class WriterMatrixTests : IClassFixture<WriterMatrixSources>, IDisposable
    {
        private readonly WriterMatrixSources _src;
        private readonly ITestOutputHelper _log;
        private readonly string _out = Path.Combine(Path.GetTempPath(), "ckpt-writer-out-" + Guid.NewGuid().ToString("N").Substring(0, 8));

        public WriterMatrixTests(WriterMatrixSources sources, ITestOutputHelper log)
        {
            _src = sources;
            _log = log;
            Directory.CreateDirectory(_out);
        }

        public void Dispose()
        {
            try { Directory.Delete(_out, true); } catch (IOException) { }
        }

        private sealed class Spec
        {
            public string Out = "", Kind = "";
            public string[] Sources = Array.Empty<string>();
            public Dictionary<string, string>? Names;
            public string? Cast;
            public bool Meta;

            public string Json()
            {
                var o = new Dictionary<string, object?> { ["out"] = Out, ["kind"] = Kind, ["sources"] = Sources, ["names"] = Names, ["cast"] = Cast, ["meta"] = Meta };
                return JsonSerializer.Serialize(o);
            }
        }

        private string Out(string name) => Path.Combine(_out, name);

        private Spec Export(string source, string name)
        {
            var outFile = Out(name + ".export.pt");
            CheckpointExport.Write(CkptGraph.Load(_src.File(source)), outFile, overwrite: false);
            return new Spec { Out = outFile, Kind = "export", Sources = new[] { _src.File(source) } };
        }

        private Spec SafeExport(string sourcePath, string name)
        {
            var outFile = Out(name + ".safe.pt");
            var export = CheckpointExport.Prepare(CkptGraph.Load(sourcePath), safeTypes: true);
            export.Write(outFile, overwrite: false);
            foreach (var line in export.Conversions) _log.WriteLine(name + ": " + line);
            return new Spec { Out = outFile, Kind = "safetypes", Sources = new[] { sourcePath } };
        }

        private Spec Select(string source, string name, DType? cast = null, bool safetensors = false, bool keepMetadata = false)
        {
            var c = Checkpoint.Open(_src.File(source));
            var options = new SelectOptions { CastTo = cast, KeepMetadata = keepMetadata };
            var sel = WeightSelection.Select(c, options);
            var outFile = Out(name + (cast != null ? "." + cast.Name : "") + (keepMetadata ? ".meta" : "") + (safetensors ? ".safetensors" : ".pt"));
            WeightSelection.Write(c, sel, options, outFile, safetensors ? WeightsFileFormat.Safetensors : WeightsFileFormat.TorchZip, false);
            return new Spec
            {
                Out = outFile, Kind = "select", Sources = new[] { _src.File(source) }, Cast = cast?.Name, Meta = keepMetadata,
                Names = sel.ToDictionary(s => s.Name, s => s.OriginalName),
            };
        }

        private Spec Merge(string a, string b, string name)
        {
            var inputs = new[] { Checkpoint.Open(_src.File(a)), Checkpoint.Open(_src.File(b)) };
            var outFile = Out(name + ".merge.pt");
            WeightsAverager.Merge(inputs, null, outFile, WeightsFileFormat.TorchZip, false, null);
            return new Spec
            {
                Out = outFile, Kind = "merge", Sources = new[] { _src.File(a), _src.File(b) },
                Names = inputs[0].View.Weights.ToDictionary(w => w.Name, w => w.Name),
            };
        }

        /// <summary>Runs the check for every spec in one oracle process; returns "" per passing spec, else the reason.</summary>
        private List<string> Judge(TorchOracle oracle, IReadOnlyList<Spec> specs)
        {
            var script = Path.Combine(RepoPaths.Fixtures, "writer_matrix.py");
            var input = new StringBuilder();
            foreach (var s in specs) input.Append(s.Json()).Append('\n');
            int code = oracle.Run($"-W ignore \"{script}\" check", out var output, input.ToString());
            Assert.True(code == 0, "writer_matrix.py check failed: " + output);
            var lines = output.Split('\n').Where(l => l.StartsWith("{", StringComparison.Ordinal)).ToList();
            Assert.Equal(specs.Count, lines.Count);
            var result = new List<string>();
            for (int i = 0; i < specs.Count; i++)
            {
                using var doc = JsonDocument.Parse(lines[i]);
                var v = doc.RootElement;
                bool loaded = v.GetProperty("loaded").GetBoolean(), sourceLoaded = v.GetProperty("source_loaded").GetBoolean();
                var diff = v.GetProperty("diff").EnumerateArray().Select(d => d.GetString()).ToList();
                string error = v.GetProperty("error").GetString() ?? "";
                string name = Path.GetFileName(specs[i].Out);
                if (!loaded && (oracle.IsTorch2 || TorchOneHolds(specs[i])))
                    result.Add($"{name}: torch refuses it: {error}");
                else if (loaded && !sourceLoaded && oracle.IsTorch2)
                    result.Add($"{name}: the source did not load: {error}");
                else if (diff.Count > 0)
                    result.Add($"{name}: differs from torch: {string.Join("; ", diff)}");
                else result.Add("");
            }
            return result;
        }

        /// <summary>torch 1.13 can hold what it can load the source of (v3-only dtypes it cannot): asked of torch 1.13 itself.</summary>
        private bool TorchOneHolds(Spec s)
        {
            var script = "import torch,sys\n" + string.Join("\n", s.Sources.Select(p => $"torch.load({JsonSerializer.Serialize(p)}, map_location='cpu')"));
            return TorchOracle.Torch1.Run("-W ignore -", out _, script) == 0;
        }

        private void AssertAll(string oracleName, IReadOnlyList<Spec> specs)
        {
            var oracle = TorchOracle.Named(oracleName);
            Skip.IfNot(oracle.Available, oracle.SkipReason);
            var verdicts = Judge(oracle, specs);
            var failures = verdicts.Where(v => v.Length > 0).ToList();
            _log.WriteLine($"{oracle.Label} {oracle.Version}: {specs.Count - failures.Count} of {specs.Count} outputs load with weights_only=True and equal torch's result");
            Assert.True(failures.Count == 0, string.Join("\n", failures));
        }

        private static bool CanCast(string dtype) => DType.FromName(dtype) is { } d && d.IsFloatingPoint;

        [SkippableTheory]
        [MemberData(nameof(TorchOracle.Both), MemberType = typeof(TorchOracle))]
        public void ExportOfEveryDTypeLoadsAndEqualsTorch(string oracle)
        {
            _src.Ensure();
            AssertAll(oracle, _src.DTypes.Select(d => Export($"dtype_{d}.pt", d)).ToList());
        }

        [SkippableTheory]
        [MemberData(nameof(TorchOracle.Both), MemberType = typeof(TorchOracle))]
        public void SelectOfEveryDTypeLoadsAndEqualsTorch(string oracle)
        {
            _src.Ensure();
            AssertAll(oracle, _src.DTypes.Select(d => Select($"dtype_{d}.pt", d)).ToList());
        }

        [SkippableTheory]
        [MemberData(nameof(TorchOracle.Both), MemberType = typeof(TorchOracle))]
        public void SelectCastsEqualTorchsToIncludingNaNBits(string oracle)
        {
            _src.Ensure();
            var specs = new List<Spec>();
            foreach (var d in _src.DTypes.Where(CanCast))
                foreach (var to in new[] { DType.Float16, DType.BFloat16, DType.Float32, DType.Float64 })
                    specs.Add(Select($"dtype_{d}.pt", d, to));
            AssertAll(oracle, specs);
        }

        [SkippableFact]
        public void SafetensorsOutputsLoadInSafetensorsAndEqualTorch()
        {
            _src.Ensure();
            var specs = _src.DTypes.Where(d => DType.FromName(d)?.SafetensorsName != null).Select(d => Select($"dtype_{d}.pt", d, safetensors: true)).ToList();
            AssertAll("torch2", specs);
        }

        [SkippableTheory]
        [MemberData(nameof(TorchOracle.Both), MemberType = typeof(TorchOracle))]
        public void MergeOfEveryAveragedOrKeptDTypeLoadsAndEqualsTorch(string oracle)
        {
            _src.Ensure();
            var specs = new List<Spec>();
            // every dtype, the five float8 formats averaged (fnuz and e8m0fnu were refused for want of an encoder)
            foreach (var d in _src.DTypes) specs.Add(Merge($"dtype_{d}.pt", $"dtype_{d}_b.pt", d));
            AssertAll(oracle, specs);
        }

        [SkippableTheory]
        [MemberData(nameof(TorchOracle.Both), MemberType = typeof(TorchOracle))]
        public void ConjugateAndNegativeViewsAreWrittenResolved(string oracle)
        {
            _src.Ensure();
            AssertAll(oracle, new[] { Export("conjneg.pt", "conjneg"), Select("conjneg.pt", "conjneg") });
        }

        [SkippableTheory]
        [MemberData(nameof(TorchOracle.Both), MemberType = typeof(TorchOracle))]
        public void SafeTypesExportOfLightningClassesLoadsAndKeepsEveryValue(string oracle)
        {
            _src.Ensure();
            AssertAll(oracle, new[] { SafeExport(_src.File("lightning_types.ckpt"), "lightning_types") });
        }

        /// <summary>
        /// Every real-world file torch 1.13 could load (their classes stubbed): its -SafeTypes copy loads with
        /// weights_only=True and holds every tensor of the original (by sha256, from the corpus truth) under the same
        /// top-level keys.
        /// </summary>
        [SkippableTheory]
        [MemberData(nameof(TorchOracle.Both), MemberType = typeof(TorchOracle))]
        public void SafeTypesCopiesOfTheRealworldCorpusLoadAndKeepEveryTensor(string oracleName)
        {
            var oracle = TorchOracle.Named(oracleName);
            Skip.IfNot(Directory.Exists(RepoPaths.RealworldFiles), $"{RepoPaths.RealworldFiles} is absent");
            Skip.IfNot(oracle.Available, oracle.SkipReason);
            var specs = new List<(Spec spec, JsonElement truth)>();
            var docs = new List<JsonDocument>();
            foreach (var file in GraphExportTests.LoadableRealworldFiles())
            {
                var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.RealworldTruth, Path.GetFileName(file) + ".json")));
                docs.Add(doc);
                var spec = SafeExport(file, Path.GetFileName(file));
                spec.Kind = "loads";
                specs.Add((spec, doc.RootElement));
            }
            Assert.True(specs.Count >= 40, $"only {specs.Count} real-world files were exported");
            var script = Path.Combine(RepoPaths.Fixtures, "writer_matrix.py");
            int code = oracle.Run($"-W ignore \"{script}\" check", out var output, string.Join("\n", specs.Select(s => s.spec.Json())) + "\n");
            Assert.True(code == 0, "writer_matrix.py check failed: " + output);
            var lines = output.Split('\n').Where(l => l.StartsWith("{", StringComparison.Ordinal)).ToList();
            Assert.Equal(specs.Count, lines.Count);
            var failures = new List<string>();
            var limited = new List<string>(); // torch 1.13 refuses torch.save's own file of the same data too
            for (int i = 0; i < specs.Count; i++)
            {
                using var verdict = JsonDocument.Parse(lines[i]);
                var v = verdict.RootElement;
                string name = Path.GetFileName(specs[i].spec.Sources[0]);
                if (!v.GetProperty("loaded").GetBoolean())
                {
                    if (!v.GetProperty("torch_refuses_its_own").GetBoolean()) { failures.Add($"{name}: torch refuses it: {v.GetProperty("error").GetString()}"); continue; }
                    limited.Add($"{name} ({v.GetProperty("error").GetString()})");
                }
                var truth = specs[i].truth;
                var got = new HashSet<string>(v.GetProperty("tensors").EnumerateArray().Select(x => x.GetString()!));
                var missing = truth.GetProperty("tensors").EnumerateArray()
                    .Where(t => t.GetProperty("layout").GetString() == "strided" && t.TryGetProperty("sha256", out var h) && h.ValueKind == JsonValueKind.String && !got.Contains(h.GetString()!))
                    .Select(t => t.GetProperty("path").GetString()).ToList();
                if (missing.Count > 0) failures.Add($"{name}: {missing.Count} tensors lost, e.g. {string.Join(", ", missing.Take(3))}");
                if (truth.GetProperty("top_level_keys").ValueKind == JsonValueKind.Array)
                {
                    var keys = truth.GetProperty("top_level_keys").EnumerateArray().Select(k => k.ToString()).ToList();
                    var outKeys = v.GetProperty("keys").EnumerateArray().Select(k => k.GetString()).ToList();
                    if (!keys.SequenceEqual(outKeys)) failures.Add($"{name}: top-level keys {string.Join(",", outKeys)} instead of {string.Join(",", keys)}");
                }
            }
            foreach (var d in docs) d.Dispose();
            _log.WriteLine($"{oracle.Label}: {specs.Count - failures.Count - limited.Count} of {specs.Count} real-world -SafeTypes copies load with weights_only=True and keep every tensor; "
                + $"{limited.Count} hold values this torch's weights_only loader refuses in torch.save's own files too:\n  " + string.Join("\n  ", limited));
            Assert.True(failures.Count == 0, string.Join("\n", failures));
        }

        [SkippableTheory]
        [MemberData(nameof(TorchOracle.Both), MemberType = typeof(TorchOracle))]
        public void KeepMetadataConvertsHyperParametersInsteadOfDroppingThem(string oracle)
        {
            _src.Ensure();
            AssertAll(oracle, new[] { Select("lightning_types.ckpt", "lightning_types", keepMetadata: true) });
        }

        [SkippableTheory]
        [MemberData(nameof(TorchOracle.Both), MemberType = typeof(TorchOracle))]
        public void ExportCarriesSparseMetaNestedAndQuantizedTensors(string oracle)
        {
            _src.Ensure();
            AssertAll(oracle, new[] { Export("special.pt", "special") });
        }

        [SkippableTheory]
        [MemberData(nameof(TorchOracle.Both), MemberType = typeof(TorchOracle))]
        public void MergeKeepMetadataWritesTheHyperParametersAsData(string oracle)
        {
            _src.Ensure();
            var inputs = new[] { Checkpoint.Open(_src.File("lightning_types.ckpt")), Checkpoint.Open(_src.File("lightning_types.ckpt")) };
            var outFile = Out("lightning_types.merge.meta.pt");
            var warnings = new List<string>();
            Writing.Merging.CheckpointMerger.Merge(inputs, new Writing.Merging.MergeRequest { KeepMetadata = true, Warn = warnings.Add }, outFile, WeightsFileFormat.TorchZip, false);
            Assert.Contains(warnings, w => w.Contains("argparse.Namespace → dict"));
            AssertAll(oracle, new[]
            {
                new Spec
                {
                    Out = outFile, Kind = "merge", Meta = true, Sources = new[] { _src.File("lightning_types.ckpt"), _src.File("lightning_types.ckpt") },
                    Names = inputs[0].View.Weights.ToDictionary(w => w.Name, w => w.Name),
                },
            });
        }

        [SkippableFact]
        public void SelectAndMergeRefuseSparseMetaNestedAndQuantizedTensorsSayingWhy()
        {
            _src.Ensure();
            var c = Checkpoint.Open(_src.File("special.pt"));
            var expected = new Dictionary<string, string>
            {
                ["coo"] = "sparse tensor", ["csr"] = "sparse tensor", ["meta"] = "meta tensor", ["nested"] = "nested tensor",
                ["q"] = "quantized tensor", ["qc"] = "quantized tensor",
            };
            foreach (var kv in expected)
            {
                var e = Assert.Throws<WeightsRequestException>(() => WeightSelection.Select(c, new SelectOptions { Filter = n => n == kv.Key }));
                Assert.Contains(kv.Value, e.Message);
                Assert.DoesNotContain("has no data", e.Message);
            }
            var m = Assert.Throws<WeightsRequestException>(() => WeightsAverager.Merge(new[] { c, c }, null, Out("special.merge.pt"), WeightsFileFormat.TorchZip, false, null));
            Assert.Contains("sparse tensor", m.Message);
            Assert.False(File.Exists(Out("special.merge.pt")));
        }

        /// <summary>
        /// Test-Ckpt names the exact torch.serialization.add_safe_globals line for a file whose classes torch refuses;
        /// torch 2.x refuses the file without it and loads it with it (the classes installed).
        /// </summary>
        [SkippableFact]
        public void TestCkptPrintsTheAddSafeGlobalsLineThatMakesTorchLoadIt()
        {
            _src.Ensure();
            var path = _src.File("user_classes.ckpt");
            var finding = Assert.Single(LightningCkpt.Safety.CheckpointValidator.Test(path).Findings, f => f.Kind == "WeightsOnlyRefused");
            var line = System.Text.RegularExpressions.Regex.Match(finding.Message, "run first: (.*?) — ").Groups[1].Value;
            Assert.Contains("torch.serialization.add_safe_globals([", line);
            var fixtures = JsonSerializer.Serialize(RepoPaths.Fixtures);
            var load = $"import sys, torch; sys.path.insert(0, {fixtures}); import fakemods\ntorch.load({JsonSerializer.Serialize(path)}, weights_only=True)\n";
            Assert.NotEqual(0, TorchOracle.Torch2.Run("-W ignore -", out _, load));
            var withLine = load.Replace("import fakemods\n", "import fakemods\n" + line + "\n");
            Assert.True(TorchOracle.Torch2.Run("-W ignore -", out var log, withLine) == 0, line + "\n" + log);

            // a dict subclass is never filled by the weights_only loader, allow-listed or not: no line that cannot work
            var attr = Assert.Single(LightningCkpt.Safety.CheckpointValidator.Test(_src.File("attribute_dict.ckpt")).Findings, f => f.Kind == "WeightsOnlyRefused");
            Assert.Contains("add_safe_globals cannot help: lightning_fabric.utilities.data.AttributeDict is a dict or list subclass", attr.Message);
            Assert.Contains("Export-Ckpt -SafeTypes", attr.Message);
        }

        /// <summary>The spelling older writers used for untyped storages: torch 2.x refuses it, so Test-Ckpt says so.</summary>
        [SkippableFact]
        public void TestCkptReportsTheTorchUntypedStorageSpellingTorchRefuses()
        {
            Skip.IfNot(TorchOracle.Torch2.Available, TorchOracle.Torch2.SkipReason);
            var path = Path.Combine(RepoPaths.FixtureFiles, "synthetic_v3_dtypes.pt");
            var finding = Assert.Single(LightningCkpt.Safety.CheckpointValidator.Test(path).Findings, f => f.Kind == "WeightsOnlyRefused");
            Assert.Contains("torch.UntypedStorage", finding.Message);
            Assert.NotEqual(0, TorchOracle.Torch2.Run("-W ignore -", out _, $"import torch\ntorch.load({JsonSerializer.Serialize(path)}, weights_only=True)\n"));
        }

        [SkippableTheory]
        [MemberData(nameof(TorchOracle.Both), MemberType = typeof(TorchOracle))]
        public void TorchSizesExportAtAnyDepth(string oracle)
        {
            _src.Ensure();
            AssertAll(oracle, new[] { Export("sizes.pt", "sizes") });
        }
    }
}

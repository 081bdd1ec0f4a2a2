using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using LightningCkpt.Pickle;
using LightningCkpt.Writing;
using Xunit;
using Xunit.Abstractions;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// Import → export round trips and edits, judged by torch: graph_equal.py loads source and output with the stub
    /// loader and compares them object by object (sharing included); for edits it makes the same edit in Python first.
    /// </summary>
    public class GraphExportTests : IDisposable
    {
        private readonly ITestOutputHelper _out;
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "lightningckpt-export-" + Guid.NewGuid().ToString("N").Substring(0, 8));

        public GraphExportTests(ITestOutputHelper output)
        {
            _out = output;
            Directory.CreateDirectory(_dir);
        }

        public void Dispose()
        {
            try { Directory.Delete(_dir, true); } catch (IOException) { }
        }

        /// <summary>Runs graph_equal.py on (source, written, edit) jobs; returns one verdict per job.</summary>
        internal static List<string> Judge(IEnumerable<(string source, string written, string? edit)> jobs)
        {
            var input = new StringBuilder();
            int n = 0;
            foreach (var (s, w, e) in jobs) { input.Append(s).Append('\t').Append(w).Append(e == null ? "" : "\t" + e).Append('\n'); n++; }
            var script = Path.Combine(RepoPaths.Fixtures, "graph_equal.py");
            int code = PythonOracle.Run($"\"{script}\"", out var output, input.ToString());
            Assert.True(code == 0, "graph_equal.py failed: " + output);
            var lines = output.Split('\n').Where(l => l.Length > 0).ToList();
            Assert.True(lines.Count == n, $"graph_equal.py answered {lines.Count} of {n} jobs: {output}");
            return lines;
        }

        /// <summary>The real-world files torch 1.13 could load (their truth records no error), in name order.</summary>
        internal static IEnumerable<string> LoadableRealworldFiles()
        {
            if (!Directory.Exists(RepoPaths.RealworldFiles)) yield break;
            foreach (var truth in Directory.GetFiles(RepoPaths.RealworldTruth, "*.json").OrderBy(f => f))
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(truth));
                if (doc.RootElement.GetProperty("error").ValueKind != JsonValueKind.Null) continue;
                var file = Path.Combine(RepoPaths.RealworldFiles, Path.GetFileNameWithoutExtension(truth));
                if (File.Exists(file)) yield return file;
            }
        }

        [SkippableFact]
        public void EveryLoadableRealworldFileRoundTripsAsTorchLoadsIt()
        {
            Skip.IfNot(Directory.Exists(RepoPaths.RealworldFiles), $"{RepoPaths.RealworldFiles} is absent");
            Skip.IfNot(PythonOracle.HasTorch, "torch is not installed at /usr/bin/python3");
            var jobs = new List<(string, string, string?)>();
            var failures = new List<string>();
            foreach (var file in LoadableRealworldFiles())
            {
                var written = Path.Combine(_dir, Path.GetFileName(file) + ".out.ckpt");
                try
                {
                    CheckpointExport.Write(CkptGraph.Load(file), written, overwrite: false);
                    jobs.Add((file, written, null));
                }
                catch (Exception e) { failures.Add($"{Path.GetFileName(file)}: {e.GetType().Name}: {e.Message}"); }
            }
            Assert.True(jobs.Count >= 40, $"only {jobs.Count} real-world files were exported");
            var verdicts = Judge(jobs);
            for (int i = 0; i < jobs.Count; i++)
                if (verdicts[i] != "ok") failures.Add($"{Path.GetFileName(jobs[i].Item1)}: {verdicts[i]}");
            _out.WriteLine($"{jobs.Count - failures.Count} of {jobs.Count} real-world files round-trip");
            Assert.True(failures.Count == 0, string.Join("\n", failures));
        }

        [SkippableFact]
        public void FreshTorchCasesRoundTripAsTorchLoadsThem()
        {
            Skip.IfNot(PythonOracle.HasTorch, "torch is not installed at /usr/bin/python3");
            int seed = int.TryParse(Environment.GetEnvironmentVariable("LIGHTNINGCKPT_DIFF_SEED"), out var s) ? s : new Random().Next(1, int.MaxValue);
            _out.WriteLine($"seed {seed} (replay with LIGHTNINGCKPT_DIFF_SEED={seed})");
            var script = Path.Combine(RepoPaths.Fixtures, "random_case.py");
            int code = PythonOracle.Run($"\"{script}\" --seed {seed} --out \"{_dir}\" --count 30", out var log);
            Assert.True(code == 0, $"random_case.py failed (seed {seed}): {log}");
            var jobs = new List<(string, string, string?)>();
            foreach (var file in Directory.GetFiles(_dir, "case_*.pt").OrderBy(f => f))
            {
                var written = file + ".out.ckpt";
                CheckpointExport.Write(CkptGraph.Load(file), written, overwrite: false);
                jobs.Add((file, written, null));
            }
            Assert.Equal(30, jobs.Count);
            var verdicts = Judge(jobs);
            var failures = jobs.Zip(verdicts, (j, v) => (j, v)).Where(p => p.v != "ok").Select(p => $"{Path.GetFileName(p.j.Item1)}: {p.v}").ToList();
            Assert.True(failures.Count == 0, $"seed {seed}:\n" + string.Join("\n", failures));
        }

        /// <summary>The edits of the help examples, made on the imported graph as the PowerShell one-liners make them.</summary>
        private static readonly Dictionary<string, Action<PyDict>> Edits = new Dictionary<string, Action<PyDict>>
        {
            ["slim"] = c => { foreach (var k in new[] { "optimizer_states", "lr_schedulers", "loops", "callbacks" }) c.Remove(k); },
            ["reset-step"] = c => { c["epoch"] = 0; c["global_step"] = 0; },
            ["set-lr"] = c =>
            {
                foreach (PyDict opt in (PyList)c["optimizer_states"]!)
                    foreach (PyDict group in (PyList)opt["param_groups"]!) group["lr"] = 0.0005;
            },
            ["fix-path"] = c => ((System.Collections.IDictionary)c["hyper_parameters"]!)["data_dir"] = "/mnt/data/new",
            ["rename"] = c =>
            {
                Assert.Equal(4, ((PyDict)c["state_dict"]!).RenameKeys("^model\\.", "net."));
            },
            ["weights-meta"] = c =>
            {
                var keep = new[] { "state_dict", "hyper_parameters", "epoch", "global_step", "pytorch-lightning_version" };
                foreach (var k in c.Keys) if (!(k is string ks && keep.Contains(ks))) c.Remove(k);
            },
        };

        [SkippableFact]
        public void EditsEqualTheSameEditsMadeInPythonAndLightningCanResume()
        {
            Skip.IfNot(PythonOracle.HasTorch, "torch is not installed at /usr/bin/python3");
            var made = Path.Combine(_dir, "lightning_like.ckpt");
            var helper = Path.Combine(RepoPaths.Fixtures, "lightning_like.py");
            Assert.True(PythonOracle.Run($"\"{helper}\" make \"{made}\"", out var log) == 0, log);
            var sample = Path.Combine(RepoPaths.Samples, "lightning_logs", "version_0", "checkpoints", "last.ckpt");
            var jobs = new List<(string, string, string?)>();
            foreach (var source in new[] { made, sample })
                foreach (var edit in Edits)
                {
                    if (edit.Key == "fix-path" && source == sample) continue; // the sample's hparams hold no path
                    var root = (PyDict)CkptGraph.Load(source)!;
                    edit.Value(root);
                    var written = Path.Combine(_dir, Path.GetFileNameWithoutExtension(source) + "." + edit.Key + ".ckpt");
                    CheckpointExport.Write(root, written, overwrite: false);
                    jobs.Add((source, written, edit.Key));
                }
            var verdicts = Judge(jobs);
            var failures = jobs.Zip(verdicts, (j, v) => (j, v)).Where(p => p.v != "ok").Select(p => $"{Path.GetFileName(p.j.Item2)}: {p.v}").ToList();
            Assert.True(failures.Count == 0, string.Join("\n", failures));

            foreach (var (edit, attr) in new[] { ("slim", "model"), ("weights-meta", "model"), ("rename", "net") })
            {
                var file = Path.Combine(_dir, "lightning_like." + edit + ".ckpt");
                Assert.True(PythonOracle.Run($"\"{helper}\" resume \"{file}\" {attr}", out var verdict) == 0, verdict);
                Assert.Equal("ok", verdict.Trim());
            }
            // slimming really drops the training state, and the file shrinks with it
            Assert.True(new FileInfo(Path.Combine(_dir, "lightning_like.slim.ckpt")).Length < new FileInfo(made).Length);
        }
    }
}

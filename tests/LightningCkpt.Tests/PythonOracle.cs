using System;
using System.Diagnostics;
using System.IO;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>
    /// A python3 with real torch, the ground truth of the differential tests. Two exist: <see cref="Torch1"/>, Debian
    /// 12's /usr/bin/python3 with torch 1.13, and <see cref="Torch2"/>, the torch 2.x of the Debian sid chroot that
    /// tools/torch2/provision.sh builds (run through tools/torch2/python.sh, same paths as the host). Under CI
    /// (CI=true) a missing oracle is a failure, never a skip: <see cref="Available"/> throws there.
    /// </summary>
    internal sealed class TorchOracle
    {
        public static readonly TorchOracle Torch1 = new TorchOracle("torch 1.13 (/usr/bin/python3)", "/usr/bin/python3", null,
            "apt-get install python3-torch python3-numpy");
        public static readonly TorchOracle Torch2 = new TorchOracle("torch 2.x (tools/torch2 chroot)", "/bin/bash",
            Path.Combine(RepoPaths.Root, "tools", "torch2", "python.sh"), "bash tools/torch2/provision.sh");

        /// <summary>Both oracles, for tests that run once against each (xunit MemberData).</summary>
        public static TheoryData<string> Both => new TheoryData<string> { "torch1", "torch2" };

        public static TorchOracle Named(string name) => name == "torch2" ? Torch2 : name == "torch1" ? Torch1
            : throw new ArgumentException("unknown oracle " + name, nameof(name));

        public string Label { get; }
        private readonly string _program;
        private readonly string? _wrapper;
        private readonly string _installHint;
        private readonly Lazy<string?> _version;

        private TorchOracle(string label, string program, string? wrapper, string installHint)
        {
            Label = label;
            _program = program;
            _wrapper = wrapper;
            _installHint = installHint;
            _version = new Lazy<string?>(() =>
            {
                if (!File.Exists(program) || (wrapper != null && !File.Exists(wrapper))) return null;
                return RunRaw("-c \"import torch, numpy; print(torch.__version__)\"", out var v, null, 120_000) == 0 ? v.Trim() : null;
            });
        }

        public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

        /// <summary>torch.__version__, or null where this python has no torch.</summary>
        public string? Version => _version.Value;

        /// <summary>Whether the oracle can run; under CI a missing oracle throws, so the test fails instead of skipping.</summary>
        public bool Available
        {
            get
            {
                if (Version != null) return true;
                if (InCi) throw new InvalidOperationException($"{Label} is missing in CI ({_installHint}): a missing oracle is a failure, not a skip");
                return false;
            }
        }

        /// <summary>The reason a test skips where the oracle is missing (outside CI).</summary>
        public string SkipReason => $"{Label} is not available ({_installHint})";

        /// <summary>True when this is a torch 2.x oracle (for expectations that differ between the two).</summary>
        public bool IsTorch2 => Version != null && !Version.StartsWith("1.", StringComparison.Ordinal);

        /// <summary>Runs python with <paramref name="arguments"/>; returns the exit code and stdout (stderr appended on failure).</summary>
        public int Run(string arguments, out string output, string? stdin = null, int timeoutMs = 300_000)
            => RunRaw(arguments, out output, stdin, timeoutMs);

        /// <summary>A ProcessStartInfo that runs this python with <paramref name="arguments"/> (for tests that stream).</summary>
        public ProcessStartInfo StartInfo(string arguments)
        {
            var psi = new ProcessStartInfo(_program, _wrapper == null ? arguments : $"\"{_wrapper}\" {arguments}")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            psi.Environment["PYTHONHASHSEED"] = "0";
            return psi;
        }

        private int RunRaw(string arguments, out string output, string? stdin, int timeoutMs)
        {
            var psi = StartInfo(arguments);
            psi.RedirectStandardInput = stdin != null;
            using var p = Process.Start(psi)!;
            if (stdin != null)
            {
                p.StandardInput.Write(stdin);
                p.StandardInput.Close();
            }
            var stdoutTask = p.StandardOutput.ReadToEndAsync();
            var stderrTask = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(timeoutMs))
            {
                try { p.Kill(true); } catch (InvalidOperationException) { }
                output = "python timed out";
                return -1;
            }
            output = stdoutTask.Result;
            if (p.ExitCode != 0) output += stderrTask.Result;
            return p.ExitCode;
        }
    }

    /// <summary>The torch 1.13 oracle under its historical name (most tests predate the torch 2.x oracle).</summary>
    internal static class PythonOracle
    {
        public const string Python = "/usr/bin/python3";

        public static bool HasPython => File.Exists(Python);
        public static bool HasTorch => TorchOracle.Torch1.Available;

        public static int Run(string arguments, out string output, string? stdin = null, int timeoutMs = 300_000)
            => TorchOracle.Torch1.Run(arguments, out output, stdin, timeoutMs);

        /// <summary>Runs the fixture generator tests/fixtures/<paramref name="script"/> with --out <paramref name="outPath"/> and <paramref name="args"/>; fails the test, with its log, when it fails.</summary>
        public static string MakeFixture(string script, string outPath, string args)
        {
            int code = Run($"\"{Path.Combine(RepoPaths.Fixtures, script)}\" --out \"{outPath}\" {args}", out var log, timeoutMs: 300_000);
            Assert.True(code == 0, script + " failed: " + log);
            return outPath;
        }
    }
}

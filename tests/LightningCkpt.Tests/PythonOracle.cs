using System;
using System.Diagnostics;
using System.IO;

namespace LightningCkpt.Tests
{
    /// <summary>Runs Debian's /usr/bin/python3 (with torch when installed) as a ground-truth oracle.</summary>
    internal static class PythonOracle
    {
        public const string Python = "/usr/bin/python3";
        private static readonly Lazy<bool> HasTorchLazy = new Lazy<bool>(() => File.Exists(Python) && Run("-c \"import torch, numpy\"", out _) == 0);

        public static bool HasPython => File.Exists(Python);
        public static bool HasTorch => HasTorchLazy.Value;

        /// <summary>Runs python with <paramref name="arguments"/>; returns the exit code and stdout (stderr appended on failure).</summary>
        public static int Run(string arguments, out string output, string? stdin = null, int timeoutMs = 300_000)
        {
            var psi = new ProcessStartInfo(Python, arguments)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = stdin != null,
                UseShellExecute = false,
            };
            psi.Environment["PYTHONHASHSEED"] = "0";
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
}

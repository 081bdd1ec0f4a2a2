using System;
using System.Diagnostics;
using System.IO;

namespace LightningCkpt.Bench
{
    /// <summary>
    /// The torch 2.x side: bench scripts run by tools/torch2/python.sh (python3 of a Debian sid chroot with torch 2.x,
    /// on the host's paths). The chroot is built on first use by tools/torch2/provision.sh, so the bench's torch 2.x
    /// side is this one command.
    /// </summary>
    internal static class TorchTwo
    {
        private static string Tools => Path.Combine(Path.GetDirectoryName(Program.FindScript("bench_torch.py"))!, "..", "tools", "torch2");

        /// <summary>The interpreter command: bash tools/torch2/python.sh.</summary>
        public static string[] Python => new[] { "/bin/bash", Path.GetFullPath(Path.Combine(Tools, "python.sh")) };

        public static void Provision()
        {
            var psi = new ProcessStartInfo("/bin/bash") { UseShellExecute = false, RedirectStandardOutput = true };
            psi.ArgumentList.Add(Path.GetFullPath(Path.Combine(Tools, "provision.sh")));
            using var p = Process.Start(psi)!;
            string root = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException("tools/torch2/provision.sh failed: the torch 2.x oracle is missing (run the bench with --no-torch2 to leave its column empty)");
            Console.WriteLine($"torch 2.x oracle: {root}");
        }

        public static (double seconds, long rss) Run(string script, string mode, params string[] args) =>
            Program.RunScriptWith(Python, script, mode, args);
    }
}

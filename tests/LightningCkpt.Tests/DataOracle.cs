using System;
using System.Diagnostics;
using System.IO;
using System.Text.Json;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>Runs tests/fixtures/data_case.py (torch 1.13) for a seed; skips when python/torch are absent.</summary>
    internal sealed class DataOracle : IDisposable
    {
        private const string Python = "/usr/bin/python3";

        private DataOracle(int seed, string dir, JsonDocument truth)
        {
            Seed = seed; Dir = dir; Truth = truth;
        }

        public int Seed { get; }
        public string Dir { get; }
        public JsonDocument Truth { get; }
        public string A => Path.Combine(Dir, "a.pt");
        public string B => Path.Combine(Dir, "b.pt");

        /// <summary>A fresh seed per run unless LCK_DATA_SEED fixes it; the seed is in every failure message.</summary>
        public static int FreshSeed()
        {
            var env = Environment.GetEnvironmentVariable("LCK_DATA_SEED");
            return env != null ? int.Parse(env) : new Random().Next(1, int.MaxValue / 2);
        }

        public static DataOracle Make(int seed)
        {
            Skip.IfNot(File.Exists(Python), "no /usr/bin/python3");
            var dir = Path.Combine(Path.GetTempPath(), "lck-data-" + Guid.NewGuid().ToString("N"));
            var psi = new ProcessStartInfo(Python)
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            psi.ArgumentList.Add(Path.Combine(RepoPaths.Fixtures, "data_case.py"));
            psi.ArgumentList.Add("--seed");
            psi.ArgumentList.Add(seed.ToString());
            psi.ArgumentList.Add("--out");
            psi.ArgumentList.Add(dir);
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Skip.If(err.Result.Contains("No module named 'torch'"), "torch is not installed");
            Assert.True(p.ExitCode == 0, $"data_case.py --seed {seed} failed: {err.Result}");
            return new DataOracle(seed, dir, JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "truth.json"))));
        }

        public static double Num(JsonElement e) => e.ValueKind == JsonValueKind.String
            ? e.GetString() switch { "NaN" => double.NaN, "Infinity" => double.PositiveInfinity, "-Infinity" => double.NegativeInfinity, var s => throw new FormatException(s) }
            : e.GetDouble();

        /// <summary>Equal within a relative tolerance; NaN equals NaN, infinities must match exactly.</summary>
        public static bool Close(double expected, double? actual, double rel = 1e-9)
        {
            if (actual == null) return false;
            double a = actual.Value;
            if (double.IsNaN(expected)) return double.IsNaN(a);
            if (double.IsInfinity(expected)) return expected == a;
            return Math.Abs(expected - a) <= rel * Math.Max(1, Math.Abs(expected)) + 1e-300;
        }

        public void Dispose()
        {
            Truth.Dispose();
            try { Directory.Delete(Dir, true); } catch (IOException) { }
        }
    }
}

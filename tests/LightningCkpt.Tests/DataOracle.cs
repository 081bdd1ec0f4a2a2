using System;
using System.Diagnostics;
using System.IO;
using System.Text.Json;
using Xunit;

namespace LightningCkpt.Tests
{
    /// <summary>Runs tests/fixtures/data_case.py under torch 1.13 or torch 2.x for a seed; skips when that torch is absent (fails under CI).</summary>
    internal sealed class DataOracle : IDisposable
    {
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

        /// <summary>data_case.py under <paramref name="oracleName"/> ("torch1", the default, or "torch2").</summary>
        public static DataOracle Make(int seed, string oracleName = "torch1")
        {
            var oracle = TorchOracle.Named(oracleName);
            Skip.IfNot(oracle.Available, oracle.SkipReason);
            var dir = Path.Combine(Path.GetTempPath(), "lck-data-" + Guid.NewGuid().ToString("N"));
            var psi = oracle.StartInfo($"\"{Path.Combine(RepoPaths.Fixtures, "data_case.py")}\" --seed {seed} --out \"{dir}\"");
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Skip.If(err.Result.Contains("No module named 'torch'"), "torch is not installed");
            Assert.True(p.ExitCode == 0, $"data_case.py --seed {seed} under {oracle.Label} failed: {err.Result}");
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

        /// <summary>
        /// Where our statistics of <paramref name="t"/> (already analysed) differ from torch's (data_case.py's stats):
        /// min/max/nan/inf/zero fraction exactly, sums within rounding relative to the largest value.
        /// </summary>
        public static System.Collections.Generic.List<string> StatisticsMismatches(string name, JsonElement e, CkptTensor t)
        {
            var errors = new System.Collections.Generic.List<string>();
            double scale = 0;
            if (e.TryGetProperty("min", out var mn))
                foreach (var x in new[] { Num(mn), Num(e.GetProperty("max")) })
                    if (!double.IsInfinity(x) && !double.IsNaN(x)) scale = Math.Max(scale, Math.Abs(x));
            void Check(string what, double expected, double? actual, double rel = 1e-9)
            {
                // sums of values far larger than their result cancel: allow rounding relative to the largest value
                if (!Close(expected, actual, rel) && !(rel > 0 && Close(expected, actual, rel * Math.Max(1, scale) / Math.Max(1e-300, Math.Abs(expected))))) errors.Add($"{name} ({t.DType}, [{string.Join(",", t.Shape)}]) {what}: torch {expected:R}, ours {actual:R}");
            }
            Check("nan", e.GetProperty("nan").GetInt64(), t.NaNCount);
            Check("inf", e.GetProperty("inf").GetInt64(), t.InfCount);
            if (e.GetProperty("numel").GetInt64() == 0)
            {
                if (t.Min != null || t.Mean != null || t.Std != null || t.ZeroFraction != null) errors.Add($"{name}: empty tensor has statistics");
                return errors;
            }
            // min/max are exact, except complex magnitudes: torch's hypot and ours may differ by one ulp (float32 for complex64)
            double exact = t.Tensor.DType.IsComplex ? 2e-7 : 0;
            Check("min", Num(e.GetProperty("min")), t.Min, exact);
            Check("max", Num(e.GetProperty("max")), t.Max, exact);
            Check("mean", Num(e.GetProperty("mean")), t.Mean, Math.Max(exact, 1e-9));
            Check("std", Num(e.GetProperty("std")), t.Std, Math.Max(exact, 1e-8));
            Check("l2", Num(e.GetProperty("l2")), t.L2Norm, Math.Max(exact, 1e-9));
            Check("zero_fraction", e.GetProperty("zero_fraction").GetDouble(), t.ZeroFraction, 0);
            return errors;
        }

        public void Dispose()
        {
            Truth.Dispose();
            try { Directory.Delete(Dir, true); } catch (IOException) { }
        }
    }
}

using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using LightningCkpt;
using LightningCkpt.Data;
using LightningCkpt.Safety;

// lightningckpt info <file|folder>...      one row per checkpoint, like Get-CkptInfo | Format-Table
// lightningckpt tensors <file> [--all] [--hash]   one row per tensor, like Get-CkptTensor
// lightningckpt compare <reference> <difference>   changed tensors and metadata, like Compare-Ckpt
// lightningckpt test <file>...                      validity and safety, like Test-Ckpt
internal static class Program
{
    private static readonly string[] Extensions = { ".ckpt", ".pt", ".pth", ".bin", ".tar" };

    private static int Main(string[] args)
    {
        switch (args.Length >= 2 ? args[0] : "")
        {
            case "info": return Info(args.Skip(1));
            case "tensors": return Tensors(args[1], args.Contains("--all"), args.Contains("--hash"));
            case "compare" when args.Length == 3: return Compare(args[1], args[2]);
            case "test": return Test(args.Skip(1));
            default:
                Console.Error.WriteLine("usage: lightningckpt info <file|folder>... | tensors <file> [--all] [--hash] | compare <reference> <difference> | test <file>...");
                return 2;
        }
    }

    private static int Info(IEnumerable<string> targets)
    {
        var files = targets.SelectMany(t => Directory.Exists(t)
            ? Directory.EnumerateFiles(t, "*", SearchOption.AllDirectories).Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
            : new[] { t });
        var rows = new List<CkptInfo>();
        int errors = 0;
        foreach (var f in files)
        {
            try { rows.Add(CkptInfo.Read(Path.GetFullPath(f))); }
            catch (Exception e) when (e is CheckpointFormatException || e is IOException || e is UnauthorizedAccessException)
            {
                Console.Error.WriteLine("error: " + e.Message);
                errors++;
            }
        }
        Print(new[] { "Run", "Name", "Epoch", "GlobalStep", "Parameters", "Size", "Lightning", "Monitor", "BestScore" },
            rows.OrderBy(r => r.RunVersion).ThenBy(r => r.Epoch).ThenBy(r => r.Name).Select(r => new[]
            {
                r.RunVersion?.ToString() ?? "", r.Name, r.Epoch?.ToString() ?? "", r.GlobalStep?.ToString() ?? "",
                r.ParameterCount.ToString("N0", CultureInfo.InvariantCulture), Size(r.Length), r.LightningVersion ?? "",
                r.Monitor ?? "", r.BestModelScore?.ToString("G6", CultureInfo.InvariantCulture) ?? "",
            }));
        return errors == 0 ? 0 : 1;
    }

    private static int Tensors(string file, bool all, bool hash)
    {
        try
        {
            var c = Checkpoint.Open(Path.GetFullPath(file));
            var tensors = CkptTensor.List(c, all);
            using var reader = new TensorDataReader(c);
            if (hash) foreach (var t in tensors) TensorAnalysis.Analyze(t, reader, hash: true, statistics: false);
            Print(new[] { "Name", "DType", "Shape", "Numel", "Bytes", hash ? "Sha256" : "TensorPath" }, tensors.Select(t => new[]
            {
                t.Name, t.DType, t.ShapeText, t.Numel.ToString(CultureInfo.InvariantCulture), t.Bytes.ToString(CultureInfo.InvariantCulture),
                hash ? t.Sha256 ?? "" : t.TensorPath,
            }));
            return 0;
        }
        catch (Exception e) when (e is CheckpointFormatException || e is IOException || e is UnauthorizedAccessException)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 1;
        }
    }

    private static int Compare(string reference, string difference)
    {
        try
        {
            var rows = CheckpointComparer.Compare(Checkpoint.Open(Path.GetFullPath(reference)), Checkpoint.Open(Path.GetFullPath(difference)), new LightningCkpt.Data.CompareOptions());
            Print(new[] { "Kind", "Name", "Status", "MaxAbsDiff", "RelativeL2", "Cosine", "Reference", "Difference" }, rows.Select(d => new[]
            {
                d.Kind, d.Name, d.Status.ToString(), Num(d.MaxAbsDiff), Num(d.RelativeL2), Num(d.CosineSimilarity),
                d.ReferenceValue ?? d.ReferenceDType ?? "", d.DifferenceValue ?? d.DifferenceDType ?? "",
            }));
            return 0;
        }
        catch (Exception e) when (e is CheckpointFormatException || e is IOException || e is UnauthorizedAccessException)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 1;
        }
    }

    private static int Test(IEnumerable<string> files)
    {
        var results = files.Select(f => CheckpointValidator.Test(Path.GetFullPath(f), new ValidateOptions { VerifyCrc = true })).ToList();
        Print(new[] { "Name", "IsValid", "IsSafe", "Findings" }, results.Select(r => new[]
        {
            r.Name, r.IsValid.ToString(), r.IsSafe.ToString(),
            string.Join("; ", r.Findings.Where(f => f.Severity >= FindingSeverity.Warning).Select(f => $"{f.Severity} {f.Kind}: {f.Message}")),
        }));
        return results.All(r => r.IsValid && r.IsSafe) ? 0 : 1;
    }

    private static string Num(double? v) => v?.ToString("G4", CultureInfo.InvariantCulture) ?? "";

    private static string Size(long bytes) => bytes >= 1 << 20
        ? (bytes / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture) + " MB"
        : (bytes / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + " KB";

    private static void Print(string[] header, IEnumerable<string[]> rows)
    {
        var all = rows.ToList();
        var widths = header.Select((h, i) => Math.Max(h.Length, all.Count == 0 ? 0 : all.Max(r => r[i].Length))).ToArray();
        Console.WriteLine(string.Join("  ", header.Select((h, i) => h.PadRight(widths[i]))).TrimEnd());
        Console.WriteLine(string.Join("  ", widths.Select(w => new string('-', w))));
        foreach (var r in all) Console.WriteLine(string.Join("  ", r.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
    }
}

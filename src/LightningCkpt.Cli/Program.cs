using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using LightningCkpt;
using LightningCkpt.Data;

// lightningckpt info <file|folder>...      one row per checkpoint, like Get-CkptInfo | Format-Table
// lightningckpt tensors <file> [--all] [--hash]   one row per tensor, like Get-CkptTensor
internal static class Program
{
    private static readonly string[] Extensions = { ".ckpt", ".pt", ".pth", ".bin", ".tar" };

    private static int Main(string[] args)
    {
        if (args.Length < 2 || (args[0] != "info" && args[0] != "tensors"))
        {
            Console.Error.WriteLine("usage: lightningckpt info <file|folder>... | lightningckpt tensors <file> [--all] [--hash]");
            return 2;
        }
        return args[0] == "info" ? Info(args.Skip(1)) : Tensors(args[1], args.Contains("--all"), args.Contains("--hash"));
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
            Print(new[] { "Name", "DType", "Shape", "Numel", "Bytes", hash ? "Sha256" : "Path" }, tensors.Select(t => new[]
            {
                t.Name, t.DType, t.ShapeText, t.Numel.ToString(CultureInfo.InvariantCulture), t.Bytes.ToString(CultureInfo.InvariantCulture),
                hash ? (t.Tensor.HasData ? reader.Sha256(t.Tensor) : "") : t.Path,
            }));
            return 0;
        }
        catch (Exception e) when (e is CheckpointFormatException || e is IOException || e is UnauthorizedAccessException)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 1;
        }
    }

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

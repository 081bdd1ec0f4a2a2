using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Text.RegularExpressions;
using LightningCkpt.Pickle;
using LightningCkpt.Writing;

namespace LightningCkpt.Bench
{
    /// <summary>
    /// Import-Ckpt's core (the whole graph, tensors bound) against Get-CkptInfo's (open + summary), and Export-Ckpt
    /// after a metadata edit against `cp` of the file and against torch's load + edit + save; both rows go into the table
    /// (export's limit there is cp + sync of the copy, as our write fsyncs too).
    /// </summary>
    public static class ExportBench
    {
        /// <returns>Import-Ckpt core over Get-CkptInfo core.</returns>
        public static double Run(string checkpointPath, string workDir, int repeat, Table table)
        {
            Directory.CreateDirectory(workDir);
            var (info, import) = ImportAgainstInfo(checkpointPath, repeat);

            string outFile = Path.Combine(workDir, "export_edit.ckpt"), copy = Path.Combine(workDir, "cp_copy.ckpt");
            double export = double.MaxValue, cp = double.MaxValue, cpSync = double.MaxValue, prepare = double.MaxValue;
            for (int round = 0; round < 3; round++)
            {
                if (File.Exists(outFile)) File.Delete(outFile);
                var sw = Stopwatch.StartNew();
                var root = (PyDict)CkptGraph.Load(checkpointPath)!;
                root["epoch"] = 0;
                root["global_step"] = 0;
                var prepared = CheckpointExport.Prepare(root);
                prepare = Math.Min(prepare, sw.Elapsed.TotalSeconds);
                prepared.Write(outFile, overwrite: true);
                export = Math.Min(export, sw.Elapsed.TotalSeconds);
                cp = Math.Min(cp, Cp(checkpointPath, copy, sync: false));
                cpSync = Math.Min(cpSync, Cp(checkpointPath, copy, sync: true));
            }
            long bytes = new FileInfo(outFile).Length;
            double? torch = TorchLoadSave(checkpointPath, Path.Combine(workDir, "torch_edit.ckpt"));
            table.Read("import whole graph (Import-Ckpt core)", import, TorchTimes.None, null, null,
                $"open + summary (Get-CkptInfo core) {info:F4}s; import is {import / info:F2}× of it (goal ≤ 2×)");
            table.Write(new WriteRow("export after metadata edit (import + set epoch/step + write)", export, bytes, cpSync, new TorchTimes(torch, 0, null, 0),
                $"cp of the file {cp:F3}s: export is {export / cp:F2}× of cp (goal ≤ 1.5×; our write fsyncs like cp + sync); import + pickle {prepare:F3}s; torch 1.13 = load + edit + save"));
            return import / info;
        }

        /// <summary>Best seconds of Get-CkptInfo's core and of Import-Ckpt's core, alternated so both see the same cache and machine state.</summary>
        public static (double info, double import) ImportAgainstInfo(string checkpointPath, int repeat)
        {
            double info = double.MaxValue, import = double.MaxValue;
            for (int i = 0; i < repeat * 3; i++)
            {
                var sw = Stopwatch.StartNew();
                CkptInfo.From(Checkpoint.Open(checkpointPath));
                info = Math.Min(info, sw.Elapsed.TotalSeconds);
                sw.Restart();
                CkptGraph.Load(checkpointPath);
                import = Math.Min(import, sw.Elapsed.TotalSeconds);
            }
            return (info, import);
        }

        private static double Cp(string source, string copy, bool sync)
        {
            if (File.Exists(copy)) File.Delete(copy);
            var sw = Stopwatch.StartNew();
            using (var p = Process.Start(new ProcessStartInfo("cp", $"\"{source}\" \"{copy}\"") { UseShellExecute = false })!) p.WaitForExit();
            if (sync) using (var p = Process.Start(new ProcessStartInfo("sync", $"\"{copy}\"") { UseShellExecute = false })!) p.WaitForExit();
            double s = sw.Elapsed.TotalSeconds;
            File.Delete(copy);
            return s;
        }

        private static double? TorchLoadSave(string source, string target)
        {
            if (!File.Exists("/usr/bin/python3")) return null;
            const string code = "import sys,time,torch\nt=time.perf_counter()\nc=torch.load(sys.argv[1],map_location='cpu')\nc['epoch']=0\nc['global_step']=0\ntorch.save(c,sys.argv[2])\nprint('seconds=%f'%(time.perf_counter()-t))";
            var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add("-c"); psi.ArgumentList.Add(code); psi.ArgumentList.Add(source); psi.ArgumentList.Add(target);
            using var p = Process.Start(psi)!;
            string o = p.StandardOutput.ReadToEnd(); p.StandardError.ReadToEnd(); p.WaitForExit();
            try { File.Delete(target); } catch (IOException) { }
            var m = Regex.Match(o, "seconds=([0-9.eE+-]+)");
            return p.ExitCode == 0 && m.Success ? double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : null;
        }
    }
}

using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;

namespace LightningCkpt.Writing
{
    /// <summary>
    /// Writes a file atomically: the body goes to <c>.&lt;name&gt;.&lt;random&gt;.tmp</c> in the target folder, is
    /// flushed to disk, then renamed over the target. On any failure the temporary file is deleted and an existing
    /// target is left as it was.
    /// </summary>
    internal static class AtomicFile
    {
        private static StringComparison PathComparison =>
            RuntimeInformation.IsOSPlatform(OSPlatform.Windows) || RuntimeInformation.IsOSPlatform(OSPlatform.OSX)
                ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

        public static void Write(string outFile, bool overwrite, IEnumerable<string> sources, Action<Stream> body)
        {
            if (string.IsNullOrEmpty(outFile)) throw new ArgumentException("an output path is required", nameof(outFile));
            string target = Path.GetFullPath(outFile);
            foreach (var s in sources)
                if (string.Equals(Path.GetFullPath(s), target, PathComparison))
                    throw new IOException($"refusing to write onto the input file '{target}'; choose another output path");
            if (Directory.Exists(target)) throw new IOException($"'{target}' is a directory");
            bool exists = File.Exists(target);
            if (exists && !overwrite)
                throw new IOException($"'{target}' already exists; pass -Force (overwrite) to replace it");
            string dir = Path.GetDirectoryName(target) ?? ".";
            if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"the output folder '{dir}' does not exist");

            string temp = Path.Combine(dir, "." + Path.GetFileName(target) + "." + Guid.NewGuid().ToString("N").Substring(0, 12) + ".tmp");
            try
            {
                using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
                {
                    var counting = new CountingStream(fs);
                    body(counting);
                    fs.Flush(true);
                }
                if (File.Exists(target))
                {
                    if (!overwrite) throw new IOException($"'{target}' appeared while writing; not replacing it");
                    // rename over the target (rename(2) on Unix, ReplaceFile on Windows): the old file survives any failure before this point
                    File.Replace(temp, target, null);
                }
                else
                {
                    File.Move(temp, target);
                }
            }
            catch
            {
                try { if (File.Exists(temp)) File.Delete(temp); } catch { /* best effort */ }
                throw;
            }
        }
    }
}

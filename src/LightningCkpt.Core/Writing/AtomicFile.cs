using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;

namespace LightningCkpt.Writing
{
    /// <summary>
    /// Writes a file atomically: the body goes to a temporary file in the target folder, is flushed to disk, then
    /// renamed over the target. On any failure or cancellation the temporary file is deleted at once and an existing
    /// target is left as it was; <see cref="OutputGuard"/> checks the target before writing and again before the rename.
    /// </summary>
    internal static class AtomicFile
    {
        public static void Write(string outFile, bool overwrite, IEnumerable<string> sources, Action<Stream> body, CancellationToken cancel = default)
        {
            var inputs = new List<string>(sources ?? Array.Empty<string>());
            var before = OutputGuard.Check(outFile, inputs, overwrite);
            string target = Path.GetFullPath(outFile);
            string dir = Path.GetDirectoryName(target) ?? ".";
            TempFiles.RemoveStale(dir);

            string temp = TempFiles.NewPath(target);
            try
            {
                using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
                using (var flushing = new EarlyWriteback(fs)) // disposed (its flusher joined) before the file closes
                {
                    body(new CountingStream(flushing, cancel));
                    flushing.Complete();
                    cancel.ThrowIfCancellationRequested();
                    fs.Flush(true);
                }
                // the target may have changed while we wrote: check it again right before replacing it
                var now = OutputGuard.Check(target, inputs, overwrite);
                cancel.ThrowIfCancellationRequested();
                if (now.Exists)
                {
                    if (!before.Exists && !overwrite)
                        throw new CheckpointWriteException(target, CheckpointWriteErrorKind.OutputExists, "appeared while writing; not replacing it");
                    // rename over the target (rename(2) on Unix, ReplaceFile on Windows): the old file survives any failure before this point
                    File.Replace(temp, target, null);
                }
                else
                {
                    // no check-then-rename race: a target another writer created since the check is never replaced
                    NoReplaceRename.Move(temp, target);
                }
            }
            catch (Exception e)
            {
                TempFiles.TryDelete(temp);
                if (e is CheckpointWriteException || e is SourceChangedException || e is OperationCanceledException || e is CheckpointFormatException || e is WeightsRequestException) throw;
                if (e is IOException || e is UnauthorizedAccessException)
                    throw new CheckpointWriteException(target, CheckpointWriteErrorKind.WriteFailed, e.Message, e);
                if (e is InvalidOperationException || e is OverflowException)
                    throw new CheckpointWriteException(target, CheckpointWriteErrorKind.NotWritable, e.Message, e);
                throw;
            }
        }
    }

    /// <summary>
    /// The writers' temporary files: <c>.&lt;target name&gt;.lckpt-&lt;random&gt;.tmp</c> beside the target. A writer
    /// holds its temporary file open with FileShare.None (an exclusive lock on Unix), so a temporary file of ours that
    /// nobody holds and that has not been written for <see cref="StaleAge"/> belongs to a killed writer and is removed
    /// by the next write into the same folder.
    /// </summary>
    internal static class TempFiles
    {
        internal const string Marker = ".lckpt-";
        internal const string Suffix = ".tmp";

        /// <summary>How long a temporary file must be untouched before a later write may remove it.</summary>
        internal static readonly TimeSpan StaleAge = TimeSpan.FromSeconds(5);

        /// <summary>The longest target-name part kept in a temporary name, so the name stays within NAME_MAX (255).</summary>
        private const int MaxNamePart = 200;

        public static string NewPath(string target)
        {
            string name = Path.GetFileName(target);
            if (name.Length > MaxNamePart) name = name.Substring(0, MaxNamePart);
            return Path.Combine(Path.GetDirectoryName(target) ?? ".", "." + name + Marker + Guid.NewGuid().ToString("N").Substring(0, 12) + Suffix);
        }

        public static bool IsOurs(string fileName) =>
            fileName.StartsWith(".", StringComparison.Ordinal) && fileName.EndsWith(Suffix, StringComparison.Ordinal)
            && fileName.IndexOf(Marker, StringComparison.Ordinal) > 0;

        /// <summary>Removes temporary files of ours in <paramref name="dir"/> that no live writer holds (best effort).</summary>
        public static int RemoveStale(string dir)
        {
            int removed = 0;
            IEnumerable<string> candidates;
            try { candidates = Directory.EnumerateFiles(dir, "." + "*" + Marker + "*" + Suffix); }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException) { return 0; }
            try
            {
                foreach (var path in candidates)
                {
                    if (!IsOurs(Path.GetFileName(path))) continue;
                    try
                    {
                        var info = new FileInfo(path);
                        if ((info.Attributes & (FileAttributes.Directory | FileAttributes.ReparsePoint)) != 0) continue;
                        if (DateTime.UtcNow - info.LastWriteTimeUtc < StaleAge) continue;
                        // a live writer holds it exclusively: opening it fails, and then it is not ours to remove
                        // (FileShare.Delete lets this handle delete it on Windows; on Unix it still takes a lock)
                        using (new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Delete, 1))
                        {
                            File.Delete(path);
                        }
                        removed++;
                    }
                    catch (Exception e) when (e is IOException || e is UnauthorizedAccessException) { /* held, gone or not ours: leave it */ }
                }
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException) { /* the folder changed under us */ }
            return removed;
        }

        public static void TryDelete(string path)
        {
            try { if (File.Exists(path)) File.Delete(path); }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException) { /* best effort */ }
        }
    }
}

using System;
using System.Collections.Generic;
using System.IO;
using LightningCkpt.Container;

namespace LightningCkpt.Writing
{
    /// <summary>
    /// The check every writer makes before it writes and again before it renames over the target: the output must
    /// not be any input of the call — compared by identity (device + inode after following links, so a symlinked
    /// folder, a symlink to the input, a hard link or /proc/self/cwd/… are all caught) — and must be a regular file
    /// or absent; a device, FIFO, socket or directory is refused even with overwrite.
    /// </summary>
    public static class OutputGuard
    {
        /// <summary>Every file a writer must never replace for <paramref name="source"/>: the path it was opened by and each file it was read from.</summary>
        public static IEnumerable<string> FilesOf(Checkpoint source)
        {
            if (source.Source.Remote != null) yield break; // a URL is never a local output
            yield return source.FilePath;
            foreach (var f in source.Files) yield return f;
        }

        /// <summary>
        /// Throws <see cref="CheckpointWriteException"/> (OutputIsInput, OutputNotAFile, OutputExists or
        /// OutputFolderMissing) unless <paramref name="outFile"/> may be written. Returns the target's identity
        /// (Kind Missing when it does not exist yet).
        /// </summary>
        public static FileIdentity Check(string outFile, IEnumerable<string> inputs, bool overwrite)
        {
            if (string.IsNullOrEmpty(outFile)) throw new ArgumentException("an output path is required");
            string target = Path.GetFullPath(outFile);
            var id = FileIdentity.Of(target);
            if (id.Exists)
            {
                foreach (var input in inputs ?? Array.Empty<string>())
                {
                    if (string.IsNullOrEmpty(input) || Remote.RemoteUrl.IsRemote(input)) continue; // a URL is never the local output
                    if (id.IsSameFile(FileIdentity.Of(input)))
                        throw new CheckpointWriteException(target, CheckpointWriteErrorKind.OutputIsInput,
                            $"is the input checkpoint '{input}' (the same file, by device and inode); an input is never overwritten, choose another output path");
                }
                if (id.Kind != FileKind.Regular)
                    throw new CheckpointWriteException(target, CheckpointWriteErrorKind.OutputNotAFile,
                        $"is {RegularFileCheck.Describe(id.Kind)}, not a regular file; only regular files are written (even with -Force)");
                if (!overwrite)
                    throw new CheckpointWriteException(target, CheckpointWriteErrorKind.OutputExists, "already exists; pass -Force (overwrite) to replace it");
            }
            string dir = Path.GetDirectoryName(target) ?? ".";
            if (!Directory.Exists(dir))
                throw new CheckpointWriteException(target, CheckpointWriteErrorKind.OutputFolderMissing, $"the output folder '{dir}' does not exist");
            return id;
        }
    }
}

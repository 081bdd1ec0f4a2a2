using System;
using System.IO;
using System.Runtime.InteropServices;

namespace LightningCkpt.Writing
{
    /// <summary>
    /// Moves a finished temporary file to a new target without ever replacing a file that appeared there meanwhile: the
    /// check and the move are one step, so of two writers to the same new -OutFile exactly one wins. Linux:
    /// renameat2(RENAME_NOREPLACE), else link(2) + unlink(2) (link fails with EEXIST); other Unix: link + unlink;
    /// Windows: MoveFileEx without MOVEFILE_REPLACE_EXISTING (File.Move without overwrite).
    /// </summary>
    internal static class NoReplaceRename
    {
        private const int AtFdCwd = -100;
        private const uint RenameNoReplace = 1;
        private const int EEXIST = 17, ENOSYS = 38, EINVAL = 22, ENOTSUP = 95, EPERM = 1, EXDEV = 18;
        private static bool _noRenameat2;

        /// <summary>Moves <paramref name="temp"/> to <paramref name="target"/>; OutputExists when the target exists.</summary>
        public static void Move(string temp, string target)
        {
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows)) { MoveWindows(temp, target); return; }
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Linux) && !_noRenameat2)
            {
                try
                {
                    if (renameat2(AtFdCwd, temp, AtFdCwd, target, RenameNoReplace) == 0) return;
                    int err = Marshal.GetLastWin32Error();
                    if (err == EEXIST) throw Exists(target);
                    if (err != ENOSYS && err != EINVAL) throw new IOException($"renaming '{temp}' to '{target}' failed (errno {err})");
                    // the file system (or kernel) has no RENAME_NOREPLACE: link + unlink below
                }
                catch (Exception e) when (e is EntryPointNotFoundException || e is DllNotFoundException) { _noRenameat2 = true; }
            }
            if (link(temp, target) == 0)
            {
                if (unlink(temp) != 0) TempFiles.TryDelete(temp);
                return;
            }
            int linkErr = Marshal.GetLastWin32Error();
            if (linkErr == EEXIST) throw Exists(target);
            // no hard links here (FAT, some network file systems): the runtime's move, which checks before it renames
            if (linkErr == EPERM || linkErr == ENOTSUP || linkErr == EXDEV) { File.Move(temp, target); return; }
            throw new IOException($"linking '{temp}' to '{target}' failed (errno {linkErr})");
        }

        private static void MoveWindows(string temp, string target)
        {
            try { File.Move(temp, target); }
            catch (IOException) when (File.Exists(target) || Directory.Exists(target)) { throw Exists(target); }
        }

        private static CheckpointWriteException Exists(string target) =>
            new CheckpointWriteException(target, CheckpointWriteErrorKind.OutputExists, "appeared while writing (another writer?); not replacing it");

        [DllImport("libc", SetLastError = true)]
        private static extern int renameat2(int olddirfd, string oldpath, int newdirfd, string newpath, uint flags);

        [DllImport("libc", SetLastError = true)]
        private static extern int link(string oldpath, string newpath);

        [DllImport("libc", SetLastError = true)]
        private static extern int unlink(string pathname);
    }
}

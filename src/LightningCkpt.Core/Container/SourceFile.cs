using System;
using System.IO;

namespace LightningCkpt.Container
{
    /// <summary>
    /// One input file as it was when a checkpoint was opened: its path and identity (device, inode, length, last
    /// write). Every storage points at its SourceFile, so tensor bytes can be read without the Checkpoint (sharded
    /// checkpoints read storages of several files). Data reads go through <see cref="OpenForData"/> and
    /// <see cref="ReadAt"/>: a file that is no longer the recorded version, or that changes while it is read, gives
    /// one clean <see cref="CheckpointFormatException"/> instead of stale or mixed bytes.
    /// </summary>
    public sealed class SourceFile
    {
        public SourceFile(string path, FileIdentity identity)
        {
            Path = path ?? throw new ArgumentNullException(nameof(path));
            Identity = identity;
        }

        public string Path { get; }

        /// <summary>The identity recorded when the checkpoint was opened.</summary>
        public FileIdentity Identity { get; }

        public long Length => Identity.Length;

        /// <summary>
        /// Opens the file for data reads, refusing when the path now names another file (a replaced last.ckpt) or the
        /// same file in another state: objects made from an older version never read the new one.
        /// </summary>
        public FileStream OpenForData()
        {
            FileStream fs;
            // a path swapped for a FIFO or device since it was read would block or never end: refuse it before the open
            var kind = FileIdentity.Of(Path).Kind;
            if (kind != FileKind.Regular && kind != FileKind.Missing) throw Stale("was replaced by " + RegularFileCheck.Describe(kind));
            try
            {
                fs = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.None);
            }
            catch (FileNotFoundException e) { throw Stale("is gone", e); }
            catch (DirectoryNotFoundException e) { throw Stale("is gone", e); }
            var now = FileIdentity.Of(fs.SafeFileHandle, Path);
            if (!Identity.IsUnchangedIn(now))
            {
                fs.Dispose();
                throw Stale(Identity.IsSameFile(now) ? "was rewritten" : "was replaced by another file");
            }
            return fs;
        }

        /// <summary>
        /// Reads exactly <paramref name="count"/> bytes at <paramref name="offset"/> from a stream opened by
        /// <see cref="OpenForData"/>, then checks the open file is still the recorded version, so the bytes handed
        /// on are the ones the checkpoint described.
        /// </summary>
        public void ReadAt(FileStream fs, long offset, byte[] buffer, int bufferOffset, int count, string part)
        {
            if (offset < 0 || count < 0 || offset > Length - count)
                throw new CheckpointFormatException(Path, part, $"{count} bytes at {offset} lie outside the {Length}-byte file") { Defect = CheckpointDefect.Truncated };
            fs.Position = offset;
            int got = 0;
            while (got < count)
            {
                int n = fs.Read(buffer, bufferOffset + got, count - got);
                if (n <= 0) break;
                got += n;
            }
            if (got != count) throw Changed(part);
            CheckUnchanged(fs, part);
        }

        /// <summary>Throws when the open file's length or last write differ from the recorded identity.</summary>
        public void CheckUnchanged(FileStream fs, string part)
        {
            if (!Identity.IsUnchangedIn(FileIdentity.Of(fs.SafeFileHandle, Path))) throw Changed(part);
        }

        /// <summary>The error for a file that changed under a read in progress.</summary>
        public CheckpointFormatException Changed(string part) =>
            new CheckpointFormatException(Path, part, "the file changed while it was being read; retry") { Defect = CheckpointDefect.ChangedWhileReading };

        private CheckpointFormatException Stale(string what, Exception? inner = null) =>
            new CheckpointFormatException(Path, "file",
                $"the file {what} since it was opened ({Identity}); open it again to read the new version", -1, inner) { Defect = CheckpointDefect.ChangedWhileReading };

        public override string ToString() => Path;
    }
}

using System;
using System.IO;
using LightningCkpt.Remote;

namespace LightningCkpt.Container
{
    /// <summary>
    /// One input file as it was when a checkpoint was opened: its path and identity (device, inode, length, last
    /// write). Every storage points at its SourceFile, so tensor bytes can be read without the Checkpoint (sharded
    /// checkpoints read storages of several files). Data reads go through <see cref="OpenForData"/> and
    /// <see cref="ReadAt"/>: a file that is no longer the recorded version, or that changes while it is read, gives
    /// one clean <see cref="CheckpointFormatException"/> instead of stale or mixed bytes. A remote file (an http(s)
    /// URL) is the same kind of source: its identity is the object's length, ETag and Last-Modified, and every range
    /// is conditional on it, so the readers above never know where the bytes come from.
    /// </summary>
    public sealed class SourceFile
    {
        public SourceFile(string path, FileIdentity identity)
        {
            Path = path ?? throw new ArgumentNullException(nameof(path));
            Identity = identity;
        }

        /// <summary>A remote object (opened by its first range request); its Path is the redacted URL.</summary>
        public SourceFile(RemoteObject remote)
        {
            Remote = remote ?? throw new ArgumentNullException(nameof(remote));
            Path = remote.DisplayUrl;
        }

        /// <summary>
        /// How many times this thread has called <see cref="OpenForData"/>: each is an open, a stat and a lock of the
        /// file (tests count them; a summary of a small checkpoint is mostly system calls).
        /// </summary>
        [ThreadStatic] internal static int OpensOnThisThread;

        /// <summary>The file path, or for a remote object its URL without credentials.</summary>
        public string Path { get; }

        /// <summary>The remote object this source reads, or null for a local file.</summary>
        public RemoteObject? Remote { get; }

        /// <summary>The identity recorded when the checkpoint was opened.</summary>
        public FileIdentity Identity { get; }

        public long Length => Remote?.Length ?? Identity.Length;

        /// <summary>Last write (local) or Last-Modified (remote; MinValue when the server sent none).</summary>
        public DateTime LastWriteTimeUtc => Remote != null ? Remote.LastModified?.UtcDateTime ?? DateTime.MinValue : Identity.LastWriteTimeUtc;

        /// <summary>
        /// Opens the file for data reads, refusing when the path now names another file (a replaced last.ckpt) or the
        /// same file in another state: objects made from an older version never read the new one.
        /// </summary>
        public Stream OpenForData()
        {
            OpensOnThisThread++;
            if (Remote != null) return new RemoteStream(Remote);
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
        /// on are the ones the checkpoint described. <paramref name="spanEnd"/> (the end of the storage read, when
        /// known) bounds a remote source's read-ahead.
        /// </summary>
        public void ReadAt(Stream fs, long offset, byte[] buffer, int bufferOffset, int count, string part, long spanEnd = -1)
        {
            if (offset < 0 || count < 0 || offset > Length - count)
                throw new CheckpointFormatException(Path, part, $"{count} bytes at {offset} lie outside the {Length}-byte file") { Defect = CheckpointDefect.Truncated };
            if (fs is RemoteStream remote)
            {
                remote.ReadData(offset, buffer, bufferOffset, count, spanEnd);
                return;
            }
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

        /// <summary>
        /// Throws when the open file's length or last write differ from the recorded identity. A remote stream
        /// needs no look: each of its ranges was conditional on the identity.
        /// </summary>
        public void CheckUnchanged(Stream fs, string part)
        {
            if (!IsUnchanged(fs)) throw Changed(part);
        }

        /// <summary>True when the open file is still the recorded version (always for a remote stream, see <see cref="CheckUnchanged"/>).</summary>
        public bool IsUnchanged(Stream fs) =>
            !(fs is FileStream f) || Identity.IsUnchangedIn(FileIdentity.Of(f.SafeFileHandle, Path));

        /// <summary>The error for a file that changed under a read in progress.</summary>
        public CheckpointFormatException Changed(string part) =>
            new CheckpointFormatException(Path, part, "the file changed while it was being read; retry") { Defect = CheckpointDefect.ChangedWhileReading };

        private CheckpointFormatException Stale(string what, Exception? inner = null) =>
            new CheckpointFormatException(Path, "file",
                $"the file {what} since it was opened ({Identity}); open it again to read the new version", -1, inner) { Defect = CheckpointDefect.ChangedWhileReading };

        public override string ToString() => Path;
    }
}

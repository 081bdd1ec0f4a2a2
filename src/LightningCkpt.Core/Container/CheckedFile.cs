using System.IO;

namespace LightningCkpt.Container
{
    /// <summary>
    /// The one way the readers open a file: refused by type before the open (a FIFO blocks an open forever, past Ctrl+C;
    /// a device has no end), checked again on the handle (the path may have been swapped in between), and — for the small
    /// files read whole (an index, 'latest', DCP's .metadata) — bounded by what the format allows, counting the bytes
    /// really read, not the length a special file reports.
    /// </summary>
    public static class CheckedFile
    {
        /// <summary>Opens <paramref name="path"/> for reading; its identity is checked on the open handle.</summary>
        public static FileStream OpenRead(string path, FileOptions options = FileOptions.RandomAccess) => OpenRead(path, out _, options);

        /// <summary><see cref="OpenRead(string, FileOptions)"/>, with the identity of the open file (read once for both uses).</summary>
        public static FileStream OpenRead(string path, out FileIdentity identity, FileOptions options = FileOptions.RandomAccess)
        {
            RegularFileCheck.RequireReadable(path);
            var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 4096, options);
            identity = FileIdentity.Of(fs.SafeFileHandle, path);
            var kind = identity.Kind;
            if (kind != FileKind.Regular && kind != FileKind.Missing)
            {
                fs.Dispose();
                throw new CheckpointFormatException(path, "file", $"is {RegularFileCheck.Describe(kind)}, not a regular file; checkpoints are read from regular files only")
                {
                    Kind = CheckpointErrorKind.NotACheckpoint,
                };
            }
            return fs;
        }

        /// <summary>The whole of a small file, at most <paramref name="maxBytes"/> (LimitExceeded beyond, without reading on).</summary>
        public static byte[] ReadAllBytes(string path, long maxBytes, string what)
        {
            using var fs = OpenRead(path, FileOptions.SequentialScan);
            long length = fs.Length;
            if (length > maxBytes) throw TooLarge(path, length.ToString(System.Globalization.CultureInfo.InvariantCulture), maxBytes, what);
            var ms = new MemoryStream((int)length);
            var buffer = new byte[81920];
            int n;
            while ((n = fs.Read(buffer, 0, buffer.Length)) > 0)
            {
                // a file that grows, or reports no length, is still read no further than the bound
                if (ms.Length + n > maxBytes) throw TooLarge(path, "more than " + maxBytes, maxBytes, what);
                ms.Write(buffer, 0, n);
            }
            return ms.ToArray();
        }

        /// <summary><see cref="ReadAllBytes"/> decoded as UTF-8 (a BOM is skipped, as File.ReadAllText does).</summary>
        public static string ReadAllText(string path, long maxBytes, string what)
        {
            var bytes = ReadAllBytes(path, maxBytes, what);
            int skip = bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0;
            return System.Text.Encoding.UTF8.GetString(bytes, skip, bytes.Length - skip);
        }

        internal static CheckpointFormatException TooLarge(string path, string bytes, long maxBytes, string what) =>
            new CheckpointFormatException(path, what, $"{bytes} bytes exceed the {maxBytes}-byte limit for {what}") { Kind = CheckpointErrorKind.LimitExceeded };
    }
}

namespace LightningCkpt.Container
{
    /// <summary>
    /// Refuses FIFOs, devices and sockets by their type before anything opens them: opening a FIFO for reading
    /// blocks until a writer appears (forever, and Ctrl+C cannot interrupt it), and a device has no end.
    /// </summary>
    internal static class RegularFileCheck
    {
        /// <summary>Throws a <see cref="CheckpointFormatException"/> (NotACheckpoint) when <paramref name="path"/> names a special file.</summary>
        public static void RequireReadable(string path)
        {
            var kind = FileIdentity.Of(path).Kind;
            if (kind == FileKind.Regular || kind == FileKind.Missing || kind == FileKind.Directory) return;
            throw new CheckpointFormatException(path, "file", $"is {Describe(kind)}, not a regular file; checkpoints are read from regular files only")
            {
                Kind = CheckpointErrorKind.NotACheckpoint,
            };
        }

        public static string Describe(FileKind kind) => kind switch
        {
            FileKind.Directory => "a directory",
            FileKind.Fifo => "a FIFO (named pipe)",
            FileKind.CharacterDevice => "a character device",
            FileKind.BlockDevice => "a block device",
            FileKind.Socket => "a socket",
            FileKind.Regular => "a regular file",
            _ => "a special file",
        };
    }
}

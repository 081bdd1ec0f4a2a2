using System;

namespace LightningCkpt
{
    /// <summary>
    /// The one exception for malformed or unsupported input. The message always names the file, the part of
    /// the file (zip directory, entry, pickle opcode and offset, storage key) and what is wrong.
    /// </summary>
    [Serializable]
    public sealed class CheckpointFormatException : Exception
    {
        public CheckpointFormatException(string filePath, string part, string reason, long offset = -1, Exception? inner = null)
            : base(Compose(filePath, part, reason, offset), inner)
        {
            FilePath = filePath;
            Part = part;
            Reason = reason;
            Offset = offset;
        }

        /// <summary>The file that was being read.</summary>
        public string FilePath { get; }

        /// <summary>Which part of the file: "zip directory", "entry 'archive/data.pkl'", "pickle", "storage '3'" …</summary>
        public string Part { get; }

        /// <summary>What is wrong, without the file and part.</summary>
        public string Reason { get; }

        /// <summary>Byte offset inside the part (or the file) where the problem was seen; -1 when not meaningful.</summary>
        public long Offset { get; }

        /// <summary>Classifies the problem for error ids and findings.</summary>
        public CheckpointErrorKind Kind { get; init; } = CheckpointErrorKind.Malformed;

        /// <summary>Which kind of damage, where the thrower knows it (Test-Ckpt reports it as the finding kind).</summary>
        public CheckpointDefect Defect { get; init; }

        private static string Compose(string filePath, string part, string reason, long offset)
        {
            var where = offset >= 0 ? $"{part} at offset {offset}" : part;
            return $"{filePath}: {where}: {reason}";
        }
    }

    /// <summary>The damage a malformed file shows, named where it is detected.</summary>
    public enum CheckpointDefect
    {
        /// <summary>Not one of the named defects.</summary>
        None,
        /// <summary>The bytes end before the structure they describe does.</summary>
        Truncated,
        /// <summary>A storage's declared size and the bytes recorded for it disagree.</summary>
        StorageSizeMismatch,
        /// <summary>A tensor or storage view reaches outside its storage.</summary>
        ViewOutOfBounds,
        /// <summary>A storage is named but has no bytes in the file (or the reverse).</summary>
        MissingStorage,
        /// <summary>The file changed (truncated, rewritten, replaced) while or since it was read.</summary>
        ChangedWhileReading,
    }

    /// <summary>Broad classes of input problems, so callers can pick error ids and categories.</summary>
    public enum CheckpointErrorKind
    {
        /// <summary>The bytes are damaged or inconsistent.</summary>
        Malformed,
        /// <summary>The file is not a torch checkpoint at all (or one of a kind we name but do not read).</summary>
        NotACheckpoint,
        /// <summary>A well-formed file of a kind this version does not read yet.</summary>
        Unsupported,
        /// <summary>A resource limit was hit (nesting, sizes, counts).</summary>
        LimitExceeded,
    }
}

using System;
using System.IO;

namespace LightningCkpt.Writing
{
    /// <summary>Why a write was refused or failed; cmdlets turn each kind into one documented error id.</summary>
    public enum CheckpointWriteErrorKind
    {
        /// <summary>The output is (or links to) one of the inputs of this call, compared by device and inode (OutFileIsInput).</summary>
        OutputIsInput,
        /// <summary>The output names a directory, device, FIFO or socket: only regular files are written, even with -Force (OutFileNotAFile).</summary>
        OutputNotAFile,
        /// <summary>The output exists and overwriting was not asked for (OutFileExists).</summary>
        OutputExists,
        /// <summary>The output folder does not exist (FileWriteError).</summary>
        OutputFolderMissing,
        /// <summary>Writing failed (disk full, permissions, an I/O error); nothing was replaced (FileWriteError).</summary>
        WriteFailed,
        /// <summary>The content cannot be written in the chosen format (a value outside the allow-list) (FileWriteError).</summary>
        NotWritable,
    }

    /// <summary>
    /// The one exception the writers throw for a refused or failed write: the output is untouched (an existing file
    /// keeps its old content, a new one does not appear) and no temporary file is left. An <see cref="IOException"/>,
    /// so callers that catch I/O problems keep working.
    /// </summary>
    [Serializable]
    public sealed class CheckpointWriteException : IOException
    {
        public CheckpointWriteException(string target, CheckpointWriteErrorKind kind, string reason, Exception? inner = null)
            : base($"{target}: {reason}", inner)
        {
            Target = target;
            Kind = kind;
            Reason = reason;
        }

        /// <summary>The output path (absolute).</summary>
        public string Target { get; }

        public CheckpointWriteErrorKind Kind { get; }

        /// <summary>What is wrong, without the path.</summary>
        public string Reason { get; }
    }
}

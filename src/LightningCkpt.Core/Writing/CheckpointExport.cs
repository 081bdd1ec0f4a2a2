using System;
using System.Collections.Generic;
using System.IO;
using LightningCkpt.Torch;

namespace LightningCkpt.Writing
{
    /// <summary>
    /// Writes an object graph (from <see cref="CkptGraph"/>, possibly edited, or any mix of checkpoint values and plain
    /// .NET values) as a torch zip checkpoint, atomically. Tensor bytes are copied from their source files unchanged;
    /// a source file that changed since it was read is refused, and no source file is ever the output.
    /// </summary>
    public static class CheckpointExport
    {
        /// <param name="sources">Checkpoints whose raw <see cref="TensorRef"/>s the graph holds (a <see cref="CkptTensor"/> knows its own).</param>
        /// <param name="normalize">Maps foreign wrappers (PowerShell's PSObject) to plain values before writing.</param>
        public static void Write(object? root, string outFile, bool overwrite, IEnumerable<Checkpoint>? sources = null, Func<object, object?>? normalize = null)
        {
            var owners = new Dictionary<StorageRef, Checkpoint>();
            foreach (var c in sources ?? Array.Empty<Checkpoint>())
                foreach (var s in c.Storages) owners[s] = c;
            var (pickle, storages) = GraphPickler.Dump(root, s => owners.TryGetValue(s, out var c) ? c : null, normalize);

            var files = new Dictionary<string, Checkpoint>(StringComparer.Ordinal);
            foreach (var c in owners.Values) files[c.FilePath] = c;
            foreach (var st in storages) files[st.Source!.FilePath] = st.Source;
            AtomicFile.Write(outFile, overwrite, files.Keys, stream =>
            {
                foreach (var c in files.Values) EnsureUnchanged(c);
                TorchZipWriter.WriteArchive(stream, TorchZipWriter.ArchiveNameFor(outFile), pickle, storages);
            });
        }

        /// <summary>Tensors are bound to the file they were read from: its bytes may only be copied while it is the same file.</summary>
        private static void EnsureUnchanged(Checkpoint c)
        {
            var info = new FileInfo(c.FilePath);
            if (!info.Exists)
                throw new CheckpointFormatException(c.FilePath, "file", "was deleted after it was read; its tensors can no longer be copied") { Kind = CheckpointErrorKind.Malformed };
            if (info.Length != c.FileLength || info.LastWriteTimeUtc != c.LastWriteTimeUtc)
                throw new CheckpointFormatException(c.FilePath, "file", "changed after it was read; import it again before exporting its tensors") { Kind = CheckpointErrorKind.Malformed };
        }
    }
}

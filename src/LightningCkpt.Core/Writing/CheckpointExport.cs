using System;
using System.Collections.Generic;
using System.IO;
using LightningCkpt.Torch;

namespace LightningCkpt.Writing
{
    /// <summary>
    /// Writes an object graph (from <see cref="CkptGraph"/>, possibly edited, or any mix of checkpoint values and plain
    /// .NET values) as a torch zip checkpoint, atomically. The pickle is made in memory first, so a graph that cannot
    /// be written fails before any file is touched. Tensor bytes are copied from their source files unchanged; a
    /// source file that changed since it was read is refused, and no source file is ever the output.
    /// </summary>
    public sealed class CheckpointExport
    {
        private readonly byte[] _pickle;
        private readonly List<ZipStorage> _storages;
        private readonly Dictionary<string, Checkpoint> _files;

        private CheckpointExport(byte[] pickle, List<ZipStorage> storages, Dictionary<string, Checkpoint> files)
        {
            _pickle = pickle;
            _storages = storages;
            _files = files;
        }

        /// <summary>The files whose tensor bytes the output copies (never valid outputs).</summary>
        public IReadOnlyCollection<string> SourceFiles => _files.Keys;

        /// <summary>Storage records the output will hold.</summary>
        public int StorageCount => _storages.Count;

        /// <summary>Pickles <paramref name="root"/>; <see cref="GraphWriteException"/> when a value has no Python spelling.</summary>
        /// <param name="sources">Checkpoints whose raw <see cref="TensorRef"/>s the graph holds (a <see cref="CkptTensor"/> knows its own).</param>
        /// <param name="normalize">Maps foreign wrappers (PowerShell's PSObject) to plain values before writing.</param>
        public static CheckpointExport Prepare(object? root, IEnumerable<Checkpoint>? sources = null, Func<object, object?>? normalize = null)
        {
            var owners = new Dictionary<StorageRef, Checkpoint>();
            foreach (var c in sources ?? Array.Empty<Checkpoint>())
                foreach (var s in c.Storages) owners[s] = c;
            var (pickle, storages) = GraphPickler.Dump(root, s => owners.TryGetValue(s, out var c) ? c : null, normalize);
            var files = new Dictionary<string, Checkpoint>(StringComparer.Ordinal);
            foreach (var st in storages) files[st.Source!.FilePath] = st.Source;
            return new CheckpointExport(pickle, storages, files);
        }

        public static void Write(object? root, string outFile, bool overwrite, IEnumerable<Checkpoint>? sources = null, Func<object, object?>? normalize = null) =>
            Prepare(root, sources, normalize).Write(outFile, overwrite);

        /// <summary>Writes the prepared checkpoint to <paramref name="outFile"/> (temporary file, then rename).</summary>
        public void Write(string outFile, bool overwrite)
        {
            AtomicFile.Write(outFile, overwrite, _files.Keys, stream =>
            {
                foreach (var c in _files.Values) EnsureUnchanged(c);
                TorchZipWriter.WriteArchive(stream, TorchZipWriter.ArchiveNameFor(outFile), _pickle, _storages);
            });
        }

        /// <summary>Tensors are bound to the file they were read from: its bytes may only be copied while it is the same file.</summary>
        private static void EnsureUnchanged(Checkpoint c)
        {
            var info = new FileInfo(c.FilePath);
            if (!info.Exists)
                throw new SourceChangedException(c.FilePath, $"'{c.FilePath}' was deleted after it was read; its tensors can no longer be copied");
            if (info.Length != c.FileLength || info.LastWriteTimeUtc != c.LastWriteTimeUtc)
                throw new SourceChangedException(c.FilePath, $"'{c.FilePath}' changed after it was read; import it again before exporting its tensors");
        }
    }

    /// <summary>A file whose tensors a graph holds was changed or removed after it was read.</summary>
    public sealed class SourceChangedException : IOException
    {
        public SourceChangedException(string path, string message) : base(message) => FilePath = path;
        public string FilePath { get; }
    }
}

using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using LightningCkpt.Container;
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

        private readonly List<string> _protected;

        private CheckpointExport(byte[] pickle, List<ZipStorage> storages, Dictionary<string, Checkpoint> files, IReadOnlyList<string> dangerous, IEnumerable<Checkpoint> origins)
        {
            _pickle = pickle;
            _storages = storages;
            _files = files;
            _protected = files.Values.Concat(origins).SelectMany(OutputGuard.FilesOf).Distinct(StringComparer.Ordinal).ToList();
            DangerousGlobals = dangerous;
        }

        /// <summary>
        /// Globals the output pickle names that torch.load(weights_only=False) would run (posix.system …), graded as
        /// Get-CkptInfo grades them by name: an imported payload is re-emitted faithfully, so the caller must say so.
        /// </summary>
        public IReadOnlyList<string> DangerousGlobals { get; }

        /// <summary>Bytes of tensor storage the output copies or produces (the progress total).</summary>
        public long StorageBytes
        {
            get
            {
                long total = 0;
                foreach (var s in _storages) total += s.Bytes;
                return total;
            }
        }

        /// <summary>The files whose tensor bytes the output copies.</summary>
        public IReadOnlyCollection<string> SourceFiles => _files.Keys;

        /// <summary>
        /// Every file the output must never replace: each file of each checkpoint a tensor comes from (a folder's index,
        /// metadata and shards too) and of the checkpoint the graph was imported from, with or without tensors.
        /// </summary>
        public IReadOnlyList<string> ProtectedFiles => _protected;

        /// <summary>Storage records the output will hold.</summary>
        public int StorageCount => _storages.Count;

        /// <summary>Pickles <paramref name="root"/>; <see cref="GraphWriteException"/> when a value has no Python spelling.</summary>
        /// <param name="root">The value to write: a checkpoint's root, edited or built by the caller.</param>
        /// <param name="sources">Checkpoints whose raw <see cref="TensorRef"/>s the graph holds (a <see cref="CkptTensor"/> knows its own).</param>
        /// <param name="normalize">Maps foreign wrappers (PowerShell's PSObject) to plain values before writing.</param>
        /// <param name="safeTypes">Write every value as data torch's weights_only loader accepts (<see cref="SafeTypes"/>);
        /// the conversions made are in <see cref="Conversions"/>.</param>
        public static CheckpointExport Prepare(object? root, IEnumerable<Checkpoint>? sources = null, Func<object, object?>? normalize = null, bool safeTypes = false)
        {
            var owners = new Dictionary<StorageRef, Checkpoint>();
            foreach (var c in sources ?? Array.Empty<Checkpoint>())
                foreach (var s in c.Storages) owners[s] = c;
            IReadOnlyList<string> conversions = Array.Empty<string>();
            if (safeTypes)
            {
                var safe = new SafeTypes(normalize: normalize);
                root = safe.Convert(root, "");
                conversions = new List<string>(safe.Describe());
            }
            var (pickle, storages) = GraphPickler.Dump(root, s => owners.TryGetValue(s, out var c) ? c : null, normalize, out var globals);
            var files = new Dictionary<string, Checkpoint>(StringComparer.Ordinal);
            foreach (var st in storages) files[st.Source!.FilePath] = st.Source;
            var dangerous = new List<string>();
            foreach (var (module, name) in globals)
                if (Safety.GlobalGrades.Grade(module, name) == Safety.GlobalGrade.Dangerous) dangerous.Add(module + "." + name);
            var origin = CkptGraph.OriginOf(root) ?? (normalize != null && root != null ? CkptGraph.OriginOf(normalize(root)) : null);
            return new CheckpointExport(pickle, storages, files, dangerous, origin == null ? Array.Empty<Checkpoint>() : new[] { origin }) { Conversions = conversions };
        }

        /// <summary>With safeTypes: one line per kind of conversion made ("argparse.Namespace → dict: hyper_parameters.args").</summary>
        public IReadOnlyList<string> Conversions { get; private set; } = Array.Empty<string>();

        public static void Write(object? root, string outFile, bool overwrite, IEnumerable<Checkpoint>? sources = null, Func<object, object?>? normalize = null) =>
            Prepare(root, sources, normalize).Write(outFile, overwrite);

        /// <summary>Writes the prepared checkpoint to <paramref name="outFile"/> (temporary file, then rename).</summary>
        /// <param name="outFile">The file to write.</param>
        /// <param name="overwrite">Replace an existing file (never a source).</param>
        /// <param name="progress">Bytes copied, and cancellation: a cancelled write stops within one chunk and leaves no file.</param>
        public void Write(string outFile, bool overwrite, Data.ReadProgress? progress = null)
        {
            if (IsSource(outFile))
                throw new IOException($"refusing to write onto '{outFile}', a file the graph's tensors come from; choose another output path");
            using var readers = new ReaderPool(progress);
            AtomicFile.Write(outFile, overwrite, _protected, stream =>
            {
                foreach (var c in _files.Values) EnsureUnchanged(c);
                TorchZipWriter.WriteArchive(stream, TorchZipWriter.ArchiveNameFor(outFile), _pickle, _storages, readers);
            });
        }

        /// <summary>True when <paramref name="path"/> is one of the source files, by identity (device and inode, so a hard
        /// link or another spelling of the path counts) as well as by path.</summary>
        public bool IsSource(string path)
        {
            var full = Path.GetFullPath(path);
            var target = FileIdentity.Of(full);
            foreach (var f in _protected)
            {
                if (string.Equals(Path.GetFullPath(f), full, StringComparison.Ordinal)) return true;
                if (target.Exists && target.IsSameFile(FileIdentity.Of(f))) return true;
            }
            return false;
        }

        /// <summary>Tensors are bound to the file they were read from: its bytes may only be copied while it is that same file, unchanged.</summary>
        private static void EnsureUnchanged(Checkpoint c)
        {
            try { c.Source.OpenForData().Dispose(); }
            catch (CheckpointFormatException e)
            {
                throw new SourceChangedException(c.FilePath, $"'{c.FilePath}' changed after it was read ({e.Reason}); import it again before exporting its tensors");
            }
        }
    }

    /// <summary>A file whose tensors a graph holds was changed or removed after it was read.</summary>
    public sealed class SourceChangedException : IOException
    {
        public SourceChangedException(string path, string message) : base(message) => FilePath = path;
        public string FilePath { get; }
    }
}

using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using LightningCkpt.Pickle;
using LightningCkpt.Torch;

namespace LightningCkpt.Container.Sharded
{
    /// <summary>
    /// A torch.distributed.checkpoint folder: the bare pickle <c>.metadata</c> (read as data, never executed) names
    /// every value; tensors are boxes in their full shape, each a torch.save archive at a byte range of a
    /// <c>__R_N.distcp</c> file, read by the ordinary zip reader over that range. Both class-path generations are
    /// read by name (torch 1.13 <c>torch.distributed._shard.checkpoint</c>, 2.x <c>torch.distributed.checkpoint</c>).
    /// Keys are nested again from <c>planner_data</c> paths, never by splitting on dots.
    /// </summary>
    internal sealed class DcpCheckpoint
    {
        private static readonly string[] MetadataModules =
        {
            "torch.distributed._shard.checkpoint.metadata", // torch 1.13
            "torch.distributed.checkpoint.metadata",        // torch 2.x
        };

        private DcpCheckpoint(ShardFolder folder) => Folder = folder;

        /// <summary>Where the files are: a local folder, or the URL prefix of a remote .metadata.</summary>
        public ShardFolder Folder { get; }

        /// <summary>What the checkpoint is called: the folder, or the .metadata URL as it may be shown.</summary>
        public string Dir => Folder.Location;
        public PyDict Root { get; } = new PyDict();
        public List<StorageRef> Storages { get; } = new List<StorageRef>();
        public List<GlobalsRecorder> Globals { get; } = new List<GlobalsRecorder>();
        public List<string> Files { get; } = new List<string>();
        public List<string> Notes { get; } = new List<string>();
        public int Protocol { get; private set; }

        /// <summary>The .metadata file as it was read.</summary>
        public SourceFile MetadataSource { get; private set; } = null!;
        public long PickleBytes { get; private set; }
        public int WorldSize { get; private set; }
        public int DataFiles { get; private set; }
        public string? Version { get; private set; }

        /// <summary>False when the metadata carried no planner_data (torch 1.13): keys are flat as written.</summary>
        public bool HasPlannerData { get; private set; }

        public static DcpCheckpoint Open(string dir) => Open(new LocalShardFolder(dir));

        public static DcpCheckpoint Open(ShardFolder folder)
        {
            var c = new DcpCheckpoint(folder);
            c.Load();
            return c;
        }

        public Checkpoint ToCheckpoint() => new Checkpoint(Dir, MetadataSource, CheckpointFormat.Dcp, Root, Storages, GlobalsRecorder.Merge(Globals), Protocol, PickleBytes, Info());

        public ShardingInfo Info() => new ShardingInfo(Files, DataFiles) { WorldSize = WorldSize, Tag = Version, Notes = Notes };

        private void Load()
        {
            var mdPath = Folder.PathOf(ShardedCheckpointReader.DcpMetadataName, Dir);
            Files.Add(mdPath);
            var bytes = Folder.ReadAll(ShardedCheckpointReader.DcpMetadataName, Limits.MaxPickleBytes, "the .metadata file", out var mdSource);
            MetadataSource = mdSource;
            var host = new TorchHost(new NoStorages(mdPath));
            // the metadata of many ranks is large by nature: its allowance follows the data files it describes, as
            // stored on disk (a sparse file's length costs nothing to fake); DcpMetadataBudget narrows it once the
            // pickle says which bytes it references. A URL prefix cannot be listed: by URL the metadata has the flat
            // allowance of a pickle beside no data.
            var listed = Folder.List(".distcp");
            var machine = new PickleMachine(host, mdPath, "pickle") { MaxObjectCost = Limits.MaxDcpMetadataCostFor(DcpMetadataBudget.StoredBytes(Folder, listed)) };
            var md = machine.Load(bytes);
            Globals.Add(machine.Globals);
            Protocol = machine.Protocol;
            PickleBytes = bytes.Length;

            var cls = md as PyObject;
            var module = cls?.Class?.Module;
            if (cls == null || cls.Class!.Name != "Metadata" || !MetadataModules.Contains(module))
                throw new CheckpointFormatException(mdPath, "pickle", $"the .metadata pickle holds {PyRepr.Render(md, 80)}, not torch.distributed.checkpoint Metadata") { Kind = CheckpointErrorKind.NotACheckpoint };
            Notes.Add(module == MetadataModules[0] ? "torch 1.13 class paths (torch.distributed._shard.checkpoint)" : "torch 2.x class paths (torch.distributed.checkpoint)");
            Version = PyFields.Get(md, "version") as string;

            var sdm = PyFields.Get(md, "state_dict_metadata") as PyDict
                ?? throw new CheckpointFormatException(mdPath, "Metadata", "state_dict_metadata is missing or not a dict");
            var planner = PyFields.Get(md, "planner_data") as PyDict;
            HasPlannerData = planner != null;
            var storageData = PyFields.Get(md, "storage_data") as PyDict
                ?? throw new CheckpointFormatException(mdPath, "Metadata", "storage_data is missing or not a dict (was it written by a non-filesystem storage writer?)") { Kind = CheckpointErrorKind.Unsupported };

            // MetadataIndex objects are dict keys; torch matches them by (fqn, offset)
            var items = new Dictionary<string, DcpItem>(StringComparer.Ordinal);
            foreach (var e in storageData)
            {
                var fqn = PyFields.Get(e.Key, "fqn") as string ?? throw new CheckpointFormatException(mdPath, "storage_data", $"a key {PyRepr.Render(e.Key, 80)} has no fqn");
                var rel = PyFields.Get(e.Value, "relative_path") as string ?? throw new CheckpointFormatException(mdPath, "storage_data", $"'{fqn}' has no relative_path");
                long off = PyFields.Long(PyFields.Get(e.Value, "offset")) ?? throw new CheckpointFormatException(mdPath, "storage_data", $"'{fqn}' has no offset");
                long len = PyFields.Long(PyFields.Get(e.Value, "length")) ?? throw new CheckpointFormatException(mdPath, "storage_data", $"'{fqn}' has no length");
                var transforms = new List<string>();
                switch (PyFields.Get(e.Value, "transform_descriptors"))
                {
                    case null: break;
                    case PyList tl when tl.All(x => x is string):
                        transforms.AddRange(tl.Cast<string>());
                        break;
                    case var other:
                        throw new CheckpointFormatException(mdPath, "storage_data", $"'{fqn}' has transform_descriptors {PyRepr.Render(other, 60)}, not a list of strings");
                }
                items[IndexKey(fqn, PyFields.Get(e.Key, "offset"))] = new DcpItem(rel, off, len, transforms);
            }

            var budget = DcpMetadataBudget.After(mdPath, Folder, items.Values, machine.ObjectCost);
            Folder.Prefetch(items.Values.Select(i => new KeyValuePair<string, (long, long)>(i.File, (i.Offset, i.Length))));
            var data = new DcpDataFiles(Folder, mdPath, Absorb);
            try
            {
                foreach (var entry in sdm)
                {
                    var key = entry.Key as string ?? throw new CheckpointFormatException(mdPath, "state_dict_metadata", $"key {PyRepr.Render(entry.Key, 60)} is not a string");
                    object? value;
                    var kind = PyFields.ClassOf(entry.Value);
                    if (kind.EndsWith(".BytesStorageMetadata", StringComparison.Ordinal))
                    {
                        if (!items.TryGetValue(IndexKey(key, null), out var where))
                            throw Missing(mdPath, key, "its bytes");
                        value = data.Bytes(where, key).Root;
                    }
                    else if (kind.EndsWith(".TensorStorageMetadata", StringComparison.Ordinal))
                    {
                        value = Tensor(mdPath, key, entry.Value, items, data);
                    }
                    else throw new CheckpointFormatException(mdPath, "state_dict_metadata", $"'{key}' is described by {kind}, neither tensor nor bytes storage metadata") { Kind = CheckpointErrorKind.Unsupported };

                    if (planner != null && planner.TryGetValue(key, out var path) && path is PyTuple p && p.Count > 0) SetElement(Root, p, value, mdPath, budget);
                    else Root.Set(key, value);
                }
                data.RequireDisjointItems();
            }
            finally
            {
                // a data file rewritten while its blobs were parsed would hand on ranges of another version
                data.Dispose();
            }
            WorldSize = Math.Max(1, data.Ranks.Count);
            DataFiles = data.Names.Count;
            foreach (var f in data.Names.OrderBy(x => x, StringComparer.Ordinal)) Files.Add(Folder.PathOf(f, mdPath));
            if (data.SawSafetensors) Notes.Add("tensors in safetensors parts (serialization_format=SAFETENSORS)");
            if (data.TransformsSeen.Count > 0) Notes.Add("stream transforms " + string.Join(", ", data.TransformsSeen));
            var stray = (listed ?? Array.Empty<KeyValuePair<string, long>>()).Select(f => f.Key).Where(n => !data.Names.Contains(n)).ToList();
            if (stray.Count > 0) Notes.Add($"{stray.Count} .distcp file(s) the metadata does not name: {string.Join(", ", stray.Take(5))}");
        }

        private static string IndexKey(string fqn, object? offset) =>
            fqn + "\0" + (PyFields.Longs(offset) is { } o ? string.Join(",", o) : "none");

        private static CheckpointFormatException Missing(string mdPath, string key, string what) =>
            new CheckpointFormatException(mdPath, "storage_data", $"'{key}' has no storage entry for {what}", -1) { Defect = CheckpointDefect.MissingStorage };

        private object Tensor(string mdPath, string key, object? tsm, Dictionary<string, DcpItem> items, DcpDataFiles data)
        {
            var props = PyFields.Get(tsm, "properties");
            var dtype = (props as PyObject)?.State switch
            {
                PyTuple t when t.Count > 0 => t[0] as DType,
                PyDict d => d.Get("dtype") as DType,
                _ => null,
            } ?? PyFields.Get(props, "dtype") as DType
              ?? throw new CheckpointFormatException(mdPath, "state_dict_metadata", $"'{key}' has no torch dtype in its TensorProperties");
            var size = PyFields.Longs(PyFields.Get(tsm, "size")) ?? throw new CheckpointFormatException(mdPath, "state_dict_metadata", $"'{key}' has no size");
            if (size.Length > Limits.MaxTensorDims) throw new CheckpointFormatException(mdPath, "state_dict_metadata", $"'{key}' has {size.Length} dimensions (limit {Limits.MaxTensorDims})") { Kind = CheckpointErrorKind.LimitExceeded };
            TensorSize.Bytes(dtype, TensorSize.Elements(size, key, mdPath, "state_dict_metadata"), key, size, mdPath, "state_dict_metadata");
            var chunkList = PyFields.Get(tsm, "chunks") as PyList ?? throw new CheckpointFormatException(mdPath, "state_dict_metadata", $"'{key}' has no chunk list");
            var chunks = new List<TensorChunk>();
            foreach (var cm in chunkList)
            {
                var offsets = PyFields.Longs(PyFields.Get(cm, "offsets")) ?? throw new CheckpointFormatException(mdPath, "state_dict_metadata", $"a chunk of '{key}' has no offsets");
                var sizes = PyFields.Longs(PyFields.Get(cm, "sizes")) ?? throw new CheckpointFormatException(mdPath, "state_dict_metadata", $"a chunk of '{key}' has no sizes");
                TensorSize.Elements(sizes, $"{key} chunk at [{string.Join(", ", offsets)}]", mdPath, "state_dict_metadata");
                var idx = IndexKey(key, new PyTuple(offsets.Select(o => (object?)o).ToArray()));
                if (!items.TryGetValue(idx, out var where)) throw Missing(mdPath, key, $"the chunk at [{string.Join(", ", offsets)}]");
                var piece = data.Piece(where, key, offsets);
                chunks.Add(ShardedCheckpointReader.Chunk(Folder.PathOf(where.File, mdPath), $"bytes {where.Offset}+{where.Length}", key, dtype, offsets, sizes, piece, $"{where.File}@{where.Offset}"));
            }
            return ShardedCheckpointReader.Place(mdPath, key, dtype, size, chunks);
        }

        private void Absorb(LoadedPickle blob)
        {
            Storages.AddRange(blob.Storages);
            Globals.Add(blob.Globals);
            PickleBytes += blob.PickleBytes;
        }

        /// <summary>
        /// torch's set_element: str path items make dicts, int items make lists padded with None; what it builds is
        /// charged to the metadata's <paramref name="budget"/> (a path's index alone can ask for a million slots).
        /// </summary>
        private static void SetElement(PyDict root, PyTuple path, object? value, string mdPath, DcpMetadataBudget budget)
        {
            object container = root;
            for (int i = 0; i < path.Count; i++)
            {
                bool last = i == path.Count - 1;
                var item = path[i];
                switch (container)
                {
                    case PyDict d:
                        if (last) { d.Set(item, value); return; }
                        if (d.TryGetValue(item, out var existing) && (existing is PyDict || existing is PyList)) container = existing!;
                        else d.Set(item, container = NewContainer(path[i + 1], budget));
                        break;
                    case PyList l when item is long idx && idx >= 0 && idx < 1_000_000:
                        if (l.Count <= idx) budget.Charge((idx + 1 - l.Count) * Limits.CostPerItem, "planner_data list slots");
                        while (l.Count <= idx) l.Add(null);
                        if (last) { l[(int)idx] = value; return; }
                        if (l[(int)idx] is PyDict || l[(int)idx] is PyList) container = l[(int)idx]!;
                        else l[(int)idx] = container = NewContainer(path[i + 1], budget);
                        break;
                    default:
                        throw new CheckpointFormatException(mdPath, "planner_data", $"path {PyRepr.Render(path, 80)} does not fit the nesting built so far");
                }
            }
        }

        /// <summary>The container the next path item indexes: a list for an int, otherwise a dict.</summary>
        private static object NewContainer(object? nextItem, DcpMetadataBudget budget)
        {
            budget.Charge(Limits.CostPerContainer, "planner_data containers");
            return nextItem is long ? new PyList() : (object)new PyDict();
        }

        private sealed class NoStorages : IStorageLocator
        {
            private readonly string _path;
            public NoStorages(string path) => _path = path;
            public void Locate(StorageRef storage) => throw new PickleDataException($"the .metadata pickle of '{_path}' references a tensor storage, which DCP metadata never does");
            public object? LoadByKey(string key) => null;
        }
    }
}

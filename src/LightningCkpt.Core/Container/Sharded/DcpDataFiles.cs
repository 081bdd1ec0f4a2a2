using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using LightningCkpt.Pickle;
using LightningCkpt.Torch;

namespace LightningCkpt.Container.Sharded
{
    /// <summary>Where DCP's <c>_StorageInfo</c> puts one item: a byte range of a data file and the stream transforms over it.</summary>
    internal readonly struct DcpItem
    {
        public DcpItem(string file, long offset, long length, IReadOnlyList<string> transforms)
        {
            File = file;
            Offset = offset;
            Length = length;
            Transforms = transforms;
        }

        public string File { get; }
        public long Offset { get; }
        public long Length { get; }

        /// <summary>transform_descriptors as recorded ("stream.zstd/1"), empty when the bytes are stored as they are.</summary>
        public IReadOnlyList<string> Transforms { get; }
    }

    /// <summary>
    /// The <c>.distcp</c> files of one DCP folder while it is opened: each opened once with its identity recorded, and
    /// what an item's byte range holds. That is a torch.save archive (the default), the same archive under a zstd stream
    /// transform (decoded into memory), or, for <c>serialization_format=SAFETENSORS</c>, the safetensors part torch
    /// appends to a rank's file after its byte items: every tensor item of that file records the part's start as its
    /// offset and is found in it by its key, checked against the part's <c>DCP_SHARDING_INFO</c> offsets.
    /// </summary>
    internal sealed class DcpDataFiles : IDisposable
    {
        private const string ZstdDescriptor = "stream.zstd/";
        private static readonly Regex DataFileName = new Regex(@"^__(\d+)_(\d+)\.distcp$", RegexOptions.CultureInvariant);

        private readonly ShardFolder _folder;
        private readonly string _mdPath;
        private readonly Action<LoadedPickle> _absorb;
        private readonly Dictionary<string, Stream> _files = new Dictionary<string, Stream>(StringComparer.Ordinal);
        private readonly Dictionary<string, SourceFile> _sources = new Dictionary<string, SourceFile>(StringComparer.Ordinal);
        private readonly Dictionary<string, SafetensorsPart> _parts = new Dictionary<string, SafetensorsPart>(StringComparer.Ordinal);
        private readonly DcpByteRanges _ranges = new DcpByteRanges();

        /// <param name="folder">The DCP folder (local, or the URL prefix of a remote .metadata).</param>
        /// <param name="mdPath">Its .metadata file (named in messages about the items it records).</param>
        /// <param name="absorb">Takes the storages and globals of every archive or part read.</param>
        public DcpDataFiles(ShardFolder folder, string mdPath, Action<LoadedPickle> absorb)
        {
            _folder = folder;
            _mdPath = mdPath;
            _absorb = absorb;
        }

        /// <summary>Ranks seen in the data file names (__R_N.distcp).</summary>
        public HashSet<long> Ranks { get; } = new HashSet<long>();

        /// <summary>The data files opened, by their name in the folder.</summary>
        public IReadOnlyCollection<string> Names => _sources.Keys;

        /// <summary>Stream transforms the folder's items were read through (for the checkpoint's notes).</summary>
        public SortedSet<string> TransformsSeen { get; } = new SortedSet<string>(StringComparer.Ordinal);

        /// <summary>True once an item was found in a safetensors part.</summary>
        public bool SawSafetensors { get; private set; }

        /// <summary>A BYTE_IO item: the torch.save archive it holds, loaded as data.</summary>
        public LoadedPickle Bytes(DcpItem where, string key)
        {
            var fs = Open(where, key);
            _ranges.Add(PathOf(where), where.Offset, where.Length, key, $"the bytes of '{key}'");
            return Archive(fs, where, key);
        }

        /// <summary>A tensor item: the dense piece at <paramref name="where"/> (the chunk at <paramref name="offsets"/> of tensor <paramref name="key"/>).</summary>
        public TensorRef Piece(DcpItem where, string key, long[] offsets)
        {
            var fs = Open(where, key);
            var path = PathOf(where);
            var at = $"bytes {where.Offset}+{where.Length}";
            var who = $"the chunk of '{key}' at [{string.Join(", ", offsets)}]";
            if (where.Transforms.Count == 0 && SafetensorsReader.LooksLike(new SubStream(fs, where.Offset, fs.Length - where.Offset)))
            {
                var t = FromSafetensors(fs, where, key, offsets);
                _ranges.Add(path, t.Storage!.FileOffset, t.Storage.AvailableBytes, key, who);
                return t;
            }
            _ranges.Add(path, where.Offset, where.Length, key, who);
            var blob = Archive(fs, where, key);
            if (blob.Root is not TensorRef piece || !piece.HasData || piece.IsChunked)
                throw new CheckpointFormatException(path, at, $"the chunk of '{key}' is {PyRepr.Render(blob.Root, 60)}, not a dense tensor");
            return piece;
        }

        private TensorRef FromSafetensors(Stream fs, DcpItem where, string key, long[] offsets)
        {
            var path = PathOf(where);
            var id = where.File + "\0" + where.Offset.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (!_parts.TryGetValue(id, out var part))
            {
                // the part runs to the end of the file: torch writes it last, after the rank's byte items
                var loaded = SafetensorsReader.Load(new SubStream(fs, where.Offset, fs.Length - where.Offset), path, out var metadata);
                foreach (var s in loaded.Storages)
                {
                    s.FileOffset += where.Offset;
                    s.File = _sources[where.File];
                }
                part = new SafetensorsPart((PyDict)loaded.Root!, ShardingInfo(metadata, path, $"bytes {where.Offset}"));
                _parts.Add(id, part);
                _absorb(loaded);
                SawSafetensors = true;
            }
            var at = $"safetensors part at byte {where.Offset}";
            if (part.Tensors.Get(key) is not TensorRef t)
                throw new CheckpointFormatException(path, at, $"'{key}' is recorded in this part but the part does not hold it") { Defect = CheckpointDefect.MissingStorage };
            if (part.SavedOffsets != null && part.SavedOffsets.TryGetValue(key, out var saved) && !saved.SequenceEqual(offsets))
                throw new CheckpointFormatException(path, at, $"the part holds the chunk of '{key}' at [{string.Join(", ", saved)}], the metadata asks for the one at [{string.Join(", ", offsets)}]") { Defect = CheckpointDefect.StorageSizeMismatch };
            return t;
        }

        /// <summary>DCP_SHARDING_INFO of a safetensors header: {fqn: {"saved_offsets": [...]}} (null when absent).</summary>
        internal static Dictionary<string, long[]>? ShardingInfo(IEnumerable<KeyValuePair<string, string>> metadata, string path, string part)
        {
            var text = metadata.FirstOrDefault(kv => kv.Key == "DCP_SHARDING_INFO").Value;
            if (text == null) return null;
            var json = JsonText.Parse(text, path, part + " DCP_SHARDING_INFO") as JsonObject
                ?? throw new CheckpointFormatException(path, part, "DCP_SHARDING_INFO is not a JSON object");
            var r = new Dictionary<string, long[]>(StringComparer.Ordinal);
            foreach (var m in json.Members)
            {
                if ((m.Value as JsonObject)?["saved_offsets"] is not List<object?> list || list.Any(x => x is not long))
                    throw new CheckpointFormatException(path, part, $"DCP_SHARDING_INFO of '{m.Key}' has no saved_offsets list of integers");
                r[m.Key] = list.Select(x => (long)x!).ToArray();
            }
            return r;
        }

        private LoadedPickle Archive(Stream fs, DcpItem where, string key)
        {
            var path = PathOf(where);
            if (where.Transforms.Count == 0)
            {
                var blob = ZipCheckpointReader.Load(new SubStream(fs, where.Offset, where.Length), path);
                foreach (var s in blob.Storages)
                {
                    if (s.Entry != null && !s.Entry.IsStored)
                        throw new CheckpointFormatException(path, $"bytes {where.Offset}+{where.Length}", $"'{key}' has a compressed record, which DCP does not write") { Kind = CheckpointErrorKind.Unsupported };
                    if (s.FileOffset >= 0) s.FileOffset += where.Offset;
                    s.Entry = null; // located by absolute offset in the .distcp file from here on
                    s.File = _sources[where.File];
                }
                _absorb(blob);
                return blob;
            }
            var decoded = Decode(fs, where, key);
            var inner = ZipCheckpointReader.Load(new MemoryStream(decoded, writable: false), path);
            foreach (var s in inner.Storages)
            {
                long off = s.FileOffset;
                if (off < 0 || s.AvailableBytes < 0 || off > decoded.Length - s.AvailableBytes)
                    throw new CheckpointFormatException(path, $"bytes {where.Offset}+{where.Length}", $"the decoded archive of '{key}' has a compressed or misplaced record, which DCP does not write") { Kind = CheckpointErrorKind.Unsupported };
                var bytes = new byte[s.AvailableBytes];
                Buffer.BlockCopy(decoded, (int)off, bytes, 0, bytes.Length);
                s.InlineData = bytes; // the decoded bytes: there is no plain copy in any file to read positionally
                s.Entry = null;
                s.FileOffset = -1;
                s.File = _sources[where.File];
            }
            _absorb(inner);
            return inner;
        }

        /// <summary>The item's bytes through its transforms (listed in reverse order of application: decoding runs them as listed).</summary>
        private byte[] Decode(Stream fs, DcpItem where, string key)
        {
            var path = PathOf(where);
            var at = $"bytes {where.Offset}+{where.Length}";
            foreach (var d in where.Transforms)
                if (!d.StartsWith(ZstdDescriptor + "1", StringComparison.Ordinal))
                    throw new CheckpointFormatException(path, at, $"'{key}' is stored through the stream transform '{d}', which this version does not read (it reads stream.zstd/1)") { Kind = CheckpointErrorKind.Unsupported };
            if (where.Length > Limits.MaxDecodedTransformBytes)
                throw new CheckpointFormatException(path, at, $"'{key}' is a {where.Length}-byte zstd stream, more than the {Limits.MaxDecodedTransformBytes}-byte limit for a transformed item") { Kind = CheckpointErrorKind.LimitExceeded };
            var data = new byte[where.Length];
            fs.Position = where.Offset;
            if (ZipDirectory.ReadFully(fs, data, data.Length) != data.Length)
                throw new CheckpointFormatException(path, at, $"'{key}' lies outside the file") { Defect = CheckpointDefect.Truncated };
            foreach (var d in where.Transforms)
            {
                TransformsSeen.Add(d);
                data = Zstd.ZstdDecoder.Decode(data, Limits.MaxDecodedTransformBytes, path, at);
            }
            return data;
        }

        private Stream Open(DcpItem where, string key)
        {
            var path = PathOf(where);
            if (!_files.TryGetValue(where.File, out var fs))
            {
                if (_files.Count >= Limits.MaxShardFiles) throw new CheckpointFormatException(_folder.Location, "folder", $"more than {Limits.MaxShardFiles} data files") { Kind = CheckpointErrorKind.LimitExceeded };
                fs = _folder.OpenData(where.File, out var source)
                    ?? throw new CheckpointFormatException(_mdPath, "storage_data", $"'{key}' lives in '{where.File}', which is missing (a rank's shard was not copied?)") { Defect = CheckpointDefect.MissingStorage };
                _files.Add(where.File, fs);
                _sources.Add(where.File, source);
                var m = DataFileName.Match(where.File);
                if (m.Success) Ranks.Add(long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
            }
            if (where.Offset < 0 || where.Length < 0 || where.Offset > fs.Length - where.Length) // 0: an empty tensor in a safetensors part
                throw new CheckpointFormatException(path, $"bytes {where.Offset}+{where.Length}", $"'{key}' lies outside the {fs.Length}-byte file") { Defect = CheckpointDefect.Truncated };
            return fs;
        }

        /// <summary>Throws when two items read so far share bytes of one data file (see <see cref="DcpByteRanges"/>).</summary>
        public void RequireDisjointItems() => _ranges.RequireDisjoint();

        private string PathOf(DcpItem where) => _folder.PathOf(where.File, _mdPath);

        /// <summary>Closes the files; throws when one changed while its items were parsed (its ranges would belong to another version).</summary>
        public void Dispose()
        {
            SourceFile? changed = null;
            foreach (var kv in _files)
            {
                if (changed == null && _sources.TryGetValue(kv.Key, out var src) && !src.IsUnchanged(kv.Value)) changed = src;
                kv.Value.Dispose();
            }
            _files.Clear();
            if (changed != null) throw changed.Changed("file");
        }

        private sealed class SafetensorsPart
        {
            public SafetensorsPart(PyDict tensors, Dictionary<string, long[]>? savedOffsets)
            {
                Tensors = tensors;
                SavedOffsets = savedOffsets;
            }

            public PyDict Tensors { get; }
            public Dictionary<string, long[]>? SavedOffsets { get; }
        }
    }
}

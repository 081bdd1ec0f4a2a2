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
    /// The shards torch's <c>HuggingFaceStorageWriter(save_distributed=True)</c> leaves without consolidation: one
    /// safetensors file per rank, <c>shard-0000R-model-0000K-of-0000N.safetensors</c>, and no index. Each header's
    /// <c>__metadata__.DCP_SHARDING_INFO</c> gives every chunk's offsets in its tensor; a tensor's size is the furthest
    /// box edge, as torch's <c>HuggingFaceStorageReader</c> computes it. Keys in torch's order: files by name, keys
    /// sorted within a file (safetensors' own key order).
    /// </summary>
    internal static class HfDistributedShards
    {
        private static readonly Regex ShardName = new Regex(@"^shard-(\d+)-model-\d+-of-\d+\.safetensors$", RegexOptions.CultureInvariant);

        /// <summary>The rank shard files of a folder, by name (none when it holds no such file).</summary>
        public static List<string> ShardFiles(string dir) =>
            Directory.GetFiles(dir, "shard-*.safetensors").Where(f => ShardName.IsMatch(Path.GetFileName(f))).OrderBy(f => Path.GetFileName(f), StringComparer.Ordinal).ToList();

        public static Checkpoint Open(string dir, List<string> shardFiles)
        {
            if (shardFiles.Count > Limits.MaxShardFiles) throw new CheckpointFormatException(dir, "folder", $"more than {Limits.MaxShardFiles} shards") { Kind = CheckpointErrorKind.LimitExceeded };
            var parts = new List<Checkpoint>();
            var order = new List<string>();
            var pieces = new Dictionary<string, List<(long[] offsets, TensorRef piece, string file)>>(StringComparer.Ordinal);
            var ranks = new HashSet<long>();
            foreach (var file in shardFiles)
            {
                var part = ShardedCheckpointReader.OpenPart(file, "shard");
                if (part.Format != CheckpointFormat.Safetensors)
                    throw new CheckpointFormatException(file, "file", "a distributed Hugging Face shard that is not a safetensors file") { Kind = CheckpointErrorKind.NotACheckpoint };
                parts.Add(part);
                ranks.Add(long.Parse(ShardName.Match(Path.GetFileName(file)).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
                var saved = DcpDataFiles.ShardingInfo(part.TextMetadata, file, "safetensors header");
                var root = (PyDict)part.Root!;
                foreach (var key in root.Keys.OfType<string>().OrderBy(k => k, StringComparer.Ordinal))
                {
                    var t = (TensorRef)root.Get(key)!;
                    long[] offsets = saved != null && saved.TryGetValue(key, out var o) ? o : new long[t.Shape.Length]; // torch: no info = the whole tensor
                    if (offsets.Length != t.Shape.Length)
                        throw new CheckpointFormatException(file, "DCP_SHARDING_INFO", $"'{key}' has {offsets.Length} saved offsets for {t.Shape.Length} dimensions");
                    if (!pieces.TryGetValue(key, out var list))
                    {
                        pieces[key] = list = new List<(long[], TensorRef, string)>();
                        order.Add(key);
                    }
                    list.Add((offsets, t, file));
                }
            }

            var result = new PyDict();
            foreach (var key in order)
            {
                var list = pieces[key];
                var dtype = list[0].piece.DType;
                var size = new long[list[0].piece.Shape.Length];
                foreach (var (offsets, piece, file) in list)
                {
                    if (!ReferenceEquals(piece.DType, dtype))
                        throw new CheckpointFormatException(file, $"tensor '{key}'", $"a chunk is {piece.DType.Name}, another shard holds {dtype.Name}") { Defect = CheckpointDefect.StorageSizeMismatch };
                    for (int d = 0; d < size.Length; d++) size[d] = Math.Max(size[d], checked(offsets[d] + piece.Shape[d]));
                }
                var chunks = list.Select(x => ShardedCheckpointReader.Chunk(x.file, $"tensor '{key}'", key, dtype, x.offsets, x.piece.Shape, x.piece, Path.GetFileName(x.file))).ToList();
                result.Set(key, ShardedCheckpointReader.Place(dir, key, dtype, size, chunks));
            }
            var files = parts.Select(p => p.FilePath).ToList();
            var info = new ShardingInfo(files, parts.Count) { WorldSize = ranks.Count, Notes = new List<string> { "Hugging Face distributed shards (DCP_SHARDING_INFO), no index" } };
            return new Checkpoint(dir, parts[0].Source, CheckpointFormat.HuggingFaceSharded, result, parts.SelectMany(p => p.Storages).ToList(),
                GlobalsRecorder.Merge(parts.Select(p => p.GlobalUse)), 0, parts.Sum(p => p.PickleBytes), info);
        }
    }
}

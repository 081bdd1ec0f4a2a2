using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using LightningCkpt.Pickle;
using LightningCkpt.Torch;

namespace LightningCkpt.Container.Sharded
{
    /// <summary>
    /// A Hugging Face sharded checkpoint: <c>model.safetensors.index.json</c> or <c>pytorch_model.bin.index.json</c>
    /// ({"metadata": {"total_size"}, "weight_map": {name: shard}}) beside safetensors or torch.save shards. Every
    /// tensor is whole in one shard; the result is one state dict in weight-map order.
    /// </summary>
    internal static class HfShardedIndex
    {
        /// <param name="indexFile">The index JSON.</param>
        /// <param name="checkpointPath">What the checkpoint is called (its FilePath): the folder, or the index when the folder would open as something else.</param>
        public static Checkpoint Open(string indexFile, string checkpointPath)
        {
            var full = Path.GetFullPath(indexFile);
            var dir = Path.GetDirectoryName(full) ?? ".";
            var indexSource = ShardedCheckpointReader.Identify(full);
            return Assemble(full, checkpointPath, indexSource, ShardedCheckpointReader.ReadText(full, Limits.MaxJsonHeaderBytes), shard =>
            {
                var path = ShardedCheckpointReader.Inside(dir, shard, full);
                if (!File.Exists(path))
                    throw new CheckpointFormatException(full, "weight_map", $"shard '{shard}' named by the index is missing") { Defect = CheckpointDefect.MissingStorage };
                return ShardedCheckpointReader.OpenPart(path, "shard");
            });
        }

        /// <summary>
        /// The checkpoint an index's text describes, each shard opened by <paramref name="openShard"/> (a file beside
        /// the index, or a URL beside a remote one) and bound to its own source.
        /// </summary>
        internal static Checkpoint Assemble(string full, string checkpointPath, SourceFile indexSource, string indexText, Func<string, Checkpoint> openShard)
        {
            var json = JsonText.Parse(indexText, full, "index") as JsonObject
                ?? throw new CheckpointFormatException(full, "index", "the index is not a JSON object") { Kind = CheckpointErrorKind.NotACheckpoint };
            var map = json["weight_map"] as JsonObject
                ?? throw new CheckpointFormatException(full, "index", "the index has no \"weight_map\" object, so it is not a Hugging Face sharded index") { Kind = CheckpointErrorKind.NotACheckpoint };

            var shardOrder = new List<string>();
            var shards = new Dictionary<string, Checkpoint>(StringComparer.Ordinal);
            var byShard = new Dictionary<string, Dictionary<string, TensorRef>>(StringComparer.Ordinal);
            foreach (var m in map.Members)
            {
                var shard = m.Value as string ?? throw new CheckpointFormatException(full, "weight_map", $"the shard of '{m.Key}' is not a file name");
                if (shards.ContainsKey(shard)) continue;
                if (shards.Count >= Limits.MaxShardFiles) throw new CheckpointFormatException(full, "weight_map", $"more than {Limits.MaxShardFiles} shards") { Kind = CheckpointErrorKind.LimitExceeded };
                var part = openShard(shard);
                shards.Add(shard, part);
                shardOrder.Add(shard);
                var tensors = new Dictionary<string, TensorRef>(StringComparer.Ordinal);
                foreach (var w in part.View.Weights) if (!tensors.ContainsKey(w.Name)) tensors.Add(w.Name, w.Tensor);
                byShard.Add(shard, tensors);
            }

            var root = new PyDict();
            var used = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
            foreach (var m in map.Members)
            {
                var shard = (string)m.Value!;
                if (!byShard[shard].TryGetValue(m.Key, out var t))
                    throw new CheckpointFormatException(full, "weight_map", $"'{m.Key}' is mapped to shard '{shard}', which does not hold it") { Defect = CheckpointDefect.MissingStorage };
                root.Set(m.Key, t);
                if (!used.TryGetValue(shard, out var set)) used[shard] = set = new HashSet<string>(StringComparer.Ordinal);
                set.Add(m.Key);
            }
            var notes = new List<string>();
            // tensors a shard holds but the map does not name are kept, not dropped
            foreach (var shard in shardOrder)
                foreach (var kv in byShard[shard])
                    if (!used[shard].Contains(kv.Key) && !root.ContainsKey(kv.Key))
                    {
                        root.Set(kv.Key, kv.Value);
                        notes.Add($"'{kv.Key}' is in shard '{shard}' but not in the weight map");
                    }

            long tensorBytes = 0;
            foreach (var e in root) if (e.Value is TensorRef t) tensorBytes += t.NBytes;
            if (json["metadata"] is JsonObject md && md["total_size"] is long total && total != tensorBytes)
                notes.Add($"the index's total_size is {total} bytes, the tensors hold {tensorBytes}");

            var files = new List<string> { full };
            var storages = new List<StorageRef>();
            var globals = new List<GlobalsRecorder>();
            long pickleBytes = 0;
            int protocol = 0;
            foreach (var shard in shardOrder)
            {
                var part = shards[shard];
                files.Add(part.FilePath);
                storages.AddRange(part.Storages);
                globals.Add(part.GlobalUse);
                pickleBytes += part.PickleBytes;
                protocol = Math.Max(protocol, part.Protocol);
            }
            var info = new ShardingInfo(files, shardOrder.Count) { Notes = notes };
            return new Checkpoint(checkpointPath, indexSource, CheckpointFormat.HuggingFaceSharded, root, storages, GlobalsRecorder.Merge(globals), protocol, pickleBytes, info);
        }
    }
}

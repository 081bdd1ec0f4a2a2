using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using LightningCkpt.Pickle;

namespace LightningCkpt.Container.Sharded
{
    /// <summary>
    /// Lightning's sharded FSDP/ModelParallel <c>.ckpt</c> folder: DCP files holding <c>model</c> and
    /// <c>optimizer_N</c>, and <c>meta.pt</c> holding the rest. Presented as the checkpoint Lightning's own
    /// consolidation would give: meta.pt's keys, <c>state_dict</c> = model, <c>optimizer_states</c> = [optimizer_0 …].
    /// </summary>
    internal static class LightningShardedCheckpoint
    {
        private static readonly Regex OptimizerKey = new Regex(@"^optimizer_(\d+)$", RegexOptions.CultureInvariant);

        public static Checkpoint Open(ShardFolder folder)
        {
            var dcp = DcpCheckpoint.Open(folder);
            var metaPath = folder.PathOf(ShardedCheckpointReader.LightningMetaName, dcp.Dir);
            var meta = folder.OpenPart(ShardedCheckpointReader.LightningMetaName, "Lightning metadata");
            var dcpRoot = dcp.HasPlannerData ? dcp.Root : NestFirstSegment(dcp.Root);

            var root = new PyDict();
            if (meta.Root is PyDict m) foreach (var e in m) root.Set(e.Key, e.Value);
            else throw new CheckpointFormatException(metaPath, "pickle", $"meta.pt holds {PyRepr.Render(meta.Root, 60)}, not Lightning's metadata dict");

            var optimizers = new SortedDictionary<long, object?>();
            foreach (var e in dcpRoot)
            {
                if (e.Key is "model") root.Set("state_dict", e.Value);
                else if (e.Key is string k && OptimizerKey.Match(k) is { Success: true } om)
                    optimizers[long.Parse(om.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)] = e.Value;
                else root.Set(e.Key, e.Value); // Fabric: any other module/optimizer the user saved keeps its key
            }
            if (optimizers.Count > 0) root.Set("optimizer_states", new PyList(optimizers.Values));

            var info = dcp.Info();
            var files = new List<string>(info.Files) { meta.FilePath };
            var sharding = new ShardingInfo(files, info.ShardCount) { WorldSize = info.WorldSize, Tag = info.Tag, Notes = info.Notes };
            var storages = dcp.Storages.Concat(meta.Storages).ToList();
            var globals = GlobalsRecorder.Merge(dcp.Globals.Concat(new[] { meta.GlobalUse }));
            return new Checkpoint(dcp.Dir, dcp.MetadataSource, CheckpointFormat.LightningSharded, root, storages, globals, dcp.Protocol, dcp.PickleBytes + meta.PickleBytes, sharding);
        }

        /// <summary>
        /// torch 1.13 does not flatten: a Lightning-style folder then holds flat keys "model.&lt;name&gt;" and
        /// "optimizer_N.&lt;…&gt;". Only the first segment is structural (the parameter names keep their dots).
        /// </summary>
        private static PyDict NestFirstSegment(PyDict flat)
        {
            var root = new PyDict();
            foreach (var e in flat)
            {
                if (e.Key is string k && k.IndexOf('.') is int dot && dot > 0)
                {
                    var head = k.Substring(0, dot);
                    if (head == "model" || OptimizerKey.IsMatch(head))
                    {
                        if (root.Get(head) is not PyDict inner) root.Set(head, inner = new PyDict());
                        inner.Set(k.Substring(dot + 1), e.Value);
                        continue;
                    }
                }
                root.Set(e.Key, e.Value);
            }
            return root;
        }
    }
}

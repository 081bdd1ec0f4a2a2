using System.Collections.Generic;

namespace LightningCkpt.Container.Sharded
{
    /// <summary>How a checkpoint made of several files is laid out: its files, ranks and (DeepSpeed) ZeRO stage.</summary>
    public sealed class ShardingInfo
    {
        internal ShardingInfo(IReadOnlyList<string> files, int shardCount)
        {
            Files = files;
            ShardCount = shardCount;
        }

        /// <summary>Every file the checkpoint was read from (index/metadata files and data files).</summary>
        public IReadOnlyList<string> Files { get; }

        /// <summary>Data files: safetensors/.bin shards, .distcp files, per-rank optimizer files, a universal checkpoint's per-parameter files.</summary>
        public int ShardCount { get; }

        /// <summary>Ranks that wrote the checkpoint (DCP file prefixes, DeepSpeed partition count); null when not recorded.</summary>
        public int? WorldSize { get; internal set; }

        /// <summary>DeepSpeed ZeRO stage (for BF16_Optimizer files, which record none: the stage of ds_config, else 0); null for other formats.</summary>
        public int? ZeroStage { get; internal set; }

        /// <summary>DeepSpeed tag folder ("checkpoint", "global_step100"); DCP version string when recorded.</summary>
        public string? Tag { get; internal set; }

        /// <summary>Which writer generation the class paths point to ("torch 1.13", "torch 2.x") or other notes.</summary>
        public IReadOnlyList<string> Notes { get; internal set; } = new List<string>();

        /// <summary>Files of the folder a loader would unpickle that could not be read to grade them (each with the reason).</summary>
        public IReadOnlyList<string> UngradedFiles { get; internal set; } = new List<string>();
    }
}

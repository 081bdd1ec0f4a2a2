using System;
using System.Collections.Generic;

namespace LightningCkpt.Writing.Merging
{
    /// <summary>What to merge and how: everything Merge-CkptWeights' parameters say, checked by <see cref="CheckpointMerger"/>.</summary>
    public sealed class MergeRequest
    {
        public MergeMethod Method { get; set; } = MergeMethod.Linear;

        /// <summary>One weight per model input (Slerp: the single t); null = the method's default.</summary>
        public IReadOnlyList<double>? Weights { get; set; }

        /// <summary>Per-name weights, tried in order; the first rule whose pattern matches a tensor's name wins.</summary>
        public IReadOnlyList<WeightRule> WeightMap { get; set; } = Array.Empty<WeightRule>();

        /// <summary>The base model of task arithmetic, TIES and DARE (required by those, refused by the others).</summary>
        public Checkpoint? Base { get; set; }

        /// <summary>λ, the factor on the merged task vector (base methods).</summary>
        public double Scale { get; set; } = 1;

        /// <summary>d: the fraction kept by TIES' top-k, or DARE's keep probability. In (0, 1].</summary>
        public double? Density { get; set; }

        /// <summary>The seed of DARE's generator (<see cref="DareGenerator"/>).</summary>
        public long Seed { get; set; }

        /// <summary>Tensors to merge; the others are copied from the first input (the base for base methods). null = all.</summary>
        public Func<string, bool>? Filter { get; set; }

        /// <summary>Merge the model weights or their EMA/SWA copies.</summary>
        public WeightsSource Source { get; set; } = WeightsSource.Model;

        /// <summary>Write a Lightning checkpoint (epoch, step, version, hyper-parameters of the first input) instead of a bare state dict.</summary>
        public bool KeepMetadata { get; set; }

        public Action<string>? Warn { get; set; }

        public Data.ReadProgress? Progress { get; set; }

        internal bool UsesBase => Method != MergeMethod.Linear && Method != MergeMethod.Slerp;
        internal bool UsesDensity => Method == MergeMethod.Ties || Method == MergeMethod.Dare || Method == MergeMethod.DareTies;
        internal bool IsDare => Method == MergeMethod.Dare || Method == MergeMethod.DareTies;
    }
}

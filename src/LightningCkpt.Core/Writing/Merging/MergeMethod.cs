namespace LightningCkpt.Writing.Merging
{
    /// <summary>How Merge-CkptWeights combines aligned floating tensors (formulas in about_LightningCkpt).</summary>
    public enum MergeMethod
    {
        /// <summary>Σ wᵢ·mᵢ (the weighted mean; weights sum to 1, uniform by default).</summary>
        Linear,

        /// <summary>Spherical interpolation of exactly two inputs by t, per tensor.</summary>
        Slerp,

        /// <summary>base + λ·Σ wᵢ·(mᵢ − base).</summary>
        TaskArithmetic,

        /// <summary>TIES: top-k of each task vector by magnitude, sign election, disjoint mean.</summary>
        Ties,

        /// <summary>DARE: task vectors randomly sparsified (kept with probability d, rescaled by 1/d), then task arithmetic.</summary>
        Dare,

        /// <summary>DARE sparsification, then TIES' sign election and disjoint mean (no top-k).</summary>
        DareTies,
    }

    /// <summary>Which copy of the weights a cmdlet reads.</summary>
    public enum WeightsSource
    {
        /// <summary>The model weights (Lightning's state_dict, a plain state dict …).</summary>
        Model,

        /// <summary>The EMA / SWA averaged copy the checkpoint keeps beside them (see <see cref="Lightning.AveragedWeightsLocator"/>).</summary>
        Ema,
    }
}

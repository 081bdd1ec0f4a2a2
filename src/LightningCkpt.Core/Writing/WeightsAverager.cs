using System.Collections.Generic;
using LightningCkpt.Writing.Merging;

namespace LightningCkpt.Writing
{
    /// <summary>
    /// Averages N checkpoints tensor by tensor (float64 accumulation) into one file: a plain state dict
    /// (OrderedDict name → tensor) or safetensors. Every input must have the same weight names with the same shapes
    /// and dtypes. Weights are used as given and must sum to 1 (±1e-6); null means uniform 1/N. Floating tensors
    /// (float16/bfloat16/float32/float64, float8 e4m3fn/e5m2) are averaged and cast back to their dtype the way
    /// torch's <c>.to(dtype)</c> does; integer, bool and complex tensors are taken from the first input, with a
    /// warning when the inputs differ. The Linear method of <see cref="CheckpointMerger"/>.
    /// </summary>
    public static class WeightsAverager
    {
        public static void Merge(IReadOnlyList<Checkpoint> inputs, IReadOnlyList<double>? weights, string outFile, WeightsFileFormat format, bool overwrite, System.Action<string>? warn,
            Data.ReadProgress? progress = null) =>
            CheckpointMerger.Merge(inputs, new MergeRequest { Weights = weights, Warn = warn, Progress = progress }, outFile, format, overwrite);
    }
}

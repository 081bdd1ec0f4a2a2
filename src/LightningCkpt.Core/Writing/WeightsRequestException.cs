using System;

namespace LightningCkpt.Writing
{
    /// <summary>What is wrong with a selection or merge request (the files are fine; the request cannot be met).</summary>
    public enum WeightsRequestProblem
    {
        /// <summary>The filter matched no model weight: writing would give an empty file.</summary>
        NoWeightsSelected,

        /// <summary>Two weights would be written under the same name (after -StripPrefix/-AddPrefix).</summary>
        NameCollision,

        /// <summary>The output format cannot store a tensor's dtype (complex in safetensors …).</summary>
        DTypeNotWritable,

        /// <summary>A tensor cannot be written at all (no data in the file, quantized …).</summary>
        TensorNotWritable,

        /// <summary>Checkpoints to merge do not fit together (names, shapes, dtypes, weights).</summary>
        MergeMismatch,
    }

    /// <summary>
    /// A selection or merge the inputs cannot satisfy. Thrown before anything is written; the cmdlets turn it into a
    /// non-terminating error whose id names the <see cref="Problem"/>.
    /// </summary>
    public sealed class WeightsRequestException : InvalidOperationException
    {
        public WeightsRequestException(WeightsRequestProblem problem, string message) : base(message) { Problem = problem; }

        public WeightsRequestProblem Problem { get; }
    }
}

using System;
using System.Collections.Generic;
using LightningCkpt.Torch;

namespace LightningCkpt.Writing
{
    /// <summary>What to select from a checkpoint and how to rename and cast it.</summary>
    public sealed class SelectOptions
    {
        /// <summary>Keep a tensor when this returns true for its original name (cmdlet: -Include/-Exclude wildcards); null = all.</summary>
        public Func<string, bool>? Filter { get; set; }

        /// <summary>Prefixes removed from names, first match wins (model., module., _orig_mod., _forward_module.).</summary>
        public IReadOnlyList<string> StripPrefixes { get; set; } = Array.Empty<string>();
        public string? AddPrefix { get; set; }

        /// <summary>Cast floating tensors to this dtype (float16, bfloat16, float32); null = keep.</summary>
        public DType? CastTo { get; set; }

        /// <summary>Write a Lightning checkpoint that load_from_checkpoint accepts instead of a plain state dict.</summary>
        public bool KeepMetadata { get; set; }
    }

    /// <summary>One selected tensor under its new name.</summary>
    public sealed class SelectedTensor
    {
        public SelectedTensor(string originalName, string name, TensorRef tensor)
        {
            OriginalName = originalName;
            Name = name;
            Tensor = tensor;
        }

        public string OriginalName { get; }
        public string Name { get; }
        public TensorRef Tensor { get; }
    }

    /// <summary>The output file kinds.</summary>
    public enum WeightsFileFormat { TorchZip, Safetensors }

    /// <summary>Selects, renames and casts model weights, and writes them as a torch zip or safetensors file.</summary>
    public static class WeightSelection
    {
        public static IReadOnlyList<SelectedTensor> Select(Checkpoint source, SelectOptions options) =>
            throw new NotImplementedException("Select-CkptWeights is specified by issue 5");

        /// <summary>Writes atomically: a temporary file in the target folder, then a rename. Never touches the source.</summary>
        public static void Write(Checkpoint source, IReadOnlyList<SelectedTensor> tensors, SelectOptions options, string outFile, WeightsFileFormat format, bool overwrite) =>
            throw new NotImplementedException("Select-CkptWeights is specified by issue 5");

        /// <summary>The format an output path asks for: .safetensors → safetensors, anything else → torch zip.</summary>
        public static WeightsFileFormat FormatFor(string outFile) =>
            outFile.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) ? WeightsFileFormat.Safetensors : WeightsFileFormat.TorchZip;
    }

    /// <summary>Averages N checkpoints tensor by tensor (float64 accumulation) into one file.</summary>
    public static class WeightsAverager
    {
        public static void Merge(IReadOnlyList<Checkpoint> inputs, IReadOnlyList<double>? weights, string outFile, WeightsFileFormat format, bool overwrite, Action<string>? warn) =>
            throw new NotImplementedException("Merge-CkptWeights is specified by issue 5");
    }
}

using System;
using System.Collections.Generic;

namespace LightningCkpt.Data
{
    /// <summary>Options of a comparison: torch.allclose tolerances, which tensors, whether Equal rows are emitted.</summary>
    public sealed class CompareOptions
    {
        public double AbsoluteTolerance { get; set; } = 1e-8;
        public double RelativeTolerance { get; set; } = 1e-5;
        public bool IncludeEqual { get; set; }

        /// <summary>Compare every tensor in the file, not only the model weights.</summary>
        public bool AllTensors { get; set; }

        /// <summary>Tensor-name filter (the cmdlet passes PowerShell wildcard matching); null = all.</summary>
        public Func<string, bool>? NameFilter { get; set; }
    }

    /// <summary>Progress of a comparison: tensors done of total, and bytes.</summary>
    public readonly struct CompareProgress
    {
        public CompareProgress(int done, int total, string current)
        {
            Done = done;
            Total = total;
            Current = current;
        }

        public int Done { get; }
        public int Total { get; }
        public string Current { get; }
    }

    /// <summary>Compares two checkpoints tensor by tensor, streaming from the mapped files in constant memory.</summary>
    public static class CheckpointComparer
    {
        public static IEnumerable<CkptDiff> Compare(Checkpoint reference, Checkpoint difference, CompareOptions options, Action<CompareProgress>? progress = null)
        {
            throw new NotImplementedException("Compare-Ckpt is specified by issue 4");
        }
    }
}

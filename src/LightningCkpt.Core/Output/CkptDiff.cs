namespace LightningCkpt
{
    /// <summary>How one tensor (or one metadata field) differs between two checkpoints.</summary>
    public enum DiffStatus { Equal, Changed, Added, Removed, ShapeChanged, DTypeChanged }

    /// <summary>One row of Compare-Ckpt: a tensor by name, or a metadata field (epoch, global_step, version, hparam).</summary>
    public sealed class CkptDiff
    {
        internal CkptDiff() { }

        /// <summary>Tensor or Metadata.</summary>
        public string Kind { get; internal set; } = "Tensor";
        public string Name { get; internal set; } = "";
        public DiffStatus Status { get; internal set; }
        public long[]? ReferenceShape { get; internal set; }
        public long[]? DifferenceShape { get; internal set; }
        public string? ReferenceDType { get; internal set; }
        public string? DifferenceDType { get; internal set; }
        public double? MaxAbsDiff { get; internal set; }
        public double? MeanAbsDiff { get; internal set; }

        /// <summary>‖a−b‖₂ / ‖a‖₂.</summary>
        public double? RelativeL2 { get; internal set; }
        public double? CosineSimilarity { get; internal set; }

        /// <summary>For metadata rows: the values on each side, as text.</summary>
        public string? ReferenceValue { get; internal set; }
        public string? DifferenceValue { get; internal set; }

        public string ReferencePath { get; internal set; } = "";
        public string DifferencePath { get; internal set; } = "";

        public override string ToString() => $"{Name}: {Status}";
    }
}

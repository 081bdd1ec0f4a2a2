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
        public TensorShape? ReferenceShape { get; internal set; }
        public TensorShape? DifferenceShape { get; internal set; }
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

        /// <summary>The file name of <see cref="DifferencePath"/>: tells the rows of several difference files apart.</summary>
        public string DifferenceName => Remote.RemoteUrl.FileNameOf(DifferencePath);

        /// <summary>
        /// What changed, as text: a metadata value ("0 → 2", float noise shortened: "0.009 → 0.00729" where the values
        /// are 0.009000000000000001 and 0.007290000000000001), a shape ("[16, 4] → [32, 4]") or a dtype
        /// ("float32 → float16"); "" when only the values changed (see MaxAbsDiff …) or nothing did.
        /// </summary>
        public string Change => Kind == "Metadata"
            ? (Status == DiffStatus.Equal ? "" : MetadataChange())
            : Status switch
            {
                DiffStatus.Added => $"(none) → {DifferenceDType} {DifferenceShape}",
                DiffStatus.Removed => $"{ReferenceDType} {ReferenceShape} → (none)",
                DiffStatus.ShapeChanged => $"{ReferenceShape} → {DifferenceShape}",
                DiffStatus.DTypeChanged => $"{ReferenceDType} → {DifferenceDType}",
                DiffStatus.Changed when ReferenceDType != DifferenceDType => $"{ReferenceDType} → {DifferenceDType}",
                _ => "",
            };

        private string MetadataChange()
        {
            var (a, b) = ReadableNumber.Pair(ReferenceValue ?? "(none)", DifferenceValue ?? "(none)");
            return $"{a} → {b}";
        }

        public override string ToString() => $"{Name}: {Status}";
    }
}

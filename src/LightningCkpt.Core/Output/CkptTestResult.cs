using System;
using System.Collections.Generic;
using System.Linq;
using LightningCkpt.Container;

namespace LightningCkpt
{
    /// <summary>
    /// How bad a finding is. Suspicious: the pickle calls something not known to be inert, which torch.load(weights_only=False)
    /// would run; Dangerous: it names something known to run code or touch files. Either makes a file not safe.
    /// </summary>
    public enum FindingSeverity { Info, Warning, Error, Suspicious, Dangerous }

    /// <summary>One problem Test-Ckpt found.</summary>
    public sealed class CkptFinding
    {
        public CkptFinding(string kind, FindingSeverity severity, string message, string? location)
        {
            Kind = kind;
            Severity = severity;
            Message = message;
            Location = location;
        }

        /// <summary>UnknownFormat, Truncated, OverlappingEntries, StorageSizeMismatch, ViewOutOfBounds, CrcMismatch, NonFiniteValues, DangerousGlobal, SuspiciousCall, UnknownGlobal, WeightsOnlyRefused …</summary>
        public string Kind { get; }
        public FindingSeverity Severity { get; }
        public string Message { get; }
        public string? Location { get; }

        /// <summary>The checkpoint file the finding is about, so findings of many files can be told apart.</summary>
        public string Path { get; internal set; } = "";

        /// <summary>The file name of <see cref="Path"/>.</summary>
        public string Name => System.IO.Path.GetFileName(Path);

        public override string ToString() => $"{Severity} {Kind}: {Message}";
    }

    /// <summary>What Test-Ckpt emits per file.</summary>
    public sealed class CkptTestResult
    {
        internal CkptTestResult() { }

        public string Path { get; internal set; } = "";
        public string Name { get; internal set; } = "";

        /// <summary>The file reads completely and consistently.</summary>
        public bool IsValid { get; internal set; }

        /// <summary>Valid, and nothing in it would run code in torch.load: every global is allowed or inert (no Dangerous or Suspicious finding).</summary>
        public bool IsSafe { get; internal set; }
        /// <summary>The container format, as CkptInfo.Format; null when the file could not be opened.</summary>
        public CheckpointFormat? Format { get; internal set; }
        public IReadOnlyList<CkptFinding> Findings { get; internal set; } = new List<CkptFinding>();

        /// <summary>
        /// Valid, safe, and no weight holds NaN or Inf (checked with -CheckValues): what Test-Ckpt -Quiet returns.
        /// </summary>
        public bool Passed => IsValid && IsSafe && !Findings.Any(f => f.Kind == NonFiniteValuesKind);

        internal const string NonFiniteValuesKind = "NonFiniteValues";

        /// <summary>
        /// What was found, most severe first: the kinds of the findings with their count when more than one
        /// ("DangerousGlobal, UnknownGlobal (2)"); "" when nothing was found.
        /// </summary>
        public string Summary => string.Join(", ", Findings
            .GroupBy(f => f.Kind, StringComparer.Ordinal)
            .OrderByDescending(g => g.Max(f => f.Severity))
            .Select(g => g.Count() > 1 ? $"{g.Key} ({g.Count()})" : g.Key));
        public override string ToString() => Path;
    }
}

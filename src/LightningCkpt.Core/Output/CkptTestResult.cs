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
        public string FullName { get; internal set; } = "";

        /// <summary>The provider-qualified <see cref="FullName"/>: piped on, it binds to -LiteralPath.</summary>
        public string PSPath => FileSystemPSPath.Of(FullName);

        /// <summary>The file name of <see cref="FullName"/>.</summary>
        public string Name => Remote.RemoteUrl.FileNameOf(FullName);

        public override string ToString() => $"{Severity} {Kind}: {Message}";
    }

    /// <summary>A file's findings: a read-only list that prints as its findings, so Export-Csv writes them readably.</summary>
    public sealed class CkptFindingList : System.Collections.ObjectModel.ReadOnlyCollection<CkptFinding>
    {
        internal static readonly CkptFindingList Empty = new CkptFindingList(new List<CkptFinding>());

        internal CkptFindingList(IList<CkptFinding> items) : base(items) { }

        public override string ToString() => string.Join("; ", this);
    }

    /// <summary>What Test-Ckpt emits per file.</summary>
    public sealed class CkptTestResult
    {
        internal CkptTestResult() { }

        /// <summary>The checkpoint file, as FileInfo.FullName.</summary>
        public string FullName { get; internal set; } = "";

        /// <summary>The provider-qualified <see cref="FullName"/> (as Get-ChildItem's): piped on, it binds to -LiteralPath.</summary>
        public string PSPath => FileSystemPSPath.Of(FullName);
        public string Name { get; internal set; } = "";

        /// <summary>The file reads completely and consistently.</summary>
        public bool IsValid { get; internal set; }

        /// <summary>Valid, and nothing in it would run code in torch.load: every global is allowed or inert (no Dangerous or Suspicious finding).</summary>
        public bool IsSafe { get; internal set; }
        /// <summary>The container format, as CkptInfo.Format; null when the file could not be opened.</summary>
        public CheckpointFormat? Format { get; internal set; }
        /// <summary>What Test-Ckpt found; prints (and exports to CSV) as "Severity Kind: message; …", not a type name.</summary>
        public CkptFindingList Findings { get; internal set; } = CkptFindingList.Empty;

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
        public override string ToString() => FullName;
    }
}

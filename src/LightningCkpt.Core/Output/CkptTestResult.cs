using System.Collections.Generic;

namespace LightningCkpt
{
    public enum FindingSeverity { Info, Warning, Error, Dangerous }

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

        /// <summary>UnknownFormat, Truncated, OverlappingEntries, StorageSizeMismatch, ViewOutOfBounds, CrcMismatch, NonFiniteValues, DangerousGlobal, UnknownGlobal …</summary>
        public string Kind { get; }
        public FindingSeverity Severity { get; }
        public string Message { get; }
        public string? Location { get; }
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

        /// <summary>Valid, and nothing in it would run code in torch.load: every global is allowed or inert.</summary>
        public bool IsSafe { get; internal set; }
        public string? Format { get; internal set; }
        public IReadOnlyList<CkptFinding> Findings { get; internal set; } = new List<CkptFinding>();
        public override string ToString() => Path;
    }
}

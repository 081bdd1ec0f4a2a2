using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using LightningCkpt.Data;

using LightningCkpt.Remote;

namespace LightningCkpt.Commands
{
    /// <summary>
    /// Compare-Ckpt: compares each difference checkpoint with one reference checkpoint, tensor by tensor
    /// (torch.allclose tolerances) and field by field, and emits one row per difference.
    /// </summary>
    [Cmdlet(VerbsData.Compare, "Ckpt")]
    [OutputType(typeof(CkptDiff))]
    public sealed class CompareCkptCommand : PSCmdlet
    {
        /// <summary>The checkpoint every other one is compared with; taken literally (no wildcards).</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string ReferencePath { get; set; } = "";

        /// <summary>
        /// Checkpoints to compare with the reference. A path that names an existing file is taken literally
        /// (so piped FileInfo objects with [ ] in their names work); otherwise wildcards are expanded.
        /// </summary>
        [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("PSPath")]
        [SupportsWildcards]
        public string[] DifferencePath { get; set; } = Array.Empty<string>();

        /// <summary>Absolute tolerance of |a − b| ≤ atol + rtol·|b| (torch.allclose's atol).</summary>
        [Parameter]
        [ValidateRange(0.0, double.MaxValue)]
        public double AbsoluteTolerance { get; set; } = 1e-8;

        /// <summary>Relative tolerance (torch.allclose's rtol).</summary>
        [Parameter]
        [ValidateRange(0.0, double.MaxValue)]
        public double RelativeTolerance { get; set; } = 1e-5;

        /// <summary>Also emit rows for tensors and fields that are equal.</summary>
        [Parameter]
        public SwitchParameter IncludeEqual { get; set; }

        /// <summary>Compare every tensor in the files (optimizer state …), not only the model weights.</summary>
        [Parameter]
        public SwitchParameter All { get; set; }

        /// <summary>Only tensors whose names match (wildcards, case-insensitive).</summary>
        [Parameter]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(Completers.TensorNameCompleter))]
        public string[] Name { get; set; } = Array.Empty<string>();

        /// <summary>Bearer token for URLs (HF_TOKEN is used for huggingface.co when none is given).</summary>
        [Parameter]
        [SecureStringTransformation]
        public System.Security.SecureString? Token { get; set; }

        /// <summary>Extra request headers for URLs, as Invoke-WebRequest's -Headers.</summary>
        [Parameter]
        public System.Collections.IDictionary? Headers { get; set; }

        /// <summary>Longest wait, in seconds, for one request to a URL (default 100).</summary>
        [Parameter]
        [ValidateRange(1, int.MaxValue)]
        public int TimeoutSec { get; set; }

        private Checkpoint? _reference;
        private DataOperation? _operation;
        private RemoteSession? _remote;

        /// <summary>A file or folder, or a URL through this call's session.</summary>
        private Checkpoint Open(string input) =>
            RemoteInput.IsUrl(input) ? Checkpoint.Open(input, _remote ??= RemoteInput.NewSession(this, Token, Headers, TimeoutSec)) : Checkpoint.Open(input);

        protected override void BeginProcessing()
        {
            if (!PathResolution.TryResolveLiteral(this, ReferencePath, out var file, out var error))
                ThrowTerminatingError(error!);
            try
            {
                _reference = Open(file!);
            }
            catch (Exception e) when (PathResolution.Classify(e, RemoteInput.Shown(file!), writing: false) is ErrorRecord failure)
            {
                // Every comparison needs the reference: an unreadable one ends the command.
                ThrowTerminatingError(failure);
            }
            _operation = new DataOperation(this, 2, "Comparing checkpoints");
        }

        protected override void StopProcessing()
        {
            _operation?.Cancel();
            _remote?.Cancel();
        }

        protected override void ProcessRecord()
        {
            if (_reference == null) return;
            var filter = new NameFilter(Name);
            var options = new CompareOptions
            {
                AbsoluteTolerance = AbsoluteTolerance,
                RelativeTolerance = RelativeTolerance,
                IncludeEqual = IncludeEqual,
                AllTensors = All,
                NameFilter = filter.IsEmpty ? null : filter.IsMatch,
            };
            foreach (var file in ResolveDifferences())
            {
                List<CkptDiff>? rows = null;
                bool ok = PathResolution.TryFile(this, file, () =>
                {
                    var difference = Open(file);
                    long total = TensorBytes(_reference, options) + TensorBytes(difference, options);
                    rows = _operation!.Run(RemoteUrl.FileNameOf(file), total, progress =>
                    {
                        options.Progress = progress;
                        return CheckpointComparer.Compare(_reference, difference, options).ToList();
                    });
                }, writing: false);
                // The comparer's mappings are closed once the rows are collected: output only now.
                if (ok && rows != null)
                {
                    VerboseReport.Read(this, file, $"compared with '{RemoteInput.Shown(_reference.FilePath)}': {VerboseReport.Tensors(rows.Count(r => r.Kind == "Tensor"))} and {rows.Count(r => r.Kind == "Metadata")} metadata fields in the rows"
                        + (IncludeEqual ? "" : " (equal ones left out; -IncludeEqual shows them)"));
                    foreach (var row in rows) WriteObject(row);
                }
            }
        }

        protected override void EndProcessing()
        {
            _operation?.Complete();
            _operation?.Dispose();
        }

        /// <summary>Bytes of the tensors a comparison reads from one file (for progress).</summary>
        private static long TensorBytes(Checkpoint c, CompareOptions options) =>
            CkptTensor.List(c, options.AllTensors).Where(t => options.NameFilter == null || options.NameFilter(t.Name)).Sum(t => t.Bytes);

        private IEnumerable<string> ResolveDifferences()
        {
            foreach (var p in DifferencePath)
            {
                if (p == null) continue;
                if (WildcardPattern.ContainsWildcardCharacters(p) && PathResolution.TryResolveLiteral(this, p, out var literal, out _) && File.Exists(literal))
                {
                    yield return literal!;
                    continue;
                }
                foreach (var f in PathResolution.ResolveWildcard(this, new[] { p })) yield return f;
            }
        }
    }
}

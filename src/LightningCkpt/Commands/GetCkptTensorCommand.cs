using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using LightningCkpt.Data;

namespace LightningCkpt.Commands
{
    /// <summary>
    /// Get-CkptTensor: one object per tensor (the model weights, or with -All every tensor in the file), from metadata;
    /// -Hash and -Statistics read the tensor bytes in one streaming pass. Tensors piped back in (-Tensor) are read from
    /// the file version they were listed from: a file replaced since gives CheckpointChangedWhileReading, never the new
    /// file's bytes under the old file's metadata.
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "CkptTensor", DefaultParameterSetName = PathSet)]
    [OutputType(typeof(CkptTensor), typeof(CkptModule))]
    public sealed class GetCkptTensorCommand : CkptCommandBase
    {
        /// <summary>A Get-CkptInfo result; its file is read.</summary>
        [Parameter(Mandatory = true, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
        public CkptInfo? InputObject { get; set; }

        /// <summary>Tensors from an earlier Get-CkptTensor: -Hash and -Statistics fill them from the file they came from.</summary>
        [Parameter(Mandatory = true, ParameterSetName = TensorSet, ValueFromPipeline = true)]
        public CkptTensor[]? Tensor { get; set; }

        private const string TensorSet = "Tensor";

        /// <summary>Tensor names to return (wildcards, case-insensitive).</summary>
        [Parameter(Position = 1)]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(Completers.TensorNameCompleter))]
        public string[] Name { get; set; } = Array.Empty<string>();

        /// <summary>Every tensor anywhere in the file (optimizer state, callbacks …), not only the model weights.</summary>
        [Parameter]
        public SwitchParameter All { get; set; }

        /// <summary>Fill Sha256 with the hash of each tensor's row-major little-endian elements.</summary>
        [Parameter]
        public SwitchParameter Hash { get; set; }

        /// <summary>Fill Min, Max, Mean, Std, L2Norm, NaNCount, InfCount and ZeroFraction.</summary>
        [Parameter]
        public SwitchParameter Statistics { get; set; }

        /// <summary>One row per module (name prefix) at -Depth, parameters and buffers apart, instead of one per tensor.</summary>
        [Parameter]
        public SwitchParameter ByModule { get; set; }

        /// <summary>Name segments that make a module for -ByModule (model.encoder is depth 2).</summary>
        [Parameter]
        [ValidateRange(1, 64)]
        public int Depth { get; set; } = 1;

        private DataOperation? _operation;

        protected override void BeginProcessing()
        {
            if (ByModule && (Hash || Statistics))
                ThrowTerminatingError(new ErrorRecord(new PSArgumentException("-ByModule sums tensors per module; it cannot be combined with -Hash or -Statistics."),
                    "ByModuleWithData", ErrorCategory.InvalidArgument, null));
            if (Hash || Statistics) _operation = new DataOperation(this, 1, "Reading tensor data");
        }

        protected override void StopProcessing()
        {
            _operation?.Cancel();
            base.StopProcessing();
        }

        protected override void ProcessRecord()
        {
            if (ParameterSetName == TensorSet) { ProcessTensors(); return; }
            var files = ParameterSetName == InputObjectSet ? ResolveInputObject(InputObject) : ResolveInputFiles();
            var filter = new NameFilter(Name);
            foreach (var file in files)
            {
                List<CkptTensor>? tensors = null;
                List<CkptTensor>? listed = null;
                bool ok = TryProcessFile(file, () =>
                {
                    var checkpoint = OpenCheckpoint(file);
                    listed = CkptTensor.List(checkpoint, All);
                    tensors = filter.IsEmpty ? listed : listed.Where(t => filter.IsMatch(t.Name)).ToList();
                    if (Hash || Statistics) Analyze(checkpoint, tensors);
                });
                if (!ok || tensors == null) continue;
                VerboseReport.Read(this, file, $"{VerboseReport.Tensors(listed!.Count)} listed, {tensors.Count} matched" + (Hash || Statistics ? $", the data of {VerboseReport.Tensors(tensors.Count)} read" : ""));
                // Output only once the file's data has been read.
                if (ByModule) foreach (var m in CkptModule.Summarise(tensors, Depth)) WriteObject(m);
                else foreach (var t in tensors) WriteObject(WithView(t));
                foreach (var missing in filter.UnmatchedLiterals(listed!.Select(t => t.Name)))
                {
                    WriteError(new ErrorRecord(
                        new ItemNotFoundException($"{file}: no tensor named '{missing}'{(All ? "" : " among the model weights (use -All for every tensor)")}."),
                        "TensorNotFound", ErrorCategory.ObjectNotFound, missing));
                }
            }
        }

        /// <summary>
        /// Piped tensors, per file: their storages still hold the identity recorded when the file was opened, so a
        /// replaced or rewritten file is refused by the identity check of every read.
        /// </summary>
        private void ProcessTensors()
        {
            var filter = new NameFilter(Name);
            foreach (var group in (Tensor ?? Array.Empty<CkptTensor>()).Where(t => t != null && (filter.IsEmpty || filter.IsMatch(t.Name))).GroupBy(t => t.FullName))
            {
                var tensors = group.ToList();
                if ((Hash || Statistics) && !TryProcessFile(group.Key, () => Analyze(group.Key, tensors))) continue;
                if (Hash || Statistics) VerboseReport.Read(this, group.Key, $"the data of {VerboseReport.Tensors(tensors.Count)}");
                if (ByModule) foreach (var m in CkptModule.Summarise(tensors, Depth)) WriteObject(m);
                else foreach (var t in tensors) WriteObject(WithView(t));
            }
        }

        private void Analyze(Checkpoint checkpoint, List<CkptTensor> tensors) => Analyze(checkpoint.FilePath, tensors);

        private void Analyze(string file, List<CkptTensor> tensors)
        {
            _operation!.Run(file, tensors.Sum(t => t.Bytes), progress =>
            {
                // several tensors at once on all cores, largest first, each worker with its own reader
                TensorBatchAnalysis.AnalyzeAll(tensors, Hash, Statistics, progress);
            });
        }

        protected override void EndProcessing()
        {
            _operation?.Complete();
            _operation?.Dispose();
        }

        /// <summary>The views in LightningCkpt.format.ps1xml that show what -Statistics and -Hash computed.</summary>
        internal const string StatisticsView = "LightningCkpt.CkptTensor#Statistics";
        internal const string HashView = "LightningCkpt.CkptTensor#Hash";

        /// <summary>
        /// Formatting picks a view by the first type name, so a tensor with statistics or a hash is tagged with
        /// the view that shows them; the object stays a CkptTensor (-is, Sort-Object, properties unchanged).
        /// </summary>
        private object WithView(CkptTensor t)
        {
            string? view = Statistics ? StatisticsView : Hash ? HashView : null;
            if (view == null) return t;
            var o = PSObject.AsPSObject(t);
            o.TypeNames.Insert(0, view);
            return o;
        }
    }
}

using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using LightningCkpt.Writing;
using LightningCkpt.Writing.Merging;

namespace LightningCkpt.Commands
{
    /// <summary>
    /// Merge-CkptWeights: merges the model weights (or their EMA copies) of several checkpoints into one file — the
    /// weighted mean, SLERP, task arithmetic, TIES, DARE — tensor by tensor. Every input (and the base) must read
    /// cleanly and fit together, or nothing is written.
    /// </summary>
    [Cmdlet(VerbsData.Merge, "CkptWeights", DefaultParameterSetName = PathSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(FileInfo))]
    public sealed class MergeCkptWeightsCommand : CkptCommandBase
    {
        /// <summary>A Get-CkptInfo result; its file is merged (so Get-CkptInfo | Sort-Object | Select-Object -First 3 | Merge-CkptWeights works).</summary>
        [Parameter(Mandatory = true, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
        public CkptInfo? InputObject { get; set; }

        /// <summary>The file to write; .safetensors writes safetensors, anything else a torch zip checkpoint.</summary>
        [Parameter(Mandatory = true)]
        [ValidateNotNullOrEmpty]
        public string OutFile { get; set; } = "";

        // Method and Source are strings, not Core's enums: a field of a Core value type makes loading this class (at
        // Import-Module, before ReadyToRunCore.OnImport) load the IL-only Core to lay the field out.

        /// <summary>Linear (default), Slerp, TaskArithmetic, Ties, Dare or DareTies.</summary>
        [Parameter]
        [ValidateSet("Linear", "Slerp", "TaskArithmetic", "Ties", "Dare", "DareTies", IgnoreCase = true)]
        public string Method { get; set; } = "Linear";

        /// <summary>One weight per input checkpoint, in input order (Slerp: the single t); default: the method's.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public double[]? Weight { get; set; }

        /// <summary>Per-name weights: wildcard pattern → weights; the first matching pattern wins (see about_LightningCkpt for the order).</summary>
        [Parameter]
        public IDictionary? WeightMap { get; set; }

        /// <summary>The base model of TaskArithmetic, Ties, Dare and DareTies (used as typed: no wildcards).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? BasePath { get; set; }

        /// <summary>λ, the factor on the merged task vector (default 1).</summary>
        [Parameter]
        public double Scale { get; set; } = 1;

        /// <summary>The fraction of each task vector kept (Ties: top-k by magnitude; Dare/DareTies: keep probability).</summary>
        [Parameter]
        public double Density { get; set; }

        /// <summary>The seed of DARE's drop decisions (default 0): the same seed gives the same file.</summary>
        [Parameter]
        public long Seed { get; set; }

        /// <summary>Merge only weights whose names match one of these (wildcards); the rest come from the first input (the base for base methods).</summary>
        [Parameter]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(Completers.TensorNameCompleter))]
        public string[] Include { get; set; } = Array.Empty<string>();

        /// <summary>Do not merge weights whose names match one of these (wildcards); they come from the first input (the base for base methods).</summary>
        [Parameter]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(Completers.TensorNameCompleter))]
        public string[] Exclude { get; set; } = Array.Empty<string>();

        /// <summary>Model (default) merges the model weights; Ema merges the EMA/SWA copies the checkpoints keep.</summary>
        [Parameter]
        [ValidateSet("Model", "Ema", IgnoreCase = true)]
        public string Source { get; set; } = "Model";

        /// <summary>Write a Lightning checkpoint (epoch, step, version, hyper-parameters of the first input) instead of a bare state dict.</summary>
        [Parameter]
        public SwitchParameter KeepMetadata { get; set; }

        /// <summary>Overwrite -OutFile if it exists.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>Emit the written file as a FileInfo.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        private string _outFile = "";
        private string? _basePath;
        private readonly List<string> _inputs = new List<string>();
        private int _failed;
        private DataOperation? _operation;

        protected override void StopProcessing()
        {
            _operation?.Cancel();
            base.StopProcessing();
        }

        protected override void BeginProcessing()
        {
            if (!PathResolution.TryResolveOutput(this, OutFile, out var resolved, out var error))
                ThrowTerminatingError(error!);
            _outFile = resolved!;
            if (BasePath != null)
            {
                if (!PathResolution.TryResolveLiteral(this, BasePath, out _basePath, out error)) ThrowTerminatingError(error!);
            }
        }

        protected override void ProcessRecord()
        {
            if (ParameterSetName == InputObjectSet)
            {
                bool any = false;
                foreach (var file in ResolveInputObject(InputObject)) { _inputs.Add(file); any = true; }
                if (!any && InputObject != null) _failed++;
                return;
            }
            if (ParameterSetName == UriSet)
            {
                // a URL that is not http(s) is reported by the resolver: an input missing, so nothing is written
                int before = _inputs.Count;
                _inputs.AddRange(ResolveInputFiles());
                _failed += Uri.Length - (_inputs.Count - before);
                return;
            }
            // a path that names no file is an input missing: counted, so that nothing is written
            var paths = ParameterSetName == LiteralPathSet ? LiteralPath : Path;
            foreach (var p in paths)
            {
                if (p == null) continue;
                int before = _inputs.Count;
                if (ParameterSetName == LiteralPathSet)
                {
                    if (PathResolution.TryResolveLiteral(this, p, out var file, out var error)) _inputs.Add(file!);
                    else { WriteError(error!); _failed++; }
                    continue;
                }
                _inputs.AddRange(PathResolution.ResolveWildcard(this, new[] { p }));
                if (_inputs.Count == before && !WildcardPattern.ContainsWildcardCharacters(p)) _failed++;
            }
        }

        protected override void EndProcessing()
        {
            if (_failed > 0) ThrowUnreadable(_failed + _inputs.Count);
            if (_inputs.Count == 0)
            {
                ThrowTerminatingError(new ErrorRecord(
                    new PSArgumentException("No checkpoint to merge: the paths matched no file, or nothing was piped in. Nothing was written."),
                    "NoMergeInput", ErrorCategory.InvalidArgument, OutFile));
            }
            var method = (MergeMethod)Enum.Parse(typeof(MergeMethod), Method, ignoreCase: true);
            int expected = method == MergeMethod.Slerp ? 1 : _inputs.Count;
            if (Weight != null && Weight.Length != expected)
            {
                ThrowTerminatingError(new ErrorRecord(
                    new PSArgumentException(method == MergeMethod.Slerp
                        ? $"-Weight has {Weight.Length} values; Slerp takes one, the interpolation factor t."
                        : $"-Weight has {Weight.Length} values but {_inputs.Count} checkpoints were given; give one weight per checkpoint."),
                    "WeightCountMismatch", ErrorCategory.InvalidArgument, Weight));
            }
            var request = new MergeRequest
            {
                Method = method,
                Weights = Weight,
                WeightMap = WeightRules(),
                Scale = Scale,
                Density = MyInvocation.BoundParameters.ContainsKey(nameof(Density)) ? Density : (double?)null,
                Seed = Seed,
                Filter = NameFilter.IncludeExclude(Include, Exclude),
                Source = (WeightsSource)Enum.Parse(typeof(WeightsSource), Source, ignoreCase: true),
                KeepMetadata = KeepMetadata,
            };
            var all = _basePath == null ? _inputs : _inputs.Concat(new[] { _basePath }).ToList();
            // by identity, before reading anything: an input (or a link to one), a device or FIFO, an existing file without -Force
            try { OutputGuard.Check(_outFile, all, Force); }
            catch (CheckpointWriteException e) { ThrowTerminatingError(PathResolution.Classify(e, _outFile, writing: true)!); }

            var checkpoints = new List<Checkpoint>(_inputs.Count);
            foreach (var file in _inputs)
                if (!TryProcessFile(file, () => checkpoints.Add(OpenCheckpoint(file)))) _failed++;
                else VerboseReport.Read(this, file, $"{VerboseReport.Tensors(checkpoints[checkpoints.Count - 1].View.Weights.Count)} of model weights");
            if (_basePath != null && !TryProcessFile(_basePath, () => request.Base = OpenCheckpoint(_basePath))) _failed++;
            if (_failed > 0) ThrowUnreadable(all.Count);
            if (!ShouldProcess(_outFile, $"Write the {method} merge of {checkpoints.Count} checkpoints")) return;

            var warnings = new List<string>();
            request.Warn = w => { lock (warnings) warnings.Add(w); };
            bool written = false;
            int tensors = 0;
            try
            {
                using var operation = _operation = new DataOperation(this, 5, "Merging checkpoints");
                long total = checkpoints.Concat(request.Base == null ? Array.Empty<Checkpoint>() : new[] { request.Base }).Sum(c => c.View.Weights.Sum(w => w.Tensor.NBytes));
                written = PathResolution.TryFile(this, _outFile, () => operation.Run(System.IO.Path.GetFileName(_outFile), total, progress =>
                {
                    request.Progress = progress;
                    tensors = CheckpointMerger.Merge(checkpoints, request, _outFile, WeightSelection.FormatFor(_outFile), overwrite: Force);
                }), writing: true);
                operation.Complete();
                if (written) VerboseReport.Wrote(this, _outFile, $"{VerboseReport.Tensors(tensors)}, the {method} merge of {checkpoints.Count} checkpoints");
            }
            catch (ArgumentException e)
            {
                // a request the method cannot take (weights not summing to 1, Slerp of three, Ties without -BasePath …): nothing was written
                WriteError(new ErrorRecord(e, "InvalidMergeRequest", ErrorCategory.InvalidArgument, _inputs.ToArray()));
            }
            foreach (var w in warnings) WriteWarning(w);
            if (written && PassThru) WriteObject(InvokeProvider.Item.Get(new[] { _outFile }, false, true), true);
        }

        private void ThrowUnreadable(int total) => ThrowTerminatingError(new ErrorRecord(
            new InvalidDataException($"{_failed} of {total} input checkpoints could not be found or read; nothing was written."),
            "MergeInputUnreadable", ErrorCategory.InvalidData, _outFile));

        /// <summary>
        /// -WeightMap as ordered rules: an [ordered] dictionary keeps its order; a plain hashtable has none, so its
        /// patterns are tried most specific first (more literal characters first, then by name), '*' last.
        /// </summary>
        private IReadOnlyList<WeightRule> WeightRules()
        {
            if (WeightMap == null) return Array.Empty<WeightRule>();
            var entries = new List<KeyValuePair<string, double[]>>();
            foreach (DictionaryEntry e in WeightMap)
            {
                string pattern = LanguagePrimitives.ConvertTo<string>(e.Key);
                double[] weights;
                try { weights = LanguagePrimitives.ConvertTo<double[]>(e.Value); }
                catch (PSInvalidCastException ex)
                {
                    ThrowTerminatingError(new ErrorRecord(new PSArgumentException($"-WeightMap '{pattern}': the weights must be numbers ({ex.Message})"),
                        "WeightMapInvalid", ErrorCategory.InvalidArgument, WeightMap));
                    throw;
                }
                entries.Add(new KeyValuePair<string, double[]>(pattern, weights));
            }
            if (!(WeightMap is System.Collections.Specialized.IOrderedDictionary))
                entries = entries.OrderByDescending(e => e.Key.Count(ch => ch != '*' && ch != '?')).ThenBy(e => e.Key, StringComparer.Ordinal).ToList();
            return entries.Select(e =>
            {
                var pattern = WildcardPattern.Get(e.Key, WildcardOptions.IgnoreCase);
                return new WeightRule(e.Key, pattern.IsMatch, e.Value);
            }).ToList();
        }
    }
}

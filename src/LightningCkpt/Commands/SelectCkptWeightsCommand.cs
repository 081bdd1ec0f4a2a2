using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using LightningCkpt.Torch;
using LightningCkpt.Writing;

using LightningCkpt.Remote;

namespace LightningCkpt.Commands
{
    /// <summary>
    /// Select-CkptWeights: picks, renames and optionally casts the model weights of a checkpoint. Without -OutFile
    /// it emits the selected tensors under their new names; with -OutFile it writes them (torch zip, or safetensors
    /// for a .safetensors name) and never touches the source.
    /// </summary>
    [Cmdlet(VerbsCommon.Select, "CkptWeights", DefaultParameterSetName = PathSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(CkptTensor), typeof(FileInfo))]
    public sealed class SelectCkptWeightsCommand : CkptCommandBase
    {
        /// <summary>A Get-CkptInfo result; its file is read.</summary>
        [Parameter(Mandatory = true, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
        public CkptInfo? InputObject { get; set; }

        /// <summary>Keep only weights whose original names match one of these (wildcards, case-insensitive).</summary>
        [Parameter]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(Completers.TensorNameCompleter))]
        public string[] Include { get; set; } = Array.Empty<string>();

        /// <summary>Drop weights whose original names match one of these (wildcards, case-insensitive).</summary>
        [Parameter]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(Completers.TensorNameCompleter))]
        public string[] Exclude { get; set; } = Array.Empty<string>();

        /// <summary>Prefixes removed from the names, first match wins (model., module., _orig_mod. …).</summary>
        [Parameter]
        [ArgumentCompleter(typeof(Completers.NamePrefixCompleter))]
        public string[] StripPrefix { get; set; } = Array.Empty<string>();

        /// <summary>A prefix put in front of every (stripped) name.</summary>
        [Parameter]
        public string? AddPrefix { get; set; }

        /// <summary>Cast floating weights to this dtype.</summary>
        [Parameter]
        [ValidateSet("float16", "bfloat16", "float32", IgnoreCase = true)]
        public string? DType { get; set; }

        /// <summary>Model (default) selects the model weights; Ema selects the EMA/SWA copy the checkpoint keeps (callback state, state_dict_ema, model_ema.*).</summary>
        [Parameter]
        [ValidateSet("Model", "Ema", IgnoreCase = true)]
        public string Source { get; set; } = "Model"; // a string: a Core enum field would load the IL-only Core at import (see MergeCkptWeightsCommand)

        /// <summary>Leave out an averaged copy held among the model weights (model_ema.*, ema_model.*, swa_model.* …), to slim a checkpoint.</summary>
        [Parameter]
        public SwitchParameter ExcludeAveraged { get; set; }

        /// <summary>With -OutFile: write a Lightning checkpoint (epoch, hyper-parameters …) instead of a plain state dict.</summary>
        [Parameter]
        public SwitchParameter KeepMetadata { get; set; }

        /// <summary>The file to write; .safetensors writes safetensors, anything else a torch zip checkpoint.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? OutFile { get; set; }

        /// <summary>Overwrite -OutFile if it exists.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>Emit the written file as a FileInfo.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        private string? _outFile;
        private readonly List<string> _inputs = new List<string>();
        private SelectOptions _options = new SelectOptions();
        private DataOperation _operation = null!;

        protected override void StopProcessing()
        {
            _operation?.Cancel();
            base.StopProcessing();
        }

        protected override void BeginProcessing()
        {
            _operation = new DataOperation(this, 4, "Writing selected weights");
            _options = new SelectOptions
            {
                Filter = NameFilter.IncludeExclude(Include, Exclude),
                StripPrefixes = StripPrefix ?? Array.Empty<string>(),
                AddPrefix = string.IsNullOrEmpty(AddPrefix) ? null : AddPrefix,
                CastTo = DType == null ? null : Torch.DType.FromName(DType.ToLowerInvariant()),
                KeepMetadata = KeepMetadata,
                Source = (Writing.Merging.WeightsSource)Enum.Parse(typeof(Writing.Merging.WeightsSource), Source, ignoreCase: true),
                ExcludeAveraged = ExcludeAveraged,
                Warn = message => _operation.Post(() => WriteWarning(message)), // the write runs on a worker
            };
            if (OutFile != null)
            {
                if (!PathResolution.TryResolveOutput(this, OutFile, out _outFile, out var error))
                    ThrowTerminatingError(error!);
            }
        }

        protected override void ProcessRecord()
        {
            var files = ParameterSetName == InputObjectSet ? ResolveInputObject(InputObject) : ResolveInputFiles();
            foreach (var file in files)
            {
                if (_outFile != null)
                {
                    // One output file takes exactly one input: collect, and write in EndProcessing.
                    _inputs.Add(file);
                    continue;
                }
                List<CkptTensor>? selected = null;
                if (TryProcessFile(file, () => selected = SelectTensors(OpenCheckpoint(file))) && selected != null)
                {
                    VerboseReport.Read(this, file, $"{VerboseReport.Tensors(selected.Count)} selected; nothing written (no -OutFile)");
                    foreach (var t in selected) WriteObject(t);
                }
            }
        }

        private List<CkptTensor> SelectTensors(Checkpoint checkpoint) =>
            WeightSelection.Describe(checkpoint, WeightSelection.Select(checkpoint, _options), _options);

        protected override void EndProcessing()
        {
            if (_outFile == null || _inputs.Count == 0) return;
            if (_inputs.Count > 1)
            {
                ThrowTerminatingError(new ErrorRecord(
                    new PSArgumentException($"-OutFile takes one input checkpoint, but {_inputs.Count} were given ({string.Join(", ", _inputs.Select(RemoteUrl.FileNameOf))}). Write them one at a time, or use Merge-CkptWeights to average them."),
                    "OutFileNeedsOneInput", ErrorCategory.InvalidArgument, _inputs));
            }
            var input = _inputs[0];
            var outFile = _outFile;
            // by identity, before reading anything: the input (or a link to it), a device or FIFO, an existing file without -Force
            if (!PathResolution.TryFile(this, outFile, () => OutputGuard.Check(outFile, new[] { input }, Force), writing: true)) return;
            bool written = false;
            if (!TryProcessFile(input, () =>
            {
                var checkpoint = OpenCheckpoint(input);
                var selected = WeightSelection.Select(checkpoint, _options);
                if (!ShouldProcess(outFile, "Write selected weights")) return;
                long total = selected.Sum(s => s.Tensor.NBytes);
                written = PathResolution.TryFile(this, outFile, () => _operation.Run(System.IO.Path.GetFileName(outFile), total, progress =>
                {
                    _options.Progress = progress;
                    WeightSelection.Write(checkpoint, selected, _options, outFile, WeightSelection.FormatFor(outFile), overwrite: Force);
                }), writing: true);
                _operation.Complete();
                if (written) VerboseReport.Wrote(this, outFile, $"{VerboseReport.Tensors(selected.Count)} from '{RemoteInput.Shown(input)}'");
            }))
                return;
            // The provider's FileInfo carries PSPath, so it pipes on into Get-CkptInfo.
            if (written && PassThru) WriteObject(InvokeProvider.Item.Get(new[] { outFile }, false, true), true);
        }
    }
}

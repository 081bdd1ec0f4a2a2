using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using LightningCkpt.Writing;

namespace LightningCkpt.Commands
{
    /// <summary>
    /// Merge-CkptWeights: averages the model weights of several checkpoints (optionally weighted) into one file,
    /// for checkpoint averaging / model soups. Every input must read cleanly, or nothing is written.
    /// </summary>
    [Cmdlet(VerbsData.Merge, "CkptWeights", DefaultParameterSetName = PathSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(FileInfo))]
    public sealed class MergeCkptWeightsCommand : CkptCommandBase
    {
        /// <summary>The file to write; .safetensors writes safetensors, anything else a torch zip checkpoint.</summary>
        [Parameter(Mandatory = true)]
        [ValidateNotNullOrEmpty]
        public string OutFile { get; set; } = "";

        /// <summary>One weight per input checkpoint, in input order; default: equal weights.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public double[]? Weight { get; set; }

        /// <summary>Overwrite -OutFile if it exists.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>Emit the written file as a FileInfo.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        /// <summary>Write a Lightning checkpoint with the first input's epoch, step and hyper-parameters (as weights_only data).</summary>
        [Parameter]
        public SwitchParameter KeepMetadata { get; set; }

        private string _outFile = "";
        private readonly List<string> _inputs = new List<string>();
        private int _failed;
        private DataOperation? _operation;

        protected override void StopProcessing() => _operation?.Cancel();

        protected override void BeginProcessing()
        {
            if (!PathResolution.TryResolveOutput(this, OutFile, out var resolved, out var error))
                ThrowTerminatingError(error!);
            _outFile = resolved!;
        }

        protected override void ProcessRecord()
        {
            foreach (var file in ResolveInputFiles()) _inputs.Add(file);
        }

        protected override void EndProcessing()
        {
            if (_inputs.Count == 0) return;
            if (Weight != null && Weight.Length != _inputs.Count)
            {
                ThrowTerminatingError(new ErrorRecord(
                    new PSArgumentException($"-Weight has {Weight.Length} values but {_inputs.Count} checkpoints were given; give one weight per checkpoint."),
                    "WeightCountMismatch", ErrorCategory.InvalidArgument, Weight));
            }
            // by identity, before reading anything: an input (or a link to one), a device or FIFO, an existing file without -Force
            try { OutputGuard.Check(_outFile, _inputs, Force); }
            catch (CheckpointWriteException e) { ThrowTerminatingError(PathResolution.Classify(e, _outFile, writing: true)!); }

            var checkpoints = new List<Checkpoint>(_inputs.Count);
            foreach (var file in _inputs)
            {
                if (TryProcessFile(file, () => checkpoints.Add(Checkpoint.Open(file)))) continue;
                _failed++;
            }
            if (_failed > 0)
            {
                ThrowTerminatingError(new ErrorRecord(
                    new InvalidDataException($"{_failed} of {_inputs.Count} input checkpoints could not be read; nothing was written."),
                    "MergeInputUnreadable", ErrorCategory.InvalidData, _outFile));
            }
            if (!ShouldProcess(_outFile, $"Write the average of {checkpoints.Count} checkpoints")) return;

            var warnings = new List<string>();
            bool written = false;
            try
            {
                using var operation = _operation = new DataOperation(this, 5, "Merging checkpoints");
                long total = checkpoints.Sum(c => c.View.Weights.Sum(w => w.Tensor.NBytes));
                written = PathResolution.TryFile(this, _outFile, () => operation.Run(System.IO.Path.GetFileName(_outFile), total, progress =>
                    WeightsAverager.Merge(checkpoints, Weight, _outFile, WeightSelection.FormatFor(_outFile), overwrite: Force,
                        warn: w => { lock (warnings) warnings.Add(w); }, progress, KeepMetadata)), writing: true);
                operation.Complete();
            }
            catch (ArgumentException e)
            {
                // A bad -Weight (not finite, not summing to 1): nothing was written.
                WriteError(new ErrorRecord(e, "MergeInputMismatch", ErrorCategory.InvalidArgument, _inputs.ToArray()));
            }
            foreach (var w in warnings) WriteWarning(w);
            if (written && PassThru) WriteObject(InvokeProvider.Item.Get(new[] { _outFile }, false, true), true);
        }
    }
}

using System;
using System.Collections.Generic;
using System.Collections.Specialized;
using System.IO;
using System.Linq;
using System.Management.Automation;
using LightningCkpt.Writing;

namespace LightningCkpt.Commands
{
    /// <summary>
    /// Export-Ckpt: writes an object graph (Import-Ckpt output, edited or not, or plain PowerShell values) as a torch
    /// zip checkpoint. Objects read from a file are written with their original construction and tensors with their
    /// original bytes; added values are written as the Python types they map to. Atomic, and never onto a source file.
    /// </summary>
    [Cmdlet(VerbsData.Export, "Ckpt", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(FileInfo))]
    public sealed class ExportCkptCommand : PSCmdlet
    {
        /// <summary>The graph to write: the top object of the checkpoint (one per call).</summary>
        [Parameter(Mandatory = true, ValueFromPipeline = true)]
        [AllowNull]
        public object? InputObject { get; set; }

        /// <summary>The checkpoint file to write.</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string OutFile { get; set; } = "";

        /// <summary>Overwrite -OutFile if it exists.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>Emit the written file as a FileInfo.</summary>
        [Parameter]
        public SwitchParameter PassThru { get; set; }

        /// <summary>
        /// Refuse (error UnsafeGraph, nothing written) when the graph names a global that torch.load(weights_only=False)
        /// would run, instead of warning and writing it.
        /// </summary>
        [Parameter]
        public SwitchParameter RefuseUnsafe { get; set; }

        /// <summary>Write every value as plain data torch.load(weights_only=True) accepts in torch 1.13 and 2.x.</summary>
        [Parameter]
        public SwitchParameter SafeTypes { get; set; }

        private readonly List<object?> _inputs = new List<object?>();
        private string _outFile = "";
        private DataOperation? _operation;

        protected override void StopProcessing() => _operation?.Cancel();

        protected override void BeginProcessing()
        {
            if (!PathResolution.TryResolveOutput(this, OutFile, out var resolved, out var error)) ThrowTerminatingError(error!);
            _outFile = resolved!;
        }

        protected override void ProcessRecord() => _inputs.Add(InputObject);

        protected override void EndProcessing()
        {
            if (_inputs.Count != 1)
            {
                ThrowTerminatingError(new ErrorRecord(
                    new PSArgumentException($"Export-Ckpt writes one object graph per file, but {_inputs.Count} objects were piped. Pass a list whole with -InputObject $list or ,$list | Export-Ckpt."),
                    "OutFileNeedsOneInput", ErrorCategory.InvalidArgument, _inputs.Count));
            }
            CheckpointExport export;
            try { export = CheckpointExport.Prepare(_inputs[0], null, new PowerShellValues().Normalize, SafeTypes); }
            catch (GraphWriteException e)
            {
                WriteError(new ErrorRecord(e, "NotExportable", ErrorCategory.InvalidData, _inputs[0]));
                return;
            }
            if (export.IsSource(_outFile))
            {
                WriteError(new ErrorRecord(new IOException($"-OutFile '{_outFile}' is a file the graph was read from or its tensors come from; Export-Ckpt never overwrites its source."),
                    "OutFileIsInput", ErrorCategory.InvalidArgument, _outFile));
                return;
            }
            // the writers' one check and wording: an existing file without -Force, a device or FIFO, a source by identity
            if (!PathResolution.TryFile(this, _outFile, () => OutputGuard.Check(_outFile, export.SourceFiles, Force), writing: true)) return;
            if (export.DangerousGlobals.Count > 0)
            {
                string names = string.Join(", ", export.DangerousGlobals);
                if (RefuseUnsafe)
                {
                    WriteError(new ErrorRecord(new InvalidDataException($"The graph names {names}, which torch.load(weights_only=False) would run; nothing was written to '{_outFile}' (-RefuseUnsafe)."),
                        "UnsafeGraph", ErrorCategory.SecurityError, _outFile));
                    return;
                }
                WriteWarning($"{_outFile}: the graph names {names}, which torch.load(weights_only=False) would run; it is written as it was read. Remove it from the graph, or use -RefuseUnsafe to refuse such graphs.");
            }
            if (!ShouldProcess(_outFile, "Write checkpoint")) return;
            try
            {
                using (_operation = new DataOperation(this, 5, "Exporting checkpoint"))
                {
                    _operation.Run(Path.GetFileName(_outFile), export.StorageBytes, progress => export.Write(_outFile, overwrite: Force, progress));
                    _operation.Complete();
                }
            }
            catch (SourceChangedException e)
            {
                WriteError(new ErrorRecord(e, "SourceChanged", ErrorCategory.InvalidData, e.FilePath));
                return;
            }
            catch (Exception e) when (PathResolution.Classify(e, _outFile, writing: true) is ErrorRecord error)
            {
                WriteError(error);
                return;
            }
            VerboseReport.Wrote(this, _outFile, $"the object graph with {export.StorageCount} tensor storages ({ByteSize.Format(export.StorageBytes)} of tensor data)");
            foreach (var line in export.Conversions)
            {
                WriteWarning("written as plain data so torch's weights_only loader accepts it: " + line);
                WriteVerbose(line);
            }
            if (!PassThru) return;
            foreach (var item in InvokeProvider.Item.Get(new[] { _outFile }, false, true))
            {
                if (SafeTypes) item.Properties.Add(new PSNoteProperty("SafeTypeConversions", export.Conversions.ToArray()));
                WriteObject(item);
            }
        }

        /// <summary>PowerShell's wrappers to plain values: PSObject to its base object, [pscustomobject] to an ordered dict.</summary>
        private sealed class PowerShellValues
        {
            private readonly Dictionary<PSObject, OrderedDictionary> _custom = new Dictionary<PSObject, OrderedDictionary>(new Identity());

            public object? Normalize(object value)
            {
                if (value is not PSObject ps) return value;
                if (ps.BaseObject is PSCustomObject)
                {
                    // every [pscustomobject] shares one base object, so the wrapper is what has identity
                    if (!_custom.TryGetValue(ps, out var d))
                    {
                        d = new OrderedDictionary();
                        foreach (var p in ps.Properties) d[p.Name] = p.Value;
                        _custom[ps] = d;
                    }
                    return d;
                }
                return ps.BaseObject;
            }

            // PSObject.Equals compares base objects, and all [pscustomobject]s share one
            private sealed class Identity : IEqualityComparer<PSObject>
            {
                public bool Equals(PSObject? x, PSObject? y) => ReferenceEquals(x, y);
                public int GetHashCode(PSObject obj) => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj);
            }
        }
    }
}

using System.Collections.Generic;
using System.Management.Automation;
using LightningCkpt.Pickle;

using LightningCkpt.Remote;

namespace LightningCkpt.Commands
{
    /// <summary>
    /// Import-Ckpt: the whole object graph of a checkpoint (or the subtree at -Key) as navigable, editable values:
    /// dicts as ordered dictionaries keeping Python key types, lists, tuples, .NET scalars, byte[], $null, tensors as
    /// file-bound CkptTensor, and every other object as an inert PyObject. One object per file, never enumerated,
    /// so it pipes whole into Export-Ckpt; a list or tuple taken with -Key is enumerated as PowerShell output is
    /// (ConvertFrom-Json's rule), so '-Key …/param_groups | ForEach-Object lr' gives the rates; -NoEnumerate keeps it whole.
    /// </summary>
    [Cmdlet(VerbsData.Import, "Ckpt", DefaultParameterSetName = PathSet)]
    [OutputType(typeof(PyDict), typeof(PyList), typeof(PyObject), typeof(CkptTensor))]
    public sealed class ImportCkptCommand : CkptCommandBase
    {
        /// <summary>A '/'-separated key path to a subtree: 'optimizer_states/0/param_groups', 'state_dict/model.net.0.weight'.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(Completers.KeyPathCompleter))]
        public string? Key { get; set; }

        /// <summary>Emits a list or tuple taken with -Key as one object (to pipe it whole into Export-Ckpt), as ConvertFrom-Json -NoEnumerate.</summary>
        [Parameter]
        public SwitchParameter NoEnumerate { get; set; }

        protected override void ProcessRecord()
        {
            foreach (var file in ResolveInputFiles())
            {
                object? value = null;
                bool found = true;
                if (!TryProcessFile(file, () =>
                {
                    value = CkptGraph.Load(file, RemoteInput.IsUrl(file) ? RemoteAccess : null, out var checkpoint);
                    VerboseReport.Read(this, file, $"{checkpoint.Format}, the object graph with {VerboseReport.Tensors(checkpoint.AllTensors.Count)} (their data is read only when asked for)");
                    if (Key == null) return;
                    try { value = CkptGraph.Select(value, Key); }
                    catch (KeyNotFoundException e)
                    {
                        found = false;
                        WriteError(new ErrorRecord(new ItemNotFoundException($"{RemoteUrl.FileNameOf(file)}: {e.Message}", e), "KeyNotFound", ErrorCategory.ObjectNotFound, Key));
                    }
                }) || !found)
                    continue;
                // a subtree that is a Python sequence enumerates as PowerShell output does; the whole file, a dict, a
                // bytes value (byte[]) and a tensor are one object each
                WriteObject(value, enumerateCollection: Key != null && !NoEnumerate && (value is PyList || value is PyTuple || value is PySet));
            }
        }
    }
}

using System;
using System.Linq;
using System.Management.Automation;
using LightningCkpt.Safety;

using LightningCkpt.Remote;

namespace LightningCkpt.Commands
{
    /// <summary>
    /// Test-Ckpt: checks each checkpoint for damage (structure, sizes, optionally CRCs and NaN/Inf) and for danger
    /// (globals that would run code in torch.load), without running anything.
    /// </summary>
    [Cmdlet(VerbsDiagnostic.Test, "Ckpt", DefaultParameterSetName = PathSet)]
    [OutputType(typeof(CkptTestResult), typeof(bool))]
    public sealed class TestCkptCommand : CkptCommandBase
    {
        /// <summary>A Get-CkptInfo result; its file is tested.</summary>
        [Parameter(Mandatory = true, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
        public CkptInfo? InputObject { get; set; }

        /// <summary>Read every byte and check the zip CRC-32s.</summary>
        [Parameter]
        public SwitchParameter VerifyCrc { get; set; }

        /// <summary>Scan floating weights for NaN and Inf.</summary>
        [Parameter]
        public SwitchParameter CheckValues { get; set; }

        /// <summary>Emit one Boolean per file, like Test-Path: true when the file is valid and safe; missing or unreadable files give false.</summary>
        [Parameter]
        public SwitchParameter Quiet { get; set; }

        private DataOperation? _operation;

        protected override void BeginProcessing()
        {
            if (VerifyCrc || CheckValues) _operation = new DataOperation(this, 3, "Testing checkpoints");
        }

        protected override void StopProcessing()
        {
            _operation?.Cancel();
            base.StopProcessing();
        }

        protected override void EndProcessing()
        {
            _operation?.Complete();
            _operation?.Dispose();
        }

        /// <summary>The test, on a cancellable worker with progress in bytes when it reads data.</summary>
        private CkptTestResult Test(string file, ValidateOptions options)
        {
            if (_operation == null) return CheckpointValidator.Test(file, options);
            // a sharded checkpoint is a folder: its progress counts the bytes of the files in it
            long length = options.Remote != null ? options.Remote.Open(file).Length
                : System.IO.Directory.Exists(file) ? new System.IO.DirectoryInfo(file).EnumerateFiles("*", System.IO.SearchOption.AllDirectories).Sum(f => f.Length)
                : new System.IO.FileInfo(file).Length;
            long total = length * ((VerifyCrc ? 1 : 0) + (CheckValues ? 1 : 0));
            return _operation.Run(RemoteUrl.FileNameOf(file), total, progress =>
                CheckpointValidator.Test(file, new ValidateOptions { VerifyCrc = options.VerifyCrc, CheckValues = options.CheckValues, Progress = progress, Remote = options.Remote }));
        }

        protected override void ProcessRecord()
        {
            Action<string>? missing = Quiet ? _ => WriteObject(false) : null;
            var files = ParameterSetName == InputObjectSet ? ResolveInputObject(InputObject, missing) : ResolveInputFiles(missing);
            var options = new ValidateOptions { VerifyCrc = VerifyCrc, CheckValues = CheckValues };
            foreach (var file in files)
            {
                options.Remote = RemoteInput.IsUrl(file) ? RemoteAccess : null;
                if (Quiet)
                {
                    bool good;
                    try
                    {
                        var r = Test(file, options);
                        good = r.Passed;
                    }
                    catch (Exception e) when (PathResolution.Classify(e, file, writing: false) != null)
                    {
                        good = false;
                    }
                    WriteObject(good);
                    continue;
                }
                CkptTestResult? result = null;
                if (TryProcessFile(file, () => result = Test(file, options)) && result != null)
                {
                    VerboseReport.Read(this, file, $"tested ({result.Summary})" + (VerifyCrc || CheckValues ? ", tensor data read" : ", metadata only"));
                    WriteObject(result);
                }
            }
        }
    }
}

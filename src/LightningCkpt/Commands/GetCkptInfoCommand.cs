using System.Management.Automation;

namespace LightningCkpt.Commands
{
    /// <summary>Get-CkptInfo: one summary object per checkpoint file, read from metadata only.</summary>
    [Cmdlet(VerbsCommon.Get, "CkptInfo", DefaultParameterSetName = PathSet)]
    [OutputType(typeof(CkptInfo))]
    public sealed class GetCkptInfoCommand : CkptCommandBase
    {
        protected override void ProcessRecord()
        {
            foreach (var file in ResolveInputFiles())
            {
                CkptInfo? info = null;
                // CkptInfo.Read closes the file before returning, so the next pipeline command may move or delete it.
                if (!TryProcessFile(file, () => info = CkptInfo.Read(file, RemoteInput.IsUrl(file) ? RemoteAccess : null)) || info == null) continue;
                if (info.SafetyWarning is string warning) WriteWarning(warning);
                VerboseReport.Read(this, file, $"{info.Format}, {VerboseReport.Tensors(info.AllTensorCount)} ({VerboseReport.Tensors(info.TensorCount)} of model weights); metadata only, no tensor data");
                WriteObject(info);
            }
        }
    }
}

<#
.SYNOPSIS
    What kind of .NET image a DLL is: its module version id (MVID), PE machine, whether it is IL-only, and whether it
    carries ReadyToRun native code. build.ps1 checks the shipped Core with it, and the Pester suite checks the built
    module with it.

.DESCRIPTION
    IL-only, platform-neutral images (machine I386, ILOnly flag, no managed native header) load on every runtime:
    .NET Framework 4.7.2 (Windows PowerShell 5.1) and .NET on any OS and CPU. A ReadyToRun image has a managed native
    header and a machine of its own target (for linux-x64: AMD64 XOR 0x7B79), which only that target's CoreCLR uses.
#>
param([Parameter(Mandatory)] [string] $LiteralPath)

$stream = [System.IO.File]::OpenRead($LiteralPath)
try {
    $pe = [System.Reflection.PortableExecutable.PEReader]::new($stream)
    $headers = $pe.PEHeaders
    $reader = [System.Reflection.Metadata.PEReaderExtensions]::GetMetadataReader($pe)
    $mvid = $reader.GetGuid($reader.GetModuleDefinition().Mvid)
    $cor = $headers.CorHeader
    [pscustomobject]@{
        Path        = $LiteralPath
        Mvid        = $mvid
        Machine     = [int]$headers.CoffHeader.Machine
        ILOnly      = [bool]($cor.Flags -band [System.Reflection.PortableExecutable.CorFlags]::ILOnly)
        ReadyToRun  = $cor.ManagedNativeHeaderDirectory.Size -gt 0
        PlatformNeutral = ([int]$headers.CoffHeader.Machine -eq 0x14C) -and [bool]($cor.Flags -band [System.Reflection.PortableExecutable.CorFlags]::ILOnly) -and
            -not ($cor.Flags -band [System.Reflection.PortableExecutable.CorFlags]::Requires32Bit) -and $cor.ManagedNativeHeaderDirectory.Size -eq 0
    }
}
finally { $stream.Dispose() }

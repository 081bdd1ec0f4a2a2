#
# Module manifest for LightningCkpt: inspect, compare and cut PyTorch / Lightning checkpoints without Python.
# The single source of ModuleVersion; build.ps1 reads it.
#
@{
    RootModule             = 'LightningCkpt.dll'
    ModuleVersion          = '0.1.0'
    GUID                   = '1265c1af-c8fb-417e-9e4f-150a2f86c0e9'
    Author                 = 'LightningCkpt contributors'
    CompanyName            = 'LightningCkpt contributors'
    Copyright              = '(c) 2026 LightningCkpt contributors. MIT License.'
    Description            = 'Inspect, compare and cut PyTorch and PyTorch Lightning checkpoints (.ckpt, .pt, .pth) without Python. Pickles are read by a non-executing reader: nothing in a checkpoint is ever run.'
    CompatiblePSEditions   = @('Desktop', 'Core')
    PowerShellVersion      = '5.1'
    DotNetFrameworkVersion = '4.7.2'
    FormatsToProcess       = @('LightningCkpt.format.ps1xml')
    CmdletsToExport        = @(
        'Get-CkptInfo'
        'Get-CkptTensor'
        'Compare-Ckpt'
        'Select-CkptWeights'
        'Import-Ckpt'
        'Export-Ckpt'
        'Merge-CkptWeights'
        'Test-Ckpt'
    )
    FunctionsToExport      = @()
    AliasesToExport        = @()
    VariablesToExport      = @()
    PrivateData            = @{
        PSData = @{
            # Only what the test suite runs on: pwsh 7 on Linux (Windows PowerShell 5.1, Windows and macOS are built
            # for but not tested here). No LicenseUri/ProjectUri until the project has a public home: the license is
            # the LICENSE file shipped in the package, the release notes CHANGELOG.md.
            Tags         = @('PyTorch', 'Lightning', 'Checkpoint', 'safetensors', 'PSEdition_Core', 'Linux')
            ReleaseNotes = 'See CHANGELOG.md in the package.'
        }
    }
}

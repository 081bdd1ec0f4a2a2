BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-LightningCkptModule
    $script:Module = Get-Module LightningCkpt
}

Describe 'The built module' {
    It 'exports exactly the eight cmdlets' {
        $Module.ExportedCmdlets.Keys | Sort-Object | Should -Be @('Compare-Ckpt', 'Export-Ckpt', 'Get-CkptInfo', 'Get-CkptTensor', 'Import-Ckpt', 'Merge-CkptWeights', 'Select-CkptWeights', 'Test-Ckpt')
        $Module.ExportedFunctions.Count | Should -Be 0
        $Module.ExportedAliases.Count | Should -Be 0
    }

    It 'does not ship the PowerShell reference assembly' {
        Get-ChildItem -LiteralPath $Module.ModuleBase -Recurse -Filter 'System.Management.Automation.dll' | Should -BeNullOrEmpty
    }

    It 'uses approved verbs' {
        $approved = (Get-Verb).Verb
        $Module.ExportedCmdlets.Values | ForEach-Object { $approved | Should -Contain $_.Verb }
    }

    It 'has help with examples for <_>' -ForEach @('Get-CkptInfo', 'Get-CkptTensor', 'Compare-Ckpt', 'Select-CkptWeights', 'Merge-CkptWeights', 'Test-Ckpt', 'Import-Ckpt', 'Export-Ckpt') {
        $help = Get-Help $_ -Full
        $help.Synopsis | Should -Not -Match '^\s*\S+\s*\[' -Because 'a synopsis that is only the syntax means the MAML file was not found'
        @($help.Examples.Example).Count | Should -BeGreaterOrEqual 2
    }

    It 'ships about_LightningCkpt' {
        Get-Help about_LightningCkpt | Out-String | Should -Match 'LiteralPath'
    }

    It 'completes tensor names from the file on the command line' {
        New-CkptTestData -Root $TestDrive
        $file = Join-Path $TestDrive 'lightning_logs/version_0/checkpoints/last.ckpt'
        $line = "Get-CkptTensor -LiteralPath '$file' -Name model.net.2."
        $r = TabExpansion2 -inputScript $line -cursorColumn $line.Length
        $r.CompletionMatches.CompletionText | Should -Be @('model.net.2.weight', 'model.net.2.bias')
    }
}

Describe 'Help and README statements' {
    BeforeAll {
        $script:About = Get-Help about_LightningCkpt | Out-String
        $script:Readme = Get-Content -LiteralPath (Join-Path $script:RepoRoot 'README.md') -Raw
        $script:CmdletDoc = Get-Content -LiteralPath (Join-Path $script:RepoRoot 'docs/cmdlets.md') -Raw
    }

    It 'calls Std the unbiased sample standard deviation, never population' {
        $p = (Get-Help Get-CkptTensor -Parameter Statistics).Description.Text -join ' '
        $p | Should -Not -Match 'population'
        $p | Should -Match 'unbiased'
        $About | Should -Not -Match 'population'
    }

    It 'picks the best checkpoint honouring the ModelCheckpoint mode' {
        $examples = (Get-Help Get-CkptInfo -Examples | Out-String) + $About + $Readme
        $examples | Should -Not -Match 'Sort-Object BestModelScore \| Select-Object -First 1'
        $examples | Should -Match "Mode -eq 'max'"
    }

    It 'makes no claim that PowerShell is absent' {
        foreach ($text in $About, $Readme, (Get-Help Test-Ckpt -Full | Out-String)) {
            $text | Should -Not -Match 'no `?pwsh'
            $text | Should -Not -Match 'without pwsh'
        }
    }

    It 'documents every error id the cmdlets write' {
        $ids = 'FileNotFound', 'PathNotFileSystem', 'InvalidCheckpoint', 'NotACheckpoint', 'UnsupportedCheckpoint', 'CheckpointLimitExceeded',
            'TensorNotFound', 'OutFileExists', 'OutFileIsInput', 'OutFileNeedsOneInput', 'NoWeightsSelected', 'WeightNameCollision',
            'DTypeNotWritable', 'TensorNotWritable', 'MergeInputMismatch', 'MergeInputUnreadable', 'WeightCountMismatch'
        foreach ($id in $ids) {
            $About | Should -Match "\b$id\b" -Because "about_LightningCkpt must document $id"
            $CmdletDoc | Should -Match "\b$id\b" -Because "docs/cmdlets.md must list $id"
        }
    }
}

# The ReadyToRun Core ships only in builds made with ./build.ps1 -ReadyToRun (release packages; .ci/run checks one).
Describe 'The ReadyToRun Core (linux-x64 only)' {
    BeforeAll {
        $built = if ($env:LIGHTNINGCKPT_MODULE) { $env:LIGHTNINGCKPT_MODULE } else { Join-Path $PSScriptRoot '../../out/LightningCkpt' }
        $script:HasReadyToRun = [bool](Get-ChildItem -LiteralPath $built -Recurse -Filter 'LightningCkpt.Core.dll' | Where-Object { $_.Directory.Name -eq 'linux-x64' })
        $script:ImageInfo = Join-Path $script:RepoRoot 'tools/r2r/Get-ImageInfo.ps1'
        $script:Base = $Module.ModuleBase
        # This PowerShell as a command: pwsh in $PSHOME, or `dotnet pwsh.dll` under the dotnet tool (whose process is dotnet).
        $script:Shell = @(if (Test-Path -LiteralPath (Join-Path $PSHOME 'pwsh') -PathType Leaf) { Join-Path $PSHOME 'pwsh' } else { 'dotnet'; Join-Path $PSHOME 'pwsh.dll' })
        $script:File = Join-Path $script:RepoRoot 'samples/lightning_logs/version_0/checkpoints/last.ckpt'
        # A child pwsh imports the module at $ModuleDir, reads one file, and reports which Core served it.
        $script:ProbeScript = Join-Path $TestDrive 'probe.ps1'
        Set-Content -LiteralPath $script:ProbeScript -Value @'
Import-Module $args[0]
$info = Get-CkptInfo -LiteralPath $args[1]
$cores = @([AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'LightningCkpt.Core' })
"$($info.GlobalStep)|$($cores.Count)|$($cores[0].Location)"
'@
        $script:Probe = {
            param([string] $ModuleDir)
            $shellArgs = @($script:Shell | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', $script:ProbeScript, $ModuleDir, $script:File)
            $out = & $script:Shell[0] @shellArgs
            $step, $count, $location = ($out | Select-Object -Last 1) -split '\|'
            [pscustomobject]@{ GlobalStep = [long]$step; CoreCount = [int]$count; CoreLocation = $location }
        }
    }

    It 'ships the two assemblies every PowerShell loads as IL-only, platform-neutral images' {
        foreach ($name in 'LightningCkpt.dll', 'LightningCkpt.Core.dll') {
            $i = & $ImageInfo -LiteralPath (Join-Path $Base $name)
            $i.PlatformNeutral | Should -BeTrue -Because "$name must load on Windows PowerShell 5.1 and on pwsh on every OS and CPU"
            $i.ReadyToRun | Should -BeFalse
        }
    }

    It 'ships a linux-x64 ReadyToRun Core compiled from the same IL as the shipped Core' {
        if (-not $HasReadyToRun) { Set-ItResult -Skipped -Because 'this build has no ReadyToRun Core (built without -ReadyToRun; .ci/run checks a -ReadyToRun build)'; return }
        $il = & $ImageInfo -LiteralPath (Join-Path $Base 'LightningCkpt.Core.dll')
        $r2r = & $ImageInfo -LiteralPath (Join-Path $Base 'linux-x64/LightningCkpt.Core.dll')
        $r2r.ReadyToRun | Should -BeTrue
        $r2r.Machine | Should -Be (0x8664 -bxor 0x7B79) -Because 'crossgen2 stamps a linux-x64 image with AMD64 XOR the Linux discriminator'
        $r2r.Mvid | Should -Be $il.Mvid
    }

    It 'chooses the ReadyToRun Core only on CoreCLR, Linux, x64' {
        $canRun = [LightningCkpt.Commands.ReadyToRunCore].GetMethod('CanRun', [System.Reflection.BindingFlags]'NonPublic, Static')
        $canRun.Invoke($null, @('System.Private.CoreLib', $true, [System.Runtime.InteropServices.Architecture]::X64)) | Should -BeTrue
        $canRun.Invoke($null, @('mscorlib', $true, [System.Runtime.InteropServices.Architecture]::X64)) | Should -BeFalse -Because '.NET Framework (Windows PowerShell) cannot load it'
        $canRun.Invoke($null, @('System.Private.CoreLib', $false, [System.Runtime.InteropServices.Architecture]::X64)) | Should -BeFalse -Because 'CoreCLR on Windows or macOS throws BadImageFormatException for a Linux image'
        $canRun.Invoke($null, @('System.Private.CoreLib', $true, [System.Runtime.InteropServices.Architecture]::Arm64)) | Should -BeFalse
    }

    It 'serves the cmdlets from the linux-x64 Core here, loaded once' -Skip:(-not ($IsLinux -and [System.Runtime.InteropServices.RuntimeInformation]::ProcessArchitecture -eq 'X64')) {
        if (-not $HasReadyToRun) { Set-ItResult -Skipped -Because 'this build has no ReadyToRun Core (built without -ReadyToRun; .ci/run checks a -ReadyToRun build)'; return }
        $r = & $Probe (Split-Path $Base -Parent)
        $r.GlobalStep | Should -BeGreaterThan 0
        $r.CoreCount | Should -Be 1
        $r.CoreLocation | Should -Be (Join-Path $Base 'linux-x64/LightningCkpt.Core.dll')
    }

    It 'loads the IL-only Core beside the cmdlets when there is no ReadyToRun folder, as on every other platform' {
        $copy = Join-Path $TestDrive 'no-r2r/LightningCkpt'
        Copy-Item -LiteralPath $Base -Destination (Join-Path $copy (Split-Path $Base -Leaf)) -Recurse
        $copyBase = Join-Path $copy (Split-Path $Base -Leaf)
        $r2rFolder = Join-Path $copyBase 'linux-x64'
        if (Test-Path -LiteralPath $r2rFolder) { Remove-Item -LiteralPath $r2rFolder -Recurse }
        $r = & $Probe $copy
        $r.GlobalStep | Should -BeGreaterThan 0
        $r.CoreCount | Should -Be 1
        $r.CoreLocation | Should -Be (Join-Path $copyBase 'LightningCkpt.Core.dll')
    }
}

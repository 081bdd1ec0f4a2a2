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
            $Readme | Should -Match "\b$id\b" -Because "README must list $id"
        }
    }
}

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

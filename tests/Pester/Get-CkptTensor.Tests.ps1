BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Initialize-CkptTestDrive
    $script:Id = 'LightningCkpt.Commands.GetCkptTensorCommand'
}

Describe 'Get-CkptTensor' {
    It 'lists the model weights by default' {
        $t = Get-CkptTensor -LiteralPath $Last
        $t.Name | Should -Be @('model.net.0.weight', 'model.net.0.bias', 'model.net.2.weight', 'model.net.2.bias')
        ($t | Where-Object Name -eq 'model.net.0.weight').Shape | Should -Be @(16, 4)
        $t | ForEach-Object { $_ | Should -BeOfType ([LightningCkpt.CkptTensor]) }
    }

    It 'lists optimizer state too with -All' {
        $all = Get-CkptTensor -LiteralPath $Last -All
        $all.Count | Should -BeGreaterThan 4
        $all.Section | Should -Contain 'optimizer_states'
    }

    It 'filters names with case-insensitive wildcards' {
        (Get-CkptTensor -LiteralPath $Last -Name '*.BIAS').Name | Should -Be @('model.net.0.bias', 'model.net.2.bias')
    }

    It 'reports a literal name that matches nothing as TensorNotFound and still emits the matches' {
        $r = Get-CkptTensor -LiteralPath $Last -Name 'model.net.0.bias', 'nope' -ErrorVariable ev -ErrorAction SilentlyContinue
        $r.Name | Should -Be 'model.net.0.bias'
        $ev[0].FullyQualifiedErrorId | Should -BeExactly "TensorNotFound,$Id"
    }

    It 'takes Get-CkptInfo output through -InputObject, brackets included' {
        $r = Get-CkptInfo -LiteralPath (Join-Path $V0 'epoch=3-step=[1].ckpt') | Get-CkptTensor
        $r.Count | Should -Be 4
        $r[0].FullName | Should -Be (Join-Path $V0 'epoch=3-step=[1].ckpt')
    }

    It 'reads every file piped from Get-ChildItem' {
        (Get-ChildItem -LiteralPath $V0 -Filter *.ckpt | Get-CkptTensor).Count | Should -Be 20
    }

    It 'hashes equal tensors equally across files with -Hash' {
        $a = Get-CkptTensor -LiteralPath $Last -Hash
        $b = Get-CkptTensor -LiteralPath (Join-Path $V0 'epoch=3-step=[1].ckpt') -Hash
        $a.Sha256 | Should -Match '^[0-9a-f]{64}$'
        $a.Sha256 | Should -Be $b.Sha256
    }

    It 'fills statistics with -Statistics' {
        $t = Get-CkptTensor -LiteralPath $Last -Name 'model.net.0.weight' -Statistics
        $t.Min | Should -BeLessOrEqual $t.Mean
        $t.Max | Should -BeGreaterOrEqual $t.Mean
        $t.NaNCount | Should -Be 0
    }

    It 'renders the default and the Statistics views' {
        $default = Get-CkptTensor -LiteralPath $Last | Format-Table | Out-String
        $t = Get-CkptTensor -LiteralPath $Last -Statistics
        foreach ($h in 'Name', 'DType', 'Shape', 'Numel', 'Bytes') { $default | Should -Match $h }
        $stats = $t | Format-Table -View Statistics | Out-String
        foreach ($h in 'Min', 'Max', 'Mean', 'Std') { $stats | Should -Match $h }
    }

    It 'works with Sort-Object, Measure-Object and Export-Csv' {
        $t = Get-CkptTensor -LiteralPath $Last
        ($t | Sort-Object Numel -Descending)[0].Name | Should -Be 'model.net.0.weight'
        ($t | Measure-Object Numel -Sum).Sum | Should -Be 131
        $csv = Join-Path $TestDrive 'tensors.csv'
        $t | Select-Object Name, DType, ShapeText, Numel | Export-Csv -LiteralPath $csv -NoTypeInformation
        (Import-Csv -LiteralPath $csv).Count | Should -Be 4
    }

    It 'writes InvalidCheckpoint for a damaged file and goes on' {
        $r = Get-CkptTensor -LiteralPath (Join-Path $TestDrive 'mixed/truncated.ckpt'), $Last -ErrorVariable ev -ErrorAction SilentlyContinue
        $r.Count | Should -Be 4
        $ev[0].FullyQualifiedErrorId | Should -BeExactly "InvalidCheckpoint,$Id"
    }

    It 'has FullName as the checkpoint file, so file cmdlets take tensors from the pipeline' {
        $t = Get-CkptTensor -LiteralPath $Last | Select-Object -First 1
        $t.FullName | Should -Be $Last
        $t.TensorPath | Should -Be 'state_dict.model.net.0.weight'
        ($t | Get-Item).FullName | Should -Be $Last
    }

    It 'exports the shape as text to CSV' {
        $csv = Join-Path $TestDrive 'all-columns.csv'
        Get-CkptTensor -LiteralPath $Last | Export-Csv -LiteralPath $csv -NoTypeInformation
        Get-Content -LiteralPath $csv -Raw | Should -Not -Match 'System\.Int64\[\]'
        (Import-Csv -LiteralPath $csv)[0].Shape | Should -Be '[16, 4]'
    }

    It 'converts to JSON without depth warnings or engine internals' {
        $json = Get-CkptTensor -LiteralPath $Last -All | ConvertTo-Json -WarningVariable w 3>$null
        $w | Should -BeNullOrEmpty
        $back = $json | ConvertFrom-Json
        $back[0].PSObject.Properties.Name | Should -Not -Contain 'Tensor'
        $back[0].Shape | Should -Be @(16, 4)
    }
}

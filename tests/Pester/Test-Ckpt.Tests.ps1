BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Initialize-CkptTestDrive
}

Describe 'Test-Ckpt' {
    It 'passes a good Lightning checkpoint' {
        $r = Test-Ckpt -LiteralPath (Join-Path $V0 'epoch=3-step=[1].ckpt') -VerifyCrc -CheckValues
        $r | Should -BeOfType ([LightningCkpt.CkptTestResult])
        $r.IsValid | Should -BeTrue
        $r.IsSafe | Should -BeTrue
    }

    It 'verifies CRCs of a sharded folder without failing on the folder itself' {
        $dir = Join-Path $PSScriptRoot '..' 'fixtures' 'sharded' 'dcp13_gloo2_sharded'
        $r = Test-Ckpt -LiteralPath $dir -VerifyCrc -ErrorVariable ev
        $ev | Should -BeNullOrEmpty
        $r | Should -BeOfType ([LightningCkpt.CkptTestResult])
        $r.IsValid | Should -BeTrue
    }

    It 'reads a CRC-32 of 0 from torch 2.x as not recorded, not as damage' {
        $r = Test-Ckpt -LiteralPath (Join-Path $PSScriptRoot '..' 'fixtures' 'torch2' 'files' 't2_skip_data.pt') -VerifyCrc
        $r.IsValid | Should -BeTrue
        @($r.Findings | Where-Object Kind -EQ 'CrcMismatch').Count | Should -Be 0
        @($r.Findings | Where-Object Kind -EQ 'CrcNotRecorded').Count | Should -Be 2
    }

    It 'flags a damaged file' {
        $r = Test-Ckpt -LiteralPath (Join-Path $Mixed 'truncated.ckpt')
        $r.IsValid | Should -BeFalse
        $r.Findings.Count | Should -BeGreaterThan 0
    }

    It 'returns one Boolean per file with -Quiet, like Test-Path' {
        $r = Get-ChildItem -LiteralPath $Mixed | Sort-Object Name | Test-Ckpt -Quiet
        $r | ForEach-Object { $_ | Should -BeOfType ([bool]) }
        $r.Count | Should -Be 4
        $r | Should -Be @($true, $false, $false, $false)   # good, not_a_checkpoint.pt, text, truncated
    }

    It 'returns $false for a missing file with -Quiet and writes no error' {
        Test-Ckpt -LiteralPath (Join-Path $TestDrive 'missing.ckpt') -Quiet -ErrorVariable ev | Should -BeFalse
        $ev | Should -BeNullOrEmpty
    }

    It 'takes Get-CkptInfo output' {
        (Get-CkptInfo -LiteralPath (Join-Path $V0 'last.ckpt') | Test-Ckpt).IsValid | Should -BeTrue
    }

    It 'renders the result and finding views' {
        $r = Test-Ckpt -LiteralPath (Join-Path $Mixed 'truncated.ckpt')
        $text = $r | Format-Table | Out-String
        foreach ($h in 'Name', 'IsValid', 'IsSafe', 'Summary') { $text | Should -Match $h }
        $findings = $r.Findings | Format-Table | Out-String
        foreach ($h in 'Severity', 'Kind', 'Message') { $findings | Should -Match $h }
    }

    It 'returns $false with -CheckValues -Quiet for weights that hold NaN or Inf' {
        Test-Ckpt -LiteralPath (Join-Path $FixtureFiles 'lightning_nonfinite_weights.ckpt') -CheckValues -Quiet | Should -BeFalse
        $r = Test-Ckpt -LiteralPath (Join-Path $FixtureFiles 'lightning_nonfinite_weights.ckpt') -CheckValues
        ($r.Findings | Where-Object Kind -eq 'NonFiniteValues').Location | Should -Be 'tensor state_dict.model.0.weight'
    }

    It 'checks the weights, not callback state: Lightning''s kth_value = inf sentinel is no finding' {
        $f = Join-Path $FixtureFiles 'lightning_inf_sentinel.ckpt'
        (Test-Ckpt -LiteralPath $f -CheckValues).Findings | Where-Object Kind -eq 'NonFiniteValues' | Should -BeNullOrEmpty
        Test-Ckpt -LiteralPath $f -CheckValues -Quiet | Should -BeTrue
    }

    It 'gives every finding its file' {
        $files = (Join-Path $Mixed 'good.ckpt'), (Join-Path $Mixed 'truncated.ckpt')
        $findings = Test-Ckpt -LiteralPath $files | Select-Object -ExpandProperty Findings
        ($findings | Where-Object Kind -eq 'UnknownGlobal').FullName | Sort-Object -Unique | Should -Be $files[0]
        ($findings | Where-Object Severity -eq 'Error').FullName | Sort-Object -Unique | Should -Be $files[1]
        ($findings | Where-Object Severity -eq 'Error').Name | Sort-Object -Unique | Should -Be 'truncated.ckpt'
    }

    It 'summarises the findings instead of counting them' {
        (Test-Ckpt -LiteralPath (Join-Path $Mixed 'truncated.ckpt')).Summary | Should -Match 'Truncated'
        (Test-Ckpt -LiteralPath (Join-Path $Mixed 'good.ckpt')).Summary | Should -Be 'UnknownGlobal, WeightsOnlyRefused' # the file-level finding says which torch refuses it
    }
}

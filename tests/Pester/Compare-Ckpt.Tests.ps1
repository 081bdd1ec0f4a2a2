BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Initialize-CkptTestDrive
    $script:Id = 'LightningCkpt.Commands.CompareCkptCommand'
}

Describe 'Compare-Ckpt' {
    It 'reports nothing for identical weights, and Equal rows with -IncludeEqual' {
        $same = Join-Path $V0 'epoch=3-step=[1].ckpt'
        Compare-Ckpt -ReferencePath $Last -DifferencePath ([WildcardPattern]::Escape($same)) | Where-Object Kind -eq 'Tensor' | Should -BeNullOrEmpty
        $eq = Compare-Ckpt $Last ([WildcardPattern]::Escape($same)) -IncludeEqual | Where-Object Kind -eq 'Tensor'
        $eq.Count | Should -Be 4
        $eq.Status | Sort-Object -Unique | Should -Be 'Equal'
    }

    It 'finds the changed weights of an earlier epoch' {
        $d = Compare-Ckpt -ReferencePath (Join-Path $V0 'epoch=0-step=10.ckpt') -DifferencePath $Last
        $changed = $d | Where-Object { $_.Kind -eq 'Tensor' -and $_.Status -eq 'Changed' }
        $changed.Count | Should -BeGreaterThan 0
        $changed | ForEach-Object { $_.MaxAbsDiff | Should -BeGreaterThan 0 }
        ($d | Where-Object { $_.Kind -eq 'Metadata' }).Name | Should -Contain 'epoch'
    }

    It 'compares every file piped from Get-ChildItem, names with [ ] included' {
        $d = Get-ChildItem -LiteralPath $V0 -Filter 'epoch=*.ckpt' | Compare-Ckpt -ReferencePath $Last -IncludeEqual
        ($d.DifferencePath | Sort-Object -Unique).Count | Should -Be 4
        $d.DifferencePath | Should -Contain (Join-Path $V0 'epoch=3-step=[1].ckpt')
    }

    It 'resolves -ReferencePath relative to the current location' {
        Push-Location -LiteralPath $V0
        try { { Compare-Ckpt -ReferencePath 'last.ckpt' -DifferencePath 'epoch=0-step=10.ckpt' } | Should -Not -Throw }
        finally { Pop-Location }
    }

    It 'limits the tensors with -Name and keeps the metadata rows' {
        $all = Compare-Ckpt $Last (Join-Path $V0 'epoch=0-step=10.ckpt') -Name '*.bias' -IncludeEqual
        ($all | Where-Object Kind -eq 'Tensor').Name | ForEach-Object { $_ | Should -BeLike '*.bias' }
        ($all | Where-Object Kind -eq 'Metadata').Name | Should -Contain 'epoch'
    }

    It 'compares the values across a dtype change' {
        $half = Join-Path $TestDrive 'half.ckpt'
        Select-CkptWeights -LiteralPath $Last -DType float16 -OutFile $half
        $d = Compare-Ckpt $Last $half | Where-Object Kind -eq 'Tensor'
        $d.Count | Should -Be 4
        $d | ForEach-Object {
            $_.Status | Should -Be 'DTypeChanged'
            $_.Change | Should -Be 'float32 → float16'
            $_.MaxAbsDiff | Should -BeGreaterThan 0
            $_.MaxAbsDiff | Should -BeLessThan 0.001
            $_.CosineSimilarity | Should -BeGreaterThan 0.9999
        }
    }

    It 'names the difference file on every row' {
        $d = Get-ChildItem -LiteralPath $V0 -Filter 'epoch=*-step=?0.ckpt' | Compare-Ckpt -ReferencePath $Last
        ($d.DifferenceName | Sort-Object -Unique) | Should -Be @('epoch=0-step=10.ckpt', 'epoch=1-step=20.ckpt')
    }

    It 'stops when the reference cannot be read' {
        { Compare-Ckpt -ReferencePath (Join-Path $TestDrive 'mixed/truncated.ckpt') -DifferencePath $Last -ErrorAction Stop } |
            Should -Throw -ErrorId "InvalidCheckpoint,$Id"
        { Compare-Ckpt -ReferencePath (Join-Path $TestDrive 'missing.ckpt') -DifferencePath $Last } | Should -Throw -ErrorId "FileNotFound,$Id"
    }

    It 'goes on after an unreadable difference file' {
        $d = Compare-Ckpt $Last (Join-Path $TestDrive 'mixed/text.ckpt'), (Join-Path $V0 'epoch=0-step=10.ckpt') -ErrorVariable ev -ErrorAction SilentlyContinue
        $ev[0].FullyQualifiedErrorId | Should -BeExactly "NotACheckpoint,$Id"
        $d | Should -Not -BeNullOrEmpty
    }

    It 'renders the default view' {
        $text = Compare-Ckpt (Join-Path $V0 'epoch=0-step=10.ckpt') $Last | Format-Table | Out-String
        foreach ($h in 'Name', 'Status', 'MaxAbsDiff', 'RelativeL2', 'Change') { $text | Should -Match $h }
    }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Initialize-CkptTestDrive
    $script:Id = 'LightningCkpt.Commands.MergeCkptWeightsCommand'
}

Describe 'Merge-CkptWeights' {
    It 'keeps the first input''s metadata with -KeepMetadata, hyper-parameters as plain data' {
        $out = Join-Path $TestDrive 'merged-meta.ckpt'
        Get-ChildItem -LiteralPath $V0 -Filter 'epoch=*.ckpt' | Merge-CkptWeights -OutFile $out -KeepMetadata -WarningAction SilentlyContinue
        $info = Get-CkptInfo -LiteralPath $out
        $info.HyperParameters.lr | Should -Be 0.001
        $info.Epoch | Should -Not -BeNullOrEmpty
    }

    It 'writes nothing with -WhatIf' {
        $out = Join-Path $TestDrive 'whatif.ckpt'
        Get-ChildItem -LiteralPath $V0 -Filter 'epoch=*.ckpt' | Merge-CkptWeights -OutFile $out -WhatIf
        Test-Path -LiteralPath $out | Should -BeFalse
    }

    It 'averages piped checkpoints into one file' {
        $out = Join-Path $TestDrive 'avg.ckpt'
        $f = Get-ChildItem -LiteralPath $V0 -Filter 'epoch=*.ckpt' | Merge-CkptWeights -OutFile $out -PassThru
        $f | Should -BeOfType ([System.IO.FileInfo])
        (Get-CkptTensor -LiteralPath $out).Count | Should -Be 4
    }

    It 'averaging a checkpoint with itself gives the same weights' {
        $out = Join-Path $TestDrive 'self-avg.ckpt'
        $last = Join-Path $V0 'last.ckpt'
        Merge-CkptWeights -LiteralPath $last, (Join-Path $V0 'epoch=3-step=[1].ckpt') -OutFile $out
        Compare-Ckpt -ReferencePath $last -DifferencePath ([WildcardPattern]::Escape($out)) | Where-Object Kind -eq 'Tensor' | Should -BeNullOrEmpty
    }

    It 'checks the number of weights' {
        { Merge-CkptWeights -LiteralPath (Join-Path $V0 'last.ckpt'), (Join-Path $V0 'epoch=0-step=10.ckpt') -Weight 1 -OutFile (Join-Path $TestDrive 'w.ckpt') } |
            Should -Throw -ErrorId "WeightCountMismatch,$Id"
    }

    It 'refuses to overwrite without -Force' {
        $out = Join-Path $TestDrive 'exists-merge.ckpt'
        Set-Content -LiteralPath $out -Value 'old'
        { Merge-CkptWeights -LiteralPath (Join-Path $V0 'last.ckpt') -OutFile $out } | Should -Throw -ErrorId "OutFileExists,$Id"
        Get-Content -LiteralPath $out | Should -Be 'old'
    }

    It 'writes nothing when an input is broken' {
        $out = Join-Path $TestDrive 'broken-merge.ckpt'
        { Merge-CkptWeights -LiteralPath (Join-Path $V0 'last.ckpt'), (Join-Path $TestDrive 'mixed/truncated.ckpt') -OutFile $out -ErrorAction SilentlyContinue } |
            Should -Throw -ErrorId "MergeInputUnreadable,$Id"
        Test-Path -LiteralPath $out | Should -BeFalse
    }

    It 'reports checkpoints that do not fit together as a non-terminating MergeInputMismatch' {
        $out = Join-Path $TestDrive 'mismatch.ckpt'
        $plain = Join-Path $TestDrive 'plain/plain_state_dict.pt'
        { Merge-CkptWeights -LiteralPath (Join-Path $V0 'last.ckpt'), $plain -OutFile $out -ErrorAction SilentlyContinue } | Should -Not -Throw
        Merge-CkptWeights -LiteralPath (Join-Path $V0 'last.ckpt'), $plain -OutFile $out -ErrorVariable ev -ErrorAction SilentlyContinue
        $ev[0].FullyQualifiedErrorId | Should -BeExactly "MergeInputMismatch,$Id"
        Test-Path -LiteralPath $out | Should -BeFalse
    }
}

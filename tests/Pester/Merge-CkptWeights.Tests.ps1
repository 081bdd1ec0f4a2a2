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

    Context 'a missing input or none at all (issue 19 item 3)' {
        It 'writes nothing and gives an error when one input is missing' {
            $out = Join-Path $TestDrive 'missing-merge.ckpt'
            { Merge-CkptWeights -LiteralPath (Join-Path $V0 'last.ckpt'), (Join-Path $V0 'epoch=0-step=10.ckpt'), (Join-Path $TestDrive 'gone.ckpt') -OutFile $out -ErrorAction SilentlyContinue } |
                Should -Throw -ErrorId "MergeInputUnreadable,$Id"
            Test-Path -LiteralPath $out | Should -BeFalse
        }

        It 'writes nothing when a -Path names a file that is not there' {
            $out = Join-Path $TestDrive 'missing-path-merge.ckpt'
            { Merge-CkptWeights -Path (Join-Path $V0 'last.ckpt'), (Join-Path $TestDrive 'gone.ckpt') -OutFile $out -ErrorAction SilentlyContinue } |
                Should -Throw -ErrorId "MergeInputUnreadable,$Id"
            Test-Path -LiteralPath $out | Should -BeFalse
        }

        It 'gives an error when no input is given at all' {
            $out = Join-Path $TestDrive 'none-merge.ckpt'
            { Merge-CkptWeights -Path (Join-Path $TestDrive 'nothing-here-*.ckpt') -OutFile $out } | Should -Throw -ErrorId "NoMergeInput,$Id"
            { @() | Merge-CkptWeights -OutFile $out } | Should -Throw -ErrorId "NoMergeInput,$Id"
            Test-Path -LiteralPath $out | Should -BeFalse
        }
    }

    Context 'methods' {
        BeforeAll {
            $script:Base = Join-Path $V0 'epoch=0-step=10.ckpt'
            $script:Models = @((Join-Path $V0 'epoch=1-step=20.ckpt'), (Join-Path $V0 'epoch=2-step=30.ckpt'))
        }

        It 'merges the top files of a Get-CkptInfo pipeline, each by its own path' {
            $out = Join-Path $TestDrive 'top.ckpt'
            $picked = Get-ChildItem -LiteralPath $V0 -Filter '*.ckpt' | Get-CkptInfo | Sort-Object GlobalStep | Select-Object -First 3
            $picked | Merge-CkptWeights -OutFile $out
            $expected = Join-Path $TestDrive 'top-expected.ckpt'
            Merge-CkptWeights -LiteralPath $picked.FullName -OutFile $expected
            Compare-Ckpt -ReferencePath ([WildcardPattern]::Escape($expected)) -DifferencePath ([WildcardPattern]::Escape($out)) | Where-Object Kind -eq 'Tensor' | Should -BeNullOrEmpty
        }

        It 'a CkptInfo whose file name holds brackets merges that file' {
            $out = Join-Path $TestDrive 'brackets.ckpt'
            $pair = (Join-Path $V0 'epoch=3-step=[1].ckpt'), (Join-Path $V0 'epoch=0-step=10.ckpt')
            Get-CkptInfo -LiteralPath $pair | Merge-CkptWeights -OutFile $out
            $expected = Join-Path $TestDrive 'brackets-expected.ckpt'
            Merge-CkptWeights -LiteralPath $pair -OutFile $expected
            Compare-Ckpt -ReferencePath ([WildcardPattern]::Escape($expected)) -DifferencePath ([WildcardPattern]::Escape($out)) | Where-Object Kind -eq 'Tensor' | Should -BeNullOrEmpty
        }

        It 'writes <Method>' -ForEach @(
            @{ Method = 'Slerp'; Extra = @{ Weight = 0.3 } }
            @{ Method = 'TaskArithmetic'; Extra = @{ Weight = 0.5, 0.5; Scale = 0.8 } }
            @{ Method = 'Ties'; Extra = @{ Density = 0.3 } }
            @{ Method = 'Dare'; Extra = @{ Density = 0.5; Seed = 7 } }
            @{ Method = 'DareTies'; Extra = @{ Density = 0.5; Seed = 7 } }
        ) {
            $out = Join-Path $TestDrive "method-$Method.ckpt"
            $extra = $Extra
            if ($Method -ne 'Slerp') { $extra = $Extra + @{ BasePath = $Base } }
            Merge-CkptWeights -LiteralPath $Models -Method $Method -OutFile $out @extra
            (Get-CkptTensor -LiteralPath $out).Name | Should -Be (Get-CkptTensor -LiteralPath $Base).Name
        }

        It 'refuses a base method without -BasePath, and writes nothing' {
            $out = Join-Path $TestDrive 'nobase.ckpt'
            Merge-CkptWeights -LiteralPath $Models -Method Ties -Density 0.5 -OutFile $out -ErrorVariable ev -ErrorAction SilentlyContinue
            $ev[0].FullyQualifiedErrorId | Should -BeExactly "InvalidMergeRequest,$Id"
            $ev[0].Exception.Message | Should -Match 'BasePath'
            Test-Path -LiteralPath $out | Should -BeFalse
        }

        It 'an unreadable base writes nothing' {
            $out = Join-Path $TestDrive 'badbase.ckpt'
            { Merge-CkptWeights -LiteralPath $Models -Method TaskArithmetic -BasePath (Join-Path $Mixed 'truncated.ckpt') -OutFile $out -ErrorAction SilentlyContinue } |
                Should -Throw -ErrorId "MergeInputUnreadable,$Id"
            Test-Path -LiteralPath $out | Should -BeFalse
        }

        It '-WeightMap weights names apart and -Exclude keeps the first input''s tensors' {
            $out = Join-Path $TestDrive 'map.ckpt'
            $names = (Get-CkptTensor -LiteralPath $Models[0]).Name
            Merge-CkptWeights -LiteralPath $Models -OutFile $out -WeightMap @{ "$($names[0])" = 1, 0; '*' = 0, 1 } -Exclude $names[1]
            $diff = Compare-Ckpt -ReferencePath ([WildcardPattern]::Escape($Models[0])) -DifferencePath ([WildcardPattern]::Escape($out)) | Where-Object Kind -eq 'Tensor'
            $diff.Name | Should -Not -Contain $names[0]   # weight 1 on the first input
            $diff.Name | Should -Not -Contain $names[1]   # excluded: copied from the first input
            $diff.Name | Should -Contain $names[2]        # weight 1 on the second input
        }

        It '-KeepMetadata writes a Lightning checkpoint with the first input''s epoch' {
            $out = Join-Path $TestDrive 'meta.ckpt'
            Merge-CkptWeights -LiteralPath $Models -OutFile $out -KeepMetadata
            $info = Get-CkptInfo -LiteralPath $out
            $info.Kind | Should -Be 'lightning'
            $info.Epoch | Should -Be (Get-CkptInfo -LiteralPath $Models[0]).Epoch
        }

        It '-Source Ema merges the EMA copies and Get-CkptInfo lists them' {
            $fixtures = Join-Path $RepoRoot 'tests/fixtures/files'
            $inputs = (Join-Path $fixtures 'ema_callback.ckpt'), (Join-Path $fixtures 'ema_timm.pth.tar')
            (Get-CkptInfo -LiteralPath $inputs[0]).AveragedWeights | Should -Be 'callbacks/EMA/ema_state_dict (3 tensors)'
            $out = Join-Path $TestDrive 'ema.ckpt'
            Merge-CkptWeights -LiteralPath $inputs -Source Ema -OutFile $out
            $ema = Join-Path $TestDrive 'ema-extracted.ckpt'
            Select-CkptWeights -LiteralPath $inputs[0] -Source Ema -OutFile $ema
            Compare-Ckpt -ReferencePath ([WildcardPattern]::Escape($ema)) -DifferencePath ([WildcardPattern]::Escape($out)) | Where-Object Kind -eq 'Tensor' | Should -BeNullOrEmpty
            { Merge-CkptWeights -LiteralPath $Models -Source Ema -OutFile (Join-Path $TestDrive 'noema.ckpt') -ErrorAction Stop } | Should -Throw -ErrorId "NoWeightsSelected,$Id"
        }
    }
}

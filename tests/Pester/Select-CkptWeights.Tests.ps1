BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Initialize-CkptTestDrive
    $script:Id = 'LightningCkpt.Commands.SelectCkptWeightsCommand'
}

Describe 'Select-CkptWeights without -OutFile' {
    It 'emits the selected tensors under their new names' {
        $t = Select-CkptWeights -LiteralPath $Last -Include 'model.net.0.*' -StripPrefix 'model.' -AddPrefix 'backbone.'
        $t.Name | Should -Be @('backbone.net.0.weight', 'backbone.net.0.bias')
        $t | ForEach-Object { $_ | Should -BeOfType ([LightningCkpt.CkptTensor]) }
    }

    It 'drops what -Exclude matches' {
        (Select-CkptWeights -LiteralPath $Last -Exclude '*.bias').Name | Should -Not -Contain 'model.net.0.bias'
    }

    It 'casts with -DType, and reports the cast dtype and sizes' {
        $t = Select-CkptWeights -LiteralPath $Last -DType float16
        $t.DType | Sort-Object -Unique | Should -Be 'float16'
        $t | ForEach-Object { $_.Bytes | Should -Be ($_.Numel * 2) }
    }

    It 'rejects a dtype outside the set' {
        { Select-CkptWeights -LiteralPath $Last -DType int8 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,*'
    }
}

Describe 'Select-CkptWeights -OutFile' {
    It 'writes nothing with -WhatIf' {
        $out = Join-Path $TestDrive 'whatif.safetensors'
        Select-CkptWeights -LiteralPath $Last -OutFile $out -WhatIf
        Test-Path -LiteralPath $out | Should -BeFalse
    }

    It 'writes a checkpoint that reads back, and returns it with -PassThru' {
        $out = Join-Path $TestDrive 'out/weights.ckpt'
        $null = New-Item -ItemType Directory -Path (Split-Path $out) -Force
        $f = Select-CkptWeights -LiteralPath (Join-Path $V0 'epoch=3-step=[1].ckpt') -StripPrefix 'model.' -OutFile $out -PassThru
        $f | Should -BeOfType ([System.IO.FileInfo])
        $f.FullName | Should -Be $out
        (Get-CkptTensor -LiteralPath $out).Name | Should -Be @('net.0.weight', 'net.0.bias', 'net.2.weight', 'net.2.bias')
    }

    It 'writes safetensors for a .safetensors name' {
        $out = Join-Path $TestDrive 'weights.safetensors'
        Select-CkptWeights -LiteralPath $Last -OutFile $out
        $bytes = [System.IO.File]::ReadAllBytes($out)
        $headerLength = [System.BitConverter]::ToInt64($bytes, 0)
        [System.Text.Encoding]::UTF8.GetString($bytes, 8, $headerLength) | Should -Match 'model.net.0.weight'
    }

    It 'refuses to overwrite without -Force, and overwrites with it' {
        $out = Join-Path $TestDrive 'exists.ckpt'
        Set-Content -LiteralPath $out -Value 'old'
        Select-CkptWeights -LiteralPath $Last -OutFile $out -ErrorVariable ev -ErrorAction SilentlyContinue
        $ev[0].FullyQualifiedErrorId | Should -BeExactly "OutFileExists,$Id"
        $ev[0].CategoryInfo.Category | Should -Be 'ResourceExists'
        Get-Content -LiteralPath $out | Should -Be 'old'

        Select-CkptWeights -LiteralPath $Last -OutFile $out -Force
        (Get-CkptInfo -LiteralPath $out).TensorCount | Should -Be 4
    }

    It 'never overwrites its input, even with -Force' {
        $copy = Join-Path $TestDrive 'self.ckpt'
        Copy-TestFile $Last $copy
        $before = (Get-FileHash -LiteralPath $copy).Hash
        Select-CkptWeights -LiteralPath $copy -OutFile $copy -Force -ErrorVariable ev -ErrorAction SilentlyContinue
        $ev[0].FullyQualifiedErrorId | Should -BeExactly "OutFileIsInput,$Id"
        (Get-FileHash -LiteralPath $copy).Hash | Should -Be $before
    }

    It 'refuses several inputs for one -OutFile' {
        $out = Join-Path $TestDrive 'many.ckpt'
        { Get-ChildItem -LiteralPath $V0 -Filter *.ckpt | Select-CkptWeights -OutFile $out } | Should -Throw -ErrorId "OutFileNeedsOneInput,$Id"
        Test-Path -LiteralPath $out | Should -BeFalse
    }

    It 'rejects an -OutFile on another provider' {
        { Select-CkptWeights -LiteralPath $Last -OutFile 'env:nope' } | Should -Throw -ErrorId "PathNotFileSystem,$Id"
    }

    It 'writes no file and reports NoWeightsSelected when nothing matches' {
        $out = Join-Path $TestDrive 'nothing.ckpt'
        Select-CkptWeights -LiteralPath $Last -Include 'nope.*' -OutFile $out -ErrorVariable ev -ErrorAction SilentlyContinue
        $ev[0].FullyQualifiedErrorId | Should -BeExactly "NoWeightsSelected,$Id"
        Test-Path -LiteralPath $out | Should -BeFalse
    }

    It 'reports a name collision as a non-terminating WeightNameCollision' {
        $out = Join-Path $TestDrive 'collide.ckpt'
        { Select-CkptWeights -LiteralPath $Last -StripPrefix 'model.net.0.', 'model.net.2.' -OutFile $out -ErrorVariable ev -ErrorAction SilentlyContinue } | Should -Not -Throw
        Select-CkptWeights -LiteralPath $Last -StripPrefix 'model.net.0.', 'model.net.2.' -OutFile $out -ErrorVariable ev -ErrorAction SilentlyContinue
        $ev[0].FullyQualifiedErrorId | Should -BeExactly "WeightNameCollision,$Id"
        Test-Path -LiteralPath $out | Should -BeFalse
    }

    It 'reports a dtype safetensors cannot hold as a non-terminating DTypeNotWritable' {
        $out = Join-Path $TestDrive 'complex.safetensors'
        $src = Join-Path $FixtureFiles 'dtypes_zip.pt'
        { Select-CkptWeights -LiteralPath $src -OutFile $out -ErrorAction SilentlyContinue } | Should -Not -Throw
        Select-CkptWeights -LiteralPath $src -OutFile $out -ErrorVariable ev -ErrorAction SilentlyContinue
        $ev[0].FullyQualifiedErrorId | Should -BeExactly "DTypeNotWritable,$Id"
        Test-Path -LiteralPath $out | Should -BeFalse
    }

    It 'extracts an EMA copy with -Source Ema and slims it out with -ExcludeAveraged' {
        $prefixed = Join-Path $RepoRoot 'tests/fixtures/files/ema_prefix.ckpt'
        (Select-CkptWeights -LiteralPath $prefixed -Source Ema).Name | Should -Be 'layer.weight', 'layer.bias', 'norm.num_batches_tracked'
        $slim = Join-Path $TestDrive 'slim.ckpt'
        Select-CkptWeights -LiteralPath $prefixed -ExcludeAveraged -OutFile $slim -KeepMetadata
        (Get-CkptInfo -LiteralPath $slim).AveragedWeights | Should -BeNullOrEmpty
        (Get-CkptTensor -LiteralPath $slim).Name | Should -Be 'model.layer.weight', 'model.layer.bias', 'model.norm.num_batches_tracked'
    }
}


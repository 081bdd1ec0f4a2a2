BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-LightningCkptModule
    New-CkptTestData -Root $TestDrive
    $script:V0 = Join-Path $TestDrive 'lightning_logs/version_0/checkpoints'
    $script:Last = Join-Path $V0 'last.ckpt'
    $script:Id = 'LightningCkpt.Commands.ExportCkptCommand'
    $script:Python = '/usr/bin/python3'
    $script:HasTorch = $false
    if (Test-Path -LiteralPath $Python) {
        & $Python -c 'import torch' 2>$null
        $script:HasTorch = $LASTEXITCODE -eq 0
    }
    $script:Judge = Join-Path $RepoRoot 'tests/fixtures/graph_equal.py'
    function Invoke-Judge([string] $Source, [string] $Written, [string] $Edit) {
        $line = if ($Edit) { "$Source`t$Written`t$Edit" } else { "$Source`t$Written" }
        $line | & $Python $Judge
    }
}

Describe 'Export-Ckpt' {
    It 'writes with -SafeTypes a copy torch 2.x''s default torch.load accepts, warning once per kind of conversion' {
        $out = Join-Path $TestDrive 'safe.ckpt'
        $f = Import-Ckpt -LiteralPath $Last | Export-Ckpt -OutFile $out -SafeTypes -PassThru -WarningVariable warned -WarningAction SilentlyContinue
        $f.SafeTypeConversions | Should -Be @('lightning_fabric.utilities.data.AttributeDict → dict: hyper_parameters')
        @($warned).Count | Should -Be 1
        "$($warned[0])" | Should -BeLike "*weights_only*AttributeDict → dict*"
        (Get-CkptTensor -LiteralPath $out -All -Hash).Sha256 | Should -Be (Get-CkptTensor -LiteralPath $Last -All -Hash).Sha256
        (Get-CkptInfo -LiteralPath $out).HyperParameters.lr | Should -Be 0.001
        $torch2 = Join-Path $RepoRoot 'tools/torch2/python.sh'
        & bash $torch2 -c 'import torch' 2>$null
        if ($LASTEXITCODE -eq 0) {
            & bash $torch2 -W ignore -c 'import sys, torch; torch.load(sys.argv[1], weights_only=True)' $out
            $LASTEXITCODE | Should -Be 0
        }
    }

    It 'round-trips a checkpoint unchanged, sharing and all' {
        $out = Join-Path $TestDrive 'same.ckpt'
        $f = Import-Ckpt -LiteralPath $Last | Export-Ckpt -OutFile $out -PassThru
        $f | Should -BeOfType ([System.IO.FileInfo])
        Compare-Ckpt -ReferencePath $Last -DifferencePath $out | Should -BeNullOrEmpty
        (Get-CkptTensor -LiteralPath $out -All -Hash).Sha256 | Should -Be (Get-CkptTensor -LiteralPath $Last -All -Hash).Sha256
        if ($HasTorch) { Invoke-Judge $Last $out | Should -Be 'ok' }
    }

    It 'drops the training state in one line and still has what load_from_checkpoint reads' {
        $out = Join-Path $TestDrive 'slim.ckpt'
        $c = Import-Ckpt -LiteralPath $Last
        'optimizer_states', 'lr_schedulers', 'loops', 'callbacks' | ForEach-Object { $c.Remove($_) }
        $c | Export-Ckpt -OutFile $out
        $back = Import-Ckpt -LiteralPath $out
        @($back.Keys) | Should -Be @('epoch', 'global_step', 'pytorch-lightning_version', 'state_dict', 'hparams_name', 'hyper_parameters')
        (Get-Item -LiteralPath $out).Length | Should -BeLessThan (Get-Item -LiteralPath $Last).Length
        if ($HasTorch) { Invoke-Judge $Last $out 'slim' | Should -Be 'ok' }
    }

    It 'sets epoch, step and the learning rate' {
        $out = Join-Path $TestDrive 'reset.ckpt'
        $c = Import-Ckpt -LiteralPath $Last
        $c.epoch = 0; $c.global_step = 0
        $c | Export-Ckpt -OutFile $out
        $i = Get-CkptInfo -LiteralPath $out
        $i.Epoch | Should -Be 0
        $i.GlobalStep | Should -Be 0
        if ($HasTorch) { Invoke-Judge $Last $out 'reset-step' | Should -Be 'ok' }

        $lr = Join-Path $TestDrive 'lr.ckpt'
        $c = Import-Ckpt -LiteralPath $Last
        $c.optimizer_states.param_groups | ForEach-Object { $_.lr = 0.0005 }
        $c | Export-Ckpt -OutFile $lr
        (Import-Ckpt -LiteralPath $lr -Key 'optimizer_states/0/param_groups/0/lr') | Should -Be 0.0005
        if ($HasTorch) { Invoke-Judge $Last $lr 'set-lr' | Should -Be 'ok' }
    }

    It 'renames state_dict keys by pattern in place' {
        $out = Join-Path $TestDrive 'renamed.ckpt'
        $c = Import-Ckpt -LiteralPath $Last
        $c.state_dict.RenameKeys('^model\.', 'net.') | Should -Be 4
        $c | Export-Ckpt -OutFile $out
        (Get-CkptTensor -LiteralPath $out -All).TensorPath | Where-Object { $_ -like 'state_dict.*' } |
            Should -Be @('state_dict.net.net.0.weight', 'state_dict.net.net.0.bias', 'state_dict.net.net.2.weight', 'state_dict.net.net.2.bias')
        if ($HasTorch) { Invoke-Judge $Last $out 'rename' | Should -Be 'ok' }
    }

    It 'keeps only weights and metadata' {
        $out = Join-Path $TestDrive 'weights-meta.ckpt'
        $c = Import-Ckpt -LiteralPath $Last
        $keep = 'state_dict', 'hyper_parameters', 'epoch', 'global_step', 'pytorch-lightning_version'
        @($c.Keys) | Where-Object { $_ -notin $keep } | ForEach-Object { $c.Remove($_) }
        $c | Export-Ckpt -OutFile $out
        @((Import-Ckpt -LiteralPath $out).Keys) | Should -Be @('epoch', 'global_step', 'pytorch-lightning_version', 'state_dict', 'hyper_parameters')
        if ($HasTorch) { Invoke-Judge $Last $out 'weights-meta' | Should -Be 'ok' }
    }

    It 'writes added PowerShell values as their Python types' {
        $out = Join-Path $TestDrive 'added.ckpt'
        $c = Import-Ckpt -LiteralPath $Last
        $c.note = [pscustomobject]@{ text = 'hi'; n = 3; items = @(1, 2.5, 'x', $null, $true) }
        $c.raw = [byte[]](1, 2, 3)
        $c.big = [bigint]::Pow(2, 80)
        $c.pair = [LightningCkpt.Pickle.PyTuple]::new([object[]](1, 'a'))
        $c | Export-Ckpt -OutFile $out
        $back = Import-Ckpt -LiteralPath $out
        $back.note.text | Should -Be 'hi'
        $back.note.n | Should -BeOfType ([long])
        $back.note.items[1] | Should -Be 2.5
        $back.note.items[3] | Should -BeNullOrEmpty
        $back.note.items[4] | Should -BeTrue
        $back.raw | Should -Be @(1, 2, 3)
        $back.big | Should -Be ([bigint]::Pow(2, 80))
        $back.pair.GetType().FullName | Should -Be 'LightningCkpt.Pickle.PyTuple'
    }

    It 'refuses a value with no Python type before touching the disk' {
        $out = Join-Path $TestDrive 'bad.ckpt'
        $c = Import-Ckpt -LiteralPath $Last
        $c.when = Get-Date
        { $c | Export-Ckpt -OutFile $out -ErrorAction Stop } | Should -Throw -ErrorId "NotExportable,$Id"
        Test-Path -LiteralPath $out | Should -BeFalse
    }

    It 'writes nothing with -WhatIf, and refuses to overwrite without -Force' {
        $out = Join-Path $TestDrive 'exists.ckpt'
        Import-Ckpt -LiteralPath $Last | Export-Ckpt -OutFile $out -WhatIf
        Test-Path -LiteralPath $out | Should -BeFalse
        Set-Content -LiteralPath $out -Value 'old'
        { Import-Ckpt -LiteralPath $Last | Export-Ckpt -OutFile $out -ErrorAction Stop } | Should -Throw -ErrorId "OutFileExists,$Id"
        Get-Content -LiteralPath $out | Should -Be 'old'
        Import-Ckpt -LiteralPath $Last | Export-Ckpt -OutFile $out -Force
        (Get-CkptInfo -LiteralPath $out).Epoch | Should -Be 2
    }

    It 'never overwrites the file its tensors come from, even with -Force' {
        $copy = Join-Path $TestDrive 'own.ckpt'
        Copy-TestFile $Last $copy
        $before = (Get-FileHash -LiteralPath $copy).Hash
        { Import-Ckpt -LiteralPath $copy | Export-Ckpt -OutFile $copy -Force -ErrorAction Stop } | Should -Throw -ErrorId "OutFileIsInput,$Id"
        (Get-FileHash -LiteralPath $copy).Hash | Should -Be $before
    }

    It 'refuses to copy tensors from a file that changed after the import' {
        $copy = Join-Path $TestDrive 'changing.ckpt'
        Copy-TestFile $Last $copy
        $c = Import-Ckpt -LiteralPath $copy
        (Get-Item -LiteralPath $copy).LastWriteTimeUtc = [datetime]::UtcNow.AddMinutes(-5)
        $out = Join-Path $TestDrive 'from-changed.ckpt'
        { $c | Export-Ckpt -OutFile $out -ErrorAction Stop } | Should -Throw -ErrorId "SourceChanged,$Id"
        Test-Path -LiteralPath $out | Should -BeFalse
    }

    It 'takes one graph per file' {
        { Get-ChildItem -LiteralPath $V0 -Filter 'epoch=*.ckpt' | Import-Ckpt | Export-Ckpt -OutFile (Join-Path $TestDrive 'many.ckpt') } |
            Should -Throw -ErrorId "OutFileNeedsOneInput,$Id"
    }

    It 'writes a subtree or plain PowerShell values as a checkpoint of their own' {
        $out = Join-Path $TestDrive 'weights.pt'
        Import-Ckpt -LiteralPath $Last -Key 'state_dict' | Export-Ckpt -OutFile $out
        (Get-CkptTensor -LiteralPath $out).Name | Should -Be @('model.net.0.weight', 'model.net.0.bias', 'model.net.2.weight', 'model.net.2.bias')
        $plain = Join-Path $TestDrive 'plain.pt'
        [ordered]@{ epoch = 7; tags = @('a', 'b') } | Export-Ckpt -OutFile $plain
        (Import-Ckpt -LiteralPath $plain).tags | Should -Be @('a', 'b')
    }
}

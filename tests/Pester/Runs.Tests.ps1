# Issue 19: the everyday jobs on a realistic lightning_logs tree (tests/fixtures/make_runs.py: 12 epochs with AdamW +
# cosine schedule, two ModelCheckpoint callbacks and EarlyStopping, a run folder named 'my run [v2]' beside a decoy
# 'my run v' that '[v2]' matches as a wildcard, a Lightning 1.1 run, a truncated file) act on the right file and give
# the right answer.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-LightningCkptModule
    $script:Python = '/usr/bin/python3'
    $script:NoTorch = -not (Test-Path -LiteralPath $Python) -or $null -ne (& $Python -c 'import torch' 2>&1)
    if (-not $NoTorch) {
        $script:Tree = Join-Path $TestDrive 'tree'
        & $Python (Join-Path $RepoRoot 'tests/fixtures/make_runs.py') $Tree
        if ($LASTEXITCODE) { throw "make_runs.py failed with exit code $LASTEXITCODE" }
        $script:V0 = Join-Path $Tree 'lightning_logs/version_0/checkpoints'
        $script:Bracket = Join-Path $Tree 'lightning_logs/my run [v2]/checkpoints'
        $script:Decoy = Join-Path $Tree 'lightning_logs/my run v/checkpoints'
        $script:Legacy = Join-Path $Tree 'lightning_logs/version_legacy/checkpoints'
    }

    function Get-Hash([string] $File) { (Get-FileHash -LiteralPath $File).Hash }
}

Describe 'Objects piped on name exactly their file, [ ] included (item 1)' {
    BeforeEach {
        if ($NoTorch) { Set-ItResult -Skipped -Because "$Python with torch makes the lightning_logs tree" }
        # a fresh copy of the two folders per test: some tests remove files
        $script:Work = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        $script:B = Join-Path $Work 'lightning_logs/my run [v2]/checkpoints'
        $script:D = Join-Path $Work 'lightning_logs/my run v/checkpoints'
        foreach ($pair in @(@($Bracket, $B), @($Decoy, $D))) {
            foreach ($f in Get-ChildItem -LiteralPath $pair[0]) { Copy-TestFile $f.FullName (Join-Path $pair[1] $f.Name) }
        }
        $script:DecoyHashes = Get-ChildItem -LiteralPath $D | ForEach-Object { Get-Hash $_.FullName }
    }

    It 'Get-CkptInfo | Remove-Item removes that file, not the decoy' {
        Get-CkptInfo -LiteralPath (Join-Path $B 'last.ckpt') | Remove-Item
        Test-Path -LiteralPath (Join-Path $B 'last.ckpt') | Should -BeFalse
        Test-Path -LiteralPath (Join-Path $D 'last.ckpt') | Should -BeTrue -Because 'the decoy that [v2] matches as a wildcard must stay'
    }

    It 'Get-CkptTensor and Test-Ckpt results pipe into Copy-Item as their own file' {
        $dest = Join-Path $Work 'copied'
        $null = New-Item -ItemType Directory -Path $dest
        Get-CkptTensor -LiteralPath (Join-Path $B 'epoch=1-step=26.ckpt') | Select-Object -First 1 | Copy-Item -Destination $dest
        Test-Ckpt -LiteralPath (Join-Path $B 'epoch=2-step=39.ckpt') | Copy-Item -Destination $dest
        Get-Hash (Join-Path $dest 'epoch=1-step=26.ckpt') | Should -Be (Get-Hash (Join-Path $B 'epoch=1-step=26.ckpt'))
        Get-Hash (Join-Path $dest 'epoch=2-step=39.ckpt') | Should -Be (Get-Hash (Join-Path $B 'epoch=2-step=39.ckpt'))
    }

    It 'pipes into the module''s own cmdlets as the same file' {
        $infos = Get-CkptInfo -Path (Join-Path ([WildcardPattern]::Escape($B)) '*.ckpt')
        @($infos).Count | Should -Be 4
        $again = $infos | Get-CkptInfo
        $again.FullName | Should -Be $infos.FullName
        ($infos | Get-CkptTensor | Get-CkptInfo | Select-Object -ExpandProperty FullName -Unique) | Should -Be $infos.FullName
        (Get-CkptInfo -LiteralPath (Join-Path $B 'last.ckpt') | Import-Ckpt).epoch | Should -Be 2
        (Test-Ckpt -LiteralPath (Join-Path $B 'last.ckpt') | Get-CkptInfo).FullName | Should -Be (Join-Path $B 'last.ckpt')
        $out = Join-Path $Work 'avg.ckpt'
        Get-CkptInfo -LiteralPath (Join-Path $B 'epoch=1-step=26.ckpt'), (Join-Path $B 'epoch=2-step=39.ckpt') | Merge-CkptWeights -OutFile $out
        Test-Path -LiteralPath $out | Should -BeTrue
    }

    It 'exposes FullName and a provider-qualified PSPath, as Get-ChildItem output does' {
        $file = Join-Path $B 'last.ckpt'
        $i = Get-CkptInfo -LiteralPath $file
        $i.FullName | Should -Be $file
        $i.PSPath | Should -Be (Get-Item -LiteralPath $file).PSPath
        (Get-CkptTensor -LiteralPath $file)[0].PSPath | Should -Be $i.PSPath
        (Test-Ckpt -LiteralPath $file).PSPath | Should -Be $i.PSPath
        $i.PSObject.Properties['Path'] | Should -BeNullOrEmpty -Because 'a Path property binds to -Path (wildcards) of the next command'
    }

    AfterEach {
        if (-not $NoTorch) {
            Get-ChildItem -LiteralPath $D | ForEach-Object { Get-Hash $_.FullName } | Should -Be $DecoyHashes -Because 'no decoy file may change'
        }
    }
}

Describe 'The best checkpoint of a run by its own score (item 2)' {
    BeforeAll {
        if (-not $NoTorch) {
            $script:Infos = Get-CkptInfo -Path (Join-Path $V0 'epoch=*.ckpt') -ErrorAction SilentlyContinue -ErrorVariable script:ReadErrors
        }
    }
    BeforeEach { if ($NoTorch) { Set-ItResult -Skipped -Because "$Python with torch makes the lightning_logs tree" } }

    It 'reads every file but the truncated one, and names that one' {
        @($Infos).Count | Should -Be 12
        $ReadErrors.Count | Should -Be 1
        $ReadErrors[0].TargetObject | Should -Match 'epoch=12-step=169\.ckpt$'
    }

    It 'gives each file its own monitored value as CurrentScore' {
        $byEpoch = $Infos | Sort-Object Epoch
        $byEpoch.CurrentScore | Should -Be @(0.9, 0.7, 0.55, 0.41, 0.45, 0.5, 0.48, 0.52, 0.6, 0.58, 0.62, 0.66)
        ($byEpoch | Where-Object Epoch -ge 3).BestModelScore | Sort-Object -Unique | Should -Be 0.41 -Because 'the best so far, the same in every later file'
        $byEpoch[5].BestKModels.Count | Should -Be 6
        $byEpoch[5].KthValue | Should -Be 0.9
    }

    It 'the recipe picks epoch 3, keeps the top 3 and deletes the rest (-WhatIf first)' {
        $work = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        foreach ($f in Get-ChildItem -LiteralPath $V0 -Filter 'epoch=*.ckpt') { Copy-TestFile $f.FullName (Join-Path $work $f.Name) }
        # the recipe of about_LightningCkpt and Get-CkptInfo's help, as printed there
        $ckpts = Get-CkptInfo -Path (Join-Path $work '*.ckpt') -ErrorAction SilentlyContinue | Where-Object CurrentScore -ne $null
        $ranked = $ckpts | Sort-Object CurrentScore -Descending:($ckpts[0].Mode -eq 'max')
        $ranked | Select-Object -First 1 -ExpandProperty Epoch | Should -Be 3
        ($ranked | Select-Object -First 3).Epoch | Should -Be @(3, 4, 6)
        $ranked | Select-Object -Skip 3 | Remove-Item -WhatIf 6>$null
        @(Get-ChildItem -LiteralPath $work).Count | Should -Be 13 -Because '-WhatIf removes nothing'
        $ranked | Select-Object -Skip 3 | Remove-Item
        (Get-ChildItem -LiteralPath $work).Name | Sort-Object | Should -Be @('epoch=12-step=169.ckpt', 'epoch=3-step=52.ckpt', 'epoch=4-step=65.ckpt', 'epoch=6-step=91.ckpt')
    }

    It 'reaches every ModelCheckpoint callback, and respects a max mode' {
        $i = $Infos | Where-Object Epoch -eq 5
        $i.ModelCheckpoints.Monitor | Should -Be @('val_loss', 'val_acc')
        $acc = $i.ModelCheckpoints[1]
        $acc.Mode | Should -Be 'max'
        $acc.CurrentScore | Should -Be 0.75
        $acc.BestModelScore | Should -Be 0.795
        $best = $Infos | Sort-Object { $_.ModelCheckpoints[1].CurrentScore } -Descending | Select-Object -First 1
        $best.Epoch | Should -Be 3
    }

    It 'finds the file''s own score in best_k_models when Lightning 1.1 saved no current_score' {
        $old = Get-CkptInfo -LiteralPath (Join-Path $Legacy 'epoch=1-step=26.ckpt'), (Join-Path $Legacy 'epoch=2-step=39.ckpt')
        $old.CurrentScore | Should -Be @(0.5, 0.6)
        $old.BestModelScore | Should -Be @(0.5, 0.5)
    }

    It 'shows the current learning rate and the run''s folder name' {
        $i = Get-CkptInfo -LiteralPath (Join-Path $Bracket 'epoch=0-step=13.ckpt')
        $i.RunName | Should -BeExactly 'my run [v2]'
        $i.LearningRates | Should -HaveCount 1
        $i.LearningRates[0] | Should -BeGreaterThan 2.24e-3 -Because 'one step of a 3-epoch cosine from 3e-3 gives 2.25e-3'
        $i.LearningRates[0] | Should -BeLessThan 2.26e-3
        (Get-CkptInfo -LiteralPath (Join-Path $V0 'last.ckpt')).RunName | Should -BeExactly 'version_0'
    }
}

Describe 'Compare-Ckpt reports optimizer and scheduler settings (item 6)' {
    BeforeEach { if ($NoTorch) { Set-ItResult -Skipped -Because "$Python with torch makes the lightning_logs tree" } }

    It 'has a row for a changed lr, weight decay and scheduler state' {
        $a = Join-Path $V0 'epoch=2-step=39.ckpt'
        $b = Join-Path $V0 'epoch=5-step=78.ckpt'
        $rows = Compare-Ckpt -ReferencePath $a -DifferencePath $b | Where-Object Kind -eq Metadata
        $lr = $rows | Where-Object Name -eq 'optimizer_states.0.param_groups.0.lr'
        $lr.Status | Should -Be 'Changed'
        [double]$lr.DifferenceValue | Should -Be (Get-CkptInfo -LiteralPath $b).LearningRates[0]
        ($rows | Where-Object Name -eq 'lr_schedulers.0.last_epoch').Change | Should -Be '3 → 6'
        $all = Compare-Ckpt -ReferencePath $a -DifferencePath $b -IncludeEqual | Where-Object Kind -eq Metadata
        ($all | Where-Object Name -eq 'optimizer_states.0.param_groups.0.weight_decay').Status | Should -Be 'Equal'
        ($all | Where-Object Name -eq 'optimizer_states.0.param_groups.0.betas').ReferenceValue | Should -Match '0\.9, 0\.98'
    }
}

Describe 'A lossy cast is seen: Compare-Ckpt compares values across dtypes, the cast warns (item 4)' {
    BeforeAll {
        if (-not $NoTorch) {
            $script:Wide = Join-Path $TestDrive 'cast/wide.ckpt'
            $null = New-Item -ItemType Directory -Path (Split-Path $Wide) -Force
            & $Python -c @'
import sys, torch
torch.manual_seed(0)
torch.save({"state_dict": {"scale": torch.tensor([1.0, 70000.0, -3.5]), "weight": torch.randn(64, 16)}}, sys.argv[1])
'@ $Wide
            if ($LASTEXITCODE) { throw "python failed with exit code $LASTEXITCODE" }
        }
    }
    BeforeEach { if ($NoTorch) { Set-ItResult -Skipped -Because "$Python with torch makes the checkpoint" } }

    It 'float16: warns about the value written as inf, and Compare-Ckpt calls that row Changed' {
        $half = Join-Path $TestDrive 'cast/half.ckpt'
        Select-CkptWeights -LiteralPath $Wide -DType float16 -OutFile $half -WarningVariable wv -WarningAction SilentlyContinue
        @($wv) | Should -HaveCount 1
        "$($wv[0])" | Should -Match '^scale: 1 finite float32 value\(s\) are beyond float16''s range'
        $rows = Compare-Ckpt -ReferencePath $Wide -DifferencePath $half -IncludeEqual | Where-Object Kind -eq Tensor
        ($rows | Where-Object Name -eq 'scale').Status | Should -Be 'Changed'
        ($rows | Where-Object Name -eq 'scale').Change | Should -Be 'float32 → float16'
        ($rows | Where-Object Name -eq 'weight').Status | Should -Be 'DTypeChanged' -Because 'float16 rounding alone is within the cast''s tolerance'
        # help example 3's filter finds exactly the broken cast
        ($rows | Where-Object Status -ne DTypeChanged).Name | Should -Be 'scale'
    }

    It 'bfloat16 keeps 70000 within its rounding: every row DTypeChanged, no warning' {
        $bf = Join-Path $TestDrive 'cast/bf16.ckpt'
        Select-CkptWeights -LiteralPath $Wide -DType bfloat16 -OutFile $bf -WarningVariable wv
        @($wv) | Should -HaveCount 0
        (Compare-Ckpt -ReferencePath $Wide -DifferencePath $bf -IncludeEqual | Where-Object Kind -eq Tensor).Status | Sort-Object -Unique | Should -Be 'DTypeChanged'
    }
}

Describe 'Export-Ckpt re-emits a dangerous payload only with a warning, and refuses it on request (item 5)' {
    BeforeAll {
        $script:Hostile = Join-Path $RepoRoot 'tests/fixtures/malicious/legacy_hostile.pt'
        $script:ExportId = 'LightningCkpt.Commands.ExportCkptCommand'
    }

    It 'warns as Get-CkptInfo does, naming the global' {
        $out = Join-Path $TestDrive 'hostile-copy.ckpt'
        Import-Ckpt -LiteralPath $Hostile | Export-Ckpt -OutFile $out -WarningVariable wv -WarningAction SilentlyContinue
        "$wv" | Should -Match 'posix\.system'
        Test-Path -LiteralPath $out | Should -BeTrue
        (Get-CkptInfo -LiteralPath $out -WarningAction SilentlyContinue).UnsafeGlobals | Should -Contain 'posix.system'
    }

    It 'writes nothing with -RefuseUnsafe (UnsafeGraph)' {
        $out = Join-Path $TestDrive 'hostile-refused.ckpt'
        Import-Ckpt -LiteralPath $Hostile | Export-Ckpt -OutFile $out -RefuseUnsafe -ErrorVariable ev -ErrorAction SilentlyContinue
        $ev[0].FullyQualifiedErrorId | Should -BeExactly "UnsafeGraph,$ExportId"
        $ev[0].Exception.Message | Should -Match 'posix\.system'
        Test-Path -LiteralPath $out | Should -BeFalse
    }

    It 'writes a safe graph with -RefuseUnsafe and no warning' {
        $out = Join-Path $TestDrive 'safe-copy.ckpt'
        Import-Ckpt -LiteralPath (Join-Path $RepoRoot 'samples/lightning_logs/version_0/checkpoints/last.ckpt') | Export-Ckpt -OutFile $out -RefuseUnsafe -WarningVariable wv
        @($wv) | Should -HaveCount 0
        Test-Path -LiteralPath $out | Should -BeTrue
    }
}

Describe 'Recipes print what they claim (item 8)' {
    It '$c.Remove(''k'') writes nothing into the pipeline, as a hashtable''s Remove' {
        $c = Import-Ckpt -LiteralPath (Join-Path $RepoRoot 'samples/lightning_logs/version_0/checkpoints/last.ckpt')
        $out = @('optimizer_states', 'lr_schedulers', 'loops', 'callbacks', 'absent' | ForEach-Object { $c.Remove($_) })
        $out | Should -HaveCount 0
        $c.Keys | Should -Not -Contain 'loops'
        $c.Keys | Should -Contain 'state_dict'
    }

    It 'Import-Ckpt -Key (a list) | ForEach-Object lr prints each group''s rate, as the help example does' {
        $last = Join-Path $RepoRoot 'samples/lightning_logs/version_0/checkpoints/last.ckpt'
        $lr = @(Import-Ckpt -LiteralPath $last -Key 'optimizer_states/0/param_groups' | ForEach-Object lr)
        $lr | Should -Be @((Get-CkptInfo -LiteralPath $last).LearningRates)
        $lr | Should -HaveCount 1
        # two files: one rate each, one group at a time
        @(Import-Ckpt -LiteralPath $last, $last -Key 'optimizer_states/0/param_groups' | ForEach-Object lr) | Should -HaveCount 2
        # a tuple enumerates too; a dict, bytes and -NoEnumerate stay one object
        @(Import-Ckpt -LiteralPath $last -Key 'optimizer_states/0/param_groups/0/betas') | Should -HaveCount 2
        @(Import-Ckpt -LiteralPath $last -Key 'hyper_parameters') | Should -HaveCount 1
        $whole = @(Import-Ckpt -LiteralPath $last -Key 'optimizer_states/0/param_groups/0/betas' -NoEnumerate)
        $whole | Should -HaveCount 1
        $whole[0].GetType().FullName | Should -Be 'LightningCkpt.Pickle.PyTuple'
        # the whole file is one object even when it is a list, so it pipes whole into Export-Ckpt
        @(Import-Ckpt -LiteralPath (Join-Path $RepoRoot 'tests/fixtures/files/list_of_tensors.pt')) | Should -HaveCount 1
    }

    It 'the learning rates of a checkpoint, from -Key or from Get-CkptInfo' {
        $last = Join-Path $RepoRoot 'samples/lightning_logs/version_0/checkpoints/last.ckpt'
        $lr = (Import-Ckpt -LiteralPath $last -Key 'optimizer_states/0/param_groups').lr
        $lr | Should -BeGreaterThan 0
        (Get-CkptInfo -LiteralPath $last).LearningRates | Should -Be $lr
    }
}

Describe 'Non-checkpoints are named for what they are (item 11)' {
    It 'names <Name>' -ForEach @(
        @{ Name = 'a Git LFS pointer, with the real size'; Text = "version https://git-lfs.github.com/spec/v1`noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393`nsize 3221225472`n"; Expect = 'Git LFS pointer of a 3,221,225,472-byte file.*fetch the real file' }
        @{ Name = 'an HTML error page'; Text = "<!DOCTYPE html>`n<html><head><title>403 Forbidden</title></head></html>`n"; Expect = 'an HTML page' }
        @{ Name = 'a JSON error response'; Text = '{"error": "Repository not found"}'; Expect = 'a JSON document' }
    ) {
        $file = Join-Path $TestDrive ("saved-" + [guid]::NewGuid().ToString('N') + '.ckpt')
        [System.IO.File]::WriteAllText($file, $Text)
        Get-CkptInfo -LiteralPath $file -ErrorVariable ev -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $ev[0].FullyQualifiedErrorId | Should -BeExactly 'NotACheckpoint,LightningCkpt.Commands.GetCkptInfoCommand'
        $ev[0].Exception.Message | Should -Match $Expect
        $ev[0].Exception.Message | Should -Match ([regex]::Escape($file))
    }
}

Describe 'A folder named with [ ] under -Path follows Get-ChildItem, and the about_ recipes read it' {
    BeforeEach { if ($NoTorch) { Set-ItResult -Skipped -Because "$Python with torch makes the lightning_logs tree" } }

    It 'matches what Get-ChildItem -Path matches, and reads the folder escaped or piped' {
        Push-Location -LiteralPath (Join-Path $Tree 'lightning_logs')
        try {
            $wild = 'my run [v2]/checkpoints/*.ckpt'
            $expected = @((Get-ChildItem -Path $wild).FullName)
            $expected | Should -Not -BeNullOrEmpty
            $expected | ForEach-Object { $_ | Should -Match 'my run v/' }   # PowerShell's rule: [v2] is a character class
            @((Get-CkptInfo -Path $wild).FullName) | Should -Be $expected
            @((Get-CkptTensor -Path $wild | Select-Object -ExpandProperty FullName -Unique)) | Should -Be $expected

            $real = @((Get-ChildItem -LiteralPath 'my run [v2]/checkpoints' -Filter *.ckpt).FullName)
            @((Get-CkptInfo -Path 'my run `[v2`]/checkpoints/*.ckpt').FullName) | Should -Be $real
            @((Get-CkptInfo -Path ([WildcardPattern]::Escape('my run [v2]') + '/checkpoints/*.ckpt')).FullName) | Should -Be $real
            @((Get-ChildItem -LiteralPath 'my run [v2]/checkpoints' -Filter *.ckpt | Get-CkptInfo).FullName) | Should -Be $real
        }
        finally { Pop-Location }
    }
}

Describe 'A download cut short says the size it has and the size it needs (item 11)' {
    It 'names both sizes for <Name>' -ForEach @(
        @{ Name = 'a torch zip cut in its tensors'; Source = 'samples/lightning_logs/version_0/checkpoints/last.ckpt'; Keep = 0.5; AtLeast = 'at least ' }
        @{ Name = 'a legacy file cut in its storages'; Source = 'tests/fixtures/files/plain_state_dict_legacy.pt'; Keep = 0.95; AtLeast = '' }
    ) {
        $full = [IO.File]::ReadAllBytes((Join-Path $RepoRoot $Source))
        $keep = [int] ($full.Length * $Keep)
        $file = Join-Path $TestDrive ("cut-" + [guid]::NewGuid().ToString('N') + [IO.Path]::GetExtension($Source))
        [IO.File]::WriteAllBytes($file, $full[0..($keep - 1)])
        Get-CkptInfo -LiteralPath $file -ErrorVariable ev -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $ev[0].FullyQualifiedErrorId | Should -BeExactly 'InvalidCheckpoint,LightningCkpt.Commands.GetCkptInfoCommand'
        $ev[0].Exception.Message | Should -Match ([regex]::Escape($file))
        $ev[0].Exception.Message | Should -Match "the file has $($keep.ToString('N0', [cultureinfo]::InvariantCulture)) bytes but needs $AtLeast[\d,]+: a download or copy cut short\? Fetch or copy it again"
        if (-not $AtLeast) { $ev[0].Exception.Message | Should -Match "needs $($full.Length.ToString('N0', [cultureinfo]::InvariantCulture)):" }
        (Test-Ckpt -LiteralPath $file).Findings[0].Message | Should -Match 'a download or copy cut short'
    }
}

Describe 'A per-module tree, parameters and buffers apart (item 10)' {
    BeforeEach { if ($NoTorch) { Set-ItResult -Skipped -Because "$Python with torch makes the lightning_logs tree" } }

    It 'counts as Lightning''s ModelSummary does, at depth 2' {
        $m = Get-CkptTensor -LiteralPath (Join-Path $V0 'last.ckpt') -ByModule -Depth 2
        $m.Name | Should -Be @('model.features', 'model.head')
        # Conv2d(3, 8, 3) 224 + BatchNorm2d(8) 16 parameters; its running_mean, running_var (8 each) and num_batches_tracked are buffers
        $m[0].Parameters | Should -Be 240
        $m[0].Buffers | Should -Be 17
        $m[1].Parameters | Should -Be 36
        $m[1].Buffers | Should -Be 0
        ($m | Measure-Object Tensors -Sum).Sum | Should -Be (Get-CkptInfo -LiteralPath (Join-Path $V0 'last.ckpt')).TensorCount
    }

    It 'renders its default view at 80 and 120 columns' {
        $m = Get-CkptTensor -LiteralPath (Join-Path $V0 'last.ckpt') -ByModule -Depth 3
        foreach ($width in 80, 120) {
            $text = $m | Get-RenderedText -Width $width
            $labels = @($text | Get-RenderedColumn)
            $labels | Should -Be @('Parameters', 'Buffers', 'Bytes', 'Tensors', 'Name')
            $text | Should -Match '(?m)^\s+224\s+0\s+[\d.]+ [KM]?B\s+2 model\.features\.0$'
            $text | Should -Match '(?m)^\s+16\s+17\s+[\d.]+ [KM]?B\s+5 model\.features\.1$'
            foreach ($line in $text -split "`r?`n") { $line.Length | Should -BeLessOrEqual $width }
        }
    }

    It 'refuses -Hash with -ByModule' {
        { Get-CkptTensor -LiteralPath (Join-Path $V0 'last.ckpt') -ByModule -Hash -ErrorAction Stop } | Should -Throw -ErrorId 'ByModuleWithData,LightningCkpt.Commands.GetCkptTensorCommand'
    }
}

Describe 'Get-CkptInfo''s default view tells runs and scores apart (items 2, 12, 13)' {
    BeforeEach { if ($NoTorch) { Set-ItResult -Skipped -Because "$Python with torch makes the lightning_logs tree" } }

    It 'shows the run folder and each file''s own score at <Width> columns' -ForEach @(@{ Width = 80 }, @{ Width = 120 }) {
        $infos = Get-CkptInfo -LiteralPath (Join-Path $Bracket 'epoch=1-step=26.ckpt'), (Join-Path $V0 'epoch=3-step=52.ckpt'), (Join-Path $V0 'epoch=10-step=143.ckpt')
        $text = $infos | Get-RenderedText -Width $Width
        @($text | Get-RenderedColumn) | Should -Be @('RunName', 'Epoch', 'GlobalStep', 'CurrentScore', 'Length', 'IsSafe', 'Name')
        $text | Should -Match '(?m)^my run \[v2\]\s+1\s+26\s+0\.6\s+[\d.]+ KB\s+True\s+epoch=1-step=26\.ckpt$'
        $text | Should -Match '(?m)^version_0\s+3\s+52\s+0\.41\s'
        $text | Should -Match '(?m)^version_0\s+10\s+143\s+0\.62\s'
        $text | Should -Match '\d+\.\d KB' -Because 'sizes keep one decimal'
        foreach ($line in $text -split "`r?`n") { $line.Length | Should -BeLessOrEqual $Width }
    }
}

Describe 'Test-Ckpt | Export-Csv writes the findings, not a type name (item 7)' {
    It 'writes each finding as text' {
        $csv = Join-Path $TestDrive 'findings.csv'
        Test-Ckpt -LiteralPath (Join-Path $RepoRoot 'tests/fixtures/malicious/legacy_hostile.pt') | Export-Csv -LiteralPath $csv
        $row = Import-Csv -LiteralPath $csv
        $row.Findings | Should -Not -Match 'System\.Collections'
        $row.Findings | Should -Match 'Dangerous DangerousGlobal: .*posix\.system'
    }
}

Describe 'Completion for -Key and -StripPrefix (item 9)' {
    BeforeAll { $script:SampleLast = Join-Path $RepoRoot 'samples/lightning_logs/version_0/checkpoints/last.ckpt' }

    It 'offers the graph''s keys level by level for Import-Ckpt -Key' {
        $line = "Import-Ckpt -LiteralPath '$SampleLast' -Key optimizer_states/0/"
        $r = TabExpansion2 -inputScript $line -cursorColumn $line.Length
        $r.CompletionMatches.CompletionText | Should -Be @('optimizer_states/0/state', 'optimizer_states/0/param_groups')
        $line = "Import-Ckpt -LiteralPath '$SampleLast' -Key hyper"
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be 'hyper_parameters'
    }

    It 'offers name prefixes, not file names, for Select-CkptWeights -StripPrefix' {
        $line = "Select-CkptWeights -LiteralPath '$SampleLast' -OutFile x.ckpt -StripPrefix "
        $r = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText
        $r | Should -Contain 'model.'
        $r | Should -Contain 'model.net.'
        $r | Should -Not -Contain 'x.ckpt'
    }
}

# Sharded checkpoints (DCP, Lightning sharded, DeepSpeed, Hugging Face) and safetensors through the cmdlets.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-LightningCkptModule
    $script:Sharded = Join-Path $script:RepoRoot 'tests/fixtures/sharded'
    $script:Copy = Join-Path $TestDrive 'runs'
    $null = New-Item -ItemType Directory -Path $Copy -Force
    foreach ($name in 'ds_zero3_bf16_dp2', 'lightning2_fsdp.ckpt', 'hf_safetensors', 'dcp13_gloo_sharded') {
        Copy-Item -LiteralPath (Join-Path $Sharded $name) -Destination (Join-Path $Copy $name) -Recurse
    }
    Copy-Item -LiteralPath (Join-Path $Sharded 'single.safetensors') -Destination $Copy
    $null = New-Item -ItemType Directory -Path (Join-Path $Copy 'not_a_checkpoint') -Force
}

Describe 'Sharded checkpoints in the cmdlets' {
    It 'reads every folder Get-ChildItem -Directory pipes in, and says which one is no checkpoint' {
        $r = Get-ChildItem -LiteralPath $Copy -Directory | Get-CkptInfo -ErrorVariable ev -ErrorAction SilentlyContinue
        @($r).Count | Should -Be 4
        ($r.Format | ForEach-Object ToString | Sort-Object) | Should -Be @('Dcp', 'DeepSpeed', 'HuggingFaceSharded', 'LightningSharded')
        @($ev).Count | Should -Be 1
        $ev[0].FullyQualifiedErrorId | Should -BeLike 'NotACheckpoint,*'
        $ev[0].TargetObject | Should -BeLike '*not_a_checkpoint'
    }

    It 'matches sharded folders with wildcards like files, and skips other folders' {
        $r = Get-CkptInfo -Path (Join-Path $Copy '*') -ErrorVariable ev -ErrorAction SilentlyContinue
        @($r).Count | Should -Be 5
        @($ev).Count | Should -Be 0
    }

    It 'names every folder checkpoint by its folder in the table, also when its index or metadata file is given' {
        $hf = Join-Path $Copy 'hf_safetensors'
        $paths = $hf, (Join-Path $hf 'model.safetensors.index.json'), (Join-Path $Copy 'dcp13_gloo_sharded'),
            (Join-Path $Copy 'dcp13_gloo_sharded/.metadata'), (Join-Path $Copy 'lightning2_fsdp.ckpt'), (Join-Path $Copy 'ds_zero3_bf16_dp2')
        $r = Get-CkptInfo -LiteralPath $paths
        $r.Name | Should -Be @('hf_safetensors', 'hf_safetensors', 'dcp13_gloo_sharded', 'dcp13_gloo_sharded', 'lightning2_fsdp.ckpt', 'ds_zero3_bf16_dp2')
        foreach ($i in $r) { $i.FullName | Should -Be (Join-Path $Copy $i.Name) }
        $text = $r | Out-String -Width 80
        $text | Should -Not -Match 'index\.json|\.metadata'
        ($text -split "`n" | Where-Object { $_ -match 'hf_safetensors\s*$' }).Count | Should -Be 2
        ($text -split "`n" | ForEach-Object { $_.TrimEnd().Length } | Measure-Object -Maximum).Maximum | Should -BeLessOrEqual 80
    }

    It 'shows the DeepSpeed stage, ranks and the Lightning state from the client state' {
        $i = Get-CkptInfo -LiteralPath (Join-Path $Copy 'ds_zero3_bf16_dp2')
        $i.ZeroStage | Should -Be 3
        $i.WorldSize | Should -Be 2
        $i.Epoch | Should -Be 2
        $i.GlobalStep | Should -Be 33
        $i.UnsafeGlobals.Count | Should -Be 0
    }

    It 'lists full names, shapes and hashes of assembled tensors' {
        $t = Get-CkptTensor -LiteralPath (Join-Path $Copy 'dcp13_gloo_sharded') -Hash -Statistics
        ($t | Where-Object Name -eq 'cols').Shape | Should -Be @(4, 6)
        $truth = Get-Content -LiteralPath (Join-Path $Sharded 'dcp13_gloo_sharded.truth.json') -Raw | ConvertFrom-Json
        foreach ($e in $truth.tensors) { ($t | Where-Object Name -eq $e.name).Sha256 | Should -BeExactly $e.sha256 }
        ($t | Where-Object Name -eq 'rows').Mean | Should -Not -BeNullOrEmpty
    }

    It 'consolidates with Select-CkptWeights -OutFile and Compare-Ckpt finds no difference' {
        $src = Join-Path $Copy 'ds_zero3_bf16_dp2'
        $out = Join-Path $TestDrive 'consolidated.safetensors'
        Select-CkptWeights -LiteralPath $src -OutFile $out
        Test-Path -LiteralPath $out | Should -BeTrue
        (Get-CkptInfo -LiteralPath $out).Format | Should -Be 'Safetensors'
        $d = Compare-Ckpt -ReferencePath $src -DifferencePath $out | Where-Object { $_.Kind -eq 'Tensor' -and $_.Status -ne 'Equal' }
        $d | Should -BeNullOrEmpty
    }

    It 'consolidates a ZeRO-3 folder with its Adam state through Import-Ckpt | Export-Ckpt' {
        $src = Join-Path $Copy 'ds_zero3_bf16_dp2'
        $out = Join-Path $TestDrive 'resume.ckpt'
        Import-Ckpt -LiteralPath $src | Export-Ckpt -OutFile $out
        # the folder itself and the one file show the same moments, shaped like their parameters
        foreach ($path in $src, $out) {
            $all = Get-CkptTensor -LiteralPath $path -All
            $moments = $all | Where-Object TensorPath -Like 'optimizer_states.0.state.*.exp_avg*'
            @($moments).Count | Should -Be 6
            ($all | Where-Object TensorPath -eq 'optimizer_states.0.state.1.exp_avg').Shape | Should -Be @(4, 3)
        }
        (Import-Ckpt -LiteralPath $out -Key 'optimizer_states/0/param_groups/0/param_names') | Should -Be @('embed.weight', 'lin.weight')
        $d = Compare-Ckpt -ReferencePath $src -DifferencePath $out | Where-Object { $_.Kind -eq 'Tensor' -and $_.Status -ne 'Equal' }
        $d | Should -BeNullOrEmpty
    }

    It 'shows a DeepSpeed universal checkpoint at 80 columns and consolidates it with Select-CkptWeights' {
        $d = Join-Path $TestDrive 'universal/dsu_zero2_bf16_dp2'
        $null = New-Item -ItemType Directory -Path (Split-Path $d) -Force
        Copy-Item -LiteralPath (Join-Path $Sharded 'dsu_zero2_bf16_dp2') -Destination $d -Recurse
        $i = Get-CkptInfo -LiteralPath $d
        $table = $i | Out-String -Width 80
        $table | Should -Match 'dsu_zero2_bf16_dp2\s*$'
        $list = $i | Format-List Format, ZeroStage, WorldSize, ParameterCount, Epoch | Out-String -Width 80
        $list | Should -Match 'Format\s*: DeepSpeedUniversal'
        $list | Should -Match 'ZeroStage\s*: 2'
        foreach ($text in $table, $list) { ($text -split "`n" | ForEach-Object { $_.TrimEnd().Length } | Measure-Object -Maximum).Maximum | Should -BeLessOrEqual 80 }
        $out = Join-Path $TestDrive 'universal.pt'
        Select-CkptWeights -LiteralPath $d -OutFile $out
        $o = Get-CkptInfo -LiteralPath $out
        $o.ParameterCount | Should -Be $i.ParameterCount
        $truth = Get-Content -LiteralPath (Join-Path $Sharded 'dsu_zero2_bf16_dp2.truth.json') -Raw | ConvertFrom-Json
        $t = Get-CkptTensor -LiteralPath $out -Hash
        $t.Name | Should -Be $truth.tensors.name
        foreach ($e in $truth.tensors) { ($t | Where-Object Name -eq $e.name).Sha256 | Should -BeExactly $e.sha256 }
        (Get-CkptTensor -LiteralPath $d -All -Name '*exp_avg_sq').Count | Should -Be 3
    }

    It 'refuses rank-local DCP metadata with the UnsupportedCheckpoint id, and names it' {
        $parent = Join-Path $TestDrive 'rl'
        $null = New-Item -ItemType Directory -Path $parent -Force
        $d = Join-Path $parent 'ranklocal'
        Copy-Item -LiteralPath (Join-Path $Copy 'dcp13_gloo_sharded') -Destination $d -Recurse
        Move-Item -LiteralPath (Join-Path $d '.metadata') -Destination (Join-Path $d '__0.metadata')
        $r = Get-CkptInfo -LiteralPath $d -ErrorVariable ev -ErrorAction SilentlyContinue
        $r | Should -BeNullOrEmpty
        $ev[0].FullyQualifiedErrorId | Should -BeLike 'UnsupportedCheckpoint,*'
        $ev[0].Exception.Message | Should -Match 'rank-local metadata \(__0\.metadata'
        # wildcards match it as a checkpoint folder, so the user hears why it is not read
        @(Get-CkptInfo -Path (Join-Path $parent '*') -ErrorVariable ev2 -ErrorAction SilentlyContinue).Count | Should -Be 0
        $ev2[0].FullyQualifiedErrorId | Should -BeLike 'UnsupportedCheckpoint,*'
    }

    It 'reads a real torch 2.x FSDP2 DCP folder end to end: info, every tensor hashed as torch, statistics, consolidation, compare' {
        # written by two gloo ranks with torch 2.14 (make_torch2_sharded.py): fully_shard model + Adam via get_state_dict
        $d = Join-Path $TestDrive 'fsdp2/dcp2_fsdp2_adam'
        $null = New-Item -ItemType Directory -Path (Split-Path $d) -Force
        Copy-Item -LiteralPath (Join-Path $Sharded 'dcp2_fsdp2_adam') -Destination $d -Recurse
        $truth = Get-Content -LiteralPath (Join-Path $Sharded 'dcp2_fsdp2_adam.truth.json') -Raw | ConvertFrom-Json
        $i = Get-CkptInfo -LiteralPath $d
        $i.Format | Should -Be 'Dcp'
        $i.WorldSize | Should -Be 2
        $i.UnsafeGlobals.Count | Should -Be 0
        $t = Get-CkptTensor -LiteralPath $d -All -Hash -Statistics
        $t.TensorPath | Should -Be $truth.all_tensors.path
        foreach ($e in $truth.all_tensors) {
            $x = $t | Where-Object TensorPath -eq $e.path
            $x.Sha256 | Should -BeExactly $e.sha256
            $x.Shape | Should -Be $e.shape
            if ($e.stats.numel -gt 0) { [math]::Abs($x.Mean - $e.stats.mean) | Should -BeLessOrEqual (1e-9 * [math]::Max(1, [math]::Abs($e.stats.mean))) }
        }
        (Test-Ckpt -LiteralPath $d -Quiet) | Should -BeTrue
        $out = Join-Path $TestDrive 'fsdp2.pt'
        Select-CkptWeights -LiteralPath $d -OutFile $out
        Compare-Ckpt -ReferencePath $d -DifferencePath $out | Where-Object { $_.Kind -eq 'Tensor' -and $_.Status -ne 'Equal' } | Should -BeNullOrEmpty
        (Get-CkptTensor -LiteralPath $out).Count | Should -Be 3
    }

    It 'tests a sharded folder valid and names a missing rank' {
        (Test-Ckpt -LiteralPath (Join-Path $Copy 'lightning2_fsdp.ckpt') -Quiet) | Should -BeTrue
        $broken = Join-Path $TestDrive 'broken.ckpt'
        Copy-Item -LiteralPath (Join-Path $Copy 'lightning2_fsdp.ckpt') -Destination $broken -Recurse
        Remove-Item -LiteralPath (Join-Path $broken '__1_0.distcp')
        $r = Test-Ckpt -LiteralPath $broken
        $r.IsValid | Should -BeFalse
        ($r.Findings | Where-Object Severity -eq 'Error').Kind | Should -Contain 'MissingStorage'
    }
}

Describe 'DCP metadata asking for more than its folder holds' {
    BeforeAll {
        $script:Python = '/usr/bin/python3'
        $script:NoTorch = -not (Test-Path -LiteralPath $Python) -or $null -ne (& $Python -c 'import torch' 2>&1)
        $script:Hostile = Join-Path $TestDrive 'hostile-dcp'
        if (-not $NoTorch) {
            foreach ($case in @(@('alias', 'alias', '--chunks', '64'), @('planner', 'planner', '--lists', '16'))) {
                & $Python (Join-Path $RepoRoot 'tests/fixtures/make_dcp_hostile.py') --out (Join-Path $Hostile $case[0]) @($case[1..3]) | Out-Null
                if ($LASTEXITCODE) { throw "make_dcp_hostile.py $($case[0]) failed with exit code $LASTEXITCODE" }
            }
        }
    }

    BeforeEach {
        if ($NoTorch) { Set-ItResult -Skipped -Because "$Python with torch is needed to write DCP metadata" }
    }

    It 'refuses chunks aliasing one byte range as InvalidCheckpoint naming the data file and both chunks' {
        $r = Get-CkptInfo -LiteralPath (Join-Path $Hostile 'alias') -ErrorVariable ev -ErrorAction SilentlyContinue
        $r | Should -BeNullOrEmpty
        @($ev).Count | Should -Be 1
        $ev[0].FullyQualifiedErrorId | Should -BeExactly 'InvalidCheckpoint,LightningCkpt.Commands.GetCkptInfoCommand'
        $ev[0].Exception.Message | Should -Match "__0_0\.distcp.*the chunk of 'w' at \[\d+, 0\] \(bytes \[0, \d+\)\) overlaps the chunk of 'w' at \[\d+, 0\]"
    }

    It 'refuses planner_data lists past the metadata allowance as CheckpointLimitExceeded' {
        $null = Get-CkptInfo -LiteralPath (Join-Path $Hostile 'planner') -ErrorVariable ev -ErrorAction SilentlyContinue
        @($ev).Count | Should -Be 1
        $ev[0].FullyQualifiedErrorId | Should -BeExactly 'CheckpointLimitExceeded,LightningCkpt.Commands.GetCkptInfoCommand'
        $ev[0].Exception.Message | Should -Match '\.metadata.*planner_data list slots'
    }
}

# The default views as a user sees them: rendered by PowerShell at 80 and 120 columns, not property values.
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Initialize-CkptTestDrive
    $script:Long = New-LongNameCopy $Last (Join-Path $TestDrive 'long')
    $script:Sentinel = Join-Path $FixtureFiles 'lightning_inf_sentinel.ckpt'

    function Assert-View($Objects, [string[]] $Decisive) {
        foreach ($width in 80, 120) {
            $text = $Objects | Get-RenderedText -Width $width
            $labels = @($text | Get-RenderedColumn)
            foreach ($d in $Decisive) { $labels | Should -Contain $d -Because "the $width-column view must keep $d (got: $($labels -join ' '))" }
            # every label names a real property, so Sort-Object/Select-Object by what you see works
            foreach ($l in $labels) { $Objects[0].PSObject.Properties[$l] | Should -Not -BeNullOrEmpty -Because "column '$l' must be a property" }
            foreach ($line in $text -split "`r?`n") { $line.Length | Should -BeLessOrEqual $width }
            $text
        }
    }
}

Describe 'Get-CkptInfo view' {
    It 'keeps run, epoch, step, score, size and safety at 80 columns even beside a long file name' {
        $infos = @(Get-CkptInfo -LiteralPath $Last, $Long)
        $texts = Assert-View $infos 'RunName', 'Epoch', 'GlobalStep', 'CurrentScore', 'Length', 'IsSafe', 'Name'
        foreach ($t in $texts) {
            $t | Should -Match '0\.495628'          # the score, not cut to '…33594'
            $t | Should -Match '\d+(\.\d)? KB'      # a small file is not '0.0 MB'
            $t | Should -Not -Match '0\.0 MB'
        }
    }

    It 'shows a float32 score at float32 precision' {
        $i = Get-CkptInfo -LiteralPath $Sentinel
        $i.BestModelScore | Should -Be 0.9
        $text = $i | Get-RenderedText -Width 80
        $text | Should -Match '\b0\.9\b'
        $text | Should -Not -Match '0\.8999'
    }
}

Describe 'Get-CkptTensor views' {
    It 'keeps dtype, shape, numel and bytes at 80 columns beside 130-character callback keys' {
        $t = @(Get-CkptTensor -LiteralPath $Last -All)
        $texts = Assert-View $t 'DType', 'Shape', 'Numel', 'Bytes', 'Name'
        $texts[0] | Should -Not -Match 'Sha256'   # no always-empty column
        $texts[1] | Should -Match 'kth_value'     # the end of a long key, which tells keys apart, is shown
    }

    It 'tells the files apart when several are read in one call or piped (issue 19 item 7)' {
        $first = Join-Path $V0 'epoch=0-step=10.ckpt'
        foreach ($t in @(Get-CkptTensor -LiteralPath $first, $Last), @(Get-ChildItem -LiteralPath $first, $Last | Get-CkptTensor -Hash),
            @(Get-CkptTensor -LiteralPath $first, $Last -Statistics)) {
            foreach ($width in 80, 120) {
                # each file's rows sit under its own label, as Get-ChildItem's rows sit under their directory (a label
                # longer than the line wraps, as Get-ChildItem's does)
                $sections = @(($t | Get-RenderedText -Width $width) -split '(?m)^ +FullName: ' | Select-Object -Skip 1)
                $sections | Should -HaveCount 2
                for ($i = 0; $i -lt 2; $i++) {
                    $label, $table = $sections[$i] -split '\r?\n\r?\n', 2
                    ($label -replace '\r?\n', '') | Should -Be (@($first, $Last)[$i])
                    @($table | ConvertFrom-RenderedTable).Name | Should -Be @('model.net.0.weight', 'model.net.0.bias', 'model.net.2.weight', 'model.net.2.bias')
                }
            }
        }
    }

    It 'shows the hash with -Hash' {
        $t = @(Get-CkptTensor -LiteralPath $Last -Hash)
        $texts = Assert-View $t 'DType', 'Shape', 'Sha256', 'Name'
        foreach ($text in $texts) { $text | Should -Match ([regex]::Escape($t[0].Sha256.Substring(0, 16))) }
        $t[0].Sha256 | Should -Match '^[0-9a-f]{64}$'
    }

    It 'shows the statistics with -Statistics' {
        $t = @(Get-CkptTensor -LiteralPath $Last -All -Statistics)
        $texts = Assert-View $t 'Min', 'Max', 'Mean', 'Std', 'NaNCount', 'InfCount', 'Name'
        $w = $t | Where-Object Name -eq 'model.net.0.weight'
        foreach ($text in $texts) { $text | Should -Match ([regex]::Escape($w.Mean.ToString('G4', [cultureinfo]::InvariantCulture))) }
    }
}

Describe 'Compare-Ckpt view' {
    It 'keeps status and the numbers at 80 columns and tells the difference files apart' {
        $d = @(Get-ChildItem -LiteralPath $V0 -Filter 'epoch=*-step=?0.ckpt' | Compare-Ckpt -ReferencePath $Last)
        $texts = Assert-View $d 'Status', 'MaxAbsDiff', 'RelativeL2', 'Change', 'Name'
        foreach ($text in $texts) {
            # issue 19 item 7: the name keeps a readable width beside long metadata values (lr rows), not 1-3 characters a line
            $text | Should -Match 'model\.net\.0\.weight'
            $text | Should -Match 'optimizer_states\.0\.param'
            $text | Should -Match 'epoch=0-step=10\.ckpt'
            $text | Should -Match 'epoch=1-step=20\.ckpt'
            $text | Should -Match '0 → 2'           # a metadata row says what changed, not under a Shape header
            $text | Should -Not -Match 'ReferenceShape'
        }
    }
}

Describe 'Test-Ckpt view' {
    It 'keeps validity and safety at 80 columns beside a long file name, and says what was found' {
        $r = @(Test-Ckpt -LiteralPath $Long, (Join-Path $TestDrive 'mixed/truncated.ckpt'))
        $texts = Assert-View $r 'IsValid', 'IsSafe', 'Summary', 'Name'
        foreach ($text in $texts) {
            $text | Should -Match 'Truncated'
            $text | Should -Match 'UnknownGlobal'
        }
    }

    It 'shows findings grouped by their file' {
        $f = @(Test-Ckpt -LiteralPath $Last, (Join-Path $TestDrive 'mixed/truncated.ckpt') | Select-Object -ExpandProperty Findings)
        $texts = Assert-View $f 'Severity', 'Kind', 'Message'
        foreach ($text in $texts) { $text | Should -Match 'truncated\.ckpt'; $text | Should -Match 'last\.ckpt' }
    }
}

Describe 'Views of the writing cmdlets' {
    It 'shows the written file of Select-CkptWeights -PassThru and Merge-CkptWeights -PassThru' {
        $a = Select-CkptWeights -LiteralPath $Last -OutFile (Join-Path $TestDrive 'sel.ckpt') -PassThru
        $m = Merge-CkptWeights -LiteralPath $Last, (Join-Path $V0 'epoch=0-step=10.ckpt') -OutFile (Join-Path $TestDrive 'merged.ckpt') -PassThru
        foreach ($o in $a, $m) {
            foreach ($width in 80, 120) {
                $text = $o | Get-RenderedText -Width $width
                $text | Should -Match "\b$($o.Length)\b"   # PowerShell's own FileInfo view: the size in bytes
                $text | Should -Match ([regex]::Escape($o.Name))
            }
        }
    }

    It 'shows the cast dtype and sizes of Select-CkptWeights -DType without -OutFile' {
        $t = @(Select-CkptWeights -LiteralPath $Last -DType float16)
        $texts = Assert-View $t 'DType', 'Shape', 'Numel', 'Bytes', 'Name'
        $texts[0] | Should -Match 'float16'
        $texts[0] | Should -Not -Match 'float32'
    }
}

Describe 'Format-List views: the properties a user wants (issue 19 item 12)' {
    BeforeAll {
        function Get-ListLabel([string] $Text) { @([regex]::Matches($Text, '(?m)^(\w+) *: ') | ForEach-Object { $_.Groups[1].Value }) }
        # a safetensors file with a __metadata__ map, written byte by byte: 8-byte header length, JSON, two float32
        $script:Safetensors = Join-Path $TestDrive 'with-metadata.safetensors'
        $json = '{"__metadata__":{"format":"pt","source":"run 7"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
        $json += ' ' * ((8 - $json.Length % 8) % 8)
        $bytes = [System.Collections.Generic.List[byte]]::new()
        $bytes.AddRange([BitConverter]::GetBytes([uint64] $json.Length))
        $bytes.AddRange([Text.Encoding]::ASCII.GetBytes($json))
        $bytes.AddRange([BitConverter]::GetBytes([single] 1.5)); $bytes.AddRange([BitConverter]::GetBytes([single] -2))
        [IO.File]::WriteAllBytes($Safetensors, $bytes.ToArray())
    }

    It 'lists a checkpoint''s summary, not its 36 properties, at <_> columns' -ForEach 80, 120 {
        $text = Get-CkptInfo -LiteralPath $Last | Format-List | Get-RenderedText -Width $_
        $labels = Get-ListLabel $text
        foreach ($l in 'FullName', 'RunName', 'Epoch', 'GlobalStep', 'ParameterCount', 'LearningRates', 'Monitor', 'Mode', 'CurrentScore', 'HyperParameters', 'IsSafe', 'Length') {
            $labels | Should -Contain $l
        }
        foreach ($l in 'PSPath', 'Globals', 'TopLevelKeys', 'ShardFiles', 'ShardCount', 'AmpScale', 'Metadata', 'UnsafeGlobals') { $labels | Should -Not -Contain $l }
        $labels.Count | Should -BeLessThan 30
        $text | Should -Match '(?m)^DTypes +: float32$'                 # the items, not '{float32}'
        $text | Should -Match '(?m)^HyperParameters +: lr=0\.001; hidden_dim=16'
        $text | Should -Match '(?m)^Length +: \d+\.\d KB$'
        (Get-CkptInfo -LiteralPath $Last | Format-List * | Out-String) | Should -Match 'PSPath'   # Format-List * still shows all
    }

    It 'shows a safetensors file''s __metadata__ in Get-CkptInfo' {
        $i = Get-CkptInfo -LiteralPath $Safetensors
        $i.Metadata['format'] | Should -Be 'pt'
        $i.Metadata['source'] | Should -Be 'run 7'
        @($i.Metadata.Keys) | Should -Be @('format', 'source')
        ($i | Format-List | Get-RenderedText -Width 80) | Should -Match '(?m)^Metadata +: format=pt; source=run 7$'
        (Get-CkptInfo -LiteralPath $Last).Metadata.Count | Should -Be 0
    }

    It 'lists a tensor without nine empty statistics, and with them after -Statistics' {
        $plain = Get-CkptTensor -LiteralPath $Last | Select-Object -First 1 | Format-List | Get-RenderedText -Width 80
        $labels = Get-ListLabel $plain
        foreach ($l in 'Name', 'FullName', 'TensorPath', 'DType', 'Shape', 'Numel', 'Bytes') { $labels | Should -Contain $l }
        foreach ($l in 'Min', 'Max', 'Mean', 'Std', 'L2Norm', 'NaNCount', 'InfCount', 'ZeroFraction', 'Sha256', 'PSPath', 'StorageFileOffset') { $labels | Should -Not -Contain $l }
        $plain | Should -Match '(?m)^Shape +: \[16, 4\]$'
        $stats = Get-CkptTensor -LiteralPath $Last -Statistics | Select-Object -First 1
        $labels = Get-ListLabel ($stats | Format-List | Get-RenderedText -Width 80)
        foreach ($l in 'Min', 'Max', 'Mean', 'Std', 'NaNCount', 'InfCount') { $labels | Should -Contain $l }
        (Get-ListLabel (Get-CkptTensor -LiteralPath $Last -Hash | Select-Object -First 1 | Format-List | Get-RenderedText -Width 80)) | Should -Contain 'Sha256'
    }

    It 'shows float64 values at a readable precision in views, and keeps every digit in the objects' {
        $d = @(Get-ChildItem -LiteralPath (Join-Path $V0 'epoch=0-step=10.ckpt') | Compare-Ckpt -ReferencePath $Last) | Where-Object Name -eq 'optimizer_states.0.param_groups.0.lr'
        $d.ReferenceValue | Should -Be '0.007290000000000001'
        foreach ($text in ($d | Get-RenderedText -Width 80), ($d | Format-List | Get-RenderedText -Width 80)) {
            $text | Should -Match '0\.00729 → 0\.009\b'
            $text | Should -Not -Match '0\.00900000'
        }
        $lr = Get-CkptInfo -LiteralPath $Last | Format-List | Get-RenderedText -Width 80
        $lr | Should -Match '(?m)^LearningRates +: 0\.00729$'
    }
}

# Issue 12: inputs and outputs by identity, special files, temporary files — through the real cmdlets.
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-LightningCkptModule
    New-CkptTestData -Root $TestDrive
    $script:V0 = Join-Path $TestDrive 'lightning_logs/version_0/checkpoints'
    $script:Last = Join-Path $V0 'last.ckpt'
    $script:SelectId = 'LightningCkpt.Commands.SelectCkptWeightsCommand'
    $script:MergeId = 'LightningCkpt.Commands.MergeCkptWeightsCommand'
}

Describe 'Writers compare inputs and outputs by identity' {
    BeforeEach {
        $script:Work = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        $null = New-Item -ItemType Directory -Path $Work
        $script:InFile = Join-Path $Work 'input.ckpt'
        Copy-TestFile $Last $InFile
        $script:Before = (Get-FileHash -LiteralPath $InFile).Hash
    }

    It 'refuses a symlink to the input with -Force (OutFileIsInput)' -Skip:$IsWindows {
        $link = Join-Path $Work 'link.ckpt'
        $null = New-Item -ItemType SymbolicLink -Path $link -Target $InFile
        Select-CkptWeights -LiteralPath $InFile -OutFile $link -Force -ErrorVariable ev -ErrorAction SilentlyContinue
        $ev[0].FullyQualifiedErrorId | Should -BeExactly "OutFileIsInput,$SelectId"
        (Get-FileHash -LiteralPath $InFile).Hash | Should -Be $Before
        (Get-Item -LiteralPath $link).LinkType | Should -Be 'SymbolicLink'
    }

    It 'refuses the input reached through a symlinked folder' -Skip:$IsWindows {
        $alias = Join-Path $TestDrive ('alias-' + [guid]::NewGuid().ToString('N'))
        $null = New-Item -ItemType SymbolicLink -Path $alias -Target $Work
        { Merge-CkptWeights -LiteralPath $InFile, $Last -OutFile (Join-Path $alias 'input.ckpt') -Force } | Should -Throw -ErrorId "OutFileIsInput,$MergeId"
        (Get-FileHash -LiteralPath $InFile).Hash | Should -Be $Before
    }

    It 'refuses the input reached through /proc/self/root' -Skip:(-not (Test-Path /proc/self/root)) {
        Select-CkptWeights -LiteralPath $InFile -OutFile ('/proc/self/root' + $InFile) -Force -ErrorVariable ev -ErrorAction SilentlyContinue
        $ev[0].FullyQualifiedErrorId | Should -BeExactly "OutFileIsInput,$SelectId"
        (Get-FileHash -LiteralPath $InFile).Hash | Should -Be $Before
    }

    It 'never replaces /dev/null, even with -Force (OutFileNotAFile)' -Skip:(-not (Test-Path /dev/null)) {
        Select-CkptWeights -LiteralPath $InFile -OutFile /dev/null -Force -ErrorVariable ev -ErrorAction SilentlyContinue
        $ev[0].FullyQualifiedErrorId | Should -BeExactly "OutFileNotAFile,$SelectId"
        $ev[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        (& stat -c %F /dev/null) | Should -Be 'character special file'
    }

    It 'refuses a FIFO target and reads a FIFO input as a clean error without blocking' -Skip:$IsWindows {
        $fifo = Join-Path $Work 'pipe.ckpt'
        & mkfifo $fifo
        { Merge-CkptWeights -LiteralPath $InFile, $Last -OutFile $fifo -Force } | Should -Throw -ErrorId "OutFileNotAFile,$MergeId"
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        Get-CkptInfo -LiteralPath $fifo -ErrorVariable ev -ErrorAction SilentlyContinue
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 5
        $ev[0].FullyQualifiedErrorId | Should -BeExactly 'NotACheckpoint,LightningCkpt.Commands.GetCkptInfoCommand'
        $ev[0].Exception.Message | Should -Match 'FIFO'
    }

    It 'leaves no temporary file after a failed write, and removes stale ones of killed writers' {
        $stale = Join-Path $Work '.out.ckpt.lckpt-0123456789ab.tmp'
        Set-Content -LiteralPath $stale -Value 'left by a killed writer'
        (Get-Item -LiteralPath $stale -Force).LastWriteTimeUtc = [datetime]::UtcNow.AddMinutes(-5)
        Select-CkptWeights -LiteralPath $InFile -OutFile (Join-Path $Work 'out.ckpt')
        Test-Path -LiteralPath $stale | Should -BeFalse
        Get-ChildItem -LiteralPath $Work -Force -Filter '*.tmp' | Should -BeNullOrEmpty
        # an input that fails to read while writing: nothing written, no temporary file
        $bad = Join-Path $Work 'bad.ckpt'
        [System.IO.File]::WriteAllBytes($bad, [byte[]](1..64))
        Select-CkptWeights -LiteralPath $bad -OutFile (Join-Path $Work 'never.ckpt') -ErrorAction SilentlyContinue
        Test-Path -LiteralPath (Join-Path $Work 'never.ckpt') | Should -BeFalse
        Get-ChildItem -LiteralPath $Work -Force -Filter '*.tmp' | Should -BeNullOrEmpty
    }
}

Describe 'Writers protect every file of every input (issue 25 item 2)' {
    BeforeAll {
        $script:ExportId = 'LightningCkpt.Commands.ExportCkptCommand'
        $script:ShardedFixtures = Join-Path $script:RepoRoot 'tests/fixtures/sharded'
    }
    BeforeEach {
        $script:Work = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        $script:Hf = Join-Path $Work 'hf'
        $null = New-Item -ItemType Directory -Path $Hf -Force
        Get-ChildItem -LiteralPath (Join-Path $ShardedFixtures 'hf_safetensors') | ForEach-Object { Copy-TestFile $_.FullName (Join-Path $Hf $_.Name) }
        $script:Hashes = @{}
        Get-ChildItem -LiteralPath $Hf | ForEach-Object { $Hashes[$_.Name] = (Get-FileHash -LiteralPath $_.FullName).Hash }
    }
    AfterEach {
        Get-ChildItem -LiteralPath $Hf | ForEach-Object { (Get-FileHash -LiteralPath $_.FullName).Hash | Should -Be $Hashes[$_.Name] -Because "$($_.Name) is an input" }
    }

    It 'Merge-CkptWeights refuses a shard of an input folder as -OutFile, even with -Force' {
        { Merge-CkptWeights -LiteralPath $Hf, $Hf -OutFile (Join-Path $Hf 'model-00001-of-00002.safetensors') -Force -ErrorAction Stop } | Should -Throw -ErrorId "OutFileIsInput,$MergeId"
    }

    It 'Merge-CkptWeights refuses the index of an input folder as -OutFile, even with -Force' {
        { Merge-CkptWeights -LiteralPath $Hf, $Hf -OutFile (Join-Path $Hf 'model.safetensors.index.json') -Force -ErrorAction Stop } | Should -Throw -ErrorId "OutFileIsInput,$MergeId"
    }

    It 'Export-Ckpt refuses the index of the folder it was imported from, even with -Force' {
        Import-Ckpt -LiteralPath $Hf | Export-Ckpt -OutFile (Join-Path $Hf 'model.safetensors.index.json') -Force -ErrorVariable ev -ErrorAction SilentlyContinue
        $ev[0].FullyQualifiedErrorId | Should -BeExactly "OutFileIsInput,$ExportId"
    }

    It 'Export-Ckpt refuses the file a tensor-less graph was imported from, even with -Force' {
        $meta = Join-Path $Work 'meta.pt'
        Copy-TestFile (Join-Path $ShardedFixtures 'lightning2_fsdp.ckpt/meta.pt') $meta
        $before = (Get-FileHash -LiteralPath $meta).Hash
        Import-Ckpt -LiteralPath $meta | Export-Ckpt -OutFile $meta -Force -ErrorVariable ev -ErrorAction SilentlyContinue
        $ev[0].FullyQualifiedErrorId | Should -BeExactly "OutFileIsInput,$ExportId"
        (Get-FileHash -LiteralPath $meta).Hash | Should -Be $before
    }
}

Describe 'One wording for an existing output across the writers (issue 19 item 12)' {
    It 'Select-CkptWeights, Merge-CkptWeights and Export-Ckpt say the same: the file, "already exists", -Force' {
        $out = Join-Path $TestDrive 'exists [1].ckpt'
        [System.IO.File]::WriteAllText($out, 'keep me')
        $messages = @(
            { Select-CkptWeights -LiteralPath $Last -OutFile $out -ErrorAction Stop }
            { Merge-CkptWeights -LiteralPath $Last -OutFile $out -ErrorAction Stop }
            { Import-Ckpt -LiteralPath $Last | Export-Ckpt -OutFile $out -ErrorAction Stop }
        ) | ForEach-Object { try { & $_; 'written' } catch { $_.FullyQualifiedErrorId -replace ',.*'; $_.Exception.Message } }
        $messages | Should -Be @(
            'OutFileExists', "$out`: already exists; pass -Force (overwrite) to replace it"
            'OutFileExists', "$out`: already exists; pass -Force (overwrite) to replace it"
            'OutFileExists', "$out`: already exists; pass -Force (overwrite) to replace it")
        [System.IO.File]::ReadAllText($out) | Should -Be 'keep me'
    }
}

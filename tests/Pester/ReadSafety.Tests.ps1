# Issue 9 defects 3 and 13, issue 12: Ctrl+C stops the data cmdlets inside one large tensor and a cancelled write
# leaves nothing behind; tensor objects refuse to read a file replaced or rewritten since they were listed.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-LightningCkptModule
    $script:ModuleManifest = Join-Path (Get-Module LightningCkpt).ModuleBase 'LightningCkpt.psd1'
    $script:Samples = Join-Path $script:RepoRoot 'samples/lightning_logs/version_0/checkpoints'
    $script:Id = 'LightningCkpt.Commands.GetCkptTensorCommand'

    function Stop-InsideData([string] $Command, [double] $Seconds = 0.5) {
        <#
            Runs $Command in its own runspace, waits until it is in the data (its first progress record, which the
            cmdlets show after 2 s, or $Seconds after it started), then stops it as Ctrl+C does (PowerShell.Stop()).
            Returns how long Stop() took, the final state and the progress records seen.
        #>
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module -Name '$ModuleManifest' -ErrorAction Stop; Write-Information started; $Command")
            $async = $ps.BeginInvoke()
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            while ($ps.Streams.Information.Count -eq 0 -and -not $async.IsCompleted -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 10 }
            $started = [DateTime]::UtcNow
            while ($ps.Streams.Progress.Count -eq 0 -and -not $async.IsCompleted -and ([DateTime]::UtcNow - $started).TotalSeconds -lt $Seconds) { Start-Sleep -Milliseconds 10 }
            if ($async.IsCompleted) { throw "'$Command' ended before it could be stopped ($($ps.InvocationStateInfo.State); errors: $($ps.Streams.Error))" }
            $clock = [System.Diagnostics.Stopwatch]::StartNew()
            $ps.Stop()
            $clock.Stop()
            [pscustomobject]@{
                StopSeconds = $clock.Elapsed.TotalSeconds
                State       = $ps.InvocationStateInfo.State
                Progress    = @($ps.Streams.Progress | Where-Object RecordType -ne 'Completed')
            }
        }
        finally { $ps.Dispose() }
    }
}

Describe 'Ctrl+C inside one large tensor' {
    BeforeAll {
        # Every storage read waits 5 ms per MB, one read at a time (a test hook, process-wide, so the runspaces below see it):
        # 1 GiB lasts over 5 s on any machine, however fast or many-cored, and Stop lands inside the work whatever the
        # machine's speed (issue 23: a quiet machine used to finish before the stop).
        $script:ReadDelay = [LightningCkpt.CkptInfo].Assembly.GetType('LightningCkpt.Data.ReadHooks').GetField('DelayPerMegabyteMilliseconds', [System.Reflection.BindingFlags]'NonPublic, Static')
        $ReadDelay.SetValue($null, 5)
        # One 1 GiB float32 tensor, made by torch.
        $script:Python = '/usr/bin/python3'
        $script:NoTorch = -not (Test-Path -LiteralPath $Python) -or $null -ne (& $Python -c 'import torch' 2>&1)
        if (-not $NoTorch) {
            $script:Big = Join-Path $TestDrive 'big/one-tensor.ckpt'
            $null = New-Item -ItemType Directory -Path (Split-Path $Big) -Force
            & $Python (Join-Path $RepoRoot 'tools/safety/make_large.py') $Big 1.0
            if ($LASTEXITCODE) { throw "make_large.py failed with exit code $LASTEXITCODE" }
        }
    }

    BeforeEach {
        if ($NoTorch) { Set-ItResult -Skipped -Because "$Python with torch is needed to make the 1 GiB checkpoint" }
    }

    AfterAll { $ReadDelay.SetValue($null, 0) }

    It 'stops Get-CkptTensor -Hash within a second and shows progress in bytes' {
        # progress shows after 2 s; the slowed reads make the hash last over 5 s
        $r = Stop-InsideData "Get-CkptTensor -LiteralPath '$Big' -Hash" -Seconds 2.5
        $r.State | Should -Be 'Stopped'
        $r.StopSeconds | Should -BeLessThan 1.0
        $r.Progress.Count | Should -BeGreaterThan 0 -Because 'a 1 GiB hash lasts more than the 2 s before progress shows'
        $r.Progress[-1].StatusDescription | Should -Match '\d+(\.\d+)? [MG]B of 1\.00 GB'
        $r.Progress[-1].PercentComplete | Should -BeLessThan 100
    }

    It 'stops Test-Ckpt -CheckValues within a second' {
        $r = Stop-InsideData "Test-Ckpt -LiteralPath '$Big' -CheckValues"
        $r.State | Should -Be 'Stopped'
        $r.StopSeconds | Should -BeLessThan 1.0
    }

    It 'stops <Name> within a second, leaving no output and no temp file' -ForEach @(
        @{ Name = 'Select-CkptWeights -OutFile'; Command = "Select-CkptWeights -LiteralPath '{0}' -DType float16 -OutFile '{1}'" }
        @{ Name = 'Merge-CkptWeights'; Command = "Merge-CkptWeights -LiteralPath '{0}', '{0}' -OutFile '{1}'" }
        @{ Name = 'Export-Ckpt'; Command = "Import-Ckpt -LiteralPath '{0}' | Export-Ckpt -OutFile '{1}'"; ShowsProgress = $true }
    ) {
        $dir = Join-Path $TestDrive ('out-' + [guid]::NewGuid().ToString('N'))
        $null = New-Item -ItemType Directory -Path $dir
        $out = Join-Path $dir 'written.ckpt'
        $r = Stop-InsideData ($Command -f $Big, $out) -Seconds ($ShowsProgress ? 2.5 : 0.5)
        $r.State | Should -Be 'Stopped'
        $r.StopSeconds | Should -BeLessThan 1.0
        if ($ShowsProgress) { $r.Progress.Count | Should -BeGreaterThan 0 -Because 'a write that lasts over 2 s shows its progress' }
        @(Get-ChildItem -LiteralPath $dir -Force).Name | Should -BeNullOrEmpty -Because 'neither the output nor its temp file may stay'
    }
}

Describe 'Tensor objects of a replaced or rewritten file (issue 9 defect 13)' {
    BeforeEach {
        $script:Dir = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        $script:Last = Join-Path $Dir 'last.ckpt'
        Copy-TestFile (Join-Path $Samples 'last.ckpt') $Last
        $script:Tensors = Get-CkptTensor -LiteralPath $Last
    }

    It 'hashes its own file when nothing changed' {
        $fresh = Get-CkptTensor -LiteralPath $Last -Hash
        ($Tensors | Get-CkptTensor -Hash).Sha256 | Should -Be $fresh.Sha256
    }

    It 'refuses to hash last.ckpt after training replaced it (a new file moved over it)' {
        $next = Join-Path $Dir 'last.ckpt.part'
        Copy-TestFile (Join-Path $Samples 'epoch=0-step=10.ckpt') $next
        Move-Item -LiteralPath $next -Destination $Last -Force
        $out = $Tensors | Get-CkptTensor -Hash -ErrorVariable ev -ErrorAction SilentlyContinue
        $out | Should -BeNullOrEmpty
        $ev.Count | Should -Be $Tensors.Count
        $ev[0].FullyQualifiedErrorId | Should -BeExactly "CheckpointChangedWhileReading,$Id"
        $ev[0].CategoryInfo.Category | Should -Be 'ReadError'
        $ev[0].Exception.Message | Should -Match 'replaced'
        $Tensors | Where-Object Sha256 | Should -BeNullOrEmpty -Because 'no hash of the new file may be attached to the old metadata'
    }

    It 'refuses statistics and ToArray() after the file was rewritten in place' {
        [System.IO.File]::WriteAllBytes($Last, [System.IO.File]::ReadAllBytes((Join-Path $Samples 'epoch=1-step=20.ckpt')))
        $Tensors | Get-CkptTensor -Statistics -ErrorVariable ev -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $ev[0].FullyQualifiedErrorId | Should -BeExactly "CheckpointChangedWhileReading,$Id"
        { $Tensors[0].ToArray() } | Should -Throw -ExpectedMessage '*rewritten since it was opened*'
    }
}

Describe 'Sizes that overflow 64 bits (issue 25 item 7)' {
    It 'Get-CkptInfo reports CheckpointLimitExceeded naming the tensor, not an internal error' {
        . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
        Import-LightningCkptModule
        $file = Join-Path $TestDrive 'huge.safetensors'
        $header = [Text.Encoding]::UTF8.GetBytes('{"w": {"dtype": "F32", "shape": [4611686018427387904], "data_offsets": [0, 0]}}')
        [IO.File]::WriteAllBytes($file, [BitConverter]::GetBytes([long]$header.Length) + $header)
        Get-CkptInfo -LiteralPath $file -ErrorVariable ev -ErrorAction SilentlyContinue
        $ev[0].FullyQualifiedErrorId | Should -BeExactly 'CheckpointLimitExceeded,LightningCkpt.Commands.GetCkptInfoCommand'
        $ev[0].Exception.Message | Should -Match "'w' of shape \[4611686018427387904\] has more than"
    }
}

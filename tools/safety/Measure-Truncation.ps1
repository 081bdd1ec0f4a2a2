<#
.SYNOPSIS
    Issue 12's timed truncation trials on the 1.3 GB bench checkpoint: a data cmdlet reads a private copy in its
    own pwsh process and, $Delay seconds after its first call starts, the copy is truncated in place (to half, or to nothing). Each trial must
    end with the process alive (exit 0; SIGBUS would be 135) and every error a documented ErrorRecord; the script
    prints how long after the truncation the process ended.

.DESCRIPTION
    The checkpoint is the benchmark's (bench/README.md): $Bench/bench_a.ckpt, made by `bench/bench_torch.py make
    DIR` when missing. Each trial copies it to $Work (1.3 GB) so the original stays intact.

.EXAMPLE
    dotnet pwsh tools/safety/Measure-Truncation.ps1            # after ./build.ps1 -Task Build -Configuration Release
#>
param(
    [string] $Module = (Join-Path $PSScriptRoot '../../out/LightningCkpt'),
    [string] $Bench = '/tmp/ckbench',
    [string] $Work = '/tmp/cktrunc',
    [string[]] $Kind = @('HashStats', 'CheckValues', 'Compare', 'Select', 'Merge'),
    [string[]] $Cut = @('Half', 'Zero'),
    # seconds between the reader's first call (its -Ready file) and the truncation
    [double] $Delay = 1.5,
    [string] $Python = '/usr/bin/python3'
)
$ErrorActionPreference = 'Stop'
$documented = & (Join-Path $PSScriptRoot 'DocumentedErrorIds.ps1')
$Module = (Resolve-Path -LiteralPath $Module).ProviderPath
$source = Join-Path $Bench 'bench_a.ckpt'
if (-not (Test-Path -LiteralPath $source)) {
    & $Python (Join-Path $PSScriptRoot '../../bench/bench_torch.py') make $Bench
    if ($LASTEXITCODE) { throw "bench_torch.py make failed with exit code $LASTEXITCODE" }
}
$pwsh = foreach ($n in 'pwsh', 'pwsh.exe') { $p = Join-Path $PSHOME $n; if (Test-Path -LiteralPath $p -PathType Leaf) { $p; break } }
$pwshArgs = if ($pwsh) { @() } else { $pwsh = 'dotnet'; @(Join-Path $PSHOME 'pwsh.dll') }
$null = New-Item -ItemType Directory -Path $Work -Force
$victim = Join-Path $Work 'last.ckpt'

$rows = foreach ($k in $Kind) {
    foreach ($c in $Cut) {
        Copy-Item -LiteralPath $source -Destination $victim -Force
        $result = Join-Path $Work "r-$k-$c.json"
        $ready = Join-Path $Work "ready-$k-$c"
        Remove-Item -LiteralPath $result, $ready -ErrorAction SilentlyContinue
        $psi = [System.Diagnostics.ProcessStartInfo]::new($pwsh)
        foreach ($a in $pwshArgs + @('-NoProfile', '-NonInteractive', '-File', (Join-Path $PSScriptRoot 'Invoke-RaceReader.ps1'),
                '-Module', $Module, '-Target', $victim, '-Stable', $source, '-Kind', $k, '-Result', $result, '-Repeat', 1,
                '-Documented', ($documented -join ','), '-Ready', $ready)) { $psi.ArgumentList.Add($a) }
        $psi.UseShellExecute = $false
        $psi.RedirectStandardError = $true
        $proc = [System.Diagnostics.Process]::Start($psi)
        $stderr = $proc.StandardError.ReadToEndAsync()
        while (-not (Test-Path -LiteralPath $ready) -and -not $proc.HasExited) { Start-Sleep -Milliseconds 20 }
        $endedEarly = $proc.WaitForExit([int]($Delay * 1000))
        $length = (Get-Item -LiteralPath $victim).Length
        $fs = [System.IO.FileStream]::new($victim, 'Open', 'Write', 'ReadWrite, Delete')
        $fs.SetLength($(if ($c -eq 'Half') { [long]($length / 2) } else { 0 }))
        $fs.Dispose()
        $clock = [System.Diagnostics.Stopwatch]::StartNew()
        $inTime = $proc.WaitForExit(120000)
        $clock.Stop()
        if (-not $inTime) { Stop-Process -Id $proc.Id }
        $json = if (Test-Path -LiteralPath $result) { Get-Content -LiteralPath $result -Raw | ConvertFrom-Json } else { $null }
        [pscustomobject]@{
            Kind          = $k
            Cut           = $c
            ExitCode      = $proc.ExitCode
            Crashed       = -not $inTime -or $proc.ExitCode -ne 0 -or -not $json
            EndedBeforeCut = $endedEarly
            SecondsAfterCut = [math]::Round($clock.Elapsed.TotalSeconds, 2)
            Outcome       = if (-not $json) { "no result: $($stderr.Result)" } elseif ($json.Terminating) { "FAILED: $($json.Terminating)" } elseif ($json.ErrorIds) { ($json.ErrorIds | Sort-Object -Unique) -join ', ' } else { 'succeeded' }
        }
    }
}
Remove-Item -LiteralPath $victim -ErrorAction SilentlyContinue
$rows | Format-Table -AutoSize | Out-String -Width 200
$bad = @($rows | Where-Object { $_.Crashed -or $_.Outcome -like 'FAILED*' -or @($_.Outcome -split ', ' | Where-Object { $_ -notin $documented -and $_ -ne 'succeeded' }).Count })
"Truncation trials: $(@($rows).Count), crashed processes: $(@($rows | Where-Object Crashed).Count), unclean outcomes: $($bad.Count), ended before the cut: $(@($rows | Where-Object EndedBeforeCut).Count)"
if ($bad) { exit 1 }

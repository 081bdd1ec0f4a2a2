<#
.SYNOPSIS
    Issue 12's race: a torch.save loop rewrites a checkpoint in place while 60 reader processes run the real cmdlets
    on it. Counts crashed processes (no result / non-zero exit, e.g. SIGBUS = 135), terminating errors, and the
    ErrorRecord ids seen, each of which must be a documented one (about_LightningCkpt). Takes ~5 minutes.

.EXAMPLE
    dotnet pwsh tools/safety/Measure-RewriteReaders.ps1            # after ./build.ps1 -Task Build -Configuration Release
#>
param(
    [string] $Module = (Join-Path $PSScriptRoot '../../out/LightningCkpt'),
    [string] $Work = '/tmp/ckrewrite',
    [int] $Readers = 60,
    # reader processes at a time (the machine is shared)
    [int] $Parallel = 6,
    # calls of its cmdlet per reader process
    [int] $Repeat = 2,
    [double] $SizeMB = 64,
    [string] $Python = '/usr/bin/python3'
)
$ErrorActionPreference = 'Stop'
$documented = & (Join-Path $PSScriptRoot 'DocumentedErrorIds.ps1')
$kinds = 'Info', 'HashStats', 'CheckValues', 'Compare', 'Select', 'Merge'
$Module = (Resolve-Path -LiteralPath $Module).ProviderPath
Import-Module -Name $Module
$pwsh = foreach ($n in 'pwsh', 'pwsh.exe') { $p = Join-Path $PSHOME $n; if (Test-Path -LiteralPath $p -PathType Leaf) { $p; break } }
$pwshArgs = if ($pwsh) { @() } else { $pwsh = 'dotnet'; @(Join-Path $PSHOME 'pwsh.dll') }

if (Test-Path -LiteralPath $Work) { Remove-Item -LiteralPath $Work -Recurse -Force }
$null = New-Item -ItemType Directory -Path $Work
$target = Join-Path $Work 'last.ckpt'
$stable = Join-Path $Work 'stable.ckpt'
$stop = Join-Path $Work 'stop'

$loop = Start-Process -FilePath $Python -ArgumentList (Join-Path $PSScriptRoot 'rewrite_loop.py'), $target, $SizeMB, $stop `
    -RedirectStandardOutput (Join-Path $Work 'saves.txt') -RedirectStandardError (Join-Path $Work 'loop-errors.txt') -PassThru
try {
while (-not (Test-Path -LiteralPath $target) -or (Get-Item -LiteralPath $target).Length -lt $SizeMB * 1MB * 0.9) { Start-Sleep -Milliseconds 200 }
Start-Sleep -Seconds 2
Copy-Item -LiteralPath $target -Destination $stable
# a copy taken mid-save may itself be cut short: take one that reads
while (-not (Get-CkptInfo -LiteralPath $stable -ErrorAction SilentlyContinue)) { Copy-Item -LiteralPath $target -Destination $stable -Force }

$clock = [System.Diagnostics.Stopwatch]::StartNew()
$running = [System.Collections.Generic.List[object]]::new()
$done = [System.Collections.Generic.List[object]]::new()
for ($i = 0; $i -lt $Readers; $i++) {
    while ($running.Count -ge $Parallel) {
        foreach ($r in @($running)) { if ($r.Process.HasExited) { $null = $running.Remove($r); $done.Add($r) } }
        Start-Sleep -Milliseconds 100
    }
    $kind = $kinds[$i % $kinds.Count]
    $result = Join-Path $Work "r$i.json"
    $psi = [System.Diagnostics.ProcessStartInfo]::new($pwsh)
    foreach ($a in $pwshArgs + @('-NoProfile', '-NonInteractive', '-File', (Join-Path $PSScriptRoot 'Invoke-RaceReader.ps1'),
            '-Module', $Module, '-Target', $target, '-Stable', $stable, '-Kind', $kind, '-Result', $result, '-Repeat', $Repeat, '-Documented', ($documented -join ','))) { $psi.ArgumentList.Add($a) }
    $psi.RedirectStandardError = $true
    $psi.UseShellExecute = $false
    $proc = [System.Diagnostics.Process]::Start($psi)
    $running.Add([pscustomobject]@{ Index = $i; Kind = $kind; Result = $result; Process = $proc; Stderr = $proc.StandardError.ReadToEndAsync() })
}
foreach ($r in $running) { $r.Process.WaitForExit(); $done.Add($r) }
$clock.Stop()
}
finally {
    # the loop ends at its next save once the stop file exists; only if it does not, it is ended by its id
    $null = New-Item -ItemType File -Path $stop -Force
    if (-not $loop.WaitForExit(30000)) { Stop-Process -Id $loop.Id }
}
$saves = (Get-Content -LiteralPath (Join-Path $Work 'saves.txt') -Raw).Trim()

$rows = foreach ($r in $done | Sort-Object Index) {
    $json = if (Test-Path -LiteralPath $r.Result) { Get-Content -LiteralPath $r.Result -Raw | ConvertFrom-Json } else { $null }
    [pscustomobject]@{
        Kind        = $r.Kind
        ExitCode    = $r.Process.ExitCode
        Crashed     = $r.Process.ExitCode -ne 0 -or -not $json
        Calls       = if ($json) { $json.Calls } else { 0 }
        Succeeded   = if ($json) { $json.Succeeded } else { 0 }
        ErrorIds    = if ($json) { @($json.ErrorIds) } else { @() }
        Terminating = if ($json) { $json.Terminating } else { $r.Stderr.Result }
    }
}
$ids = @($rows.ErrorIds | Where-Object { $_ })
$undocumented = @($ids | Where-Object { $_ -notin $documented } | Sort-Object -Unique)
"Rewrite race: $Readers reader processes ($Parallel at a time) against $SizeMB MB rewritten in place by torch.save $saves times, in $([int]$clock.Elapsed.TotalSeconds) s"
"Crashed processes: $(@($rows | Where-Object Crashed).Count); terminating errors: $(@($rows | Where-Object Terminating).Count); undocumented error ids: $(if ($undocumented) { $undocumented -join ', ' } else { 'none' })"
$rows | Group-Object Kind | ForEach-Object {
    $g = $_.Group
    $idText = ($g.ErrorIds | Where-Object { $_ } | Group-Object | ForEach-Object { "$($_.Name) x$($_.Count)" }) -join ', '
    '{0,-12} {1,2} processes, {2,3} calls: {3,3} succeeded; errors: {4}' -f $_.Name, $g.Count, ($g | Measure-Object Calls -Sum).Sum, ($g | Measure-Object Succeeded -Sum).Sum, $(if ($idText) { $idText } else { 'none' })
}
foreach ($r in $rows | Where-Object { $_.Crashed -or $_.Terminating }) { "  FAILED $($r.Kind) exit $($r.ExitCode): $($r.Terminating)" }
if (@($rows | Where-Object { $_.Crashed -or $_.Terminating }).Count -or $undocumented) { exit 1 }

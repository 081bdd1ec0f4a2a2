<#
.SYNOPSIS
    Get-CkptInfo's core (CkptInfo.Read) called -Calls times in one fresh PowerShell after Import-Module, with the
    module's linux-x64 ReadyToRun Core and with its precompiled code ignored (JIT from IL, as on every other
    platform), side by side: first call, calls 2-200, 201-999, 1000-1199, 2000-2199 and the last 200.

.DESCRIPTION
    The bench's `--only meta` row runs Core from IL in a plain .NET process; this is the same metadata path as a pwsh
    session runs it. ReadyToRun code starts optimised but still tiers up (ReadyToRun -> instrumented Tier1 -> Tier1),
    so the windows show where each variant reaches its steady state. Processes alternate (ReadyToRun, IL, ...) so
    both see the same machine; the load average is printed beside the figures.

.EXAMPLE
    flock /tmp/bench.lock /tmp/pwshtool/pwsh -NoProfile ./bench/Measure-ModuleCalls.ps1 -Runs 2
#>
[CmdletBinding()]
param(
    [string] $File = '/tmp/ckbench/bench_a.ckpt',
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/LightningCkpt'),
    [int] $Runs = 1,
    [ValidateRange(1200, 100000)]
    [int] $Calls = 3000,
    [string] $Shell = $(if (Test-Path -LiteralPath /tmp/pwshtool/pwsh) { '/tmp/pwshtool/pwsh' } else { (Get-Command pwsh -CommandType Application | Select-Object -First 1).Source })
)

$ErrorActionPreference = 'Stop'
if (-not (Test-Path -LiteralPath $File)) { throw "No checkpoint at $File; make it with the bench (bench/README.md)." }
$ModulePath = (Resolve-Path -LiteralPath $ModulePath).Path
. (Join-Path $PSScriptRoot 'ChildShell.ps1')

# The child prints one line: the Core it loaded (1 = the linux-x64 image), gen 2 collections, then each window's
# median and mean, tab-separated.
$child = @'
Import-Module $args[0]
$file = $args[1]; $n = [int]$args[2]
$t = [double[]]::new($n); $sw = [Diagnostics.Stopwatch]::new()
$g2 = [GC]::CollectionCount(2)
for ($i = 0; $i -lt $n; $i++) { $sw.Restart(); $null = [LightningCkpt.CkptInfo]::Read($file); $t[$i] = $sw.Elapsed.TotalMilliseconds }
$g2 = [GC]::CollectionCount(2) - $g2
$out = @([int]([LightningCkpt.CkptInfo].Assembly.Location -like '*linux-x64*'), $g2, $t[0])
foreach ($w in @(@(1, 199), @(200, 999), @(1000, 1199), @(2000, 2199), @(($n - 200), ($n - 1)))) {
    if ($w[1] -ge $n) { $out += [double]::NaN, [double]::NaN; continue }
    $s = [double[]]$t[$w[0]..$w[1]]; [Array]::Sort($s)
    $out += $s[[int]($s.Count / 2)], ($s | Measure-Object -Average).Average
}
$out -join "`t"
'@
$script = Join-Path ([IO.Path]::GetTempPath()) ("ckpt-calls-" + [guid]::NewGuid().ToString('N') + '.ps1')
Set-Content -LiteralPath $script -Value $child

function Invoke-Child([switch] $NoReadyToRun) {
    Invoke-ChildShell -Shell $Shell -Path $script -Arguments $ModulePath, $File, $Calls -NoReadyToRun:$NoReadyToRun
}

$loadBefore = Get-Load
$rows = @()
try {
    for ($i = 0; $i -lt $Runs; $i++) {
        $rows += [pscustomobject]@{ Variant = 'ReadyToRun'; Figures = Invoke-Child }
        $rows += [pscustomobject]@{ Variant = 'IL (ReadyToRun code ignored)'; Figures = Invoke-Child -NoReadyToRun }
    }
}
finally { Remove-Item -LiteralPath $script -Force }

$f = { param($v) if ([double]::IsNaN($v)) { '-' } else { $v.ToString('F3', [Globalization.CultureInfo]::InvariantCulture) } }
Write-Host "CkptInfo.Read in one pwsh after Import-Module, $Calls calls, ms (median / mean); load average before $loadBefore, after $(Get-Load)"
Write-Host '| Core | first | 2-200 | 201-999 | 1000-1199 | 2000-2199 | last 200 | gen2 |'
Write-Host '|---|---:|---:|---:|---:|---:|---:|---:|'
foreach ($r in $rows) {
    $x = $r.Figures
    $label = if ($x[0] -eq 1) { $r.Variant } else { "$($r.Variant), IL-only Core loaded" }
    $cells = for ($k = 3; $k -lt 13; $k += 2) { "$(& $f $x[$k]) / $(& $f $x[$k + 1])" }
    Write-Host ("| {0} | {1} | {2} | {3} |" -f $label, (& $f $x[2]), ($cells -join ' | '), $x[1])
}

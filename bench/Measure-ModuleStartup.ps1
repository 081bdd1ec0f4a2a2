<#
.SYNOPSIS
    Session start of the module: Import-Module + the first Get-CkptInfo, each in a fresh PowerShell process, against
    issue 11's goal of 150 ms.

.DESCRIPTION
    Runs -Runs fresh processes of -Shell (pwsh -NoProfile) and reports the median of:
      cold     the stopwatch starts at the process's first statement, before Import-Module: PowerShell's own first
               module import and command lookup are included, as a user typing the two commands at a new prompt pays;
      ours     the same two commands after PowerShell has warmed itself up (a cmdlet of an auto-loaded module and a
               pipeline ran first): what the module itself costs, split into Import-Module and the first call, with
               CPU time and the methods the JIT compiled in each (System.Runtime.JitInfo, .NET 6+);
               The line under it says which Core served the calls (on linux-x64, the ReadyToRun image of build.ps1);
      ours, IL the same with the runtime told to ignore that image's precompiled code (DOTNET_ReadyToRunExcludeList),
               i.e. what every PowerShell without a ReadyToRun image for its platform runs (Windows, macOS, Arm);
      shape    PowerShell's floor for a module like ours, warmed up as 'ours': a binary module built under the temp
               folder with our manifest and format file whose only cmdlet, Get-CkptInfo, returns the file's length;
               ours - shape is what our own code costs at session start;
      floor    PowerShell's own share of 'cold': the same cold stopwatch around importing and calling a built-in
               binary module's cmdlet (Microsoft.PowerShell.Utility's Get-Random), so cold - floor is ours.
    The machine's load average is printed beside the figures: on a shared machine, quote them together.

.EXAMPLE
    /tmp/pwshtool/pwsh -NoProfile ./bench/Measure-ModuleStartup.ps1 -Runs 9
#>
[CmdletBinding()]
param(
    [string] $File = '/tmp/ckbench/bench_a.ckpt',
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/LightningCkpt'),
    [int] $Runs = 7,
    [double] $GoalMs = 150,
    # The PowerShell to start: the pinned one (/tmp/pwshtool/pwsh) when present, else pwsh on PATH.
    [string] $Shell = $(if (Test-Path -LiteralPath /tmp/pwshtool/pwsh) { '/tmp/pwshtool/pwsh' } else { (Get-Command pwsh -CommandType Application | Select-Object -First 1).Source })
)

$ErrorActionPreference = 'Stop'
if (-not (Test-Path -LiteralPath $File)) { throw "No checkpoint at $File; make it with the bench (bench/README.md)." }
$ModulePath = (Resolve-Path -LiteralPath $ModulePath).Path
$shell = $Shell

. (Join-Path $PSScriptRoot 'ChildShell.ps1')

# Each child prints one line of tab-separated figures; the file and module path come in as arguments.
$cold = @'
$sw = [Diagnostics.Stopwatch]::StartNew()
Import-Module $args[0]
$null = Get-CkptInfo -LiteralPath $args[1]
$sw.Elapsed.TotalMilliseconds
'@
$floor = @'
$sw = [Diagnostics.Stopwatch]::StartNew()
Import-Module Microsoft.PowerShell.Utility
$null = Get-Random -Maximum 10
$sw.Elapsed.TotalMilliseconds
'@
$ours = @'
$null = Get-Item -LiteralPath $args[1]; $null = Get-Date | Select-Object -First 1
function Snap { @([Diagnostics.Stopwatch]::GetTimestamp(), [Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime.TotalMilliseconds, [System.Runtime.JitInfo]::GetCompiledMethodCount($false)) }
$a = Snap
Import-Module $args[0]
$b = Snap
$null = Get-CkptInfo -LiteralPath $args[1]
$c = Snap
$null = Get-CkptInfo -LiteralPath $args[1]
$d = Snap
$ms = { param($x, $y) ($y[0] - $x[0]) * 1000.0 / [Diagnostics.Stopwatch]::Frequency }
$core = 'LightningCkpt.CkptInfo' -as [type]
$r2r = [int]($null -ne $core -and $core.Assembly.Location -like '*linux-x64*')
(& $ms $a $b), ($b[1] - $a[1]), ($b[2] - $a[2]), (& $ms $b $c), ($c[1] - $b[1]), ($c[2] - $b[2]), (& $ms $c $d), $r2r -join "`t"
'@

$scriptDir = Join-Path ([IO.Path]::GetTempPath()) ("ckpt-startup-" + [guid]::NewGuid().ToString('N'))
$null = New-Item -ItemType Directory -Path $scriptDir
# PowerShell's floor for a module of our shape: a binary module named LightningCkpt with the same manifest keys and
# the same format file, whose Get-CkptInfo only returns the file's length. Built once per format file and manifest
# under the temp folder (the .NET SDK and the PowerShellStandard.Library package, as for the module itself).
function Get-FloorModule {
    $manifest = Get-Content -Path (Join-Path $ModulePath '*/LightningCkpt.psd1') -Raw
    $format = Get-Content -Path (Join-Path $ModulePath '*/LightningCkpt.format.ps1xml') -Raw
    $key = [BitConverter]::ToString([Security.Cryptography.SHA256]::Create().ComputeHash([Text.Encoding]::UTF8.GetBytes($manifest + $format))).Replace('-', '').Substring(0, 16)
    $root = Join-Path ([IO.Path]::GetTempPath()) "ckpt-startup-floor-$key"
    $module = Join-Path $root 'module/LightningCkpt'
    if (Test-Path -LiteralPath (Join-Path $module '0.1.0/LightningCkpt.dll')) { return $module }
    $src = Join-Path $root 'src'
    $null = New-Item -ItemType Directory -Path $src, (Join-Path $module '0.1.0') -Force
    Set-Content -LiteralPath (Join-Path $src 'Floor.csproj') -Value @'
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>netstandard2.0</TargetFramework><AssemblyName>LightningCkpt</AssemblyName></PropertyGroup>
  <ItemGroup><PackageReference Include="PowerShellStandard.Library" Version="5.1.1" PrivateAssets="all" /></ItemGroup>
</Project>
'@
    Set-Content -LiteralPath (Join-Path $src 'GetCkptInfoCommand.cs') -Value @'
using System.Management.Automation;
[Cmdlet(VerbsCommon.Get, "CkptInfo")]
public sealed class GetCkptInfoCommand : PSCmdlet
{
    [Parameter(Mandatory = true)] public string[] LiteralPath { get; set; } = new string[0];
    protected override void ProcessRecord() { foreach (var p in LiteralPath) WriteObject(new System.IO.FileInfo(p).Length); }
}
'@
    $out = & dotnet build (Join-Path $src 'Floor.csproj') -c Release -o (Join-Path $root 'bin') --nologo -v quiet 2>&1
    if ($LASTEXITCODE) { throw "building the floor module failed: $out" }
    Copy-Item -LiteralPath (Join-Path $root 'bin/LightningCkpt.dll') -Destination (Join-Path $module '0.1.0')
    Set-Content -LiteralPath (Join-Path $module '0.1.0/LightningCkpt.format.ps1xml') -Value $format
    Set-Content -LiteralPath (Join-Path $module '0.1.0/LightningCkpt.psd1') -Value $manifest
    $module
}

function Invoke-Child([string] $Script, [switch] $NoReadyToRun, [string] $Module = $ModulePath) {
    $path = Join-Path $scriptDir ("child-" + [Math]::Abs($Script.GetHashCode()) + ".ps1")
    if (-not (Test-Path -LiteralPath $path)) { Set-Content -LiteralPath $path -Value $Script }
    Invoke-ChildShell -Shell $shell -Path $path -Arguments $Module, $File -NoReadyToRun:$NoReadyToRun
}

function Get-Median([double[]] $Values) {
    $s = $Values | Sort-Object
    if ($s.Count % 2) { $s[[int][math]::Floor($s.Count / 2)] } else { ($s[$s.Count / 2 - 1] + $s[$s.Count / 2]) / 2 }
}

$loadBefore = Get-Load
$floorModule = Get-FloorModule
$coldMs = @(); $floorMs = @(); $rows = @(); $ilRows = @(); $shapeRows = @()
try {
    for ($i = 0; $i -lt $Runs; $i++) {
        # interleaved, so all five see the same machine state
        $coldMs += (Invoke-Child $cold)[0]
        $floorMs += (Invoke-Child $floor)[0]
        $rows += , (Invoke-Child $ours)
        $ilRows += , (Invoke-Child $ours -NoReadyToRun)
        $shapeRows += , (Invoke-Child $ours -Module $floorModule)
    }
}
finally { Remove-Item -LiteralPath $scriptDir -Recurse -Force }
$col = { param($k, $set = $rows) Get-Median @($set | ForEach-Object { $_[$k] }) }
$coldMedian = Get-Median $coldMs
$floorMedian = Get-Median $floorMs
$importMs = & $col 0; $firstMs = & $col 3
$oursMs = Get-Median @($rows | ForEach-Object { $_[0] + $_[3] })
$ilMs = Get-Median @($ilRows | ForEach-Object { $_[0] + $_[3] })
$shapeMs = Get-Median @($shapeRows | ForEach-Object { $_[0] + $_[3] })
$coreKind = if (@($rows | Where-Object { $_[7] -eq 1 }).Count -eq $rows.Count) { 'linux-x64 ReadyToRun Core' } elseif (@($rows | Where-Object { $_[7] -eq 1 }).Count) { 'ReadyToRun Core in some runs only' } else { 'IL-only Core (no ReadyToRun image for this platform)' }

$f = { param($v) $v.ToString('F1', [Globalization.CultureInfo]::InvariantCulture) }
Write-Host "Import-Module + first Get-CkptInfo, $Runs fresh $shell processes each, medians; load average before $loadBefore, after $(Get-Load)"
Write-Host ("  cold (stopwatch from the first statement):     {0} ms   (min {1}, max {2})" -f (& $f $coldMedian), (& $f ($coldMs | Measure-Object -Minimum).Minimum), (& $f ($coldMs | Measure-Object -Maximum).Maximum))
Write-Host ("  PowerShell's own share (built-in module, cold): {0} ms;  cold minus it: {1} ms" -f (& $f $floorMedian), (& $f ($coldMedian - $floorMedian)))
Write-Host ("  ours, PowerShell warmed up:                     {0} ms = Import-Module {1} ms (cpu {2} ms, {3} methods JIT-compiled) + first Get-CkptInfo {4} ms (cpu {5} ms, {6} methods); second call {7} ms" -f `
        (& $f $oursMs), (& $f $importMs), (& $f (& $col 1)), (& $col 2), (& $f $firstMs), (& $f (& $col 4)), (& $col 5), (& $f (& $col 6)))
Write-Host "                                                 ($coreKind)"
Write-Host ("  ours, its ReadyToRun code ignored (IL JIT):     {0} ms = Import-Module {1} ms (cpu {2} ms, {3} methods JIT-compiled) + first Get-CkptInfo {4} ms (cpu {5} ms, {6} methods); second call {7} ms" -f `
        (& $f $ilMs), (& $f (& $col 0 $ilRows)), (& $f (& $col 1 $ilRows)), (& $col 2 $ilRows), (& $f (& $col 3 $ilRows)), (& $f (& $col 4 $ilRows)), (& $col 5 $ilRows), (& $f (& $col 6 $ilRows)))
Write-Host ("  floor of our shape (same manifest + format file, no-op cmdlet), warmed up: {0} ms = Import-Module {1} ms (cpu {2} ms, {3} methods) + first call {4} ms (cpu {5} ms, {6} methods);  ours minus it: {7} ms" -f `
        (& $f $shapeMs), (& $f (& $col 0 $shapeRows)), (& $f (& $col 1 $shapeRows)), (& $col 2 $shapeRows), (& $f (& $col 3 $shapeRows)), (& $f (& $col 4 $shapeRows)), (& $col 5 $shapeRows), (& $f ($oursMs - $shapeMs)))
Write-Host ''
Write-Host '| goal (issue 11) | this run | met |'
Write-Host '|---|---|---|'
Write-Host ("| Import-Module + first Get-CkptInfo ≤ {0} ms, cold process | {1} ms | {2} |" -f $GoalMs, (& $f $coldMedian), $(if ($coldMedian -le $GoalMs) { 'yes' } else { 'no' }))
Write-Host ("| Import-Module + first Get-CkptInfo ≤ {0} ms, PowerShell warmed up | {1} ms | {2} |" -f $GoalMs, (& $f $oursMs), $(if ($oursMs -le $GoalMs) { 'yes' } else { 'no' }))

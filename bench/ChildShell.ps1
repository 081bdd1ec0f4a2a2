# Shared by the session scripts (Measure-ModuleStartup.ps1, Measure-ModuleCalls.ps1), dot-sourced: the load average
# printed beside every figure, and one fresh PowerShell process per measurement that prints its figures tab-separated
# on its last line.

function Get-Load { if (Test-Path /proc/loadavg) { ((Get-Content /proc/loadavg) -split ' ')[0..2] -join ' ' } else { '?' } }

function Invoke-ChildShell([string] $Shell, [string] $Path, [object[]] $Arguments, [switch] $NoReadyToRun) {
    # The runtime's own switch: it loads the linux-x64 Core as usual but ignores its precompiled code (JIT as for IL),
    # which is what every PowerShell without that image runs.
    if ($NoReadyToRun) { $env:DOTNET_ReadyToRunExcludeList = 'LightningCkpt.Core' }
    try { $out = & $Shell -NoProfile -NonInteractive -File $Path @Arguments }
    finally { if ($NoReadyToRun) { Remove-Item Env:DOTNET_ReadyToRunExcludeList } }
    if ($LASTEXITCODE) { throw "child pwsh failed: $out" }
    [double[]](($out | Select-Object -Last 1) -split "`t")
}

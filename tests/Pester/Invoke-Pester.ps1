<#
.SYNOPSIS
    Runs the Pester 5 suite against the built module. build.ps1 -Task Test starts it in a fresh process.

.DESCRIPTION
    Imports Pester by path (tools/pester fetches it from NuGet; no gallery is needed), runs the tests, writes NUnit
    XML and prints the counts as one plain line: "Pester: N passed, N failed, N skipped". The exit code is 0 only
    when at least one test ran and nothing failed: no test, a failed test, or a failed setup block or file is 1.

.EXAMPLE
    dotnet pwsh tests/Pester/Invoke-Pester.ps1 -Path tests/Pester/Test-Ckpt.Tests.ps1 -Output Normal
    One file against the module last built by ./build.ps1 -Task Build.
#>
[CmdletBinding()]
param(
    [string] $ModulePath = (Join-Path $PSScriptRoot '../../out/LightningCkpt'),
    [string] $ResultPath = (Join-Path $PSScriptRoot '../../out/TestResults/Pester.xml'),
    [string] $PesterManifest = (& (Join-Path $PSScriptRoot '../../tools/pester/Get-PesterManifest.ps1')),
    # Test files or folders to run; the whole suite by default.
    [string[]] $Path = @($PSScriptRoot),
    # Only the tests whose full name matches one of these wildcards (Describe, Context and It names joined by '.').
    [string[]] $FullName,
    [ValidateSet('None', 'Normal', 'Detailed', 'Diagnostic')]
    [string] $Output = 'Detailed'
)
$ErrorActionPreference = 'Stop'

Import-Module -Name $PesterManifest -Force
$env:LIGHTNINGCKPT_MODULE = (Resolve-Path -LiteralPath $ModulePath).ProviderPath
$null = New-Item -ItemType Directory -Path ([System.IO.Path]::GetDirectoryName([System.IO.Path]::GetFullPath($ResultPath))) -Force

$config = New-PesterConfiguration
$config.Run.Path = $Path
$config.Run.PassThru = $true
if ($FullName) { $config.Filter.FullName = $FullName }
$config.Output.Verbosity = $Output
$config.TestResult.Enabled = $true
$config.TestResult.OutputFormat = 'NUnitXml'
$config.TestResult.OutputPath = $ResultPath
$result = Invoke-Pester -Configuration $config

"Pester: $($result.PassedCount) passed, $($result.FailedCount) failed, $($result.SkippedCount) skipped"
$broken = $result.FailedBlocksCount + $result.FailedContainersCount
if ($broken) { "Pester: $($result.FailedBlocksCount) setup blocks and $($result.FailedContainersCount) test files failed" }
if ($result.PassedCount -eq 0) { 'Pester: no test ran' }
exit $(if ($result.FailedCount -or $broken -or $result.PassedCount -eq 0) { 1 } else { 0 })

<#
.SYNOPSIS
    Runs the Pester 5 suite against the built module. build.ps1 -Task Test starts it in a fresh process.
#>
[CmdletBinding()]
param(
    [string] $ModulePath = (Join-Path $PSScriptRoot '../../out/LightningCkpt'),
    [string] $ResultPath = (Join-Path $PSScriptRoot '../../out/TestResults/Pester.xml')
)
$ErrorActionPreference = 'Stop'

Import-Module Pester -MinimumVersion 5.0.0
$env:LIGHTNINGCKPT_MODULE = (Resolve-Path -LiteralPath $ModulePath).ProviderPath

$config = New-PesterConfiguration
$config.Run.Path = $PSScriptRoot
$config.Run.Exit = $true
$config.Run.Throw = $true
$config.Output.Verbosity = 'Detailed'
$config.TestResult.Enabled = $true
$config.TestResult.OutputFormat = 'NUnitXml'
$config.TestResult.OutputPath = $ResultPath
Invoke-Pester -Configuration $config

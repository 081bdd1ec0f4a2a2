<#
.SYNOPSIS
    Builds, tests and packages the LightningCkpt module.

.DESCRIPTION
    Build:   dotnet publish src/LightningCkpt, then copy an explicit allow-list of files into
             out/LightningCkpt/<ModuleVersion>/ and verify the result with Test-ModuleManifest.
    Test:    dotnet test of the solution, then the Pester 5 suite in a fresh PowerShell process
             against the built module; any failure fails the build (NUnit XML in out/TestResults).
    Package: publishes the built module to a local folder repository (out/repo) as a .nupkg.

.EXAMPLE
    ./build.ps1 -Task Build, Test -Configuration Release
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Package')]
    [string[]] $Task = @('Build'),

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Debug'
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$root = $PSScriptRoot
$manifestSource = Join-Path $root 'LightningCkpt.psd1'
$moduleVersion = (Import-PowerShellDataFile -LiteralPath $manifestSource).ModuleVersion
$outRoot = Join-Path $root 'out'
$moduleRoot = Join-Path $outRoot 'LightningCkpt'
$moduleOut = Join-Path $moduleRoot $moduleVersion

function Invoke-Build {
    $publish = Join-Path ([System.IO.Path]::GetTempPath()) ("LightningCkpt-publish-" + [guid]::NewGuid().ToString('N'))
    try {
        & dotnet publish (Join-Path $root 'src/LightningCkpt/LightningCkpt.csproj') -c $Configuration -o $publish --nologo "-p:Version=$moduleVersion"
        if ($LASTEXITCODE) { throw "dotnet publish failed with exit code $LASTEXITCODE" }

        if (Test-Path -LiteralPath $moduleRoot) { Remove-Item -LiteralPath $moduleRoot -Recurse -Force }
        $null = New-Item -ItemType Directory -Path (Join-Path $moduleOut 'en-US') -Force

        # An explicit allow-list: nothing else from the publish folder ships.
        foreach ($name in 'LightningCkpt.dll', 'LightningCkpt.Core.dll') {
            Copy-Item -LiteralPath (Join-Path $publish $name) -Destination $moduleOut
        }
        foreach ($name in 'LightningCkpt.psd1', 'LightningCkpt.format.ps1xml') {
            Copy-Item -LiteralPath (Join-Path $root $name) -Destination $moduleOut
        }
        foreach ($name in 'LightningCkpt.dll-Help.xml', 'about_LightningCkpt.help.txt') {
            Copy-Item -LiteralPath (Join-Path $root "en-US/$name") -Destination (Join-Path $moduleOut 'en-US')
        }
    }
    finally {
        if (Test-Path -LiteralPath $publish) { Remove-Item -LiteralPath $publish -Recurse -Force }
    }

    $sma = Get-ChildItem -LiteralPath $outRoot -Recurse -Filter 'System.Management.Automation.dll'
    if ($sma) { throw "The PowerShell reference assembly must not ship with the module: $($sma.FullName -join ', ')" }

    $manifest = Test-ModuleManifest -Path (Join-Path $moduleOut 'LightningCkpt.psd1')
    if ($manifest.Version -ne [version]$moduleVersion) { throw "Built manifest has version $($manifest.Version), expected $moduleVersion" }
    Write-Host "Built LightningCkpt $moduleVersion into $moduleOut"
}

function Invoke-Test {
    & dotnet test (Join-Path $root 'LightningCkpt.slnx') -c $Configuration --nologo
    if ($LASTEXITCODE) { throw "dotnet test failed with exit code $LASTEXITCODE" }

    if (-not (Test-Path -LiteralPath (Join-Path $moduleOut 'LightningCkpt.psd1'))) {
        throw "The module is not built; run ./build.ps1 -Task Build first (or -Task Build, Test)."
    }

    $pester = Get-Module -ListAvailable -Name Pester | Where-Object Version -ge ([version]'5.0.0') | Select-Object -First 1
    if (-not $pester) {
        Write-Host 'Installing Pester 5 for the current user'
        if (Get-Command Install-PSResource -ErrorAction SilentlyContinue) {
            Install-PSResource -Name Pester -Version '[5.0.0,6.0.0)' -Scope CurrentUser -TrustRepository
        }
        else {
            Install-Module -Name Pester -MinimumVersion 5.0.0 -MaximumVersion 5.99.99 -Scope CurrentUser -Force -SkipPublisherCheck
        }
    }

    $results = Join-Path $outRoot 'TestResults'
    $null = New-Item -ItemType Directory -Path $results -Force
    $resultFile = Join-Path $results 'Pester.xml'

    # A fresh process: a loaded module DLL cannot be unloaded, and a stale session hides bugs.
    $shell = (Get-Process -Id $PID).Path
    & $shell -NoProfile -NonInteractive -File (Join-Path $root 'tests/Pester/Invoke-Pester.ps1') -ModulePath $moduleRoot -ResultPath $resultFile
    if ($LASTEXITCODE) { throw "Pester failed (exit code $LASTEXITCODE); see $resultFile" }
}

function Invoke-Package {
    if (-not (Test-Path -LiteralPath (Join-Path $moduleOut 'LightningCkpt.psd1'))) {
        throw "The module is not built; run ./build.ps1 -Task Build, Package."
    }
    $repoPath = Join-Path $outRoot 'repo'
    $null = New-Item -ItemType Directory -Path $repoPath -Force
    $repoName = 'LightningCkpt-Local'

    if (Get-Command Publish-PSResource -ErrorAction SilentlyContinue) {
        if (-not (Get-PSResourceRepository -Name $repoName -ErrorAction SilentlyContinue)) {
            Register-PSResourceRepository -Name $repoName -Uri $repoPath -Trusted
        }
        Publish-PSResource -Path $moduleOut -Repository $repoName
    }
    else {
        if (-not (Get-PSRepository -Name $repoName -ErrorAction SilentlyContinue)) {
            Register-PSRepository -Name $repoName -SourceLocation $repoPath -PublishLocation $repoPath -InstallationPolicy Trusted
        }
        Publish-Module -Path $moduleOut -Repository $repoName
    }
    Get-ChildItem -LiteralPath $repoPath -Filter 'LightningCkpt*.nupkg' | ForEach-Object { Write-Host "Packaged $($_.FullName)" }
}

foreach ($t in $Task) {
    switch ($t) {
        'Build' { Invoke-Build }
        'Test' { Invoke-Test }
        'Package' { Invoke-Package }
    }
}

<#
.SYNOPSIS
    Builds, tests and packages the LightningCkpt module.

.DESCRIPTION
    Build:   dotnet publish src/LightningCkpt, then copy an explicit allow-list of files into
             out/LightningCkpt/<ModuleVersion>/ and verify the result with Test-ModuleManifest. With -ReadyToRun,
             a precompiled copy of LightningCkpt.Core.dll for linux-x64 (tools/r2r) goes into its linux-x64
             subfolder (opt-in: it downloads ~210 MB of crossgen2 and runtime packs once, and saves ~40 ms at the
             first call of a session; see CONTRIBUTING.md).
    Test:    dotnet test of the solution (xunit), then the Pester 5 suite in a fresh PowerShell process against
             the built module, with Pester fetched from NuGet by tools/pester. Prints both suites' counts as
             "xunit: N passed, N failed, N skipped" and "Pester: ..." lines; any failure, or a suite that ran
             nothing, fails the build. Results: out/TestResults/xunit/*.trx and out/TestResults/Pester.xml.
    Package: packs the built module into out/package/LightningCkpt.<ModuleVersion>.nupkg with PSResourceGet's
             Compress-PSResource: no repository is registered and nothing outside out/ is touched. Install it
             from that folder (see README.md). Release packages are built with -ReadyToRun.

.EXAMPLE
    ./build.ps1 -Task Build, Test -Configuration Release

.EXAMPLE
    dotnet tool restore; dotnet pwsh ./build.ps1 -Task Build, Test -Configuration Release
    The same from bash, with the PowerShell this repository pins in .config/dotnet-tools.json.
#>
[CmdletBinding()]
param(
    # Build, Test and/or Package, in that order of mention. "Build,Test" and "Build, Test" both work from bash too
    # (pwsh -File hands the words over as "Build," and "Test").
    [string[]] $Task = @('Build'),

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Debug',

    # Also build and ship the linux-x64 ReadyToRun copy of the Core (first build downloads ~210 MB).
    [switch] $ReadyToRun,

    [Parameter(ValueFromRemainingArguments, DontShow)]
    [string[]] $MoreTasks
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$root = $PSScriptRoot
$manifestSource = Join-Path $root 'LightningCkpt.psd1'
$moduleVersion = (Import-PowerShellDataFile -LiteralPath $manifestSource).ModuleVersion
$outRoot = Join-Path $root 'out'
$moduleRoot = Join-Path $outRoot 'LightningCkpt'
$moduleOut = Join-Path $moduleRoot $moduleVersion
$resultsRoot = Join-Path $outRoot 'TestResults'

$knownTasks = 'Build', 'Test', 'Package'
$Task = @(@($Task) + @($MoreTasks) | ForEach-Object { $_ -split ',' } | ForEach-Object Trim | Where-Object { $_ })
foreach ($t in $Task) {
    if ($t -notin $knownTasks) { throw "Unknown task '$t'; the tasks are $($knownTasks -join ', ')." }
}

function Invoke-Build {
    $publish = Join-Path ([System.IO.Path]::GetTempPath()) ("LightningCkpt-publish-" + [guid]::NewGuid().ToString('N'))
    $r2rPublish = Join-Path ([System.IO.Path]::GetTempPath()) ("LightningCkpt-r2r-" + [guid]::NewGuid().ToString('N'))
    try {
        & dotnet publish (Join-Path $root 'src/LightningCkpt/LightningCkpt.csproj') -c $Configuration -o $publish --nologo -v quiet "-p:Version=$moduleVersion"
        if ($LASTEXITCODE) { throw "dotnet publish failed with exit code $LASTEXITCODE" }

        if (Test-Path -LiteralPath $moduleRoot) { Remove-Item -LiteralPath $moduleRoot -Recurse -Force }
        $null = New-Item -ItemType Directory -Path (Join-Path $moduleOut 'en-US') -Force

        # An explicit allow-list: nothing else from the publish folder ships.
        foreach ($name in 'LightningCkpt.dll', 'LightningCkpt.Core.dll') {
            Copy-Item -LiteralPath (Join-Path $publish $name) -Destination $moduleOut
        }
        foreach ($name in 'LightningCkpt.psd1', 'LightningCkpt.format.ps1xml', 'LICENSE', 'CHANGELOG.md') {
            Copy-Item -LiteralPath (Join-Path $root $name) -Destination $moduleOut
        }
        foreach ($name in 'LightningCkpt.dll-Help.xml', 'about_LightningCkpt.help.txt') {
            Copy-Item -LiteralPath (Join-Path $root "en-US/$name") -Destination (Join-Path $moduleOut 'en-US')
        }

        $imageInfo = Join-Path $root 'tools/r2r/Get-ImageInfo.ps1'
        foreach ($name in 'LightningCkpt.dll', 'LightningCkpt.Core.dll') {
            if (-not (& $imageInfo -LiteralPath (Join-Path $moduleOut $name)).PlatformNeutral) { throw "$name must be IL-only and platform-neutral: Windows PowerShell and pwsh on every OS and CPU load it" }
        }
        if ($ReadyToRun) {
            # The ReadyToRun (precompiled) Core for linux-x64, loaded there by ReadyToRunCore.OnImport instead of the
            # IL-only Core: the first call JIT-compiles ~25 methods instead of ~380. It must be the same build as the
            # IL Core (same MVID).
            & dotnet publish (Join-Path $root 'tools/r2r/LightningCkpt.ReadyToRun.csproj') -c $Configuration -o $r2rPublish --nologo -v quiet "-p:Version=$moduleVersion"
            if ($LASTEXITCODE) { throw "dotnet publish of the ReadyToRun Core failed with exit code $LASTEXITCODE" }
            $ilCore = & $imageInfo -LiteralPath (Join-Path $moduleOut 'LightningCkpt.Core.dll')
            $r2rCore = & $imageInfo -LiteralPath (Join-Path $r2rPublish 'LightningCkpt.Core.dll')
            if (-not $r2rCore.ReadyToRun) { throw "tools/r2r produced no ReadyToRun image" }
            if ($r2rCore.Mvid -ne $ilCore.Mvid) { throw "The ReadyToRun Core ($($r2rCore.Mvid)) is not compiled from the shipped IL Core ($($ilCore.Mvid))" }
            $null = New-Item -ItemType Directory -Path (Join-Path $moduleOut 'linux-x64')
            Copy-Item -LiteralPath (Join-Path $r2rPublish 'LightningCkpt.Core.dll') -Destination (Join-Path $moduleOut 'linux-x64')
        }
    }
    finally {
        foreach ($folder in $publish, $r2rPublish) {
            if (Test-Path -LiteralPath $folder) { Remove-Item -LiteralPath $folder -Recurse -Force }
        }
    }

    $sma = Get-ChildItem -LiteralPath $outRoot -Recurse -Filter 'System.Management.Automation.dll'
    if ($sma) { throw "The PowerShell reference assembly must not ship with the module: $($sma.FullName -join ', ')" }

    $manifest = Test-ModuleManifest -Path (Join-Path $moduleOut 'LightningCkpt.psd1')
    if ($manifest.Version -ne [version]$moduleVersion) { throw "Built manifest has version $($manifest.Version), expected $moduleVersion" }
    $kind = if ($ReadyToRun) { ' with the linux-x64 ReadyToRun Core' } else { '' }
    Write-Host "Built LightningCkpt $moduleVersion into out/LightningCkpt/$moduleVersion$kind"
}

function Get-ChildShell {
    # The shell that runs this script, found from $PSHOME: under the dotnet tool (`dotnet pwsh`) the current process
    # is dotnet itself, so (Get-Process -Id $PID).Path would start dotnet, not PowerShell.
    foreach ($name in 'pwsh', 'pwsh.exe', 'powershell.exe') {
        $path = Join-Path $PSHOME $name
        if (Test-Path -LiteralPath $path -PathType Leaf) { return , @($path) }
    }
    $dll = Join-Path $PSHOME 'pwsh.dll'
    if (Test-Path -LiteralPath $dll -PathType Leaf) { return , @('dotnet', $dll) }
    throw "No PowerShell executable in $PSHOME"
}

function Get-TrxCount([string] $Folder) {
    # Counts every test result of the .trx files dotnet test wrote (one per test project).
    $outcomes = foreach ($file in Get-ChildItem -LiteralPath $Folder -Filter *.trx -Recurse) {
        $trx = [xml](Get-Content -LiteralPath $file.FullName -Raw)
        $trx.TestRun.Results.ChildNodes | Where-Object LocalName -eq 'UnitTestResult' | ForEach-Object outcome
    }
    [pscustomobject]@{
        Passed  = @($outcomes | Where-Object { $_ -eq 'Passed' }).Count
        Failed  = @($outcomes | Where-Object { $_ -in 'Failed', 'Error', 'Timeout', 'Aborted' }).Count
        Skipped = @($outcomes | Where-Object { $_ -in 'NotExecuted', 'Inconclusive' }).Count
    }
}

function Invoke-Test {
    if (-not (Test-Path -LiteralPath (Join-Path $moduleOut 'LightningCkpt.psd1'))) {
        throw "The module is not built; run ./build.ps1 -Task Build, Test."
    }
    $xunitResults = Join-Path $resultsRoot 'xunit'
    if (Test-Path -LiteralPath $xunitResults) { Remove-Item -LiteralPath $xunitResults -Recurse -Force }
    $pesterResult = Join-Path $resultsRoot 'Pester.xml'
    if (Test-Path -LiteralPath $pesterResult) { Remove-Item -LiteralPath $pesterResult -Force }

    # Say once, plainly, whether the real-world corpus is there: without it its tests are skipped.
    $realworld = Join-Path $root '../shared/realworld/files'
    if (Test-Path -LiteralPath $realworld) { Write-Host "Real-world corpus: $((Get-ChildItem -LiteralPath $realworld -File).Count) files in $((Resolve-Path -LiteralPath $realworld).ProviderPath)" }
    else { Write-Host "Real-world corpus: absent ($realworld); the xunit tests that read it are skipped" }

    & dotnet test (Join-Path $root 'LightningCkpt.slnx') -c $Configuration --nologo --logger trx --results-directory $xunitResults
    $xunitExit = $LASTEXITCODE
    $xunit = Get-TrxCount $xunitResults

    # Pester in a fresh process: a loaded module DLL cannot be unloaded, and a stale session hides bugs.
    # Pester runs even when xunit failed, so one run shows both suites' failures.
    $shell = Get-ChildShell
    $pesterManifest = & (Join-Path $root 'tools/pester/Get-PesterManifest.ps1')
    $shellArgs = @($shell | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', (Join-Path $root 'tests/Pester/Invoke-Pester.ps1'),
        '-ModulePath', $moduleRoot, '-ResultPath', $pesterResult, '-PesterManifest', $pesterManifest)
    & $shell[0] @shellArgs
    $pesterExit = $LASTEXITCODE

    Write-Host ''
    Write-Host "xunit: $($xunit.Passed) passed, $($xunit.Failed) failed, $($xunit.Skipped) skipped"
    $pesterLine = if (Test-Path -LiteralPath $pesterResult) {
        $run = ([xml](Get-Content -LiteralPath $pesterResult -Raw)).DocumentElement
        $n = @{}; foreach ($a in 'total', 'failures', 'errors', 'skipped', 'inconclusive') { $n[$a] = [int]$run.GetAttribute($a) }
        $broken = if ($n.errors) { " ($($n.errors) setup blocks or files failed)" } else { '' }
        "Pester: $($n.total - $n.failures - $n.skipped - $n.inconclusive) passed, $($n.failures) failed, $($n.skipped + $n.inconclusive) skipped$broken"
    }
    else { 'Pester: did not run (no result file)' }
    Write-Host $pesterLine
    Write-Host "Test results: $resultsRoot"
    if ($xunitExit -or $xunit.Passed -eq 0) { throw "xunit failed (dotnet test exit code $xunitExit, $($xunit.Passed) passed)" }
    if ($pesterExit) { throw "Pester failed (exit code $pesterExit); see $pesterResult" }
}

function Invoke-Package {
    if (-not (Test-Path -LiteralPath (Join-Path $moduleOut 'LightningCkpt.psd1'))) {
        throw "The module is not built; run ./build.ps1 -Task Build, Package."
    }
    # Compress-PSResource writes the .nupkg without registering a repository: nothing outlives the clone.
    $packageRoot = Join-Path $outRoot 'package'
    if (Test-Path -LiteralPath $packageRoot) { Remove-Item -LiteralPath $packageRoot -Recurse -Force }
    $null = New-Item -ItemType Directory -Path $packageRoot
    Import-Module Microsoft.PowerShell.PSResourceGet -ErrorAction Stop
    Compress-PSResource -Path $moduleOut -DestinationPath $packageRoot
    $package = Get-ChildItem -LiteralPath $packageRoot -Filter 'LightningCkpt*.nupkg'
    if (-not $package) { throw "Compress-PSResource wrote no package into $packageRoot" }
    Write-Host "Packaged $($package.FullName)"
}

foreach ($t in $Task) {
    switch ($t) {
        'Build' { Invoke-Build }
        'Test' { Invoke-Test }
        'Package' { Invoke-Package }
    }
}

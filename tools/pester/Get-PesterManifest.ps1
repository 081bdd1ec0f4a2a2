<#
.SYNOPSIS
    Returns the path of the Pester module manifest the tests use, fetching it from NuGet first if needed.

.DESCRIPTION
    The version is the one Pester.csproj pins beside this script. `dotnet restore` of that project downloads the
    package into out/tools/packages (git-ignored); its tools/ folder is the module, imported by path. No gallery
    (PSGallery, Install-Module) is involved, so this works wherever the .NET SDK can reach NuGet.
#>
[CmdletBinding()]
param()
$ErrorActionPreference = 'Stop'

$project = Join-Path $PSScriptRoot 'Pester.csproj'
$version = ([xml](Get-Content -LiteralPath $project -Raw)).Project.ItemGroup.PackageDownload |
    Where-Object Include -eq 'Pester' | ForEach-Object { $_.Version.Trim('[', ']') }
$manifest = [System.IO.Path]::GetFullPath((Join-Path $PSScriptRoot "../../out/tools/packages/pester/$version/tools/Pester.psd1"))

if (-not (Test-Path -LiteralPath $manifest -PathType Leaf)) {
    & dotnet restore $project --nologo -v quiet | Out-Host
    if ($LASTEXITCODE) { throw "dotnet restore of $project failed with exit code $LASTEXITCODE" }
    if (-not (Test-Path -LiteralPath $manifest -PathType Leaf)) { throw "Pester $version was restored, but $manifest is missing" }
}
$manifest

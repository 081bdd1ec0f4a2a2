# Dot-sourced from BeforeAll blocks (never at discovery time).

$script:RepoRoot = (Resolve-Path -LiteralPath (Join-Path $PSScriptRoot '../..')).ProviderPath

function Import-LightningCkptModule {
    # The BUILT module (out/LightningCkpt/<version>), through its manifest so the format views load.
    $path = if ($env:LIGHTNINGCKPT_MODULE) { $env:LIGHTNINGCKPT_MODULE } else { Join-Path $script:RepoRoot 'out/LightningCkpt' }
    Import-Module -Name $path -Force -ErrorAction Stop
}

function Initialize-CkptTestDrive {
    # The BeforeAll of every cmdlet's tests: the built module, a fresh copy of the test data, and its well-known paths.
    Import-LightningCkptModule
    New-CkptTestData -Root $TestDrive
    $script:V0 = Join-Path $TestDrive 'lightning_logs/version_0/checkpoints'
    $script:Last = Join-Path $script:V0 'last.ckpt'
    $script:Mixed = Join-Path $TestDrive 'mixed'
}

function Copy-TestFile([string] $Source, [string] $Destination) {
    # [System.IO.File]::Copy takes both names literally: 'epoch=3-step=[1].ckpt' stays what it is.
    $dir = [System.IO.Path]::GetDirectoryName($Destination)
    $null = [System.IO.Directory]::CreateDirectory($dir)
    [System.IO.File]::Copy($Source, $Destination, $true)
}

function New-CkptTestData([string] $Root) {
    <#
        $Root/lightning_logs/version_0/checkpoints/  epoch=0-step=10.ckpt epoch=1-step=20.ckpt epoch=2-step=30.ckpt last.ckpt epoch=3-step=[1].ckpt
        $Root/lightning_logs/version_1/checkpoints/  epoch=0-step=15.ckpt epoch=1-step=30.ckpt
        $Root/mixed/   good.ckpt truncated.ckpt text.ckpt not_a_checkpoint.pt
        $Root/plain/   plain_state_dict.pt
    #>
    $samples = Join-Path $script:RepoRoot 'samples/lightning_logs'
    $fixtures = Join-Path $script:RepoRoot 'tests/fixtures/files'
    foreach ($v in 'version_0', 'version_1') {
        foreach ($f in Get-ChildItem -LiteralPath (Join-Path $samples "$v/checkpoints") -Filter *.ckpt) {
            Copy-TestFile $f.FullName (Join-Path $Root "lightning_logs/$v/checkpoints/$($f.Name)")
        }
    }
    $v0 = Join-Path $Root 'lightning_logs/version_0/checkpoints'
    Copy-TestFile (Join-Path $v0 'last.ckpt') (Join-Path $v0 'epoch=3-step=[1].ckpt')

    $mixed = Join-Path $Root 'mixed'
    Copy-TestFile (Join-Path $v0 'last.ckpt') (Join-Path $mixed 'good.ckpt')
    Copy-TestFile (Join-Path $fixtures 'truncated_zip.ckpt') (Join-Path $mixed 'truncated.ckpt')
    Copy-TestFile (Join-Path $fixtures 'not_a_checkpoint.pt') (Join-Path $mixed 'not_a_checkpoint.pt')
    [System.IO.File]::WriteAllText((Join-Path $mixed 'text.ckpt'), "hello, not a checkpoint`n")

    Copy-TestFile (Join-Path $fixtures 'plain_state_dict.pt') (Join-Path $Root 'plain/plain_state_dict.pt')
}

$script:FixtureFiles = Join-Path $script:RepoRoot 'tests/fixtures/files'

function Get-Rendered {
    # What a user sees in a terminal of the given width: the default view of the objects, as rendered by PowerShell.
    param([Parameter(Mandatory)] [object[]] $InputObject, [Parameter(Mandatory)] [int] $Width, [string] $View)
    if ($View) { return ($InputObject | Format-Table -View $View | Out-String -Width $Width) }
    $InputObject | Out-String -Width $Width
}

function Get-HeaderLabels([string] $Text) {
    # The column labels of a rendered table: the words of the line above the first '----' ruler.
    $lines = $Text -split "`r?`n"
    for ($i = 1; $i -lt $lines.Count; $i++) {
        if ($lines[$i] -match '^\s*-{2,}(\s+-{2,})*\s*$') { return @(($lines[$i - 1].Trim() -split '\s+') | Where-Object { $_ }) }
    }
    @()
}

function New-LongNameCopy([string] $Source, [string] $Directory) {
    # A checkpoint with the kind of name real runs produce: longer than a whole 80-column line.
    $name = 'epoch=12-step=123456-val_loss=0.1234-val_acc=0.9876-run=sweep-lr0.0003-bs256-final.ckpt'
    $target = Join-Path $Directory $name
    Copy-TestFile $Source $target
    $target
}

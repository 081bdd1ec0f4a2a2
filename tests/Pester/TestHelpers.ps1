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

# ---- rendered views ---------------------------------------------------------------------------------------------
# The default views are what a user reads, so tests assert on the text PowerShell really prints at a given width
# (80: a default terminal, 120: a wide one), not on property values alone.

function Get-RenderedText {
    <#
        The text Out-String prints for the piped objects at exactly -Width columns, without colour codes, with the
        default view (or the one Format-Table/Format-List gave them if they were piped through it first).
        'Get-CkptInfo a.ckpt | Get-RenderedText -Width 80'
    #>
    param(
        [Parameter(ValueFromPipeline)] $InputObject,
        [Parameter(Mandatory)] [ValidateRange(20, 1000)] [int] $Width
    )
    begin { $items = [System.Collections.Generic.List[object]]::new() }
    process { $items.Add($InputObject) }
    end {
        # $PSStyle exists from PowerShell 7.2 on; Windows PowerShell writes no colour codes anyway.
        $style = Get-Variable -Name PSStyle -ValueOnly -ErrorAction SilentlyContinue
        if (-not $style) { return $items | Out-String -Width $Width }
        $rendering = $style.OutputRendering
        try {
            $style.OutputRendering = 'PlainText'
            $items | Out-String -Width $Width
        }
        finally { $style.OutputRendering = $rendering }
    }
}

function Get-RenderedLine {
    # The lines of a rendered text without trailing blanks and the empty lines around it.
    # '$objects | Get-RenderedText -Width 80 | Get-RenderedLine'
    param([Parameter(Mandatory, ValueFromPipeline)] [string] $Text)
    @($Text.Trim("`r", "`n") -split '\r?\n' | ForEach-Object TrimEnd)
}

function ConvertFrom-RenderedTable {
    <#
        Reads a rendered table back: one object per row, with one property per column header holding the cell's text
        exactly as printed (trimmed; a cut value keeps its '…'), so values with spaces stay whole. Each row also has
        _Group: the group label above its table ('' when there is none), and _Line: the row as printed.
        A header wrapped over several lines is joined into one name. Rows wrapped by -Wrap are not supported.
        'Get-CkptInfo *.ckpt | Get-RenderedText -Width 80 | ConvertFrom-RenderedTable'
    #>
    param([Parameter(Mandatory, ValueFromPipeline)] [string] $Text)
    $lines = @($Text -split '\r?\n' | ForEach-Object TrimEnd)
    for ($i = 0; $i -lt $lines.Count; $i++) {
        if ($lines[$i] -notmatch '^ *-+( +-+)*$') { continue }

        # Header lines: the non-empty lines directly above the underline.
        $first = $i
        while ($first -gt 0 -and $lines[$first - 1] -ne '') { $first-- }
        if ($first -eq $i) { continue }
        $last = $i
        while ($last + 1 -lt $lines.Count -and $lines[$last + 1] -ne '') { $last++ }
        $table = @($lines[$first..$last])
        $headerLines = @($lines[$first..($i - 1)])
        $rows = if ($last -gt $i) { @($lines[($i + 1)..$last]) } else { @() }

        # A group label ('   Directory: ...') stands alone between blank lines; the last row of a table before
        # this one does not (a row follows a row or an underline).
        $group = ''
        if ($first -ge 2 -and $lines[$first - 1] -eq '' -and $lines[$first - 2] -ne '' -and ($first -eq 2 -or $lines[$first - 3] -eq '')) {
            $group = $lines[$first - 2].Trim()
        }

        # The underline is as long as each header, not as wide as its column: left-aligned values run past its end,
        # right-aligned ones start before its start. Between two underlines the column separator is a position that
        # is blank on every line of the table.
        $dashes = @([regex]::Matches($lines[$i], '-+'))
        $bounds = [System.Collections.Generic.List[int]]::new()
        $bounds.Add(0)
        for ($c = 0; $c -lt $dashes.Count - 1; $c++) {
            $from = $dashes[$c].Index + $dashes[$c].Length
            $to = $dashes[$c + 1].Index
            $separator = $to - 1
            for ($p = $from; $p -lt $to; $p++) {
                if (-not @($table | Where-Object { $_.Length -gt $p -and $_[$p] -ne ' ' })) { $separator = $p; break }
            }
            $bounds.Add($separator + 1)
        }
        $bounds.Add([int]::MaxValue)

        $names = @(for ($c = 0; $c -lt $dashes.Count; $c++) {
            (@($headerLines | ForEach-Object { (Get-RenderedCell $_ $bounds[$c] $bounds[$c + 1]).Trim() }) -join '')
        })
        foreach ($line in $rows) {
            $row = [ordered]@{}
            for ($c = 0; $c -lt $dashes.Count; $c++) { $row[$names[$c]] = (Get-RenderedCell $line $bounds[$c] $bounds[$c + 1]).Trim() }
            $row['_Group'] = $group
            $row['_Line'] = $line
            [pscustomobject]$row
        }
        $i = $last
    }
}

function Get-RenderedCell([string] $Line, [int] $Start, [int] $End) {
    # Characters [Start, End) of a rendered line, '' past its end.
    if ($Start -ge $Line.Length) { return '' }
    $Line.Substring($Start, [Math]::Min($End, $Line.Length) - $Start)
}

function Get-RenderedColumn {
    # The column headers of the first table in a rendered text.
    # '$objects | Get-RenderedText -Width 80 | Get-RenderedColumn'
    param([Parameter(Mandatory, ValueFromPipeline)] [string] $Text)
    $row = $Text | ConvertFrom-RenderedTable | Select-Object -First 1
    if ($row) { @($row.PSObject.Properties.Name | Where-Object { $_ -notin '_Group', '_Line' }) }
}

$script:FixtureFiles = Join-Path $script:RepoRoot 'tests/fixtures/files'

function New-LongNameCopy([string] $Source, [string] $Directory) {
    # A checkpoint with the kind of name real runs produce: longer than a whole 80-column line.
    $name = 'epoch=12-step=123456-val_loss=0.1234-val_acc=0.9876-run=sweep-lr0.0003-bs256-final.ckpt'
    $target = Join-Path $Directory $name
    Copy-TestFile $Source $target
    $target
}

function Invoke-BoundedChildShell([string] $Script, [int] $Seconds = 120) {
    # Runs $Script in a fresh pwsh with the built module imported. A call that would hang (an open of a FIFO, an endless
    # device) is killed after $Seconds and reported as TimedOut, so it fails its test instead of hanging the run; the
    # bound is a hang detector, not a timing assertion. Returns [pscustomobject] @{ TimedOut; ExitCode; Output }.
    $module = if ($env:LIGHTNINGCKPT_MODULE) { $env:LIGHTNINGCKPT_MODULE } else { Join-Path $script:RepoRoot 'out/LightningCkpt' }
    $full = "Import-Module -Name '$($module -replace "'", "''")' -ErrorAction Stop`n$Script"
    $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($full))
    # This PowerShell again: its own executable (pwsh's apphost), or `dotnet pwsh.dll` when dotnet hosts it (the dotnet
    # tool). GetCommandLineArgs()[0] is pwsh.dll in both cases, so only the host decides whether to pass it.
    $hostPath = [Environment]::ProcessPath
    $psi = [Diagnostics.ProcessStartInfo]::new($hostPath)
    if ([IO.Path]::GetFileNameWithoutExtension($hostPath) -eq 'dotnet') { $psi.ArgumentList.Add([Environment]::GetCommandLineArgs()[0]) }
    foreach ($a in '-NoProfile', '-NonInteractive', '-EncodedCommand', $encoded) { $psi.ArgumentList.Add($a) }
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $psi.UseShellExecute = $false
    $p = [Diagnostics.Process]::Start($psi)
    $out = $p.StandardOutput.ReadToEndAsync()
    $err = $p.StandardError.ReadToEndAsync()
    $timedOut = -not $p.WaitForExit($Seconds * 1000)
    if ($timedOut) { $p.Kill($true); $p.WaitForExit() }
    [pscustomobject] @{ TimedOut = $timedOut; ExitCode = $p.ExitCode; Output = $out.Result + $err.Result }
}

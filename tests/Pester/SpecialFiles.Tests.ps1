# Issue 25 item 3: FIFOs, devices and /dev/zero symlinks inside sharded folders are refused by type, never opened
# (an open of a FIFO blocks past Ctrl+C; /dev/zero has no end). Each call runs in a child pwsh bounded by a hang detector.
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $script:ShardedFixtures = Join-Path $script:RepoRoot 'tests/fixtures/sharded'
    function Copy-Fixture([string] $Name) {
        $dst = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        Copy-Item -LiteralPath (Join-Path $ShardedFixtures $Name) -Destination $dst -Recurse
        $dst
    }
    function Test-InChild([string] $Folder) {
        # Test-Ckpt and Get-CkptInfo on the folder; prints the finding kinds and error ids it saw
        $q = $Folder -replace "'", "''"
        Invoke-BoundedChildShell -Seconds 120 -Script @"
`$r = Test-Ckpt -LiteralPath '$q'
'VALID=' + `$r.IsValid
`$r.Findings | ForEach-Object { 'FINDING=' + `$_.Kind + ': ' + `$_.Message }
Get-CkptInfo -LiteralPath '$q' -ErrorVariable ev -ErrorAction SilentlyContinue | Out-Null
`$ev | ForEach-Object { 'ERROR=' + `$_.FullyQualifiedErrorId + ': ' + `$_.Exception.Message }
"@
    }
}

Describe 'Special files in sharded folders' -Skip:$IsWindows {
    It 'refuses /dev/zero linked as DeepSpeed latest' {
        $dir = Copy-Fixture 'ds_zero2_bf16_dp2'
        Remove-Item -LiteralPath (Join-Path $dir 'latest')
        $null = New-Item -ItemType SymbolicLink -Path (Join-Path $dir 'latest') -Target /dev/zero
        $r = Test-InChild $dir
        $r.TimedOut | Should -BeFalse
        $r.Output | Should -Match 'VALID=False'
        $r.Output | Should -Match 'character device'
        $r.Output | Should -Match 'ERROR=NotACheckpoint'
    }

    It 'refuses a FIFO as DeepSpeed latest' {
        $dir = Copy-Fixture 'ds_zero2_bf16_dp2'
        Remove-Item -LiteralPath (Join-Path $dir 'latest')
        & mkfifo (Join-Path $dir 'latest')
        $r = Test-InChild $dir
        $r.TimedOut | Should -BeFalse
        $r.Output | Should -Match 'FIFO'
    }

    It 'refuses a FIFO as a Hugging Face index' {
        $dir = Copy-Fixture 'hf_safetensors'
        Remove-Item -LiteralPath (Join-Path $dir 'model.safetensors.index.json')
        & mkfifo (Join-Path $dir 'model.safetensors.index.json')
        $r = Test-InChild $dir
        $r.TimedOut | Should -BeFalse
        $r.Output | Should -Match 'FIFO'
    }

    It 'refuses a FIFO as DCP .metadata and a /dev/zero link as a .distcp file' {
        $dir = Copy-Fixture 'dcp13_gloo2_sharded'
        $md = Join-Path $dir '.metadata'
        [IO.File]::Move($md, "$md.real")
        & mkfifo $md
        $r = Test-InChild $dir
        $r.TimedOut | Should -BeFalse
        $r.Output | Should -Match 'FIFO'

        [IO.File]::Delete($md)
        [IO.File]::Move("$md.real", $md)
        $distcp = Get-ChildItem -LiteralPath $dir -Filter '*.distcp' | Select-Object -First 1
        Remove-Item -LiteralPath $distcp.FullName
        $null = New-Item -ItemType SymbolicLink -Path $distcp.FullName -Target /dev/zero
        $r = Test-InChild $dir
        $r.TimedOut | Should -BeFalse
        $r.Output | Should -Match 'character device'
    }
}

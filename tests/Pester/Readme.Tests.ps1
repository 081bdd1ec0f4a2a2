# Every PowerShell example in README.md runs as printed, in order, in one session, in a scratch folder laid out as the
# README says (a lightning_logs tree like samples/, a sharded Lightning folder at sharded/epoch=3.ckpt, and $url: the
# URL of last.ckpt on a loopback nginx), and ends without an error. The Install block is run by Package.Tests.ps1 in a scratch HOME: it installs a module for the user.
BeforeDiscovery {
    $readme = Get-Content -LiteralPath (Join-Path $PSScriptRoot '../../README.md') -Raw
    $script:Blocks = @([regex]::Matches($readme, '(?ms)^```powershell\r?\n(.*?)^```') | ForEach-Object { $_.Groups[1].Value } |
        Where-Object { $_ -notmatch 'Install-PSResource' }) |
        ForEach-Object -Begin { $i = 0 } -Process { $i++; @{ Index = $i; Code = $_; First = ($_ -split "`n")[0].Trim() } }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'RemoteServers.ps1')
    $scratch = Join-Path $TestDrive 'readme'
    $samples = Join-Path $script:RepoRoot 'samples'
    foreach ($f in Get-ChildItem -LiteralPath (Join-Path $samples "lightning_logs") -Recurse -File -Force) {
        Copy-TestFile $f.FullName (Join-Path $scratch $f.FullName.Substring($samples.Length + 1))
    }
    $sharded = Join-Path $script:RepoRoot 'tests/fixtures/sharded/lightning2_fsdp.ckpt'
    foreach ($f in Get-ChildItem -LiteralPath $sharded -Recurse -File -Force) {
        Copy-TestFile $f.FullName (Join-Path $scratch ('sharded/epoch=3.ckpt' + $f.FullName.Substring($sharded.Length)))
    }
    $script:Nginx = Start-TestNginx -Root $scratch -Certificates (New-TestCertificateAuthority (Join-Path $TestDrive 'ca'))
    # One session for all blocks, as a reader types them: later examples use variables ($run, $ranked, $last) that
    # earlier ones set.
    $script:Session = [powershell]::Create()
    $modulePath = if ($env:LIGHTNINGCKPT_MODULE) { $env:LIGHTNINGCKPT_MODULE } else { Join-Path $script:RepoRoot 'out/LightningCkpt' }
    $null = $script:Session.AddCommand('Import-Module').AddParameter('Name', $modulePath).AddStatement().
        AddCommand('Set-Location').AddParameter('LiteralPath', $scratch).AddStatement().
        AddCommand('Set-Variable').AddParameter('Name', 'url').AddParameter('Value', "$($script:Nginx.Http)/files/lightning_logs/version_0/checkpoints/last.ckpt")
    $null = $script:Session.Invoke()
}

AfterAll {
    if ($script:Session) { $script:Session.Dispose() }
    Stop-TestServer $script:Nginx
}

Describe 'README.md examples' {
    It 'has the examples it promises' {
        $Blocks.Count | Should -BeGreaterOrEqual 8
    }

    It 'runs block <Index> without an error: <First>' -ForEach $Blocks {
        $Session.Commands.Clear()
        $Session.Streams.Error.Clear()
        $null = $Session.AddScript($Code, $false).AddCommand('Out-String')
        $text = $Session.Invoke()
        @($Session.Streams.Error | ForEach-Object { "$_" }) | Should -BeNullOrEmpty
        $Session.HadErrors | Should -BeFalse
    }
}

# build.ps1 -Task Package makes a .nupkg with Compress-PSResource and registers nothing; the README's Install block,
# run in a fresh pwsh whose HOME is a scratch folder, installs that package with PSResourceGet, and the installed
# module (not the build folder) reads a checkpoint. The user's own PowerShell configuration is never touched.
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $script:Shell = @(if (Test-Path -LiteralPath (Join-Path $PSHOME 'pwsh') -PathType Leaf) { Join-Path $PSHOME 'pwsh' } else { 'dotnet'; Join-Path $PSHOME 'pwsh.dll' })
    $script:Build = Join-Path $script:RepoRoot 'build.ps1'
    $readme = Get-Content -LiteralPath (Join-Path $script:RepoRoot 'README.md') -Raw
    $script:InstallBlock = [regex]::Matches($readme, '(?ms)^```powershell\r?\n(.*?)^```') | ForEach-Object { $_.Groups[1].Value } |
        Where-Object { $_ -match 'Install-PSResource' } | Select-Object -First 1

    function Invoke-ChildShell([string] $Script, [string] $HomeFolder, [string] $WorkingDirectory) {
        $psi = [System.Diagnostics.ProcessStartInfo]::new($script:Shell[0])
        foreach ($a in @($script:Shell | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-Command', $Script)) { $psi.ArgumentList.Add($a) }
        $psi.WorkingDirectory = $WorkingDirectory
        $psi.RedirectStandardOutput = $true
        $psi.RedirectStandardError = $true
        $psi.UseShellExecute = $false
        if ($HomeFolder) {
            $psi.Environment['HOME'] = $HomeFolder
            foreach ($v in 'PSModulePath', 'XDG_DATA_HOME', 'XDG_CONFIG_HOME', 'XDG_CACHE_HOME') { $null = $psi.Environment.Remove($v) }
        }
        $p = [System.Diagnostics.Process]::Start($psi)
        $stderr = $p.StandardError.ReadToEndAsync()
        $stdout = $p.StandardOutput.ReadToEnd()
        if (-not $p.WaitForExit(300000)) { $p.Kill($true); throw 'the child pwsh did not finish within 5 minutes' }
        [pscustomobject]@{ ExitCode = $p.ExitCode; Out = $stdout; Err = $stderr.Result }
    }
}

Describe 'The package' {
    It 'is made by build.ps1 -Task Package without registering a repository' {
        $before = Get-PSResourceRepository | ForEach-Object Name
        $r = Invoke-ChildShell "& '$Build' -Task Package" -WorkingDirectory $RepoRoot
        $r.ExitCode | Should -Be 0 -Because ($r.Out + $r.Err)
        $r.Out | Should -Match 'Packaged .*LightningCkpt\.\d+\.\d+\.\d+\.nupkg'
        Get-ChildItem -LiteralPath (Join-Path $RepoRoot 'out/package') -Filter 'LightningCkpt.*.nupkg' | Should -HaveCount 1
        (Get-PSResourceRepository | ForEach-Object Name) | Should -Be $before
    }

    It 'installs with the README Install block into a scratch HOME and works from there' {
        $InstallBlock | Should -Not -BeNullOrEmpty -Because 'README.md has an Install block'
        $home2 = Join-Path $TestDrive 'home'
        $null = New-Item -ItemType Directory -Path $home2
        $sample = Join-Path $RepoRoot 'samples/lightning_logs/version_0/checkpoints/last.ckpt'
        $script = $InstallBlock + "`n" + @"
`$m = Get-Module LightningCkpt
`$i = Get-CkptInfo -LiteralPath '$sample'
"BASE=`$(`$m.ModuleBase)"
"STEP=`$(`$i.GlobalStep)"
"LICENSE=`$(Test-Path -LiteralPath (Join-Path `$m.ModuleBase 'LICENSE'))"
"@
        $r = Invoke-ChildShell $script -HomeFolder $home2 -WorkingDirectory $RepoRoot
        $r.ExitCode | Should -Be 0 -Because ($r.Out + $r.Err)
        $base = ($r.Out -split "`n" | Where-Object { $_ -like 'BASE=*' }) -replace '^BASE=', ''
        $base.Trim() | Should -BeLike "$home2*" -Because 'the module must come from the scratch HOME, not the build folder'
        ($r.Out -split "`n" | Where-Object { $_ -like 'STEP=*' }).Trim() | Should -Be 'STEP=30'
        ($r.Out -split "`n" | Where-Object { $_ -like 'LICENSE=*' }).Trim() | Should -Be 'LICENSE=True' -Because 'the package carries its license'
        # nothing was registered outside the scratch HOME
        (Get-PSResourceRepository | ForEach-Object Name) | Should -Not -Contain 'LightningCkptBuild'
    }
}

# Path binding, error handling and output shape, through Get-CkptInfo (the other cmdlets share CkptCommandBase).

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Initialize-CkptTestDrive
    $script:Id = 'LightningCkpt.Commands.GetCkptInfoCommand'
}

Describe 'Get-CkptInfo path binding' {
    It 'reads files piped from Get-ChildItem, including a name with [ ]' {
        $r = Get-ChildItem -LiteralPath $V0 -Filter *.ckpt | Get-CkptInfo
        $r.Count | Should -Be 5
        $r.Name | Should -Contain 'epoch=3-step=[1].ckpt'
        $r | ForEach-Object { $_ | Should -BeOfType ([LightningCkpt.CkptInfo]) }
    }

    It 'expands wildcards in -Path' {
        $r = Get-CkptInfo -Path (Join-Path $V0 'epoch=?-step=*0.ckpt')
        @($r).Count | Should -Be 3
        $r.Epoch | Sort-Object | Should -Be @(0, 1, 2)
    }

    It 'takes -LiteralPath as typed, so brackets are not a wildcard' {
        $r = Get-CkptInfo -LiteralPath (Join-Path $V0 'epoch=3-step=[1].ckpt')
        $r.Name | Should -BeExactly 'epoch=3-step=[1].ckpt'
        $r.Epoch | Should -Be 2
    }

    It 'accepts the LP and PSPath aliases' {
        (Get-CkptInfo -LP (Join-Path $V0 'last.ckpt')).Name | Should -Be 'last.ckpt'
        (Get-CkptInfo -PSPath (Join-Path $V0 'last.ckpt')).Name | Should -Be 'last.ckpt'
    }

    It 'binds a plain string from the pipeline to -Path' {
        (Join-Path $V0 'last.ckpt') | Get-CkptInfo | ForEach-Object Name | Should -Be 'last.ckpt'
    }

    It 'resolves relative paths against the current location, not the process directory' {
        Push-Location -LiteralPath $V0
        try {
            (Get-CkptInfo -Path 'last.ckpt').FullName | Should -Be (Join-Path $V0 'last.ckpt')
            (Get-CkptInfo -LiteralPath './epoch=3-step=[1].ckpt').Name | Should -Be 'epoch=3-step=[1].ckpt'
        }
        finally { Pop-Location }
    }

    It 'reads through a PSDrive path' {
        $null = New-PSDrive -Name CkptTest -PSProvider FileSystem -Root $V0
        try { (Get-CkptInfo -Path 'CkptTest:\last.ckpt').Name | Should -Be 'last.ckpt' }
        finally { Remove-PSDrive -Name CkptTest }
    }

    It 'is silent when a wildcard matches nothing' {
        $r = Get-CkptInfo -Path (Join-Path $V0 'nothing-*.ckpt') -ErrorVariable ev -ErrorAction SilentlyContinue
        $r | Should -BeNullOrEmpty
        $ev | Should -BeNullOrEmpty
    }

    It 'writes FileNotFound for a missing <Parameter>' -ForEach @(@{ Parameter = 'Path' }, @{ Parameter = 'LiteralPath' }) {
        $missing = Join-Path $V0 'missing.ckpt'
        $params = @{ $Parameter = $missing }
        $r = Get-CkptInfo @params -ErrorVariable ev -ErrorAction SilentlyContinue
        $r | Should -BeNullOrEmpty
        $ev.Count | Should -Be 1
        $ev[0].FullyQualifiedErrorId | Should -BeExactly "FileNotFound,$Id"
        $ev[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'rejects a non-FileSystem path with PathNotFileSystem (<Parameter>)' -ForEach @(@{ Parameter = 'Path' }, @{ Parameter = 'LiteralPath' }) {
        $params = @{ $Parameter = 'env:PATH' }
        $r = Get-CkptInfo @params -ErrorVariable ev -ErrorAction SilentlyContinue
        $r | Should -BeNullOrEmpty
        $ev[0].FullyQualifiedErrorId | Should -BeExactly "PathNotFileSystem,$Id"
        $ev[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
    }

    It 'turns an error into a terminating one with -ErrorAction Stop' {
        { Get-CkptInfo -LiteralPath (Join-Path $V0 'missing.ckpt') -ErrorAction Stop } | Should -Throw -ErrorId "FileNotFound,$Id"
    }
}

Describe 'Get-CkptInfo with good and broken files in one batch' {
    BeforeAll {
        $script:result = Get-ChildItem -LiteralPath $Mixed | Get-CkptInfo -ErrorVariable batchErrors -ErrorAction SilentlyContinue
        $script:batchErrors = $batchErrors
    }

    It 'still emits the good file' {
        @($result).Count | Should -Be 1
        $result.Name | Should -Be 'good.ckpt'
    }

    It 'writes one error per broken file with a stable id, category and the path as target' -ForEach @(
        @{ File = 'truncated.ckpt'; ErrorId = 'InvalidCheckpoint'; Category = 'InvalidData' }
        @{ File = 'text.ckpt'; ErrorId = 'NotACheckpoint'; Category = 'InvalidData' }
        @{ File = 'not_a_checkpoint.pt'; ErrorId = 'NotACheckpoint'; Category = 'InvalidData' }
    ) {
        $e = $batchErrors | Where-Object { $_.TargetObject -eq (Join-Path $Mixed $File) }
        @($e).Count | Should -Be 1
        $e.FullyQualifiedErrorId | Should -BeExactly "$ErrorId,$Id"
        $e.CategoryInfo.Category | Should -Be $Category
        $e.Exception | Should -BeOfType ([LightningCkpt.CheckpointFormatException])
    }

    It 'says a plain folder is not a checkpoint, naming the folder (issue 9, defect 12)' {
        $dir = Join-Path $TestDrive 'just_a_folder'
        $null = New-Item -ItemType Directory -Path $dir -Force
        Get-CkptInfo -LiteralPath $dir -ErrorVariable ev -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $ev[0].FullyQualifiedErrorId | Should -BeExactly "NotACheckpoint,$Id"
        $ev[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $ev[0].Exception.Message | Should -BeLike "*$dir*not a checkpoint*"
        $ev[0].Exception.Message | Should -Not -BeLike '*not supported*'
    }
}

Describe 'Get-CkptInfo output' {
    BeforeAll {
        $script:all = Get-ChildItem -LiteralPath (Join-Path $TestDrive 'lightning_logs') -Recurse -Filter *.ckpt | Get-CkptInfo
        $script:last = Get-CkptInfo -LiteralPath (Join-Path $V0 'last.ckpt')
    }

    It 'has typed Lightning fields' {
        $last.Epoch | Should -Be 2
        $last.GlobalStep | Should -Be 30
        $last.TensorCount | Should -Be 4
        $last.ParameterCount | Should -Be 131
        $last.LightningVersion | Should -Not -BeNullOrEmpty
        $last.BestModelScore | Should -BeOfType ([double])
    }

    It 'exposes hyper-parameters as a dictionary' {
        $last.HyperParameters.lr | Should -Be 0.001
        $last.HyperParameters['hidden_dim'] | Should -Be 16
    }

    It 'sorts numerically and filters by property' {
        $sorted = $all | Where-Object RunVersion -eq 0 | Sort-Object GlobalStep
        $sorted[0].GlobalStep | Should -Be 10
        ($all | Where-Object Epoch -ge 1).Count | Should -BeGreaterThan 0
    }

    It 'groups by RunVersion' {
        $groups = $all | Group-Object RunVersion | Sort-Object { [int]$_.Name }
        $groups.Name | Should -Be @('0', '1')
        $groups[0].Count | Should -Be 5
        $groups[1].Count | Should -Be 2
    }

    It 'exports to CSV with readable list columns' {
        $csv = Join-Path $TestDrive 'info.csv'
        $all | Export-Csv -LiteralPath $csv -NoTypeInformation
        $back = Import-Csv -LiteralPath $csv
        $back.Count | Should -Be $all.Count
        ($back | Where-Object Name -eq 'last.ckpt' | Select-Object -First 1).DTypes | Should -Be 'float32'
    }

    It 'converts to JSON' {
        $json = $last | ConvertTo-Json -Depth 4 | ConvertFrom-Json
        $json.Epoch | Should -Be 2
        $json.HyperParameters.lr | Should -Be 0.001
    }

    It 'renders the default table view with the agreed columns' {
        $text = $all | Format-Table | Out-String
        foreach ($header in 'RunName', 'Epoch', 'GlobalStep', 'CurrentScore', 'Length', 'IsSafe', 'Name') {
            $text | Should -Match $header
        }
        $text | Should -Match 'KB'
    }

    It 'closes the file before writing the object' {
        $copy = Join-Path $TestDrive 'close-me.ckpt'
        Copy-TestFile (Join-Path $V0 'last.ckpt') $copy
        { Get-CkptInfo -LiteralPath $copy | ForEach-Object { Remove-Item -LiteralPath $_.FullName } } | Should -Not -Throw
        Test-Path -LiteralPath $copy | Should -BeFalse
    }

    It 'warns when a file holds globals that would run code, and shows it in the view' {
        $hostile = Join-Path $script:RepoRoot 'tests/fixtures/malicious/real_zip_hostile_datapkl.pt'
        $i = Get-CkptInfo -LiteralPath $hostile -WarningVariable w 3>$null
        $w.Count | Should -Be 1
        "$w" | Should -Match 'os\.system'
        "$w" | Should -Match 'real_zip_hostile_datapkl\.pt'
        $i.IsSafe | Should -BeFalse
        (Get-CkptInfo -LiteralPath (Join-Path $V0 'last.ckpt') -WarningVariable w2).IsSafe | Should -BeTrue
        $w2 | Should -BeNullOrEmpty
        $text = $i | Get-RenderedText -Width 80
        @($text | Get-RenderedColumn) | Should -Contain 'IsSafe'
        $text | Should -Match 'False'
    }

    It 'serialises enum properties the same way in every output type' {
        $file = Join-Path $V0 'last.ckpt'
        $info = Get-CkptInfo -LiteralPath $file | ConvertTo-Json -Depth 1 -EnumsAsStrings 3>$null | ConvertFrom-Json
        $test = Test-Ckpt -LiteralPath $file | ConvertTo-Json -Depth 1 -EnumsAsStrings 3>$null | ConvertFrom-Json
        $info.Format | Should -Be 'Zip'
        $test.Format | Should -Be 'Zip'
        $plain = Test-Ckpt -LiteralPath $file | ConvertTo-Json -Depth 1 3>$null | ConvertFrom-Json
        $plain.Format | Should -BeOfType ((Get-CkptInfo -LiteralPath $file | ConvertTo-Json -Depth 1 3>$null | ConvertFrom-Json).Format.GetType())
    }
}

Describe 'A safetensors header past the header limit' {
    BeforeAll {
        # 17 MB of header: one metadata string, past the 16 MiB default, within the format's 100 MB
        $script:BigHeader = Join-Path $TestDrive 'big-header.safetensors'
        $json = [Text.Encoding]::UTF8.GetBytes('{"__metadata__":{"notes":"' + ('a' * 17000000) + '"}}')
        $bytes = [byte[]]::new(8 + $json.Length)
        [BitConverter]::GetBytes([uint64]$json.Length).CopyTo($bytes, 0)
        $json.CopyTo($bytes, 8)
        [IO.File]::WriteAllBytes($BigHeader, $bytes)
    }

    AfterEach { [LightningCkpt.Limits]::MaxSafetensorsHeaderBytes = [LightningCkpt.Limits]::DefaultSafetensorsHeaderBytes }

    It 'is CheckpointLimitExceeded saying how to raise the limit, and reads once the limit is raised' {
        $null = Get-CkptInfo -LiteralPath $BigHeader -ErrorVariable ev -ErrorAction SilentlyContinue
        @($ev).Count | Should -Be 1
        $ev[0].FullyQualifiedErrorId | Should -BeExactly 'CheckpointLimitExceeded,LightningCkpt.Commands.GetCkptInfoCommand'
        $ev[0].Exception.Message | Should -Match 'big-header\.safetensors.*16777216-byte limit.*\[LightningCkpt\.Limits\]::MaxSafetensorsHeaderBytes = 100000000'

        [LightningCkpt.Limits]::MaxSafetensorsHeaderBytes = 100000000
        $r = Get-CkptInfo -LiteralPath $BigHeader
        $r.Format | Should -Be 'Safetensors'
    }

    It 'can be raised right after Import-Module, before any cmdlet has run' {
        # a fresh process: in this one an earlier cmdlet has loaded Core already
        $shell = @(if (Test-Path -LiteralPath (Join-Path $PSHOME 'pwsh') -PathType Leaf) { Join-Path $PSHOME 'pwsh' } else { 'dotnet'; Join-Path $PSHOME 'pwsh.dll' })
        $manifest = Join-Path (Get-Module LightningCkpt).ModuleBase 'LightningCkpt.psd1'
        $script = "Import-Module '$manifest'; [LightningCkpt.Limits]::MaxSafetensorsHeaderBytes = 100000000; (Get-CkptInfo -LiteralPath '$BigHeader').Format"
        $out = & $shell[0] @(@($shell | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-Command', $script)) 2>&1
        ($out | Select-Object -Last 1) | Should -Be 'Safetensors'
    }
}

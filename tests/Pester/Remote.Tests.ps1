# The cmdlets on http(s) URLs against real servers on loopback (nginx over HTTP and TLS, Azurite with SAS URLs),
# started here and stopped after; nginx's access log counts the requests and bytes of each call.
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    . (Join-Path $PSScriptRoot 'RemoteServers.ps1')
    Import-LightningCkptModule
    $script:Served = Join-Path $TestDrive 'served'
    $null = New-Item -ItemType Directory -Path $Served
    & /usr/bin/python3 (Join-Path $RepoRoot 'tests/fixtures/make_remote.py') $Served
    if ($LASTEXITCODE -ne 0) { throw 'tests/fixtures/make_remote.py failed (it needs torch in /usr/bin/python3)' }
    Copy-TestFile (Join-Path $RepoRoot 'samples/lightning_logs/version_0/checkpoints/last.ckpt') (Join-Path $Served 'last.ckpt')
    foreach ($layout in 'hf_safetensors', 'hf_bin') {
        Get-ChildItem -LiteralPath (Join-Path $RepoRoot "tests/fixtures/sharded/$layout") -File | ForEach-Object { Copy-TestFile $_.FullName (Join-Path $Served "$layout/$($_.Name)") }
    }
    $script:Big = Join-Path $Served 'big.ckpt'
    $script:Medium = Join-Path $Served 'medium.ckpt'
    $script:Certificates = New-TestCertificateAuthority (Join-Path $TestDrive 'tls')
    $script:Nginx = Start-TestNginx -Root $Served -Certificates $Certificates
    $script:Http = "$($Nginx.Http)/files"
}

AfterAll {
    Stop-TestServer $script:Nginx
}

Describe 'Get-CkptInfo by URL' {
    It 'reads a 1.3 GB Lightning checkpoint in at most 3 requests and under 1 MB, as it reads the local file' {
        (Get-Item -LiteralPath $Big).Length | Should -BeGreaterThan 1.3e9
        $call = Measure-NginxCall $Nginx { Get-CkptInfo "$Http/big.ckpt" }
        $call.Requests | Should -BeLessOrEqual 3
        $call.Bytes | Should -BeLessThan 1MB
        $remote = $call.Output
        $local = Get-CkptInfo -LiteralPath $Big
        foreach ($p in 'Epoch', 'GlobalStep', 'TensorCount', 'ParameterCount', 'WeightsBytes', 'LightningVersion', 'IsSafe') {
            $remote.$p | Should -Be $local.$p -Because $p
        }
        $remote.FullName | Should -Be "$Http/big.ckpt"
        $remote.Name | Should -Be 'big.ckpt'
    }

    It 'takes URLs through -Uri, at position 0 and piped as strings, one object each' {
        (Get-CkptInfo -Uri "$Http/last.ckpt").GlobalStep | Should -Be (Get-CkptInfo -LiteralPath (Join-Path $Served 'last.ckpt')).GlobalStep
        $piped = "$Http/last.ckpt", "$Http/medium.ckpt" | Get-CkptInfo
        $piped.Name | Should -Be @('last.ckpt', 'medium.ckpt')
        [pscustomobject]@{ Uri = "$Http/medium.ckpt" } | Get-CkptInfo | Select-Object -ExpandProperty Name | Should -Be 'medium.ckpt'
    }

    It 'redacts a presigned query in Path and in errors, and still reads with it' {
        $info = Get-CkptInfo "$Http/last.ckpt?X-Amz-Signature=SECRETSIG&X-Amz-Credential=AKIA"
        $info.FullName | Should -Be "$Http/last.ckpt?X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED"
        $info.Name | Should -Be 'last.ckpt'
        Get-CkptInfo "$Http/nothere.ckpt?sig=SECRETSIG" -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'RemoteNotFound,*'
        $err[0].TargetObject | Should -Be "$Http/nothere.ckpt?sig=REDACTED"
        # (the command line PowerShell echoes is the user's own; what the module says never holds the signature)
        $err[0].Exception.Message | Should -Not -Match 'SECRETSIG'
        $err[0].Exception.Message | Should -Match 'sig=REDACTED'
    }

    It 'follows a redirect and names the checkpoint by the URL it was given' {
        $info = Get-CkptInfo "$($Nginx.Http)/moved/last.ckpt"
        $info.GlobalStep | Should -Be (Get-CkptInfo -LiteralPath (Join-Path $Served 'last.ckpt')).GlobalStep
        $info.FullName | Should -Be "$($Nginx.Http)/moved/last.ckpt"
    }

    It 'says which credential is missing on 401, and sends -Token as a bearer token' {
        Get-CkptInfo "$($Nginx.Http)/private/last.ckpt" -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'RemoteUnauthorized,*'
        $err[0].Exception.Message | Should -Match '-Token'
        Get-CkptInfo "$($Nginx.Http)/private/last.ckpt" -Token 'wrong-token' -ErrorVariable err2 -ErrorAction SilentlyContinue
        $err2[0].Exception.Message | Should -Match 'refused the token from -Token'
        $err2[0].Exception.Message | Should -Not -Match 'wrong-token'
        (Get-CkptInfo "$($Nginx.Http)/private/last.ckpt" -Token 'pester-token').Name | Should -Be 'last.ckpt'
        (Get-CkptInfo "$($Nginx.Http)/private/last.ckpt" -Headers @{ Authorization = 'Bearer pester-token' }).Name | Should -Be 'last.ckpt'
    }

    It 'stops at a server that ignores Range on a large file, without reading it' {
        $call = Measure-NginxCall $Nginx { Get-CkptInfo "$($Nginx.Http)/norange/big.ckpt" -ErrorVariable err -ErrorAction SilentlyContinue; $err }
        $call.Output[0].FullyQualifiedErrorId | Should -BeLike 'RemoteRangeNotSupported,*'
        $call.Bytes | Should -BeLessThan 64MB
    }

    It 'gives RemoteTimeout for a server slower than -TimeoutSec' {
        Get-CkptInfo "$($Nginx.Http)/slow/big.ckpt" -TimeoutSec 1 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'RemoteTimeout,*'
    }

    It 'rejects a -Uri that is not http(s)' {
        Get-CkptInfo -Uri 'ftp://127.0.0.1/x.ckpt' -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'UriNotHttp,*'
    }
}

Describe 'Tensor data by URL' {
    It 'Get-CkptTensor -Hash equals the local hashes' {
        $remote = Get-CkptTensor "$Http/medium.ckpt" -All -Hash
        $local = Get-CkptTensor -LiteralPath $Medium -All -Hash
        $remote.Count | Should -Be $local.Count
        $remote.Sha256 | Should -Be $local.Sha256
        $remote.Name | Should -Be $local.Name
    }

    It 'Select-CkptWeights of one layer writes the same file as locally, transferring under 1.5x the layer' {
        $localOut = Join-Path $TestDrive 'block-local.safetensors'
        $remoteOut = Join-Path $TestDrive 'block-remote.safetensors'
        Select-CkptWeights -LiteralPath $Medium -Include 'model.block.*' -OutFile $localOut
        $layer = (Get-CkptTensor -LiteralPath $Medium -Name 'model.block.*' | Measure-Object -Property Bytes -Sum).Sum
        $call = Measure-NginxCall $Nginx { Select-CkptWeights "$Http/medium.ckpt" -Include 'model.block.*' -OutFile $remoteOut }
        (Get-FileHash -LiteralPath $remoteOut).Hash | Should -Be (Get-FileHash -LiteralPath $localOut).Hash
        $call.Bytes | Should -BeLessThan (1.5 * $layer)
    }

    It 'Test-Ckpt grades the 1.3 GB checkpoint by URL from its metadata alone: at most 3 requests, under 1 MB' {
        $call = Measure-NginxCall $Nginx { Test-Ckpt "$Http/big.ckpt" }
        $call.Requests | Should -BeLessOrEqual 3
        $call.Bytes | Should -BeLessThan 1MB
        $local = Test-Ckpt -LiteralPath $Big
        $call.Output.IsValid | Should -BeTrue
        $call.Output.IsSafe | Should -Be $local.IsSafe
        $call.Output.Summary | Should -Be $local.Summary
    }

    It 'Test-Ckpt grades a URL as the local file, -VerifyCrc included' {
        $remote = Test-Ckpt "$Http/medium.ckpt" -VerifyCrc -CheckValues
        $local = Test-Ckpt -LiteralPath $Medium -VerifyCrc -CheckValues
        $remote.IsValid | Should -BeTrue
        $remote.IsSafe | Should -Be $local.IsSafe
        $remote.Summary | Should -Be $local.Summary
        $remote.Name | Should -Be 'medium.ckpt'
    }

    It 'Compare-Ckpt finds no difference between a URL and its local file' {
        @(Compare-Ckpt -ReferencePath $Medium -DifferencePath "$Http/medium.ckpt" -All) | Should -HaveCount 0
    }

    It 'Merge-CkptWeights takes URLs and writes what it writes from the local files' {
        $localOut = Join-Path $TestDrive 'merged-local.safetensors'
        $remoteOut = Join-Path $TestDrive 'merged-remote.safetensors'
        Merge-CkptWeights -LiteralPath $Medium, $Medium -OutFile $localOut
        Merge-CkptWeights -Path "$Http/medium.ckpt", "$($Nginx.Http)/moved/medium.ckpt" -OutFile $remoteOut
        (Get-FileHash -LiteralPath $remoteOut).Hash | Should -Be (Get-FileHash -LiteralPath $localOut).Hash
    }

    It 'Import-Ckpt reads the graph; a file replaced before its tensors are read is CheckpointChangedWhileReading' {
        $copy = Join-Path $Served 'replaced.ckpt'
        Copy-TestFile $Medium $copy
        $graph = Import-Ckpt "$Http/replaced.ckpt"
        $graph.epoch | Should -Be 3
        $tensor = $graph.state_dict['model.stream.weight']
        # a new file under the same name (another length and time: nginx's ETag is both)
        $next = Join-Path $Served 'next.ckpt'
        [System.IO.File]::WriteAllBytes($next, [byte[]](1..200))
        [System.IO.File]::SetLastWriteTimeUtc($next, [DateTime]::UtcNow.AddHours(1))
        Move-Item -LiteralPath $next -Destination $copy -Force
        $tensor | Get-CkptTensor -Hash -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'CheckpointChangedWhileReading,*'
    }
}

Describe 'Hugging Face sharded checkpoints by the URL of their index' {
    It 'reads <_> as the local folder, each shard by ranges' -ForEach @('hf_safetensors/model.safetensors.index.json', 'hf_bin/pytorch_model.bin.index.json') {
        $local = Join-Path $Served $_
        $remote = Get-CkptInfo "$Http/$_`?token=SECRET"
        $expected = Get-CkptInfo -LiteralPath $local
        foreach ($p in 'Format', 'TensorCount', 'ParameterCount', 'ShardCount', 'IsSafe') { $remote.$p | Should -Be $expected.$p -Because $p }
        $remote.FullName | Should -Be "$Http/$_`?token=REDACTED"
        $remote.ShardFiles | ForEach-Object { $_ | Should -Match 'token=REDACTED$' }
        (Get-CkptTensor "$Http/$_" -Hash).Sha256 | Should -Be (Get-CkptTensor -LiteralPath $local -Hash).Sha256
    }

    It 'refuses a shard name that leaves the index''s folder' {
        $evil = Join-Path $Served 'evil'
        $null = New-Item -ItemType Directory -Path $evil -Force
        Set-Content -LiteralPath (Join-Path $evil 'model.safetensors.index.json') -Value '{"weight_map": {"w": "../last.ckpt"}}'
        Get-CkptInfo "$Http/evil/model.safetensors.index.json" -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidCheckpoint,*'
    }
}

Describe 'TLS by URL' {
    BeforeAll {
        $script:Shell = @(if (Test-Path -LiteralPath (Join-Path $PSHOME 'pwsh') -PathType Leaf) { Join-Path $PSHOME 'pwsh' } else { 'dotnet'; Join-Path $PSHOME 'pwsh.dll' })
        $script:Child = {
            # a fresh pwsh: .NET reads the trust store (and SSL_CERT_FILE) once per process
            param([string] $CaFile)
            $saved = $env:SSL_CERT_FILE
            try {
                $env:SSL_CERT_FILE = $CaFile
                $command = "Import-Module '$((Get-Module LightningCkpt).Path -replace '\.psm1$|\.dll$', '.psd1')' -ErrorAction Stop; " +
                    "try { (Get-CkptInfo '$($Nginx.Https)/files/last.ckpt' -ErrorAction Stop).GlobalStep } catch { 'ERROR ' + `$_.FullyQualifiedErrorId + ' ' + `$_.Exception.Message }"
                $shellArgs = @($script:Shell | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-Command', $command)
                & $script:Shell[0] @shellArgs
            }
            finally { $env:SSL_CERT_FILE = $saved }
        }
    }

    It 'reads over TLS when the test CA is trusted through SSL_CERT_FILE' -Skip:(-not $IsLinux) {
        $out = & $Child $Certificates.CaFile
        $out | Select-Object -Last 1 | Should -Be "$((Get-CkptInfo -LiteralPath (Join-Path $Served 'last.ckpt')).GlobalStep)"
    }

    It 'refuses a server whose CA is not trusted (validation is never disabled)' -Skip:(-not $IsLinux) {
        $out = & $Child $null
        $out | Select-Object -Last 1 | Should -Match '^ERROR RemoteRequestFailed'
    }
}

Describe 'Azure Blob SAS URLs (Azurite)' {
    BeforeAll {
        $script:Azurite = Start-TestAzurite
        $script:BlobUrl = Send-AzuriteBlob $Azurite 'ckpts' $Medium
        $script:ReadSas = New-AzuriteSas -Permissions 'r' -Expiry ([DateTime]::UtcNow.AddHours(1))
    }
    AfterAll { Stop-TestServer $script:Azurite }

    It 'reads a checkpoint by its read-only SAS URL, with the signature redacted in Path' {
        $info = Get-CkptInfo "$BlobUrl`?$ReadSas"
        $info.GlobalStep | Should -Be 1200
        $info.FullName | Should -Match 'sig=REDACTED'
        $info.FullName | Should -Not -Match ([regex]::Escape(($ReadSas -split 'sig=')[1]))
    }

    It 'pipes a Get-CkptInfo of a SAS URL on to Get-CkptTensor (the signature travels unseen)' {
        $info = Get-CkptInfo "$BlobUrl`?$ReadSas"
        ($info | Get-CkptTensor -Name 'model.block.bias' -Hash).Sha256 | Should -Be (Get-CkptTensor -LiteralPath $Medium -Name 'model.block.bias' -Hash).Sha256
    }

    It 'hashes tensors by SAS URL as the local file' {
        (Get-CkptTensor -Uri "$BlobUrl`?$ReadSas" -Name 'model.block.*' -Hash).Sha256 | Should -Be (Get-CkptTensor -LiteralPath $Medium -Name 'model.block.*' -Hash).Sha256
    }

    It 'reports an expired SAS as RemoteForbidden' {
        $expired = New-AzuriteSas -Permissions 'r' -Expiry ([DateTime]::UtcNow.AddHours(-1))
        Get-CkptInfo "$BlobUrl`?$expired" -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'RemoteForbidden,*'
        $err[0].Exception.Message | Should -Match 'signature'
    }
}

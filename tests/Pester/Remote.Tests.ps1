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
    # real torch 2.14 DCP folders: FSDP2 with AdamW (DTensor shards on two ranks) and Lightning's sharded .ckpt (+ meta.pt)
    foreach ($layout in 'dcp2_fsdp2_adam', 'lightning2_fsdp.ckpt') {
        Copy-Item -LiteralPath (Join-Path $RepoRoot "tests/fixtures/sharded/$layout") -Destination (Join-Path $Served $layout) -Recurse
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

Describe 'DCP checkpoints by the URL of their .metadata' {
    It 'Get-CkptInfo of <_> reads as the local folder, every shard by ranges and no byte twice' -ForEach @('dcp2_fsdp2_adam', 'lightning2_fsdp.ckpt') {
        $local = Join-Path $Served $_
        $call = Measure-NginxCall $Nginx { Get-CkptInfo "$Http/$_/.metadata?sig=SECRET" }
        $remote = $call.Output
        $expected = Get-CkptInfo -LiteralPath $local
        foreach ($p in 'Format', 'Kind', 'Epoch', 'GlobalStep', 'TensorCount', 'AllTensorCount', 'ParameterCount', 'WeightsBytes', 'OptimizerStateBytes',
            'ShardCount', 'WorldSize', 'Length', 'IsSafe') {
            $remote.$p | Should -Be $expected.$p -Because $p
        }
        $remote.FullName | Should -Be "$Http/$_/.metadata?sig=REDACTED"
        $remote.Name | Should -Be $expected.Name   # named by its folder, as on disk
        $remote.ShardFiles | ForEach-Object { $_ | Should -Match 'sig=REDACTED$' }
        ($remote.ShardFiles | ForEach-Object { ([uri]$_).Segments[-1] }) | Should -Be ($expected.ShardFiles | ForEach-Object { Split-Path -Leaf $_ })
        # (a plain DCP folder costs one 404 for the meta.pt that would make it Lightning's)
        foreach ($line in $call.Lines | Where-Object { $_ -notlike '404 *' }) { $line | Should -Match '^206 \d+ "bytes=\d+-\d+"' }
        $folderBytes = (Get-ChildItem -LiteralPath $local -Force -File | Measure-Object -Property Length -Sum).Sum
        $rangeBytes = 0; foreach ($line in $call.Lines | Where-Object { $_ -like '206 *' }) { $rangeBytes += [long]($line -split ' ')[1] }
        $rangeBytes | Should -BeLessOrEqual $folderBytes
    }

    It 'Get-CkptTensor -Hash and -Statistics equal the local folder''s' {
        $url = "$Http/dcp2_fsdp2_adam/.metadata"
        $local = Join-Path $Served 'dcp2_fsdp2_adam'
        $remote = Get-CkptTensor $url -All -Hash -Statistics
        $expected = Get-CkptTensor -LiteralPath $local -All -Hash -Statistics
        $remote.Count | Should -Be $expected.Count
        $remote.Name | Should -Be $expected.Name
        $remote.Sha256 | Should -Be $expected.Sha256
        foreach ($p in 'Mean', 'Std', 'Min', 'Max', 'L2Norm') {
            # as round-trip text: NaN (the std of a one-element moment) equals itself there
            ($remote.$p | ForEach-Object { "$_" }) | Should -Be ($expected.$p | ForEach-Object { "$_" }) -Because $p
        }
    }

    It 'Import-Ckpt | Export-Ckpt consolidates the URL into the file the local folder gives' {
        # the same file name: torch's zip names its root folder after it
        $localOut = Join-Path (New-Item -ItemType Directory -Path (Join-Path $TestDrive 'export-local')).FullName 'consolidated.ckpt'
        $remoteOut = Join-Path (New-Item -ItemType Directory -Path (Join-Path $TestDrive 'export-remote')).FullName 'consolidated.ckpt'
        Import-Ckpt -LiteralPath (Join-Path $Served 'lightning2_fsdp.ckpt') | Export-Ckpt -OutFile $localOut
        Import-Ckpt "$Http/lightning2_fsdp.ckpt/.metadata?sig=SECRET" | Export-Ckpt -OutFile $remoteOut
        (Get-FileHash -LiteralPath $remoteOut).Hash | Should -Be (Get-FileHash -LiteralPath $localOut).Hash
        (Get-CkptInfo -LiteralPath $remoteOut).Format | Should -Be 'Zip'
    }

    It 'Select-CkptWeights writes from the URL the file it writes from the local folder' {
        $localOut = Join-Path (New-Item -ItemType Directory -Path (Join-Path $TestDrive 'select-local')).FullName 'weights.safetensors'
        $remoteOut = Join-Path (New-Item -ItemType Directory -Path (Join-Path $TestDrive 'select-remote')).FullName 'weights.safetensors'
        Select-CkptWeights -LiteralPath (Join-Path $Served 'dcp2_fsdp2_adam') -OutFile $localOut
        Select-CkptWeights "$Http/dcp2_fsdp2_adam/.metadata" -OutFile $remoteOut
        (Get-FileHash -LiteralPath $remoteOut).Hash | Should -Be (Get-FileHash -LiteralPath $localOut).Hash
    }

    It 'Compare-Ckpt finds no difference from the local folder, and Test-Ckpt grades it as the local folder' {
        $local = Join-Path $Served 'lightning2_fsdp.ckpt'
        @(Compare-Ckpt -ReferencePath $local -DifferencePath "$Http/lightning2_fsdp.ckpt/.metadata" -All) | Should -HaveCount 0
        $remote = Test-Ckpt "$Http/lightning2_fsdp.ckpt/.metadata" -CheckValues
        $expected = Test-Ckpt -LiteralPath $local -CheckValues
        $remote.IsValid | Should -Be $expected.IsValid
        $remote.IsSafe | Should -Be $expected.IsSafe
        $remote.Summary | Should -Be $expected.Summary
    }

    It 'names a shard missing from the server as the local read does' {
        $partial = Join-Path $Served 'dcp-partial'
        Copy-Item -LiteralPath (Join-Path $Served 'dcp2_fsdp2_adam') -Destination $partial -Recurse
        Remove-Item -LiteralPath (Join-Path $partial '__1_0.distcp')
        Get-CkptInfo "$Http/dcp-partial/.metadata?sig=SECRET" -ErrorVariable err -ErrorAction SilentlyContinue
        Get-CkptInfo -LiteralPath $partial -ErrorVariable localErr -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be $localErr[0].FullyQualifiedErrorId
        $err[0].Exception.Message | Should -Match '__1_0\.distcp'
        $err[0].Exception.Message | Should -Not -Match 'SECRET'
    }
}

Describe 'TLS by URL' {
    BeforeAll {
        $script:Child = {
            param([string] $CaFile)
            Invoke-FreshPwsh @{ SSL_CERT_FILE = $(if ($CaFile) { $CaFile } else { $null }) } `
                "try { (Get-CkptInfo '$($Nginx.Https)/files/last.ckpt' -ErrorAction Stop).GlobalStep } catch { 'ERROR ' + `$_.FullyQualifiedErrorId + ' ' + `$_.Exception.Message }"
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

Describe 'Proxies from the environment (HTTP_PROXY, NO_PROXY)' {
    BeforeAll {
        $script:Proxy = Start-TestForwardProxy
        # the proxy variables as the test sets them, whatever the runner's own (lower case wins in .NET)
        $script:ProxyEnv = [hashtable]::new([StringComparer]::Ordinal) # variable names are case-sensitive here
        foreach ($name in 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy', 'NO_PROXY', 'no_proxy') { $ProxyEnv[$name] = $null }
        $ProxyEnv['HTTP_PROXY'] = $Proxy.Url
        $script:Report = "catch { 'ERROR ' + `$_.FullyQualifiedErrorId + ' ' + `$_.Exception.Message }"
    }
    AfterAll { Stop-TestServer $script:Proxy }

    It 'sends every request through HTTP_PROXY, DCP shards included' {
        $local = (Get-CkptTensor -LiteralPath (Join-Path $Served 'dcp2_fsdp2_adam') -All -Hash).Sha256 -join ','
        $script = "try { (Get-CkptTensor '$Http/dcp2_fsdp2_adam/.metadata?sig=SECRET' -All -Hash -ErrorAction Stop).Sha256 -join ',' } $Report"
        $viaProxy = Measure-NginxCall $Proxy { Measure-NginxCall $Nginx { Invoke-FreshPwsh $ProxyEnv $script } }
        $atOrigin = $viaProxy.Output
        $atOrigin.Output | Select-Object -Last 1 | Should -Be $local
        $viaProxy.Requests | Should -BeGreaterThan 2
        # what the origin answered in that call is what went through the proxy: every request
        $atOrigin.Requests | Should -Be $viaProxy.Requests
        $viaProxy.Lines | ForEach-Object { $_ | Should -Match '"/files/dcp2_fsdp2_adam/[^"]+\?sig=SECRET"$' }
    }

    It 'goes straight to a host NO_PROXY names' {
        $call = Measure-NginxCall $Proxy {
            $bypass = $ProxyEnv.Clone(); $bypass['NO_PROXY'] = '127.0.0.1'
            Invoke-FreshPwsh $bypass "try { (Get-CkptInfo '$Http/last.ckpt' -ErrorAction Stop).GlobalStep } $Report"
        }
        $call.Output | Select-Object -Last 1 | Should -Be "$((Get-CkptInfo -LiteralPath (Join-Path $Served 'last.ckpt')).GlobalStep)"
        $call.Requests | Should -Be 0 -Because ($call.Lines -join " | ")
    }

    It 'keeps the URL''s credentials out of errors through the proxy, and the proxy''s own' {
        $out = Invoke-FreshPwsh $ProxyEnv "try { Get-CkptInfo 'http://user:PWSECRET@$(([uri]$Http).Authority)/files/nothere.ckpt?sig=SIGSECRET' -ErrorAction Stop } $Report"
        $last = $out | Select-Object -Last 1
        $last | Should -Match '^ERROR RemoteNotFound'
        $last | Should -Match 'sig=REDACTED'
        $last | Should -Not -Match 'SECRET'

        # a proxy that does not answer, given with credentials of its own
        $dead = $ProxyEnv.Clone(); $dead['HTTP_PROXY'] = "http://proxyuser:PROXYSECRET@127.0.0.1:$(Get-FreeTcpPort)"
        $out = Invoke-FreshPwsh $dead "try { Get-CkptInfo '$Http/last.ckpt?sig=SIGSECRET' -TimeoutSec 5 -ErrorAction Stop } $Report"
        $last = $out | Select-Object -Last 1
        $last | Should -Match '^ERROR RemoteRequestFailed'
        $last | Should -Not -Match 'SECRET'
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

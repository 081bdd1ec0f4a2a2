# Dot-sourced by Remote.Tests.ps1: real servers on loopback, started by the tests and stopped after them.
#   nginx (Debian's nginx-light) as a foreground process with its own prefix and config in a temp folder, over HTTP and
#   TLS (a test CA made by openssl), its access log counting the requests and body bytes of each call;
#   Azurite (npm, installed by .ci/run into .cache/azurite) with SAS URLs signed here.

function Get-FreeTcpPort {
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $listener.Start()
    try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
}

function Wait-TcpPort([int] $Port, [System.Diagnostics.Process] $Process, [string] $What) {
    $deadline = [DateTime]::UtcNow.AddSeconds(60)
    while ([DateTime]::UtcNow -lt $deadline) {
        if ($Process.HasExited) { throw "$What exited with code $($Process.ExitCode) before listening on port $Port" }
        $client = [System.Net.Sockets.TcpClient]::new()
        try { $client.Connect('127.0.0.1', $Port); return } catch { Start-Sleep -Milliseconds 100 } finally { $client.Dispose() }
    }
    throw "$What did not listen on port $Port within 60 s"
}

function New-TestCertificateAuthority([string] $Dir) {
    # A CA and a server certificate for localhost/127.0.0.1 signed by it; the CA is trusted only where a test says so.
    $null = New-Item -ItemType Directory -Path $Dir -Force
    $ext = Join-Path $Dir 'server.ext'
    Set-Content -LiteralPath $ext -Value "subjectAltName=DNS:localhost,IP:127.0.0.1`nbasicConstraints=CA:FALSE`nkeyUsage=digitalSignature,keyEncipherment`nextendedKeyUsage=serverAuth"
    $ca = Join-Path $Dir 'ca.pem'; $caKey = Join-Path $Dir 'ca.key'
    $cert = Join-Path $Dir 'server.pem'; $key = Join-Path $Dir 'server.key'; $csr = Join-Path $Dir 'server.csr'
    & openssl req -x509 -newkey rsa:2048 -nodes -keyout $caKey -out $ca -days 2 -subj '/CN=LightningCkpt test CA' `
        -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' 2>$null
    & openssl req -newkey rsa:2048 -nodes -keyout $key -out $csr -subj '/CN=localhost' 2>$null
    & openssl x509 -req -in $csr -CA $ca -CAkey $caKey -CAcreateserial -out $cert -days 2 -extfile $ext 2>$null
    if (-not (Test-Path -LiteralPath $cert)) { throw 'openssl could not make the test certificates' }
    [pscustomobject]@{ CaFile = $ca; CertFile = $cert; KeyFile = $key }
}

function Start-TestNginx([string] $Root, $Certificates) {
    # Serves $Root at /files/; /norange/ ignores Range (max_ranges 0); /moved/ redirects (302) to /files/;
    # /private/ wants "Authorization: Bearer pester-token"; /slow/ sends 1 KB/s.
    $dir = Join-Path ([System.IO.Path]::GetTempPath()) ("lc-nginx-" + [guid]::NewGuid().ToString('n'))
    $null = New-Item -ItemType Directory -Path $dir
    $http = Get-FreeTcpPort
    $https = Get-FreeTcpPort
    $log = Join-Path $dir 'access.log'
    $rootDir = $Root.TrimEnd('/') + '/'
    $locations = @"
        location /files/ { alias $rootDir; }
        location /norange/ { alias $rootDir; max_ranges 0; }
        location /moved/ { rewrite ^/moved/(.*)`$ /files/`$1 redirect; }
        location /private/ {
            if (`$http_authorization != "Bearer pester-token") { return 401; }
            alias $rootDir;
        }
        location /slow/ { alias $rootDir; limit_rate 1k; }
"@
    $servers = @"
    server {
        listen 127.0.0.1:$http;
$locations
    }
    server {
        listen 127.0.0.1:$https ssl;
        server_name localhost;
        ssl_certificate $($Certificates.CertFile);
        ssl_certificate_key $($Certificates.KeyFile);
$locations
    }
"@
    $process = Start-NginxProcess $dir $servers @($http, $https)
    [pscustomobject]@{ Process = $process; Dir = $dir; Log = $log; Http = "http://127.0.0.1:$http"; Https = "https://localhost:$https" }
}

function Start-NginxProcess([string] $Dir, [string] $Servers, [int[]] $Ports) {
    # nginx in the foreground, its prefix, config and logs in $Dir (access.log counts status, body bytes, range, URI)
    $conf = @"
daemon off;
master_process off;
worker_processes 1;
pid $Dir/nginx.pid;
error_log $Dir/error.log;
events { worker_connections 128; }
http {
    log_format counted '`$status `$body_bytes_sent "`$http_range" "`$request_uri"';
    access_log $Dir/access.log counted;
    client_body_temp_path $Dir/body; proxy_temp_path $Dir/proxy; fastcgi_temp_path $Dir/fastcgi;
    uwsgi_temp_path $Dir/uwsgi; scgi_temp_path $Dir/scgi;
    default_type application/octet-stream;
$Servers
}
"@
    Set-Content -LiteralPath (Join-Path $Dir 'nginx.conf') -Value $conf
    $nginx = if (Test-Path /usr/sbin/nginx) { '/usr/sbin/nginx' } else { (Get-Command nginx -ErrorAction Stop).Source }
    $process = Start-Process -FilePath $nginx -ArgumentList @('-p', $Dir, '-c', (Join-Path $Dir 'nginx.conf'), '-e', (Join-Path $Dir 'error.log')) `
        -PassThru -RedirectStandardOutput (Join-Path $Dir 'stdout.txt') -RedirectStandardError (Join-Path $Dir 'stderr.txt')
    foreach ($port in $Ports) { Wait-TcpPort $port $process 'nginx' }
    $process
}

function Start-TestForwardProxy {
    # A plain-http forward proxy (nginx): a request in absolute form goes on to the host:port it names, an IP literal
    # on loopback (no resolver needed); Range and If-Match pass through, answers come back unbuffered.
    $dir = Join-Path ([System.IO.Path]::GetTempPath()) ("lc-proxy-" + [guid]::NewGuid().ToString('n'))
    $null = New-Item -ItemType Directory -Path $dir
    $port = Get-FreeTcpPort
    $servers = "    server {`n        listen 127.0.0.1:$port;`n        location / { proxy_pass http://`$http_host`$request_uri; proxy_http_version 1.1; proxy_buffering off; }`n    }"
    $process = Start-NginxProcess $dir $servers @($port)
    [pscustomobject]@{ Process = $process; Dir = $dir; Log = (Join-Path $dir 'access.log'); Url = "http://127.0.0.1:$port" }
}

function Invoke-FreshPwsh([hashtable] $Environment, [string] $Script) {
    # $Script in a fresh pwsh with the module imported and $Environment set ($null removes a variable): .NET reads the
    # proxy variables and the trust store once per process, so each setting needs its own process
    $shell = @(if (Test-Path -LiteralPath (Join-Path $PSHOME 'pwsh') -PathType Leaf) { Join-Path $PSHOME 'pwsh' } else { 'dotnet'; Join-Path $PSHOME 'pwsh.dll' })
    $saved = [hashtable]::new([StringComparer]::Ordinal)
    # ([NullString]::Value: a plain $null would reach .NET as "", which leaves the variable set and empty)
    $set = { param($name, $value) [Environment]::SetEnvironmentVariable($name, $(if ($null -eq $value) { [NullString]::Value } else { $value })) }
    foreach ($name in $Environment.Keys) {
        $saved[$name] = [Environment]::GetEnvironmentVariable($name)
        & $set $name $Environment[$name]
    }
    try {
        $command = "Import-Module '$((Get-Module LightningCkpt).Path -replace '\.psm1$|\.dll$', '.psd1')' -ErrorAction Stop; $Script"
        $shellArgs = @($shell | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-Command', $command)
        & $shell[0] @shellArgs
    }
    finally {
        foreach ($name in $saved.Keys) { & $set $name $saved[$name] }
    }
}

function Stop-TestServer($Server) {
    if (-not $Server) { return }
    if (-not $Server.Process.HasExited) { $Server.Process.Kill(); $null = $Server.Process.WaitForExit(10000) }
    Remove-Item -LiteralPath $Server.Dir -Recurse -Force -ErrorAction SilentlyContinue
}

function Measure-NginxCall($Server, [scriptblock] $Call) {
    # Runs $Call and returns its output with the requests nginx logged for it: @{ Output; Requests; Bytes; Lines }.
    $before = if (Test-Path -LiteralPath $Server.Log) { @(Get-Content -LiteralPath $Server.Log).Count } else { 0 }
    $output = & $Call
    # nginx logs a request when it has finished it: wait until the count stops changing
    $lines = @(); $stable = 0
    for ($i = 0; $i -lt 100 -and $stable -lt 3; $i++) {
        Start-Sleep -Milliseconds 50
        $now = @(Get-Content -LiteralPath $Server.Log | Select-Object -Skip $before)
        if ($now.Count -eq $lines.Count -and $now.Count -gt 0) { $stable++ } else { $stable = 0 }
        $lines = $now
    }
    $bytes = 0
    foreach ($l in $lines) { $bytes += [long]($l -split ' ')[1] }
    [pscustomobject]@{ Output = $output; Requests = $lines.Count; Bytes = $bytes; Lines = $lines }
}

# ---- Azurite ------------------------------------------------------------------------------------------------------

$script:AzuriteAccount = 'devstoreaccount1'
# Azurite's published development key (the same in every installation; not a secret).
$script:AzuriteKey = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

function Get-AzuriteCommand {
    $local = Join-Path $script:RepoRoot '.cache/azurite/node_modules/.bin/azurite-blob'
    if (Test-Path -LiteralPath $local) { return $local }
    $cmd = Get-Command azurite-blob -ErrorAction SilentlyContinue
    if ($cmd) { return $cmd.Source }
    $null
}

function Start-TestAzurite {
    $cmd = Get-AzuriteCommand
    if (-not $cmd) { throw 'Azurite is not installed (.ci/run installs it into .cache/azurite)' }
    $dir = Join-Path ([System.IO.Path]::GetTempPath()) ("lc-azurite-" + [guid]::NewGuid().ToString('n'))
    $null = New-Item -ItemType Directory -Path $dir
    $port = Get-FreeTcpPort
    $process = Start-Process -FilePath $cmd -ArgumentList @('--blobHost', '127.0.0.1', '--blobPort', $port, '--location', $dir, '--silent', '--skipApiVersionCheck', '--loose') `
        -PassThru -RedirectStandardOutput (Join-Path $dir 'stdout.txt') -RedirectStandardError (Join-Path $dir 'stderr.txt')
    Wait-TcpPort $port $process 'Azurite'
    [pscustomobject]@{ Process = $process; Dir = $dir; Blob = "http://127.0.0.1:$port/$script:AzuriteAccount" }
}

function New-AzuriteSas([string] $Permissions, [DateTime] $Expiry) {
    # An account SAS (version 2019-12-12) signed with the development key, as a cloud script would get from its SDK.
    $version = '2019-12-12'
    $expiryText = $Expiry.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ')
    $toSign = "$script:AzuriteAccount`n$Permissions`nb`nsco`n`n$expiryText`n`nhttp,https`n$version`n"
    $hmac = [System.Security.Cryptography.HMACSHA256]::new([Convert]::FromBase64String($script:AzuriteKey))
    try { $sig = [Convert]::ToBase64String($hmac.ComputeHash([System.Text.Encoding]::UTF8.GetBytes($toSign))) } finally { $hmac.Dispose() }
    "sv=$version&ss=b&srt=sco&sp=$Permissions&se=$([uri]::EscapeDataString($expiryText))&spr=http,https&sig=$([uri]::EscapeDataString($sig))"
}

function Send-AzuriteBlob($Azurite, [string] $Container, [string] $File) {
    $sas = New-AzuriteSas -Permissions 'rwc' -Expiry ([DateTime]::UtcNow.AddHours(1))
    $headers = @{ 'x-ms-version' = '2019-12-12' }
    try { $null = Invoke-WebRequest -Method Put -Uri "$($Azurite.Blob)/$Container`?restype=container&$sas" -Headers $headers -UseBasicParsing } catch { if ($_.Exception.Response.StatusCode -ne 409) { throw } }
    $name = [System.IO.Path]::GetFileName($File)
    $null = Invoke-WebRequest -Method Put -Uri "$($Azurite.Blob)/$Container/$name`?$sas" -InFile $File -ContentType 'application/octet-stream' `
        -Headers ($headers + @{ 'x-ms-blob-type' = 'BlockBlob' }) -UseBasicParsing
    "$($Azurite.Blob)/$Container/$name"
}

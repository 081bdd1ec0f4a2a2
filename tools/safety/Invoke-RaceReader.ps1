<#
    One reader of Measure-RewriteReaders.ps1: runs one data cmdlet against a file that is being rewritten, a few
    times, and writes what happened as JSON: calls, calls that succeeded, the ErrorRecord ids seen, and any
    terminating error that is not a documented ErrorRecord (which the harness counts as a failure). A crash of the process (SIGBUS …) leaves no JSON.
#>
param(
    [Parameter(Mandatory)] [string] $Module,
    [Parameter(Mandatory)] [string] $Target,
    [Parameter(Mandatory)] [string] $Stable,
    [Parameter(Mandatory)] [string] $Kind,
    [Parameter(Mandatory)] [string] $Result,
    [int] $Repeat = 3,
    # ErrorRecord ids that are part of the module's contract: a terminating error with one of them is a clean refusal
    [string[]] $Documented = @(),
    # written just before the first call, so that a harness can change the file while the cmdlet reads it
    [string] $Ready
)
$ErrorActionPreference = 'Stop'
Import-Module -Name $Module
$outDir = Split-Path $Result
$ids = [System.Collections.Generic.List[string]]::new()
$ok = 0
$terminating = $null
if ($Ready) { Set-Content -LiteralPath $Ready -Value $PID }
try {
    for ($i = 0; $i -lt $Repeat; $i++) {
      try {
        $out = Join-Path $outDir ("w-$PID-$i.ckpt")
        $ev = $null
        $r = switch ($Kind) {
            'Info'       { Get-CkptInfo -LiteralPath $Target -ErrorAction SilentlyContinue -ErrorVariable ev }
            'HashStats'  { Get-CkptTensor -LiteralPath $Target -All -Hash -Statistics -ErrorAction SilentlyContinue -ErrorVariable ev }
            'CheckValues'{ Test-Ckpt -LiteralPath $Target -CheckValues -VerifyCrc -ErrorAction SilentlyContinue -ErrorVariable ev }
            'Compare'    { Compare-Ckpt -ReferencePath $Stable -DifferencePath $Target -ErrorAction SilentlyContinue -ErrorVariable ev }
            'Select'     { Select-CkptWeights -LiteralPath $Target -DType float16 -OutFile $out -Force -PassThru -ErrorAction SilentlyContinue -ErrorVariable ev }
            'Merge'      { Merge-CkptWeights -LiteralPath $Stable, $Target -OutFile $out -Force -PassThru -ErrorAction SilentlyContinue -ErrorVariable ev }
        }
        if ($ev) { foreach ($e in $ev) { $ids.Add(($e.FullyQualifiedErrorId -split ',')[0]) } } elseif ($r) { $ok++ }
        Remove-Item -LiteralPath $out -ErrorAction SilentlyContinue
      }
      catch [System.Management.Automation.ActionPreferenceStopException] { throw }
      catch {
        # Merge refuses the whole call (MergeInputUnreadable) with a terminating ErrorRecord: clean when documented
        $id = ($_.FullyQualifiedErrorId -split ',')[0]
        if ($id -notin ($Documented -split ',')) { throw }
        $ids.Add($id)
      }
    }
}
catch { $terminating = "$($_.Exception.GetType().FullName): $($_.Exception.Message)" }
[pscustomobject]@{ Kind = $Kind; Calls = $Repeat; Succeeded = $ok; ErrorIds = @($ids); Terminating = $terminating } |
    ConvertTo-Json -Compress | Set-Content -LiteralPath $Result

# -Verbose says which files every cmdlet read or wrote and how many tensors (issue 19 item 12).
BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Initialize-CkptTestDrive
    $script:First = Join-Path $V0 'epoch=0-step=10.ckpt'

    function Get-VerboseText([scriptblock] $Command) {
        # the verbose stream only (4>&1), as text
        @(& $Command 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
    }
}

Describe '-Verbose names the files and the tensors' {
    It 'Get-CkptInfo: the file and its tensors, one line per file' {
        $v = Get-VerboseText { Get-CkptInfo -LiteralPath $First, $Last -Verbose }
        $v | Should -HaveCount 2
        $all = (Get-CkptInfo -LiteralPath $First).AllTensorCount
        $v[0] | Should -BeExactly "Read '$First': Zip, $all tensors (4 tensors of model weights); metadata only, no tensor data."
        $v[1] | Should -Match ([regex]::Escape("Read '$Last'"))
    }

    It 'Get-CkptTensor: listed, matched, and whether data was read' {
        (Get-VerboseText { Get-CkptTensor -LiteralPath $Last -Name '*.bias' -Verbose }) | Should -BeExactly "Read '$Last': 4 tensors listed, 2 matched."
        (Get-VerboseText { Get-CkptTensor -LiteralPath $Last -Hash -Verbose }) | Should -BeExactly "Read '$Last': 4 tensors listed, 4 matched, the data of 4 tensors read."
    }

    It 'Import-Ckpt, Compare-Ckpt and Test-Ckpt' {
        (Get-VerboseText { $null = Import-Ckpt -LiteralPath $Last -Verbose }) | Should -Match "^Read '$([regex]::Escape($Last))': Zip, the object graph with 23 tensors"
        (Get-VerboseText { $null = Compare-Ckpt -ReferencePath $First -DifferencePath $Last -Verbose }) | Should -Match "^Read '$([regex]::Escape($Last))': compared with '$([regex]::Escape($First))': 4 tensors and \d+ metadata fields"
        (Get-VerboseText { $null = Test-Ckpt -LiteralPath $Last -Verbose }) | Should -Match "^Read '$([regex]::Escape($Last))': tested \(.*\), metadata only\.$"
    }

    It 'the writers: the file written and the tensors in it' {
        $sel = Join-Path $TestDrive 'sel.safetensors'
        $v = Get-VerboseText { Select-CkptWeights -LiteralPath $Last -Include '*.weight' -OutFile $sel -Verbose }
        $v | Should -Contain "Wrote '$sel': 2 tensors from '$Last'."
        (Get-VerboseText { $null = Select-CkptWeights -LiteralPath $Last -Verbose }) | Should -BeExactly "Read '$Last': 4 tensors selected; nothing written (no -OutFile)."

        $merged = Join-Path $TestDrive 'merged.ckpt'
        $v = Get-VerboseText { Merge-CkptWeights -LiteralPath $First, $Last -OutFile $merged -Verbose }
        $v | Should -Contain "Read '$First': 4 tensors of model weights."
        $v | Should -Contain "Wrote '$merged': 4 tensors, the Linear merge of 2 checkpoints."

        $exported = Join-Path $TestDrive 'exported.ckpt'
        $v = Get-VerboseText { Import-Ckpt -LiteralPath $Last | Export-Ckpt -OutFile $exported -Verbose }
        @($v -match "^Wrote '$([regex]::Escape($exported))': the object graph with \d+ tensor storages \([\d.]+ [KM]?B of tensor data\)\.$") | Should -HaveCount 1
    }
}

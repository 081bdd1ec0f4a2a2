BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    Import-LightningCkptModule
    New-CkptTestData -Root $TestDrive
    $script:V0 = Join-Path $TestDrive 'lightning_logs/version_0/checkpoints'
    $script:Last = Join-Path $V0 'last.ckpt'
    $script:Id = 'LightningCkpt.Commands.ImportCkptCommand'
}

Describe 'Import-Ckpt' {
    It 'emits one navigable ordered dictionary per file, keys in file order' {
        $c = Import-Ckpt -LiteralPath $Last
        @($c).Count | Should -Be 1
        $c | Should -BeOfType ([System.Collections.IDictionary])
        @($c.Keys)[0..3] | Should -Be @('epoch', 'global_step', 'pytorch-lightning_version', 'state_dict')
        $c.epoch | Should -Be 2
        $c.epoch | Should -BeOfType ([long])
        $c.optimizer_states[0].param_groups[0].lr | Should -BeOfType ([double])
        $c['pytorch-lightning_version'] | Should -Be '2.1.3'
    }

    It 'keeps int keys as ints, distinct from their text' {
        $state = (Import-Ckpt -LiteralPath $Last).optimizer_states[0].state
        @($state.Keys) | ForEach-Object { $_ | Should -BeOfType ([long]) }
        $state[0].Keys | Should -Contain 'exp_avg'
        $state['0'] | Should -BeNullOrEmpty
    }

    It 'gives tensors as CkptTensor bound to their file, shared ones as one object' {
        $c = Import-Ckpt -LiteralPath $Last
        $w = $c.state_dict.'model.net.0.weight'
        $w | Should -BeOfType ([LightningCkpt.CkptTensor])
        $w.FullName | Should -Be $Last
        $w.Shape | Should -Be @(16, 4)
        $w.Sha256 | Should -BeNullOrEmpty
    }

    It 'works with Where-Object, ConvertTo-Json and the hashtable view' {
        $c = Import-Ckpt -LiteralPath $Last
        @($c.state_dict.Keys | Where-Object { $_ -like '*.bias' }) | Should -Be @('model.net.0.bias', 'model.net.2.bias')
        ($c.hyper_parameters | ConvertTo-Json -Compress) | Should -Be '{"lr":0.001,"hidden_dim":16,"batch_size":32,"num_classes":3}'
        ($c.hyper_parameters | Out-String) | Should -Match 'hidden_dim\s+16'
    }

    It 'takes a subtree with -Key, ints and list indices included' {
        $g = Import-Ckpt -LiteralPath $Last -Key 'optimizer_states/0/param_groups' -NoEnumerate
        $g.GetType().FullName | Should -Be 'LightningCkpt.Pickle.PyList'  # -NoEnumerate: emitted whole
        $g[0].lr | Should -BeGreaterThan 0
        (Import-Ckpt -LiteralPath $Last -Key 'optimizer_states/0/state/0/step').Shape.Count | Should -Be 0
    }

    It 'says what is wrong with an edit in plain words, without .NET''s (Parameter ''key'') suffix (issue 19 item 12)' {
        $c = Import-Ckpt -LiteralPath $Last
        $messages = @(
            { $c.Add('epoch', 1) }, { $c.RenameKey('epoch', 'global_step') }, { $c.state_dict.RenameKeys('bias$', 'weight') } | ForEach-Object {
                try { & $_; 'no error' } catch { $_.Exception.InnerException.Message }
            })
        $messages[0] | Should -BeExactly "the key 'epoch' is already in the dict"
        $messages[1] | Should -BeExactly "the dict already has the key 'global_step'"
        $messages[2] | Should -BeExactly "the dict already has the key 'model.net.0.weight'"
    }

    It 'reports a missing key as KeyNotFound and goes on' {
        $r = Import-Ckpt -LiteralPath $Last, (Join-Path $V0 'epoch=0-step=10.ckpt') -Key 'nope' -ErrorVariable e -ErrorAction SilentlyContinue
        $r | Should -BeNullOrEmpty
        $e.Count | Should -Be 2
        $e[0].FullyQualifiedErrorId | Should -Be "KeyNotFound,$Id"
    }

    It 'takes Get-ChildItem output and wildcards, one graph per file' {
        @(Get-ChildItem -LiteralPath $V0 -Filter 'epoch=*.ckpt' | Import-Ckpt).Count | Should -Be 4
        @(Import-Ckpt -Path (Join-Path $V0 'epoch=?-step=??.ckpt')).Count | Should -Be 3
    }

    It 'reports a broken file with the shared error ids' {
        { Import-Ckpt -LiteralPath (Join-Path $TestDrive 'mixed/truncated.ckpt') -ErrorAction Stop } | Should -Throw -ErrorId "InvalidCheckpoint,$Id"
    }

    It 'shows inert objects by class, arguments and state' {
        $c = Import-Ckpt -LiteralPath $Last
        $c.hyper_parameters.GetType().Name | Should -Be 'PyDict'
        $c.hyper_parameters.PythonType.FullName | Should -Be 'lightning_fabric.utilities.data.AttributeDict'
    }
}

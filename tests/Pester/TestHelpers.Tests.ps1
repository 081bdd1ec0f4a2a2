# The rendering helpers other tests rely on to read views back: they must return what PowerShell really printed.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestHelpers.ps1')
    $script:Rows = @(
        [pscustomobject]@{ Name = 'model.net.0.weight'; Shape = '[16, 4]'; Count = 64; Note = 'two words here' }
        [pscustomobject]@{ Name = 'b'; Shape = '[3]'; Count = 1234567; Note = '' }
    )
}

Describe 'Get-RenderedText' {
    It 'renders at exactly the width asked for' {
        $wide = [pscustomobject]@{ A = 'x' * 200; B = 1 }
        foreach ($w in 80, 120) {
            $lines = $wide | Format-Table | Get-RenderedText -Width $w | Get-RenderedLine
            ($lines | Measure-Object -Property Length -Maximum).Maximum | Should -Be $w
        }
    }

    It 'contains no colour codes' {
        $Rows | Format-Table | Get-RenderedText -Width 80 | Should -Not -Match "`e"
    }
}

Describe 'ConvertFrom-RenderedTable' {
    It 'reads every cell back by column, values with spaces whole, right-aligned numbers wider than their header' {
        $cells = @($Rows | Format-Table | Get-RenderedText -Width 80 | ConvertFrom-RenderedTable)
        $cells.Count | Should -Be 2
        $cells[0].Name | Should -BeExactly 'model.net.0.weight'
        $cells[0].Shape | Should -BeExactly '[16, 4]'
        $cells[0].Count | Should -BeExactly '64'
        $cells[0].Note | Should -BeExactly 'two words here'
        $cells[1].Count | Should -BeExactly '1234567'
        $cells[1].Note | Should -BeExactly ''
        $Rows | Get-RenderedText -Width 80 | Get-RenderedColumn | Should -Be @('Name', 'Shape', 'Count', 'Note')
    }

    It 'joins a header wrapped over several lines and keeps a squeezed value as printed' {
        $o = [pscustomobject]@{ Name = 'n' * 60; VeryLongColumnHeaderName = 0.861831724643707 }
        $text = $o | Format-Table | Get-RenderedText -Width 70
        ($text -split '\r?\n' | Where-Object { $_ -match '\S' }).Count | Should -BeGreaterThan 3   # the header wrapped
        $cell = $text | ConvertFrom-RenderedTable
        $cell.PSObject.Properties.Name | Should -Contain 'VeryLongColumnHeaderName'
        $cell.VeryLongColumnHeaderName | Should -Match '^0\.86'   # PowerShell rounds it to fit
        $cell._Line | Should -Match ([regex]::Escape($cell.VeryLongColumnHeaderName) + '$')
    }

    It 'tells the rows of grouped tables apart' {
        $g = @(
            [pscustomobject]@{ Dir = 'one'; Name = 'a' }
            [pscustomobject]@{ Dir = 'two'; Name = 'b' }
        )
        $cells = @($g | Format-Table -Property Name -GroupBy Dir | Get-RenderedText -Width 80 | ConvertFrom-RenderedTable)
        $cells.Name | Should -Be @('a', 'b')
        $cells._Group | Should -Be @('Dir: one', 'Dir: two')
    }
}

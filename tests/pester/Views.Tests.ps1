# The default views as a user's console shows them: Get-PimPending and the decisions written to a
# host of 80, 100, 120, 132, 160 and 200 columns (CaptureHost.cs), every line within the width, one line per request,
# the justification kept, and more columns when there is room.

BeforeAll {
    . "$PSScriptRoot/TestHelpers.ps1"
    Import-Module $ModulePath -Force
    $script:Demo = Start-Emulator -Scenario demo
    $script:Common = @{ GraphUri = $Demo.Uri; AccessToken = (New-TestToken $Demo) }
    $script:Pending = @(Get-PimPending @Common -Surface DirectoryRole, Group)
    $alex = $Pending | Where-Object Principal -eq 'Alex Wilber' | Where-Object Surface -eq 'DirectoryRole'
    $script:Decisions = @(
        $alex | Approve-PimRequest -Justification 'views' -Confirm:$false @Common
        $alex | Approve-PimRequest -Justification 'again' -Confirm:$false -ErrorAction SilentlyContinue @Common
    )
    # What is listed after that: the decided request no longer waits.
    $script:Waiting = @(Get-PimPending @Common -Surface DirectoryRole, Group)

    function Get-ConsoleText([int] $Width, [scriptblock] $Script, [object[]] $ArgumentList) {
        # What the script writes to a console of -Width columns, as the lines a person sees: without
        # $PSStyle's colours (escape sequences of the formatter's own that take no column).
        $run = Invoke-CaptureHost -Width $Width -Script $Script -ArgumentList $ArgumentList
        $run.Errors | Should -HaveCount 0
        @(($run.Text -split "`n") | ForEach-Object { ($_ -replace "$([char]27)\[[0-9;]*m", '').TrimEnd("`r") })
    }

    function Assert-WithinWidth([string[]] $Lines, [int] $Width) {
        foreach ($line in $Lines) { $line.Length | Should -BeLessOrEqual $Width -Because "'$line' is within $Width columns" }
    }
}

AfterAll {
    Stop-Emulator $Demo
}

Describe 'The listing''s table' -ForEach @(80, 100, 120, 132, 160, 200 | ForEach-Object { @{ Width = $_ } }) {
    BeforeAll {
        # A listing sorted by age: one table, not one per surface.
        $script:Lines = Get-ConsoleText -Width $Width -Script {
            param($uri, $token)
            $ProgressPreference = 'SilentlyContinue'
            Get-PimPending -GraphUri $uri -AccessToken $token -Surface DirectoryRole, Group | Sort-Object CreatedAt | Out-Default
        } -ArgumentList $Demo.Uri, $Common.AccessToken
    }

    It 'fits <Width> columns: no line is longer' {
        Assert-WithinWidth $Lines $Width
    }

    It 'is one table with a Surface column, at <Width> columns' {
        @($Lines | Where-Object { $_ -match '^Surface\s+Principal\s+Role\s+For\s+Justification\b' }) | Should -HaveCount 1
        $Lines | Should -Not -Contain 'Surface: DirectoryRole'
    }

    It 'names every column it shows in full, on the header''s one line, at <Width> columns' {
        # A column squeezed narrower than its label prints the label down the page, a letter a line.
        $header = @($Lines | Where-Object { $_ -match '^Surface\s+Principal' })[0]
        $rule = $Lines[[array]::IndexOf([string[]]$Lines, $header) + 1]
        $rule | Should -Match '^[- ]+$'
        $labels = @($header -split '\s+' | Where-Object { $_ })
        @(($rule -split '\s+') | Where-Object { $_ }) | Should -HaveCount $labels.Count
        $labels | Should -Not -Contain 'T'
        foreach ($label in $labels) { $label | Should -BeIn 'Surface', 'Principal', 'Role', 'For', 'Justification', 'Requested', 'Expires', 'Ticket', 'Scope' }
    }

    It 'shows each request on one line with its justification, at <Width> columns' {
        foreach ($request in $Waiting) {
            $name = $request.Principal.Substring(0, [math]::Min(12, $request.Principal.Length))
            $rows = @($Lines | Where-Object { $_ -match "^\w+\s+$([regex]::Escape($name))" -and $_.Contains($request.Justification.Substring(0, 20)) })
            $rows.Count | Should -BeGreaterOrEqual 1 -Because "$($request.Principal)'s request shows its justification ('$($request.Justification)')"
        }
        # One line per request: the rows are the lines between the header's rule and the end.
        $rule = [array]::FindIndex([string[]]$Lines, [Predicate[string]] { param($l) $l -match '^-------' })
        @($Lines | Select-Object -Skip ($rule + 1) | Where-Object { $_.Trim() }) | Should -HaveCount $Waiting.Count
    }

    It 'shows the surfaces and the durations, at <Width> columns' {
        $text = $Lines -join "`n"
        $text | Should -Match '(?m)^Entra\s+'
        $text | Should -Match '(?m)^Group\s+'
        $lee = @($Lines | Where-Object { $_ -match '^Entra\s+Lee Gu\s' })[0]
        $lee | Should -Match '\s1h\s'
    }

    It 'shows more columns at 200 than at 80' {
        $header = @($Lines | Where-Object { $_ -match '^Surface\s+Principal' })[0]
        if ($Width -ge 200) {
            $header | Should -Match 'Justification\s+Requested\s+Expires\s+Ticket\s+Scope'
            ($Lines -join "`n") | Should -Match 'ServiceNow INC0012345'
            ($Lines -join "`n") | Should -Match '\d+m ago\s+in 2\dh'
        } elseif ($Width -ge 100) {
            $header | Should -Match 'Justification\s+Requested\s+Expires'
            ($Lines -join "`n") | Should -Match '\d+m ago\s+in 2\dh'
        } else {
            $header | Should -Not -Match 'Requested|Scope|Ticket'
        }
    }
}

Describe 'The listing''s list' {
    It 'shows every property, with absolute times, within 80 columns' {
        $adele = $Waiting | Where-Object Principal -eq 'Adele Vance'
        $lines = Get-ConsoleText -Width 80 -Script { param($r) $r | Format-List | Out-Default } -ArgumentList (, $adele)
        foreach ($name in $adele.PSObject.Properties.Name) { ($lines -join "`n") | Should -Match "(?m)^$name\s+:" }
        foreach ($name in 'CreatedAt', 'ExpiresAt') {
            ($lines -join "`n") | Should -Match "(?m)^$name\s+: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d$"
        }
        ($lines -join "`n") | Should -Match '(?m)^TicketSystem\s+: ServiceNow$'
        ($lines -join "`n") | Should -Match '(?m)^TicketNumber\s+: INC0012345$'
    }
}

Describe 'The decisions'' table' -ForEach @(80, 100, 120, 132, 160, 200 | ForEach-Object { @{ Width = $_ } }) {
    BeforeAll {
        $script:Lines = Get-ConsoleText -Width $Width -Script { param($d) $d | Out-Default } -ArgumentList (, $Decisions)
    }

    It 'fits <Width> columns, one line per decision, the error kept' {
        Assert-WithinWidth $Lines $Width
        $rule = $Lines[[array]::FindIndex([string[]]$Lines, [Predicate[string]] { param($l) $l -match '^Result\s' }) + 1]
        $rule | Should -Match '^[- ]+$' -Because 'every label is whole, on the header''s one line'
        @($Lines | Where-Object { $_ -match '^Result\s+Principal\s+Role\s+At\s+Error' }) | Should -HaveCount 1
        @($Lines | Where-Object { $_ -match '^Approved\s+Alex Wilber\s+Exchange Administrator\s+\d\d:\d\d:\d\d(\s+Entra\s+Directory\b.*)?\s*$' }) | Should -HaveCount 1
        @($Lines | Where-Object { $_ -match '^Failed\s+Alex Wilber\s+Exchange Administrator\s+(\d\d:\d\d:\d\d\s+)?This request has' }) | Should -HaveCount 1
    }

    It 'shows more columns at 200 than at 80' {
        $header = @($Lines | Where-Object { $_ -match '^Result\s+Principal' })[0]
        if ($Width -ge 200) {
            $header | Should -Match 'Error\s+Surface\s+Scope\s+ErrorId\s+ApprovalId'
            ($Lines -join "`n") | Should -Match 'PimBridge\.AlreadyDecided'
        } elseif ($Width -ge 100) {
            $header | Should -Match 'Error\s+Surface\s+Scope'
        } else {
            $header | Should -Not -Match 'ErrorId'
        }
    }

    It 'shows a decision as a list with every property and the time absolute' {
        $lines = Get-ConsoleText -Width 80 -Script { param($d) $d | Format-List | Out-Default } -ArgumentList (, $Decisions[0])
        foreach ($name in $Decisions[0].PSObject.Properties.Name) { ($lines -join "`n") | Should -Match "(?m)^$name\s+:" }
        ($lines -join "`n") | Should -Match '(?m)^DecidedAt\s+: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d$'
    }
}

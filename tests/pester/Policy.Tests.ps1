# Test-PimPolicy and Invoke-PimPolicy against a running pim-emulator (demo tenant: directory roles,
# groups and Azure resources), with the built module. Each Describe gets a fresh emulator.

BeforeAll {
    . "$PSScriptRoot/TestHelpers.ps1"
    Import-Module $ModulePath -Force

    function Start-Demo {
        $script:Emu = Start-Emulator -Scenario demo
        $script:Both = @{
            GraphUri = $Emu.Uri; ArmUri = $Emu.Uri
            AccessToken = (New-TestToken $Emu); ArmAccessToken = (New-TestToken $Emu @{ audience = 'arm' })
        }
    }

    # A policy over all three surfaces, both actions and five justifications; what it decides in
    # the demo tenant is $Expected (principal and surface -> rule, action, justification sent).
    # The demo's requests are 4 to 125 minutes old: 'stale' (90 minutes) holds for Alex Wilber's
    # directory role request alone, with 55 minutes to spare. 'privileged-roles' matches only the
    # approver's own request, which a rule never decides.
    $script:PolicyText = @'
@{
    Rules = @(
        @{ Name = 'no-global-admin'; Role = 'Global Administrator'; Action = 'Deny'
           Justification = 'Global Administrator needs a person' }
        @{ Name = 'finance-members'; Surface = 'Group'; Role = 'Member'; Scope = 'Finance*'
           MaxDuration = 'PT4H'; Action = 'Approve'; Justification = 'Approved by policy {Rule}' }
        @{ Name = 'ticketed-short'; Surface = 'DirectoryRole'; TicketRequired = $true; TicketSystem = '^ServiceNow$'
           MaxDuration = 'PT2H'; Action = 'Approve'; Justification = 'Ticket {TicketNumber} checked by policy {Rule}' }
        @{ Name = 'azure-changes'; Surface = 'AzureResource'; TicketNumber = '^CHG'; MaxDuration = 'PT4H'
           Action = 'Approve'; Justification = 'Change {TicketNumber} by policy {Rule}' }
        @{ Name = 'privileged-roles'; Role = 'Privileged Role Administrator'; Action = 'Approve'
           Justification = 'Approved by policy {Rule}' }
        @{ Name = 'stale'; Surface = 'DirectoryRole'; OlderThan = 'PT90M'; Action = 'Deny'
           Justification = 'Not approved within 90 minutes (policy {Rule})' }
    )
}
'@
    $script:Expected = @{
        'DirectoryRole|Adele Vance'      = 'no-global-admin', 'Deny', 'Global Administrator needs a person'
        'DirectoryRole|Patti Fernandez'  = 'ticketed-short', 'Approve', 'Ticket INC0012390 checked by policy ticketed-short'
        'DirectoryRole|Alex Wilber'      = 'stale', 'Deny', 'Not approved within 90 minutes (policy stale)'
        'Group|Alex Wilber'              = 'finance-members', 'Approve', 'Approved by policy finance-members'
        'AzureResource|Nestor Wilke'     = 'azure-changes', 'Approve', 'Change CHG0004911 by policy azure-changes'
    }

    function New-PolicyFile([string] $Text, [string] $Name = 'policy.psd1') {
        $path = Join-Path $TestDrive $Name
        Set-Content -LiteralPath $path -Value $Text -Encoding utf8
        $path
    }

    function Get-ServiceCallCount {
        # Calls on the service's routes (Graph and ARM), the control API's own not counted.
        (Invoke-RestMethod -Uri "$($Emu.Uri)/_emulator/stats").httpRequests
    }

    function Get-DecisionCallCount {
        # Decisions the emulator was asked for: every write (Graph PATCH on a step or stage, ARM PUT on a stage).
        $n = 0
        foreach ($like in 'PATCH *', 'PUT *', 'POST *roleAssignmentScheduleRequests*', 'POST *assignmentScheduleRequests*') {
            $count = Get-EmulatorCallCount $Emu -Like $like
            if ($count) { $n += $count }
        }
        $n
    }
}

Describe 'Test-PimPolicy: the dry run' {
    BeforeAll {
        Start-Demo
        $script:Policy = New-PolicyFile $PolicyText
        $script:Pending = @(Get-PimPending @Both)
    }
    AfterAll { Stop-Emulator $Emu }

    It 'outputs one result per pending request, naming the request, the rule, the action and why' {
        $results = @(Test-PimPolicy -Path $Policy @Both)
        $results.Count | Should -Be $Pending.Count
        $results[0].PSObject.TypeNames[0] | Should -Be 'PimBridge.PolicyResult'
        foreach ($r in $results) {
            $r.Request | Should -Not -BeNullOrEmpty
            $r.Summary | Should -Not -BeNullOrEmpty
            @($r.Reasons).Count | Should -BeGreaterThan 0
            $key = "$($r.Surface)|$($r.Principal)"
            if ($Expected.ContainsKey($key)) {
                $r.Rule | Should -Be $Expected[$key][0] -Because $key
                $r.Action | Should -Be $Expected[$key][1] -Because $key
                $r.Justification | Should -BeExactly $Expected[$key][2] -Because $key
            } else {
                $r.Action | Should -Be 'Skip' -Because "$key is left to a person"
                $r.Justification | Should -BeNullOrEmpty
            }
        }
        @($results | Where-Object Action -ne 'Skip').Count | Should -Be $Expected.Count
    }

    It 'says why, condition by condition' {
        $patti = Test-PimPolicy -Path $Policy @Both | Where-Object Principal -eq 'Patti Fernandez'
        $held = @($patti.Reasons | Where-Object Rule -eq 'ticketed-short')
        $held.Count | Should -BeGreaterThan 1
        $held | ForEach-Object { $_.Held | Should -BeTrue }
        $alex = Test-PimPolicy -Path $Policy @Both | Where-Object { $_.Surface -eq 'DirectoryRole' -and $_.Principal -eq 'Alex Wilber' }
        $alex.Rule | Should -Be 'stale'
        @($alex.Reasons | Where-Object { $_.Rule -eq 'ticketed-short' -and $_.Condition -eq 'MaxDuration' -and -not $_.Held }).Count | Should -Be 1
    }

    It 'takes requests from the pipeline, and gives the same answers' {
        $piped = @($Pending | Test-PimPolicy -Path $Policy @Both)
        $listed = @(Test-PimPolicy -Path $Policy @Both)
        ($piped | ForEach-Object { "$($_.ApprovalId)=$($_.Rule)=$($_.Action)" }) | Should -Be ($listed | ForEach-Object { "$($_.ApprovalId)=$($_.Rule)=$($_.Action)" })
    }

    It 'reads hand-made objects with a Ticket as Get-PimPending shows it' {
        $patti = $Pending | Where-Object Principal -eq 'Patti Fernandez'
        $copy = [pscustomobject]@{}
        foreach ($p in $patti.PSObject.Properties) { $copy | Add-Member -NotePropertyName $p.Name -NotePropertyValue $p.Value }
        $r = $copy | Test-PimPolicy -Path $Policy @Both
        $r.Rule | Should -Be 'ticketed-short'
        $r.Justification | Should -BeExactly 'Ticket INC0012390 checked by policy ticketed-short'
    }

    It 'never decides the approver''s own request' {
        $megan = Test-PimPolicy -Path $Policy @Both | Where-Object Principal -eq 'Megan Bowen'
        $megan.Action | Should -Be 'Skip'
        $megan.Rule | Should -Be 'privileged-roles'
        @($megan.Reasons | Where-Object Condition -eq 'OwnRequest').Count | Should -Be 1
    }

    It 'refuses without a token that says who you are, naming how to connect, and sends nothing' {
        # Piped requests alone: the policy must know the approver, whose own requests a rule never decides.
        $calls = Get-ServiceCallCount
        $out = @()
        $thrown = { $script:out = @($Pending | Test-PimPolicy -Path $Policy -GraphUri $Emu.Uri) } | Should -Throw -PassThru
        $out | Should -HaveCount 0
        $thrown.FullyQualifiedErrorId | Should -BeLike 'PimBridge.NotConnected*'
        "$thrown" | Should -Match 'Not connected: run Connect-MgGraph'
        Get-ServiceCallCount | Should -Be $calls
    }

    It 'sends nothing: the emulator records no decision and no decision call' {
        $null = Test-PimPolicy -Path $Policy @Both
        $null = $Pending | Test-PimPolicy -Path $Policy @Both
        Get-EmulatorDecision $Emu | Should -HaveCount 0
        Get-DecisionCallCount | Should -Be 0
    }

    It 'shows the service''s text inert' {
        $hostile = [pscustomobject]@{
            ApprovalId = [guid]::NewGuid().ToString(); Surface = 'DirectoryRole'; PrincipalId = [guid]::NewGuid().ToString()
            Principal = "Eve`e[2J"; Role = "Reader`e]0;owned`a"; Scope = '/'
        }
        $text = $hostile | Test-PimPolicy -Path $Policy @Both | Out-String -Width 200
        $text | Should -Not -Match "`e"
        $text | Should -Match 'Eve<U\+001B>\[2J'
    }

    It 'shows a readable table' {
        $text = Test-PimPolicy -Path $Policy @Both | Out-String -Width 200
        $text | Should -Match 'Principal\s+Role\s+Scope\s+Action\s+Rule\s+Why'
        $text | Should -Match 'no-global-admin'
    }
}

Describe 'Invoke-PimPolicy: applying a policy to a mixed tenant' {
    BeforeAll {
        Start-Demo
        $script:Policy = New-PolicyFile $PolicyText
        $script:Log = Join-Path $TestDrive 'invoke.jsonl'
    }
    AfterAll { Stop-Emulator $Emu }

    It '-WhatIf shows what Test-PimPolicy shows and sends nothing' {
        $run = Invoke-CaptureHost -Script {
            param($Policy, $Both, $Log)
            Invoke-PimPolicy -Path $Policy @Both -LogPath $Log -WhatIf
        } -ArgumentList $Policy, $Both, $Log
        $run.Output | Should -HaveCount 0
        foreach ($rule in 'no-global-admin', 'finance-members', 'ticketed-short', 'azure-changes', 'stale') {
            $run.Text | Should -Match "What if: .*by rule '$rule'"
        }
        Get-EmulatorDecision $Emu | Should -HaveCount 0
        Get-DecisionCallCount | Should -Be 0
        $Log | Should -Not -Exist
    }

    It 'sends nothing when its decision log cannot be written' {
        $folder = Join-Path $TestDrive 'not-a-file'
        $null = New-Item -ItemType Directory -Path $folder
        { Invoke-PimPolicy -Path $Policy @Both -LogPath $folder -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'PimBridge.LogWriteFailed,Invoke-PimPolicy'
        Get-EmulatorDecision $Emu | Should -HaveCount 0
        Get-DecisionCallCount | Should -Be 0
    }

    It 'decides exactly the expected requests, once each, and the emulator''s record equals the Decision objects' {
        $decisions = @(Invoke-PimPolicy -Path $Policy @Both -LogPath $Log -Confirm:$false -WarningVariable warned -WarningAction SilentlyContinue)
        $decisions.Count | Should -Be $Expected.Count
        $record = @(Get-EmulatorDecision $Emu)
        $record.Count | Should -Be $Expected.Count
        foreach ($d in $decisions) {
            $d.PSObject.TypeNames[0] | Should -Be 'PimBridge.Decision'
            $key = "$($d.Surface)|$($d.Principal)"
            $Expected.ContainsKey($key) | Should -BeTrue -Because "$key was decided"
            $d.Rule | Should -Be $Expected[$key][0]
            $d.Result | Should -Be $(if ($Expected[$key][1] -eq 'Approve') { 'Approved' } else { 'Denied' })
            # The emulator records an Azure approval by its name, the last segment of its id.
            $r = @($record | Where-Object { $_.approvalId -eq $d.ApprovalId -or $d.ApprovalId.EndsWith("/$($_.approvalId)") })
            $r.Count | Should -Be 1 -Because "$key was sent once"
            $r[0].reviewResult | Should -Be $d.Result
            $r[0].justification | Should -BeExactly $Expected[$key][2]
        }
        # The requests left to a person are reported.
        ($warned -join "`n") | Should -Match 'left to a person'
    }

    It 'decides nothing more when run again: what it decided no longer waits' {
        $again = @(Invoke-PimPolicy -Path $Policy @Both -LogPath $Log -Confirm:$false -WarningAction SilentlyContinue)
        $again.Count | Should -Be 0
        @(Get-EmulatorDecision $Emu).Count | Should -Be $Expected.Count
    }

    It 'records every decision in the log, with its rule, and the log verifies' {
        $check = Test-PimDecisionLog -Path $Log
        $check.IsValid | Should -BeTrue
        $check.Lines | Should -Be (2 * $Expected.Count)
        $logged = @(Get-PimDecisionLog -Path $Log)
        $logged.Count | Should -Be $Expected.Count
        foreach ($l in $logged) {
            $l.Result | Should -BeIn 'Approved', 'Denied'
            $l.Rule | Should -BeIn @($Expected.Values | ForEach-Object { $_[0] })
            $l.Justification | Should -BeIn @($Expected.Values | ForEach-Object { $_[2] })
        }
    }
}

Describe 'Bad policies are refused at load, naming the file, the rule and the key' {
    BeforeAll { Start-Demo }
    AfterAll { Stop-Emulator $Emu }

    It 'refuses <Case>' -ForEach @(
        @{ Case = 'a file that does not parse'; Text = "@{ Rules = @( @{ Name = 'x' "; Pattern = 'does not parse' }
        @{ Case = 'an unknown key, with a hint'; Text = "@{ Rules = @( @{ Name = 'r1'; Ticketsystem = 'x'; Action = 'Skip' } ) }"; Pattern = "rule 1 \('r1'\), key 'Ticketsystem'.*TicketSystem" }
        @{ Case = 'a bad regular expression'; Text = "@{ Rules = @( @{ Name = 'r1'; TicketNumber = '(INC'; Action = 'Skip' } ) }"; Pattern = "rule 1 \('r1'\), key 'TicketNumber'" }
        @{ Case = 'an unknown action'; Text = "@{ Rules = @( @{ Name = 'r1'; Role = 'Reader'; Action = 'Maybe' } ) }"; Pattern = "rule 1 \('r1'\), key 'Action'" }
        @{ Case = 'a wrong type'; Text = "@{ Rules = @( @{ Name = 'r1'; TicketRequired = 'yes'; Action = 'Skip' } ) }"; Pattern = "rule 1 \('r1'\), key 'TicketRequired'" }
        @{ Case = 'two rules of the same name'; Text = "@{ Rules = @( @{ Name = 'same'; Action = 'Skip' }, @{ Name = 'SAME'; Action = 'Skip' } ) }"; Pattern = "rule 2 \('SAME'\), key 'Name'" }
        @{ Case = 'an Approve rule without a justification'; Text = "@{ Rules = @( @{ Name = 'r1'; Role = 'Reader'; Action = 'Approve' } ) }"; Pattern = "rule 1 \('r1'\), key 'Justification'" }
        @{ Case = 'a rule approving every request (without -Force)'; Text = "@{ Rules = @( @{ Name = 'all'; Action = 'Approve'; Justification = 'ok' } ) }"; Pattern = "rule 1 \('all'\).*Force" }
    ) {
        $path = New-PolicyFile $Text 'bad.psd1'
        $before = Get-ServiceCallCount
        foreach ($command in 'Test-PimPolicy', 'Invoke-PimPolicy') {
            $thrown = $null
            $extra = if ($command -eq 'Invoke-PimPolicy') { @{ Confirm = $false } } else { @{} }
            try { & $command -Path $path @Both @extra -ErrorAction Stop } catch { $thrown = $_ }
            $thrown | Should -Not -BeNullOrEmpty -Because "$command refuses $Case"
            $thrown.FullyQualifiedErrorId | Should -Be "PimBridge.InvalidPolicy,$command"
            $thrown.Exception.Message | Should -Match ([regex]::Escape($path))
            $thrown.Exception.Message | Should -Match $Pattern
        }
        # Refused before anything is read or sent.
        Get-ServiceCallCount | Should -Be $before
        Get-EmulatorDecision $Emu | Should -HaveCount 0
    }

    It 'loads a rule approving every request with -Force' {
        $path = New-PolicyFile "@{ Rules = @( @{ Name = 'all'; Action = 'Approve'; Justification = 'ok' } ) }" 'all.psd1'
        $results = @(Test-PimPolicy -Path $path -Force @Both)
        @($results | Where-Object Action -eq 'Approve').Count | Should -BeGreaterThan 0
    }

    It 'refuses a missing file' {
        { Test-PimPolicy -Path (Join-Path $TestDrive 'none.psd1') @Both -ErrorAction Stop } | Should -Throw -ErrorId 'PimBridge.InvalidPolicy,Test-PimPolicy'
    }

    It 'reads the same policy from JSON' {
        $json = Get-Content -Raw (Join-Path $RepoRoot 'docs/example-policy.json')
        $path = New-PolicyFile $json 'example.json'
        $psd1 = Join-Path $RepoRoot 'docs/example-policy.psd1'
        $a = @(Test-PimPolicy -Path $path @Both | ForEach-Object { "$($_.ApprovalId)=$($_.Rule)=$($_.Action)" })
        $b = @(Test-PimPolicy -Path $psd1 @Both | ForEach-Object { "$($_.ApprovalId)=$($_.Rule)=$($_.Action)" })
        $a | Should -Be $b
    }
}

# The console conveniences: argument completion of -Role, -Principal and -ApprovalId from the last
# listing, paging (-First, -Skip, -IncludeTotalCount) without a stop warning, -Id and the Graph
# SDK's request objects as input, prompts that name the request, and token errors once per run.

BeforeAll {
    . "$PSScriptRoot/TestHelpers.ps1"
    Import-Module $ModulePath -Force
    $script:Demo = Start-Emulator -Scenario demo
    $script:Token = New-TestToken $Demo
    $script:Common = @{ GraphUri = $Demo.Uri; AccessToken = $Token }
    $script:All = @(Get-PimPending @Common -Surface DirectoryRole, Group)

    function Get-Completion([string] $Line) {
        # What Tab offers at the end of -Line, as the completion texts.
        $global:PimTestToken = $Token
        try {
            @((TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches.CompletionText)
        } finally {
            Remove-Variable -Name PimTestToken -Scope Global
        }
    }
}

AfterAll {
    Stop-Emulator $Demo
}

Describe 'Argument completion' {
    It 'lists once for a completion with no listing at hand, then completes from it without calling' {
        Import-Module $ModulePath -Force
        $line = "Get-PimPending -GraphUri $($Demo.Uri) -AccessToken `$global:PimTestToken -Role "
        $before = Get-EmulatorCallCount $Demo
        $roles = Get-Completion $line
        (Get-EmulatorCallCount $Demo) | Should -BeGreaterThan ($before + 1) -Because 'the first completion lists'
        $expected = @($All.Role | Sort-Object -Unique | ForEach-Object { if ($_ -match '\s') { "'$_'" } else { $_ } })
        $roles | Should -Be $expected
        $roles | Should -Contain "'Global Administrator'" -Because 'a name with a space is quoted'

        $before = Get-EmulatorCallCount $Demo
        Get-Completion "Get-PimPending -GraphUri $($Demo.Uri) -AccessToken `$global:PimTestToken -Principal 'Ad" | Should -Be @("'Adele Vance'", 'AdeleV@contoso.onmicrosoft.com')
        Get-Completion "Get-PimPending -GraphUri $($Demo.Uri) -AccessToken `$global:PimTestToken -Role glo" | Should -Be @("'Global Administrator'")
        (Get-EmulatorCallCount $Demo) | Should -Be ($before + 1) -Because 'only the stats call itself was added: completion used the listing it had'
    }

    It 'completes -ApprovalId of Approve-PimRequest and Deny-PimRequest from the last listing' {
        Import-Module $ModulePath -Force
        $null = Get-PimPending @Common -Surface DirectoryRole, Group
        $adele = $All | Where-Object Principal -eq 'Adele Vance'
        $before = Get-EmulatorCallCount $Demo
        foreach ($command in 'Approve-PimRequest', 'Deny-PimRequest') {
            Get-Completion "$command -ApprovalId $($adele.ApprovalId.Substring(0, 8))" | Should -Be @($adele.ApprovalId)
            Get-Completion "$command -GraphUri $($Demo.Uri) -Id $($adele.ApprovalId.Substring(0, 8))" | Should -Be @($adele.ApprovalId)
        }
        @(Get-Completion 'Approve-PimRequest -ApprovalId ').Count | Should -Be $All.Count
        (Get-EmulatorCallCount $Demo) | Should -Be ($before + 1) -Because 'Get-PimPending''s listing served every completion'
    }
}

Describe 'Paging' {
    It '-First 2 returns the first two, with no warning' {
        $run = Invoke-CaptureHost -Script { param($c) Get-PimPending @c -Surface DirectoryRole, Group -First 2 } -ArgumentList $Common
        $run.Output | Should -HaveCount 2
        @($run.Output.ApprovalId) | Should -Be @($All[0..1].ApprovalId)
        $run.Text | Should -Not -Match 'WARNING'
        $run.Errors | Should -HaveCount 0
    }

    It 'Select-Object -First 2 stops the listing with no warning' {
        $run = Invoke-CaptureHost -Script { param($c) Get-PimPending @c -Surface DirectoryRole, Group | Select-Object -First 2 } -ArgumentList $Common
        $run.Output | Should -HaveCount 2
        $run.Text | Should -Not -Match 'WARNING'
    }

    It '-Skip leaves out the first ones, after -Role and -Principal' {
        @(Get-PimPending @Common -Surface DirectoryRole, Group -Skip 6).ApprovalId | Should -Be @($All[6..($All.Count - 1)].ApprovalId)
        @(Get-PimPending @Common -Surface DirectoryRole, Group -Skip 1 -First 1).ApprovalId | Should -Be @($All[1].ApprovalId)
        $admins = @($All | Where-Object Role -like '*Administrator')
        @(Get-PimPending @Common -Surface DirectoryRole -Role '*Administrator' -Skip 1).ApprovalId | Should -Be @($admins[1..($admins.Count - 1)].ApprovalId)
    }

    It '-IncludeTotalCount says how many matched, even with -First' {
        $out = @(Get-PimPending @Common -Surface DirectoryRole, Group -First 1 -IncludeTotalCount)
        @($out | Where-Object { $_ -is [PimBridge.PendingRequest] }) | Should -HaveCount 1
        $total = @($out | Where-Object { $_ -isnot [PimBridge.PendingRequest] })
        $total | Should -HaveCount 1
        [uint64]$total[0] | Should -Be $All.Count
    }
}

Describe 'Input and prompts' {
    It '-Id is -ApprovalId' {
        (Get-Command Approve-PimRequest).Parameters['ApprovalId'].Aliases | Should -Contain 'Id'
        (Get-Command Deny-PimRequest).Parameters['ApprovalId'].Aliases | Should -Contain 'Id'
    }

    It 'names an id given alone in the prompt, with the justification and the ticket, from one listing' {
        $adele = $All | Where-Object Principal -eq 'Adele Vance'
        $alex = $All | Where-Object Principal -eq 'Alex Wilber' | Where-Object Surface -eq DirectoryRole
        $run = Invoke-CaptureHost -Script {
            param($c, $ids)
            Approve-PimRequest -Id $ids -Justification 'checked' @c
        } -ArgumentList $Common, @($adele.ApprovalId, $alex.ApprovalId) -Choice 2
        $run.Prompts | Should -HaveCount 2
        $run.Prompts[0] | Should -Match 'Adele Vance \(AdeleV@contoso.onmicrosoft.com\): Global Administrator at Directory for 2 hours'
        $run.Prompts[0] | Should -Match ([regex]::Escape('justification: "Restore the MFA registration policy after the failed rollout"; ticket: ServiceNow INC0012345'))
        $run.Prompts[1] | Should -Match 'Alex Wilber'
        $run.Prompts[1] | Should -Match 'ticket: ServiceNow CHG0004821'
        Get-EmulatorDecision $Demo | Should -HaveCount 0 -Because 'the prompts were answered No'
    }

    It 'shows the justification and ticket of piped requests in -WhatIf' {
        $adele = $All | Where-Object Principal -eq 'Adele Vance'
        $run = Invoke-CaptureHost -Script { param($c, $r) $r | Deny-PimRequest -Justification 'no' -WhatIf @c } -ArgumentList $Common, $adele
        $run.Text | Should -Match ([regex]::Escape('justification: "Restore the MFA registration policy after the failed rollout"; ticket: ServiceNow INC0012345'))
    }

    It 'takes the Graph SDK''s request objects by their ApprovalId, and names them in the prompt' {
        $lee = $All | Where-Object Principal -eq 'Lee Gu'
        # The shape of Get-MgRoleManagementDirectoryRoleAssignmentScheduleRequest's objects.
        $sdk = [pscustomobject]@{
            Id = $lee.RequestId; ApprovalId = $lee.ApprovalId; PrincipalId = $lee.PrincipalId; RoleDefinitionId = $lee.RoleId
            DirectoryScopeId = '/'; Principal = [pscustomobject]@{ Id = $lee.PrincipalId }; Status = 'PendingApproval'; Justification = $lee.Justification
        }
        $run = Invoke-CaptureHost -Script { param($c, $r) $r | Approve-PimRequest -Justification 'ok' -WhatIf @c } -ArgumentList $Common, $sdk
        $run.Errors | Should -HaveCount 0
        $run.Text | Should -Match "Lee Gu \(LeeG@contoso.onmicrosoft.com\): $([regex]::Escape($lee.Role))"
        $d = $sdk | Approve-PimRequest -Justification 'ok' -Confirm:$false @Common
        $d.Result | Should -Be 'Approved'
        (Get-EmulatorDecision $Demo | Where-Object approvalId -eq $lee.ApprovalId).reviewResult | Should -Be 'Approved'
    }

    It 'gives a decision its scope, request id and, when it failed, its ErrorId' {
        $lee = $All | Where-Object Principal -eq 'Lee Gu'
        $d = $lee | Approve-PimRequest -Justification 'again' -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable errs @Common
        $d.Result | Should -Be 'Failed'
        $d.Scope | Should -Be $lee.Scope
        $d.RequestId | Should -Be $lee.RequestId
        $d.ErrorId | Should -Be 'PimBridge.AlreadyDecided'
        $errs[0].FullyQualifiedErrorId | Should -Be 'PimBridge.AlreadyDecided,Approve-PimRequest'
    }
}

Describe 'Token errors' {
    It 'reports a refused token once per run, not once per surface' {
        $expired = New-TestToken $Demo @{ expiresIn = -120 }
        $out = @(Get-PimPending -GraphUri $Demo.Uri -AccessToken $expired -ErrorAction SilentlyContinue -ErrorVariable errs)
        $out | Should -HaveCount 0
        @($errs) | Should -HaveCount 1
        $errs[0].FullyQualifiedErrorId | Should -Be 'PimBridge.TokenExpired,Get-PimPending'
    }

    It 'reports a refused token once when deciding requests of several surfaces' {
        $expired = New-TestToken $Demo @{ expiresIn = -120 }
        $requests = @($All | Where-Object Principal -in 'Adele Vance', 'Isaiah Langer')
        @($requests.Surface | Sort-Object -Unique) | Should -Be @('DirectoryRole', 'Group')
        $caught = $null
        try {
            $requests | Approve-PimRequest -Justification 'x' -Confirm:$false -GraphUri $Demo.Uri -AccessToken $expired -ErrorVariable errs
        } catch {
            $caught = $_
        }
        $caught.FullyQualifiedErrorId | Should -Be 'PimBridge.TokenExpired,Approve-PimRequest'
        @($errs) | Should -HaveCount 1 -Because 'the one terminating error is the only error'
        @(Get-EmulatorDecision $Demo | Where-Object approvalId -in $requests.ApprovalId) | Should -HaveCount 0
    }

    It 'says how long ago a token expired in plain words' -ForEach @(
        @{ Seconds = -20; Words = 'less than a minute ago' }
        @{ Seconds = -90; Words = '1 minute ago' }
        @{ Seconds = -330; Words = '5 minutes ago' }
        @{ Seconds = -7300; Words = '2 hours ago' }
    ) {
        $expired = New-TestToken $Demo @{ expiresIn = $Seconds }
        $err = { Get-PimPending -GraphUri $Demo.Uri -AccessToken $expired -Surface DirectoryRole } | Should -Throw -ErrorId 'PimBridge.TokenExpired,Get-PimPending' -PassThru
        $err.Exception.Message | Should -Match "expired $Words;"
    }

    It 'reports a token that is no JWT as PimBridge.InvalidToken' -ForEach @(@{ Text = 'not a token' }, @{ Text = 'abc.def' }, @{ Text = 'eyJhbGciOiJub25lIn0.e30.' }) {
        $bad = ConvertTo-SecureString $Text -AsPlainText -Force
        { Get-PimPending -GraphUri $Demo.Uri -AccessToken $bad -Surface DirectoryRole } | Should -Throw -ErrorId 'PimBridge.InvalidToken,Get-PimPending'
        { Get-PimPending -GraphUri $Demo.Uri -AccessToken $bad -ErrorAction Stop } | Should -Throw -ErrorId 'PimBridge.InvalidToken,Get-PimPending'
    }

    It 'reports a 401 the library cannot explain further as PimBridge.InvalidToken, not TokenExpired' {
        $record = & (Get-Module PimBridge) {
            New-PimErrorRecord -Exception ([PimBridge.Interop.PimNativeException]::new('Unauthorized', 'The service refused the token.', 401, 'InvalidAuthenticationToken', 'req-1'))
        }
        $record.FullyQualifiedErrorId | Should -Be 'PimBridge.InvalidToken'
        $record.CategoryInfo.Category | Should -Be 'AuthenticationError'
    }

    It 'gives the whole Connect-MgGraph line once, not again in the recommendation' {
        $err = { Get-PimPending -GraphUri $Demo.Uri } | Should -Throw -PassThru
        $text = "$($err.Exception.Message)`n$($err.ErrorDetails.Message)`n$($err.ErrorDetails.RecommendedAction)"
        $lines = [regex]::Matches($err.ErrorDetails.Message + ' ' + $err.ErrorDetails.RecommendedAction, 'Connect-MgGraph -Scopes')
        $lines.Count | Should -Be 1 -Because $text
    }
}

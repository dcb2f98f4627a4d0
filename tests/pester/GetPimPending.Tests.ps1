# Get-PimPending against a running pim-emulator.

BeforeAll {
    . "$PSScriptRoot/TestHelpers.ps1"
    Import-Module $ModulePath -Force
    $script:Demo = Start-Emulator -Scenario demo
    $script:Token = New-TestToken $Demo
    $script:Common = @{ GraphUri = $Demo.Uri; AccessToken = $Token }
}

AfterAll {
    Stop-Emulator $Demo
}

Describe 'Listing' {
    BeforeAll {
        $script:Pending = @(Get-PimPending @Common -Surface DirectoryRole)
    }

    It 'returns every request waiting on me' {
        $Pending.Count | Should -Be 6
    }

    It 'returns PimBridge.PendingRequest objects with every property' {
        foreach ($p in $Pending) {
            $p.PSObject.TypeNames[0] | Should -Be 'PimBridge.PendingRequest'
        }
        $expected = 'ApprovalId', 'RequestId', 'Surface', 'Principal', 'PrincipalUpn', 'PrincipalId', 'Role', 'RoleId', 'Scope', 'ScopeId',
            'Justification', 'Ticket', 'CreatedAt', 'StartsAt', 'Duration', 'EndsAt', 'Action', 'Status', 'Group', 'AccessType',
            'TicketSystem', 'TicketNumber', 'ExpiresAt', 'Stage'
        @($Pending[0].PSObject.Properties.Name) | Should -Be $expected
    }

    It 'fills names, durations and tickets from the same call' {
        $adele = $Pending | Where-Object Principal -eq 'Adele Vance'
        $adele.PrincipalUpn | Should -Be 'AdeleV@contoso.onmicrosoft.com'
        $adele.Role | Should -Be 'Global Administrator'
        $adele.RoleId | Should -Be '62e90394-69f5-4237-9190-012177145e10'
        $adele.Scope | Should -Be 'Directory'
        $adele.Surface | Should -Be 'DirectoryRole'
        $adele.Duration | Should -Be ([timespan]::FromHours(2))
        $adele.Duration | Should -BeOfType [timespan]
        $adele.Ticket | Should -Be 'ServiceNow INC0012345'
        $adele.CreatedAt | Should -BeOfType [datetime]
        $adele.ApprovalId | Should -Match '^[0-9a-f-]{36}$'
        $adele.Action | Should -Be 'SelfActivate'
        $diego = $Pending | Where-Object Principal -eq 'Diego Siciliani'
        $diego.Duration | Should -BeNullOrEmpty
        $diego.EndsAt | Should -BeOfType [datetime]
        (Get-EmulatorCallCount $Demo '*roleAssignmentScheduleRequests*') | Should -Be 1
    }

    It 'shows who, which role, where, for how long, why and how long ago by default' {
        $table = $Pending | Out-String -Width 250
        $table | Should -Match 'Surface\s+Principal\s+Role\s+For\s+Justification\s+Requested\s+Expires\s+Ticket\s+Scope'
        $table | Should -Match 'Entra\s+Adele Vance\s+Global Administrator\s+2h\s+Restore the MFA.*ServiceNow INC0012345\s+Directory'
        $table | Should -Match '\d+m ago'
        $table | Should -Match '@\d\d:\d\d' -Because 'a request with an end and no duration shows the time it ends'
    }

    It 'filters by role and principal with wildcards' {
        @(Get-PimPending @Common -Role '*Administrator' -Principal 'A*').Principal | Sort-Object | Should -Be @('Adele Vance', 'Alex Wilber')
        @(Get-PimPending @Common -Role 'exchange*').Principal | Should -Be @('Alex Wilber')
        @(Get-PimPending @Common -Principal 'LeeG@*').Principal | Should -Be @('Lee Gu')
        @(Get-PimPending @Common -Role 'No such role') | Should -HaveCount 0
    }

    It 'reads the endpoint from PIMBRIDGE_GRAPH_URI' {
        $env:PIMBRIDGE_GRAPH_URI = $Demo.Uri
        try {
            @(Get-PimPending -AccessToken $Token -Surface DirectoryRole) | Should -HaveCount 6
        } finally {
            Remove-Item Env:PIMBRIDGE_GRAPH_URI
        }
    }
}

Describe 'Paging' {
    BeforeAll { $script:Bulk = Start-Emulator -Scenario 'bulk:120' }
    AfterAll { Stop-Emulator $Bulk }

    It 'follows every page' {
        $all = @(Get-PimPending -GraphUri $Bulk.Uri -AccessToken (New-TestToken $Bulk) -Surface DirectoryRole)
        $all.Count | Should -Be 120
        @($all.ApprovalId | Sort-Object -Unique).Count | Should -Be 120
        Get-EmulatorCallCount $Bulk '*filterByCurrentUser*' | Should -Be 3
    }

    It 'asks for the page size given' {
        @(Get-PimPending -GraphUri $Bulk.Uri -AccessToken (New-TestToken $Bulk) -PageSize 40 -Surface DirectoryRole).Count | Should -Be 120
    }
}

Describe 'Refusals' {
    It 'refuses plain http to a remote host' {
        { Get-PimPending -AccessToken $Token -GraphUri 'http://graph.example.com' } | Should -Throw -ErrorId 'PimBridge.InsecureUri,Get-PimPending'
    }

    It 'reports an unreachable endpoint' {
        $port = ([System.Net.Sockets.TcpListener]::new([ipaddress]::Loopback, 0)).LocalEndpoint.Port
        { Get-PimPending -AccessToken $Token -GraphUri "http://127.0.0.1:$port" -Surface DirectoryRole } | Should -Throw -ErrorId 'PimBridge.Unreachable,Get-PimPending'
    }

    It 'reports an expired token before calling' {
        $expired = New-TestToken $Demo @{ expiresIn = -120 }
        $before = Get-EmulatorCallCount $Demo
        { Get-PimPending -GraphUri $Demo.Uri -AccessToken $expired -Surface DirectoryRole } | Should -Throw -ErrorId 'PimBridge.TokenExpired,Get-PimPending'
        (Get-EmulatorCallCount $Demo) | Should -Be ($before + 1) -Because 'only the stats call itself was added'
    }

    It 'reports a token the service refuses' {
        $forged = ConvertTo-SecureString ((Get-EmulatorToken $Demo) + 'x') -AsPlainText -Force
        # Not expired, and refused by the service: an invalid token, not an expired one.
        $err = { Get-PimPending -GraphUri $Demo.Uri -AccessToken $forged -Surface DirectoryRole } | Should -Throw -ErrorId 'PimBridge.InvalidToken,Get-PimPending' -PassThru
        $err.ErrorDetails.Message | Should -Match 'request-id: [0-9a-f-]{36}'
        $err.CategoryInfo.Category | Should -Be 'AuthenticationError'
    }

    It 'reports a token for the wrong audience' {
        $arm = New-TestToken $Demo @{ audience = 'arm' }
        { Get-PimPending -GraphUri $Demo.Uri -AccessToken $arm -Surface DirectoryRole } | Should -Throw -ErrorId 'PimBridge.InvalidToken,Get-PimPending'
    }

    It 'reports a malformed token' {
        $bad = ConvertTo-SecureString 'not a token' -AsPlainText -Force
        { Get-PimPending -GraphUri $Demo.Uri -AccessToken $bad -Surface DirectoryRole } | Should -Throw -ErrorId 'PimBridge.InvalidToken,Get-PimPending'
    }

    It 'names the missing scope' {
        $none = New-TestToken $Demo @{ scopes = @('User.Read') }
        $err = { Get-PimPending -GraphUri $Demo.Uri -AccessToken $none } | Should -Throw -ErrorId 'PimBridge.MissingScope,Get-PimPending' -PassThru
        $err.Exception.Message | Should -Match 'RoleAssignmentSchedule.Read.Directory'
        $err.ErrorDetails.RecommendedAction | Should -Match "Connect-MgGraph -Scopes 'RoleAssignmentSchedule.ReadWrite.Directory'"
    }

    It 'lists what it can when one of several surfaces fails, and reports the other' {
        $dirOnly = New-TestToken $Demo @{ scopes = @('RoleAssignmentSchedule.Read.Directory') }
        $out = @(Get-PimPending -GraphUri $Demo.Uri -AccessToken $dirOnly -Surface DirectoryRole, Group -ErrorVariable errs -ErrorAction SilentlyContinue)
        $out.Count | Should -Be 6
        $errs | Should -HaveCount 1
        $errs[0].FullyQualifiedErrorId | Should -Be 'PimBridge.MissingScope,Get-PimPending'
        $errs[0].TargetObject | Should -Be 'Group'
        # Listing by default, the surface the token cannot read is skipped quietly.
        @(Get-PimPending -GraphUri $Demo.Uri -AccessToken $dirOnly -ErrorAction Stop).Count | Should -Be 6
    }
}

Describe 'One request that cannot be read' {
    BeforeAll {
        # Three requests; the service gives the second a duration of 99,999,999,999 days, which no
        # TimeSpan holds.
        $seed = @{
            value = @(1, 2, 3 | ForEach-Object {
                    $duration = if ($_ -eq 2) { 'P99999999999D' } else { 'PT8H' }
                    @{
                        id = '{0:x8}-0000-4000-8000-000000000000' -f (0xd0000000 + $_); principalId = "a0000000-0000-4000-8000-00000000000$_"
                        roleDefinitionId = '62e90394-69f5-4237-9190-012177145e10'; justification = "request $_"
                        scheduleInfo = @{ expiration = @{ type = 'afterDuration'; duration = $duration } }
                    }
                })
        }
        $script:SeedPath = Join-Path ([IO.Path]::GetTempPath()) "pim-baditem-$PID.json"
        Set-Content -Path $SeedPath -Value ($seed | ConvertTo-Json -Depth 6) -Encoding utf8NoBOM
        $script:BadEmu = Start-Emulator -Scenario empty -Extra @('--seed-file', $SeedPath)
        $script:BadCommon = @{ GraphUri = $BadEmu.Uri; AccessToken = (New-TestToken $BadEmu) }
    }
    AfterAll {
        Stop-Emulator $BadEmu
        Remove-Item -Force -ErrorAction Ignore $SeedPath
    }

    It 'is one error record naming it, and the others are listed' {
        $listed = @(Get-PimPending @BadCommon -Surface DirectoryRole -ErrorAction SilentlyContinue -ErrorVariable errs)
        @($listed.Justification | Sort-Object) | Should -Be @('request 1', 'request 3')
        $errs | Should -HaveCount 1
        $errs[0].FullyQualifiedErrorId | Should -Be 'PimBridge.ServiceError,Get-PimPending'
        $errs[0].Exception.Message | Should -Match 'd0000002-0000-4000-8000-000000000000' -Because 'the error names the request'
        $errs[0].TargetObject | Should -Be 'DirectoryRole'
    }
}

Describe '-IncludeStage' {
    BeforeAll {
        # An emulator of its own, so that its count of approval reads is this block's alone.
        $script:Staged = Start-Emulator -Scenario demo
        $script:StagedCommon = @{ GraphUri = $Staged.Uri; AccessToken = (New-TestToken $Staged) }
        $script:Plain = @(Get-PimPending @StagedCommon -Surface DirectoryRole)
        $script:ReadsWithout = Get-EmulatorCallCount $Staged '*roleAssignmentApprovals*'
        # The second request becomes a two-stage approval, its first stage mine.
        $tenant = Invoke-RestMethod -Uri "$($Staged.Uri)/_emulator/tenant"
        $stages = [ordered]@{ stages = [object[]]@([object[]]@($tenant.defaultApprover), [object[]]@('LynneR')) } | ConvertTo-Json -Depth 4 -Compress
        $script:TwoStage = $Plain[1].ApprovalId
        $null = Invoke-RestMethod -Method Post -Uri "$($Staged.Uri)/_emulator/requests/$TwoStage/stages?surface=directory" -Body $stages -ContentType 'application/json'
        $script:WithStage = @(Get-PimPending @StagedCommon -Surface DirectoryRole -IncludeStage)
    }

    AfterAll {
        Stop-Emulator $Staged
    }

    It 'leaves Stage $null and reads no approval without it' {
        $Plain.Count | Should -BeGreaterThan 1
        foreach ($p in $Plain) { $p.Stage | Should -BeNullOrEmpty }
        $ReadsWithout | Should -BeNullOrEmpty -Because 'a listing without -IncludeStage reads no approval'
    }

    It 'gives each request the stage that waits on me' {
        $WithStage.Count | Should -Be $Plain.Count
        ($WithStage | Where-Object ApprovalId -eq $TwoStage).Stage | Should -Be '1 of 2'
        foreach ($p in $WithStage | Where-Object ApprovalId -ne $TwoStage) { $p.Stage | Should -Be '1 of 1' }
        Get-EmulatorCallCount $Staged '*roleAssignmentApprovals*' | Should -Be $Plain.Count -Because 'one read per request, in one $batch'
    }

    It 'shows Stage in the list view, not in the table' {
        $one = $WithStage | Where-Object ApprovalId -eq $TwoStage
        ($one | Format-List | Out-String) | Should -Match '(?m)^Stage\s+: 1 of 2'
        ($one | Out-String -Width 250) | Should -Not -Match '1 of 2'
    }
}

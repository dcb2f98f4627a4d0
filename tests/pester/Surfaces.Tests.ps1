# The three surfaces through the module: directory roles, PIM for Groups and Azure resources.

BeforeAll {
    . "$PSScriptRoot/TestHelpers.ps1"
    Import-Module $ModulePath -Force

    function Start-Demo {
        $script:Emu = Start-Emulator -Scenario demo
        $script:GraphToken = New-TestToken $Emu
        $script:ArmToken = New-TestToken $Emu @{ audience = 'arm' }
        $script:Endpoints = @{ GraphUri = $Emu.Uri; ArmUri = $Emu.Uri }
        $script:Both = $Endpoints + @{ AccessToken = $GraphToken; ArmAccessToken = $ArmToken }
    }
}

Describe 'Listing by surface' {
    BeforeAll { Start-Demo }
    AfterAll { Stop-Emulator $Emu }

    It 'lists every surface with a token at hand, one after the other' {
        $all = @(Get-PimPending @Both)
        $all.Count | Should -Be 11
        @($all.Surface | Select-Object -Unique) | Should -Be @('DirectoryRole', 'Group', 'AzureResource')
    }

    It 'filters with -Surface' {
        @(Get-PimPending @Both -Surface Group).Count | Should -Be 2
        @(Get-PimPending @Both -Surface AzureResource).Count | Should -Be 3
        @(Get-PimPending @Both -Surface DirectoryRole, Group).Count | Should -Be 8
    }

    It 'names the group and the access type of group requests' {
        $alex = Get-PimPending @Both -Surface Group -Principal 'Alex*'
        $alex.Group | Should -Be 'Finance Approvers'
        $alex.AccessType | Should -Be 'member'
        $alex.Role | Should -Be 'Member'
        $alex.Scope | Should -Be 'Finance Approvers'
        $alex.Duration | Should -Be ([timespan]::FromHours(4))
    }

    It 'names the scope, with its id, and the role of Azure requests' {
        $jo = Get-PimPending @Both -Surface AzureResource -Principal 'Johanna*'
        $jo.Role | Should -Be 'Contributor'
        $jo.Scope | Should -Be 'Contoso Production'
        $jo.ScopeId | Should -Match '^/subscriptions/[0-9a-f-]{36}$'
        $jo.ApprovalId | Should -Match '^/providers/Microsoft.Authorization/roleAssignmentApprovals/[0-9a-f-]{36}$'
        $jo.PrincipalUpn | Should -Be 'JohannaL@contoso.onmicrosoft.com'
        @(Get-PimPending @Both -Surface AzureResource -ArmScope $jo.ScopeId).Count | Should -Be 2
    }

    It 'names each surface in the default table''s Surface column' {
        $table = Get-PimPending @Both | Out-String -Width 250
        $table | Should -Match '(?m)^Entra\s+Adele Vance\s'
        $table | Should -Match '(?m)^Group\s+Alex Wilber\s+Member\s'
        $table | Should -Match '(?m)^Azure\s+Johanna Lorenz\s+Contributor\s+8h\s.*Contoso Production'
    }

    It 'skips Azure resources quietly without an Azure token' {
        $out = @(Get-PimPending @Endpoints -AccessToken $GraphToken -ErrorAction Stop)
        $out.Count | Should -Be 8
        $out.Surface | Should -Not -Contain 'AzureResource'
    }

    It 'says how to get an Azure token when Azure resources are asked for without one' {
        $err = { Get-PimPending @Endpoints -AccessToken $GraphToken -Surface AzureResource } | Should -Throw -ErrorId 'PimBridge.NotConnected,Get-PimPending' -PassThru
        $err.Exception.Message | Should -Match '-ArmAccessToken'
        $err.Exception.Message | Should -Match 'Connect-AzAccount'
        $err.Exception.Message | Should -Match 'Get-AzAccessToken'
    }

    It 'refuses a Graph token offered as the Azure token, and the reverse' {
        { Get-PimPending @Endpoints -ArmAccessToken $GraphToken -Surface AzureResource } | Should -Throw -ErrorId 'PimBridge.InvalidToken,Get-PimPending'
        { Get-PimPending @Endpoints -AccessToken $ArmToken -Surface Group } | Should -Throw -ErrorId 'PimBridge.InvalidToken,Get-PimPending'
    }

    It 'reads PIMBRIDGE_ARM_URI' {
        $env:PIMBRIDGE_ARM_URI = $Emu.Uri
        try {
            @(Get-PimPending -ArmAccessToken $ArmToken -Surface AzureResource).Count | Should -Be 3
        } finally {
            Remove-Item Env:PIMBRIDGE_ARM_URI
        }
    }
}

Describe 'The token of a Connect-AzAccount session' {
    BeforeAll {
        Start-Demo
        $global:AzTokenText = Get-EmulatorToken $Emu @{ audience = 'arm' }
        $global:AzCalls = 0
        function global:Get-AzContext { [pscustomobject]@{ Account = 'MeganB@contoso.onmicrosoft.com'; Environment = [pscustomobject]@{ ResourceManagerUrl = 'https://management.azure.com/' } } }
        function global:Get-AzAccessToken {
            param($ResourceUrl, $ErrorAction)
            $global:AzCalls++
            [pscustomobject]@{ Token = (ConvertTo-SecureString $global:AzTokenText -AsPlainText -Force); ExpiresOn = [DateTimeOffset]::UtcNow.AddHours(1) }
        }
    }
    AfterAll {
        foreach ($name in 'Get-AzContext', 'Get-AzAccessToken') {
            while (Get-Item -Path "Function:\$name" -ErrorAction Ignore) { Remove-Item -Path "Function:\$name" }
        }
        Stop-Emulator $Emu
    }

    It 'is used for Azure resources when no -ArmAccessToken is given, and reused' {
        Import-Module $ModulePath -Force
        @(Get-PimPending @Endpoints -AccessToken $GraphToken -Surface AzureResource).Count | Should -Be 3
        @(Get-PimPending @Endpoints -AccessToken $GraphToken).Count | Should -Be 11
        $global:AzCalls | Should -Be 1
    }
}

Describe 'One pipeline deciding all three surfaces' {
    BeforeEach {
        # A fresh import: no session token cached by an earlier test.
        Import-Module $ModulePath -Force
        Start-Demo
    }
    AfterEach { Stop-Emulator $Emu }

    It 'approves a mixed pipeline, each request exactly once' {
        $mixed = Get-PimPending @Both | Where-Object Principal -in 'Alex Wilber', 'Isaiah Langer', 'Johanna Lorenz', 'Nestor Wilke'
        @($mixed).Count | Should -Be 5
        $out = @($mixed | Approve-PimRequest -Justification 'Change window 4821' -Confirm:$false @Both)
        $out.Count | Should -Be 5
        @($out | Where-Object Result -eq 'Approved').Count | Should -Be 5
        @($out.Surface | Sort-Object -Unique) | Should -Be @('AzureResource', 'DirectoryRole', 'Group')
        $rec = Get-EmulatorDecision $Emu
        $rec.Count | Should -Be 5
        @($rec.approvalId | Sort-Object -Unique).Count | Should -Be 5
        Get-EmulatorCallCount $Emu 'PUT*roleAssignmentApprovals*' | Should -Be 2
        Get-EmulatorCallCount $Emu 'PATCH*group/assignmentApprovals*' | Should -Be 2
    }

    It 'denies a group request piped alone' {
        $d = Get-PimPending @Both -Surface Group -Principal 'Isaiah*' | Deny-PimRequest -Justification 'Not this quarter' -Confirm:$false @Both
        $d.Result | Should -Be 'Denied'
        $d.Surface | Should -Be 'Group'
        (Get-EmulatorDecision $Emu)[0].reviewResult | Should -Be 'Denied'
    }

    It 'decides an Azure request by its approval path' {
        $jo = Get-PimPending @Both -Surface AzureResource -Principal 'Johanna*'
        $d = Approve-PimRequest -ApprovalId $jo.ApprovalId -Justification 'ok' -Confirm:$false @Both
        $d.Result | Should -Be 'Approved'
        $d.Surface | Should -Be 'AzureResource'
    }

    It 'stops with one error, and sends no Azure request, when Azure requests come without an Azure token' {
        # Requests are sent as they are confirmed: the Graph ones piped before the first Azure one
        # are sent, decided and output; at the Azure one the command stops with one error.
        $mixed = @(Get-PimPending @Both | Where-Object Principal -in 'Alex Wilber', 'Johanna Lorenz')
        $graph = @($mixed | Where-Object Surface -ne 'AzureResource')
        $azure = @($mixed | Where-Object Surface -eq 'AzureResource')
        $graph.Count | Should -BeGreaterThan 0
        $azure.Count | Should -BeGreaterThan 0
        $mixed[-1].Surface | Should -Be 'AzureResource' -Because 'the listing gives Azure requests last'
        $out = [System.Collections.Generic.List[object]]::new()
        $err = { $mixed | Approve-PimRequest -Justification 'x' -Confirm:$false @Endpoints -AccessToken $GraphToken | ForEach-Object { $out.Add($_) } } | Should -Throw -ErrorId 'PimBridge.NotConnected,Approve-PimRequest' -PassThru
        $err.Exception.Message | Should -Match 'Connect-AzAccount'
        $recorded = @(Get-EmulatorDecision $Emu)
        @($recorded.approvalId | Sort-Object) | Should -Be @($graph.ApprovalId | Sort-Object) -Because 'no Azure request was sent'
        @($out | Where-Object Result -eq 'Approved' | ForEach-Object ApprovalId | Sort-Object) | Should -Be @($graph.ApprovalId | Sort-Object) -Because 'the requests sent were output'
    }

    It 'refuses group requests with only directory-role permission, and sends nothing' {
        $dirOnly = New-TestToken $Emu @{ scopes = @('RoleAssignmentSchedule.ReadWrite.Directory') }
        $groups = Get-PimPending @Both -Surface Group
        $err = { $groups | Approve-PimRequest -Justification 'x' -Confirm:$false @Endpoints -AccessToken $dirOnly } | Should -Throw -ErrorId 'PimBridge.MissingScope,Approve-PimRequest' -PassThru
        $err.Exception.Message | Should -Match 'PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup'
        Get-EmulatorDecision $Emu | Should -HaveCount 0
    }

    It 'refuses a Graph token offered for Azure requests' {
        $azure = Get-PimPending @Both -Surface AzureResource
        { $azure | Approve-PimRequest -Justification 'x' -Confirm:$false @Endpoints -ArmAccessToken $GraphToken } | Should -Throw -ErrorId 'PimBridge.InvalidToken,Approve-PimRequest'
        Get-EmulatorDecision $Emu | Should -HaveCount 0
    }

    It 'refuses Azure approval ids of the wrong shape: <_>' -ForEach @(
        '/providers/Microsoft.Authorization/roleAssignments/929cd687-a296-4f77-bdbc-b7cc22d3517e',
        '/providers/Microsoft.Authorization/roleAssignmentApprovals/929cd687-a296-4f77-bdbc-b7cc22d3517e/../../x',
        '/subscriptions/../providers/Microsoft.Authorization/roleAssignmentApprovals/929cd687-a296-4f77-bdbc-b7cc22d3517e'
    ) {
        $out = Approve-PimRequest -ApprovalId $_ -Justification 'x' -Confirm:$false @Both -ErrorVariable errs -ErrorAction SilentlyContinue
        $out.Result | Should -Be 'Failed'
        $errs[0].FullyQualifiedErrorId | Should -Be 'PimBridge.InvalidId,Approve-PimRequest'
        Get-EmulatorCallCount $Emu '*roleAssignmentApprovals*' | Should -BeNullOrEmpty
    }

    It 'refuses a group stage that is not assigned to me, and sends nothing' {
        $pradeep = New-TestToken $Emu @{ user = 'PradeepG@contoso.onmicrosoft.com' }
        $groups = Get-PimPending @Both -Surface Group
        $null = $groups | Approve-PimRequest -Justification 'x' -Confirm:$false @Endpoints -AccessToken $pradeep -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs | Should -HaveCount 2
        $errs[0].FullyQualifiedErrorId | Should -Be 'PimBridge.Forbidden,Approve-PimRequest'
        Get-EmulatorDecision $Emu | Should -HaveCount 0
    }
}

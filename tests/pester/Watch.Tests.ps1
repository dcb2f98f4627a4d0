# Watch-PimPending against a running pim-emulator: a request created mid-watch, through the
# requester's real route (POST roleAssignmentScheduleRequests, selfActivate), is output exactly
# once. The watch runs in a runspace of its own; the test waits on its output and on the
# emulator's call counters, never on the clock (the timeouts only stop a hang).

BeforeAll {
    . "$PSScriptRoot/TestHelpers.ps1"
    Import-Module $ModulePath -Force

    function Wait-Until([scriptblock] $Condition, [string] $What, [int] $TimeoutSeconds = 120) {
        $deadline = [datetime]::UtcNow.AddSeconds($TimeoutSeconds)
        while (-not (& $Condition)) {
            if ([datetime]::UtcNow -gt $deadline) { throw "Timed out waiting until $What" }
            Start-Sleep -Milliseconds 20
        }
    }

    function Get-ListCount { [int](Get-EmulatorCallCount $Emu -Like '*filterByCurrentUser*') }

    function New-DirectoryRequest([string] $Upn, [string] $UserId, [string] $RoleId, [string] $Why) {
        # What a requester sends to activate an eligible role: selfActivate, for themself.
        $token = Get-EmulatorToken $Emu @{ user = $Upn }
        $body = @{
            action = 'selfActivate'; principalId = $UserId; roleDefinitionId = $RoleId; directoryScopeId = '/'
            justification = $Why
            scheduleInfo = @{ startDateTime = [datetime]::UtcNow.ToString('o'); expiration = @{ type = 'afterDuration'; duration = 'PT1H' } }
        } | ConvertTo-Json -Depth 5
        $headers = @{ Authorization = "Bearer $token" }
        Invoke-RestMethod -Method Post -Uri "$($Emu.Uri)/v1.0/roleManagement/directory/roleAssignmentScheduleRequests" -Headers $headers -Body $body -ContentType 'application/json'
    }
}

Describe 'Watch-PimPending' {
    BeforeAll {
        $script:Emu = Start-Emulator -Scenario demo
        $script:Token = New-TestToken $Emu
        $script:Initial = @(Get-PimPending -GraphUri $Emu.Uri -AccessToken $Token -Surface DirectoryRole)
        $tenant = Invoke-RestMethod -Uri "$($Emu.Uri)/_emulator/tenant"
        $waiting = @($Initial.PrincipalId)
        $script:Requester = @($tenant.users | Where-Object { $_.id -notin $waiting -and $_.id -ne $tenant.defaultApprover })[0]
    }
    AfterAll { Stop-Emulator $Emu }

    It 'outputs what waits, then a request created mid-watch, each exactly once' {
        $Requester | Should -Not -BeNullOrEmpty
        $ps = [powershell]::Create()
        $output = [System.Management.Automation.PSDataCollection[psobject]]::new()
        try {
            $watch = @{ Interval = [timespan]::FromMilliseconds(100); Surface = 'DirectoryRole'; GraphUri = $Emu.Uri; AccessToken = $Token }
            # One script, not a batch (AddStatement): BeginInvoke queues a batch's next statement on
            # the thread pool, and Stop() then Dispose() could close the runspace under it, which
            # ends the whole process.
            $null = $ps.AddScript("param(`$Watch) Import-Module '$ModulePath'; Watch-PimPending @Watch").AddParameter('Watch', $watch)
            $handle = $ps.BeginInvoke([System.Management.Automation.PSDataCollection[psobject]]::new(), $output)

            Wait-Until { $output.Count -ge $Initial.Count -or $handle.IsCompleted } 'the watch output what waits'
            # Counted, not enumerated: enumerating a collection still open waits for it to close.
            $ps.Streams.Error.Count | Should -Be 0
            $created = New-DirectoryRequest -Upn $Requester.userPrincipalName -UserId $Requester.id -RoleId 'fe930be7-5e62-47db-91af-98c3a49a38b1' -Why 'Created mid-watch'
            $created.status | Should -Be 'PendingApproval'

            Wait-Until { $output.Count -ge $Initial.Count + 1 -or $handle.IsCompleted } 'the watch output the new request'
            # Two more whole listings after it was output: each would have output it again.
            $seenAt = Get-ListCount
            Wait-Until { (Get-ListCount) -ge $seenAt + 3 -or $handle.IsCompleted } 'two more listings'
        } finally {
            # Stopped first, so that nothing more comes; read before the PowerShell is disposed.
            $ps.Stop()
            $items = @(for ($i = 0; $i -lt $output.Count; $i++) { $output[$i] })
            $ps.Dispose()
        }
        $ids = @($items | ForEach-Object ApprovalId)
        $ids.Count | Should -Be ($Initial.Count + 1)
        @($ids | Select-Object -Unique).Count | Should -Be $ids.Count
        @($ids | Where-Object { $_ -eq $created.approvalId }).Count | Should -Be 1
        $new = $items | Where-Object ApprovalId -eq $created.approvalId
        $new.PSObject.TypeNames[0] | Should -Be 'PimBridge.PendingRequest'
        $new.Justification | Should -Be 'Created mid-watch'
        $new.Role | Should -Be 'User Administrator'
    }

    It 'rides out an unreachable service, says so under -Verbose, and goes on' {
        $ps = [powershell]::Create()
        $output = [System.Management.Automation.PSDataCollection[psobject]]::new()
        # Counted and read by index, not enumerated: enumerating a collection still open waits for it to close.
        $verbose = { @(for ($i = 0; $i -lt $ps.Streams.Verbose.Count; $i++) { [string]$ps.Streams.Verbose[$i] }) }
        try {
            $watch = @{ Interval = [timespan]::FromMilliseconds(100); Surface = 'DirectoryRole'; GraphUri = $Emu.Uri; AccessToken = $Token; Verbose = $true }
            # One script, not a batch: see above.
            $null = $ps.AddScript("param(`$Watch) Import-Module '$ModulePath'; Watch-PimPending @Watch").AddParameter('Watch', $watch)
            $handle = $ps.BeginInvoke([System.Management.Automation.PSDataCollection[psobject]]::new(), $output)
            Wait-Until { $output.Count -ge 1 -or $handle.IsCompleted } 'the watch output what waits'
            $before = $output.Count
            # Every PIM call goes to a port where nothing listens: the listing fails (Unreachable).
            $null = Invoke-RestMethod -Method Post -Uri "$($Emu.Uri)/_emulator/redirect" -Body '{"to": "http://127.0.0.1:1"}' -ContentType 'application/json'
            Wait-Until { @(& $verbose | Where-Object { $_ -like 'Listing failed (Network*' }).Count -ge 1 -or $handle.IsCompleted } 'the watch said the listing failed'
            $null = Invoke-RestMethod -Method Post -Uri "$($Emu.Uri)/_emulator/redirect" -Body '{"to": null}' -ContentType 'application/json'
            $created = New-DirectoryRequest -Upn $Requester.userPrincipalName -UserId $Requester.id -RoleId '194ae4cb-b126-40b2-bd5b-6091b380977d' -Why 'After the outage'
            Wait-Until { $output.Count -ge $before + 1 -or $handle.IsCompleted } 'the watch output the request created after the outage'
            $handle.IsCompleted | Should -BeFalse -Because 'an unreachable service is ridden out'
            @(& $verbose | Where-Object { $_ -like 'Listing works again*' }).Count | Should -BeGreaterOrEqual 1
        } finally {
            $ps.Stop()
            $items = @(for ($i = 0; $i -lt $output.Count; $i++) { $output[$i] })
            $ps.Dispose()
        }
        $ids = @($items | ForEach-Object ApprovalId)
        @($ids | Select-Object -Unique).Count | Should -Be $ids.Count -Because 'nothing is output twice, before or after the outage'
        @($ids | Where-Object { $_ -eq $created.approvalId }).Count | Should -Be 1
    }

    It 'piped into Invoke-PimPolicy, decides a request created mid-watch while the watch goes on' {
        # One rule, for the request this test creates alone; what waits already is left to a person.
        $policy = Join-Path $TestDrive 'watch-policy.psd1'
        Set-Content -LiteralPath $policy -Value "@{ Rules = @( @{ Name = 'mid-watch'; RequestJustification = '^Decided mid-watch$'; Action = 'Approve'; Justification = 'Approved by policy {Rule}' } ) }"
        $log = Join-Path $TestDrive 'watch-decisions.jsonl'
        $applied = @((Invoke-RestMethod -Uri "$($Emu.Uri)/_emulator/decisions").value).Count
        $ps = [powershell]::Create()
        $output = [System.Management.Automation.PSDataCollection[psobject]]::new()
        try {
            $watch = @{ Interval = [timespan]::FromMilliseconds(100); Surface = 'DirectoryRole'; GraphUri = $Emu.Uri; AccessToken = $Token }
            $decide = @{ Path = $policy; Confirm = $false; LogPath = $log; GraphUri = $Emu.Uri; AccessToken = $Token }
            # One script, not a batch: see above.
            $null = $ps.AddScript("param(`$Watch, `$Decide) Import-Module '$ModulePath'; Watch-PimPending @Watch | Invoke-PimPolicy @Decide").AddParameter('Watch', $watch).AddParameter('Decide', $decide)
            $listed = Get-ListCount
            $handle = $ps.BeginInvoke([System.Management.Automation.PSDataCollection[psobject]]::new(), $output)
            # Two whole listings: what waited was output to the policy (and left to a person).
            Wait-Until { (Get-ListCount) -ge $listed + 2 -or $handle.IsCompleted } 'the watch listed twice'
            # A watch's new request comes a poll or more after the last: more than two seconds here,
            # so that Invoke-PimPolicy waits for its result and outputs the Decision with it.
            Start-Sleep -Milliseconds 2100
            $created = New-DirectoryRequest -Upn $Requester.userPrincipalName -UserId $Requester.id -RoleId '29232cdf-9323-42fd-ade2-1d097af3e4de' -Why 'Decided mid-watch'

            Wait-Until { $output.Count -ge 1 -or $handle.IsCompleted } 'the policy output a Decision'
            $handle.IsCompleted | Should -BeFalse -Because 'the request is decided while the watch goes on, not when it ends'
            $ps.Streams.Error.Count | Should -Be 0
        } finally {
            $ps.Stop()
            $items = @(for ($i = 0; $i -lt $output.Count; $i++) { $output[$i] })
            $ps.Dispose()
        }
        $items.Count | Should -Be 1
        $items[0].PSObject.TypeNames[0] | Should -Be 'PimBridge.Decision'
        $items[0].ApprovalId | Should -Be $created.approvalId
        $items[0].Result | Should -Be 'Approved'
        $items[0].Rule | Should -Be 'mid-watch'
        # The service's record: that request, once, with the rule's justification; nothing else decided.
        $record = @((Invoke-RestMethod -Uri "$($Emu.Uri)/_emulator/decisions").value)
        $record.Count | Should -Be ($applied + 1)
        $mine = @($record | Where-Object approvalId -eq $created.approvalId)
        $mine.Count | Should -Be 1
        $mine[0].justification | Should -Be 'Approved by policy mid-watch'
        # The decision log has it too, with its rule, and holds.
        $logged = @(Get-PimDecisionLog -Path $log)
        @($logged | Where-Object { $_.ApprovalId -eq $created.approvalId -and $_.Result -eq 'Approved' -and $_.Rule -eq 'mid-watch' }).Count | Should -Be 1
        (Test-PimDecisionLog -Path $log).IsValid | Should -BeTrue
    }

    It 'stops on an error that waiting does not cure' {
        $bad = ConvertTo-SecureString 'not-a-token' -AsPlainText -Force
        { Watch-PimPending -Interval 00:00:01 -GraphUri $Emu.Uri -AccessToken $bad -Surface DirectoryRole -ErrorAction Stop } | Should -Throw
    }
}

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

    It 'stops on an error that waiting does not cure' {
        $bad = ConvertTo-SecureString 'not-a-token' -AsPlainText -Force
        { Watch-PimPending -Interval 00:00:01 -GraphUri $Emu.Uri -AccessToken $bad -Surface DirectoryRole -ErrorAction Stop } | Should -Throw
    }
}

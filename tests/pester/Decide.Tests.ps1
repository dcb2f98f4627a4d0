# Approve-PimRequest and Deny-PimRequest against a running pim-emulator. Each Describe gets a fresh
# emulator, so what it records is exactly what that Describe sent.

BeforeAll {
    . "$PSScriptRoot/TestHelpers.ps1"
    Import-Module $ModulePath -Force

    function Start-Demo {
        $script:Emu = Start-Emulator -Scenario demo
        $script:Token = New-TestToken $Emu
        $script:Common = @{ GraphUri = $Emu.Uri; AccessToken = $Token }
        $script:Pending = @(Get-PimPending @Common -Surface DirectoryRole)
    }
    function Get-Request([string] $Name) { $Pending | Where-Object Principal -eq $Name }
}

Describe 'Approving and denying through the pipeline' {
    BeforeAll { Start-Demo }
    AfterAll { Stop-Emulator $Emu }

    It 'approves one request and says so with a Decision object' {
        $d = Get-Request 'Alex Wilber' | Approve-PimRequest -Justification 'CAB approved' -Confirm:$false @Common
        $d.PSObject.TypeNames[0] | Should -Be 'PimBridge.Decision'
        $d.Result | Should -Be 'Approved'
        $d.Principal | Should -Be 'Alex Wilber'
        $d.Role | Should -Be 'Exchange Administrator'
        $d.ApprovalId | Should -Be (Get-Request 'Alex Wilber').ApprovalId
        $d.DecidedAt | Should -BeOfType [datetime]
        $d.Error | Should -BeNullOrEmpty
        $rec = Get-EmulatorDecision $Emu
        $rec | Should -HaveCount 1
        $rec[0].approvalId | Should -Be $d.ApprovalId
        $rec[0].reviewResult | Should -Be 'Approved'
    }

    It 'denies one request by -ApprovalId' {
        $id = (Get-Request 'Patti Fernandez').ApprovalId
        $d = Deny-PimRequest -ApprovalId $id -Justification 'No ticket' -Confirm:$false @Common
        $d.Result | Should -Be 'Denied'
        (Get-EmulatorDecision $Emu)[-1].reviewResult | Should -Be 'Denied'
    }

    It 'binds ApprovalId by property name from any object' {
        $id = (Get-Request 'Diego Siciliani').ApprovalId
        $d = [pscustomobject]@{ ApprovalId = $id; Note = 'from a CSV' } | Approve-PimRequest -Justification 'HR ticket' -Confirm:$false @Common
        $d.Result | Should -Be 'Approved'
    }

    It 'sends the justification byte for byte: quotes, a new line, non-ASCII' {
        $why = "He said `"ship it`" and O'Brien agreed`nZürich — ✓ 日本"
        $d = Get-Request 'Lee Gu' | Approve-PimRequest -Justification $why -Confirm:$false @Common
        $d.Result | Should -Be 'Approved'
        $rec = (Get-EmulatorDecision $Emu) | Where-Object approvalId -eq $d.ApprovalId
        $rec.justification | Should -BeExactly $why
    }

    It 'reports an already decided request as an error, keeps going, and sends nothing for it' {
        $twice = @((Get-Request 'Alex Wilber'), (Get-Request 'Adele Vance'))
        $before = (Get-EmulatorDecision $Emu).Count
        $out = $twice | Approve-PimRequest -Justification 'again' -Confirm:$false -ErrorVariable errs -ErrorAction SilentlyContinue @Common
        @($out).Count | Should -Be 2
        ($out | Where-Object Principal -eq 'Alex Wilber').Result | Should -Be 'Failed'
        ($out | Where-Object Principal -eq 'Adele Vance').Result | Should -Be 'Approved'
        $errs | Should -HaveCount 1
        $errs[0].FullyQualifiedErrorId | Should -Be 'PimBridge.AlreadyDecided,Approve-PimRequest'
        $errs[0].TargetObject.Principal | Should -Be 'Alex Wilber'
        (Get-EmulatorDecision $Emu).Count | Should -Be ($before + 1)
    }
}

Describe 'Many at once' {
    BeforeAll {
        $script:Bulk = Start-Emulator -Scenario 'bulk:60'
        $script:BulkCommon = @{ GraphUri = $Bulk.Uri; AccessToken = (New-TestToken $Bulk) }
    }
    AfterAll { Stop-Emulator $Bulk }

    It 'decides a whole pipeline, each request exactly once' {
        $out = @(Get-PimPending @BulkCommon | Approve-PimRequest -Justification 'Change window' -Confirm:$false @BulkCommon)
        $out.Count | Should -Be 60
        @($out | Where-Object Result -eq 'Approved').Count | Should -Be 60
        $rec = Get-EmulatorDecision $Bulk
        $rec.Count | Should -Be 60
        @($rec.approvalId | Sort-Object -Unique).Count | Should -Be 60
        @(Get-PimPending @BulkCommon) | Should -HaveCount 0
    }
}

Describe 'A thousand at once under throttling' {
    BeforeAll {
        # The service throttles every 25th decision from the 5th (429 with Retry-After): by
        # schedule, so the same 40 are throttled however fast the machine sends them.
        $script:Throttled = Start-Emulator -Scenario 'bulk:1000' -Extra @('--fault-schedule', 'throttle@write:5+25n')
        $script:ThrottledCommon = @{ GraphUri = $Throttled.Uri; AccessToken = (New-TestToken $Throttled) }
    }
    AfterAll { Stop-Emulator $Throttled }

    It 'decides every request exactly once, in batches, losing none that was throttled' {
        $out = @(Get-PimPending @ThrottledCommon -Surface DirectoryRole -PageSize 999 | Approve-PimRequest -Justification 'Incident 7731 clean-up' -Confirm:$false @ThrottledCommon)
        $out.Count | Should -Be 1000
        @($out | Where-Object Result -ne 'Approved') | Should -HaveCount 0
        $rec = Get-EmulatorDecision $Throttled
        $rec.Count | Should -Be 1000
        @($rec.approvalId | Sort-Object -Unique).Count | Should -Be 1000
        $stats = Invoke-RestMethod -Uri "$($Throttled.Uri)/_emulator/stats"
        ($stats.routes | Where-Object { $_.route -like 'PATCH*batch item*' -and $_.status -eq 429 } | Measure-Object count -Sum).Sum | Should -BeGreaterThan 0 -Because 'the throttle bit'
        # One request per read and one per decision would be 2,000 and more; batches of 20 need far fewer.
        $stats.httpRequests | Should -BeLessThan 1000 -Because 'a thousand decisions travel in batches of 20'
    }
}

Describe 'Through an unreliable service' {
    BeforeAll {
        # A fifth of calls 503, a fifth 429, one decision in twenty applied and its answer lost:
        # by schedule, the same calls in every run.
        $faults = 'fail@call:3+5n', 'throttle@call:4+5n', 'lost@write:7+20n' | ForEach-Object { '--fault-schedule', $_ }
        $script:Faulty = Start-Emulator -Scenario 'bulk:200' -Extra $faults
        $script:FaultyCommon = @{ GraphUri = $Faulty.Uri; AccessToken = (New-TestToken $Faulty) }
    }
    AfterAll { Stop-Emulator $Faulty }

    It 'decides all 200, each exactly once, and reports what really happened' {
        $listed = @(Get-PimPending @FaultyCommon -Surface DirectoryRole)
        $listed.Count | Should -Be 200
        $out = @($listed | Approve-PimRequest -Justification 'Clean-up' -Confirm:$false @FaultyCommon)
        @($out | Where-Object Result -eq 'Approved').Count | Should -Be 200
        $rec = Get-EmulatorDecision $Faulty
        $rec.Count | Should -Be 200
        @($rec.approvalId | Sort-Object -Unique).Count | Should -Be 200
        Compare-Object @($out.ApprovalId | Sort-Object) @($rec.approvalId | Sort-Object) | Should -BeNullOrEmpty
    }
}

Describe '-WhatIf and -Confirm' {
    BeforeAll { Start-Demo }
    AfterAll { Stop-Emulator $Emu }

    It '-WhatIf sends nothing that changes anything' {
        $out = $Pending | Approve-PimRequest -Justification 'x' -WhatIf @Common
        $out | Should -BeNullOrEmpty
        Get-EmulatorDecision $Emu | Should -HaveCount 0
        Get-EmulatorCallCount $Emu 'PATCH*' | Should -BeNullOrEmpty
    }

    It 'names the principal, the role, the scope and the duration in the prompt' {
        # What-if text goes to the host, so read it from a transcript.
        $transcript = Join-Path ([IO.Path]::GetTempPath()) "pim-whatif-$PID.txt"
        Start-Transcript -Path $transcript | Out-Null
        Get-Request 'Adele Vance' | Deny-PimRequest -Justification 'x' -WhatIf @Common
        Stop-Transcript | Out-Null
        $text = Get-Content -Raw $transcript
        Remove-Item $transcript
        $text | Should -Match 'Adele Vance \(AdeleV@contoso.onmicrosoft.com\): Global Administrator at Directory for 2 hours'
        $text | Should -Match 'Deny PIM request'
    }

    It 'with -Confirm:$false decides without asking' {
        $d = Get-Request 'Patti Fernandez' | Deny-PimRequest -Justification 'x' -Confirm:$false @Common
        $d.Result | Should -Be 'Denied'
    }
}

Describe 'Errors, each with its ErrorId' {
    BeforeAll {
        Start-Demo
        $script:Me = (Get-Request 'Megan Bowen')
    }
    AfterAll { Stop-Emulator $Emu }

    It 'refuses my own request as self-approval, with the request as target' {
        $null = $Me | Approve-PimRequest -Justification 'x' -Confirm:$false -ErrorVariable errs -ErrorAction SilentlyContinue @Common
        $errs[0].FullyQualifiedErrorId | Should -Be 'PimBridge.SelfApproval,Approve-PimRequest'
        $errs[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
        $errs[0].TargetObject.ApprovalId | Should -Be $Me.ApprovalId
    }

    It 'refuses my own request by id with the service error and its request-id' {
        $null = Approve-PimRequest -ApprovalId $Me.ApprovalId -Justification 'x' -Confirm:$false -ErrorVariable errs -ErrorAction SilentlyContinue @Common
        $errs[0].FullyQualifiedErrorId | Should -Be 'PimBridge.SelfApproval,Approve-PimRequest'
        $errs[0].ErrorDetails.Message | Should -Match 'request-id: [0-9a-f-]{36}'
        $errs[0].Exception.RequestId | Should -Match '^[0-9a-f-]{36}$'
        $errs[0].Exception.HttpStatus | Should -Be 400
    }

    It 'reports an unknown approval as NotFound' {
        $null = Approve-PimRequest -ApprovalId '00000000-0000-4000-8000-000000000042' -Justification 'x' -Confirm:$false -ErrorVariable errs -ErrorAction SilentlyContinue @Common
        $errs[0].FullyQualifiedErrorId | Should -Be 'PimBridge.NotFound,Approve-PimRequest'
        $errs[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'reports a request that waits on someone else as Forbidden, and sends nothing' {
        $lynne = New-TestToken $Emu @{ user = 'LynneR@contoso.onmicrosoft.com' }
        $nestor = Get-PimPending -GraphUri $Emu.Uri -AccessToken $lynne -Principal 'Nestor*'
        $patches = Get-EmulatorCallCount $Emu 'PATCH*'
        $null = $nestor | Approve-PimRequest -Justification 'x' -Confirm:$false -ErrorVariable errs -ErrorAction SilentlyContinue @Common
        $errs[0].FullyQualifiedErrorId | Should -Be 'PimBridge.Forbidden,Approve-PimRequest'
        Get-EmulatorCallCount $Emu 'PATCH*' | Should -Be $patches
    }

    It 'refuses ids that are not GUIDs before any call: <_>' -ForEach @('../../users', '%2F', 'abc', '929cd687-a296-4f77-bdbc-b7cc22d3517e/steps') {
        $calls = Get-EmulatorCallCount $Emu '*roleAssignmentApprovals*'
        $out = Approve-PimRequest -ApprovalId $_ -Justification 'x' -Confirm:$false -ErrorVariable errs -ErrorAction SilentlyContinue @Common
        $errs[0].FullyQualifiedErrorId | Should -Be 'PimBridge.InvalidId,Approve-PimRequest'
        $out.Result | Should -Be 'Failed'
        Get-EmulatorCallCount $Emu '*roleAssignmentApprovals*' | Should -Be $calls
    }

    It 'refuses $null input' {
        $null | Approve-PimRequest -Justification 'x' -Confirm:$false -ErrorVariable errs -ErrorAction SilentlyContinue @Common
        $errs[0].FullyQualifiedErrorId | Should -Be 'PimBridge.InvalidInput,Approve-PimRequest'
    }

    It 'warns about an empty pipeline and sends nothing' {
        $w = @() | Approve-PimRequest -Justification 'x' -Confirm:$false @Common 3>&1
        "$w" | Should -Match 'nothing was sent'
    }

    It 'refuses an empty or blank justification at once: <_>' -ForEach @('', '   ', "`t`n") {
        { $Pending | Approve-PimRequest -Justification $_ -Confirm:$false @Common } | Should -Throw -ErrorId 'PimBridge.InvalidJustification,Approve-PimRequest'
    }

    It 'refuses an absurdly long justification' {
        { $Pending[0] | Approve-PimRequest -Justification ('x' * 1MB) -Confirm:$false @Common } | Should -Throw -ErrorId 'PimBridge.InvalidJustification,Approve-PimRequest'
    }

    It 'refuses an expired token' {
        $expired = New-TestToken $Emu @{ expiresIn = -60 }
        { $Pending[0] | Approve-PimRequest -Justification 'x' -Confirm:$false -GraphUri $Emu.Uri -AccessToken $expired } | Should -Throw -ErrorId 'PimBridge.TokenExpired,Approve-PimRequest'
    }

    It 'names the missing scope of a read-only token' {
        $readOnly = New-TestToken $Emu @{ scopes = @('RoleAssignmentSchedule.Read.Directory') }
        $err = { $Pending[0] | Approve-PimRequest -Justification 'x' -Confirm:$false -GraphUri $Emu.Uri -AccessToken $readOnly } | Should -Throw -ErrorId 'PimBridge.MissingScope,Approve-PimRequest' -PassThru
        $err.Exception.Message | Should -Match 'RoleAssignmentSchedule.ReadWrite.Directory'
    }

    It 'explains that an app-only token cannot decide' {
        $app = New-TestToken $Emu @{ appOnly = $true }
        $err = { $Pending[0] | Approve-PimRequest -Justification 'x' -Confirm:$false -GraphUri $Emu.Uri -AccessToken $app } | Should -Throw -ErrorId 'PimBridge.AppOnlyToken,Approve-PimRequest' -PassThru
        $err.Exception.Message | Should -Match 'delegated'
    }

    It 'honours -ErrorAction Stop' {
        { Approve-PimRequest -ApprovalId '00000000-0000-4000-8000-000000000042' -Justification 'x' -Confirm:$false -ErrorAction Stop @Common } | Should -Throw -ErrorId 'PimBridge.NotFound,Approve-PimRequest'
    }

    It 'sent no decision in any of these cases' {
        Get-EmulatorDecision $Emu | Should -HaveCount 0
    }
}

Describe 'Stopping' {
    BeforeAll {
        # The emulator lets 20 decisions through and holds the later ones at its gate, unapplied:
        # the stop comes at a known point, however fast or slow the machine is.
        $script:Slow = Start-Emulator -Scenario 'bulk:1000' -Extra @('--gate-after', '20')
    }
    AfterAll { Stop-Emulator $Slow }

    It 'stops a long pipeline of decisions, and nothing is sent after the stop' {
        $ps = [powershell]::Create()
        $null = $ps.AddScript({
            param($ModulePath, $Uri, $TokenText)
            Import-Module $ModulePath
            $token = ConvertTo-SecureString $TokenText -AsPlainText -Force
            Get-PimPending -GraphUri $Uri -AccessToken $token -PageSize 999 |
                Approve-PimRequest -Justification 'bulk' -Confirm:$false -GraphUri $Uri -AccessToken $token
        }).AddArgument($ModulePath).AddArgument($Slow.Uri).AddArgument((Get-EmulatorToken $Slow))
        $handle = $ps.BeginInvoke()
        $null = Wait-Emulator $Slow 'decisions=20&held=1'
        $ps.Stop()
        $ps.InvocationStateInfo.State | Should -Be 'Stopped'
        (Get-EmulatorDecision $Slow).Count | Should -Be 20
        # The stop cancels the requests in flight: the service sees each one held at the gate
        # abandoned by its client (a held request whose client stays would stay held).
        $null = Wait-Emulator $Slow 'heldMax=0'
        # Nothing new is started after the stop: a new request would wait at the gate, held.
        Start-Sleep -Milliseconds 500
        $null = Wait-Emulator $Slow 'heldMax=0'
        (Get-EmulatorDecision $Slow).Count | Should -Be 20
        $ps.Dispose()
    }
}

Describe 'The warning after a stop' {
    It 'says how many the service applied, as its record says' {
        # The gate lets one batch of decisions through and holds the later ones before any of
        # their items is applied: the stop comes between whole batches, however the requests were
        # cut into batches.
        $emu = Start-Emulator -Scenario 'bulk:300'
        $null = Invoke-RestMethod -Method Post -Uri "$($emu.Uri)/_emulator/gate" -Body '{"batchesAfter": 1}' -ContentType 'application/json'
        $capture = New-CapturePowerShell
        # The module is imported first, and what is stopped runs as one script on a new PowerShell
        # (not a batch, whose next statement BeginInvoke queues on the thread pool, under a Stop
        # and Dispose).
        $null = $capture.PowerShell.Invoke()
        $ps = [powershell]::Create()
        $ps.Runspace = $capture.PowerShell.Runspace
        $capture.PowerShell.Dispose()
        try {
            $null = $ps.AddScript({
                param($Uri, $TokenText)
                $token = ConvertTo-SecureString $TokenText -AsPlainText -Force
                Get-PimPending -GraphUri $Uri -AccessToken $token -PageSize 999 |
                    Approve-PimRequest -Justification 'bulk' -Confirm:$false -GraphUri $Uri -AccessToken $token
            }).AddArgument($emu.Uri).AddArgument((Get-EmulatorToken $emu))
            $handle = $ps.BeginInvoke()
            $null = Wait-Emulator $emu 'batchesDone=1&batchesHeld=1'
            $ps.Stop()
            $applied = (Get-EmulatorDecision $emu).Count
            $warnings = @($capture.Host.Text -split "`n" | Where-Object { $_ -like 'WARNING:*stopped*' })
            $warnings | Should -HaveCount 1
            $warnings[0] -match 'Of (\d+) request\(s\) confirmed: (\d+) approved by the service' | Should -BeTrue -Because $warnings[0]
            [int]$Matches[2] | Should -Be $applied -Because "the service applied $applied"
            [int]$Matches[1] | Should -BeLessOrEqual 300
            $warnings[0] | Should -Match 'Get-PimPending' -Because 'it says how to find out the rest'
        } finally {
            $ps.Runspace.Dispose()
            $ps.Dispose()
            Stop-Emulator $emu
        }
    }
}

Describe 'One bad item among good ones' {
    BeforeAll { Start-Demo }
    AfterAll { Stop-Emulator $Emu }

    It 'decides the others, and reports a hand-made object without Scope as one error naming it' {
        $diego = Get-Request 'Diego Siciliani'
        $bad = [pscustomobject]@{ ApprovalId = $diego.ApprovalId; Principal = 'Diego Siciliani'; Role = 'User Administrator' }
        $out = @((Get-Request 'Alex Wilber'), $bad, (Get-Request 'Lee Gu') |
                Approve-PimRequest -Justification 'CAB 12' -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable errs @Common)
        @($out.Principal | Sort-Object) | Should -Be @('Alex Wilber', 'Lee Gu')
        @($out | Where-Object Result -eq 'Approved') | Should -HaveCount 2
        $errs | Should -HaveCount 1
        $errs[0].FullyQualifiedErrorId | Should -Be 'PimBridge.InvalidInput,Approve-PimRequest'
        [object]::ReferenceEquals($errs[0].TargetObject, $bad) | Should -BeTrue
        $errs[0].Exception.Message | Should -Match ([regex]::Escape($diego.ApprovalId))
        $errs[0].Exception.Message | Should -Match 'no Scope'
        @((Get-EmulatorDecision $Emu).approvalId) | Should -Not -Contain $diego.ApprovalId
    }

    It 'reports a Duration that is not a duration as one error, and decides the others' {
        $patti = Get-Request 'Patti Fernandez'
        $bad = [pscustomobject]@{ ApprovalId = $patti.ApprovalId; Principal = 'Patti'; Role = 'Helpdesk Administrator'; Scope = '/'; Duration = 'soon' }
        $out = @($bad, (Get-Request 'Adele Vance') | Deny-PimRequest -Justification 'no' -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable errs @Common)
        $out | Should -HaveCount 1
        $out[0].Result | Should -Be 'Denied'
        $errs | Should -HaveCount 1
        $errs[0].FullyQualifiedErrorId | Should -Be 'PimBridge.InvalidInput,Deny-PimRequest'
        $errs[0].Exception.Message | Should -Match "'soon'"
    }

    It 'reports a Surface that is no surface as one error, and decides the others' {
        $out = @([pscustomobject]@{ ApprovalId = (Get-Request 'Diego Siciliani').ApprovalId; Surface = 'Printer' }, 'also-bad-but-sent' |
                Approve-PimRequest -Justification 'x' -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable errs @Common)
        $errs[0].FullyQualifiedErrorId | Should -Be 'PimBridge.InvalidInput,Approve-PimRequest'
        $errs[0].Exception.Message | Should -Match "'Printer'"
        $errs[1].FullyQualifiedErrorId | Should -Be 'PimBridge.InvalidId,Approve-PimRequest' -Because 'the next item was still read and sent to the library'
        $out | Should -HaveCount 1
    }
}

Describe 'Naming the surface with -Surface' {
    BeforeAll {
        Start-Demo
        $script:Groups = @(Get-PimPending @Common -Surface Group)
    }
    AfterAll { Stop-Emulator $Emu }

    It 'decides a directory-role request by id with -Surface DirectoryRole' {
        $d = Approve-PimRequest -ApprovalId (Get-Request 'Alex Wilber').ApprovalId -Surface DirectoryRole -Justification 'ok' -Confirm:$false @Common
        $d.Result | Should -Be 'Approved'
        $d.Surface | Should -Be 'DirectoryRole'
    }

    It 'sends a group request given by id with -Surface Group to the group surface' {
        $group = $Groups[0]
        $directoryReads = Get-EmulatorCallCount $Emu '*roleAssignmentApprovals*'
        $d = Deny-PimRequest -ApprovalId $group.ApprovalId -Surface Group -Justification 'no' -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable errs @Common
        $d.ApprovalId | Should -Be $group.ApprovalId
        $d.Surface | Should -Be 'Group'
        @($errs | Where-Object FullyQualifiedErrorId -like 'PimBridge.NotFound,*') | Should -BeNullOrEmpty -Because 'the group surface holds it'
        Get-EmulatorCallCount $Emu '*group/assignmentApprovals*' | Should -BeGreaterThan 0
        Get-EmulatorCallCount $Emu '*roleAssignmentApprovals*' | Should -Be $directoryReads -Because 'it was not looked for as a directory role'
    }

    It 'refuses an object whose own Surface is another than -Surface, and sends nothing for it' {
        $before = Get-EmulatorCallCount $Emu 'POST*batch*'
        $null = $Groups[0] | Approve-PimRequest -Surface DirectoryRole -Justification 'x' -Confirm:$false -ErrorAction SilentlyContinue -ErrorVariable errs @Common
        $errs | Should -HaveCount 1
        $errs[0].FullyQualifiedErrorId | Should -Be 'PimBridge.InvalidInput,Approve-PimRequest'
        $errs[0].Exception.Message | Should -Match "'Group'.*'DirectoryRole'"
        Get-EmulatorCallCount $Emu 'POST*batch*' | Should -Be $before
    }
}

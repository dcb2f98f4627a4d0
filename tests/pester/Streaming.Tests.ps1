# Deciding as the pipeline goes: at a console each confirmed "Yes" is sent at once, not at the end;
# a listing is decided while it still pages, and no request it holds is missed; and a stop accounts
# for every request sent, as the service recorded it. Every point is made with the emulator's gates
# and events and a host that answers the prompts (CaptureHost.cs), never with the clock: the
# timeouts only tell a hang from a slow machine.

BeforeAll {
    . "$PSScriptRoot/TestHelpers.ps1"
    Import-Module $ModulePath -Force

    function Set-Gate($Emulator, [hashtable] $Body) {
        $null = Invoke-RestMethod -Method Post -Uri "$($Emulator.Uri)/_emulator/gate" -Body ($Body | ConvertTo-Json) -ContentType 'application/json'
    }

    function Read-StopAccount([string] $Text) {
        # What a stop wrote to the host: the approval ids it names as applied, with an unknown
        # outcome and failed, and the numbers of its one warning.
        $lines = @($Text -split "`n")
        $ids = { param($pattern) @(foreach ($line in $lines) { if ($line -match $pattern) { $Matches['id'] } }) }
        $warnings = @($lines | Where-Object { $_ -match '^WARNING: .*: stopped; nothing more is sent\.' })
        $warnings | Should -HaveCount 1 -Because $Text
        $pattern = 'Of (?<confirmed>\d+) request\(s\) confirmed: (?<applied>\d+) (approved|denied) by the service \((?<output>\d+) output before the stop, (?<listed>\d+) listed above\), (?<unknown>\d+) with an unknown outcome, (?<failed>\d+) failed, (?<notSent>\d+) not sent\.'
        $warnings[0] -match $pattern | Should -BeTrue -Because $warnings[0]
        [pscustomobject]@{
            Applied      = & $ids '^  (Approved|Denied): .*\(approval (?<id>\S+)\)$'
            Unknown      = & $ids '^  Outcome unknown: .*\(approval (?<id>\S+)\)$'
            Failed       = & $ids '^  Failed: .*\(approval (?<id>\S+)\):'
            Warning      = $warnings[0]
            Confirmed    = [int]$Matches['confirmed']
            AppliedCount = [int]$Matches['applied']
            OutputCount  = [int]$Matches['output']
            ListedCount  = [int]$Matches['listed']
            UnknownCount = [int]$Matches['unknown']
            FailedCount  = [int]$Matches['failed']
            NotSentCount = [int]$Matches['notSent']
        }
    }

    function Assert-StopAccount($Account, [object[]] $Output, [object[]] $Recorded, [string] $Applied = 'Approved') {
        # What the module reported equals the service's record: the decisions output before the
        # stop and those named on the host after it are exactly the decisions the emulator applied.
        $outputIds = @($Output | Where-Object Result -eq $Applied | ForEach-Object ApprovalId)
        $reported = @($outputIds + $Account.Applied | Sort-Object)
        $reported | Should -Be @($Recorded.approvalId | Sort-Object) -Because 'each decision output or named as applied was applied, and each applied one was reported'
        $Account.AppliedCount | Should -Be $Recorded.Count -Because "the warning's number is the service's record: $($Account.Warning)"
        $Account.OutputCount | Should -Be $outputIds.Count
        $Account.ListedCount | Should -Be $Account.Applied.Count
        $Account.UnknownCount | Should -Be $Account.Unknown.Count -Because 'each request with an unknown outcome is named'
        @($Account.Unknown | Where-Object { $_ -in $Recorded.approvalId }) | Should -HaveCount 0 -Because 'none named unknown was applied (the gate dropped them)'
        ($Account.AppliedCount + $Account.UnknownCount + $Account.FailedCount + $Account.NotSentCount) | Should -Be $Account.Confirmed -Because 'every request confirmed is accounted for'
    }

    function New-ReadyCapture([int] $Choice = 2) {
        # A capturing host (New-CapturePowerShell) with the module already imported, so that what
        # the test adds runs as one script: BeginInvoke queues a batch's next statement on the
        # thread pool, and Stop() then Dispose() could close the runspace under it.
        $capture = New-CapturePowerShell -Choice $Choice
        $null = $capture.PowerShell.Invoke()
        # A new PowerShell on the same runspace: one that ran a batch keeps running them as a batch.
        $ps = [powershell]::Create()
        $ps.Runspace = $capture.PowerShell.Runspace
        $capture.PowerShell.Dispose()
        $capture.PowerShell = $ps
        $capture
    }

    function Invoke-Stopped($Emulator, [string] $Goal, [scriptblock] $Script) {
        # Runs -Script (param: Uri, token text, sink) on a capturing host, stops it (Ctrl+C) once the
        # emulator reaches -Goal, and returns what it output before the stop and the host's text.
        $capture = New-ReadyCapture
        $ps = $capture.PowerShell
        $sink = [System.Collections.Concurrent.ConcurrentQueue[object]]::new()
        try {
            $null = $ps.AddScript($Script.ToString()).AddArgument($Emulator.Uri).AddArgument((Get-EmulatorToken $Emulator)).AddArgument($sink)
            $handle = $ps.BeginInvoke()
            $null = Wait-Emulator $Emulator $Goal
            $ps.Stop()
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
            $null = $handle
            @{ Output = @($sink.ToArray()); Text = $capture.Host.Text }
        } finally {
            $ps.Runspace.Dispose()
            $ps.Dispose()
        }
    }
}

Describe 'At a console' {
    It 'sends the first confirmed "Yes" before the second prompt is answered' {
        $emu = Start-Emulator -Scenario 'bulk:2'
        try {
            $capture = New-ReadyCapture -Choice 0
            $ps = $capture.PowerShell
            # The person answers the second prompt only once the emulator has applied a decision:
            # a module that sends at the end never gets there, and the wait answers 408.
            $capture.Host.BeforeAnswer[1] = "$($emu.Uri)/_emulator/wait?decisions=1&timeoutMs=120000"
            $null = $ps.AddScript({
                param($Uri, $TokenText)
                $token = ConvertTo-SecureString $TokenText -AsPlainText -Force
                Get-PimPending -GraphUri $Uri -AccessToken $token -Surface DirectoryRole |
                    Approve-PimRequest -Justification 'At the console' -GraphUri $Uri -AccessToken $token
            }.ToString()).AddArgument($emu.Uri).AddArgument((Get-EmulatorToken $emu))
            $out = @($ps.Invoke())
            $capture.Host.Prompts | Should -HaveCount 2
            $capture.Host.WaitStatus[1] | Should -Be 200 -Because 'the first "Yes" was applied while the second prompt waited'
            @($out | Where-Object Result -eq 'Approved') | Should -HaveCount 2
            $recorded = Get-EmulatorDecision $emu
            $recorded | Should -HaveCount 2
            $capture.Host.Prompts[0] | Should -Match ([regex]::Escape($recorded[0].approvalId)) -Because 'the decision applied first is that of the first prompt'
            $ps.Runspace.Dispose()
            $ps.Dispose()
        } finally {
            Stop-Emulator $emu
        }
    }
}

Describe 'From the listing' {
    It 'decides while the listing still pages, and decides every request once' {
        $emu = Start-Emulator -Scenario 'bulk:12'
        try {
            # The listing's first page is served; the next waits at the pages' gate until the test
            # has seen a decision applied.
            Set-Gate $emu @{ pagesAfter = 1 }
            $capture = New-ReadyCapture
            $ps = $capture.PowerShell
            $null = $ps.AddScript({
                param($Uri, $TokenText)
                $token = ConvertTo-SecureString $TokenText -AsPlainText -Force
                Get-PimPending -GraphUri $Uri -AccessToken $token -Surface DirectoryRole -PageSize 3 -Verbose |
                    Approve-PimRequest -Justification 'Streamed' -Confirm:$false -GraphUri $Uri -AccessToken $token
            }.ToString()).AddArgument($emu.Uri).AddArgument((Get-EmulatorToken $emu))
            $handle = $ps.BeginInvoke()
            $at = Wait-Emulator $emu 'decisions=1&pagesHeld=1'
            $pagesThen = Get-EmulatorCallCount $emu '*filterByCurrentUser*'
            Set-Gate $emu @{ pagesAfter = $null }
            $handle.AsyncWaitHandle.WaitOne([timespan]::FromMinutes(2)) | Should -BeTrue -Because 'the run ends'
            $out = @($ps.EndInvoke($handle))
            $at.decisions | Should -BeGreaterOrEqual 1
            $pagesThen | Should -Be 1 -Because 'a decision was applied when only the first page had been served'
            (Get-EmulatorCallCount $emu '*filterByCurrentUser*') | Should -BeGreaterThan 1 -Because 'the listing went on after it'
            # The requests decided while the listing paged moved its later pages (the emulator's
            # $skiptoken is an offset into what is still pending): the listing is read again.
            @($ps.Streams.Verbose.Message | Where-Object { $_ -like 'Listing the DirectoryRole requests again*' }).Count | Should -BeGreaterThan 0
            $recorded = Get-EmulatorDecision $emu
            $recorded | Should -HaveCount 12
            @($recorded.approvalId | Sort-Object -Unique) | Should -HaveCount 12 -Because 'each request is decided once'
            @($out | Where-Object Result -eq 'Approved') | Should -HaveCount 12
            @($out.ApprovalId | Sort-Object) | Should -Be @($recorded.approvalId | Sort-Object)
            $ps.Runspace.Dispose()
            $ps.Dispose()
        } finally {
            Stop-Emulator $emu
        }
    }

    It 'misses no request when every page is decided before the next is served' {
        # Each page waits at the gate until the requests before it were decided: the worst case of
        # an offset, every later page starting past requests never seen.
        $emu = Start-Emulator -Scenario 'bulk:9'
        try {
            Set-Gate $emu @{ pagesAfter = 1 }
            $capture = New-ReadyCapture
            $ps = $capture.PowerShell
            $null = $ps.AddScript({
                param($Uri, $TokenText)
                $token = ConvertTo-SecureString $TokenText -AsPlainText -Force
                Get-PimPending -GraphUri $Uri -AccessToken $token -Surface DirectoryRole -PageSize 3 |
                    Deny-PimRequest -Justification 'Streamed' -Confirm:$false -GraphUri $Uri -AccessToken $token
            }.ToString()).AddArgument($emu.Uri).AddArgument((Get-EmulatorToken $emu))
            $handle = $ps.BeginInvoke()
            $null = Wait-Emulator $emu 'decisions=3&pagesHeld=1'
            # The second page is served, past the three decided (an offset of 3 into the six left:
            # the last three), and the listing ends there, three requests never seen. It is listed
            # again once those decided are answered; that listing's first page waits at the gate.
            Set-Gate $emu @{ pagesAfter = 1 }
            $null = Wait-Emulator $emu 'decisions=6&pagesHeld=1'
            Set-Gate $emu @{ pagesAfter = $null }
            $handle.AsyncWaitHandle.WaitOne([timespan]::FromMinutes(2)) | Should -BeTrue -Because 'the run ends'
            $out = @($ps.EndInvoke($handle))
            $recorded = Get-EmulatorDecision $emu
            @($recorded.approvalId | Sort-Object -Unique) | Should -HaveCount 9 -Because 'the requests the pages skipped were listed again and decided'
            $recorded | Should -HaveCount 9
            @($out | Where-Object Result -eq 'Denied') | Should -HaveCount 9
            $ps.Runspace.Dispose()
            $ps.Dispose()
        } finally {
            Stop-Emulator $emu
        }
    }
}

Describe 'Listing once' {
    It 'lists once when nothing it output was sent while it paged' {
        # Every prompt is answered "No": requests are output while pages are still to be read, and
        # none is sent, so no page can have moved and the listing is not read again.
        $emu = Start-Emulator -Scenario 'bulk:7'
        try {
            $common = @{ GraphUri = $emu.Uri; AccessToken = (ConvertTo-SecureString (Get-EmulatorToken $emu) -AsPlainText -Force) }
            $null = @(Get-PimPending @common -Surface DirectoryRole -PageSize 3)
            $pages = Get-EmulatorCallCount $emu '*filterByCurrentUser*'
            $pages | Should -BeGreaterThan 1 -Because 'the listing has several pages'
            $capture = New-ReadyCapture -Choice 2
            $ps = $capture.PowerShell
            $null = $ps.AddScript({
                param($Uri, $TokenText)
                $token = ConvertTo-SecureString $TokenText -AsPlainText -Force
                Get-PimPending -GraphUri $Uri -AccessToken $token -Surface DirectoryRole -PageSize 3 -Verbose |
                    Approve-PimRequest -Justification 'Not today' -GraphUri $Uri -AccessToken $token
            }.ToString()).AddArgument($emu.Uri).AddArgument((Get-EmulatorToken $emu))
            $out = @($ps.Invoke())
            $capture.Host.Prompts | Should -HaveCount 7
            $out | Should -HaveCount 0
            Get-EmulatorDecision $emu | Should -HaveCount 0
            (Get-EmulatorCallCount $emu '*filterByCurrentUser*') | Should -Be (2 * $pages) -Because 'the pipeline read the listing once'
            @($ps.Streams.Verbose.Message | Where-Object { $_ -like 'Listing the DirectoryRole requests again*' }) | Should -HaveCount 0
            $ps.Runspace.Dispose()
            $ps.Dispose()
        } finally {
            Stop-Emulator $emu
        }
    }
}

Describe 'A truthful stop' {
    It 'stopped with one batch applied and the rest held at the gate: reports those applied, names the held as unknown' {
        $emu = Start-Emulator -Scenario 'bulk:60'
        try {
            # One batch of decisions is let through, the later ones are held before any of their
            # items is applied: each batch on the wire at the stop is applied in full or not at all,
            # however the stream cut the requests into batches.
            Set-Gate $emu @{ batchesAfter = 1 }
            $run = Invoke-Stopped $emu 'batchesDone=1&batchesHeld=1' {
                param($Uri, $TokenText, $Sink)
                $token = ConvertTo-SecureString $TokenText -AsPlainText -Force
                Get-PimPending -GraphUri $Uri -AccessToken $token -Surface DirectoryRole -PageSize 999 |
                    Approve-PimRequest -Justification 'bulk' -Confirm:$false -GraphUri $Uri -AccessToken $token |
                    ForEach-Object { $Sink.Enqueue($_) }
            }
            $recorded = Get-EmulatorDecision $emu
            $recorded.Count | Should -BeGreaterThan 0
            $account = Read-StopAccount $run.Text
            Assert-StopAccount $account $run.Output $recorded
            $account.UnknownCount | Should -BeGreaterThan 0 -Because 'decisions on the wire at the stop were never answered'
            $account.Warning | Should -Match 'Get-PimDecisionLog -Result Unknown' -Because 'it says what to run to see them'
        } finally {
            Stop-Emulator $emu
        }
    }

    It 'stopped before anything was applied: reports none applied' {
        $emu = Start-Emulator -Scenario 'bulk:30' -Extra @('--gate-after', '0')
        try {
            $run = Invoke-Stopped $emu 'held=1' {
                param($Uri, $TokenText, $Sink)
                $token = ConvertTo-SecureString $TokenText -AsPlainText -Force
                Get-PimPending -GraphUri $Uri -AccessToken $token -Surface DirectoryRole -PageSize 999 |
                    Deny-PimRequest -Justification 'bulk' -Confirm:$false -GraphUri $Uri -AccessToken $token |
                    ForEach-Object { $Sink.Enqueue($_) }
            }
            $null = Wait-Emulator $emu 'heldMax=0'
            $recorded = Get-EmulatorDecision $emu
            $recorded | Should -HaveCount 0
            $account = Read-StopAccount $run.Text
            Assert-StopAccount $account $run.Output $recorded -Applied Denied
            $account.AppliedCount | Should -Be 0
            $account.Warning | Should -Match '^WARNING: Deny-PimRequest: stopped'
        } finally {
            Stop-Emulator $emu
        }
    }

    It 'Invoke-PimPolicy (<How>) stopped with one batch applied: reports those applied, names the held as unknown' -ForEach @(
        @{ How = 'listing itself'; Source = '' }
        @{ How = 'piped from Get-PimPending'; Source = 'Get-PimPending -GraphUri $Uri -AccessToken $token -Surface DirectoryRole -PageSize 999 | ' }
    ) {
        $emu = Start-Emulator -Scenario 'bulk:60'
        try {
            $policy = Join-Path $TestDrive 'approve-all.psd1'
            Set-Content -LiteralPath $policy -Encoding utf8 -Value "@{ Rules = @( @{ Name = 'all'; Action = 'Approve'; Justification = 'Approved by policy {Rule}' } ) }"
            Set-Gate $emu @{ batchesAfter = 1 }
            $script = [scriptblock]::Create(@"
param(`$Uri, `$TokenText, `$Sink)
`$token = ConvertTo-SecureString `$TokenText -AsPlainText -Force
$Source Invoke-PimPolicy -Path '$policy' -Force -Confirm:`$false -Surface DirectoryRole -GraphUri `$Uri -AccessToken `$token |
    ForEach-Object { `$Sink.Enqueue(`$_) }
"@)
            $run = Invoke-Stopped $emu 'batchesDone=1&batchesHeld=1' $script
            $recorded = Get-EmulatorDecision $emu
            $recorded.Count | Should -BeGreaterThan 0
            $account = Read-StopAccount $run.Text
            $account.Warning | Should -Match '^WARNING: Invoke-PimPolicy: stopped'
            Assert-StopAccount $account $run.Output $recorded
            $account.UnknownCount | Should -BeGreaterThan 0
        } finally {
            Stop-Emulator $emu
        }
    }

    It 'Ctrl+C at the third prompt after two "Yes": both applied, both reported' {
        $emu = Start-Emulator -Scenario 'bulk:3'
        try {
            $capture = New-ReadyCapture -Choice 0
            $ps = $capture.PowerShell
            $capture.Host.BeforeAnswer[2] = "$($emu.Uri)/_emulator/wait?decisions=2&timeoutMs=120000"
            $capture.Host.StopAtPrompt = 2
            $capture.Host.StopTarget = $ps
            $sink = [System.Collections.Concurrent.ConcurrentQueue[object]]::new()
            $null = $ps.AddScript({
                param($Uri, $TokenText, $Sink)
                $token = ConvertTo-SecureString $TokenText -AsPlainText -Force
                Get-PimPending -GraphUri $Uri -AccessToken $token -Surface DirectoryRole |
                    Approve-PimRequest -Justification 'At the console' -GraphUri $Uri -AccessToken $token |
                    ForEach-Object { $Sink.Enqueue($_) }
            }.ToString()).AddArgument($emu.Uri).AddArgument((Get-EmulatorToken $emu)).AddArgument($sink)
            try { $null = $ps.Invoke() } catch [System.Management.Automation.PipelineStoppedException] { $null = $_ }
            $capture.Host.WaitStatus[2] | Should -Be 200 -Because 'both "Yes" were applied before the third prompt'
            $recorded = Get-EmulatorDecision $emu
            $recorded | Should -HaveCount 2
            $account = Read-StopAccount $capture.Host.Text
            Assert-StopAccount $account @($sink.ToArray()) $recorded
            $account.Confirmed | Should -Be 2
            $account.UnknownCount | Should -Be 0
            $ps.Runspace.Dispose()
            $ps.Dispose()
        } finally {
            Stop-Emulator $emu
        }
    }

    It 'Ctrl+C at the third prompt with the second "Yes" held: one applied, one named unknown' {
        $emu = Start-Emulator -Scenario 'bulk:3' -Extra @('--gate-after', '1')
        try {
            $capture = New-ReadyCapture -Choice 0
            $ps = $capture.PowerShell
            # The second "Yes" is given once the first was applied (so it leaves in a batch of its
            # own), and the Ctrl+C once the second is held at the gate.
            $capture.Host.BeforeAnswer[1] = "$($emu.Uri)/_emulator/wait?decisions=1&timeoutMs=120000"
            $capture.Host.BeforeAnswer[2] = "$($emu.Uri)/_emulator/wait?decisions=1&held=1&timeoutMs=120000"
            $capture.Host.StopAtPrompt = 2
            $capture.Host.StopTarget = $ps
            $sink = [System.Collections.Concurrent.ConcurrentQueue[object]]::new()
            $null = $ps.AddScript({
                param($Uri, $TokenText, $Sink)
                $token = ConvertTo-SecureString $TokenText -AsPlainText -Force
                Get-PimPending -GraphUri $Uri -AccessToken $token -Surface DirectoryRole |
                    Approve-PimRequest -Justification 'At the console' -GraphUri $Uri -AccessToken $token |
                    ForEach-Object { $Sink.Enqueue($_) }
            }.ToString()).AddArgument($emu.Uri).AddArgument((Get-EmulatorToken $emu)).AddArgument($sink)
            try { $null = $ps.Invoke() } catch [System.Management.Automation.PipelineStoppedException] { $null = $_ }
            $capture.Host.WaitStatus[1] | Should -Be 200
            $capture.Host.WaitStatus[2] | Should -Be 200
            $null = Wait-Emulator $emu 'heldMax=0'
            $recorded = Get-EmulatorDecision $emu
            $recorded | Should -HaveCount 1
            $account = Read-StopAccount $capture.Host.Text
            Assert-StopAccount $account @($sink.ToArray()) $recorded
            $account.Confirmed | Should -Be 2
            $account.UnknownCount | Should -Be 1
            $capture.Host.Prompts[1] | Should -Match ([regex]::Escape($account.Unknown[0])) -Because 'the request held at the gate is the second confirmed'
            $ps.Runspace.Dispose()
            $ps.Dispose()
        } finally {
            Stop-Emulator $emu
        }
    }
}

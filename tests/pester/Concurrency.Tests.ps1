# Several runspaces at once, and an emulator that goes away in the middle of a run.

BeforeAll {
    . "$PSScriptRoot/TestHelpers.ps1"
    Import-Module $ModulePath -Force
}

Describe 'Eight runspaces at once' {
    BeforeAll {
        $script:Emus = @(1..8 | ForEach-Object { Start-Emulator -Scenario 'bulk:30' -Extra @('--latency-ms', '5') })
    }
    AfterAll { $Emus | ForEach-Object { Stop-Emulator $_ } }

    It 'lists and decides in parallel, each with its own token and endpoint, and results never cross' {
        $work = foreach ($e in $Emus) { [pscustomobject]@{ Uri = $e.Uri; Token = (Get-EmulatorToken $e) } }
        $module = $ModulePath
        $results = @($work | ForEach-Object -ThrottleLimit 8 -Parallel {
            Import-Module $using:module
            $token = ConvertTo-SecureString $_.Token -AsPlainText -Force
            $common = @{ GraphUri = $_.Uri; AccessToken = $token }
            $out = @(Get-PimPending @common -Surface DirectoryRole | Approve-PimRequest -Justification "for $($_.Uri)" -Confirm:$false @common)
            [pscustomobject]@{ Uri = $_.Uri; Approved = @($out | Where-Object Result -eq 'Approved').Count; Ids = @($out.ApprovalId | Sort-Object) }
        })
        $results.Count | Should -Be 8
        foreach ($e in $Emus) {
            $mine = $results | Where-Object Uri -eq $e.Uri
            $mine.Approved | Should -Be 30
            $rec = Get-EmulatorDecision $e
            $rec.Count | Should -Be 30 -Because "each emulator gets exactly its own 30 decisions"
            @($rec.justification | Sort-Object -Unique) | Should -Be @("for $($e.Uri)") -Because 'no runspace decided on another one''s endpoint'
            @($rec.approvalId | Sort-Object) | Should -Be $mine.Ids
        }
    }
}

Describe 'An outage in the middle of a run' {
    It 'ends with clear errors, without hanging, when the service goes away' {
        # The gate holds every decision after the 40th, so the service goes away in the middle
        # of the run however fast the machine is.
        $emu = Start-Emulator -Scenario 'bulk:600' -Extra @('--gate-after', '40')
        try {
            $ps = [powershell]::Create()
            $null = $ps.AddScript({
                param($ModulePath, $Uri, $TokenText)
                Import-Module $ModulePath
                $token = ConvertTo-SecureString $TokenText -AsPlainText -Force
                $common = @{ GraphUri = $Uri; AccessToken = $token }
                $pending = @(Get-PimPending @common -Surface DirectoryRole -PageSize 999)
                $pending | Approve-PimRequest -Justification 'outage' -Confirm:$false @common -ErrorAction SilentlyContinue -ErrorVariable +failures
                [pscustomobject]@{ Failures = @($failures | ForEach-Object FullyQualifiedErrorId) }
            }).AddArgument($ModulePath).AddArgument($emu.Uri).AddArgument((Get-EmulatorToken $emu))
            $handle = $ps.BeginInvoke()
            $null = Wait-Emulator $emu 'decisions=40&held=1'
            Stop-Emulator $emu
            # No timing is asserted; the bound only tells a hang from a slow machine.
            $handle.AsyncWaitHandle.WaitOne([timespan]::FromSeconds(60)) | Should -BeTrue -Because 'the run must end, not hang'
            $out = @($ps.EndInvoke($handle))
            $summary = $out | Where-Object { $_.PSObject.Properties['Failures'] } | Select-Object -Last 1
            $decided = @($out | Where-Object { $_.PSObject.Properties['Result'] -and $_.Result -eq 'Approved' }).Count
            $failed = @($out | Where-Object { $_.PSObject.Properties['Result'] -and $_.Result -eq 'Failed' }).Count
            # Decisions held at the gate when the service died were sent: their outcome is unknown.
            $unknown = @($out | Where-Object { $_.PSObject.Properties['Result'] -and $_.Result -eq 'Unknown' }).Count
            ($decided + $failed + $unknown) | Should -Be 600 -Because 'every request is accounted for'
            # 40 were applied; an applied batch whose answer was still on its way when the service
            # died is reported Unknown, never Failed (Failed promises nothing was applied).
            $decided | Should -BeLessOrEqual 40 -Because 'no decision is reported applied that the service did not apply'
            ($decided + $unknown) | Should -BeGreaterOrEqual 40 -Because 'the 40 the service applied are reported applied, or unknown when their answer was lost'
            ($failed + $unknown) | Should -BeGreaterThan 0
            @($summary.Failures | Sort-Object -Unique) | ForEach-Object { $_ | Should -Match '^PimBridge\.(Unreachable|ConnectionLost|OutcomeUnknown),Approve-PimRequest$' }
            $ps.Dispose()
        } finally {
            Stop-Emulator $emu
        }
    }
}

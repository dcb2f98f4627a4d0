# Where the token comes from (-AccessToken, or a Connect-MgGraph session through a stand-in
# Invoke-MgGraphRequest), and that it never shows up anywhere.

BeforeAll {
    . "$PSScriptRoot/TestHelpers.ps1"
    Import-Module $ModulePath -Force
    $script:Emu = Start-Emulator -Scenario demo

    # Stand-ins for the Microsoft Graph SDK: the only thing mocked, at the module's boundary.
    function Set-MgSession([string] $TokenText, [string] $Environment = 'Global') {
        $global:MgTokenText = $TokenText
        $global:MgEnvironment = $Environment
        $global:MgCalls = [System.Collections.Generic.List[object]]::new()
        function global:Get-MgContext { [pscustomobject]@{ Environment = $global:MgEnvironment; Account = 'MeganB@contoso.onmicrosoft.com' } }
        function global:Invoke-MgGraphRequest {
            param($Method, $Uri, $OutputType, $ErrorAction)
            $global:MgCalls.Add([pscustomobject]@{ Method = $Method; Uri = $Uri; OutputType = $OutputType })
            # A queue of tokens, when a test wants the session's token to change between calls.
            $text = if ($global:MgTokenQueue -and $global:MgTokenQueue.Count) { $global:MgTokenQueue.Dequeue() } else { $global:MgTokenText }
            $request = [System.Net.Http.HttpRequestMessage]::new([System.Net.Http.HttpMethod]::Get, 'https://graph.microsoft.com/v1.0/me')
            $request.Headers.Authorization = [System.Net.Http.Headers.AuthenticationHeaderValue]::new('Bearer', $text)
            $response = [System.Net.Http.HttpResponseMessage]::new([System.Net.HttpStatusCode]::OK)
            $response.RequestMessage = $request
            $response
        }
    }
    function Remove-MgSession {
        foreach ($name in 'Get-MgContext', 'Invoke-MgGraphRequest') {
            while (Get-Item -Path "Function:\$name" -ErrorAction Ignore) { Remove-Item -Path "Function:\$name" }
        }
    }
    # The module caches the session's token; a fresh import forgets it.
    function Reset-Module { Import-Module $ModulePath -Force }
}

AfterAll {
    Remove-MgSession
    Remove-Item Env:PIMBRIDGE_GRAPH_URI -ErrorAction Ignore
    Stop-Emulator $Emu
}

Describe 'The token of a Connect-MgGraph session' {
    BeforeEach {
        Reset-Module
        $env:PIMBRIDGE_GRAPH_URI = $Emu.Uri
    }
    AfterEach { Remove-MgSession }

    It 'is read with one Invoke-MgGraphRequest call and reused' {
        Set-MgSession (Get-EmulatorToken $Emu)
        @(Get-PimPending) | Should -HaveCount 8 -Because 'six directory-role and two group requests'
        Get-PimPending | Where-Object Surface -eq 'AzureResource' | Should -BeNullOrEmpty -Because 'there is no Azure token'
        @(Get-PimPending -Role 'Global*') | Should -HaveCount 1
        $null = Get-PimPending -Principal 'Patti*' | Deny-PimRequest -Justification 'No ticket' -Confirm:$false
        $global:MgCalls | Should -HaveCount 1
        $global:MgCalls[0].OutputType | Should -Be 'HttpResponseMessage'
        $global:MgCalls[0].Uri | Should -BeLike '/v1.0/*' -Because 'a relative URI keeps the request in the SDK''s own cloud'
    }

    It 'is read again when it expires within five minutes' {
        Set-MgSession (Get-EmulatorToken $Emu @{ expiresIn = 200 })
        $null = Get-PimPending
        $null = Get-PimPending
        $global:MgCalls | Should -HaveCount 2
    }

    It 'is read again once when the service refuses it in the middle of a run, and the refused requests resent' {
        $bulk = Start-Emulator -Scenario 'bulk:40'
        try {
            $env:PIMBRIDGE_GRAPH_URI = $bulk.Uri
            $valid = Get-EmulatorToken $bulk
            # The first token passes every check on our side, but the service refuses it (401), as it
            # does a token that expired or was revoked under way; the second is good.
            Set-MgSession $valid
            $global:MgTokenQueue = [System.Collections.Generic.Queue[string]]::new()
            $global:MgTokenQueue.Enqueue($valid + 'x')
            $global:MgTokenQueue.Enqueue($valid)
            $pending = @(Get-PimPending -AccessToken (ConvertTo-SecureString $valid -AsPlainText -Force) -Surface DirectoryRole)
            $out = @($pending | Approve-PimRequest -Justification 'ok' -Confirm:$false -ErrorVariable errs)
            $out.Count | Should -Be 40
            @($out | Where-Object Result -eq 'Approved').Count | Should -Be 40
            $errs | Should -BeNullOrEmpty
            $global:MgCalls | Should -HaveCount 2 -Because 'the session was read once more, not per request'
            $rec = Get-EmulatorDecision $bulk
            @($rec.approvalId | Sort-Object -Unique).Count | Should -Be 40
            $rec.Count | Should -Be 40
        } finally {
            $global:MgTokenQueue = $null
            Stop-Emulator $bulk
        }
    }

    It 'is not needed when -AccessToken is given' {
        Set-MgSession 'unused'
        @(Get-PimPending -AccessToken (New-TestToken $Emu)) | Should -Not -BeNullOrEmpty
        $global:MgCalls | Should -HaveCount 0
    }

    It 'says exactly what to run when there is no session' {
        Remove-MgSession
        Get-Command Invoke-MgGraphRequest -ErrorAction Ignore | Should -BeNullOrEmpty
        $err = { Get-PimPending } | Should -Throw -ErrorId 'PimBridge.NotConnected,Get-PimPending' -PassThru
        $err.Exception.Message | Should -Match ([regex]::Escape("Connect-MgGraph -Scopes 'RoleAssignmentSchedule.ReadWrite.Directory', 'PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup'"))
        $err.CategoryInfo.Category | Should -Be 'AuthenticationError'
    }

    It 'follows the session''s national cloud' -ForEach @(
        @{ Environment = 'USGov'; Uri = 'https://graph.microsoft.us' }
        @{ Environment = 'USGovDoD'; Uri = 'https://dod-graph.microsoft.us' }
        @{ Environment = 'China'; Uri = 'https://microsoftgraph.chinacloudapi.cn' }
        @{ Environment = 'Global'; Uri = 'https://graph.microsoft.com' }
    ) {
        Remove-Item Env:PIMBRIDGE_GRAPH_URI
        Set-MgSession 'unused' $Environment
        InModuleScope PimBridge { Resolve-PimGraphUri } | Should -Be $Uri
        InModuleScope PimBridge { Resolve-PimGraphUri -GraphUri 'http://127.0.0.1:1/' } | Should -Be 'http://127.0.0.1:1'
    }
}

Describe 'Token hygiene' {
    It 'never shows the token in any stream, error, -Verbose/-Debug text or transcript' {
        Reset-Module
        $text = Get-EmulatorToken $Emu
        $parts = $text.Split('.')
        $token = ConvertTo-SecureString $text -AsPlainText -Force
        $transcript = Join-Path ([IO.Path]::GetTempPath()) "pim-hygiene-$PID.txt"
        $common = @{ GraphUri = $Emu.Uri; AccessToken = $token; Verbose = $true; Debug = $true; ErrorAction = 'Continue' }
        $DebugPreference = 'Continue'
        Start-Transcript -Path $transcript | Out-Null
        try {
            $all = & {
                Get-PimPending @common
                Get-PimPending @common -Principal 'Lee*' | Approve-PimRequest -Justification 'ok' -Confirm:$false @common
                # Forced errors: already decided, not found, self-approval, an invalid id, an unreachable endpoint.
                Get-PimPending @common -Principal 'Adele*', 'Megan*' | Approve-PimRequest -Justification 'ok' -Confirm:$false @common
                Get-PimPending @common -Principal 'Adele*' | Deny-PimRequest -Justification 'again' -Confirm:$false @common
                Approve-PimRequest -ApprovalId '00000000-0000-4000-8000-000000000042', '../x' -Justification 'x' -Confirm:$false @common
                try { Get-PimPending @common -GraphUri 'http://127.0.0.1:9' } catch { $_ }
                try { Get-PimPending @common -GraphUri 'http://example.com' } catch { $_ }
                $env:PIMBRIDGE_GRAPH_URI = $Emu.Uri
                Set-MgSession $text
                Get-PimPending -Verbose -Debug
                Remove-MgSession
                Remove-Item Env:PIMBRIDGE_GRAPH_URI
            } *>&1
        } finally {
            Stop-Transcript | Out-Null
        }
        $records = @($all | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
        $records.Count | Should -BeGreaterOrEqual 5 -Because 'the forced errors happened'
        @($all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Count | Should -BeGreaterThan 0
        $everything = @(
            $all | Out-String -Width 4096
            $all | ForEach-Object { $_ | Format-List * -Force | Out-String -Width 4096 }
            $records | ForEach-Object { $_.Exception.ToString(); $_.ErrorDetails.Message; $_.ErrorDetails.RecommendedAction; $_.ScriptStackTrace; $_.TargetObject | Out-String }
            Get-Content -Raw $transcript
        ) -join "`n"
        Remove-Item $transcript
        $everything.Length | Should -BeGreaterThan 1000
        $everything.Contains($text) | Should -BeFalse
        foreach ($part in $parts) {
            $everything.Contains($part) | Should -BeFalse -Because 'no part of the token may appear'
        }
    }
}

Describe 'The session token under Set-PSDebug -Trace 2' {
    It 'is never printed, not even in part, while the Connect-MgGraph path reads it' {
        $text = Get-EmulatorToken $Emu
        $run = Invoke-CaptureHost -ArgumentList $Emu.Uri, $text -Script {
            param($Uri, $TokenText)
            # The Graph SDK's stand-ins, set up before the trace starts: the response whose request
            # carried the session's token, as Invoke-MgGraphRequest -OutputType HttpResponseMessage
            # returns it.
            $request = [System.Net.Http.HttpRequestMessage]::new([System.Net.Http.HttpMethod]::Get, 'https://graph.microsoft.com/v1.0/me')
            $request.Headers.Authorization = [System.Net.Http.Headers.AuthenticationHeaderValue]::new('Bearer', $TokenText)
            $global:MgResponse = [System.Net.Http.HttpResponseMessage]::new([System.Net.HttpStatusCode]::OK)
            $global:MgResponse.RequestMessage = $request
            Remove-Variable -Name TokenText, request
            function global:Get-MgContext { [pscustomobject]@{ Environment = 'Global'; Account = 'MeganB@contoso.onmicrosoft.com' } }
            function global:Invoke-MgGraphRequest { param($Method, $Uri, $OutputType, $ErrorAction) $global:MgResponse }
            $env:PIMBRIDGE_GRAPH_URI = $Uri
            Set-PSDebug -Trace 2
            try {
                $listed = @(Get-PimPending -Surface DirectoryRole -Verbose -Debug)
                $decided = @($listed | Select-Object -First 1 | Deny-PimRequest -Justification 'traced' -Confirm:$false -Verbose -Debug)
            } finally {
                Set-PSDebug -Off
            }
            [pscustomobject]@{ Listed = $listed.Count; Decided = @($decided | Where-Object Result -eq 'Denied').Count }
        }
        $run.Errors | Should -BeNullOrEmpty
        $run.Output[-1].Listed | Should -BeGreaterThan 0 -Because 'the session''s token was read and used'
        $run.Output[-1].Decided | Should -Be 1
        $run.Text | Should -Match 'Get-PimGraphToken' -Because 'the trace ran through the token''s path'
        $run.Text | Should -Match '! SET \$' -Because 'the trace shows what is assigned'
        for ($i = 0; $i -le $text.Length - 8; $i++) {
            $window = $text.Substring($i, 8)
            if ($run.Text.Contains($window)) {
                $at = $run.Text.IndexOf($window)
                $run.Text.Substring([math]::Max(0, $at - 60), 60) | Should -BeNullOrEmpty -Because "no 8 characters of the token ('$window' at $i) may be printed"
            }
        }
    }
}

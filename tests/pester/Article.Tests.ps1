# The article's script, as its readers run it, against pim-emulator: a client no one here wrote.
# Only Microsoft's SDK is stood in for, at its boundary: Connect-MgGraph, and Invoke-GraphRequest
# forwarding to the emulator the way the real one calls Graph (relative URIs to the session's cloud,
# answers as case-sensitive hashtables, a hashtable -Body sent as JSON with no Content-Type).

BeforeAll {
    . "$PSScriptRoot/TestHelpers.ps1"

    function ConvertTo-GraphHashtable([System.Text.Json.JsonElement] $Json) {
        switch ($Json.ValueKind) {
            'Object' {
                $h = [hashtable]::new([StringComparer]::Ordinal)
                foreach ($p in $Json.EnumerateObject()) { $h[$p.Name] = ConvertTo-GraphHashtable $p.Value }
                return $h
            }
            'Array' { return , @(foreach ($e in $Json.EnumerateArray()) { ConvertTo-GraphHashtable $e }) }
            'String' { return $Json.GetString() }
            'Number' { return $Json.GetDouble() }
            'True' { return $true }
            'False' { return $false }
            default { return $null }
        }
    }

    function Set-GraphStandIn($Emulator) {
        $global:ArticleEmulator = $Emulator
        $global:ArticleToken = Get-EmulatorToken $Emulator
        $global:ArticleRequests = [System.Collections.Generic.List[object]]::new()
        function global:Connect-MgGraph { param([string[]] $Scopes) }
        function global:Invoke-GraphRequest {
            param([string] $Method, [string] $Uri, $Body)
            $target = if ($Uri -match '^https://graph\.microsoft\.com(/.*)$') { $Matches[1] } else { $Uri }
            $request = [System.Net.Http.HttpRequestMessage]::new([System.Net.Http.HttpMethod]::new($Method), "$($global:ArticleEmulator.Uri)$target")
            $request.Headers.Authorization = [System.Net.Http.Headers.AuthenticationHeaderValue]::new('Bearer', $global:ArticleToken)
            if ($null -ne $Body) {
                $request.Content = [System.Net.Http.ByteArrayContent]::new([Text.Encoding]::UTF8.GetBytes(($Body | ConvertTo-Json -Depth 10)))
            }
            $global:ArticleRequests.Add([pscustomobject]@{ Method = $Method; Uri = $target; ContentType = $request.Content?.Headers.ContentType })
            $client = [System.Net.Http.HttpClient]::new()
            try {
                $response = $client.SendAsync($request).GetAwaiter().GetResult()
                $text = $response.Content.ReadAsStringAsync().GetAwaiter().GetResult()
                if (-not $response.IsSuccessStatusCode) { throw "$([int]$response.StatusCode) $text" }
                if ($text) { ConvertTo-GraphHashtable ([System.Text.Json.JsonDocument]::Parse($text).RootElement) }
            } finally {
                $client.Dispose()
            }
        }
    }
}

AfterAll {
    foreach ($name in 'Connect-MgGraph', 'Invoke-GraphRequest') { Remove-Item -Path "Function:\$name" -ErrorAction Ignore }
}

Describe 'The article''s script' {
    It 'approves the first pending request, once, with its justification' {
        $emu = Start-Emulator -Scenario 'bulk:3'
        try {
            Set-GraphStandIn $emu
            $listed = Invoke-RestMethod -Uri "$($emu.Uri)/beta/roleManagement/directory/roleAssignmentScheduleRequests?`$filter=(status eq 'PendingApproval')" -Headers @{ Authorization = "Bearer $global:ArticleToken" }
            & "$PSScriptRoot/article/Approve-FirstPending.ps1"
            $recorded = @(Get-EmulatorDecision $emu)
            $recorded | Should -HaveCount 1
            $recorded[0].approvalId | Should -Be $listed.value[0].approvalId -Because 'the script approves the first pending request'
            $recorded[0].justification | Should -Be 'Seems legit'
            $recorded[0].reviewResult | Should -BeLike 'Approve*'
            $global:ArticleRequests.Method | Should -Be @('GET', 'GET', 'PATCH')
            $global:ArticleRequests[2].ContentType | Should -BeNullOrEmpty -Because 'the SDK sends the PATCH without a Content-Type'
        } finally {
            Stop-Emulator $emu
        }
    }
}

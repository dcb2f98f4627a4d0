# The decision log through the module: Approve-PimRequest, Deny-PimRequest and Invoke-PimPolicy
# write it, Get-PimDecisionLog reads it, Test-PimDecisionLog checks its chain. Against a running
# pim-emulator; child pwsh processes for two writers at once and for a process killed between
# intent and outcome (held at the emulator's gate, so nothing depends on timing).

BeforeAll {
    . "$PSScriptRoot/TestHelpers.ps1"
    Import-Module $ModulePath -Force
    $script:Pwsh = (Get-Command pwsh -CommandType Application | Select-Object -First 1).Source

    function Start-Demo {
        $script:Emu = Start-Emulator -Scenario demo
        $script:Token = New-TestToken $Emu
        $script:Common = @{ GraphUri = $Emu.Uri; AccessToken = $Token }
        $script:Pending = @(Get-PimPending @Common -Surface DirectoryRole)
    }
    function Get-Request([string] $Name) { $Pending | Where-Object Principal -eq $Name }

    function Set-Gate([hashtable] $Body) {
        $null = Invoke-RestMethod -Method Post -Uri "$($Emu.Uri)/_emulator/gate" -Body ($Body | ConvertTo-Json) -ContentType 'application/json'
    }

    function Start-ChildDecision([string[]] $ApprovalId, [string] $LogPath, [string] $Justification) {
        # A child pwsh that imports the built module and approves -ApprovalId with -LogPath; its
        # token goes through the environment, never the command line.
        $env:PIMBRIDGE_TEST_TOKEN = Get-EmulatorToken $Emu
        $ids = ($ApprovalId | ForEach-Object { "'$_'" }) -join ','
        $command = "Import-Module '$ModulePath'; `$t = ConvertTo-SecureString `$env:PIMBRIDGE_TEST_TOKEN -AsPlainText -Force; " +
            "Approve-PimRequest -ApprovalId $ids -Justification '$Justification' -GraphUri '$($Emu.Uri)' -AccessToken `$t -LogPath '$LogPath' -Confirm:`$false -ErrorAction Continue | Out-Null"
        try {
            Start-Process -FilePath $Pwsh -ArgumentList '-NoProfile', '-NonInteractive', '-Command', $command -PassThru
        } finally {
            Remove-Item Env:PIMBRIDGE_TEST_TOKEN
        }
    }
}

Describe 'Approve-PimRequest and Deny-PimRequest record each decision' {
    BeforeAll {
        Start-Demo
        $script:Log = Join-Path $TestDrive 'decisions.jsonl'
    }
    AfterAll { Stop-Emulator $Emu }

    It 'writes an intent and an outcome per request, with the actor and no token' {
        $alex = Get-Request 'Alex Wilber'
        $d = $alex | Approve-PimRequest -Justification 'CAB approved' -LogPath $Log -Confirm:$false @Common
        $d.Result | Should -Be 'Approved'
        $lines = @(Get-PimDecisionLog -Path $Log -Raw)
        $lines.Count | Should -Be 2
        $lines[0].Kind | Should -Be 'intent'
        $lines[1].Kind | Should -Be 'outcome'
        $lines[1].Result | Should -Be 'Approved'
        $lines[0].ApprovalId | Should -Be $alex.ApprovalId
        $lines[0].Justification | Should -BeExactly 'CAB approved'
        $lines[0].Role | Should -Be 'Exchange Administrator'
        $lines[0].Actor | Should -Not -BeNullOrEmpty
        # A token given alone: the tenant is the one that issued it (its tid).
        $lines[0].Tenant | Should -Be (Invoke-RestMethod "$($Emu.Uri)/_emulator/tenant").tenantId
        $lines[0].Rule | Should -BeNullOrEmpty
        (Get-Content -Raw $Log) | Should -Not -Match 'eyJ'
        (Get-Content -Raw $Log) | Should -Not -Match ([regex]::Escape((Get-EmulatorToken $Emu).Split('.')[0]))
    }

    It 'records a denial and a failure, with the error''s kind' {
        $patti = Get-Request 'Patti Fernandez'
        $null = $patti | Deny-PimRequest -Justification 'No ticket' -LogPath $Log -Confirm:$false @Common
        $null = $patti | Deny-PimRequest -Justification 'Again' -LogPath $Log -Confirm:$false -ErrorAction SilentlyContinue @Common
        $logged = @(Get-PimDecisionLog -Path $Log -ApprovalId $patti.ApprovalId)
        $logged.Count | Should -Be 2
        $logged[0].Result | Should -Be 'Denied'
        $logged[1].Result | Should -Be 'Failed'
        $logged[1].Error | Should -Be 'AlreadyDecided'
        @(Get-PimDecisionLog -Path $Log -Result Failed).Count | Should -Be 1
        @(Get-PimDecisionLog -Path $Log -After (Get-Date).AddMinutes(-10)).Count | Should -Be 3
        @(Get-PimDecisionLog -Path $Log -Before (Get-Date).AddDays(-1)).Count | Should -Be 0
    }

    It 'verifies' {
        $check = Test-PimDecisionLog -Path $Log
        $check.PSObject.TypeNames[0] | Should -Be 'PimBridge.DecisionLogCheck'
        $check.IsValid | Should -BeTrue
        $check.Lines | Should -Be 6
        $check.FirstBrokenLine | Should -BeNullOrEmpty
        $check.LastHash | Should -Match '^[0-9a-f]{64}$'
    }

    It 'writes to PIMBRIDGE_DECISION_LOG without -LogPath, and nothing when it is off' {
        $saved = $env:PIMBRIDGE_DECISION_LOG
        try {
            $env:PIMBRIDGE_DECISION_LOG = Join-Path $TestDrive 'from-env.jsonl'
            $null = Get-Request 'Diego Siciliani' | Approve-PimRequest -Justification 'HR ticket' -Confirm:$false @Common
            @(Get-PimDecisionLog).Count | Should -Be 1
            (Test-PimDecisionLog).IsValid | Should -BeTrue
            $env:PIMBRIDGE_DECISION_LOG = 'off'
            $d = Get-Request 'Lee Gu' | Approve-PimRequest -Justification 'Alert' -Confirm:$false @Common
            $d.Result | Should -Be 'Approved'
            @(Get-PimDecisionLog -Path (Join-Path $TestDrive 'from-env.jsonl')).Count | Should -Be 1
            { Get-PimDecisionLog -ErrorAction Stop } | Should -Throw -ErrorId 'PimBridge.LogReadFailed,Get-PimDecisionLog'
        } finally {
            $env:PIMBRIDGE_DECISION_LOG = $saved
        }
    }
}

Describe 'A log that cannot be written stops the decision before anything is sent' {
    BeforeAll { Start-Demo }
    AfterAll { Stop-Emulator $Emu }

    It 'refuses a folder as the log, and sends nothing' {
        $folder = Join-Path $TestDrive 'a-folder'
        $null = New-Item -ItemType Directory -Path $folder
        { Get-Request 'Alex Wilber' | Approve-PimRequest -Justification 'x' -LogPath $folder -Confirm:$false @Common -ErrorAction Stop } |
            Should -Throw -ErrorId 'PimBridge.LogWriteFailed,Approve-PimRequest'
        Get-EmulatorDecision $Emu | Should -HaveCount 0
    }

    It 'refuses a relative path' {
        { Get-Request 'Alex Wilber' | Deny-PimRequest -Justification 'x' -LogPath 'relative.jsonl' -Confirm:$false @Common -ErrorAction Stop } |
            Should -Throw -ErrorId 'PimBridge.InvalidInput,Deny-PimRequest'
        Get-EmulatorDecision $Emu | Should -HaveCount 0
    }

    It 'refuses a log that ends in a torn line (LogTampered), and sends nothing' {
        $torn = Join-Path $TestDrive 'torn.jsonl'
        $null = Get-Request 'Adele Vance' | Approve-PimRequest -Justification 'first' -LogPath $torn -Confirm:$false @Common
        [IO.File]::AppendAllText($torn, '{"seq":3,"kind":"int')
        $before = @(Get-EmulatorDecision $Emu).Count
        $thrown = $null
        try { Get-Request 'Alex Wilber' | Approve-PimRequest -Justification 'second' -LogPath $torn -Confirm:$false @Common -ErrorAction Stop } catch { $thrown = $_ }
        $thrown.FullyQualifiedErrorId | Should -Be 'PimBridge.LogTampered,Approve-PimRequest'
        $thrown.Exception.Message | Should -Match 'nothing was sent'
        @(Get-EmulatorDecision $Emu).Count | Should -Be $before
        $check = Test-PimDecisionLog -Path $torn
        $check.IsValid | Should -BeFalse
        $check.Reason | Should -Be 'torn'
    }

    It 'opens no log under -WhatIf' {
        $whatIf = Join-Path $TestDrive 'whatif.jsonl'
        Get-Request 'Alex Wilber' | Approve-PimRequest -Justification 'x' -LogPath $whatIf -WhatIf @Common
        $whatIf | Should -Not -Exist
    }
}

Describe 'Test-PimDecisionLog finds an edited, deleted or reordered line' {
    BeforeAll {
        Start-Demo
        $script:Log = Join-Path $TestDrive 'chain.jsonl'
        $null = $Pending | Where-Object Principal -in 'Alex Wilber', 'Diego Siciliani', 'Lee Gu' |
            Approve-PimRequest -Justification 'ok' -LogPath $Log -Confirm:$false @Common
        $script:Lines = [IO.File]::ReadAllLines($Log)
        function Write-Variant([string] $Name, [string[]] $Content) {
            $path = Join-Path $TestDrive $Name
            [IO.File]::WriteAllText($path, (($Content -join "`n") + "`n"))
            $path
        }
    }
    AfterAll { Stop-Emulator $Emu }

    It 'the untouched log verifies' {
        $Lines.Count | Should -Be 6
        (Test-PimDecisionLog -Path $Log).IsValid | Should -BeTrue
    }

    It 'finds an edited line' {
        $edited = $Lines.Clone()
        $edited[1] = $edited[1].Replace('"ok"', '"OK by the CISO"')
        $check = Test-PimDecisionLog -Path (Write-Variant 'edited.jsonl' $edited)
        $check.IsValid | Should -BeFalse
        $check.FirstBrokenLine | Should -Be 2
        $check.Reason | Should -Be 'altered'
    }

    It 'finds a deleted line' {
        $deleted = @($Lines[0], $Lines[1], $Lines[3], $Lines[4], $Lines[5])
        $check = Test-PimDecisionLog -Path (Write-Variant 'deleted.jsonl' $deleted)
        $check.IsValid | Should -BeFalse
        $check.Reason | Should -Be 'deleted or reordered'
        $check.FirstBrokenLine | Should -Be 3
    }

    It 'finds reordered lines' {
        $swapped = @($Lines[0], $Lines[2], $Lines[1], $Lines[3], $Lines[4], $Lines[5])
        $check = Test-PimDecisionLog -Path (Write-Variant 'swapped.jsonl' $swapped)
        $check.IsValid | Should -BeFalse
        $check.FirstBrokenLine | Should -Be 2
    }

    It 'says when the log cannot be read' {
        { Test-PimDecisionLog -Path (Join-Path $TestDrive 'missing.jsonl') -ErrorAction Stop } | Should -Throw -ErrorId 'PimBridge.LogReadFailed,Test-PimDecisionLog'
    }
}

Describe 'Two processes logging at once' {
    BeforeAll { Start-Demo }
    AfterAll { Set-Gate @{ open = $true }; Stop-Emulator $Emu }

    It 'gives a valid chain holding every line of both' {
        $log = Join-Path $TestDrive 'shared.jsonl'
        $ids = @($Pending | Where-Object Principal -ne 'Megan Bowen' | ForEach-Object ApprovalId)
        $ids.Count | Should -BeGreaterOrEqual 4
        $first = $ids[0..([int]($ids.Count / 2) - 1)]
        $second = $ids[([int]($ids.Count / 2))..($ids.Count - 1)]
        # The gate holds every decision, so both processes have written their intents and sent
        # before any outcome comes back; opened, both write their outcomes at once. (A batch's
        # items are worked in order, so each process has one decision at the gate at a time.)
        Set-Gate @{ after = 0 }
        $a = Start-ChildDecision -ApprovalId $first -LogPath $log -Justification 'first process'
        $b = Start-ChildDecision -ApprovalId $second -LogPath $log -Justification 'second process'
        $null = Wait-Emulator $Emu 'held=2'
        Set-Gate @{ open = $true }
        $a.WaitForExit(120000) | Should -BeTrue
        $b.WaitForExit(120000) | Should -BeTrue
        $check = Test-PimDecisionLog -Path $log
        $check.IsValid | Should -BeTrue
        $check.Lines | Should -Be (2 * $ids.Count)
        $logged = @(Get-PimDecisionLog -Path $log)
        $logged.Count | Should -Be $ids.Count
        @($logged | Where-Object Result -eq 'Approved').Count | Should -Be $ids.Count
        @($logged.ApprovalId | Sort-Object) | Should -Be @($ids | Sort-Object)
    }
}

Describe 'A process killed between intent and outcome' {
    BeforeAll { Start-Demo }
    AfterAll { Set-Gate @{ open = $true }; Stop-Emulator $Emu }

    It 'leaves an intent that Get-PimDecisionLog shows as Unknown' {
        $log = Join-Path $TestDrive 'killed.jsonl'
        $adele = Get-Request 'Adele Vance'
        Set-Gate @{ after = 0 }
        $child = Start-ChildDecision -ApprovalId $adele.ApprovalId -LogPath $log -Justification 'about to be killed'
        # Held at the gate: the intent is written and the decision is on its way.
        $null = Wait-Emulator $Emu 'held=1'
        $child.Kill($true)
        $child.WaitForExit()
        $logged = @(Get-PimDecisionLog -Path $log)
        $logged.Count | Should -Be 1
        $logged[0].ApprovalId | Should -Be $adele.ApprovalId
        $logged[0].Result | Should -Be 'Unknown'
        $logged[0].OutcomeLine | Should -BeNullOrEmpty
        @(Get-PimDecisionLog -Path $log -Result Unknown).Count | Should -Be 1
        (Test-PimDecisionLog -Path $log).IsValid | Should -BeTrue
    }
}

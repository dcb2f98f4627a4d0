# -Verbose and -Debug: each HTTP call the library makes (method, route, status, elapsed,
# request-id), each batch item and each wait with its reason; -Debug adds the headers with
# Authorization redacted; the progress bar says when it waits on a throttle. The token is known to
# these tests, and must appear nowhere in what is written. Nothing depends on timing: the throttle
# comes from the emulator's schedule.

BeforeAll {
    . "$PSScriptRoot/TestHelpers.ps1"
    Import-Module $ModulePath -Force

    function Get-Message($Records, [type] $Type) {
        @($Records | Where-Object { $_ -is $Type } | ForEach-Object Message)
    }

    function Assert-NoToken([string[]] $Lines, [string] $Raw) {
        $text = $Lines -join "`n"
        $text | Should -Not -BeLike "*$Raw*"
        # Each part of the token (the signature above all) is a secret too.
        foreach ($part in $Raw.Split('.') | Where-Object Length -GT 8) { $text.Contains($part) | Should -BeFalse }
        $text | Should -Not -Match 'Bearer'
    }

    function Invoke-ThrottledApproval($Emulator, [string] $Raw, [switch] $WithVerbose) {
        # Lists and approves every directory-role request of -Emulator on a capturing host
        # (Invoke-CaptureHost), with -Verbose only when asked; returns what Invoke-CaptureHost does.
        $switches = if ($WithVerbose) { @{ Verbose = $true } } else { @{} }
        Invoke-CaptureHost -ArgumentList $Emulator.Uri, $Raw, $switches -Script {
            param($Uri, $Raw, $Switches)
            $token = ConvertTo-SecureString $Raw -AsPlainText -Force
            Get-PimPending -GraphUri $Uri -AccessToken $token -Surface DirectoryRole |
                Approve-PimRequest -Justification 'Throttled' -Confirm:$false -GraphUri $Uri -AccessToken $token @Switches
        }
    }

    function Get-ThrottledProgress($Run) {
        # The progress records of a run that say it waits on the throttle (429, Retry-After 1).
        @($Run.Progress | Where-Object { $_.StatusDescription -match 'Throttled by the service \(HTTP 429, Retry-After 1\.0 s\): waiting 1\.0 s$' })
    }
}

Describe 'Tracing with -Verbose and -Debug' {
    BeforeAll {
        $script:Emu = Start-Emulator -Scenario demo
        $script:Raw = Get-EmulatorToken $Emu
        $script:Common = @{ GraphUri = $Emu.Uri; AccessToken = (ConvertTo-SecureString $Raw -AsPlainText -Force) }
    }
    AfterAll { Stop-Emulator $Emu }

    It 'Get-PimPending -Verbose writes each call with method, route, status, elapsed and request-id, and no token' {
        $all = @(Get-PimPending @Common -Surface DirectoryRole -Verbose 4>&1)
        @($all | Where-Object { $_.PSObject.TypeNames[0] -eq 'PimBridge.PendingRequest' }).Count | Should -BeGreaterThan 0
        $verbose = Get-Message $all ([System.Management.Automation.VerboseRecord])
        $calls = @($verbose -match '^HTTP GET /v1\.0/roleManagement/directory/.+: 200 in \d+ ms \(request-id [0-9a-fA-F-]{36}\)$')
        $calls.Count | Should -BeGreaterThan 0 -Because ($verbose -join "`n")
        Assert-NoToken $verbose $Raw
    }

    It 'Approve-PimRequest -Verbose writes the $batch call and each item with its status and request-id' {
        $request = @(Get-PimPending @Common -Surface DirectoryRole)[0]
        $all = @($request | Approve-PimRequest -Justification 'Traced' -Confirm:$false @Common -Verbose 4>&1)
        @($all | Where-Object { $_.PSObject.TypeNames[0] -eq 'PimBridge.Decision' }).Result | Should -Be 'Approved'
        $verbose = Get-Message $all ([System.Management.Automation.VerboseRecord])
        @($verbose -match '^HTTP POST /(v1\.0|beta)/\$batch: 200 in \d+ ms \(request-id [0-9a-fA-F-]{36}\)$').Count | Should -BeGreaterThan 0 -Because ($verbose -join "`n")
        @($verbose -match '^  \$batch item \d+: GET /roleManagement/\S+: 200 \(request-id [0-9a-fA-F-]{36}\)$').Count | Should -BeGreaterThan 0
        @($verbose -match '^  \$batch item \d+: PATCH /roleManagement/\S+: 2\d\d \(request-id [0-9a-fA-F-]{36}\)$').Count | Should -Be 1
        Assert-NoToken $verbose $Raw
    }

    It 'Deny-PimRequest -Verbose traces too' {
        $request = @(Get-PimPending @Common -Surface DirectoryRole)[0]
        $verbose = Get-Message @($request | Deny-PimRequest -Justification 'Traced' -Confirm:$false @Common -Verbose 4>&1) ([System.Management.Automation.VerboseRecord])
        @($verbose -match '^  \$batch item \d+: PATCH /roleManagement/\S+: 2\d\d \(request-id [0-9a-fA-F-]{36}\)$').Count | Should -Be 1
        Assert-NoToken $verbose $Raw
    }

    It '-Debug adds the headers, Authorization redacted, and never the token' {
        $all = @(Get-PimPending @Common -Surface DirectoryRole -Debug 5>&1 4>&1)
        $debug = Get-Message $all ([System.Management.Automation.DebugRecord])
        @($debug -match '^GET /v1\.0/roleManagement/.+: headers sent$').Count | Should -BeGreaterThan 0 -Because ($debug -join "`n")
        @($debug -match '^  > authorization: <redacted>$').Count | Should -BeGreaterThan 0
        @($debug -match '^  < request-id: [0-9a-fA-F-]{36}$').Count | Should -BeGreaterThan 0
        Assert-NoToken ($debug + (Get-Message $all ([System.Management.Automation.VerboseRecord]))) $Raw
    }

    It 'without -Verbose or -Debug writes no trace' {
        $all = @(Get-PimPending @Common -Surface DirectoryRole 4>&1 5>&1)
        @($all | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -or $_ -is [System.Management.Automation.DebugRecord] }) | Should -HaveCount 0
    }
}

Describe 'Tracing a throttled run' {
    BeforeAll {
        # The first decision sent is answered 429 with Retry-After: 1.
        $script:Throttled = Start-Emulator -Scenario 'bulk:3' -Extra '--fault-schedule', 'throttle@write:1'
        $script:ThrottledRaw = Get-EmulatorToken $Throttled
    }
    AfterAll { Stop-Emulator $Throttled }

    It 'writes the 429 and the wait with its reason, and the progress bar says it waits and how long' {
        $run = Invoke-ThrottledApproval $Throttled $ThrottledRaw -WithVerbose
        @($run.Output.Result | Where-Object { $_ -eq 'Approved' }) | Should -HaveCount 3
        $verbose = @($run.Verbose.Message)
        @($verbose -match '^  \$batch item \d+: PATCH /roleManagement/\S+: 429 \(request-id [^,]+, Retry-After 1\.0 s\)$').Count | Should -Be 1 -Because ($verbose -join "`n")
        $wait = 'Waiting 1\.0 s before trying again: throttled by the service \(HTTP 429, Retry-After 1\.0 s\)'
        @($verbose -match "^$wait").Count | Should -Be 1
        (Get-ThrottledProgress $run).Count | Should -BeGreaterThan 0 -Because (@($run.Progress.StatusDescription) -join "`n")
        Assert-NoToken ($verbose + @($run.Progress.StatusDescription)) $ThrottledRaw
    }
}

Describe 'A throttled run without -Verbose' {
    BeforeAll {
        $script:Quiet = Start-Emulator -Scenario 'bulk:2' -Extra '--fault-schedule', 'throttle@write:1'
        $script:QuietRaw = Get-EmulatorToken $Quiet
    }
    AfterAll { Stop-Emulator $Quiet }

    It 'still says the wait in the progress bar, and writes no trace' {
        $run = Invoke-ThrottledApproval $Quiet $QuietRaw
        @($run.Output.Result | Where-Object { $_ -eq 'Approved' }) | Should -HaveCount 2
        @($run.Verbose) | Should -HaveCount 0
        (Get-ThrottledProgress $run).Count | Should -BeGreaterThan 0 -Because (@($run.Progress.StatusDescription) -join "`n")
    }
}

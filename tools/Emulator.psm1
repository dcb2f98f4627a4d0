# pim-emulator from PowerShell: start one on a free loopback port, mint its tokens, read its
# record, and wait on its events. Shared by build.ps1 (Demo, Test, Bench, Soak) and the Pester tests.

Set-StrictMode -Version 3.0

function Get-EmulatorPath {
    # The release build of pim-emulator in this checkout.
    $root = Split-Path -Parent $PSScriptRoot
    Join-Path $root ('target/release/pim-emulator' + ($IsWindows ? '.exe' : ''))
}

function Start-Emulator {
    # Starts pim-emulator and returns { Process; Uri; Log } once it prints where it listens.
    [CmdletBinding()]
    param(
        [string] $Scenario = 'demo',
        [string[]] $Extra = @(),
        [string] $Path = (Get-EmulatorPath)
    )
    $log = New-TemporaryFile
    $errors = New-TemporaryFile
    $arguments = @('--listen', '127.0.0.1:0', '--scenario', $Scenario) + $Extra
    $process = Start-Process -FilePath $Path -ArgumentList $arguments -PassThru -NoNewWindow `
        -RedirectStandardOutput $log.FullName -RedirectStandardError $errors.FullName
    # Waits for its first line; the bound only tells a hang from a start.
    $deadline = [datetime]::UtcNow.AddSeconds(60)
    while ([datetime]::UtcNow -lt $deadline) {
        $first = Get-Content -Path $log.FullName -TotalCount 1 -ErrorAction Ignore
        if ($first -match '^listening (\S+)') {
            return [pscustomobject]@{ Process = $process; Uri = $Matches[1]; Log = $log.FullName; ErrorLog = $errors.FullName }
        }
        if ($process.HasExited) { break }
        Start-Sleep -Milliseconds 25
    }
    $why = Get-Content -Raw -Path $errors.FullName -ErrorAction Ignore
    Remove-Item -Force -ErrorAction Ignore $log.FullName, $errors.FullName
    throw "pim-emulator did not start ($Path $($arguments -join ' ')): $why"
}

function Stop-Emulator {
    param($Emulator)
    if (-not $Emulator) { return }
    if (-not $Emulator.Process.HasExited) { $Emulator.Process.Kill(); $Emulator.Process.WaitForExit() }
    Remove-Item -Force -ErrorAction Ignore $Emulator.Log, $Emulator.ErrorLog
}

function Get-EmulatorToken {
    # A token the emulator minted: the default approver's for Graph unless the body says otherwise
    # (user, scopes, audience = 'arm', expiresIn, appOnly).
    param([Parameter(Mandatory)] $Emulator, [hashtable] $Body = @{})
    $answer = Invoke-RestMethod -Method Post -Uri "$($Emulator.Uri)/_emulator/token" -Body ($Body | ConvertTo-Json) -ContentType 'application/json'
    $answer.access_token
}

function Get-EmulatorDecision {
    # Every decision the emulator applied, in order.
    param([Parameter(Mandatory)] $Emulator)
    @((Invoke-RestMethod -Uri "$($Emulator.Uri)/_emulator/decisions").value)
}

function Get-EmulatorCallCount {
    # Requests answered on the routes like $Like.
    param([Parameter(Mandatory)] $Emulator, [string] $Like = '*')
    # Nothing ($null) when no such route was called.
    $stats = Invoke-RestMethod -Uri "$($Emulator.Uri)/_emulator/stats"
    $matched = @($stats.routes | Where-Object route -like $Like)
    if ($matched.Count) { ($matched | Measure-Object -Property count -Sum).Sum }
}

function Wait-Emulator {
    # Waits on the emulator's events until the goal holds ('held=1', 'decisions=20', 'heldMax=0',
    # joined with '&'). The bound only stops a hang: reaching it throws, with the counters.
    param([Parameter(Mandatory)] $Emulator, [Parameter(Mandatory)] [string] $Goal, [int] $TimeoutSeconds = 120)
    $uri = "$($Emulator.Uri)/_emulator/wait?$Goal&timeoutMs=$($TimeoutSeconds * 1000)"
    $answer = Invoke-RestMethod -Uri $uri -SkipHttpErrorCheck -StatusCodeVariable status
    if ($status -ne 200) { throw "pim-emulator did not reach '$Goal' within $TimeoutSeconds s: $($answer | ConvertTo-Json -Compress)" }
    $answer
}

Export-ModuleMember -Function Get-EmulatorPath, Start-Emulator, Stop-Emulator, Get-EmulatorToken,
    Get-EmulatorDecision, Get-EmulatorCallCount, Wait-Emulator

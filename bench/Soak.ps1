#Requires -Version 7.4
<#
.SYNOPSIS
The soak run behind `pwsh ./build.ps1 -Task Soak`: 1,000 decisions through injected faults at
random (a seeded generator), and Ctrl+C in the middle of 1,000; writes docs/reliability.md.
#>
[CmdletBinding()]
param(
    # The built module (out/PimBridge).
    [Parameter(Mandatory)] [string] $ModuleOut
)
Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$Root = Split-Path -Parent $PSScriptRoot
Import-Module (Join-Path $Root 'tools/Emulator.psm1') -Force

function Write-Step([string] $Message) { Write-Host "==> $Message" -ForegroundColor Cyan }

function Get-CrateVersion {
    (Select-String -Path (Join-Path $Root 'Cargo.toml') -Pattern '^version\s*=\s*"([^"]+)"' | Select-Object -First 1).Matches[0].Groups[1].Value
}

function Invoke-Soak {
    # The fault suite at full size: 1,000 approvals through 20% 503s, 20% 429s (Retry-After in
    # seconds, fractional seconds and HTTP dates) and 5% of decisions whose answer is lost after
    # they were applied. The test suite runs the same at 200 (tests/faults.rs).
    Import-Module $ModuleOut -Force
    $n = 1000
    # Faults at random, from a seed that the report names: rerun with it to replay the run.
    $seed = Get-Random -Minimum 1 -Maximum ([int]::MaxValue)
    $flags = @('--fail-rate', '0.2', '--throttle-rate', '0.2', '--lost-response-rate', '0.05', '--fault-seed', "$seed")
    $emulator = Start-Emulator -Scenario "bulk:$n" -Extra $flags
    try {
        $common = @{ GraphUri = $emulator.Uri; AccessToken = (ConvertTo-SecureString (Get-EmulatorToken $emulator) -AsPlainText -Force) }
        Write-Step "Get-PimPending | Approve-PimRequest, $n requests, pim-emulator $($flags -join ' ')"
        $watch = [System.Diagnostics.Stopwatch]::StartNew()
        $listed = @(Get-PimPending @common -Surface DirectoryRole)
        $results = @($listed | Approve-PimRequest -Justification 'Soak' -Confirm:$false -ErrorAction SilentlyContinue @common)
        $watch.Stop()
        $recorded = @((Invoke-RestMethod -Uri "$($emulator.Uri)/_emulator/decisions").value)
        $stats = Invoke-RestMethod -Uri "$($emulator.Uri)/_emulator/stats"
    } finally {
        Stop-Emulator $emulator
    }
    # Cancellation: stop a 1,000-decision pipeline in the middle, time how long the stop takes, and
    # check that no decision starts after it.
    $slow = Start-Emulator -Scenario "bulk:$n" -Extra @('--latency-ms', '20')
    try {
        $ps = [powershell]::Create()
        $null = $ps.AddScript({
            param($ModulePath, $Uri, $TokenText)
            Import-Module $ModulePath
            $token = ConvertTo-SecureString $TokenText -AsPlainText -Force
            Get-PimPending -GraphUri $Uri -AccessToken $token -Surface DirectoryRole -PageSize 999 |
                Approve-PimRequest -Justification 'stop me' -Confirm:$false -GraphUri $Uri -AccessToken $token
        }).AddArgument($ModuleOut).AddArgument($slow.Uri).AddArgument((Get-EmulatorToken $slow))
        $handle = $ps.BeginInvoke()
        $null = Wait-Emulator $slow 'decisions=100'
        $stopWatch = [System.Diagnostics.Stopwatch]::StartNew()
        $ps.Stop()
        $stopWatch.Stop()
        $atStop = @((Invoke-RestMethod -Uri "$($slow.Uri)/_emulator/decisions").value).Count
        Start-Sleep -Seconds 2
        $afterStop = @((Invoke-RestMethod -Uri "$($slow.Uri)/_emulator/decisions").value).Count
        $ps.Dispose()
    } finally {
        Stop-Emulator $slow
    }
    $approved = @($results | Where-Object Result -eq 'Approved')
    $distinct = @($recorded.approvalId | Sort-Object -Unique).Count
    $reportedIds = @($approved.ApprovalId | Sort-Object)
    $recordedIds = @($recorded.approvalId | Sort-Object)
    $wrong = @(Compare-Object $reportedIds $recordedIds).Count
    $count = { param($status) ($stats.routes | Where-Object status -eq $status | Measure-Object count -Sum).Sum }
    $figures = [ordered]@{
        'requests listed' = $listed.Count
        'reported Approved' = $approved.Count
        'reported Failed' = @($results | Where-Object Result -eq 'Failed').Count
        'decisions the service recorded' = $recorded.Count
        'distinct requests among them' = $distinct
        'reported differently from what was recorded' = $wrong
        'answers that were 503' = & $count 503
        'answers that were 429' = & $count 429
        'HTTP requests' = $stats.httpRequests
        'wall time' = '{0:N1} s' -f $watch.Elapsed.TotalSeconds
    }
    $stopFigures = [ordered]@{
        'decisions made when Stop() was called' = $atStop
        'time for Stop() to return' = '{0:N0} ms' -f $stopWatch.Elapsed.TotalMilliseconds
        'decisions recorded 2 s later (those already on the wire may land)' = $afterStop
    }
    $ok = $listed.Count -eq $n -and $approved.Count -eq $n -and $recorded.Count -eq $n -and $distinct -eq $n -and $wrong -eq 0
    $table = ($figures.GetEnumerator() | ForEach-Object { "| $($_.Key) | $($_.Value) |" }) -join "`n"
    $stopTable = ($stopFigures.GetEnumerator() | ForEach-Object { "| $($_.Key) | $($_.Value) |" }) -join "`n"
    $doc = @"
# Reliability

Figures measured by ``pwsh ./build.ps1 -Task Soak`` on $((Get-Date).ToUniversalTime().ToString('yyyy-MM-dd HH:mm')) UTC
(PimBridge $(Get-CrateVersion), PowerShell $($PSVersionTable.PSVersion), $([System.Runtime.InteropServices.RuntimeInformation]::OSDescription)).

## Faults: $n approvals through an unreliable service

``pim-emulator --scenario bulk:$n $($flags -join ' ')``: a fifth of all calls answered 503, a fifth
429 with ``Retry-After`` (in turn ``1``, ``0.25`` and an HTTP date), and one decision in twenty applied
and then left unanswered (the connection dropped, which in a batch loses the answer for all its
items). Then ``Get-PimPending | Approve-PimRequest -Confirm:`$false``.

| figure | value |
| --- | ---: |
$table

Verdict: **$(if ($ok) { "all $n decided, each exactly once, none reported wrongly" } else { 'FAILED: see the figures' })**.

How: a decision whose answer is unknown (lost connection, timeout, 5xx, 429) is never sent again
blindly: its approval is read again first, and if our decision is there it is reported as made.
Only the items that failed are retried, after their own ``Retry-After``. The test suite runs the
same mix at 200 approvals on every build (``tests/faults.rs``), and a run where every answer is lost.

## Cancellation: Ctrl+C in the middle of $n decisions

``PowerShell.Stop()`` (what Ctrl+C does) on ``Get-PimPending | Approve-PimRequest`` with $n requests
pending and 20 ms latency, once 100 were decided:

| figure | value |
| --- | ---: |
$stopTable

The stop cancels the native operation: no batch starts after it; a batch already sent may still be
applied (at most 8 batches of 20 are in flight).

## Covered by ``pwsh ./build.ps1 -Task Test`` on every build

- Bad input at the C ABI (NULL pointers, invalid UTF-8, 1 MB strings, malformed JSON and options,
  wrong-kind, freed and foreign handles, cancel twice, free after cancel): ``tests/ffi.rs`` and the C
  program ``tests/c/pim_test.c``.
- Memory safety: the C program runs plainly, built with ``-fsanitize=address`` (the build checks that
  ASan really is linked) and under valgrind (``--leak-check=full --error-exitcode=1``, definite and
  possible leaks counted as errors): 0 errors. Property tests throw random JSON shapes and random
  text at every parser (``tests/parsers_prop.rs``, 512 cases each): no panic. A panic forced inside an
  export comes back as ``PIM_RESULT_PANIC`` and the process lives (``tests/ffi.rs``).
- Faults at 200 approvals (20% 503, 20% 429, 5% lost answers), a run where every answer is lost,
  and a run with connections reset before anything is done and answers slower than the client's
  timeout (the work done): each decided exactly once, none reported wrongly (``tests/faults.rs``,
  ``tests/pester/Decide.Tests.ps1``). The emulator injects each fault on demand
  (``emulator/tests/routes.rs``).
- Bad input at the cmdlets (path-like ids, quotes, new lines and non-ASCII text byte for byte, a
  1 MB justification, ``$null``, an empty pipeline): ``tests/pester/Decide.Tests.ps1``.
- Token expiry: a ``Connect-MgGraph`` token the service refuses in the middle of a run (401) is read
  again once and only the refused requests are sent again; all decided once
  (``tests/pester/Token.Tests.ps1``). An expired ``-AccessToken`` fails at once with
  ``PimBridge.TokenExpired``, nothing sent.
- Token hygiene: every command with ``-Verbose -Debug`` inside a transcript, with forced errors; the
  token and each of its three parts appear nowhere (``tests/pester/Token.Tests.ps1``); ``Debug`` of a
  token is redacted (``src/token.rs``).
- Concurrency: eight runspaces (``ForEach-Object -Parallel``), each with its own token and emulator,
  list and decide at once; each emulator receives exactly its own 30 decisions
  (``tests/pester/Concurrency.Tests.ps1``).
- Stopping: ``PowerShell.Stop()`` in the middle of 1,000 decisions stops the native work; no new
  decision is started after the stop (``tests/pester/Decide.Tests.ps1``).
- Outage: the emulator killed in the middle of 600 decisions: the run ends with every request
  accounted for, the rest reported as ``PimBridge.Unreachable`` or ``PimBridge.ConnectionLost``
  (``tests/pester/Concurrency.Tests.ps1``). An endpoint that does not answer at all fails after
  three attempts, not after the whole retry budget.

- Trust and redirects: an https emulator whose certificate is signed by a CA made at start is refused
  at the handshake (nothing sent) until the CA is trusted through the system trust store
  (``SSL_CERT_FILE``), then works; a redirect from https to http is refused, and a redirect to another
  host arrives there without the token (``tests/tls.rs``, ``tests/redirects.rs``).

Known limit: a batch whose connection fails is retried whole; with per-call fault rates of a few
percent most batches of 20 are hit, so such runs take more rounds (splitting a failing batch would
isolate the faulty item).
"@
    Set-Content -Path (Join-Path $Root 'docs/reliability.md') -Value $doc
    @($figures.GetEnumerator()) + @($stopFigures.GetEnumerator()) | ForEach-Object { Write-Host ('   {0,-48} {1}' -f $_.Key, $_.Value) }
    Write-Step "Wrote docs/reliability.md ($(if ($ok) { 'passed' } else { 'FAILED' }))"
    if (-not $ok) { throw 'The soak run did not decide every request exactly once.' }
}

Invoke-Soak

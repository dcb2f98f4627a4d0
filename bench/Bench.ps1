#Requires -Version 7.4
<#
.SYNOPSIS
The benchmarks behind `pwsh ./build.ps1 -Task Bench`: the article's approach, the same in parallel,
and PimBridge, side by side in one run against pim-emulator; writes docs/benchmarks.md.
#>
[CmdletBinding()]
param(
    # The built module (out/PimBridge) and a pwsh to start fresh processes with.
    [Parameter(Mandatory)] [string] $ModuleOut,
    [Parameter(Mandatory)] [string] $Pwsh,
    # Runs of each approach (the median is reported) and request counts.
    [ValidateRange(1, 20)] [int] $BenchRuns = 3,
    [int[]] $BenchSizes = @(200, 1000)
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

function Get-Median([double[]] $Values) {
    $sorted = @($Values | Sort-Object)
    $n = $sorted.Count
    if ($n % 2) { $sorted[($n - 1) / 2] } else { ($sorted[$n / 2 - 1] + $sorted[$n / 2]) / 2 }
}

function Measure-Approach {
    # Runs one approach $BenchRuns times against a fresh emulator each time and reports the median
    # wall time, the HTTP requests made and whether every request was decided exactly once.
    param([string] $Name, [int] $N, [int] $LatencyMs, [scriptblock] $Run)
    $times = @()
    $requests = @()
    $exact = $true
    for ($i = 1; $i -le $BenchRuns; $i++) {
        $emulator = Start-Emulator -Scenario "bulk:$N" -Extra @('--latency-ms', "$LatencyMs")
        try {
            $token = Get-EmulatorToken $emulator
            $watch = [System.Diagnostics.Stopwatch]::StartNew()
            & $Run $emulator.Uri $token
            $watch.Stop()
            $times += $watch.Elapsed.TotalSeconds
            $stats = Invoke-RestMethod -Uri "$($emulator.Uri)/_emulator/stats"
            $requests += $stats.httpRequests
            $decisions = @((Invoke-RestMethod -Uri "$($emulator.Uri)/_emulator/decisions").value)
            $unique = @($decisions.approvalId | Sort-Object -Unique).Count
            if ($decisions.Count -ne $N -or $unique -ne $N) { $exact = $false }
            Write-Host ('   {0,-34} N={1,-5} run {2}: {3,8:N2} s, {4,5} HTTP requests, {5} decided ({6} distinct)' -f $Name, $N, $i, $watch.Elapsed.TotalSeconds, $stats.httpRequests, $decisions.Count, $unique)
        } finally {
            Stop-Emulator $emulator
        }
    }
    [pscustomobject]@{ Name = $Name; N = $N; Seconds = (Get-Median $times); Requests = (Get-Median $requests); ExactlyOnce = $exact }
}

function Invoke-Bench {
    Import-Module $ModuleOut -Force
    $latency = 50
    $concurrency = 8
    $article = Join-Path $Root 'bench/Article.ps1'
    $parallel = Join-Path $Root 'bench/ArticleParallel.ps1'
    $rows = foreach ($n in $BenchSizes) {
        Write-Step "N = $n pending directory-role requests, --latency-ms $latency"
        $a = Measure-Approach '(a) article, one after another' $n $latency { param($uri, $token) & $article -GraphUri $uri -Token $token }
        $b = Measure-Approach '(b) article, -Parallel -ThrottleLimit 5' $n $latency { param($uri, $token) & $parallel -GraphUri $uri -Token $token }
        $c = Measure-Approach '(c) Get-PimPending | Approve-PimRequest' $n $latency {
            param($uri, $token)
            $common = @{ GraphUri = $uri; AccessToken = (ConvertTo-SecureString $token -AsPlainText -Force) }
            $null = Get-PimPending @common -Surface DirectoryRole | Approve-PimRequest -Justification 'Change window' -Confirm:$false @common
        }
        # The floor: the sequential round trips the work cannot avoid at this concurrency: the
        # list pages one after another (50 a page), then per wave of $concurrency batches of 20 one
        # batch to read the approvals and one to send the decisions.
        $floorTrips = [math]::Ceiling($n / 50) + 2 * [math]::Ceiling([math]::Ceiling($n / 20) / $concurrency)
        [pscustomobject]@{
            N = $n; A = $a; B = $b; C = $c
            FloorSeconds = $floorTrips * $latency / 1000; FloorTrips = $floorTrips
        }
    }

    Write-Step 'Import-Module time, memory, and the cost of a native call'
    $pwshArgs = @('-NoProfile', '-NonInteractive', '-Command')
    # For scale, the same for a script module holding one empty function: what any module costs.
    $empty = Join-Path ([IO.Path]::GetTempPath()) "pimbridge-empty-$PID"
    New-Item -ItemType Directory -Force -Path $empty | Out-Null
    Set-Content -Path (Join-Path $empty 'Empty.psm1') -Value 'function Get-Nothing { }'
    $bare = @(); $import = @(); $emptyImport = @()
    foreach ($i in 1..10) {
        # Interleaved, so that drift in the machine's load touches all three alike.
        $bare += (Measure-Command { & $Pwsh @pwshArgs 'exit' }).TotalMilliseconds
        $emptyImport += (Measure-Command { & $Pwsh @pwshArgs "Import-Module '$empty/Empty.psm1'" }).TotalMilliseconds
        $import += (Measure-Command { & $Pwsh @pwshArgs "Import-Module '$ModuleOut'" }).TotalMilliseconds
    }
    Remove-Item -Recurse -Force $empty
    $importCost = (Get-Median $import) - (Get-Median $bare)
    $emptyCost = (Get-Median $emptyImport) - (Get-Median $bare)
    $inProcess = & $Pwsh @pwshArgs "(Measure-Command { Import-Module '$ModuleOut' }).TotalMilliseconds" | Select-Object -Last 1
    $big = Start-Emulator -Scenario 'bulk:10000'
    try {
        $probe = @"
`$bare = [System.Diagnostics.Process]::GetCurrentProcess().WorkingSet64
`$managed0 = [GC]::GetTotalMemory(`$true)
Import-Module '$ModuleOut'
`$imported = [System.Diagnostics.Process]::GetCurrentProcess().WorkingSet64
`$token = ConvertTo-SecureString '$(Get-EmulatorToken $big)' -AsPlainText -Force
`$all = @(Get-PimPending -GraphUri '$($big.Uri)' -AccessToken `$token -Surface DirectoryRole)
`$process = [System.Diagnostics.Process]::GetCurrentProcess(); `$process.Refresh()
`$listed = `$process.WorkingSet64
`$retained = [GC]::GetTotalMemory(`$true)
`$process.Refresh()
`$collected = `$process.WorkingSet64
`$null = [PimBridge.Interop.PimNative]::Version
`$watch = [System.Diagnostics.Stopwatch]::StartNew()
for (`$i = 0; `$i -lt 100000; `$i++) { `$null = [PimBridge.Interop.PimNative]::Version }
`$watch.Stop()
'{0} {1} {2} {3} {4} {5} {6}' -f `$bare, `$imported, `$listed, `$all.Count, (`$watch.Elapsed.TotalMilliseconds * 1000 / 100000), `$collected, (`$retained - `$managed0)
"@
        $bareWs, $importWs, $listedWs, $listedCount, $callMicros, $collectedWs, $retainedBytes = (& $Pwsh @pwshArgs $probe | Select-Object -Last 1).Split(' ')
    } finally {
        Stop-Emulator $big
    }
    $mb = { param($bytes) [math]::Round([double]$bytes / 1MB, 1) }

    $lines = [System.Collections.Generic.List[string]]::new()
    $lines.Add('| N | approach | median wall time | HTTP requests | decided exactly once | vs (c) |')
    $lines.Add('| ---: | --- | ---: | ---: | --- | ---: |')
    foreach ($r in $rows) {
        foreach ($x in $r.A, $r.B, $r.C) {
            $ratio = if ($x -eq $r.C) { '1' } else { '{0:N1}x' -f ($x.Seconds / $r.C.Seconds) }
            $lines.Add(('| {0} | {1} | {2:N2} s | {3} | {4} | {5} |' -f $r.N, $x.Name, $x.Seconds, $x.Requests, $(if ($x.ExactlyOnce) { 'yes' } else { 'NO' }), $ratio))
        }
        $lines.Add(('| {0} | floor: {1} sequential round trips x {2} ms | {3:N2} s | | | (c) = {4:N1}x the floor |' -f $r.N, $r.FloorTrips, $latency, $r.FloorSeconds, ($r.C.Seconds / $r.FloorSeconds)))
    }
    $machine = @(
        "- CPU: $((Get-Content /proc/cpuinfo -ErrorAction Ignore | Select-String '^model name' | Select-Object -First 1) -replace '^model name\s*:\s*', '') ($([Environment]::ProcessorCount) cores)"
        "- Memory: $([math]::Round(((Get-Content /proc/meminfo -ErrorAction Ignore | Select-Object -First 1) -replace '\D', '') / 1MB, 1)) GiB; OS: $([System.Runtime.InteropServices.RuntimeInformation]::OSDescription)"
        "- PowerShell $($PSVersionTable.PSVersion); $(& rustc --version); PimBridge $(Get-CrateVersion) (release build)"
        "- Date: $((Get-Date).ToUniversalTime().ToString('yyyy-MM-dd HH:mm')) UTC"
    )
    $doc = @"
# Benchmarks

Measured by ``pwsh ./build.ps1 -Task Bench`` on one machine, all approaches side by side in one run,
against ``pim-emulator --scenario bulk:N --latency-ms $latency`` (a fresh emulator for every run, so
every run decides N pending directory-role requests). Wall times are medians of $BenchRuns runs.

- **(a)** the approach of the article PimBridge grew from (``bench/Article.ps1``): ``Invoke-RestMethod``
  lists the pending requests, then for each one GETs its approval and PATCHes the in-progress step,
  one after another.
- **(b)** the same with ``ForEach-Object -Parallel -ThrottleLimit 5`` (``bench/ArticleParallel.ps1``).
- **(c)** ``Get-PimPending -Surface DirectoryRole | Approve-PimRequest -Justification ... -Confirm:`$false``
  (the module already imported; its import is measured below). It reads approvals and sends
  decisions in Graph JSON batches of 20, $concurrency batches in flight.

"Decided exactly once" reads the emulator's record: N decisions, N distinct requests.

$($lines -join "`n")

| measure | value |
| --- | ---: |
| ``Import-Module PimBridge`` in a new pwsh, minus a bare pwsh start (median of 10) | $([math]::Round($importCost)) ms |
| for scale: ``Import-Module`` of a script module with one empty function, minus a bare start | $([math]::Round($emptyCost)) ms |
| ``Import-Module PimBridge`` timed inside a running pwsh (``Measure-Command``) | $([math]::Round([double]$inProcess)) ms |
| bare pwsh start (median of 10; pwsh installed as a .NET tool) | $([math]::Round((Get-Median $bare))) ms |
| working set of a bare pwsh | $(& $mb $bareWs) MB |
| working set after ``Import-Module`` | $(& $mb $importWs) MB (+$(& $mb ($importWs - $bareWs)) MB) |
| working set after listing $listedCount requests (objects kept in a variable) | $(& $mb $listedWs) MB (+$(& $mb ($listedWs - $bareWs)) MB) |
| the same after a full garbage collection (the runtime keeps most of its grown heap) | $(& $mb $collectedWs) MB (+$(& $mb ($collectedWs - $bareWs)) MB) |
| managed memory the listing really keeps (``[GC]::GetTotalMemory(`$true)`` after minus before) | $(& $mb $retainedBytes) MB |
| one trivial native call from PowerShell (``[PimBridge.Interop.PimNative]::Version``, mean of 100,000) | $([math]::Round([double]$callMicros, 2)) µs |

## The machine

$($machine -join "`n")

## Rerun

``````powershell
pwsh ./build.ps1 -Task Bench                                  # N = 200 and 1000, 3 runs each
pwsh ./build.ps1 -Task Bench -BenchSizes 200 -BenchRuns 5      # other sizes and run counts
``````

The emulator adds the latency to every HTTP request (a batch is one request). The floor counts the
round trips that cannot overlap: the list pages one after another, then, for each wave of
$concurrency concurrent batches, one batch reading approvals and one sending decisions.
"@
    New-Item -ItemType Directory -Force -Path (Join-Path $Root 'docs') | Out-Null
    Set-Content -Path (Join-Path $Root 'docs/benchmarks.md') -Value $doc
    Write-Host ''
    $lines | ForEach-Object { Write-Host $_ }
    Write-Host ''
    Write-Host "Import-Module: +$([math]::Round($importCost)) ms (an empty module: +$([math]::Round($emptyCost)) ms; in process: $([math]::Round([double]$inProcess)) ms); working set after listing $listedCount`: +$(& $mb ($listedWs - $bareWs)) MB over a bare pwsh (+$(& $mb ($collectedWs - $bareWs)) MB after a GC); native call: $([math]::Round([double]$callMicros, 2)) µs"
    Write-Step 'Wrote docs/benchmarks.md'
}

Invoke-Bench

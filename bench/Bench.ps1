#Requires -Version 7.4
<#
.SYNOPSIS
The benchmarks behind `pwsh ./build.ps1 -Task Bench`: PimBridge against the network's floor and
against the article's approach, side by side in one run; writes docs/benchmarks.md.

.DESCRIPTION
Against `pim-emulator --scenario bulk:N --latency-ms 50` (a fresh emulator for every run):

- the article's approach (bench/Article.ps1, one request after another) and its parallel variant
  (bench/ArticleParallel.ps1), at the smallest N;
- PimBridge cold: a fresh pwsh, `Import-Module`, the token and `Get-PimPending | Approve-PimRequest`
  (no -Surface), timed from inside the new process (its start excluded);
- PimBridge warm: the same again in that process, against a second emulator;
- the true floor: the list pages one after another (as many as the emulator served), then one round
  trip to read every approval and one to send every decision, all in flight at once.

Then, with no latency: listing 10,000 requests (time, working set, managed memory kept), the cost of
`Import-Module` over a bare pwsh start (paired, interleaved runs), and the fixed cost of the first
native call in a process (its first listing minus the same listing again), with the number of methods
pwsh compiles for each (which the machine's load does not change). -StartOnly measures only these two
and writes nothing:

  pwsh bench/Bench.ps1 -ModuleOut out/PimBridge -StartOnly
#>
[CmdletBinding()]
param(
    # The built module (out/PimBridge) and a pwsh to start fresh processes with (the first on PATH).
    [Parameter(Mandatory)] [string] $ModuleOut,
    [string] $Pwsh = (Get-Command pwsh -CommandType Application -ErrorAction Ignore | Select-Object -First 1).Source,
    # Runs of each measure (the median is reported) and request counts.
    [ValidateRange(1, 20)] [int] $BenchRuns = 3,
    [int[]] $BenchSizes = @(200, 1000, 5000),
    # Only the start figures (Import-Module and the first native call), printed; nothing written.
    [switch] $StartOnly
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$Root = Split-Path -Parent $PSScriptRoot
$ModuleOut = (Resolve-Path -LiteralPath $ModuleOut).Path
Import-Module (Join-Path $Root 'tools/Emulator.psm1') -Force

$Latency = 50
$PwshArgs = @('-NoProfile', '-NonInteractive', '-Command')

function Write-Step([string] $Message) { Write-Host "==> $Message" -ForegroundColor Cyan }

function Get-Median([double[]] $Values) {
    $sorted = @($Values | Sort-Object)
    $n = $sorted.Count
    if ($n % 2) { $sorted[($n - 1) / 2] } else { ($sorted[$n / 2 - 1] + $sorted[$n / 2]) / 2 }
}

function Test-ExactlyOnce($Emulator, [int] $N) {
    $decisions = @(Get-EmulatorDecision $Emulator)
    $decisions.Count -eq $N -and @($decisions.approvalId | Sort-Object -Unique).Count -eq $N
}

function Get-PwshBuildNote {
    # What the start figures depend on most: whether pwsh's own assemblies are precompiled
    # (ReadyToRun; the dotnet tool's are not, and every first use is then compiled by the JIT), and
    # whether its telemetry (sent on start and on each Import-Module) is on.
    $sma = [psobject].Assembly.Location
    $stream = [IO.File]::OpenRead($sma)
    try {
        $reader = [System.Reflection.PortableExecutable.PEReader]::new($stream)
        $r2r = $reader.PEHeaders.CorHeader.ManagedNativeHeaderDirectory.Size -gt 0
        $reader.Dispose()
    } finally {
        $stream.Dispose()
    }
    $telemetry = if ($env:POWERSHELL_TELEMETRY_OPTOUT -in '1', 'true', 'yes') { 'off' } else { 'on' }
    '{0}, telemetry {1}' -f $(if ($r2r) { 'precompiled (ReadyToRun)' } else { 'not precompiled: JIT only' }), $telemetry
}

function Get-ListPages($Emulator) {
    # The list pages the emulator served (the sequential part of the floor).
    [int](Get-EmulatorCallCount $Emulator '*filterByCurrentUser*')
}

function Measure-Article([int] $N, [string] $Script) {
    # One run of an article script against a fresh emulator: seconds and whether exactly once.
    $emulator = Start-Emulator -Scenario "bulk:$N" -Extra @('--latency-ms', "$Latency")
    try {
        $token = Get-EmulatorToken $emulator
        $watch = [System.Diagnostics.Stopwatch]::StartNew()
        & $Script -GraphUri $emulator.Uri -Token $token
        [pscustomobject]@{ Seconds = $watch.Elapsed.TotalSeconds; ExactlyOnce = (Test-ExactlyOnce $emulator $N) }
    } finally {
        Stop-Emulator $emulator
    }
}

function Measure-PimBridge([int] $N) {
    # One cold and one warm run in a fresh pwsh, each against its own fresh emulator.
    $cold = Start-Emulator -Scenario "bulk:$N" -Extra @('--latency-ms', "$Latency")
    $warm = Start-Emulator -Scenario "bulk:$N" -Extra @('--latency-ms', "$Latency")
    try {
        $probe = @'
param($ModuleOut, $ColdUri, $ColdToken, $WarmUri, $WarmToken)
$watch = [System.Diagnostics.Stopwatch]::StartNew()
Import-Module $ModuleOut
$run = {
    param($Uri, $Text)
    $common = @{ GraphUri = $Uri; AccessToken = (ConvertTo-SecureString $Text -AsPlainText -Force) }
    $null = Get-PimPending @common | Approve-PimRequest -Justification 'Bench' -Confirm:$false @common
}
& $run $ColdUri $ColdToken
$cold = $watch.Elapsed.TotalSeconds
$watch.Restart()
& $run $WarmUri $WarmToken
'{0} {1}' -f $cold, $watch.Elapsed.TotalSeconds
'@
        $script = "& { $probe } '$ModuleOut' '$($cold.Uri)' '$(Get-EmulatorToken $cold)' '$($warm.Uri)' '$(Get-EmulatorToken $warm)'"
        $coldSeconds, $warmSeconds = (& $Pwsh @PwshArgs $script | Select-Object -Last 1).Split(' ')
        $pages = Get-ListPages $cold
        [pscustomobject]@{
            Cold = [double]$coldSeconds; Warm = [double]$warmSeconds
            ExactlyOnce = (Test-ExactlyOnce $cold $N) -and (Test-ExactlyOnce $warm $N)
            FloorSeconds = ($pages + 2) * $Latency / 1000; Pages = $pages
            Requests = (Invoke-RestMethod "$($cold.Uri)/_emulator/stats").httpRequests
        }
    } finally {
        Stop-Emulator $cold
        Stop-Emulator $warm
    }
}

function Invoke-PwshStart {
    # Runs a fresh pwsh on -Command; its wall milliseconds, start to exit, and its last line of
    # output. -Cache: the pwsh cache folder it uses (XDG_CACHE_HOME; not on Windows). pwsh replays
    # the JIT profile its last run left there on a second core while it starts, so a cache shared
    # with the rest of the machine measures whatever pwsh ran last (a build's Add-Type, say): each
    # kind of run gets its own, and so measures itself run again.
    param([Parameter(Mandatory)] [string] $Command, [string] $Cache)
    $saved = $env:XDG_CACHE_HOME
    if ($Cache -and -not $IsWindows) { $env:XDG_CACHE_HOME = $Cache }
    try {
        $watch = [System.Diagnostics.Stopwatch]::StartNew()
        $output = & $Pwsh @PwshArgs $Command
        $ms = $watch.Elapsed.TotalMilliseconds
        if ($LASTEXITCODE -ne 0) { throw "pwsh failed ($LASTEXITCODE) on: $Command`n$($output -join "`n")" }
        [pscustomobject]@{ Ms = $ms; Last = [string]($output | Select-Object -Last 1) }
    } finally {
        $env:XDG_CACHE_HOME = $saved
    }
}

function Measure-Start {
    # The issue's two start figures, from fresh pwsh processes:
    # - Import-Module over a bare pwsh start: pairs of runs, interleaved (bare, then with the import),
    #   the median of the pairs' differences, after one unmeasured pair;
    # - the first native call's fixed cost: a fresh pwsh's first listing of 5 requests minus the
    #   same listing again at once (Stopwatch, no Measure-Command: that would load
    #   Microsoft.PowerShell.Utility before the first call, and hide it if the call loaded it).
    # And what does not depend on the machine's load: the methods pwsh compiles (JIT) for the
    # import and for the first listing, in a pwsh with no JIT profile to replay.
    param([int] $Pairs = 15, [int] $FirstCalls = [Math]::Max(5, $BenchRuns))
    $work = Join-Path ([IO.Path]::GetTempPath()) "pimbridge-bench-start-$PID"
    $caches = @{}
    foreach ($kind in 'bare', 'import', 'first', 'cold') {
        $caches[$kind] = Join-Path $work $kind
        New-Item -ItemType Directory -Force -Path $caches[$kind] | Out-Null
    }
    try {
        $bare = [System.Collections.Generic.List[double]]::new()
        $import = [System.Collections.Generic.List[double]]::new()
        $importCommand = "Import-Module '$ModuleOut'"
        for ($i = 0; $i -le $Pairs; $i++) {
            $b = (Invoke-PwshStart -Command 'exit' -Cache $caches.bare).Ms
            $m = (Invoke-PwshStart -Command $importCommand -Cache $caches.import).Ms
            if ($i -gt 0) { $bare.Add($b); $import.Add($m) }
        }
        $differences = @(for ($i = 0; $i -lt $bare.Count; $i++) { $import[$i] - $bare[$i] })

        $emulator = Start-Emulator -Scenario 'bulk:5'
        try {
            $token = Get-EmulatorToken $emulator
            # The token made without a cmdlet: ConvertTo-SecureString would load
            # Microsoft.PowerShell.Security first and warm what the first call would pay for.
            $probe = @'
param($ModuleOut, $Uri, $Text)
$jit = [System.Runtime.JitInfo]::GetCompiledMethodCount($false)
Import-Module $ModuleOut
$importJit = [System.Runtime.JitInfo]::GetCompiledMethodCount($false) - $jit
$common = @{ GraphUri = $Uri; AccessToken = [System.Net.NetworkCredential]::new('', $Text).SecurePassword; Surface = 'DirectoryRole' }
$jit = [System.Runtime.JitInfo]::GetCompiledMethodCount($false)
$watch = [System.Diagnostics.Stopwatch]::StartNew()
$null = Get-PimPending @common
$first = $watch.Elapsed.TotalMilliseconds
$firstJit = [System.Runtime.JitInfo]::GetCompiledMethodCount($false) - $jit
$watch.Restart()
$null = Get-PimPending @common
'{0} {1} {2} {3}' -f $first, $watch.Elapsed.TotalMilliseconds, $importJit, $firstJit
'@
            $command = "& { $probe } '$ModuleOut' '$($emulator.Uri)' '$token'"
            $first = [System.Collections.Generic.List[double]]::new()
            for ($i = 0; $i -le $FirstCalls; $i++) {
                $figures = (Invoke-PwshStart -Command $command -Cache $caches.first).Last.Split(' ')
                if ($i -gt 0) { $first.Add([double]$figures[0] - [double]$figures[1]) }
            }
            # A cache folder never written to: no JIT profile, so the counts are the process's own.
            Remove-Item -Recurse -Force -ErrorAction Ignore $caches.cold
            New-Item -ItemType Directory -Force -Path $caches.cold | Out-Null
            $counts = (Invoke-PwshStart -Command $command -Cache $caches.cold).Last.Split(' ')
        } finally {
            Stop-Emulator $emulator
        }
    } finally {
        Remove-Item -Recurse -Force -ErrorAction Ignore $work
    }
    [pscustomobject]@{
        Import = Get-Median $differences; Bare = Get-Median $bare; Pairs = $bare.Count
        ImportRange = '{0:N0} to {1:N0}' -f ($differences | Measure-Object -Minimum).Minimum, ($differences | Measure-Object -Maximum).Maximum
        FirstCall = Get-Median $first; FirstCalls = $first.Count
        ImportJit = [int]$counts[2]; FirstCallJit = [int]$counts[3]
    }
}

function Measure-Listing([int] $N) {
    # Listing N requests with no latency in a fresh pwsh: time, and memory over the imported module.
    $emulator = Start-Emulator -Scenario "bulk:$N"
    try {
        $script = @"
Import-Module '$ModuleOut'
`$common = @{ GraphUri = '$($emulator.Uri)'; AccessToken = (ConvertTo-SecureString '$(Get-EmulatorToken $emulator)' -AsPlainText -Force) }
`$null = Get-PimPending @common -Surface DirectoryRole -Principal 'nobody-at-all'
`$process = [System.Diagnostics.Process]::GetCurrentProcess(); `$process.Refresh()
`$before = `$process.WorkingSet64; `$managed = [GC]::GetTotalMemory(`$true)
`$watch = [System.Diagnostics.Stopwatch]::StartNew()
`$all = @(Get-PimPending @common -Surface DirectoryRole)
`$seconds = `$watch.Elapsed.TotalSeconds
`$process.Refresh(); `$after = `$process.WorkingSet64
`$kept = [GC]::GetTotalMemory(`$true) - `$managed
'{0} {1} {2} {3}' -f `$seconds, (`$after - `$before), `$kept, `$all.Count
"@
        $seconds, $workingSet, $kept, $count = (& $Pwsh @PwshArgs $script | Select-Object -Last 1).Split(' ')
        [pscustomobject]@{ Seconds = [double]$seconds; WorkingSetMB = [double]$workingSet / 1MB; KeptMB = [double]$kept / 1MB; Count = [int]$count }
    } finally {
        Stop-Emulator $emulator
    }
}

# ---- Measure ----------------------------------------------------------------------------------
if ($StartOnly) {
    Write-Step 'Import-Module and the first native call (only these: docs/benchmarks.md is not written)'
    $start = Measure-Start
    $load = (Get-Content /proc/loadavg -ErrorAction Ignore) -replace '^(\S+ \S+ \S+).*', '$1'
    Write-Host ('Import-Module over a bare pwsh start: +{0:N0} ms (median of {1} pairs; {2} ms); a bare pwsh start {3:N0} ms' -f $start.Import, $start.Pairs, $start.ImportRange, $start.Bare)
    Write-Host ('first native call''s fixed cost: {0:N0} ms (median of {1})' -f $start.FirstCall, $start.FirstCalls)
    Write-Host ('methods compiled by the JIT: {0} for Import-Module, {1} for the first listing' -f $start.ImportJit, $start.FirstCallJit)
    Write-Host ('pwsh {0} ({1}); load average {2}' -f $PSVersionTable.PSVersion, (Get-PwshBuildNote), $load)
    return
}
$small = ($BenchSizes | Measure-Object -Minimum).Minimum
Write-Step "The article's approach, N = $small, --latency-ms $Latency"
$article = @(1..$BenchRuns | ForEach-Object { Measure-Article $small (Join-Path $PSScriptRoot 'Article.ps1') })
$parallel = @(1..$BenchRuns | ForEach-Object { Measure-Article $small (Join-Path $PSScriptRoot 'ArticleParallel.ps1') })
$rows = foreach ($n in $BenchSizes) {
    Write-Step "PimBridge, N = $n, --latency-ms $Latency, cold and warm"
    $runs = @(1..$BenchRuns | ForEach-Object { Measure-PimBridge $n })
    $runs | ForEach-Object { Write-Host ('   cold {0:N2} s, warm {1:N2} s, floor {2:N2} s ({3} pages), {4} HTTP requests, exactly once: {5}' -f $_.Cold, $_.Warm, $_.FloorSeconds, $_.Pages, $_.Requests, $_.ExactlyOnce) }
    [pscustomobject]@{
        N = $n; Cold = Get-Median $runs.Cold; Warm = Get-Median $runs.Warm; Floor = Get-Median $runs.FloorSeconds
        Pages = Get-Median $runs.Pages; Requests = Get-Median $runs.Requests; ExactlyOnce = -not ($runs.ExactlyOnce -contains $false)
    }
}
Write-Step 'Listing 10,000 with no latency'
$listing = @(1..$BenchRuns | ForEach-Object { Measure-Listing 10000 })
Write-Step 'Import-Module and the first native call'
$start = Measure-Start

# ---- Report -----------------------------------------------------------------------------------
$articleSeconds = Get-Median $article.Seconds
$smallRow = $rows | Where-Object N -eq $small
$table = [System.Collections.Generic.List[string]]::new()
$table.Add('| N | PimBridge cold | warm | true floor (pages + 2 round trips) | cold ÷ floor | warm ÷ floor | HTTP requests | decided exactly once |')
$table.Add('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |')
foreach ($r in $rows) {
    $table.Add(('| {0} | {1:N2} s | {2:N2} s | {3:N2} s ({4} pages) | {5:N1}× | {6:N1}× | {7} | {8} |' -f $r.N, $r.Cold, $r.Warm, $r.Floor, $r.Pages, ($r.Cold / $r.Floor), ($r.Warm / $r.Floor), $r.Requests, $(if ($r.ExactlyOnce) { 'yes' } else { 'NO' })))
}
$lst = [pscustomobject]@{ Seconds = Get-Median $listing.Seconds; WorkingSetMB = Get-Median $listing.WorkingSetMB; KeptMB = Get-Median $listing.KeptMB }
$machine = @(
    "- CPU: $((Get-Content /proc/cpuinfo -ErrorAction Ignore | Select-String '^model name' | Select-Object -First 1) -replace '^model name\s*:\s*', '') ($([Environment]::ProcessorCount) cores); load average at the end: $((Get-Content /proc/loadavg -ErrorAction Ignore) -replace '^(\S+ \S+ \S+).*', '$1')"
    "- OS: $([System.Runtime.InteropServices.RuntimeInformation]::OSDescription); PowerShell $($PSVersionTable.PSVersion) ($(Get-PwshBuildNote)); $(& rustc --version)"
    "- PimBridge $((Import-PowerShellDataFile (Join-Path $ModuleOut 'PimBridge.psd1')).ModuleVersion) (release build); date: $((Get-Date).ToUniversalTime().ToString('yyyy-MM-dd HH:mm')) UTC"
)
$doc = @"
# Benchmarks

Measured by ``pwsh ./build.ps1 -Task Bench`` on one machine, every approach side by side in one run,
against ``pim-emulator --scenario bulk:N --latency-ms $Latency`` (a fresh emulator for every run: each
run decides N pending directory-role requests). Figures are medians of $BenchRuns runs. Benchmarks are
not tests: the test suite asserts no timing.

## The job: list what waits on you and approve it all

``Get-PimPending | Approve-PimRequest -Justification ... -Confirm:`$false``, without ``-Surface``.

- **cold**: a fresh pwsh; ``Import-Module``, the token, the listing and the decisions, timed from
  inside the process (the start of pwsh itself is excluded: it is the same for any module).
- **warm**: the same again in that process, against a second fresh emulator.
- **true floor**: what no client can beat: the list pages one after another (as many as the emulator
  served: its default page holds 50), then one round trip to read every approval and one to send
  every decision, everything in flight at once.

$($table -join "`n")

## Against the article's approach, N = $small

| approach | median wall time | decided exactly once | ÷ PimBridge cold |
| --- | ---: | --- | ---: |
| the article's script, one request after another (``bench/Article.ps1``) | $('{0:N2}' -f $articleSeconds) s | $(if ($article.ExactlyOnce -contains $false) { 'NO' } else { 'yes' }) | $('{0:N1}' -f ($articleSeconds / $smallRow.Cold))× |
| the same with ``ForEach-Object -Parallel -ThrottleLimit 5`` (``bench/ArticleParallel.ps1``) | $('{0:N2}' -f (Get-Median $parallel.Seconds)) s | $(if ($parallel.ExactlyOnce -contains $false) { 'NO' } else { 'yes' }) | $('{0:N1}' -f ((Get-Median $parallel.Seconds) / $smallRow.Cold))× |
| PimBridge, cold | $('{0:N2}' -f $smallRow.Cold) s | $(if ($smallRow.ExactlyOnce) { 'yes' } else { 'NO' }) | 1 |

## Start and memory

| measure | value |
| --- | ---: |
| listing 10,000 requests, no latency (a fresh pwsh, the objects kept in a variable) | $('{0:N2}' -f $lst.Seconds) s |
| working set grown by that listing | +$('{0:N0}' -f $lst.WorkingSetMB) MB |
| managed memory the listing keeps (``[GC]::GetTotalMemory(`$true)`` after minus before) | $('{0:N0}' -f $lst.KeptMB) MB |
| ``Import-Module PimBridge`` over a bare pwsh start (median of $($start.Pairs) paired, interleaved runs' differences; they ranged $($start.ImportRange) ms) | +$('{0:N0}' -f $start.Import) ms |
| a bare pwsh start, for scale (median) | $('{0:N0}' -f $start.Bare) ms |
| the first native call's fixed cost (a fresh pwsh's first listing of 5 minus the same listing again; median of $($start.FirstCalls)) | $('{0:N0}' -f $start.FirstCall) ms |
| methods pwsh compiled (JIT) for ``Import-Module`` / for the first listing (the same whatever the machine's load) | $($start.ImportJit) / $($start.FirstCallJit) |

## The machine

$($machine -join "`n")

## Rerun

``````powershell
pwsh ./build.ps1 -Task Bench                                   # N = 200, 1000 and 5000, 3 runs each
pwsh ./build.ps1 -Task Bench -BenchSizes 200 -BenchRuns 5       # other sizes and run counts
pwsh bench/Bench.ps1 -ModuleOut out/PimBridge -StartOnly   # the start figures alone
``````
"@
Set-Content -Path (Join-Path $Root 'docs/benchmarks.md') -Value $doc
$table | ForEach-Object { Write-Host $_ }
Write-Host ('article ÷ PimBridge cold at N = {0}: {1:N1}×; listing 10,000: {2:N2} s, +{3:N0} MB; import +{4:N0} ms; first call {5:N0} ms; JIT {6} / {7} methods' -f $small, ($articleSeconds / $smallRow.Cold), $lst.Seconds, $lst.WorkingSetMB, $start.Import, $start.FirstCall, $start.ImportJit, $start.FirstCallJit)
Write-Step 'Wrote docs/benchmarks.md'

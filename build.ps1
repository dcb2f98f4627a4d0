#Requires -Version 7.4
<#
.SYNOPSIS
Builds, tests, demonstrates and packages PimBridge.

.DESCRIPTION
One entry point for both toolchains (Rust and PowerShell):

  pwsh ./build.ps1                 builds the Rust library and emulator (release) and lays the module
                                   out in out/PimBridge with the native library for this platform
  pwsh ./build.ps1 -Task Demo      builds, starts pim-emulator, and lists, approves and denies
  pwsh ./build.ps1 -Task Test      all tests: Rust (unit, integration, header), C (plain and under
                                   valgrind), Pester (the module against a running emulator)
  pwsh ./build.ps1 -Task Bench     the benchmarks, side by side; writes docs/benchmarks.md
  pwsh ./build.ps1 -Task Soak      1,000 decisions through injected faults; writes docs/reliability.md
  pwsh ./build.ps1 -Task Package   out/PimBridge-<version>.zip, ready to unpack into a module path
  pwsh ./build.ps1 -Task Header    regenerates include/pim_bridge.h with cbindgen
  pwsh ./build.ps1 -Task Bootstrap installs Pester (PowerShell Gallery, else NuGet through dotnet)
  pwsh ./build.ps1 -Task Clean     removes out/ and target/

.PARAMETER Task
What to do (Build when omitted).
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Demo', 'Bench', 'Soak', 'Package', 'Header', 'Bootstrap', 'Clean')]
    [string] $Task = 'Build',

    # Bench only: runs of each approach (the median is reported) and request counts.
    [ValidateRange(1, 20)] [int] $BenchRuns = 3,
    [int[]] $BenchSizes = @(200, 1000)
)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$Root = $PSScriptRoot
$Out = Join-Path $Root 'out'
$ModuleOut = Join-Path $Out 'PimBridge'
$Source = Join-Path $Root 'module/PimBridge'
$Release = Join-Path $Root 'target/release'
$PesterVersion = '5.7.1'
# A child pwsh for work that must not load into this session. Not the process path: under a
# `dotnet tool` install that is dotnet itself.
$Pwsh = (Get-Command pwsh -CommandType Application -ErrorAction Ignore | Select-Object -First 1).Source
if (-not $Pwsh) { $Pwsh = Join-Path $PSHOME ($IsWindows ? 'pwsh.exe' : 'pwsh') }

# Test totals by kind, for the closing summary line.
$script:Totals = [ordered]@{}

function Add-Total([string] $Kind, [int] $Passed, [int] $Failed) {
    if (-not $script:Totals.Contains($Kind)) { $script:Totals[$Kind] = @(0, 0) }
    $script:Totals[$Kind] = @(($script:Totals[$Kind][0] + $Passed), ($script:Totals[$Kind][1] + $Failed))
}

function Write-Step([string] $Message) {
    Write-Host "==> $Message" -ForegroundColor Cyan
}

function Invoke-Native {
    # Runs a program and stops the build if it fails.
    param([Parameter(Mandatory)] [string] $File, [string[]] $Arguments = @())
    & $File @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$File $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

function Get-CrateVersion {
    $line = Select-String -Path (Join-Path $Root 'Cargo.toml') -Pattern '^version\s*=\s*"([^"]+)"' | Select-Object -First 1
    $line.Matches[0].Groups[1].Value
}

function Get-NativeLibraryName {
    if ($IsWindows) { 'pim_bridge.dll' } elseif ($IsMacOS) { 'libpim_bridge.dylib' } else { 'libpim_bridge.so' }
}

function Get-EmulatorPath {
    Join-Path $Release ($IsWindows ? 'pim-emulator.exe' : 'pim-emulator')
}

function Invoke-Build {
    if (-not (Get-Command cargo -ErrorAction Ignore)) {
        throw 'cargo was not found: install Rust 1.85 or newer (https://rustup.rs) and run the build again.'
    }
    Write-Step 'cargo build --release (library and pim-emulator)'
    Invoke-Native cargo @('build', '--release', '--workspace', '--locked')
    Write-Step "Laying out $ModuleOut"
    Build-ModuleLayout
}

function Build-ModuleLayout {
    $version = Get-CrateVersion
    New-Item -ItemType Directory -Force -Path $ModuleOut | Out-Null

    # The manifest, stamped with the crate's version (one source of truth).
    $manifest = Get-Content -Raw (Join-Path $Source 'PimBridge.psd1')
    $manifest = $manifest -replace "ModuleVersion\s*=\s*'[^']*'", "ModuleVersion        = '$version'"
    Set-Content -Path (Join-Path $ModuleOut 'PimBridge.psd1') -Value $manifest -NoNewline

    # One psm1: Private/ and Public/ inlined in place of the dot-sourcing loop (faster import).
    $functions = foreach ($folder in 'Private', 'Public') {
        foreach ($file in Get-ChildItem -Path (Join-Path $Source $folder) -Filter '*.ps1' | Sort-Object Name) {
            "# ---- $folder/$($file.Name)"
            Get-Content -Raw $file.FullName
        }
    }
    $psm1 = Get-Content -Raw (Join-Path $Source 'PimBridge.psm1')
    $inlined = [regex]::Replace($psm1, '(?s)#region functions.*?#endregion functions', { param($m) $functions -join "`n" })
    Set-Content -Path (Join-Path $ModuleOut 'PimBridge.psm1') -Value $inlined -NoNewline

    Copy-Item -Path (Join-Path $Source 'PimBridge.Format.ps1xml') -Destination $ModuleOut -Force
    Copy-Item -Path (Join-Path $Source 'en-US') -Destination $ModuleOut -Recurse -Force

    # The interop assembly: compiled once here, in a separate pwsh so this session loads nothing.
    $interopSource = Join-Path $Source 'interop/PimBridge.Interop.cs'
    $interopDll = Join-Path $ModuleOut 'PimBridge.Interop.dll'
    if (-not (Test-Path $interopDll) -or (Get-Item $interopDll).LastWriteTimeUtc -lt (Get-Item $interopSource).LastWriteTimeUtc) {
        Write-Step 'Compiling PimBridge.Interop.dll'
        Remove-Item -Force -ErrorAction Ignore $interopDll
        $compile = "Add-Type -TypeDefinition (Get-Content -Raw '$interopSource') -OutputAssembly '$interopDll' -OutputType Library"
        Invoke-Native $Pwsh @('-NoProfile', '-NonInteractive', '-Command', $compile)
    }

    # The native library for this platform, where the interop layer looks for it.
    $rid = [System.Runtime.InteropServices.RuntimeInformation]::RuntimeIdentifier
    $native = Join-Path $ModuleOut "runtimes/$rid/native"
    New-Item -ItemType Directory -Force -Path $native | Out-Null
    Copy-Item -Path (Join-Path $Release (Get-NativeLibraryName)) -Destination $native -Force
}

function Install-Pester {
    if (Get-Module -ListAvailable -Name Pester | Where-Object { $_.Version -ge [version]'5.5' }) { return }
    Write-Step "Installing Pester $PesterVersion"
    $userModules = ($env:PSModulePath -split [IO.Path]::PathSeparator)[0]
    try {
        Install-Module -Name Pester -RequiredVersion $PesterVersion -Scope CurrentUser -Force -SkipPublisherCheck -ErrorAction Stop
        return
    } catch {
        Write-Host "The PowerShell Gallery is not reachable ($($_.Exception.Message)); using NuGet through dotnet."
    }
    if (-not (Get-Command dotnet -ErrorAction Ignore)) { throw 'Pester is missing, and neither the PowerShell Gallery nor dotnet is available to install it.' }
    $work = Join-Path ([IO.Path]::GetTempPath()) "pimbridge-pester-$PID"
    New-Item -ItemType Directory -Force -Path $work | Out-Null
    try {
        $project = @"
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net8.0</TargetFramework></PropertyGroup>
  <ItemGroup><PackageDownload Include="Pester" Version="[$PesterVersion]" /></ItemGroup>
</Project>
"@
        Set-Content -Path (Join-Path $work 'pester.csproj') -Value $project
        $packages = Join-Path $work 'packages'
        Invoke-Native dotnet @('restore', (Join-Path $work 'pester.csproj'), '--packages', $packages)
        $target = Join-Path $userModules "Pester/$PesterVersion"
        New-Item -ItemType Directory -Force -Path $target | Out-Null
        Copy-Item -Path (Join-Path $packages "pester/$PesterVersion/tools/*") -Destination $target -Recurse -Force
    } finally {
        Remove-Item -Recurse -Force -ErrorAction Ignore $work
    }
}

function Start-Emulator {
    # Starts pim-emulator and returns @{ Process; Uri } once it prints where it listens.
    param([string] $Scenario = 'demo', [string[]] $Extra = @())
    $log = New-TemporaryFile
    $arguments = @('--listen', '127.0.0.1:0', '--scenario', $Scenario) + $Extra
    $process = Start-Process -FilePath (Get-EmulatorPath) -ArgumentList $arguments -RedirectStandardOutput $log.FullName -PassThru -NoNewWindow
    $deadline = [datetime]::UtcNow.AddSeconds(20)
    while ([datetime]::UtcNow -lt $deadline) {
        $first = Get-Content -Path $log.FullName -TotalCount 1 -ErrorAction Ignore
        if ($first -match '^listening (\S+)') { return @{ Process = $process; Uri = $Matches[1]; Log = $log.FullName } }
        if ($process.HasExited) { break }
        Start-Sleep -Milliseconds 50
    }
    throw 'pim-emulator did not start.'
}

function Stop-Emulator($Emulator) {
    if ($Emulator -and -not $Emulator.Process.HasExited) { $Emulator.Process.Kill() ; $Emulator.Process.WaitForExit() }
    if ($Emulator) { Remove-Item -Force -ErrorAction Ignore $Emulator.Log }
}

function Get-EmulatorToken($Emulator, [hashtable] $Body = @{}) {
    (Invoke-RestMethod -Method Post -Uri "$($Emulator.Uri)/_emulator/token" -Body ($Body | ConvertTo-Json) -ContentType 'application/json').access_token
}

function Invoke-CTests {
    $build = Join-Path $Root 'tests/c/build'
    New-Item -ItemType Directory -Force -Path $build | Out-Null
    $exe = Join-Path $build 'pim_test'
    Write-Step 'C: gcc -Wall -Wextra -Werror against include/pim_bridge.h'
    Invoke-Native gcc @('-std=c11', '-Wall', '-Wextra', '-Werror', '-g', "-I$Root/include", "$Root/tests/c/pim_test.c", "-L$Release", '-lpim_bridge', "-Wl,-rpath,$Release", '-o', $exe)
    $runs = @(@{ Name = 'plain'; Prefix = @(); Exe = $exe })
    # The same program built with AddressSanitizer on the C side; check that ASan really is linked.
    $asanExe = Join-Path $build 'pim_test_asan'
    Write-Step 'C: the same with -fsanitize=address'
    Invoke-Native gcc @('-std=c11', '-Wall', '-Wextra', '-Werror', '-g', '-fsanitize=address', '-fno-omit-frame-pointer', "-I$Root/include", "$Root/tests/c/pim_test.c", "-L$Release", '-lpim_bridge', "-Wl,-rpath,$Release", '-o', $asanExe)
    $asanLinked = (& ldd $asanExe | Select-String 'libasan') -or (& nm $asanExe 2>$null | Select-String '__asan_init')
    if (-not $asanLinked) { throw "AddressSanitizer is not linked into $asanExe." }
    $runs += @{ Name = 'AddressSanitizer'; Prefix = @(); Exe = $asanExe }
    if (Get-Command valgrind -ErrorAction Ignore) {
        $runs += @{ Name = 'valgrind'; Prefix = @('valgrind', '--leak-check=full', '--error-exitcode=1', '--errors-for-leak-kinds=definite,possible'); Exe = $exe }
    } else {
        Write-Warning 'valgrind is not installed: the C tests run only plainly.'
    }
    foreach ($run in $runs) {
        $emulator = Start-Emulator -Scenario demo
        try {
            $token = Get-EmulatorToken $emulator
            $expired = Get-EmulatorToken $emulator @{ expiresIn = -60 }
            Write-Step "C: tests/c/pim_test ($($run.Name))"
            $command = @($run.Prefix) + @($run.Exe, $emulator.Uri, $token, $expired)
            $output = & $command[0] @($command | Select-Object -Skip 1) 2>&1
            $code = $LASTEXITCODE
            $output | Where-Object { "$_" -match 'passed|FAIL|ERROR SUMMARY|definitely lost|possibly lost|AddressSanitizer|LeakSanitizer' } | ForEach-Object { "   $_" -replace [regex]::Escape($token), '<token>' }
            $summary = $output | Where-Object { "$_" -match '^(\d+) passed, (\d+) failed$' } | Select-Object -Last 1
            if ($summary -and "$summary" -match '^(\d+) passed, (\d+) failed$') { Add-Total "C checks ($($run.Name))" $Matches[1] $Matches[2] }
            if ($code -ne 0) { throw "The C tests failed ($($run.Name)), exit code $code." }
        } finally {
            Stop-Emulator $emulator
        }
    }
}

function Invoke-PesterTests {
    Install-Pester
    Write-Step 'Pester: tests/pester in a fresh pwsh'
    $script = @'
$ErrorActionPreference = 'Stop'
Import-Module Pester -MinimumVersion 5.5
$config = New-PesterConfiguration
$config.Run.Path = Join-Path $env:PIMBRIDGE_ROOT 'tests/pester'
$config.Run.Exit = $true
$config.Output.Verbosity = 'Detailed'
$config.Output.RenderMode = 'Plaintext'
$config.Run.PassThru = $true
$config.Run.Exit = $false
$result = Invoke-Pester -Configuration $config
"$($result.PassedCount) $($result.FailedCount) $($result.SkippedCount)" | Set-Content -Path $env:PIMBRIDGE_PESTER_SUMMARY
exit ([int]($result.Result -ne 'Passed'))
'@
    $env:PIMBRIDGE_ROOT = $Root
    $env:PIMBRIDGE_PESTER_SUMMARY = Join-Path ([IO.Path]::GetTempPath()) "pimbridge-pester-$PID.txt"
    try {
        & $Pwsh -NoProfile -NonInteractive -Command $script
        $code = $LASTEXITCODE
        if (Test-Path $env:PIMBRIDGE_PESTER_SUMMARY) {
            $passed, $failed, $skipped = (Get-Content $env:PIMBRIDGE_PESTER_SUMMARY).Split(' ')
            Add-Total 'Pester tests' $passed $failed
            if ([int]$skipped -gt 0) { throw "$skipped Pester test(s) were skipped; every test must run." }
        }
        if ($code -ne 0) { throw "The Pester tests failed (exit code $code)." }
    } finally {
        Remove-Item -Force -ErrorAction Ignore $env:PIMBRIDGE_PESTER_SUMMARY
    }
}

function Invoke-CargoTest {
    # cargo test, echoing its output and counting its results.
    $output = & cargo test --workspace --locked --features test-panic
    $code = $LASTEXITCODE
    foreach ($line in $output) {
        Write-Host $line
        if ($line -match 'test result: \w+\. (\d+) passed; (\d+) failed') { Add-Total 'Rust tests' $Matches[1] $Matches[2] }
    }
    if ($code -ne 0) { throw "cargo test failed with exit code $code" }
}

function Invoke-Test {
    Write-Step 'cargo fmt --check'
    Invoke-Native cargo @('fmt', '--all', '--check')
    Write-Step 'cargo test (unit, integration, C ABI, header freshness, forced panic)'
    Invoke-CargoTest
    Write-Step 'cargo clippy -D warnings'
    Invoke-Native cargo @('clippy', '--workspace', '--all-targets', '--locked', '--features', 'test-panic', '--', '-D', 'warnings')
    Invoke-Build
    Invoke-CTests
    Invoke-PesterTests
    Write-Step 'All tests passed.'
    $passed = 0
    $failed = 0
    foreach ($kind in $script:Totals.Keys) {
        Write-Host ('   {0,-26} {1,5} passed, {2} failed' -f $kind, $script:Totals[$kind][0], $script:Totals[$kind][1])
        $passed += $script:Totals[$kind][0]
        $failed += $script:Totals[$kind][1]
    }
    Write-Host "$passed passed, $failed failed"
}

function Invoke-Demo {
    Invoke-Build
    $emulator = Start-Emulator -Scenario demo
    try {
        Write-Step "pim-emulator --scenario demo is listening at $($emulator.Uri)"
        Import-Module $ModuleOut -Force
        # Against the emulator, tokens it minted stand in for Connect-MgGraph and Connect-AzAccount.
        $common = @{
            GraphUri       = $emulator.Uri
            ArmUri         = $emulator.Uri
            AccessToken    = ConvertTo-SecureString (Get-EmulatorToken $emulator) -AsPlainText -Force
            ArmAccessToken = ConvertTo-SecureString (Get-EmulatorToken $emulator @{ audience = 'arm' }) -AsPlainText -Force
        }

        Write-Step 'Get-PimPending (directory roles, groups and Azure resources)'
        $pending = Get-PimPending @common
        $pending | Format-Table | Out-String -Width 160 | Out-Host

        Write-Step 'Approve-PimRequest and Deny-PimRequest, one pipeline each, across the surfaces'
        $approve = $pending | Where-Object { $_.Principal -eq 'Alex Wilber' -and $_.Surface -eq 'DirectoryRole' -or $_.Principal -in 'Isaiah Langer', 'Johanna Lorenz' }
        $deny = $pending | Where-Object { $_.Principal -eq 'Lee Gu' -or $_.Principal -eq 'Nestor Wilke' }
        $decisions = @(
            $approve | Approve-PimRequest -Justification 'CHG0004821 approved by the CAB on Tuesday' -Confirm:$false @common
            $deny | Deny-PimRequest -Justification 'Please attach the security incident number first' -Confirm:$false @common
        )
        $decisions | Format-Table Result, Surface, Principal, Role, DecidedAt | Out-String -Width 160 | Out-Host

        Write-Step 'What the emulator received (/_emulator/decisions)'
        (Invoke-RestMethod -Uri "$($emulator.Uri)/_emulator/decisions").value |
            Format-Table approvalId, reviewResult, justification, time | Out-String -Width 160 | Out-Host

        Write-Step 'Still waiting'
        Get-PimPending @common | Format-Table | Out-String -Width 160 | Out-Host
    } finally {
        Stop-Emulator $emulator
    }
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
    Invoke-Build
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

function Invoke-Soak {
    # The fault suite at full size: 1,000 approvals through 20% 503s, 20% 429s (Retry-After in
    # seconds, fractional seconds and HTTP dates) and 5% of decisions whose answer is lost after
    # they were applied. The test suite runs the same at 200 (tests/faults.rs).
    Invoke-Build
    Import-Module $ModuleOut -Force
    $n = 1000
    $flags = @('--fail-rate', '0.2', '--throttle-rate', '0.2', '--lost-response-rate', '0.05')
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
        while (@((Invoke-RestMethod -Uri "$($slow.Uri)/_emulator/decisions").value).Count -lt 100) { Start-Sleep -Milliseconds 20 }
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

function Invoke-Package {
    Invoke-Build
    $zip = Join-Path $Out "PimBridge-$(Get-CrateVersion).zip"
    Remove-Item -Force -ErrorAction Ignore $zip
    Compress-Archive -Path $ModuleOut -DestinationPath $zip
    Write-Step "Packaged $zip (unpack into a folder of `$env:PSModulePath, then Import-Module PimBridge)"
}

switch ($Task) {
    'Build' { Invoke-Build }
    'Test' { Invoke-Test }
    'Demo' { Invoke-Demo }
    'Bench' { Invoke-Bench }
    'Soak' { Invoke-Soak }
    'Package' { Invoke-Package }
    'Header' {
        $env:PIM_BLESS_HEADER = '1'
        try { Invoke-Native cargo @('test', '--locked', '--test', 'header') } finally { Remove-Item Env:PIM_BLESS_HEADER }
        Write-Step 'include/pim_bridge.h regenerated'
    }
    'Bootstrap' { Install-Pester }
    'Clean' { Remove-Item -Recurse -Force -ErrorAction Ignore $Out, (Join-Path $Root 'target'), (Join-Path $Root 'tests/c/build') }
}

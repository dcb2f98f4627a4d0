# The test suites behind `pwsh ./build.ps1 -Task Test`: each runs with its full output going to a
# log file, and comes back as one result (passed, failed, skipped, and each failure's name with its
# first assertion message), so the console shows a short summary that says what failed.

Set-StrictMode -Version 3.0
Import-Module (Join-Path $PSScriptRoot 'Emulator.psm1')

$script:Root = Split-Path -Parent $PSScriptRoot
$script:Release = Join-Path $script:Root 'target/release'

function New-SuiteResult([string] $Suite) {
    [pscustomobject]@{ Suite = $Suite; Passed = 0; Failed = 0; Skipped = 0; Failures = [System.Collections.Generic.List[object]]::new(); Note = ''; Seconds = 0.0 }
}

function Add-SuiteFailure($Result, [string] $Name, [string] $Message) {
    $Result.Failures.Add([pscustomobject]@{ Suite = $Result.Suite; Name = $Name; Message = $Message })
}

function Invoke-Logged {
    # Runs a program with its output appended to the log; returns { Code; Lines }. Each of -Secrets
    # (tokens handed to the program) is written as <token>, in the log and in the lines returned.
    param([Parameter(Mandatory)] [string] $Log, [Parameter(Mandatory)] [string] $File, [string[]] $Arguments = @(), [string[]] $Secrets = @())
    $mask = { param([string] $Text) foreach ($t in $Secrets) { if ($t) { $Text = $Text.Replace($t, '<token>') } }; $Text }
    Add-Content -Path $Log -Value (& $mask "`n>>> $File $($Arguments -join ' ')")
    $writer = [System.IO.StreamWriter]::new($Log, $true)
    try {
        $lines = & $File @Arguments 2>&1 | ForEach-Object { $line = & $mask "$_"; $writer.WriteLine($line); $line }
        $code = $LASTEXITCODE
    } finally {
        $writer.Dispose()
    }
    [pscustomobject]@{ Code = $code; Lines = @($lines) }
}

function Invoke-CheckSuite {
    # One command that passes or fails as a whole (cargo fmt --check, clippy).
    param([string] $Suite, [string] $Log, [string] $File, [string[]] $Arguments)
    $result = New-SuiteResult $Suite
    $run = Invoke-Logged -Log $Log -File $File -Arguments $Arguments
    if ($run.Code -eq 0) { $result.Passed = 1 } else {
        $result.Failed = 1
        $first = $run.Lines | Where-Object { $_ -match '^(error|Diff in|warning)' } | Select-Object -First 1
        Add-SuiteFailure $result "$File $($Arguments -join ' ')" ($first ?? "exit code $($run.Code)")
    }
    $result
}

function Read-CargoTestOutput {
    # Counts `cargo test` results and finds each failed test's first panic message.
    param([string[]] $Lines, $Result)
    $binary = ''
    $inFailure = $null
    $messageNext = $false
    $messages = @{}
    $failed = [System.Collections.Generic.List[string]]::new()
    foreach ($line in $Lines) {
        if ($line -match '^\s+Running (?:unittests )?(\S+)') { $binary = $Matches[1]; continue }
        if ($line -match '^\s+Doc-tests (\S+)') { $binary = "doc-tests $($Matches[1])"; continue }
        if ($line -match '^test (\S+) \.\.\. FAILED$') { $failed.Add("$binary $($Matches[1])"); continue }
        if ($line -match '^---- (\S+) stdout ----$') { $inFailure = "$binary $($Matches[1])"; $messageNext = $false; continue }
        if ($inFailure -and $line -match 'panicked at .+:\d+:\d+:$') { $messageNext = $true; continue }
        if ($inFailure -and $messageNext) {
            if (-not $messages.ContainsKey($inFailure)) { $messages[$inFailure] = $line.Trim() }
            $messageNext = $false
            continue
        }
        if ($line -match '^test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored') {
            $Result.Passed += [int]$Matches[1]
            $Result.Failed += [int]$Matches[2]
            $Result.Skipped += [int]$Matches[3]
            $inFailure = $null
        }
    }
    foreach ($name in $failed) { Add-SuiteFailure $Result $name ($messages[$name] ?? '(no panic message; see the log)') }
}

function Invoke-RustSuite {
    param([string] $Log)
    $result = New-SuiteResult 'Rust tests'
    $run = Invoke-Logged -Log $Log -File cargo -Arguments @('test', '--workspace', '--locked', '--features', 'test-panic', '--no-fail-fast')
    Read-CargoTestOutput -Lines $run.Lines -Result $result
    if ($run.Code -ne 0 -and $result.Failures.Count -eq 0) {
        $first = $run.Lines | Where-Object { $_ -match '^error' } | Select-Object -First 1
        Add-SuiteFailure $result 'cargo test' ($first ?? "exit code $($run.Code)")
        $result.Failed += 1
    }
    $result
}

# C programs run plainly only: the handle test needs the allocator's own reuse of freed memory,
# which a sanitizer's quarantine hides, and the SIGPIPE test a process-wide signal.
$script:PlainOnly = @('handles_test', 'sigpipe_test')

function Build-CTest {
    # Compiles every tests/c/*.c against the header and the release library, plainly and with
    # AddressSanitizer; returns @{ Plain = @{ name = exe }; Asan = @{ name = exe }; Errors = @() }.
    param([string] $Log)
    $build = Join-Path $script:Root 'tests/c/build'
    New-Item -ItemType Directory -Force -Path $build | Out-Null
    $made = @{ Plain = [ordered]@{}; Asan = [ordered]@{}; Errors = [System.Collections.Generic.List[string]]::new() }
    foreach ($source in Get-ChildItem -Path (Join-Path $script:Root 'tests/c') -Filter '*.c' | Sort-Object Name) {
        $common = @('-std=c11', '-Wall', '-Wextra', '-Werror', '-g', "-I$script:Root/include", $source.FullName, "-L$script:Release", '-lpim_bridge', "-Wl,-rpath,$script:Release", '-pthread')
        $plain = Join-Path $build $source.BaseName
        $asan = Join-Path $build "$($source.BaseName)_asan"
        $run = Invoke-Logged -Log $Log -File gcc -Arguments ($common + @('-o', $plain))
        if ($run.Code -eq 0) { $made.Plain[$source.BaseName] = $plain } else { $made.Errors.Add("gcc $($source.Name): $($run.Lines | Select-Object -First 1)") }
        if ($source.BaseName -in $script:PlainOnly) { continue }
        $run = Invoke-Logged -Log $Log -File gcc -Arguments ($common + @('-fsanitize=address', '-fno-omit-frame-pointer', '-o', $asan))
        if ($run.Code -ne 0) { $made.Errors.Add("gcc -fsanitize=address $($source.Name): $($run.Lines | Select-Object -First 1)") }
        elseif (-not ((& ldd $asan | Select-String 'libasan') -or (& nm $asan 2>$null | Select-String '__asan_init'))) { $made.Errors.Add("AddressSanitizer is not linked into $asan") }
        else { $made.Asan[$source.BaseName] = $asan }
    }
    $made
}

function Get-CTestUsage {
    # What a C program wants, as its usage line says: `usage: NAME GRAPH_URI TOKEN EXPIRED_TOKEN`
    # (a demo emulator and its tokens) or `usage: NAME SCRATCH_DIR` (a folder of its own).
    param([string] $Name)
    $usage = Select-String -Path (Join-Path $script:Root "tests/c/$Name.c") -Pattern 'usage: \S+ (.*)$' | Select-Object -First 1
    if ($usage) { -split $usage.Matches[0].Groups[1].Value } else { @() }
}

function Invoke-CSuite {
    # Runs every C program once: plainly, under ASan, or under valgrind (a demo emulator for those
    # that call the service, a scratch folder for those that write files).
    param([string] $Suite, [string] $Log, [System.Collections.IDictionary] $Programs, [string[]] $BuildErrors = @(), [string[]] $Prefix = @())
    $result = New-SuiteResult $Suite
    foreach ($e in $BuildErrors) { $result.Failed += 1; Add-SuiteFailure $result 'build' $e }
    foreach ($name in $Programs.Keys) {
        $emulator = $null
        $scratch = Join-Path ([IO.Path]::GetTempPath()) "pimbridge-c-$PID-$([guid]::NewGuid().ToString('n'))"
        New-Item -ItemType Directory -Force -Path $scratch | Out-Null
        $secrets = @()
        try {
            $usage = Get-CTestUsage $name
            $arguments = @()
            if ($usage -contains 'GRAPH_URI') {
                $emulator = Start-Emulator -Scenario demo
                $secrets = @((Get-EmulatorToken $emulator), (Get-EmulatorToken $emulator @{ expiresIn = -60 }))
                $arguments = @($emulator.Uri) + $secrets
            } elseif ($usage -contains 'SCRATCH_DIR') {
                $arguments = @($scratch)
            }
            $command = @($Prefix) + @($Programs[$name]) + $arguments
            $run = Invoke-Logged -Log $Log -File $command[0] -Arguments @($command | Select-Object -Skip 1) -Secrets $secrets
        } finally {
            if ($emulator) { Stop-Emulator $emulator }
            Remove-Item -Recurse -Force -ErrorAction Ignore $scratch
        }
        $lines = $run.Lines
        $before = $result.Failures.Count
        $summary = $lines | Where-Object { $_ -match '^(\d+) passed, (\d+) failed$' } | Select-Object -Last 1
        if ($summary -and "$summary" -match '^(\d+) passed, (\d+) failed$') { $result.Passed += [int]$Matches[1]; $result.Failed += [int]$Matches[2] }
        foreach ($line in $lines) {
            if ($line -match '^FAIL (\S+:\d+): (.*)$') { Add-SuiteFailure $result "tests/c/$(Split-Path -Leaf $Matches[1])" $Matches[2] }
            elseif ($line -match 'ERROR SUMMARY: ([1-9]\d*) errors') { Add-SuiteFailure $result "$name (valgrind)" $line.Trim() }
            elseif ($line -match 'ERROR: (AddressSanitizer|LeakSanitizer): .*') { Add-SuiteFailure $result "$name ($($Matches[1]))" $line.Trim() }
        }
        if ($run.Code -ne 0 -and $result.Failures.Count -eq $before) { Add-SuiteFailure $result $name "exit code $($run.Code)" }
    }
    if ($result.Failures.Count -gt $result.Failed) { $result.Failed = $result.Failures.Count }
    $result
}

function Invoke-PesterSuite {
    # The Pester tests in a fresh pwsh, so the module is imported as a user imports it.
    param([string] $Log, [string] $Pwsh)
    $result = New-SuiteResult 'Pester tests'
    $summary = Join-Path ([IO.Path]::GetTempPath()) "pimbridge-pester-$PID-$([guid]::NewGuid().ToString('n')).json"
    $script = @'
$ErrorActionPreference = 'Stop'
Import-Module Pester -MinimumVersion 5.5
$config = New-PesterConfiguration
$config.Run.Path = Join-Path $env:PIMBRIDGE_ROOT 'tests/pester'
$config.Run.PassThru = $true
$config.Output.Verbosity = 'Detailed'
$config.Output.RenderMode = 'Plaintext'
$r = Invoke-Pester -Configuration $config
$failures = @($r.Failed | ForEach-Object {
    $message = if ($_.ErrorRecord) { "$($_.ErrorRecord[0].Exception.Message)" } else { '' }
    @{ Name = $_.ExpandedPath; Message = ($message -split "`r?`n" | Where-Object { $_.Trim() } | Select-Object -First 1) }
})
$failures += @($r.FailedBlocks | ForEach-Object { @{ Name = "$($_.Path -join ' ') (setup)"; Message = "$($_.ErrorRecord[0].Exception.Message)" } })
@{ Passed = $r.PassedCount; Failed = $r.FailedCount + $r.FailedBlocksCount; Skipped = $r.SkippedCount + $r.NotRunCount; Failures = $failures } |
    ConvertTo-Json -Depth 4 | Set-Content -Path $env:PIMBRIDGE_PESTER_SUMMARY
'@
    $env:PIMBRIDGE_ROOT = $script:Root
    $env:PIMBRIDGE_PESTER_SUMMARY = $summary
    try {
        $run = Invoke-Logged -Log $Log -File $Pwsh -Arguments @('-NoProfile', '-NonInteractive', '-Command', $script)
        if (Test-Path $summary) {
            $s = Get-Content -Raw $summary | ConvertFrom-Json
            $result.Passed = $s.Passed; $result.Failed = $s.Failed; $result.Skipped = $s.Skipped
            foreach ($f in @($s.Failures)) { if ($f) { Add-SuiteFailure $result $f.Name $f.Message } }
            if ($s.Skipped -gt 0) { $result.Note = 'every test must run: a skipped test counts as failed' }
        } else {
            $result.Failed = 1
            Add-SuiteFailure $result 'Invoke-Pester' "did not finish (exit code $($run.Code)); see the log"
        }
    } finally {
        Remove-Item -Force -ErrorAction Ignore $summary
    }
    $result
}

function Invoke-DotnetSuite {
    # Microsoft's Graph SDK for .NET against pim-emulator (tests/sdk, xunit through dotnet test).
    param([string] $Log)
    $result = New-SuiteResult '.NET Graph SDK tests'
    if (-not (Get-Command dotnet -ErrorAction Ignore)) { $result.Note = 'skipped: dotnet is not installed'; return $result }
    $project = Join-Path $script:Root 'tests/sdk/PimBridge.SdkTests.csproj'
    $run = Invoke-Logged -Log $Log -File dotnet -Arguments @('test', $project, '--nologo', '--logger', 'console;verbosity=normal')
    $failedName = $null
    for ($i = 0; $i -lt $run.Lines.Count; $i++) {
        $line = $run.Lines[$i]
        if ($line -match '^\s+Failed (\S+) \[') { $failedName = $Matches[1] -replace '^PimBridge\.SdkTests\.', '' }
        elseif ($failedName -and $line -match '^\s+Error Message:') {
            Add-SuiteFailure $result $failedName ($run.Lines[$i + 1].Trim())
            $failedName = $null
        }
        elseif ($line -match '^\s+(Passed|Failed|Skipped): (\d+)$') { $result.($Matches[1]) += [int]$Matches[2] }
    }
    if ($run.Code -ne 0 -and $result.Failures.Count -eq 0) {
        $first = $run.Lines | Where-Object { $_ -match 'error' } | Select-Object -First 1
        Add-SuiteFailure $result 'dotnet test' ($first ?? "exit code $($run.Code)")
        $result.Failed = [math]::Max($result.Failed, 1)
    }
    $result
}

function Invoke-TestSuites {
    # One run of every suite that tests the built code; returns their results.
    param([string] $Log, [string] $Pwsh, [switch] $BuildFailed)
    $suites = [System.Collections.Generic.List[object]]::new()
    $timed = {
        param([string] $Name, [scriptblock] $Body)
        Write-Host "==> $Name" -ForegroundColor Cyan
        $watch = [System.Diagnostics.Stopwatch]::StartNew()
        $r = & $Body
        $r.Seconds = $watch.Elapsed.TotalSeconds
        $suites.Add($r)
    }
    & $timed 'Rust tests (cargo test)' { Invoke-RustSuite -Log $Log }
    $cNames = 'C checks (plain)', 'C checks (AddressSanitizer)', 'C checks (valgrind)'
    if ($BuildFailed) {
        foreach ($name in $cNames + '.NET Graph SDK tests', 'Pester tests') { $r = New-SuiteResult $name; $r.Note = 'skipped: the build failed'; $suites.Add($r) }
        return $suites
    }
    if (-not $IsLinux) {
        # Build-CTest compiles with gcc (-lpim_bridge, -rpath) and checks ASan with ldd; valgrind is
        # Linux's: on Windows and macOS the C checks are not run (docs/platforms.md).
        foreach ($name in $cNames) { $r = New-SuiteResult $name; $r.Note = 'skipped: the C checks run on Linux only'; $suites.Add($r) }
    } else {
        $exes = Build-CTest -Log $Log
        & $timed 'C: tests/c/*.c (plain)' { Invoke-CSuite -Suite $cNames[0] -Log $Log -Programs $exes.Plain -BuildErrors $exes.Errors }
        & $timed 'C: tests/c/*.c (AddressSanitizer)' { Invoke-CSuite -Suite $cNames[1] -Log $Log -Programs $exes.Asan }
        if (Get-Command valgrind -ErrorAction Ignore) {
            $valgrind = @('valgrind', '--leak-check=full', '--error-exitcode=1', '--errors-for-leak-kinds=definite,possible')
            $checked = [ordered]@{}
            foreach ($name in $exes.Plain.Keys) { if ($name -notin $script:PlainOnly) { $checked[$name] = $exes.Plain[$name] } }
            & $timed 'C: tests/c/*.c (valgrind)' { Invoke-CSuite -Suite $cNames[2] -Log $Log -Programs $checked -Prefix $valgrind }
        } else {
            $r = New-SuiteResult $cNames[2]; $r.Note = 'skipped: valgrind is not installed'; $suites.Add($r)
        }
    }
    & $timed '.NET: tests/sdk (Microsoft.Graph 6.10 against pim-emulator)' { Invoke-DotnetSuite -Log $Log }
    & $timed 'Pester: tests/pester in a fresh pwsh' { Invoke-PesterSuite -Log $Log -Pwsh $Pwsh }
    $suites
}

function Test-SuiteFailed($Result) {
    # A failed test fails its suite; so does a skipped Pester test (every test must run).
    ($Result.Failed -gt 0) -or (($Result.Skipped -gt 0) -and ($Result.Suite -eq 'Pester tests'))
}

function Join-SuiteResult {
    # The results of several runs of the same suites, one line a suite, counts added up.
    param([object[]] $Results)
    $bySuite = [ordered]@{}
    foreach ($r in $Results) { if (-not $bySuite.Contains($r.Suite)) { $bySuite[$r.Suite] = @() }; $bySuite[$r.Suite] += $r }
    foreach ($name in $bySuite.Keys) {
        $group = [pscustomobject]@{ Name = $name; Group = $bySuite[$name]; Count = $bySuite[$name].Count }
        $sum = New-SuiteResult $group.Name
        foreach ($r in $group.Group) {
            $sum.Passed += $r.Passed; $sum.Failed += $r.Failed; $sum.Skipped += $r.Skipped; $sum.Seconds += $r.Seconds
            foreach ($f in $r.Failures) { $sum.Failures.Add($f) }
            if ($r.Note) { $sum.Note = $r.Note }
        }
        if ($group.Count -gt 1) { $sum.Note = (@("$($group.Count) runs") + @($sum.Note | Where-Object { $_ })) -join '; ' }
        $sum
    }
}

function Write-TestSummary {
    # The summary: a line per suite, every failure with its first message, then `N passed, N failed`.
    param([object[]] $Results, [string] $Log)
    $Results = @(Join-SuiteResult $Results)
    Write-Host ''
    Write-Host "Summary (full output: $Log)"
    foreach ($r in $Results) {
        $state = if (Test-SuiteFailed $r) { 'FAILED' } elseif ($r.Note -like 'skipped*') { 'skipped' } else { 'passed' }
        $line = '   {0,-30} {1,-7} {2,5} passed, {3} failed, {4} skipped' -f $r.Suite, $state, $r.Passed, $r.Failed, $r.Skipped
        if ($r.Seconds) { $line += (' ({0:N0} s)' -f $r.Seconds) }
        if ($r.Note) { $line += "  [$($r.Note)]" }
        Write-Host $line
    }
    $failures = @($Results | ForEach-Object { $_.Failures })
    if ($failures.Count) {
        Write-Host ''
        Write-Host 'Failed:'
        foreach ($g in ($failures | Group-Object Suite, Name)) {
            $f = $g.Group[0]
            $times = if ($g.Count -gt 1) { " (in $($g.Count) runs)" } else { '' }
            Write-Host "   [$($f.Suite)] $($f.Name)$times`: $($f.Message)"
        }
    }
    $passed = ($Results | Measure-Object Passed -Sum).Sum
    $failed = ($Results | ForEach-Object { if (Test-SuiteFailed $_) { [math]::Max($_.Failed, 1) } else { 0 } } | Measure-Object -Sum).Sum
    Write-Host ''
    Write-Host "$passed passed, $failed failed"
    $failed -eq 0
}

function Write-FlakeReport {
    # After -Repeat N: for each test that ever failed, in how many runs.
    param([object[][]] $Runs)
    $counts = [ordered]@{}
    foreach ($run in $Runs) {
        $names = @($run | ForEach-Object { $_.Failures } | ForEach-Object { "[$($_.Suite)] $($_.Name)" } | Sort-Object -Unique)
        foreach ($n in $names) { $counts[$n] = 1 + ($counts[$n] ?? 0) }
    }
    Write-Host ''
    if ($counts.Count -eq 0) { Write-Host "No test failed in any of $($Runs.Count) runs."; return }
    Write-Host "Tests that failed, of $($Runs.Count) runs:"
    foreach ($k in $counts.Keys) { Write-Host ('   {0,3} of {1}  {2}' -f $counts[$k], $Runs.Count, $k) }
}

Export-ModuleMember -Function Join-SuiteResult, Invoke-Logged, Invoke-CheckSuite, Invoke-TestSuites, Write-TestSummary, Write-FlakeReport, New-SuiteResult, Add-SuiteFailure, Read-CargoTestOutput, Test-SuiteFailed

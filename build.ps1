#Requires -Version 7.4
<#
.SYNOPSIS
Builds, tests, demonstrates and packages PimBridge.

.DESCRIPTION
One entry point for both toolchains (Rust and PowerShell):

  pwsh ./build.ps1                 builds the Rust library and emulator (release) and lays the module
                                   out in out/PimBridge with the native library for this platform
  pwsh ./build.ps1 -Task Demo      builds, starts pim-emulator, and lists, approves and denies
  pwsh ./build.ps1 -Task Test      every test suite: format and lint, Rust, C (plain, AddressSanitizer,
                                   valgrind), Pester; a short summary, the full output in out/test-logs
  pwsh ./build.ps1 -Task Test -Repeat 10
                                   the suites ten times, then how often each failing test failed
  pwsh ./build.ps1 -Task Bench     the benchmarks, side by side; writes docs/benchmarks.md
  pwsh ./build.ps1 -Task Soak      1,000 decisions through injected faults; writes docs/reliability.md
  pwsh ./build.ps1 -Task Package   out/PimBridge.<version>.nupkg for Install-PSResource, with the native
                                   library and pim-emulator of this platform and of every platform
                                   whose build is gathered under -Runtimes (the release workflow does)
  pwsh ./build.ps1 -Task Header    regenerates include/pim_bridge.h with cbindgen
  pwsh ./build.ps1 -Task Bootstrap installs Pester (PowerShell Gallery, else NuGet through dotnet)
  pwsh ./build.ps1 -Task Clean     removes out/ and target/

The code behind Test lives in tools/TestSuites.psm1, behind Demo in tools/Demo.ps1, behind Bench and
Soak in bench/; tools/Emulator.psm1 starts pim-emulator for all of them and for the Pester tests.

.PARAMETER Task
What to do (Build when omitted).
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Demo', 'Bench', 'Soak', 'Package', 'Header', 'Bootstrap', 'Clean')]
    [string] $Task = 'Build',

    # Test only: how many times to run the suites (the build, format and lint checks run once).
    [ValidateRange(1, 1000)] [int] $Repeat = 1,

    # Package only: a folder holding other platforms' out/PimBridge (their runtimes/ and emulator/).
    [string] $Runtimes,

    # Bench only: runs of each approach (the median is reported) and request counts.
    [ValidateRange(1, 20)] [int] $BenchRuns = 3,
    [int[]] $BenchSizes = @(200, 1000, 5000)
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

function Build-PimBridge {
    # The release build of the library and emulator, and the module laid out around them. With
    # -Log, cargo's output goes there instead of the console.
    param([string] $Log)
    if (-not (Get-Command cargo -ErrorAction Ignore)) {
        throw 'cargo was not found: install Rust 1.89 or newer (https://rustup.rs) and run the build again.'
    }
    Write-Step 'cargo build --release (library and pim-emulator)'
    $cargo = @('build', '--release', '--workspace', '--locked')
    if ($Log) {
        $run = Invoke-Logged -Log $Log -File cargo -Arguments $cargo
        if ($run.Code -ne 0) { throw "cargo build failed: $($run.Lines | Where-Object { $_ -match '^error' } | Select-Object -First 1)" }
    } else {
        Invoke-Native cargo $cargo
    }
    Write-Step "Laying out $ModuleOut"
    Build-ModuleLayout
}

function Build-ModuleLayout {
    $version = Get-CrateVersion
    New-Item -ItemType Directory -Force -Path $ModuleOut | Out-Null

    # The manifest, stamped from one source each: the version and project address from Cargo.toml,
    # the release notes from CHANGELOG.md.
    $repository = (Select-String -Path (Join-Path $Root 'Cargo.toml') -Pattern '^repository\s*=\s*"([^"]+)"' | Select-Object -First 1).Matches[0].Groups[1].Value
    $notes = (Get-ChangelogSection -Path (Join-Path $Root 'CHANGELOG.md') -Version $version) -replace "'", "''"
    $manifest = Get-Content -Raw (Join-Path $Source 'PimBridge.psd1')
    $manifest = $manifest -replace "ModuleVersion\s*=\s*'[^']*'", "ModuleVersion        = '$version'"
    $manifest = $manifest.Replace('{{Repository}}', $repository).Replace('{{ReleaseNotes}}', $notes)
    Set-Content -Path (Join-Path $ModuleOut 'PimBridge.psd1') -Value $manifest -NoNewline

    # One psm1: Private/ and Public/ inlined in place of the dot-sourcing loop, and the comments that
    # are not help left out (faster import: pwsh parses the whole file when it imports it).
    $functions = foreach ($folder in 'Private', 'Public') {
        foreach ($file in Get-ChildItem -Path (Join-Path $Source $folder) -Filter '*.ps1' | Sort-Object Name) {
            "# ---- $folder/$($file.Name)"
            Get-Content -Raw $file.FullName
        }
    }
    $psm1 = Get-Content -Raw (Join-Path $Source 'PimBridge.psm1')
    $inlined = [regex]::Replace($psm1, '(?s)#region functions.*?#endregion functions', { param($m) $functions -join "`n" })
    Set-Content -Path (Join-Path $ModuleOut 'PimBridge.psm1') -Value (Remove-ScriptComment -Text $inlined) -NoNewline

    Copy-Item -Path (Join-Path $Source 'PimBridge.Format.ps1xml') -Destination $ModuleOut -Force
    Copy-Item -Path (Join-Path $Source 'en-US') -Destination $ModuleOut -Recurse -Force

    # The interop assembly: compiled once here from interop/*.cs, in a separate pwsh so that this
    # session loads nothing.
    $interopSources = @(Get-ChildItem -Path (Join-Path $Source 'interop') -Filter '*.cs' | Sort-Object Name)
    $interopDll = Join-Path $ModuleOut 'PimBridge.Interop.dll'
    $newest = ($interopSources | Measure-Object -Property LastWriteTimeUtc -Maximum).Maximum
    if (-not (Test-Path $interopDll) -or (Get-Item $interopDll).LastWriteTimeUtc -lt $newest) {
        Write-Step 'Compiling PimBridge.Interop.dll'
        Remove-Item -Force -ErrorAction Ignore $interopDll
        $paths = ($interopSources | ForEach-Object { "'$($_.FullName)'" }) -join ', '
        # -optimize+: release IL (without it the runtime compiles every method of the assembly with
        # optimizations off, for good: the JSON readers of a large listing run slower).
        $compile = "Add-Type -Path $paths -OutputAssembly '$interopDll' -OutputType Library -CompilerOptions '-optimize+'"
        Invoke-Native $Pwsh @('-NoProfile', '-NonInteractive', '-Command', $compile)
    }

    # The native library for this platform, where the interop layer looks for it, and pim-emulator
    # beside it (emulator/<rid>/), so that an installed module can be tried without a tenant.
    $rid = Get-PimBridgeRid
    $native = Join-Path $ModuleOut "runtimes/$rid/native"
    $emulator = Join-Path $ModuleOut "emulator/$rid"
    New-Item -ItemType Directory -Force -Path $native, $emulator | Out-Null
    Copy-Item -Path (Join-Path $Release (Get-PimBridgeFileName -Rid $rid -Kind Native)) -Destination $native -Force
    Copy-Item -Path (Join-Path $Release (Get-PimBridgeFileName -Rid $rid -Kind Emulator)) -Destination $emulator -Force
}

function Remove-ScriptComment {
    # The script without its line comments, as PowerShell's tokenizer finds them (never text inside
    # a string): a comment alone on its line goes with its line. Kept: block comments (<# #>, where
    # comment-based help lives), line comments that hold help keywords (# .SYNOPSIS), #requires, and
    # the '# ---- Private/X.ps1' lines that say where each part of the built psm1 comes from.
    param([Parameter(Mandatory)] [string] $Text)
    $tokens = $null
    $errors = $null
    $null = [System.Management.Automation.Language.Parser]::ParseInput($Text, [ref] $tokens, [ref] $errors)
    if ($errors) { throw "The module does not parse: $($errors[0].Message) ($($errors[0].Extent.StartLineNumber))" }
    $kept = [System.Text.StringBuilder]::new($Text.Length)
    $at = 0
    foreach ($token in $tokens) {
        if ($token.Kind -ne 'Comment') { continue }
        $comment = $token.Text
        if ($comment.StartsWith('<#') -or $comment -match '^#\s*(requires\b|\.[A-Za-z]|---- )') { continue }
        $start = $token.Extent.StartOffset
        $end = $token.Extent.EndOffset
        $lineStart = $Text.LastIndexOf("`n", [Math]::Max(0, $start - 1)) + 1
        if ($start -eq 0) { $lineStart = 0 }
        if ($Text.Substring($lineStart, $start - $lineStart).Trim() -eq '') {
            # Alone on its line: the line goes, with its end.
            $start = $lineStart
            if ($end -lt $Text.Length -and $Text[$end] -eq "`r") { $end++ }
            if ($end -lt $Text.Length -and $Text[$end] -eq "`n") { $end++ }
        } else {
            # After code: the spaces before it go too.
            while ($start -gt $at -and $Text[$start - 1] -in ' ', "`t") { $start-- }
        }
        $null = $kept.Append($Text, $at, $start - $at)
        $at = $end
    }
    $null = $kept.Append($Text, $at, $Text.Length - $at)
    $kept.ToString()
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

function Invoke-Test {
    # Every suite, with its full output in a log; a short summary at the end, pass or fail.
    Install-Pester
    $logs = Join-Path $Out 'test-logs'
    New-Item -ItemType Directory -Force -Path $logs | Out-Null
    $log = Join-Path $logs ('test-{0:yyyyMMdd-HHmmss}.log' -f (Get-Date))
    Write-Host "Full output: $log"
    Write-Step 'cargo fmt --check'
    $checks = @(Invoke-CheckSuite -Suite 'Format (cargo fmt)' -Log $log -File cargo -Arguments @('fmt', '--all', '--check'))
    Write-Step 'cargo clippy -D warnings'
    $checks += Invoke-CheckSuite -Suite 'Lint (cargo clippy)' -Log $log -File cargo -Arguments @('clippy', '--workspace', '--all-targets', '--locked', '--features', 'test-panic', '--', '-D', 'warnings')
    $build = New-SuiteResult 'Build (release, module)'
    try { Build-PimBridge -Log $log; $build.Passed = 1 } catch { $build.Failed = 1; Add-SuiteFailure $build 'build' "$($_.Exception.Message)" }
    $checks += $build
    $runs = [System.Collections.Generic.List[object]]::new()
    for ($i = 1; $i -le $Repeat; $i++) {
        if ($Repeat -gt 1) { Write-Step "Run $i of $Repeat" }
        $suites = @(Invoke-TestSuites -Log $log -Pwsh $Pwsh -BuildFailed:($build.Failed -gt 0))
        $runs.Add($suites)
        if ($Repeat -gt 1) {
            $p = ($suites | Measure-Object Passed -Sum).Sum
            $f = @($suites | Where-Object { Test-SuiteFailed $_ }).Count
            Write-Host ('   run {0}: {1} passed, {2} suite(s) failed' -f $i, $p, $f)
        }
    }
    if ($Repeat -gt 1) { Write-FlakeReport -Runs $runs.ToArray() }
    # One summary over every run: the checks once, the suites' counts added up.
    $all = @($checks) + @($runs | ForEach-Object { $_ })
    $ok = Write-TestSummary -Results $all -Log $log
    if (-not $ok) { exit 1 }
}

function Invoke-Package {
    # A fresh layout, so nothing left from an earlier build is packed.
    Remove-Item -Recurse -Force -ErrorAction Ignore $ModuleOut
    Build-PimBridge
    if ($Runtimes) {
        Write-Step "Adding the platforms built elsewhere, from $Runtimes"
        Add-PimBridgeRuntime -ModuleOut $ModuleOut -From $Runtimes
    }
    Get-PimBridgeRuntimeReport -ModuleOut $ModuleOut | Format-Table | Out-Host
    $nupkg = New-PimBridgePackage -ModuleOut $ModuleOut -Destination $Out -Pwsh $Pwsh
    Write-Step "Packaged $nupkg (Install-PSResource PimBridge -Repository <a repository holding it>)"
}

Import-Module (Join-Path $Root 'tools/TestSuites.psm1') -Force
Import-Module (Join-Path $Root 'tools/Package.psm1') -Force

if ($Task -in 'Demo', 'Bench', 'Soak' -and -not $env:PIMBRIDGE_DECISION_LOG) {
    # Their decisions go to pim-emulator: recorded in a decision log of this run, never in the
    # user's own (the data folder's) log. The Pester tests do the same (tests/pester/TestHelpers.ps1).
    $env:PIMBRIDGE_DECISION_LOG = Join-Path ([IO.Path]::GetTempPath()) "pimbridge-$($Task.ToLowerInvariant())-$PID/decisions.jsonl"
}

switch ($Task) {
    'Build' { Build-PimBridge }
    'Test' { Invoke-Test }
    'Demo' { Build-PimBridge; & (Join-Path $Root 'tools/Demo.ps1') -ModuleOut $ModuleOut }
    'Bench' { Build-PimBridge; & (Join-Path $Root 'bench/Bench.ps1') -ModuleOut $ModuleOut -Pwsh $Pwsh -BenchRuns $BenchRuns -BenchSizes $BenchSizes }
    'Soak' { Build-PimBridge; & (Join-Path $Root 'bench/Soak.ps1') -ModuleOut $ModuleOut }
    'Package' { Invoke-Package }
    'Header' {
        $env:PIM_BLESS_HEADER = '1'
        try { Invoke-Native cargo @('test', '--locked', '--test', 'header') } finally { Remove-Item Env:PIM_BLESS_HEADER }
        Write-Step 'include/pim_bridge.h regenerated'
    }
    'Bootstrap' { Install-Pester }
    'Clean' { Remove-Item -Recurse -Force -ErrorAction Ignore $Out, (Join-Path $Root 'target'), (Join-Path $Root 'tests/c/build') }
}

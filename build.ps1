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
  pwsh ./build.ps1 -Task Bench     reserved for the benchmarks
  pwsh ./build.ps1 -Task Package   out/PimBridge-<version>.zip, ready to unpack into a module path
  pwsh ./build.ps1 -Task Header    regenerates include/pim_bridge.h with cbindgen
  pwsh ./build.ps1 -Task Bootstrap installs Pester (PowerShell Gallery, else NuGet through dotnet)
  pwsh ./build.ps1 -Task Clean     removes out/ and target/

.PARAMETER Task
What to do (Build when omitted).
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Demo', 'Bench', 'Package', 'Header', 'Bootstrap', 'Clean')]
    [string] $Task = 'Build'
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
    $runs = @(@{ Name = 'plain'; Prefix = @() })
    if (Get-Command valgrind -ErrorAction Ignore) {
        $runs += @{ Name = 'valgrind'; Prefix = @('valgrind', '--leak-check=full', '--error-exitcode=1', '--errors-for-leak-kinds=definite,possible') }
    } else {
        Write-Warning 'valgrind is not installed: the C tests run only plainly.'
    }
    foreach ($run in $runs) {
        $emulator = Start-Emulator -Scenario demo
        try {
            $token = Get-EmulatorToken $emulator
            $expired = Get-EmulatorToken $emulator @{ expiresIn = -60 }
            Write-Step "C: tests/c/pim_test ($($run.Name))"
            $command = @($run.Prefix) + @($exe, $emulator.Uri, $token, $expired)
            $output = & $command[0] @($command | Select-Object -Skip 1) 2>&1
            $code = $LASTEXITCODE
            $output | Where-Object { "$_" -match 'passed|FAIL|ERROR SUMMARY|definitely lost|possibly lost' } | ForEach-Object { "   $_" -replace [regex]::Escape($token), '<token>' }
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
    'Bench' { throw 'The Bench task is not written yet (see the issue "Bulk decisions at the speed of the network").' }
    'Package' { Invoke-Package }
    'Header' {
        $env:PIM_BLESS_HEADER = '1'
        try { Invoke-Native cargo @('test', '--locked', '--test', 'header') } finally { Remove-Item Env:PIM_BLESS_HEADER }
        Write-Step 'include/pim_bridge.h regenerated'
    }
    'Bootstrap' { Install-Pester }
    'Clean' { Remove-Item -Recurse -Force -ErrorAction Ignore $Out, (Join-Path $Root 'target'), (Join-Path $Root 'tests/c/build') }
}

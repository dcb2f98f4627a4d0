# Shared by the Pester tests: a real pim-emulator on a free loopback port (tools/Emulator.psm1:
# Start-Emulator, Get-EmulatorToken, Get-EmulatorDecision, Wait-Emulator, ...), and the
# built module. Dot-source in BeforeAll.

$script:RepoRoot = if ($env:PIMBRIDGE_ROOT) { $env:PIMBRIDGE_ROOT } else { (Resolve-Path "$PSScriptRoot/../..").Path }
$script:ModulePath = Join-Path $script:RepoRoot 'out/PimBridge'
Import-Module (Join-Path $script:RepoRoot 'tools/Emulator.psm1') -Global

# Decisions the tests send are recorded in a decision log of this test process, never in the
# user's data folder (the default): every pwsh the tests start inherits it. A test of the log sets
# its own (-LogPath, or PIMBRIDGE_DECISION_LOG for a child process).
if (-not $env:PIMBRIDGE_DECISION_LOG) {
    $env:PIMBRIDGE_DECISION_LOG = Join-Path ([IO.Path]::GetTempPath()) "pimbridge-tests-$PID/decisions.jsonl"
}

function New-TestToken($Emulator, [hashtable] $Body = @{}) {
    # A token the emulator minted, as -AccessToken takes it.
    ConvertTo-SecureString (Get-EmulatorToken $Emulator $Body) -AsPlainText -Force
}

function New-CapturePowerShell([int] $Choice = 2, [int] $Width = 0) {
    # A PowerShell in a runspace of its own whose host keeps everything written to it (-WhatIf
    # text, the -Confirm prompt, answered with -Choice, warnings written to the host, Set-PSDebug
    # trace lines): see CaptureHost.cs; with -Width, a console of that many columns. The built module
    # is imported. Returns @{ PowerShell; Host }.
    if (-not ('PimBridgeTests.CaptureHost' -as [type])) {
        Add-Type -Path (Join-Path $PSScriptRoot 'CaptureHost.cs')
    }
    $captureHost = [PimBridgeTests.CaptureHost]::new($Choice, $Width)
    $runspace = [runspacefactory]::CreateRunspace($captureHost)
    $runspace.Open()
    $ps = [powershell]::Create()
    $ps.Runspace = $runspace
    $null = $ps.AddCommand('Import-Module').AddParameter('Name', $ModulePath).AddStatement()
    @{ PowerShell = $ps; Host = $captureHost }
}

function Invoke-CaptureHost([scriptblock] $Script, [object[]] $ArgumentList = @(), [int] $Choice = 2, [int] $Width = 0) {
    # Runs -Script (with -ArgumentList) on a capturing host (a console -Width wide, if given);
    # returns @{ Output; Errors; Verbose; Progress; Text; Prompts } (the streams' records).
    $capture = New-CapturePowerShell -Choice $Choice -Width $Width
    $ps = $capture.PowerShell
    try {
        $null = $ps.AddScript($Script.ToString())
        foreach ($argument in $ArgumentList) { $null = $ps.AddArgument($argument) }
        $output = @($ps.Invoke())
        @{ Output = $output; Errors = @($ps.Streams.Error); Verbose = @($ps.Streams.Verbose); Progress = @($ps.Streams.Progress); Text = $capture.Host.Text; Prompts = $capture.Host.Prompts }
    } finally {
        $ps.Runspace.Dispose()
        $ps.Dispose()
    }
}

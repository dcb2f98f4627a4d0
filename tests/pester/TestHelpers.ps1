# Shared by the Pester tests: a real pim-emulator on a free loopback port (tools/Emulator.psm1:
# Start-Emulator, Get-EmulatorToken, Get-EmulatorDecision, Wait-Emulator, ...), and the
# built module. Dot-source in BeforeAll.

$script:RepoRoot = if ($env:PIMBRIDGE_ROOT) { $env:PIMBRIDGE_ROOT } else { (Resolve-Path "$PSScriptRoot/../..").Path }
$script:ModulePath = Join-Path $script:RepoRoot 'out/PimBridge'
Import-Module (Join-Path $script:RepoRoot 'tools/Emulator.psm1') -Global

function New-TestToken($Emulator, [hashtable] $Body = @{}) {
    # A token the emulator minted, as -AccessToken takes it.
    ConvertTo-SecureString (Get-EmulatorToken $Emulator $Body) -AsPlainText -Force
}

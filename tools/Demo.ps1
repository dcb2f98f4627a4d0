#Requires -Version 7.4
<#
.SYNOPSIS
The demo behind `pwsh ./build.ps1 -Task Demo`: starts pim-emulator with its demo tenant, lists what
waits on the demo approver on all three surfaces, approves some, denies others, and shows what the
emulator received.
#>
[CmdletBinding()]
param([Parameter(Mandatory)] [string] $ModuleOut)

Set-StrictMode -Version 3.0
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot 'Emulator.psm1') -Force

function Write-Step([string] $Message) { Write-Host "==> $Message" -ForegroundColor Cyan }

# The tables follow the terminal's width (Out-Host), as a user's console shows them: within 80
# columns who, which role, for how long and why; wider terminals show more columns.

function Invoke-Demo {
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
        $pending | Format-Table | Out-Host

        Write-Step 'Approve-PimRequest and Deny-PimRequest, one pipeline each, across the surfaces'
        $approve = $pending | Where-Object { $_.Principal -eq 'Alex Wilber' -and $_.Surface -eq 'DirectoryRole' -or $_.Principal -in 'Isaiah Langer', 'Johanna Lorenz' }
        $deny = $pending | Where-Object { $_.Principal -eq 'Lee Gu' -or $_.Principal -eq 'Nestor Wilke' }
        $decisions = @(
            $approve | Approve-PimRequest -Justification 'CHG0004821 approved by the CAB on Tuesday' -Confirm:$false @common
            $deny | Deny-PimRequest -Justification 'Please attach the security incident number first' -Confirm:$false @common
        )
        $decisions | Format-Table | Out-Host

        Write-Step 'What the emulator received (/_emulator/decisions)'
        (Invoke-RestMethod -Uri "$($emulator.Uri)/_emulator/decisions").value |
            Format-Table approvalId, reviewResult, justification, time | Out-Host

        Write-Step 'Still waiting'
        Get-PimPending @common | Format-Table | Out-Host
    } finally {
        Stop-Emulator $emulator
    }
}

Invoke-Demo

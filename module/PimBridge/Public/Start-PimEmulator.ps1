function Start-PimEmulator {
    <#
    .SYNOPSIS
    Runs pim-emulator, the local stand-in for the Graph and Azure Resource Manager PIM endpoints that
    ships with PimBridge, in this console.

    .DESCRIPTION
    pim-emulator serves the same routes as Microsoft Graph and Azure Resource Manager for PIM
    approvals, on your machine, with a small tenant of its own: try PimBridge, or test your own
    automation, with no tenant and nothing at risk. It runs in the foreground until you press Ctrl+C,
    and its first line says where it listens (listening http://127.0.0.1:PORT).

    In another console, point PimBridge at it and ask it for tokens:

        $env:PIMBRIDGE_GRAPH_URI = 'http://127.0.0.1:PORT'
        $env:PIMBRIDGE_ARM_URI = 'http://127.0.0.1:PORT'
        $graph = (Invoke-RestMethod -Method Post "$env:PIMBRIDGE_GRAPH_URI/_emulator/token").access_token
        $arm = (Invoke-RestMethod -Method Post "$env:PIMBRIDGE_GRAPH_URI/_emulator/token" -Body '{"audience":"arm"}').access_token
        Get-PimPending -AccessToken (ConvertTo-SecureString $graph -AsPlainText) -ArmAccessToken (ConvertTo-SecureString $arm -AsPlainText)

    GET /_emulator/decisions shows every decision it received. Run Start-PimEmulator -ArgumentList
    '--help' for everything it can do (faults, throttling, forms of the service's answers).

    .PARAMETER Scenario
    The tenant to start with: demo (a few requests on every surface), empty, or bulk:N (N pending
    directory-role requests for the default approver).

    .PARAMETER Listen
    The address to listen on; port 0 picks a free port.

    .PARAMETER ArgumentList
    More of pim-emulator's own options, for example '--latency-ms', '50'.

    .EXAMPLE
    Start-PimEmulator

    Serves the demo tenant on a free port of 127.0.0.1 until Ctrl+C.

    .EXAMPLE
    Start-PimEmulator -Scenario bulk:500 -Listen 127.0.0.1:5050 -ArgumentList '--latency-ms', '50'

    Five hundred pending requests on a fixed port, each answer 50 ms late, as over a real network.

    .LINK
    about_PimBridge
    #>
    [CmdletBinding()]
    param(
        [string] $Scenario = 'demo',
        [string] $Listen = '127.0.0.1:0',
        [string[]] $ArgumentList = @()
    )
    $rid = [PimBridge.Interop.NativeLibraryLocator]::Rid
    $path = Microsoft.PowerShell.Management\Join-Path $PSScriptRoot "emulator/$rid/pim-emulator$(if ($IsWindows) { '.exe' })"
    if (-not (Microsoft.PowerShell.Management\Test-Path -LiteralPath $path)) {
        $message = "pim-emulator is not in this copy of PimBridge for $rid (looked for '$path'). Build it with 'pwsh ./build.ps1' in a clone of the repository."
        $record = [System.Management.Automation.ErrorRecord]::new([System.IO.FileNotFoundException]::new($message), 'PimBridge.EmulatorNotFound', 'ObjectNotFound', $path)
        $PSCmdlet.ThrowTerminatingError($record)
    }
    if (-not $IsWindows) {
        # A package keeps no file modes: make the emulator executable again where it was installed.
        $mode = [System.IO.File]::GetUnixFileMode($path)
        $execute = [System.IO.UnixFileMode]::UserExecute
        if (-not ($mode -band $execute)) {
            [System.IO.File]::SetUnixFileMode($path, $mode -bor $execute -bor [System.IO.UnixFileMode]::GroupExecute -bor [System.IO.UnixFileMode]::OtherExecute)
        }
    }
    & $path --listen $Listen --scenario $Scenario @ArgumentList
}

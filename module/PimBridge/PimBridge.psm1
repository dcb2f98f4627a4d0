# PimBridge: list, approve and deny Microsoft Entra PIM requests from PowerShell 7.
# The work is done by the native pim_bridge library through PimBridge.Interop.dll (RequiredAssemblies);
# this module obtains the token, prompts, shows progress, and reports errors. The objects it outputs
# (PimBridge.PendingRequest, PimBridge.Decision) are classes of that assembly, read from the
# library's JSON there. Importing does no work: it defines functions and empty session state.
Set-StrictMode -Version 3.0

#region functions
# build.ps1 replaces this region with the contents of Private/ and Public/, so the built module is
# one file (faster to import). From a source checkout the files are dot-sourced.
foreach ($folder in 'Private', 'Public') {
    foreach ($file in Microsoft.PowerShell.Management\Get-ChildItem -Path "$PSScriptRoot/$folder" -Filter '*.ps1') {
        . $file.FullName
    }
}
#endregion functions

# Per-session state: native clients by endpoints, the tokens read from Connect-MgGraph and
# Connect-AzAccount sessions, and what the native library says about the surfaces (read when first
# needed, so that importing loads nothing native).
$script:PimClients = @{}
# A traced handle on each client, per trace level (pim_client_with_trace): key "<client key>|<level>".
$script:PimTracedClients = @{}
$script:MgTokenCache = $null
$script:AzTokenCache = $null
$script:PimSurfaceCatalog = $null
$script:PimConnectCommand = $null

$MyInvocation.MyCommand.ScriptBlock.Module.OnRemove = {
    foreach ($entry in $script:PimTracedClients.Values) { $entry.Traced.Dispose() }
    $script:PimTracedClients = @{}
    foreach ($client in $script:PimClients.Values) { $client.Dispose() }
    $script:PimClients = @{}
    $script:MgTokenCache = $null
    $script:AzTokenCache = $null
    $script:PimListingCache = $null
}

# Completion of -Role, -Principal and -ApprovalId from the last listing (Private/Completion.ps1).
$completer = {
    param($commandName, $parameterName, $wordToComplete, $commandAst, $fakeBoundParameters)
    $null = $commandAst
    $completion = @{ CommandName = $commandName; ParameterName = $parameterName; WordToComplete = $wordToComplete; FakeBoundParameters = $fakeBoundParameters }
    Complete-PimArgument @completion
}
foreach ($completion in @(
        @{ CommandName = 'Get-PimPending'; ParameterName = 'Role' }
        @{ CommandName = 'Get-PimPending'; ParameterName = 'Principal' }
        @{ CommandName = 'Approve-PimRequest', 'Deny-PimRequest'; ParameterName = 'ApprovalId' }
    )) {
    Microsoft.PowerShell.Core\Register-ArgumentCompleter @completion -ScriptBlock $completer
}

# What is exported is the manifest's FunctionsToExport alone: no Export-ModuleMember here, a cmdlet
# less to run at import.

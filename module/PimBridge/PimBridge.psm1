# PimBridge: list, approve and deny Microsoft Entra PIM requests from PowerShell 7.
# The work is done by the native pim_bridge library through PimBridge.Interop.dll (RequiredAssemblies);
# this module obtains the token, prompts, shows progress, and turns results into objects and errors.
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

# The views show the service's text through ToInertText (Format-PimInertText, Private/Display.ps1):
# format data runs outside the module, so the one sanitiser is handed to it as a type method; and
# the objects' own text (ToString, as error views show a target) goes through it too.
foreach ($typeName in 'PimBridge.PendingRequest', 'PimBridge.Decision') {
    Microsoft.PowerShell.Utility\Update-TypeData -TypeName $typeName -MemberType ScriptMethod -MemberName 'ToInertText' -Value ${function:Format-PimInertText} -Force
    Microsoft.PowerShell.Utility\Update-TypeData -TypeName $typeName -MemberType ScriptMethod -MemberName 'ToString' -Value $script:PimInertToString -Force
}

# Per-session state: native clients by endpoints, the tokens read from Connect-MgGraph and
# Connect-AzAccount sessions, and what the native library says about the surfaces (read when first
# needed, so that importing loads nothing native).
$script:PimClients = @{}
$script:MgTokenCache = $null
$script:AzTokenCache = $null
$script:PimSurfaceCatalog = $null
$script:PimConnectCommand = $null
# Results are read as hashtables (lighter than objects: a 10,000-request listing stays small).
# PowerShell 7.5+ can keep ISO dates as strings (-DateKind, added in 7.5); 7.4 turns them into
# DateTime, which ConvertTo-PimDate accepts too. Decided by version, so import loads nothing more.
$script:JsonArgs = @{ Depth = 8; AsHashtable = $true }
if ($PSVersionTable.PSVersion -ge [version]'7.5') {
    $script:JsonArgs['DateKind'] = 'String'
}

$MyInvocation.MyCommand.ScriptBlock.Module.OnRemove = {
    foreach ($client in $script:PimClients.Values) { $client.Dispose() }
    $script:PimClients = @{}
    $script:MgTokenCache = $null
    $script:AzTokenCache = $null
}

Export-ModuleMember -Function 'Get-PimPending', 'Approve-PimRequest', 'Deny-PimRequest', 'Start-PimEmulator'

@{
    RootModule           = 'PimBridge.psm1'
    # Stamped from Cargo.toml by build.ps1; the source copy is never published.
    ModuleVersion        = '0.0.0'
    GUID                 = '4b6f2a57-2d1e-4b8e-9f3c-5a0e7c1d9b21'
    Author               = 'The PimBridge authors'
    CompanyName          = 'PimBridge'
    Copyright            = '(c) The PimBridge authors. MIT License.'
    Description          = 'List, approve and deny Microsoft Entra Privileged Identity Management (PIM) requests, one or a thousand at a time, quickly and safely. Reuses your Connect-MgGraph session.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    RequiredAssemblies   = @('PimBridge.Interop.dll')
    FormatsToProcess     = @('PimBridge.Format.ps1xml')
    FunctionsToExport    = @('Approve-PimRequest', 'Deny-PimRequest', 'Get-PimDecisionLog', 'Get-PimPending', 'Invoke-PimPolicy', 'Start-PimEmulator', 'Test-PimDecisionLog', 'Test-PimPolicy', 'Watch-PimPending')
    CmdletsToExport      = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('PIM', 'PrivilegedIdentityManagement', 'Entra', 'AzureAD', 'MicrosoftGraph', 'Approval', 'Security', 'Identity')
            # The placeholders below are stamped by build.ps1: the address from Cargo.toml, the notes from CHANGELOG.md.
            ProjectUri   = '{{Repository}}'
            LicenseUri   = '{{Repository}}/blob/main/LICENSE'
            ReleaseNotes = '{{ReleaseNotes}}'
        }
    }
}

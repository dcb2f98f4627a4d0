function Test-PimPolicy {
    <#
    .SYNOPSIS
    Shows what a policy would decide for each pending PIM request, and why; sends nothing.

    .DESCRIPTION
    Test-PimPolicy is the dry run of Invoke-PimPolicy. It loads the policy file (a PowerShell data
    file, .psd1, or a JSON file; docs/policy.md explains every key), evaluates it against the
    requests piped in (from Get-PimPending or Watch-PimPending), or, when nothing is piped, against
    every request waiting on you, and outputs one PimBridge.PolicyResult per request: the request,
    the rule that matched (none: a person decides), the action (Approve, Deny or Skip), the
    justification that would be sent, a summary, and the reasons: each condition of each rule
    tried, whether it held, and why.

    Nothing is approved or denied, and nothing is written to the decision log. The rules are
    evaluated by the native library, at the current time (for Window, RequestedWithin, OlderThan).
    A request of yours (its principal is the signed-in approver) is always skipped.

    A policy that cannot be used is refused before anything is read, with an error
    (PimBridge.InvalidPolicy) that names the file, and for each problem the rule and the key. A rule
    that would approve every request is refused unless -Force is given.

    .PARAMETER Path
    The policy file: .psd1 or .json.

    .PARAMETER InputObject
    Requests to evaluate: PimBridge.PendingRequest objects from Get-PimPending or Watch-PimPending
    (or any object with the same properties). Without pipeline input, every request waiting on you
    is listed and evaluated.

    .PARAMETER Force
    Loads a policy with a rule that approves every request (an Approve rule with no condition that
    narrows it), which is refused otherwise.

    .PARAMETER Surface
    When nothing is piped: which surfaces to list (DirectoryRole, Group, AzureResource).

    .PARAMETER AccessToken
    A Microsoft Graph access token of the approver, as a SecureString. Without it, the token of the
    current Connect-MgGraph session is used. It tells who you are (your own requests are never
    decided by a rule) and lists directory role and group requests.

    .PARAMETER GraphUri
    The Microsoft Graph root to call. Defaults to $env:PIMBRIDGE_GRAPH_URI, else the cloud of your
    Connect-MgGraph session, else https://graph.microsoft.com.

    .PARAMETER ArmAccessToken
    An Azure Resource Manager access token of the approver, as a SecureString, for Azure resource
    requests. Without it, the Connect-AzAccount session is used when Az.Accounts is loaded.

    .PARAMETER ArmUri
    The Azure Resource Manager root to call. Defaults to $env:PIMBRIDGE_ARM_URI, else the cloud of
    your Connect-AzAccount session, else https://management.azure.com.

    .EXAMPLE
    PS> Test-PimPolicy -Path .\pim-policy.psd1

    Lists what waits on you and shows, as a table, what the policy would do with each request.

    .EXAMPLE
    PS> Get-PimPending -Surface Group | Test-PimPolicy -Path .\pim-policy.psd1 | Where-Object Action -eq 'Skip' | Format-List Principal, Role, Summary

    Shows the group requests the policy leaves to a person, and why.

    .EXAMPLE
    PS> (Test-PimPolicy -Path .\pim-policy.psd1 | Select-Object -First 1).Reasons

    Shows every condition tried for the first request, whether it held, and why.

    .INPUTS
    PimBridge.PendingRequest

    .OUTPUTS
    PimBridge.PolicyResult

    .LINK
    Invoke-PimPolicy

    .LINK
    about_PimBridge
    #>
    [CmdletBinding()]
    [OutputType('PimBridge.PolicyResult')]
    param(
        [Parameter(Mandatory, Position = 0)]
        [string] $Path,

        [Parameter(ValueFromPipeline)]
        [object[]] $InputObject,

        [switch] $Force,

        [ValidateSet('DirectoryRole', 'Group', 'AzureResource')]
        [string[]] $Surface,

        [securestring] $AccessToken,

        [string] $GraphUri,

        [securestring] $ArmAccessToken,

        [string] $ArmUri
    )

    begin {
        $policy = $null
        $policy = Open-PimCommandPolicy -Cmdlet $PSCmdlet -Path $Path -Force:$Force
        # The caller, looked up once; and whether any request was given at all.
        $session = @{}
        $given = $false
    }

    process {
        # Each step's requests are evaluated as they come: Watch-PimPending | Test-PimPolicy says
        # what the policy would do with each new request when it appears.
        $requests = @(foreach ($item in @($InputObject)) { if ($null -ne $item) { $item } })
        if ($requests.Count -eq 0) { return }
        $given = $true
        Get-PimCommandPolicyResult -Cmdlet $PSCmdlet -Policy $policy -Requests $requests -Connection $PSBoundParameters -Session $session
    }

    end {
        if ($given -or $MyInvocation.ExpectingInput) { return }
        $listed = Get-PimPolicyListing -Connection $PSBoundParameters
        Get-PimCommandPolicyResult -Cmdlet $PSCmdlet -Policy $policy -Requests $listed -Connection $PSBoundParameters -Session $session
    }

    clean {
        if ($null -ne $policy) { $policy.Dispose() }
    }
}

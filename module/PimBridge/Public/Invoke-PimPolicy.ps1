function Invoke-PimPolicy {
    <#
    .SYNOPSIS
    Applies a policy: approves and denies the pending PIM requests its rules decide, and leaves the
    rest to a person.

    .DESCRIPTION
    Invoke-PimPolicy evaluates the policy file as Test-PimPolicy does (against the requests piped in,
    or every request waiting on you) and sends the decisions its rules make: each request whose
    first matching rule says Approve or Deny is decided with that rule's justification, through the
    same machinery as Approve-PimRequest and Deny-PimRequest (several at a time, each request once,
    a progress bar, Ctrl+C stops). Piped requests are evaluated and sent as they come, so
    Watch-PimPending | Invoke-PimPolicy decides each new request when it appears.

    Each request is confirmed first (ConfirmImpact is High): the prompt names the person, the role,
    the scope, the duration, the rule and the action. Pass -Confirm:$false in scripts and scheduled
    runs. -WhatIf shows, per request, what Test-PimPolicy shows (the rule, the action and why) and
    sends nothing.

    One PimBridge.Decision comes out per decided request, with a Rule property naming the rule. The
    requests left to a person (Skip, no rule matched, your own requests) are reported in one warning
    listing each and why, at the end (or on the host when stopped); -Verbose says each as it comes. A request that cannot be decided is a non-terminating error, as for
    Approve-PimRequest.

    Every decision is recorded in the decision log (an intent line before it is sent, an outcome
    after, with the rule's name); when the intent cannot be written, nothing is sent.

    .PARAMETER Path
    The policy file: .psd1 or .json (docs/policy.md).

    .PARAMETER InputObject
    Requests to decide: PimBridge.PendingRequest objects from Get-PimPending or Watch-PimPending.
    Without pipeline input, every request waiting on you is listed and evaluated.

    .PARAMETER Force
    Loads a policy with a rule that approves every request, which is refused otherwise. (It does
    not skip the confirmation: that is -Confirm:$false.)

    .PARAMETER LogPath
    The decision log (an absolute path), or 'off'. Default: PIMBRIDGE_DECISION_LOG, else
    decisions.jsonl in the PimBridge folder of your data folder.

    .PARAMETER Surface
    When nothing is piped: which surfaces to list (DirectoryRole, Group, AzureResource).

    .PARAMETER AccessToken
    A Microsoft Graph access token of the approver, as a SecureString. Without it, the token of the
    current Connect-MgGraph session is used.

    .PARAMETER GraphUri
    The Microsoft Graph root to call. Defaults to $env:PIMBRIDGE_GRAPH_URI, else the cloud of your
    Connect-MgGraph session, else https://graph.microsoft.com.

    .PARAMETER ArmAccessToken
    An Azure Resource Manager access token of the approver, as a SecureString, for Azure resource
    requests. Without it, the Connect-AzAccount session is used when Az.Accounts is loaded.

    .PARAMETER ArmUri
    The Azure Resource Manager root to call. Defaults to $env:PIMBRIDGE_ARM_URI, else the cloud of
    your Connect-AzAccount session, else https://management.azure.com.

    .PARAMETER WhatIf
    Shows what the policy would do with each request, and sends nothing.

    .PARAMETER Confirm
    Asks before each request (the default). -Confirm:$false asks nothing.

    .EXAMPLE
    PS> Invoke-PimPolicy -Path .\pim-policy.psd1 -WhatIf

    Shows what the policy would approve and deny, rule by rule, and sends nothing.

    .EXAMPLE
    PS> Invoke-PimPolicy -Path .\pim-policy.psd1 -Confirm:$false

    Applies the policy without asking: for a scheduled run (see docs/azure-automation-runbook.md).

    .EXAMPLE
    PS> Get-PimPending -Surface Group | Invoke-PimPolicy -Path .\pim-policy.psd1 | Format-Table Principal, Role, Result, Rule

    Applies the policy to the group requests only, asking about each, and shows which rule decided what.

    .EXAMPLE
    PS> Watch-PimPending -Interval 00:05:00 | Invoke-PimPolicy -Path .\pim-policy.psd1 -Confirm:$false -LogPath /var/log/pim/decisions.jsonl

    Decides each new request as it appears, recording every decision in a log of your choice.
    Ctrl+C stops both, and says what was decided and what was left to a person.

    .INPUTS
    PimBridge.PendingRequest

    .OUTPUTS
    PimBridge.Decision

    .LINK
    Test-PimPolicy

    .LINK
    Get-PimDecisionLog

    .LINK
    about_PimBridge
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
    [OutputType('PimBridge.Decision')]
    param(
        [Parameter(Mandatory, Position = 0)]
        [string] $Path,

        [Parameter(ValueFromPipeline)]
        [object[]] $InputObject,

        [switch] $Force,

        [string] $LogPath,

        [ValidateSet('DirectoryRole', 'Group', 'AzureResource')]
        [string[]] $Surface,

        [securestring] $AccessToken,

        [string] $GraphUri,

        [securestring] $ArmAccessToken,

        [string] $ArmUri
    )

    begin {
        $policy = $null
        $log = $null
        $decisions = $null
        $policy = Open-PimCommandPolicy -Cmdlet $PSCmdlet -Path $Path -Force:$Force
        $log = Open-PimCommandDecisionLog -Cmdlet $PSCmdlet -LogPath $LogPath -WhatIf:$WhatIfPreference
        $decisions = New-PimPolicyRun -Cmdlet $PSCmdlet -Connection $PSBoundParameters -Log $log
        # The caller, looked up once (Get-PimCommandPolicyResult).
        $session = @{}
        $given = $false
    }

    process {
        # Each step's requests are evaluated and decided as they come: Watch-PimPending |
        # Invoke-PimPolicy decides each new request when it appears, not when the watch ends.
        $requests = @(foreach ($item in @($InputObject)) { if ($null -ne $item) { $item } })
        if ($requests.Count -eq 0) { return }
        $given = $true
        $results = @(Get-PimCommandPolicyResult -Cmdlet $PSCmdlet -Policy $policy -Requests $requests -Connection $PSBoundParameters -Session $session)
        Add-PimPolicyDecision -PolicyRun $decisions -Result $results
    }

    end {
        if (-not $given -and -not $MyInvocation.ExpectingInput) {
            $listed = Get-PimPolicyListing -Connection $PSBoundParameters
            $results = @(Get-PimCommandPolicyResult -Cmdlet $PSCmdlet -Policy $policy -Requests $listed -Connection $PSBoundParameters -Session $session)
            Add-PimPolicyDecision -PolicyRun $decisions -Result $results
        }
        Complete-PimPolicyRun -PolicyRun $decisions
    }

    clean {
        # Stopped early: every run accounts for what it confirmed (Stop-PimDecisionRun).
        Stop-PimPolicyRun -PolicyRun $decisions
        if ($null -ne $policy) { $policy.Dispose() }
        Close-PimDecisionLog -Log $log
    }
}

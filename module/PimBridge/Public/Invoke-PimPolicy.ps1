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
    a progress bar, Ctrl+C stops). Requests with the same action and justification go out as one
    operation.

    Each request is confirmed first (ConfirmImpact is High): the prompt names the person, the role,
    the scope, the duration, the rule and the action. Pass -Confirm:$false in scripts and scheduled
    runs. -WhatIf shows, per request, what Test-PimPolicy shows (the rule, the action and why) and
    sends nothing.

    One PimBridge.Decision comes out per decided request, with a Rule property naming the rule. The
    requests left to a person (Skip, no rule matched, your own requests) are reported in one warning
    listing each and why. A request that cannot be decided is a non-terminating error, as for
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
    PS> Watch-PimPending -Interval 00:05:00 | ForEach-Object { $_ | Invoke-PimPolicy -Path .\pim-policy.psd1 -Confirm:$false -LogPath /var/log/pim/decisions.jsonl }

    Decides each new request as it appears, recording every decision in a log of your choice.
    (Invoke-PimPolicy decides what is piped to it when its input ends; ForEach-Object ends it per
    request.)

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
        $policy = Open-PimCommandPolicy -Cmdlet $PSCmdlet -Path $Path -Force:$Force
        $log = Open-PimCommandDecisionLog -Cmdlet $PSCmdlet -LogPath $LogPath -WhatIf:$WhatIfPreference
        $piped = [System.Collections.Generic.List[object]]::new()
    }

    process {
        foreach ($item in @($InputObject)) { if ($null -ne $item) { $piped.Add($item) } }
    }

    end {
        # One result per request (pim_policy_evaluate's contract): none means no request.
        $evaluate = @{ Cmdlet = $PSCmdlet; Policy = $policy; Piped = $piped; ExpectingInput = $MyInvocation.ExpectingInput; Connection = $PSBoundParameters }
        $results = @(Get-PimCommandPolicyResult @evaluate)
        if ($results.Count -eq 0) {
            Microsoft.PowerShell.Utility\Write-Warning -Message 'No requests wait on you; nothing was sent.'
            return
        }
        # The runs to send, one per action and justification, in the order first seen; the rule of each request by its approval id.
        $runs = [ordered]@{}
        $rules = @{}
        $skipped = [System.Collections.Generic.List[object]]::new()
        foreach ($result in $results) {
            if ($result.Action -notin 'Approve', 'Deny') {
                $skipped.Add($result)
                continue
            }
            $target = [PimBridge.Interop.DecisionInput]::ToTarget($result.Request, $null)
            if ($target -is [System.Exception] -or $null -eq $target) {
                $exception = if ($target -is [System.Exception]) { $target } else { New-PimException -Code InvalidInput -Message 'A request without an ApprovalId cannot be decided.' }
                $PSCmdlet.WriteError((New-PimErrorRecord -Exception $exception -TargetObject $result.Request))
                continue
            }
            $target | Microsoft.PowerShell.Utility\Add-Member -NotePropertyName Rule -NotePropertyValue $result.Rule
            $what = Format-PimInertText "$($target.Description): $($result.Action) by rule '$($result.Rule)'. $($result.Summary) Justification: $($result.Justification)"
            if (-not $PSCmdlet.ShouldProcess($what, "$($result.Action) PIM request by policy")) { continue }
            $key = "$($result.Action)`n$($result.Justification)"
            if (-not $runs.Contains($key)) {
                $runs[$key] = @{ Review = $result.Action; Justification = $result.Justification; Run = @{ Targets = [System.Collections.Generic.List[object]]::new(); Received = 0 } }
            }
            $runs[$key].Run.Targets.Add($target)
            $runs[$key].Run.Received++
            $rules["$($result.Surface)|$($result.ApprovalId)"] = $result.Rule
            $rules["|$($result.ApprovalId)"] = $result.Rule
        }
        if ($skipped.Count -gt 0) {
            $lines = foreach ($s in $skipped) { "  $($s.Principal): $($s.Role) at $($s.Scope) ($($s.Surface) $($s.ApprovalId)): $($s.Summary)" }
            $text = "$($skipped.Count) request(s) left to a person:`n" + ($lines -join "`n")
            Microsoft.PowerShell.Utility\Write-Warning -Message (Format-PimInertText $text -Multiline $true)
        }
        foreach ($entry in $runs.Values) {
            $complete = @{ Run = $entry.Run; Cmdlet = $PSCmdlet; Review = $entry.Review; Justification = $entry.Justification; Connection = $PSBoundParameters; Log = $log }
            Complete-PimDecisionRun @complete | Microsoft.PowerShell.Core\ForEach-Object {
                $rule = $rules["$($_.Surface)|$($_.ApprovalId)"]
                if ($null -eq $rule) { $rule = $rules["|$($_.ApprovalId)"] }
                $_ | Microsoft.PowerShell.Utility\Add-Member -NotePropertyName Rule -NotePropertyValue $rule -PassThru
            }
        }
    }

    clean {
        # Stopped early: every run accounts for what it confirmed (Stop-PimDecisionRun).
        $made = Microsoft.PowerShell.Utility\Get-Variable -Name runs -ValueOnly -ErrorAction Ignore
        if ($made) { foreach ($entry in $made.Values) { Stop-PimDecisionRun -Run $entry.Run -Cmdlet $PSCmdlet -Review $entry.Review } }
        if ($null -ne $policy) { $policy.Dispose() }
        Close-PimDecisionLog -Log $log
    }
}

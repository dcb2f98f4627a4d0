function Watch-PimPending {
    <#
    .SYNOPSIS
    Watches for PIM requests waiting on you, and outputs each one once, when it first appears.

    .DESCRIPTION
    Watch-PimPending lists what waits on you (as Get-PimPending does) every -Interval, and outputs
    each request the first time it is seen, as a PimBridge.PendingRequest: the requests already
    waiting when it starts, then each new one as it comes. A request is output once, however many
    times it is listed. Pipe it to a notification, or to Invoke-PimPolicy to decide as requests come.

    It runs until stopped (Ctrl+C, or Select-Object -First N downstream). A listing that fails for a
    reason that passes (throttling, the network, a timeout, a service error) is ridden out: the
    next try waits longer each time (twice the interval, then four times, at most 15 minutes more)
    and -Verbose says so; once a listing succeeds the interval is back to normal. An error that
    does not pass by waiting (no token, a missing permission, a wrong address) stops it.

    .PARAMETER Interval
    How long to wait between listings. Default: one minute.

    .PARAMETER Surface
    Which surfaces to watch: DirectoryRole, Group, AzureResource. Default: every surface for which a
    token is at hand.

    .PARAMETER Role
    Only requests for roles whose name matches one of these patterns (wildcards allowed).

    .PARAMETER Principal
    Only requests of people whose display name or user principal name matches one of these patterns.

    .PARAMETER AccessToken
    A Microsoft Graph access token of the approver, as a SecureString. Without it, the token of the
    current Connect-MgGraph session is used (and read again when it nears expiry).

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
    PS> Watch-PimPending -Interval 00:01:00

    Shows each request waiting on you as it appears, until you press Ctrl+C.

    .EXAMPLE
    PS> $webhook = 'https://contoso.webhook.office.com/webhookb2/...'
    PS> Watch-PimPending -Interval 00:02:00 | ForEach-Object {
    >>     $text = 'PIM request: {0} asks for {1} at {2} for {3}: {4}' -f $_.Principal, $_.Role, $_.Scope, $_.Duration, $_.Justification
    >>     $body = @{ text = $text } | ConvertTo-Json
    >>     Invoke-RestMethod -Method Post -Uri $webhook -Body $body -ContentType 'application/json'
    >> }

    Posts each new request to a Microsoft Teams channel through an incoming webhook, so the approvers
    are alerted instead of checking the portal.

    .EXAMPLE
    PS> Watch-PimPending -Interval 00:05:00 | Invoke-PimPolicy -Path .\pim-policy.psd1 -Confirm:$false

    Applies a policy to each request as it appears, and outputs its Decision then; what the policy
    leaves to a person is said at the end (and under -Verbose as it comes). Ctrl+C stops both.

    .INPUTS
    None.

    .OUTPUTS
    PimBridge.PendingRequest

    .LINK
    Get-PimPending

    .LINK
    about_PimBridge
    #>
    [CmdletBinding()]
    [OutputType('PimBridge.PendingRequest')]
    param(
        [ValidateScript({ $_ -gt [timespan]::Zero })]
        [timespan] $Interval = [timespan]::FromMinutes(1),

        [ValidateSet('DirectoryRole', 'Group', 'AzureResource')]
        [string[]] $Surface,

        [SupportsWildcards()]
        [string[]] $Role,

        [SupportsWildcards()]
        [string[]] $Principal,

        [securestring] $AccessToken,

        [string] $GraphUri,

        [securestring] $ArmAccessToken,

        [string] $ArmUri
    )

    # Error kinds that pass by waiting; any other stops the watch.
    $transient = 'Throttled', 'Network', 'Timeout', 'ConnectionLost', 'ServiceError', 'InvalidResponse', 'OutcomeUnknown', 'ResponseTooLarge'
    $list = @{}
    foreach ($name in 'Surface', 'Role', 'Principal', 'AccessToken', 'GraphUri', 'ArmAccessToken', 'ArmUri') {
        if ($PSBoundParameters.ContainsKey($name)) { $list[$name] = $PSBoundParameters[$name] }
    }
    $seen = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::OrdinalIgnoreCase)
    $failures = 0
    $maxExtra = [timespan]::FromMinutes(15)
    while ($true) {
        $listed = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::OrdinalIgnoreCase)
        $failed = $null
        try {
            foreach ($request in Get-PimPending @list -ErrorAction Stop) {
                $key = "$($request.Surface)|$($request.ApprovalId)"
                $null = $listed.Add($key)
                if ($seen.Add($key)) { $request }
            }
        } catch {
            $failed = $_
        }
        if ($null -eq $failed) {
            if ($failures -gt 0) { Microsoft.PowerShell.Utility\Write-Verbose -Message 'Listing works again; back to the normal interval.' }
            $failures = 0
            # Only what is still listed needs remembering: a request decided or expired is gone for good.
            $seen = $listed
            $wait = $Interval
        } else {
            $inner = Get-PimInnerException -Exception $failed.Exception
            $kind = if ($inner -is [PimBridge.Interop.PimNativeException]) { $inner.Code.ToString() } else { $null }
            if ($kind -notin $transient) {
                $PSCmdlet.ThrowTerminatingError($failed)
            }
            $failures++
            $factor = [math]::Pow(2, [math]::Min($failures, 10))
            $extra = [timespan]::FromTicks([long][math]::Min($Interval.Ticks * ($factor - 1), $maxExtra.Ticks))
            $wait = $Interval + $extra
            $text = "Listing failed ($kind, $failures time(s) in a row): $($inner.Message) Trying again in $(Format-PimDuration $wait)."
            Microsoft.PowerShell.Utility\Write-Verbose -Message (Format-PimInertText $text)
        }
        Microsoft.PowerShell.Utility\Start-Sleep -Milliseconds ([int][math]::Max(1, [math]::Min($wait.TotalMilliseconds, [int]::MaxValue)))
    }
}

function Deny-PimRequest {
    <#
    .SYNOPSIS
    Denies PIM requests that wait on you.

    .DESCRIPTION
    Deny-PimRequest denies Privileged Identity Management requests: pipe them from Get-PimPending,
    or name them with -ApprovalId. Each request is confirmed first (the prompt names the person, the
    role, the scope, the duration, the justification and the ticket): answer "Yes to All" to confirm the rest, or pass
    -Confirm:$false in scripts. -WhatIf shows what would be denied and sends nothing.

    Each request is sent as soon as it is confirmed, to one running operation that batches what
    arrives close together (twenty at a time, or after a few tens of milliseconds), with a progress
    bar: at a console a "Yes" is sent before the next prompt, and Get-PimPending | Deny-PimRequest
    starts deciding while the listing still pages. One PimBridge.Decision object comes out per
    request as its answer comes, with Result 'Denied', 'Failed' or 'Unknown'. A request that cannot be denied (already decided, your own, not yours to decide, not
    found) is also written as a non-terminating error with a stable ErrorId such as
    PimBridge.AlreadyDecided, so -ErrorAction works as usual. Ctrl+C stops at once: nothing more is
    sent, the answers to decisions already on their way are waited for a few seconds, each request
    the service applied after the stop is named on the console, each whose answer did not come is
    named as unknown (Get-PimDecisionLog -Result Unknown lists them), and a warning gives the
    numbers of the service's answers.

    One pipeline may hold requests of every surface: directory roles and groups are decided with a
    Microsoft Graph token (-AccessToken, or the Connect-MgGraph session), Azure resource requests with
    an Azure Resource Manager token (-ArmAccessToken, or the Connect-AzAccount session). Deciding needs
    the delegated permissions RoleAssignmentSchedule.ReadWrite.Directory (directory roles) and
    PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup (groups) of a signed-in approver: an app-only
    token cannot approve or deny. A token that cannot decide a surface in the pipeline stops the
    command with one error when the first request of that surface comes, and nothing is sent for
    it; requests sent before are still decided and output.

    .PARAMETER ApprovalId
    The approval id of a request: a GUID for directory roles (it equals the request id), or a
    /providers/Microsoft.Authorization/roleAssignmentApprovals/<guid> path for Azure resources. Binds
    from the pipeline by property name; -Id is an alias. Given alone, the library finds the surface
    that holds it; before the prompt (or -WhatIf) the request is looked up among those listed as
    waiting on you (one listing, or the last one if it is less than a minute old), so that the
    prompt names it. Completes (Tab) from the last listing.

    .PARAMETER InputObject
    Requests from Get-PimPending (or any object with an ApprovalId property, or id strings).

    .PARAMETER Surface
    Where the requests you deny by id live: DirectoryRole, Group or AzureResource. Without it, the
    library finds which surface holds each id. An object that names its own Surface (as
    Get-PimPending outputs) must name the same one, or it is an error and is not denied.

    .PARAMETER Justification
    Why you deny (required, at most 4000 characters). Recorded in the audit log; sent as written,
    quotes, new lines and non-ASCII text included.

    .PARAMETER AccessToken
    A Microsoft Graph access token of the approver, as a SecureString. Without it, the token of the
    current Connect-MgGraph session is used.

    .PARAMETER GraphUri
    The Microsoft Graph root to call (national clouds, or a pim-emulator). Defaults to
    $env:PIMBRIDGE_GRAPH_URI, else the cloud of your Connect-MgGraph session, else
    https://graph.microsoft.com. Plain http is refused except to loopback addresses.

    .PARAMETER ArmAccessToken
    An Azure Resource Manager access token of the approver, as a SecureString, for Azure resource
    requests. Without it, Get-AzAccessToken is used when Az.Accounts is loaded and connected.

    .PARAMETER ArmUri
    The Azure Resource Manager root to call. Defaults to $env:PIMBRIDGE_ARM_URI, else the cloud of
    your Connect-AzAccount session, else https://management.azure.com.

    .PARAMETER LogPath
    The decision log to record each decision in (an absolute path), or 'off'. Default: the
    environment variable PIMBRIDGE_DECISION_LOG, else decisions.jsonl in the PimBridge folder of your
    data folder (see about_PimBridge). An intent line is written before each request is sent and an
    outcome line after; when the intent cannot be written, nothing is sent.

    .PARAMETER WhatIf
    Shows which requests would be denied; sends nothing.

    .PARAMETER Confirm
    Asks before each request (the default, since the impact is High). -Confirm:$false asks nothing.

    .EXAMPLE
    PS> Connect-MgGraph -Scopes 'RoleAssignmentSchedule.ReadWrite.Directory', 'PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup'
    PS> Connect-AzAccount
    PS> Get-PimPending | Deny-PimRequest -Justification 'No ticket given'

    Signs in to Graph and Azure, then asks about each request waiting on you (directory roles, groups
    and Azure resources alike), and denies those you confirm.

    .EXAMPLE
    PS> Get-PimPending -Principal 'Adele*' | Deny-PimRequest -Justification 'No ticket given' -Confirm:$false

    Denies every request of Adele without asking: for scripts and change windows.

    .EXAMPLE
    PS> Get-PimPending | Deny-PimRequest -Justification 'No ticket given' -WhatIf

    Shows what would be denied, and sends nothing.

    .EXAMPLE
    PS> Deny-PimRequest -ApprovalId 929cd687-a296-4f77-bdbc-b7cc22d3517e -Justification 'No ticket given' -Confirm:$false -ErrorAction Stop

    Denies one request by id, and stops the script if that fails.

    .EXAMPLE
    PS> $results = Get-PimPending | Deny-PimRequest -Justification 'No ticket given' -Confirm:$false -ErrorAction SilentlyContinue
    PS> $results | Where-Object Result -eq 'Failed' | Format-Table Principal, Role, Error

    Decides everything and then lists what could not be denied, and why.

    .EXAMPLE
    PS> Deny-PimRequest -ApprovalId 5f0c1b7e-8a51-4e40-9a8c-3f2f4b1f0a77 -Surface Group -Justification 'No ticket given' -Confirm:$false

    Denies a PIM for Groups request known only by its id (from a notification, say).

    .EXAMPLE
    PS> Get-PimPending | Deny-PimRequest -Justification 'Ticket checked' -LogPath D:\audit\pim-decisions.jsonl

    Records each decision in a decision log of your choice; Get-PimDecisionLog reads it and
    Test-PimDecisionLog checks that no line was changed.

    .INPUTS
    PimBridge.PendingRequest, or any object with an ApprovalId property (such as the Graph SDK's
    request objects from Get-MgRoleManagementDirectoryRoleAssignmentScheduleRequest, decided by
    their ApprovalId), or strings.

    .OUTPUTS
    PimBridge.Decision

    .LINK
    about_PimBridge

    .LINK
    Get-PimPending

    .LINK
    Approve-PimRequest
    #>
    [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High', DefaultParameterSetName = 'InputObject')]
    [OutputType('PimBridge.Decision')]
    param(
        [Parameter(Mandatory, Position = 0, ParameterSetName = 'ApprovalId', ValueFromPipelineByPropertyName)]
        [Alias('Id')]
        [AllowNull()]
        [AllowEmptyString()]
        [string[]] $ApprovalId,

        [Parameter(Mandatory, ParameterSetName = 'InputObject', ValueFromPipeline)]
        [AllowNull()]
        [object[]] $InputObject,

        [ValidateSet('DirectoryRole', 'Group', 'AzureResource')]
        [string] $Surface,

        [Parameter(Mandatory)]
        [AllowEmptyString()]
        [string] $Justification,

        [securestring] $AccessToken,

        [string] $GraphUri,

        [securestring] $ArmAccessToken,

        [string] $ArmUri,

        [string] $LogPath
    )

    begin {
        $log = $null
        $run = $null
        $run = New-PimDecisionRun -Cmdlet $PSCmdlet -Justification $Justification -Review Deny -Connection $PSBoundParameters
        $log = Open-PimCommandDecisionLog -Cmdlet $PSCmdlet -LogPath $LogPath -WhatIf:$WhatIfPreference
        $run.Log = $log
    }

    process {
        $items = if ($PSCmdlet.ParameterSetName -eq 'ApprovalId') { $ApprovalId } else { $InputObject }
        Add-PimDecisionInput -Run $run -Cmdlet $PSCmdlet -Action 'Deny PIM request' -InputObject $items -Surface $Surface
    }

    end {
        $complete = @{ Run = $run; Cmdlet = $PSCmdlet; Review = 'Deny'; Justification = $Justification; Connection = $PSBoundParameters; Log = $log }
        Complete-PimDecisionRun @complete
    }

    clean {
        # Stopped early (Ctrl+C, -ErrorAction Stop, a downstream Select-Object -First): every
        # request sent is accounted for on the host. Nothing to do after a run that completed.
        Stop-PimDecisionRun -Run $run
        Close-PimDecisionLog -Log $log
    }
}

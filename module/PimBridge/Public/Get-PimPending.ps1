function Get-PimPending {
    <#
    .SYNOPSIS
    Lists the PIM requests waiting on you (the signed-in approver) for a decision.

    .DESCRIPTION
    Get-PimPending asks Microsoft Graph for every Privileged Identity Management request that waits
    on the signed-in approver and outputs one PimBridge.PendingRequest object per request, as pages
    arrive. Names of people and roles come in the same call, so a thousand requests cost a handful of
    round trips, not a thousand.

    Three surfaces wait on approvers: DirectoryRole (Entra directory roles), Group (PIM for Groups
    membership and ownership) and AzureResource (Azure resource roles on management groups,
    subscriptions, resource groups and resources). By default every surface for which a token is at
    hand is listed, one after the other; -Surface picks some.

    Directory roles and groups are listed with a Microsoft Graph token: the -AccessToken you pass, or
    else the token of your current Connect-MgGraph session. Listing needs the delegated permission
    RoleAssignmentSchedule.Read.Directory (directory roles) and
    PrivilegedAssignmentSchedule.Read.AzureADGroup (groups), or their ReadWrite forms; when listing
    by default, a surface the token has no permission for is skipped (see -Verbose).

    Azure resources are listed with an Azure Resource Manager token: the -ArmAccessToken you pass, or
    else a token of your Connect-AzAccount session (when Az.Accounts is loaded and connected).

    Pipe the output to Approve-PimRequest or Deny-PimRequest to decide.

    .PARAMETER Surface
    Which kinds of request to list: DirectoryRole, Group, AzureResource (one or more). Default: every
    surface for which a token is at hand. Naming a surface without its token is an error.

    .PARAMETER ArmAccessToken
    An Azure Resource Manager access token (audience https://management.azure.com/) of the approver,
    as a SecureString, for Azure resource requests. Without it, Get-AzAccessToken is used when
    Az.Accounts is loaded and connected.

    .PARAMETER ArmUri
    The Azure Resource Manager root to call. Defaults to $env:PIMBRIDGE_ARM_URI, else the cloud of
    your Connect-AzAccount session, else https://management.azure.com. Plain http is refused except
    to loopback addresses.

    .PARAMETER ArmScope
    Where to look for Azure resource requests, for example /subscriptions/<id>; the tenant root (all
    scopes you approve for) when omitted.

    .PARAMETER Role
    Only requests for roles whose name matches one of these patterns (wildcards allowed), for example
    '*Administrator' or 'Global Administrator'. For groups the role is Member or Owner.

    .PARAMETER Principal
    Only requests of people whose display name or user principal name matches one of these patterns
    (wildcards allowed), for example 'Adele*' or '*@contoso.com'.

    .PARAMETER AccessToken
    A Microsoft Graph access token of the approver, as a SecureString. Without it, the token of the
    current Connect-MgGraph session is used.

    .PARAMETER GraphUri
    The Microsoft Graph root to call, for example https://graph.microsoft.us, or the address of a
    pim-emulator. Defaults to $env:PIMBRIDGE_GRAPH_URI, else the cloud of your Connect-MgGraph session,
    else https://graph.microsoft.com. Plain http is refused except to loopback addresses.

    .PARAMETER PageSize
    How many requests to ask for per page (1-999). The service's default otherwise.

    .PARAMETER First
    Outputs only the first N requests (after -Role and -Principal) and stops listing there.

    .PARAMETER Skip
    Leaves out the first N requests (after -Role and -Principal).

    .PARAMETER IncludeStage
    Also reads each request's approval and fills Stage: which approval stage waits on you, as
    "1 of 2" (the stage your decision goes to, of all the approval's stages). It costs one more
    call per twenty requests on Graph ($batch) and one per request on Azure resources; without it
    no approval is read and Stage is $null. A request whose approval cannot be read is listed all
    the same, with Stage $null (-Verbose says why).

    .PARAMETER IncludeTotalCount
    Also outputs how many requests matched in all: the listing is then read to its end, even with -First.

    .EXAMPLE
    PS> Connect-MgGraph -Scopes 'RoleAssignmentSchedule.ReadWrite.Directory'
    PS> Get-PimPending

    Lists what waits on you, as a table: who, which role, where, for how long, why, and how long ago.

    .EXAMPLE
    PS> Get-PimPending -Role '*Administrator' -Principal 'Adele*' | Format-List *

    Shows every property of the requests of Adele for administrator roles.

    .EXAMPLE
    PS> Get-PimPending | Where-Object Ticket -like 'ServiceNow*' | Approve-PimRequest -Justification 'Ticket checked'

    Approves, after confirming each, every request that carries a ServiceNow ticket.

    .EXAMPLE
    PS> Connect-AzAccount
    PS> Get-PimPending -Surface AzureResource -ArmScope /subscriptions/00000000-0000-0000-0000-000000000000

    Lists the Azure resource requests waiting on you in one subscription.

    .EXAMPLE
    PS> Get-PimPending -First 5

    Lists the first five requests that wait on you, and stops listing there. -Role, -Principal and
    -ApprovalId of Approve-PimRequest complete (Tab) from the requests listed last.

    .EXAMPLE
    PS> Get-PimPending -IncludeStage | Format-Table Principal, Role, Stage, Justification

    Lists what waits on you with the approval stage of each: "2 of 2" is the last stage of a
    two-stage approval, after someone else approved the first.

    .EXAMPLE
    PS> Get-PimPending -Surface Group | Format-Table Principal, Group, AccessType, Duration

    Lists the PIM for Groups requests: who wants membership or ownership of which group.

    .EXAMPLE
    PS> $token = ConvertTo-SecureString $env:GRAPH_TOKEN -AsPlainText -Force
    PS> Get-PimPending -AccessToken $token -GraphUri http://127.0.0.1:8080

    Lists against a local pim-emulator with a token minted by it.

    .INPUTS
    None.

    .OUTPUTS
    PimBridge.PendingRequest

    .LINK
    about_PimBridge

    .LINK
    Approve-PimRequest

    .LINK
    Deny-PimRequest
    #>
    [CmdletBinding(SupportsPaging)]
    [OutputType('PimBridge.PendingRequest')]
    param(
        [ValidateSet('DirectoryRole', 'Group', 'AzureResource')]
        [string[]] $Surface,

        [SupportsWildcards()]
        [string[]] $Role,

        [SupportsWildcards()]
        [string[]] $Principal,

        [securestring] $AccessToken,

        [securestring] $ArmAccessToken,

        [string] $GraphUri,

        [string] $ArmUri,

        [string] $ArmScope,

        [ValidateRange(1, 999)]
        [int] $PageSize,

        [switch] $IncludeStage
    )

    # Which surfaces, with which token: the library says which service (Graph or ARM) each takes.
    # No pipelines in here: a session's first call compiles what it runs. Verbose text goes out
    # through Write-PimVerbose, not Write-Verbose, which would load Microsoft.PowerShell.Utility on a
    # session's first listing (Private/Display.ps1).
    try {
        $uri = Resolve-PimGraphUri -GraphUri $GraphUri
        $explicit = [bool]$Surface
        $wanted = [System.Collections.Generic.List[string]]::new()
        if ($explicit) {
            foreach ($s in $Surface) { if (-not $wanted.Contains($s)) { $wanted.Add($s) } }
        } else {
            foreach ($s in Get-PimSurface) { $wanted.Add($s.Name) }
        }
        # Listing by default, a surface without a token is skipped; a surface named must have one.
        $tokens = Get-PimTokenSet -Surface $wanted -Connection $PSBoundParameters -GraphUri $uri -Optional:(-not $explicit)
        if (-not ($tokens['graph'] -or $tokens['arm'])) {
            # Nothing at hand at all: the same message as for Graph, which is where most people start.
            $tokens['graph'] = Get-PimServiceToken -Service graph -Connection $PSBoundParameters -GraphUri $uri
        }
        $plan = foreach ($s in $wanted) {
            $service = (Get-PimSurface -Name $s).Service
            if ($tokens[$service]) { @{ Surface = $s; Service = $service; Token = $tokens[$service] } }
            else { Write-PimVerbose "Skipping $s requests: no token for them is at hand." }
        }
        # Azure Resource Manager's address is looked for in the Connect-AzAccount session only when
        # Azure resources are listed.
        $armUri = Resolve-PimArmUri -ArmUri $ArmUri -NoSession:(-not $tokens['arm'])
        $endpoint = @{ graph = $uri; arm = $armUri }
        $client = Get-PimClient -GraphUri $uri -ArmUri $armUri -TraceLevel (Get-PimTraceLevel)
    } catch {
        $PSCmdlet.ThrowTerminatingError((New-PimErrorRecord -Exception $_.Exception))
    }
    $rolePatterns = [System.Collections.Generic.List[WildcardPattern]]::new()
    foreach ($pattern in $Role) { if ($pattern) { $rolePatterns.Add([WildcardPattern]::new($pattern, 'IgnoreCase')) } }
    $principalPatterns = [System.Collections.Generic.List[WildcardPattern]]::new()
    foreach ($pattern in $Principal) { if ($pattern) { $principalPatterns.Add([WildcardPattern]::new($pattern, 'IgnoreCase')) } }
    $single = @($plan).Count -eq 1
    $skipped = [System.Collections.Generic.List[System.Management.Automation.ErrorRecord]]::new()
    $listed = 0
    # Paging: counted after -Role and -Principal. With -First (and no -IncludeTotalCount) the listing
    # stops at the last request wanted, quietly: nothing is lost by reading less.
    $paging = $PSCmdlet.PagingParameters
    $page = @{ Matched = [uint64]0; Output = [uint64]0; Stopped = $false }
    # Every request listed, before any filter, kept for the argument completers (Completion.ps1)
    # when the listing runs to its end.
    $seen = [System.Collections.Generic.List[PimBridge.PendingRequest]]::new()
    # A service whose token was refused: its other surfaces are not listed (one error, not one per surface).
    $refusedToken = @{}
    # Every request listed, by surface and approval id: a request is output once, however often it is listed.
    $listedIds = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::OrdinalIgnoreCase)
    # The listings to make: each surface once, then again each surface whose requests were decided
    # while it was still paging (see below).
    $passes = [System.Collections.Generic.List[hashtable]]::new()
    foreach ($step in $plan) { $passes.Add(@{ Step = $step; Again = $false }) }

    :surfaces for ($pass = 0; $pass -lt $passes.Count; $pass++) {
        $step = $passes[$pass].Step
        $again = $passes[$pass].Again
        if ($again) {
            # The requests decided while this surface was paging may have moved the pages that
            # followed (a service's paging is opaque: the emulator's $skiptoken, for one, is an
            # offset into what is still pending, and may skip requests when some before it were
            # decided). So, once every decision sent is answered, the surface is listed again, and
            # what was not listed before is output; until a listing is not decided while it pages.
            Wait-PimDecisionSettled
            Microsoft.PowerShell.Utility\Write-Verbose -Message "Listing the $($step.Surface) requests again: some were decided while the listing paged, which may have moved its later pages."
        }
        if ($refusedToken.ContainsKey($step.Service)) {
            Write-PimVerbose "Skipping $($step.Surface) requests: the same token was refused above."
            continue
        }
        if ($page.Output -ge $paging.First -and -not $paging.IncludeTotalCount) {
            $page.Stopped = $true
            break surfaces
        }
        # Page sizes are asked of Graph only; a scope is for Azure Resource Manager only.
        $options = @{ surface = $step.Surface }
        if ($PageSize -and $step.Service -eq 'graph') { $options['pageSize'] = $PageSize }
        if ($ArmScope -and $step.Service -eq 'arm') { $options['armScope'] = $ArmScope }
        if ($IncludeStage) { $options['includeStage'] = $true }
        $failure = [ref]$null
        # Whether the listing's native work is over (every page read), and whether a decision was
        # sent while it was not: the requests handed to any decision stream (StreamFeeder's count,
        # taken before each push) are counted now and once every page is read. A request it output
        # and handed over but not yet pushed by then was decided after its last page: no relisting.
        $paged = $false
        $decidedWhilePaging = $false
        $handed = [PimBridge.Interop.StreamFeeder]::Handed
        try {
            $json = [PimBridge.Interop.PimJson]::Write($options)
            $operation = [PimBridge.Interop.PimNative]::ListPending($client, $step.Token, $json)
        } catch {
            $failure.Value = Get-PimInnerException -Exception $_.Exception
        }
        if (-not $failure.Value) {
            Write-PimVerbose (Format-PimInertText "Listing the $($step.Surface) requests waiting on you at $($endpoint[$step.Service]).")
            $waitArgs = @{
                Operation = $operation; Results = 'PendingRequests'; Activity = "Listing $($step.Surface) requests waiting on you"
                Failure = $failure; DoneWord = 'listed'; Stopped = ''
            }
            Wait-PimOperation @waitArgs | Microsoft.PowerShell.Core\ForEach-Object {
                # One request that cannot be read is one error record naming it; the others go on.
                if ($_ -is [System.Exception]) {
                    $PSCmdlet.WriteError((New-PimErrorRecord -Exception $_ -TargetObject $step.Surface))
                    return
                }
                if (-not $listedIds.Add("$($_.Surface)|$($_.ApprovalId)")) { return }
                if ($rolePatterns.Count -and -not (Test-PimWildcard -Pattern $rolePatterns -Text $_.Role)) { return }
                $seen.Add($_)
                if ($rolePatterns.Count -and -not (Test-PimWildcard -Pattern $rolePatterns -Text $_.Role)) { return }
                if ($principalPatterns.Count -and -not (Test-PimWildcard -Pattern $principalPatterns -Text $_.Principal, $_.PrincipalUpn)) { return }
                $page.Matched++
                if ($page.Matched -le $paging.Skip -or $page.Output -ge $paging.First) { return }
                $page.Output++
                # A command further down the pipeline may decide it as it comes (Approve-PimRequest
                # streams): if one is sent while pages are still to be read, they may have moved.
                # Read in this order (the end of paging, then the count), a send before the last
                # page was read is always counted.
                if (-not $paged) {
                    $paged = [PimBridge.Interop.PimNative]::Wait($operation, 0)
                    if ($paged) { $decidedWhilePaging = [PimBridge.Interop.StreamFeeder]::Handed -ne $handed }
                }
                $_
                if ($page.Output -ge $paging.First -and -not $paging.IncludeTotalCount) {
                    # Stops the listing (Wait-PimOperation cancels the native work) and every surface after it.
                    $page.Stopped = $true
                    break surfaces
                }
            }
        }
        if ($failure.Value) {
            if ($failure.Value -is [PimBridge.Interop.PimNativeException] -and $failure.Value.Code.ToString() -in $script:PimTokenKinds) {
                $refusedToken[$step.Service] = $true
            }
            $record = New-PimErrorRecord -Exception $failure.Value -TargetObject $step.Surface
            if ($single) {
                $PSCmdlet.ThrowTerminatingError($record)
            } elseif (-not $explicit -and $failure.Value.Code -eq 'MissingScope') {
                # Listing every surface by default: one the token has no permission for is skipped.
                Write-PimVerbose (Format-PimInertText "Skipping $($step.Surface) requests: $($failure.Value.Message)")
                $skipped.Add($record)
            } else {
                $PSCmdlet.WriteError($record)
            }
        } else {
            if (-not $again) { $listed++ }
            # Paging seen to end only now: whatever was sent until now counts.
            if (-not $paged) { $decidedWhilePaging = [PimBridge.Interop.StreamFeeder]::Handed -ne $handed }
            if ($decidedWhilePaging) { $passes.Add(@{ Step = $step; Again = $true }) }
        }
    }
    if ($paging.IncludeTotalCount) {
        $accuracy = if ($listed -eq @($plan).Count) { 1.0 } else { 0.5 }
        $PSCmdlet.PagingParameters.NewTotalCount($page.Matched, $accuracy)
    }
    if (-not $page.Stopped -and $listed -eq @($plan).Count) {
        $listing = @{ GraphUri = $uri; ArmUri = $armUri; Surface = $wanted; Request = $seen }
        Save-PimListing @listing
    }
    if ($listed -eq 0 -and $skipped.Count -gt 0) {
        # Every surface was skipped for want of permission: that is an error, not an empty list.
        $PSCmdlet.ThrowTerminatingError($skipped[0])
    }
}

function Get-PimPending {
    <#
    .SYNOPSIS
    Lists the PIM requests waiting on you (the signed-in approver) for a decision.

    .DESCRIPTION
    Get-PimPending asks Microsoft Graph for every Privileged Identity Management request that waits
    on the signed-in approver and outputs one PimBridge.PendingRequest object per request, as pages
    arrive. Names of people and roles come in the same call, so a thousand requests cost a handful of
    round trips, not a thousand.

    Surface is DirectoryRole (Entra directory roles).

    The token is the -AccessToken you pass, or else the token of your current Connect-MgGraph session.
    Listing needs the delegated permission RoleAssignmentSchedule.Read.Directory or
    RoleAssignmentSchedule.ReadWrite.Directory.

    Pipe the output to Approve-PimRequest or Deny-PimRequest to decide.

    .PARAMETER Role
    Only requests for roles whose name matches one of these patterns (wildcards allowed), for example
    '*Administrator' or 'Global Administrator'.

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
    [CmdletBinding()]
    [OutputType('PimBridge.PendingRequest')]
    param(
        [SupportsWildcards()]
        [string[]] $Role,

        [SupportsWildcards()]
        [string[]] $Principal,

        [securestring] $AccessToken,

        [string] $GraphUri,

        [ValidateRange(1, 999)]
        [int] $PageSize
    )

    try {
        $uri = Resolve-PimGraphUri -GraphUri $GraphUri
        $token = Get-PimGraphToken -AccessToken $AccessToken -GraphUri $uri
        $client = Get-PimClient -GraphUri $uri
        $options = if ($PageSize) { Microsoft.PowerShell.Utility\ConvertTo-Json -InputObject @{ pageSize = $PageSize } -Compress } else { $null }
        $operation = [PimBridge.Interop.PimNative]::ListPending($client, $token, $options)
    } catch {
        $PSCmdlet.ThrowTerminatingError((New-PimErrorRecord -Exception $_.Exception))
    }
    Microsoft.PowerShell.Utility\Write-Verbose -Message "Listing the PIM requests waiting on you at $uri."
    $rolePatterns = @($Role | Microsoft.PowerShell.Core\Where-Object { $_ } | Microsoft.PowerShell.Core\ForEach-Object { [WildcardPattern]::new($_, 'IgnoreCase') })
    $principalPatterns = @($Principal | Microsoft.PowerShell.Core\Where-Object { $_ } | Microsoft.PowerShell.Core\ForEach-Object { [WildcardPattern]::new($_, 'IgnoreCase') })
    $failure = [ref]$null
    Wait-PimOperation -Operation $operation -Activity 'Listing PIM requests waiting on you' -Failure $failure -DoneWord 'listed' | Microsoft.PowerShell.Core\ForEach-Object {
        $request = ConvertTo-PimPendingRequest -Item $_
        $roleOk = $rolePatterns.Count -eq 0 -or @($rolePatterns | Microsoft.PowerShell.Core\Where-Object { $_.IsMatch([string]$request.Role) }).Count
        $principalOk = $principalPatterns.Count -eq 0 -or @($principalPatterns | Microsoft.PowerShell.Core\Where-Object { $_.IsMatch([string]$request.Principal) -or $_.IsMatch([string]$request.PrincipalUpn) }).Count
        if ($roleOk -and $principalOk) { $request }
    }
    if ($failure.Value) {
        $PSCmdlet.ThrowTerminatingError((New-PimErrorRecord -Exception $failure.Value))
    }
}

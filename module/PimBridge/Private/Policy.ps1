# Policies (docs/policy.md): the module reads the file and hands it to the native library as JSON
# (pim_policy_load checks it whole, naming the file, the rule and the key of every problem); the
# library evaluates it (pim_policy_evaluate). Nothing here decides: Test-PimPolicy shows the
# evaluation, Invoke-PimPolicy sends it through the decision machinery (Decision.ps1).

function Import-PimPolicy {
    # A checked policy (PimPolicyHandle) from a .psd1 or .json file. Throws a PimNativeException
    # (InvalidPolicy) naming the file for a file that is missing, does not parse or is refused.
    param([Parameter(Mandatory)] [string] $Path, [switch] $Force)
    $resolved = Microsoft.PowerShell.Management\Resolve-Path -LiteralPath $Path -ErrorAction Ignore
    if (-not $resolved -or -not (Microsoft.PowerShell.Management\Test-Path -LiteralPath $resolved.ProviderPath -PathType Leaf)) {
        throw (New-PimException -Code InvalidPolicy -Message "Policy '$Path': no such file.")
    }
    $full = $resolved.ProviderPath
    $extension = [System.IO.Path]::GetExtension($full).ToLowerInvariant()
    if ($extension -eq '.psd1') {
        try {
            $data = Microsoft.PowerShell.Utility\Import-PowerShellDataFile -LiteralPath $full -ErrorAction Stop
        } catch {
            throw (New-PimException -Code InvalidPolicy -Message "Policy '$full' does not parse as a PowerShell data file: $($_.Exception.Message)")
        }
        # The data file's hashtables, lists, text, numbers and booleans as JSON, at any depth.
        $json = [PimBridge.Interop.PimJson]::Write($data)
    } elseif ($extension -eq '.json') {
        $json = [System.IO.File]::ReadAllText($full)
    } else {
        throw (New-PimException -Code InvalidPolicy -Message "Policy '$full': a policy is a PowerShell data file (.psd1) or a JSON file (.json).")
    }
    [PimBridge.Interop.PolicyNative]::Load($json, $full, [bool]$Force)
}

function Get-PimPolicyCallerId {
    # The signed-in approver's object id, from a token's claims (read by the library, never shown):
    # a request of theirs is never decided by a rule, so a policy is not evaluated without it.
    # Throws MissingToken (NotConnected) when no token is at hand, AppOnlyToken when the tokens
    # name no user.
    param([Parameter(Mandatory)] [System.Collections.IDictionary] $Connection)
    $uri = Resolve-PimGraphUri -GraphUri $Connection['GraphUri']
    $tokens = Get-PimTokenSet -Surface @((Get-PimSurface).Name) -Connection $Connection -GraphUri $uri -Optional
    if (-not ($tokens['graph'] -or $tokens['arm'])) {
        # None at all: the error a listing gives, which says how to connect.
        $null = Get-PimServiceToken -Service graph -Connection $Connection -GraphUri $uri
    }
    foreach ($service in 'graph', 'arm') {
        if (-not $tokens[$service]) { continue }
        try {
            $claims = [PimBridge.Interop.PimJson]::ReadObject([PimBridge.Interop.PimNative]::TokenInfo($tokens[$service]))
            if ($claims['objectId']) { return [string]$claims['objectId'] }
        } catch {
            $null = $_
        }
    }
    throw (New-PimException -Code AppOnlyToken -Message 'The access token names no signed-in user, so the policy cannot tell your own requests from the others (a rule never decides your own); nothing was evaluated.')
}

function ConvertTo-PimPolicyRequest {
    # One request as JSON in the shape pim_list_pending hands out: a request Get-PimPending listed
    # goes back as the library wrote it; any other object (or hashtable) is read by its properties.
    param([Parameter(Mandatory)] [object] $InputObject)
    if ($InputObject -is [PimBridge.PendingRequest]) {
        $raw = [PimBridge.Interop.ResultReader]::GetSourceJson($InputObject)
        if ($raw) { return $raw }
    }
    $f = @{}
    foreach ($name in 'ApprovalId', 'Surface', 'Principal', 'PrincipalUpn', 'PrincipalId', 'Role', 'RoleId', 'Scope', 'ScopeId', 'Justification',
        'Ticket', 'TicketSystem', 'TicketNumber', 'CreatedAt', 'StartsAt', 'Duration', 'EndsAt', 'Group', 'GroupId') {
        $has, $value = Get-PimInputValue -InputObject $InputObject -Name $name
        if ($has -and $null -ne $value -and '' -ne $value) { $f[$name] = $value }
    }
    $text = { param($v) if ($null -eq $v) { $null } else { [string]$v } }
    $date = {
        param($v)
        if ($null -eq $v) { return $null }
        $d = $v -as [datetime]
        if ($null -eq $d) { return [string]$v }
        $d.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ss.fffZ', [cultureinfo]::InvariantCulture)
    }
    $request = @{
        approvalId    = & $text $f['ApprovalId']
        surface       = & $text $f['Surface']
        principalId   = & $text $f['PrincipalId']
        principalUpn  = & $text $f['PrincipalUpn']
        roleId        = & $text $f['RoleId']
        scopeId       = & $text $f['ScopeId']
        justification = & $text $f['Justification']
        createdAt     = & $date $f['CreatedAt']
        startsAt      = & $date $f['StartsAt']
        endsAt        = & $date $f['EndsAt']
        groupId       = & $text $f['GroupId']
        groupName     = & $text $f['Group']
    }
    # Principal, Role and Scope are names, or the id when there is none.
    if ($f['Principal'] -and [string]$f['Principal'] -ne $request.principalUpn -and [string]$f['Principal'] -ne $request.principalId) { $request['principalName'] = [string]$f['Principal'] }
    if ($f['Role'] -and [string]$f['Role'] -ne $request.roleId) { $request['roleName'] = [string]$f['Role'] }
    if ($f['Scope'] -and [string]$f['Scope'] -ne $request.scopeId) { $request['scopeName'] = [string]$f['Scope'] }
    if ($f.ContainsKey('TicketSystem') -or $f.ContainsKey('TicketNumber')) {
        $request['ticketSystem'] = & $text $f['TicketSystem']
        $request['ticketNumber'] = & $text $f['TicketNumber']
    } elseif ($f['Ticket']) {
        # "ServiceNow INC0012345", as Get-PimPending shows it: the system, then the number.
        $parts = ([string]$f['Ticket']).Trim() -split '\s+', 2
        if ($parts.Count -eq 2) { $request['ticketSystem'] = $parts[0]; $request['ticketNumber'] = $parts[1] } else { $request['ticketNumber'] = $parts[0] }
    }
    if ($null -ne $f['Duration']) {
        $span = $f['Duration'] -as [timespan]
        if ($null -ne $span) { $request['durationSeconds'] = $span.TotalSeconds } else { $request['duration'] = [string]$f['Duration'] }
    }
    [PimBridge.Interop.PimJson]::Write($request)
}

function Invoke-PimPolicyEvaluation {
    # Evaluates -Policy against -Requests (input objects, in order) and outputs one
    # PimBridge.PolicyResult per request: the request, the rule, the action, the justification to
    # send, a summary and the reasons (PimBridge.PolicyReason: rule, condition, held, detail).
    param(
        [Parameter(Mandatory)] [PimBridge.Interop.PimPolicyHandle] $Policy,
        [Parameter(Mandatory)] [AllowEmptyCollection()] [object[]] $Requests,
        [AllowNull()] [string] $CallerId
    )
    if ($Requests.Count -eq 0) { return }
    $facts = [System.Collections.Generic.List[string]]::new()
    foreach ($request in $Requests) { $facts.Add((ConvertTo-PimPolicyRequest -InputObject $request)) }
    $context = [PimBridge.Interop.PimJson]::Write(@{ callerId = $CallerId; now = [datetime]::UtcNow.ToString('yyyy-MM-ddTHH:mm:ss.fffZ', [cultureinfo]::InvariantCulture) })
    $json = [PimBridge.Interop.PolicyNative]::Evaluate($Policy, '[' + ($facts -join ',') + ']', $context)
    $results = [PimBridge.Interop.DecisionLogNative]::ReadObjects($json)
    for ($i = 0; $i -lt $results.Count; $i++) {
        $r = $results[$i]
        $request = $Requests[$i]
        $reasons = foreach ($reason in @($r['reasons'])) {
            if ($reason -isnot [System.Collections.IDictionary]) { continue }
            [pscustomobject]@{
                PSTypeName = 'PimBridge.PolicyReason'
                Rule       = $reason['rule']
                Condition  = $reason['condition']
                Held       = [bool]$reason['held']
                Detail     = $reason['detail']
            }
        }
        $field = { param($Name) $has, $value = Get-PimInputValue -InputObject $request -Name $Name; if ($has) { $value } else { $null } }
        [pscustomobject]@{
            PSTypeName    = 'PimBridge.PolicyResult'
            ApprovalId    = $r['approvalId']
            Surface       = $r['surface']
            Principal     = & $field 'Principal'
            Role          = & $field 'Role'
            Scope         = & $field 'Scope'
            Action        = $r['action']
            Rule          = $r['rule']
            Justification = $r['justification']
            Summary       = $r['summary']
            Reasons       = @($reasons)
            Request       = $request
        }
    }
}

function Get-PimPolicyListing {
    # What a policy command works on when nothing was piped to it or given with -InputObject:
    # every request waiting on the approver, listed as Get-PimPending lists them.
    param([Parameter(Mandatory)] [System.Collections.IDictionary] $Connection)
    $list = @{}
    foreach ($name in 'AccessToken', 'GraphUri', 'ArmAccessToken', 'ArmUri', 'Surface') {
        if ($Connection.ContainsKey($name)) { $list[$name] = $Connection[$name] }
    }
    Write-PimVerbose 'No requests were piped in: reading every request waiting on you.'
    , @(Get-PimPending @list)
}

function Open-PimCommandPolicy {
    # A policy command's policy (Test-PimPolicy, Invoke-PimPolicy), loaded in its begin block so
    # that a policy that cannot be used stops it before any input is read: a terminating error
    # through -Cmdlet, its target the path.
    param(
        [Parameter(Mandatory)] [System.Management.Automation.PSCmdlet] $Cmdlet,
        [Parameter(Mandatory)] [string] $Path,
        [switch] $Force
    )
    try {
        Import-PimPolicy -Path $Path -Force:$Force
    } catch {
        $Cmdlet.ThrowTerminatingError((New-PimErrorRecord -Exception $_.Exception -TargetObject $Path))
    }
}

function Get-PimCommandPolicyResult {
    # A policy command's evaluation of -Requests (one pipeline step's input, or the whole listing):
    # one PimBridge.PolicyResult per request, in order. The caller (Get-PimPolicyCallerId) is looked
    # up at the first request of the command and kept in -Session (begin with @{}), so that a
    # pipeline evaluated request by request asks for it once. A failure of the lookup or the
    # evaluation is a terminating error through -Cmdlet.
    param(
        [Parameter(Mandatory)] [System.Management.Automation.PSCmdlet] $Cmdlet,
        [Parameter(Mandatory)] [PimBridge.Interop.PimPolicyHandle] $Policy,
        [Parameter(Mandatory)] [AllowEmptyCollection()] [object[]] $Requests,
        [Parameter(Mandatory)] [System.Collections.IDictionary] $Connection,
        [Parameter(Mandatory)] [hashtable] $Session
    )
    if ($Requests.Count -eq 0) { return }
    try {
        if (-not $Session.ContainsKey('CallerId')) { $Session['CallerId'] = Get-PimPolicyCallerId -Connection $Connection }
        Invoke-PimPolicyEvaluation -Policy $Policy -Requests $Requests -CallerId $Session.CallerId
    } catch {
        $Cmdlet.ThrowTerminatingError((New-PimErrorRecord -Exception $_.Exception))
    }
}

# What Approve-PimRequest and Deny-PimRequest share: reading pipeline input, describing a request
# for the confirmation prompt, and deciding a whole pipeline as one native operation. Which surface
# a request belongs to is the native library's word (ResolveSurface), not a rule of ours.

function ConvertTo-PimDecisionTarget {
    # Pipeline input (a PendingRequest, any object or hashtable with ApprovalId, or an id string) to
    # what is decided and shown: @{ ApprovalId; Surface; PrincipalId; Principal; Role; InputObject;
    # Description }; $null when there is no id to act on. Surface is $null when the input names a
    # surface the library does not know. Runs once per piped request: no pipeline in here.
    param([AllowNull()] [object] $InputObject)

    if ($null -eq $InputObject) { return $null }
    $request = $null
    $id = $null
    $named = $null
    if ($InputObject -is [string]) {
        $id = $InputObject
    } elseif ($InputObject -is [System.Collections.IDictionary]) {
        $id = $InputObject['ApprovalId']
        $named = $InputObject['Surface']
    } elseif ($InputObject.PSObject.Properties['ApprovalId']) {
        $id = $InputObject.ApprovalId
        $request = $InputObject
        if ($request.PSObject.Properties['Surface']) { $named = $request.Surface }
    }
    if ($null -eq $id) { return $null }
    $id = [string]$id
    # The surface named, in any case; without one, the one the id points to.
    $surface = [PimBridge.Interop.PimNative]::ResolveSurface($id, [string]$named)
    $description = "PIM request $id"
    $principalId = $null
    $principal = $null
    $role = $null
    if ($request -and $request.PSObject.Properties['Role'] -and $request.PSObject.Properties['Principal']) {
        $principal = $request.Principal
        $role = $request.Role
        $who = $request.Principal
        if ($request.PSObject.Properties['PrincipalUpn'] -and $request.PrincipalUpn -and $request.PrincipalUpn -ne $who) {
            $who = "$who ($($request.PrincipalUpn))"
        }
        $for = if ($request.PSObject.Properties['Duration'] -and $request.Duration) {
            "for $(Format-PimDuration $request.Duration)"
        } elseif ($request.PSObject.Properties['EndsAt'] -and $request.EndsAt) {
            "until $($request.EndsAt)"
        } else {
            'with no end given'
        }
        $description = "$who`: $($request.Role) at $($request.Scope) $for (approval $id)"
        if ($request.PSObject.Properties['PrincipalId']) { $principalId = [string]$request.PrincipalId }
    }
    [pscustomobject]@{
        ApprovalId  = $id
        Surface     = $surface
        PrincipalId = $principalId
        Principal   = $principal
        Role        = $role
        InputObject = $InputObject
        # Shown in the prompt and -WhatIf: the service's text made inert.
        Description = Format-PimInertText $description
    }
}

function New-PimDecisionRun {
    # What one Approve-PimRequest or Deny-PimRequest gathers from its pipeline. An empty or blank
    # justification is refused at once, before any prompt or call (the library checks the rest).
    param([Parameter(Mandatory)] [System.Management.Automation.PSCmdlet] $Cmdlet, [AllowEmptyString()] [AllowNull()] [string] $Justification)
    if ([string]::IsNullOrWhiteSpace($Justification)) {
        $exception = New-PimException -Code InvalidJustification -Message 'No justification was given: say in -Justification why you decide, in a few words. Nothing was sent.'
        $Cmdlet.ThrowTerminatingError((New-PimErrorRecord -Exception $exception))
    }
    @{ Targets = [System.Collections.Generic.List[object]]::new(); Received = 0 }
}

function Add-PimDecisionInput {
    # Reads one pipeline step's input and keeps what the user confirms (ShouldProcess: -WhatIf and
    # -Confirm apply per request). Input without an id, or naming an unknown surface, is an error
    # record, and is never sent.
    param(
        [Parameter(Mandatory)] [hashtable] $Run,
        [Parameter(Mandatory)] [System.Management.Automation.PSCmdlet] $Cmdlet,
        [Parameter(Mandatory)] [string] $Action,
        [AllowNull()] [AllowEmptyCollection()] [object[]] $InputObject
    )
    $Run.Received++
    foreach ($item in @($InputObject)) {
        try {
            $target = ConvertTo-PimDecisionTarget -InputObject $item
        } catch {
            $Cmdlet.ThrowTerminatingError((New-PimErrorRecord -Exception $_.Exception))
        }
        if ($null -eq $target -or [string]::IsNullOrWhiteSpace($target.ApprovalId) -or -not $target.Surface) {
            $surfaces = (Get-PimSurface).name -join ', '
            $exception = New-PimException -Code InvalidInput -Message "No request was given: pipe objects from Get-PimPending or pass -ApprovalId (got `$null, an empty id, an object without ApprovalId, or a Surface other than $surfaces)."
            $Cmdlet.WriteError((New-PimErrorRecord -Exception $exception -TargetObject $item))
            continue
        }
        if ($Cmdlet.ShouldProcess($target.Description, $Action)) {
            $Run.Targets.Add($target)
        }
    }
}

function Complete-PimDecisionRun {
    # Decides what the pipeline gathered. -Connection holds the command's AccessToken, GraphUri,
    # ArmAccessToken and ArmUri, as given.
    param(
        [Parameter(Mandatory)] [hashtable] $Run,
        [Parameter(Mandatory)] [System.Management.Automation.PSCmdlet] $Cmdlet,
        [Parameter(Mandatory)] [ValidateSet('Approve', 'Deny')] [string] $Review,
        [Parameter(Mandatory)] [string] $Justification,
        [Parameter(Mandatory)] [System.Collections.IDictionary] $Connection
    )
    if ($Run.Received -eq 0) {
        Microsoft.PowerShell.Utility\Write-Warning -Message 'No requests were given (the pipeline was empty); nothing was sent.'
    }
    if ($Run.Targets.Count -eq 0) { return }
    $round = @{ Cmdlet = $Cmdlet; Review = $Review; Justification = $Justification; Connection = $Connection }
    # A Connect-MgGraph token that the service refuses in the middle of a run (401: not applied) is
    # read again once, and only the requests refused for it are sent again. A token given with
    # -AccessToken fails as given.
    $refused = [System.Collections.Generic.List[object]]::new()
    $holdBack = $null
    if (-not $Connection['AccessToken']) { $holdBack = $refused }
    Send-PimDecisionRound @round -Targets $Run.Targets.ToArray() -Refused $holdBack
    if ($refused.Count -gt 0) {
        Reset-PimGraphToken -Reason "The session's token was refused for $($refused.Count) request(s)"
        Send-PimDecisionRound @round -Targets $refused.ToArray()
    }
}

function Send-PimDecisionRound {
    # Decides -Targets as one native operation and streams a PimBridge.Decision per request as it
    # completes. Errors are written through -Cmdlet, so the caller's -ErrorAction applies. With
    # -Refused, a Graph request the service refused for its token is put there instead.
    param(
        [Parameter(Mandatory)] [System.Management.Automation.PSCmdlet] $Cmdlet,
        [Parameter(Mandatory)] [string] $Review,
        [Parameter(Mandatory)] [object[]] $Targets,
        [Parameter(Mandatory)] [string] $Justification,
        [Parameter(Mandatory)] [System.Collections.IDictionary] $Connection,
        [AllowNull()] [System.Collections.Generic.List[object]] $Refused
    )
    try {
        $uri = Resolve-PimGraphUri -GraphUri $Connection['GraphUri']
        $tokens = Get-PimTokenSet -Surface @($Targets.Surface) -Connection $Connection -GraphUri $uri
        $client = Get-PimClient -GraphUri $uri -ArmUri (Resolve-PimArmUri -ArmUri $Connection['ArmUri'])
        $requests = foreach ($t in $Targets) { @{ approvalId = $t.ApprovalId; surface = $t.Surface; principalId = $t.PrincipalId } }
        $json = Microsoft.PowerShell.Utility\ConvertTo-Json -InputObject @($requests) -Compress -Depth 3
        $operation = [PimBridge.Interop.PimNative]::$Review($client, $tokens['graph'], $tokens['arm'], $json, $Justification)
    } catch {
        $Cmdlet.ThrowTerminatingError((New-PimErrorRecord -Exception $_.Exception))
    }
    Microsoft.PowerShell.Utility\Write-Verbose -Message "$Review`: sending $($Targets.Count) decision(s)."
    $failure = [ref]$null
    $graphSurfaces = @(Get-PimSurface | Microsoft.PowerShell.Core\Where-Object service -eq 'graph' | Microsoft.PowerShell.Core\ForEach-Object name)
    $activity = '{0} {1} PIM request(s)' -f $(if ($Review -eq 'Approve') { 'Approving' } else { 'Denying' }), $Targets.Count
    Wait-PimOperation -Operation $operation -Activity $activity -Failure $failure -DoneWord 'decided' | Microsoft.PowerShell.Core\ForEach-Object {
        $target = $Targets[[int]$_.index]
        if ($null -ne $Refused -and $_.error -and $_.error.kind -eq 'Unauthorized' -and $target.Surface -in $graphSurfaces) {
            $Refused.Add($target)
            return
        }
        ConvertTo-PimDecision -Result $_ -Target $target
        if ($_.error) {
            $Cmdlet.WriteError((New-PimErrorRecord -Exception (ConvertTo-PimNativeException -ErrorObject $_.error) -TargetObject $target.InputObject))
        }
    }
    if ($failure.Value) {
        $Cmdlet.ThrowTerminatingError((New-PimErrorRecord -Exception $failure.Value))
    }
}

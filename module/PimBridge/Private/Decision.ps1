# The surfaces, as the native library names them, and a case-insensitive lookup of those names.
$script:PimSurfaces = @('DirectoryRole', 'Group', 'AzureResource')
$script:PimSurfaceNames = @{}
foreach ($name in $script:PimSurfaces) { $script:PimSurfaceNames[$name] = $name }

# What Approve-PimRequest and Deny-PimRequest share: reading pipeline input, describing a request
# for the confirmation prompt, and deciding a whole pipeline as one native operation.

function ConvertTo-PimDecisionTarget {
    # Pipeline input (a PendingRequest, any object or hashtable with ApprovalId, or an id string) to
    # what is decided and shown: @{ ApprovalId; PrincipalId; Principal; Role; InputObject;
    # Description }; $null when there is no id to act on.
    param([AllowNull()] [object] $InputObject)

    if ($null -eq $InputObject) { return $null }
    $request = $null
    $id = $null
    if ($InputObject -is [string]) {
        $id = $InputObject
    } elseif ($InputObject -is [System.Collections.IDictionary]) {
        $id = $InputObject['ApprovalId']
    } elseif ($InputObject.PSObject.Properties['ApprovalId']) {
        $id = $InputObject.ApprovalId
        $request = $InputObject
    }
    if ($null -eq $id) { return $null }
    $id = [string]$id
    # The surface: from the object when it says; else by shape (Azure approval ids are paths).
    $surface = if ($request -and $request.PSObject.Properties['Surface'] -and $request.Surface) {
        [string]$request.Surface
    } elseif ($InputObject -is [System.Collections.IDictionary] -and $InputObject['Surface']) {
        [string]$InputObject['Surface']
    } elseif ($id.StartsWith('/')) {
        'AzureResource'
    } else {
        'DirectoryRole'
    }
    # Normalised to the native names; an unknown surface leaves $null, which is refused.
    $surface = $script:PimSurfaceNames[$surface]
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
        Description = $description
    }
}

function Invoke-PimDecision {
    # Decides every target as one native operation and streams a PimBridge.Decision per request as it
    # completes. Errors are written through -Cmdlet, so the caller's -ErrorAction applies.
    # A Connect-MgGraph token that expires in the middle of a run is read again once, and the
    # requests the service refused for it (401: not applied) are sent again with the new one.
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] [System.Management.Automation.PSCmdlet] $Cmdlet,
        [Parameter(Mandatory)] [ValidateSet('Approve', 'Deny')] [string] $Review,
        [Parameter(Mandatory)] [object[]] $Targets,
        [Parameter(Mandatory)] [string] $Justification,
        [securestring] $AccessToken,
        [string] $GraphUri,
        [securestring] $ArmAccessToken,
        [string] $ArmUri
    )

    $uri = Resolve-PimGraphUri -GraphUri $GraphUri
    $armUri = Resolve-PimArmUri -ArmUri $ArmUri
    # Only an expiring session token is refreshed; an explicit -AccessToken fails as given.
    $mayRefresh = -not $AccessToken
    $round = $Targets
    for ($attempt = 1; $round.Count -gt 0; $attempt++) {
        try {
            # Only the tokens the requests need: Graph for directory roles and groups, ARM for Azure.
            $token = $null
            $armToken = $null
            if ($round | Microsoft.PowerShell.Core\Where-Object Surface -ne 'AzureResource') {
                $token = Get-PimGraphToken -AccessToken $AccessToken -GraphUri $uri
            }
            if ($round | Microsoft.PowerShell.Core\Where-Object Surface -eq 'AzureResource') {
                $armToken = Get-PimArmToken -ArmAccessToken $ArmAccessToken
                if (-not $armToken) {
                    throw [PimBridge.Interop.PimNativeException]::new('MissingToken', $script:PimArmTokenHelp, 0, $null, $null)
                }
            }
            $client = Get-PimClient -GraphUri $uri -ArmUri $armUri
            $requests = foreach ($t in $round) { @{ approvalId = $t.ApprovalId; surface = $t.Surface; principalId = $t.PrincipalId } }
            $json = Microsoft.PowerShell.Utility\ConvertTo-Json -InputObject @($requests) -Compress -Depth 3
            $operation = if ($Review -eq 'Approve') {
                [PimBridge.Interop.PimNative]::Approve($client, $token, $armToken, $json, $Justification)
            } else {
                [PimBridge.Interop.PimNative]::Deny($client, $token, $armToken, $json, $Justification)
            }
        } catch {
            $Cmdlet.ThrowTerminatingError((New-PimErrorRecord -Exception $_.Exception))
        }
        Microsoft.PowerShell.Utility\Write-Verbose -Message "$Review`: sending $($round.Count) decision(s)."
        $failure = [ref]$null
        $refused = [System.Collections.Generic.List[object]]::new()
        $activity = '{0} {1} PIM request(s)' -f $(if ($Review -eq 'Approve') { 'Approving' } else { 'Denying' }), $round.Count
        $targetsOfRound = $round
        Wait-PimOperation -Operation $operation -Activity $activity -Failure $failure -DoneWord 'decided' | Microsoft.PowerShell.Core\ForEach-Object {
            $target = $targetsOfRound[[int]$_.index]
            if ($_.error -and $_.error.kind -eq 'Unauthorized' -and $mayRefresh -and $attempt -eq 1 -and $_.surface -ne 'AzureResource') {
                # Refused for the token, so not applied: held back for the refreshed token.
                $refused.Add($target)
                return
            }
            [pscustomobject]@{
                PSTypeName = 'PimBridge.Decision'
                ApprovalId = $_.approvalId
                Principal  = $target.Principal
                Role       = $target.Role
                Surface    = $_.surface
                Result     = $_.result
                DecidedAt  = ConvertTo-PimDate $_.decidedAt
                Error      = if ($_.error) { $_.error.message } else { $null }
            }
            if ($_.error) {
                $exception = ConvertTo-PimNativeException -ErrorObject $_.error
                $Cmdlet.WriteError((New-PimErrorRecord -Exception $exception -TargetObject $target.InputObject))
            }
        }
        if ($failure.Value) {
            $Cmdlet.ThrowTerminatingError((New-PimErrorRecord -Exception $failure.Value))
        }
        $round = $refused.ToArray()
        if ($round.Count -gt 0) {
            Microsoft.PowerShell.Utility\Write-Verbose -Message "The session's token was refused for $($round.Count) request(s); reading it again from Connect-MgGraph."
            $script:MgTokenCache = $null
        }
    }
}

function Test-PimJustification {
    # Refuses an empty or blank justification at once, before any prompt or call.
    param([Parameter(Mandatory)] [System.Management.Automation.PSCmdlet] $Cmdlet, [AllowEmptyString()] [AllowNull()] [string] $Justification)
    if ([string]::IsNullOrWhiteSpace($Justification)) {
        $exception = [PimBridge.Interop.PimNativeException]::new('InvalidJustification', 'A justification is required: say why you approve or deny (the portal requires one too).', 0, $null, $null)
        $Cmdlet.ThrowTerminatingError((New-PimErrorRecord -Exception $exception))
    }
}

function Select-PimDecisionTarget {
    # Reads one pipeline step's input and keeps what the user confirms (ShouldProcess: -WhatIf and
    # -Confirm apply per request). Input without an id is an error record, and is never sent.
    param(
        [Parameter(Mandatory)] [System.Management.Automation.PSCmdlet] $Cmdlet,
        [Parameter(Mandatory)] [string] $Action,
        [AllowNull()] [AllowEmptyCollection()] [object[]] $InputObject
    )
    foreach ($item in @($InputObject)) {
        $target = ConvertTo-PimDecisionTarget -InputObject $item
        if ($null -eq $target -or [string]::IsNullOrWhiteSpace($target.ApprovalId) -or -not $target.Surface) {
            $exception = [PimBridge.Interop.PimNativeException]::new('InvalidInput', "No request was given: pipe objects from Get-PimPending or pass -ApprovalId (got `$null, an empty id, an object without ApprovalId, or a Surface other than $($script:PimSurfaces -join ', ')).", 0, $null, $null)
            $Cmdlet.WriteError((New-PimErrorRecord -Exception $exception -TargetObject $item))
            continue
        }
        if ($Cmdlet.ShouldProcess($target.Description, $Action)) {
            $target
        }
    }
}

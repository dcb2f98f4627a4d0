# What the module outputs: typed objects (PSTypeName, with default views in PimBridge.Format.ps1xml)
# built from the native results, dates in local time and durations in words.

function ConvertTo-PimDate {
    # ISO 8601 text (or a DateTime, as PowerShell 7.4's ConvertFrom-Json makes it) to local time.
    param([object] $Value)
    if ($null -eq $Value -or '' -eq $Value) { return $null }
    if ($Value -is [datetime]) { return $Value.ToLocalTime() }
    [datetime]::Parse([string]$Value, [cultureinfo]::InvariantCulture, [System.Globalization.DateTimeStyles]::AdjustToUniversal -bor [System.Globalization.DateTimeStyles]::AssumeUniversal).ToLocalTime()
}

function Format-PimDuration {
    # 2 hours, 30 minutes, 1 day 4 hours.
    param([AllowNull()] [object] $Duration)
    if ($null -eq $Duration) { return $null }
    $span = [timespan]$Duration
    $parts = foreach ($unit in @(@('day', $span.Days), @('hour', $span.Hours), @('minute', $span.Minutes))) {
        if ($unit[1] -gt 0) { '{0} {1}{2}' -f $unit[1], $unit[0], $(if ($unit[1] -eq 1) { '' } else { 's' }) }
    }
    if ($parts) { $parts -join ' ' } else { '{0} seconds' -f [int]$span.TotalSeconds }
}

function ConvertTo-PimPendingRequest {
    # One native result of a listing to a PimBridge.PendingRequest.
    param([Parameter(Mandatory)] [object] $Item)
    # No pipelines in here: this runs once per request, thousands of times.
    $ticket = "$($Item.ticketSystem) $($Item.ticketNumber)".Trim()
    [pscustomobject]@{
        PSTypeName    = 'PimBridge.PendingRequest'
        ApprovalId    = $Item.approvalId
        RequestId     = $Item.requestId
        Surface       = $Item.surface
        Principal     = if ($Item.principalName) { $Item.principalName } elseif ($Item.principalUpn) { $Item.principalUpn } else { $Item.principalId }
        PrincipalUpn  = $Item.principalUpn
        PrincipalId   = $Item.principalId
        Role          = if ($Item.roleName) { $Item.roleName } else { $Item.roleId }
        RoleId        = $Item.roleId
        Scope         = if ($Item.scopeName) { $Item.scopeName } else { $Item.scopeId }
        ScopeId       = $Item.scopeId
        Justification = if ($null -ne $Item.justification) { [string]$Item.justification } else { $null }
        Ticket        = if ($ticket) { $ticket } else { $null }
        CreatedAt     = ConvertTo-PimDate $Item.createdAt
        StartsAt      = ConvertTo-PimDate $Item.startsAt
        Duration      = if ($null -ne $Item.durationSeconds) { [timespan]::FromSeconds($Item.durationSeconds) } else { $null }
        EndsAt        = ConvertTo-PimDate $Item.endsAt
        Action        = $Item.action
        Status        = $Item.status
        Group         = $Item.groupName
        AccessType    = $Item.accessType
    }
}

function ConvertTo-PimDecision {
    # One native decision result to a PimBridge.Decision, named as the request that was piped in.
    param([Parameter(Mandatory)] [object] $Result, [Parameter(Mandatory)] [object] $Target)
    [pscustomobject]@{
        PSTypeName = 'PimBridge.Decision'
        ApprovalId = $Result.approvalId
        Principal  = $Target.Principal
        Role       = $Target.Role
        Surface    = $Result.surface
        Result     = $Result.result
        DecidedAt  = ConvertTo-PimDate $Result.decidedAt
        Error      = if ($Result.error) { $Result.error.message } else { $null }
    }
}

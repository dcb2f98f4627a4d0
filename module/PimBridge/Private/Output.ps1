# What the module outputs: typed objects (PSTypeName, with default views in PimBridge.Format.ps1xml)
# built from the native results, dates in local time and durations in words.

function ConvertTo-PimDate {
    # ISO 8601 text (or a DateTime, as PowerShell 7.4's ConvertFrom-Json makes it) to local time;
    # $null for none. Text that is not a date is $null too, and with -Problems it is named there
    # ("its <Field> '<text>' is not a date"): no exception, which -ErrorVariable would keep even
    # when caught.
    param([object] $Value, [string] $Field = 'date', [System.Collections.Generic.List[string]] $Problems)
    if ($null -eq $Value -or '' -eq $Value) { return $null }
    if ($Value -is [datetime]) { return $Value.ToLocalTime() }
    $parsed = [datetime]::MinValue
    $styles = [System.Globalization.DateTimeStyles]::AdjustToUniversal -bor [System.Globalization.DateTimeStyles]::AssumeUniversal
    if ([datetime]::TryParse([string]$Value, [cultureinfo]::InvariantCulture, $styles, [ref]$parsed)) { return $parsed.ToLocalTime() }
    if ($null -ne $Problems) { $Problems.Add("its $Field '$Value' is not a date") }
    $null
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
    # One native result of a listing to a PimBridge.PendingRequest. For a request the library could
    # not read (an item with an error, as decision results carry it), or whose date or duration
    # does not convert, it returns a PimNativeException naming it instead, for the caller to report
    # and go on (returned, not thrown: -ErrorVariable keeps even a caught exception).
    param([Parameter(Mandatory)] [object] $Item)
    # No pipelines in here: this runs once per request, thousands of times.
    if ($Item -is [System.Collections.IDictionary] -and $Item['error']) {
        $exception = ConvertTo-PimNativeException -ErrorObject $Item['error']
        $id = [string]$Item['approvalId']
        if (-not $id -or $exception.Message.Contains($id)) { return $exception }
        # Named, so that the record says which request was left out.
        return [PimBridge.Interop.PimNativeException]::new($exception.Code, "The $($Item['surface']) request '$id' could not be read: $($exception.Message)", $exception.HttpStatus, $exception.ServiceCode, $exception.RequestId)
    }
    $problems = [System.Collections.Generic.List[string]]::new()
    $createdAt = ConvertTo-PimDate $Item.createdAt -Field createdAt -Problems $problems
    $startsAt = ConvertTo-PimDate $Item.startsAt -Field startsAt -Problems $problems
    $endsAt = ConvertTo-PimDate $Item.endsAt -Field endsAt -Problems $problems
    $duration = $null
    $seconds = $Item.durationSeconds
    if ($null -ne $seconds) {
        if ($seconds -is [ValueType] -and [math]::Abs([double]$seconds) -lt [timespan]::MaxValue.TotalSeconds) {
            $duration = [timespan]::FromSeconds($seconds)
        } else {
            $problems.Add("its duration '$($Item.duration)' is longer than this module can hold")
        }
    }
    if ($problems.Count) {
        return (New-PimException -Code InvalidResponse -Message "The $($Item.surface) request '$($Item.approvalId)' could not be read: $($problems -join '; '). It is left out; the other requests are listed.")
    }
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
        CreatedAt     = $createdAt
        StartsAt      = $startsAt
        Duration      = $duration
        EndsAt        = $endsAt
        Action        = $Item.action
        Status        = $Item.status
        Group         = $Item.groupName
        AccessType    = $Item.accessType
    }
}

function ConvertTo-PimDecision {
    # One native decision result to a PimBridge.Decision, named as the request that was piped in.
    param([Parameter(Mandatory)] [object] $Result, [Parameter(Mandatory)] [object] $Target)
    # A decision made is reported even when the service's time for it cannot be read ($null).
    $decidedAt = ConvertTo-PimDate $Result.decidedAt
    [pscustomobject]@{
        PSTypeName = 'PimBridge.Decision'
        ApprovalId = $Result.approvalId
        Principal  = $Target.Principal
        Role       = $Target.Role
        Surface    = $Result.surface
        Result     = $Result.result
        DecidedAt  = $decidedAt
        Error      = if ($Result.error) { $Result.error.message } else { $null }
    }
}

# Running a native operation: poll in short slices (so Ctrl+C is honoured), stream results as they
# arrive, show progress, and cancel the native work if the pipeline stops early.

$script:PimProgressId = 4242

function Wait-PimOperation {
    # Outputs each result (a parsed JSON object) as it arrives. If the operation itself fails, the
    # exception is stored in -Failure instead of thrown, so the calling command can report it as its own.
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] [PimBridge.Interop.PimOpHandle] $Operation,
        [Parameter(Mandatory)] [string] $Activity,
        [Parameter(Mandatory)] [ref] $Failure,
        # What counts as done when stopped early, e.g. 'decided'.
        [string] $DoneWord = 'done'
    )

    $finished = $false
    $done = 0
    $total = 0
    try {
        while (-not $finished) {
            $finished = [PimBridge.Interop.PimNative]::Wait($Operation, 100)
            $json = [PimBridge.Interop.PimNative]::TakeResults($Operation)
            if ($json.Length -gt 2) {
                foreach ($item in (Microsoft.PowerShell.Utility\ConvertFrom-Json -InputObject $json @script:JsonArgs)) {
                    $item
                }
            }
            $done, $total = [PimBridge.Interop.PimNative]::Progress($Operation)
            $status = if ($total -gt 0) { "$done of $total $DoneWord" } else { "$done so far" }
            $progress = @{ Id = $script:PimProgressId; Activity = $Activity; Status = $status }
            if ($total -gt 0) { $progress['PercentComplete'] = [int](100 * $done / $total) }
            Microsoft.PowerShell.Utility\Write-Progress @progress
        }
        $Failure.Value = [PimBridge.Interop.PimNative]::GetError($Operation)
    } finally {
        if (-not $finished) {
            # Stopped (Ctrl+C, Select-Object -First, an error with -ErrorAction Stop): stop the native
            # work so that nothing more is sent, and say how far it got.
            [PimBridge.Interop.PimNative]::Cancel($Operation)
            $done, $total = [PimBridge.Interop.PimNative]::Progress($Operation)
            $of = if ($total -gt 0) { " of $total" } else { '' }
            $Host.UI.WriteWarningLine("${Activity}: stopped after $done$of $DoneWord; nothing more is sent.")
        }
        $Operation.Dispose()
        Microsoft.PowerShell.Utility\Write-Progress -Id $script:PimProgressId -Activity $Activity -Completed
    }
}

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

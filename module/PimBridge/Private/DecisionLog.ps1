# The decision log (docs/policy.md, "The decision log"): every decision Approve-PimRequest,
# Deny-PimRequest and Invoke-PimPolicy send is recorded by the native library (pim_log_*), an
# intent line before the send and an outcome line per result. If an intent line cannot be written,
# nothing is sent. Where the log is, and whether it is on, is the library's word
# (pim_log_resolve_path: -LogPath, else PIMBRIDGE_DECISION_LOG, else the user's data folder; 'off'
# switches it off). The log is never given a token: events carry names and ids only.

function Resolve-PimDecisionLogPath {
    # Where the log is: @{ Path; Source; Enabled } ($null Path when it is off). Throws a
    # PimNativeException (InvalidInput) for a relative path.
    param([AllowNull()] [AllowEmptyString()] [string] $LogPath)
    # The environment variable is read here and handed over as the explicit path: on Linux and
    # macOS, .NET keeps its own copy of the environment, so a value set in the session ($env:...)
    # never reaches the library's getenv, which would see only the value the process started with.
    $source = $null
    if (-not $LogPath -and $env:PIMBRIDGE_DECISION_LOG) {
        $LogPath = $env:PIMBRIDGE_DECISION_LOG
        $source = 'environment'
    }
    $answer = [PimBridge.Interop.PimJson]::ReadObject([PimBridge.Interop.DecisionLogNative]::ResolvePath($LogPath))
    if (-not $source) { $source = $answer['source'] }
    @{ Path = $answer['path']; Source = $source; Enabled = [bool]$answer['enabled'] }
}

function Open-PimDecisionLog {
    # The log this command's decisions are written to: @{ Handle; Path; Actor; Tenant }, or $null
    # when the log is off. A folder, a read-only file or a place that cannot be written throws
    # (LogWriteFailed) here, before anything is decided.
    param([AllowNull()] [AllowEmptyString()] [string] $LogPath)
    $where = Resolve-PimDecisionLogPath -LogPath $LogPath
    if (-not $where.Enabled) {
        Write-PimVerbose "The decision log is off ($($where.Source)); decisions are not recorded."
        return $null
    }
    $handle = [PimBridge.Interop.DecisionLogNative]::Open($where.Path)
    Write-PimVerbose (Format-PimInertText "Recording decisions in the decision log '$($where.Path)'.")
    $tenant = $null
    $context = Get-PimMgContext
    if ($context -and $context.PSObject.Properties['TenantId'] -and $context.TenantId) { $tenant = [string]$context.TenantId }
    @{ Handle = $handle; Path = $where.Path; Actor = $null; Tenant = $tenant }
}

function Close-PimDecisionLog {
    param([AllowNull()] [hashtable] $Log)
    if ($null -ne $Log -and $Log.Handle) { $Log.Handle.Dispose() }
}

function Get-PimDecisionLogIdentity {
    # Who sends, and in which tenant: the approver's UPN (else object id) and the token's tenant
    # (tid), read from a token's claims by the library (never the token itself); each $null when
    # no token says.
    param([AllowNull()] [System.Collections.IDictionary] $Tokens)
    $identity = @{ Actor = $null; Tenant = $null }
    if ($null -eq $Tokens) { return $identity }
    foreach ($service in 'graph', 'arm') {
        $token = $Tokens[$service]
        if (-not $token) { continue }
        try {
            $claims = [PimBridge.Interop.PimJson]::ReadObject([PimBridge.Interop.PimNative]::TokenInfo($token))
            if (-not $identity.Actor) { $identity.Actor = if ($claims['upn']) { [string]$claims['upn'] } elseif ($claims['objectId']) { [string]$claims['objectId'] } }
            if (-not $identity.Tenant -and $claims['tenantId']) { $identity.Tenant = [string]$claims['tenantId'] }
        } catch {
            # An opaque token: its claims cannot be read, so the actor and tenant stay unnamed.
            $null = $_
        }
        if ($identity.Actor -and $identity.Tenant) { break }
    }
    $identity
}

function Initialize-PimDecisionLogIntent {
    # Before intents are written with -Tokens: a justification the service cannot take is refused
    # as the library refuses it (InvalidJustification), before the log sees it (the log would
    # otherwise refuse its over-long line first, for another reason); and the log learns who sends,
    # and in which tenant, from the tokens, once. Per run, not per request: neither changes.
    param(
        [AllowNull()] [hashtable] $Log,
        [Parameter(Mandatory)] [string] $Justification,
        [AllowNull()] [System.Collections.IDictionary] $Tokens
    )
    if ($null -eq $Log) { return }
    $chars = $Justification.Length
    if ($chars -gt 4000 -and $chars -le 8000) { $chars = 0; foreach ($rune in $Justification.EnumerateRunes()) { $chars++ } }
    if ($chars -gt 4000) {
        throw (New-PimException -Code InvalidJustification -Message "The justification is $chars characters long; at most 4000 are allowed. Nothing was sent.")
    }
    if ($null -eq $Log.Actor) {
        # The tenant of a Connect-MgGraph session stays; a token given alone names its own (tid).
        $identity = Get-PimDecisionLogIdentity -Tokens $Tokens
        $Log.Actor = $identity.Actor
        if (-not $Log.Tenant) { $Log.Tenant = $identity.Tenant }
    }
}

function Write-PimDecisionIntent {
    # Before a round is sent: one intent line per target, all written in one append or none. When
    # they cannot be written, nothing is sent, and a PimNativeException says why (LogWriteFailed,
    # LogTampered, or InvalidInput for an event the log refuses). A stream's groups are written by
    # its feeder (StreamFeeder.cs) in the same way.
    param(
        [AllowNull()] [hashtable] $Log,
        [Parameter(Mandatory)] [string] $Review,
        [Parameter(Mandatory)] [object[]] $Targets,
        [Parameter(Mandatory)] [string] $Justification,
        [AllowNull()] [System.Collections.IDictionary] $Tokens
    )
    if ($null -eq $Log) { return }
    Initialize-PimDecisionLogIntent -Log $Log -Justification $Justification -Tokens $Tokens
    $intents = [System.Collections.Generic.List[string]]::new()
    foreach ($target in $Targets) { $intents.Add([PimBridge.Interop.DecisionLogEvents]::Intent($Log, $target, $Review, $Justification)) }
    try {
        [PimBridge.Interop.DecisionLogEvents]::AppendIntents($Log, $intents, $Targets[0].ApprovalId, $Review)
    } catch {
        throw (Get-PimInnerException -Exception $_.Exception)
    }
}

function Write-PimDecisionNotSent {
    # Intents written for requests that were then not sent (the native call refused them, or a
    # stop came first): an outcome Failed for each, with the error's kind (NotSent when there is
    # none), so the log does not show them as Unknown. Best effort: lines that cannot be written
    # leave those decisions Unknown, which is what a reader should then check anyway.
    param(
        [AllowNull()] [hashtable] $Log,
        [Parameter(Mandatory)] [string] $Review,
        [Parameter(Mandatory)] [object[]] $Targets,
        [Parameter(Mandatory)] [string] $Justification,
        [System.Exception] $Exception
    )
    if ($null -eq $Log) { return }
    $kind = 'NotSent'
    $inner = if ($Exception) { Get-PimInnerException -Exception $Exception } else { $null }
    if ($inner -is [PimBridge.Interop.PimNativeException]) { $kind = $inner.Code.ToString() }
    $events = [System.Collections.Generic.List[string]]::new()
    foreach ($target in $Targets) { $events.Add([PimBridge.Interop.DecisionLogEvents]::Outcome($Log, $target, $Review, $Justification, 'Failed', $kind, $null, $null)) }
    try { [PimBridge.Interop.DecisionLogEvents]::Append($Log, $events) } catch { $null = $_ }
}

function Write-PimDecisionOutcome {
    # After results came back: their outcome lines (result, error kind, the service's request-id),
    # -Target[i] that of -Result[i], in one append. The decisions are made by then, so lines that
    # cannot be written are a warning per decision, and the log shows those as Unknown; with
    # -Stopping the host says it (a stopping pipeline refuses warnings).
    param(
        [AllowNull()] [hashtable] $Log,
        [Parameter(Mandatory)] [string] $Review,
        [Parameter(Mandatory)] [object[]] $Target,
        [Parameter(Mandatory)] [string] $Justification,
        [Parameter(Mandatory)] [PimBridge.Interop.DecisionResult[]] $Result,
        [switch] $Stopping
    )
    if ($null -eq $Log) { return }
    $events = [System.Collections.Generic.List[string]]::new()
    for ($i = 0; $i -lt $Result.Count; $i++) {
        $r = $Result[$i]
        $requestId = if ($r.Error) { $r.Error.RequestId } else { $null }
        $events.Add([PimBridge.Interop.DecisionLogEvents]::Outcome($Log, $Target[$i], $Review, $Justification, $r.Decision.Result, $r.ErrorKind, $requestId, $r.Decision.Surface))
    }
    try {
        [PimBridge.Interop.DecisionLogEvents]::Append($Log, $events)
    } catch {
        $inner = Get-PimInnerException -Exception $_.Exception
        for ($i = 0; $i -lt $Result.Count; $i++) {
            $id = $Target[$i].ApprovalId
            if ($Stopping) {
                $Host.UI.WriteWarningLine((Format-PimInertText "The decision log could not record the outcome of request '$id'; it shows it as Unknown."))
            } else {
                $text = "The decision log '$($Log.Path)' could not record the outcome ($($Result[$i].Decision.Result)) of request '$id': $($inner.Message) The log shows it as Unknown."
                Microsoft.PowerShell.Utility\Write-Warning -Message (Format-PimInertText $text)
            }
        }
    }
}

function Get-PimDecisionLogFile {
    # The file Get-PimDecisionLog and Test-PimDecisionLog read: -Path, else where the log is.
    param([AllowNull()] [AllowEmptyString()] [string] $Path)
    if ($Path) {
        # Absolute, from the current location; a file that is not there is the library's LogReadFailed.
        return $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Path)
    }
    $where = Resolve-PimDecisionLogPath -LogPath $null
    if (-not $where.Enabled) {
        throw (New-PimException -Code LogReadFailed -Message 'The decision log is off (PIMBRIDGE_DECISION_LOG is off): pass -Path to read a log file.')
    }
    $where.Path
}

function ConvertTo-PimLocalTime {
    # RFC 3339 text from the log as local time; $null for none.
    param([AllowNull()] [object] $Text)
    if ($null -eq $Text -or '' -eq $Text) { return $null }
    $ok = $false
    [PimBridge.Interop.ResultReader]::ToLocalDate([string]$Text, [ref]$ok)
}

function Open-PimCommandDecisionLog {
    # A deciding command's log, opened in its begin block so that a log that cannot be written
    # stops it before any prompt or send (a terminating error through -Cmdlet). Under -WhatIf
    # nothing is sent, so nothing is opened (no folder or file is made): $null, as when it is off.
    param([Parameter(Mandatory)] [System.Management.Automation.PSCmdlet] $Cmdlet, [AllowNull()] [AllowEmptyString()] [string] $LogPath, [switch] $WhatIf)
    if ($WhatIf) { return $null }
    try {
        Open-PimDecisionLog -LogPath $LogPath
    } catch {
        $Cmdlet.ThrowTerminatingError((New-PimErrorRecord -Exception $_.Exception -TargetObject $LogPath))
    }
}

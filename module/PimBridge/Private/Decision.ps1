# What Approve-PimRequest and Deny-PimRequest share: reading pipeline input (each piece made a
# target with its prompt's text by DecisionInput.ToTarget, in the interop assembly), and deciding each confirmed request as it comes, through one native
# stream operation per run (Stream.ps1), and a second round for requests refused for a session
# token that expired under way. Which surface
# a request belongs to is the native library's word: the surface the caller names (ResolveSurface
# checks the name), or, for an id given alone, the library finds it.

function Get-PimInputValue {
    # Property (or key) -Name of one piece of pipeline input, and whether it has it at all:
    # @($has, $value). Input may be any object or dictionary, and strict mode is on.
    param([Parameter(Mandatory)] [object] $InputObject, [Parameter(Mandatory)] [string] $Name)
    if ($InputObject -is [System.Collections.IDictionary]) {
        return @($InputObject.Contains($Name), $InputObject[$Name])
    }
    $property = $InputObject.PSObject.Properties[$Name]
    if ($null -eq $property) { return @($false, $null) }
    @($true, $property.Value)
}

function Test-PimPromptShown {
    # Whether ShouldProcess will show this command's requests (-WhatIf, or a confirmation that
    # -Confirm:$false or $ConfirmPreference = 'None' does not turn off).
    param([Parameter(Mandatory)] [System.Management.Automation.PSCmdlet] $Cmdlet)
    $bound = $Cmdlet.MyInvocation.BoundParameters
    if ($bound.ContainsKey('WhatIf') -and $bound['WhatIf']) { return $true }
    if ($bound.ContainsKey('Confirm')) { return [bool]$bound['Confirm'] }
    [string]$Cmdlet.GetVariableValue('ConfirmPreference', 'High') -ne 'None'
}

function Find-PimListedRequest {
    # The listed request with approval id -Id, for a prompt to name what an id given alone is: from
    # the last listing when it is fresh, else one listing per command (Get-PimRecentListing);
    # $null when it is not listed.
    param([Parameter(Mandatory)] [hashtable] $Run, [Parameter(Mandatory)] [System.Management.Automation.PSCmdlet] $Cmdlet, [Parameter(Mandatory)] [string] $Id)
    if ($null -eq $Run['Listed']) {
        $bound = $Cmdlet.MyInvocation.BoundParameters
        $connection = @{}
        foreach ($name in 'AccessToken', 'ArmAccessToken', 'GraphUri', 'ArmUri', 'Surface') {
            if ($bound.ContainsKey($name) -and $null -ne $bound[$name]) { $connection[$name] = $bound[$name] }
        }
        $listed = @{}
        foreach ($request in Get-PimRecentListing -BoundParameters $connection) {
            if ($request.ApprovalId) { $listed[$request.ApprovalId] = $request }
        }
        $Run['Listed'] = $listed
    }
    $Run['Listed'][$Id]
}

function New-PimDecisionRun {
    # What one Approve-PimRequest or Deny-PimRequest decides from its pipeline. An empty or blank
    # justification is refused at once, before any prompt or call (the library checks the rest).
    # With -Review and -Connection (the command's AccessToken, GraphUri, ArmAccessToken, ArmUri),
    # each request confirmed is sent as it comes (Add-PimDecisionInput); the decision log is set
    # on the run as Log once it is open.
    param(
        [Parameter(Mandatory)] [System.Management.Automation.PSCmdlet] $Cmdlet,
        [AllowEmptyString()] [AllowNull()] [string] $Justification,
        [ValidateSet('Approve', 'Deny')] [string] $Review,
        [System.Collections.IDictionary] $Connection
    )
    if ([string]::IsNullOrWhiteSpace($Justification)) {
        $exception = New-PimException -Code InvalidJustification -Message 'No justification was given: say in -Justification why you decide, in a few words. Nothing was sent.'
        $Cmdlet.ThrowTerminatingError((New-PimErrorRecord -Exception $exception))
    }
    $run = @{ Targets = [System.Collections.Generic.List[object]]::new(); Received = 0 }
    if ($Review) {
        Initialize-PimDecisionRun -Run $run -Cmdlet $Cmdlet -Review $Review -Justification $Justification -Connection $Connection
    }
    $run
}

function Add-PimDecisionInput {
    # Reads one pipeline step's input and sends what the user confirms (ShouldProcess: -WhatIf and
    # -Confirm apply per request) at once, to the run's stream (Stream.ps1); then outputs the
    # decisions whose results are ready, without waiting for the others. Input that cannot be
    # decided (no id, an unknown surface, a hand-made object the prompt cannot describe) is one
    # error record naming it, is never sent, and the rest of the pipeline goes on. What stops the
    # run (no token for a request, a decision log that cannot record it, a token the library
    # refuses) ends the command with one terminating error, after the requests already sent are
    # decided and output. -Surface is the caller's -Surface, if any.
    param(
        [Parameter(Mandatory)] [hashtable] $Run,
        [Parameter(Mandatory)] [System.Management.Automation.PSCmdlet] $Cmdlet,
        [Parameter(Mandatory)] [string] $Action,
        [AllowNull()] [AllowEmptyCollection()] [object[]] $InputObject,
        [string] $Surface
    )
    $Run.Received++
    foreach ($item in @($InputObject)) {
        try {
            # An id alone (or a Graph SDK request object) names no one: the request is looked up, so
            # that the prompt can say who, which role, where, for how long and why.
            $id = if ($item -is [string]) { $item } elseif ([PimBridge.Interop.DecisionInput]::IsSdkRequest($item)) { [string]$item.ApprovalId } else { $null }
            if ($id -and (Test-PimPromptShown -Cmdlet $Cmdlet)) {
                $lookup = @{ Run = $Run; Cmdlet = $Cmdlet; Id = $id }
                $listed = Find-PimListedRequest @lookup
                if ($listed) { $item = $listed }
                else { Write-PimVerbose (Format-PimInertText "The request '$id' is not among those listed as waiting on you; the prompt names it by its id.") }
            }
            # The target and its prompt's text (DecisionInput.cs); an exception for input that cannot be decided.
            $target = [PimBridge.Interop.DecisionInput]::ToTarget($item, $Surface)
        } catch {
            $inner = Get-PimInnerException -Exception $_.Exception
            $record = New-PimErrorRecord -Exception $inner -TargetObject $item
            if ($inner -is [System.DllNotFoundException] -or $inner -is [PimBridge.Interop.PimAbiMismatchException]) {
                # Without the library nothing can be decided: one error, not one per request.
                $Cmdlet.ThrowTerminatingError($record)
            }
            $Cmdlet.WriteError($record)
            continue
        }
        if ($target -is [System.Exception]) {
            $Cmdlet.WriteError((New-PimErrorRecord -Exception $target -TargetObject $item))
            continue
        }
        if ($null -eq $target) {
            $exception = New-PimException -Code InvalidInput -Message 'No request was given: pipe objects from Get-PimPending or pass -ApprovalId (got $null, an empty id, or an object without ApprovalId).'
            $Cmdlet.WriteError((New-PimErrorRecord -Exception $exception -TargetObject $item))
            continue
        }
        if ($Cmdlet.ShouldProcess($target.Description, $Action)) { Add-PimDecisionTarget -Run $Run -Target $target }
    }
    Complete-PimDecisionStep -State $Run -Runs @($Run)
}

function Stop-PimDecisionRunWithError {
    # Ends a run on an error that stops it: the requests already sent are decided and output
    # (their input closed), and then the error is the command's one terminating error.
    param([Parameter(Mandatory)] [hashtable] $Run, [Parameter(Mandatory)] [System.Exception] $Exception)
    Complete-PimDecisionStream -Run $Run
    $Run.Done = $true
    Close-PimDecisionProgress -Run $Run
    $Run.Cmdlet.ThrowTerminatingError((New-PimErrorRecord -Exception $Exception))
}

function Complete-PimDecisionRun {
    # Ends the run: sends what was confirmed and not yet sent, closes the streams' input and outputs the rest of the results
    # as they come. -Connection holds the command's AccessToken, GraphUri, ArmAccessToken and
    # ArmUri, as given. If the pipeline stops under way, the finally accounts for every request
    # (Stop-PimDecisionRun).
    param(
        [Parameter(Mandatory)] [hashtable] $Run,
        [Parameter(Mandatory)] [System.Management.Automation.PSCmdlet] $Cmdlet,
        [Parameter(Mandatory)] [ValidateSet('Approve', 'Deny')] [string] $Review,
        [Parameter(Mandatory)] [string] $Justification,
        [Parameter(Mandatory)] [System.Collections.IDictionary] $Connection,
        # The decision log (Open-PimDecisionLog), $null when it is off.
        [AllowNull()] [hashtable] $Log
    )
    if ($Run.Received -eq 0) {
        Microsoft.PowerShell.Utility\Write-Warning -Message 'No requests were given (the pipeline was empty); nothing was sent.'
    }
    Initialize-PimDecisionRun -Run $Run -Cmdlet $Cmdlet -Review $Review -Justification $Justification -Connection $Connection -Log $Log
    if ($Run.Targets.Count -eq 0) {
        $Run.Done = $true
        return
    }
    try {
        try {
            Send-PimDecisionPending -Run $Run
        } catch [System.Management.Automation.PipelineStoppedException] {
            throw
        } catch {
            Stop-PimDecisionRunWithError -Run $Run -Exception $_.Exception
        }
        Complete-PimDecisionStream -Run $Run
        $Run.Done = $true
        Close-PimDecisionProgress -Run $Run
        foreach ($stream in $Run.Streams) {
            if ($stream.Failure -and $stream.Failure.Code -ne 'Cancelled') {
                $Cmdlet.ThrowTerminatingError((New-PimErrorRecord -Exception $stream.Failure))
            }
        }
        if ($Run.TokenError) { $Cmdlet.ThrowTerminatingError((New-PimErrorRecord -Exception $Run.TokenError)) }
        if ($Run.PushFailure) { $Cmdlet.ThrowTerminatingError((New-PimErrorRecord -Exception $Run.PushFailure)) }
        # A Connect-MgGraph token that the service refused in the middle of a run (401: not
        # applied) is read again once, and only the requests refused for it are sent again, in one
        # more operation. A token given with -AccessToken fails as given.
        if ($Run.Refused.Count -gt 0) {
            Reset-PimGraphToken -Reason "The session's token was refused for $($Run.Refused.Count) request(s)"
            $round = @{ Cmdlet = $Cmdlet; Review = $Review; Justification = $Justification; Connection = $Connection; Log = $Log }
            Send-PimDecisionRound @round -Targets $Run.Refused.ToArray() -Rule $Run['Rule']
        }
    } finally {
        if (-not $Run.Done) { Stop-PimDecisionRun -Run $Run }
    }
}

# What the service says when it refuses a token (HTTP 401, nothing applied).
$script:PimTokenRefusals = @('Unauthorized', 'InvalidToken', 'TokenExpired', 'TokenChallenge')

function Send-PimDecisionRound {
    # Decides -Targets as one native operation (all known up front: the second round of a run) and
    # outputs a PimBridge.Decision per request as it completes. Errors are written through -Cmdlet,
    # so the caller's -ErrorAction applies. With -Refused, a Graph request the service refused for
    # its token is put there instead.
    param(
        [Parameter(Mandatory)] [System.Management.Automation.PSCmdlet] $Cmdlet,
        [Parameter(Mandatory)] [string] $Review,
        [Parameter(Mandatory)] [object[]] $Targets,
        [Parameter(Mandatory)] [string] $Justification,
        [Parameter(Mandatory)] [System.Collections.IDictionary] $Connection,
        [AllowNull()] [System.Collections.Generic.List[object]] $Refused,
        [AllowNull()] [hashtable] $Log,
        # The policy rule its decisions carry (Invoke-PimPolicy's runs), if any.
        [AllowNull()] [string] $Rule
    )
    $intended = $false
    try {
        $uri = Resolve-PimGraphUri -GraphUri $Connection['GraphUri']
        $pointed = [System.Collections.Generic.List[string]]::new()
        $unpointed = $false
        foreach ($t in $Targets) { if ($t.TokenSurface) { $pointed.Add($t.TokenSurface) } else { $unpointed = $true } }
        $tokens = if ($pointed.Count) { Get-PimTokenSet -Surface $pointed -Connection $Connection -GraphUri $uri } else { @{} }
        if ($unpointed) {
            # An id the library could not point anywhere: whatever tokens are at hand, for it to try.
            $any = Get-PimTokenSet -Surface @((Get-PimSurface).Name) -Connection $Connection -GraphUri $uri -Optional
            foreach ($service in @($any.Keys)) { if (-not $tokens[$service]) { $tokens[$service] = $any[$service] } }
        }
        # Azure Resource Manager's address is looked for in the Connect-AzAccount session only when
        # an Azure request is decided.
        $armUri = Resolve-PimArmUri -ArmUri $Connection['ArmUri'] -NoSession:(-not $tokens['arm'])
        $client = Get-PimClient -GraphUri $uri -ArmUri $armUri -TraceLevel (Get-PimTraceLevel)
        # A surface is sent only when the caller named one; for an id alone the library finds it.
        $requests = foreach ($t in $Targets) {
            $request = @{ approvalId = $t.ApprovalId; principalId = $t.PrincipalId }
            if ($t.Surface) { $request['surface'] = $t.Surface }
            $request
        }
        $json = [PimBridge.Interop.PimJson]::Write(@($requests))
        # The decision log's intent lines, before anything is sent (DecisionLog.ps1); none written: nothing sent.
        Write-PimDecisionIntent -Log $Log -Review $Review -Targets $Targets -Justification $Justification -Tokens $tokens
        $intended = $true
        $operation = [PimBridge.Interop.PimNative]::$Review($client, $tokens['graph'], $tokens['arm'], $json, $Justification)
    } catch {
        if ($intended) { Write-PimDecisionNotSent -Log $Log -Review $Review -Targets $Targets -Justification $Justification -Exception $_.Exception }
        $Cmdlet.ThrowTerminatingError((New-PimErrorRecord -Exception $_.Exception))
    }
    Write-PimVerbose "$Review`: sending $($Targets.Count) decision(s)."
    $failure = [ref]$null
    $graphSurfaces = @(foreach ($info in Get-PimSurface) { if ($info.Service -eq 'graph') { $info.Name } })
    $activity = '{0} {1} PIM request(s)' -f $(if ($Review -eq 'Approve') { 'Approving' } else { 'Denying' }), $Targets.Count
    # Stopped, it says what it knows: how many results came back, not how many the service applied.
    $waitArgs = @{
        Operation = $operation; Results = 'DecisionResults'; Activity = $activity; Failure = $failure; DoneWord = 'decided'; Total = $Targets.Count
        Stopped   = '{0} of {1} came back with a result and were output; nothing more is sent, but requests already on their way may have been decided: run Get-PimPending to see which still wait.'
    }
    Wait-PimOperation @waitArgs | Microsoft.PowerShell.Core\ForEach-Object {
        # A PimBridge.Interop.DecisionResult: the Decision, named as the request piped in, and its error.
        $target = $Targets[$_.Index]
        Write-PimDecisionOutcome -Log $Log -Review $Review -Target $target -Justification $Justification -Result $_
        # Refused for its token (nothing applied): kept for one more round with a fresh session token.
        # A request whose outcome is unknown (OutcomeUnknown) is never sent again.
        if ($null -ne $Refused -and $_.Decision.Result -eq 'Failed' -and $_.ErrorKind -in $script:PimTokenRefusals -and $_.Decision.Surface -in $graphSurfaces) {
            $Refused.Add($target)
            return
        }
        $decision = $_.Decision
        $decision.Principal = $target.Principal
        $decision.Role = $target.Role
        $decision.Scope = $target.Scope
        $decision.RequestId = $target.RequestId
        if ($Rule) { $decision.Rule = $Rule }
        $record = $null
        if ($_.Error) {
            $record = New-PimErrorRecord -Exception $_.Error -TargetObject $target.InputObject
            $decision.ErrorId = $record.FullyQualifiedErrorId
        }
        $decision
        if ($record) { $Cmdlet.WriteError($record) }
    }
    if ($failure.Value) {
        $Cmdlet.ThrowTerminatingError((New-PimErrorRecord -Exception $failure.Value))
    }
}

function Test-PimDecisionReceiveDue {
    # Whether the pipeline step should take the results that are ready now: at most every 50 ms
    # (a person answering prompts is slower than that, so each answer still sees them), since taking them
    # (trace, results, progress) costs more than handing a request over.
    param([Parameter(Mandatory)] [hashtable] $Run)
    if ($null -eq $Run['ReceiveClock']) { $Run['ReceiveClock'] = [System.Diagnostics.Stopwatch]::StartNew(); return $true }
    if ($Run.ReceiveClock.ElapsedMilliseconds -lt 50) { return $false }
    $Run.ReceiveClock.Restart()
    $true
}

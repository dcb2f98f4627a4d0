# Deciding as the pipeline goes: each request a deciding command confirms is handed at once to one
# running native stream operation (pim_approve_stream / pim_deny_stream, then pim_op_push), results
# that are ready are output without waiting, and the end closes the input and waits for the rest.
# A run (New-PimDecisionRun) starts its stream lazily, at its first confirmed request, with the
# tokens that request needs; a later request that needs another service's token starts a second
# stream for it. When the pipeline stops early (Ctrl+C, an error with -ErrorAction Stop, Select-Object
# -First downstream), Stop-PimDecisionRun accounts for every request handed over: the native work is
# cancelled (nothing more is sent; decisions already on the wire are waited for), and each request
# the service applied is named on the host (output can no longer flow), each whose outcome is
# unknown is named with what to run to see it, and one warning gives the numbers.

# The streams of this session whose input is open or whose results are still coming: Get-PimPending
# waits on them (Wait-PimDecisionSettled) before it lists again.
$script:PimDecisionStreams = [System.Collections.Generic.List[hashtable]]::new()
# The progress bar of decisions: its own id, so that a listing's bar above it in the same pipeline stays.
$script:PimDecisionProgressId = 4243
# The error kinds with which the library refuses a token before sending (HTTP status 0): the token
# cannot decide that surface (expired, not a token, app-only, no scope, none). One error per run.
$script:PimTokenCheckKinds = @('MissingToken', 'InvalidToken', 'TokenExpired', 'MissingScope', 'AppOnlyToken')

function Initialize-PimDecisionRun {
    # Fills in what a run needs to stream (a run New-PimDecisionRun or Get-PimPolicyDecisionRun
    # made has only Targets, Received and Rule): its command, review, justification, connection and log.
    param(
        [Parameter(Mandatory)] [hashtable] $Run,
        [Parameter(Mandatory)] [System.Management.Automation.PSCmdlet] $Cmdlet,
        [Parameter(Mandatory)] [ValidateSet('Approve', 'Deny')] [string] $Review,
        [Parameter(Mandatory)] [string] $Justification,
        [Parameter(Mandatory)] [System.Collections.IDictionary] $Connection,
        [AllowNull()] [hashtable] $Log
    )
    $fields = @{
        Cmdlet = $Cmdlet; Review = $Review; Justification = $Justification; Connection = $Connection; Log = $Log
    }
    foreach ($name in $fields.Keys) { if ($null -eq $Run[$name]) { $Run[$name] = $fields[$name] } }
    if ($null -eq $Run['Streams']) {
        # Streams: the native operations. Sent: how many of Targets were handed to one.
        $Run['Streams'] = [System.Collections.Generic.List[hashtable]]::new()
        $Run['Sent'] = 0
        # Graph requests the service refused for the session's token (401, nothing applied): sent once more after the close.
        $Run['Refused'] = [System.Collections.Generic.List[object]]::new()
        # The first refusal of a token before anything was sent for it: one terminating error.
        $Run['TokenError'] = $null
        # A push that failed at the close (the feeder's): one terminating error.
        $Run['PushFailure'] = $null
        # After a stop, what came of the requests whose result was not output (PimBridge.Decision
        # objects); what was output is in each stream's Done.
        $Run['Account'] = @{
            Applied = [System.Collections.Generic.List[object]]::new()
            Unknown = [System.Collections.Generic.List[object]]::new()
            Failed  = [System.Collections.Generic.List[object]]::new()
            NotSent = [System.Collections.Generic.List[object]]::new()
        }
        $Run['GraphSurfaces'] = @(foreach ($info in Get-PimSurface) { if ($info.Service -eq 'graph') { $info.Name } })
        # Each surface's service, looked up for every request handed over.
        $Run['Services'] = @{}
        foreach ($info in Get-PimSurface) { $Run.Services[$info.Name] = $info.Service }
        $Run['Progress'] = @{ At = [datetime]::MinValue; WaitText = $null; WaitUntil = [datetime]::MinValue; Fresh = $false; Shown = $false }
        $Run['Done'] = $false
        # Since the last pipeline step ended (Complete-PimDecisionStep).
        $Run['StepClock'] = [System.Diagnostics.Stopwatch]::StartNew()
    }
}

function Find-PimDecisionStream {
    # The run's open stream that can take -Target (one holding the token of its service); $null
    # when none can.
    param([Parameter(Mandatory)] [hashtable] $Run, [Parameter(Mandatory)] [object] $Target)
    $service = if ($Target.TokenSurface) { $Run.Services[$Target.TokenSurface] } else { $null }
    foreach ($stream in $Run.Streams) {
        if ($stream.Closed) { continue }
        if (-not $service -or $stream.Tokens[$service]) { return $stream }
    }
    $null
}

function Get-PimDecisionStream {
    # The run's stream that can take -Target, or a new one started with the tokens it needs.
    # Throws (a PimNativeException) when there is no such token.
    param([Parameter(Mandatory)] [hashtable] $Run, [Parameter(Mandatory)] [object] $Target)
    $found = Find-PimDecisionStream -Run $Run -Target $Target
    if ($found) { return $found }
    $service = if ($Target.TokenSurface) { (Get-PimSurface -Name $Target.TokenSurface).Service } else { $null }
    $connection = $Run.Connection
    $uri = Resolve-PimGraphUri -GraphUri $connection['GraphUri']
    if ($service) {
        $tokens = Get-PimTokenSet -Surface @($Target.TokenSurface) -Connection $connection -GraphUri $uri
    } else {
        # An id the library could not point anywhere: whatever tokens are at hand, for it to try.
        $tokens = Get-PimTokenSet -Surface @((Get-PimSurface).Name) -Connection $connection -GraphUri $uri -Optional
        if (-not ($tokens['graph'] -or $tokens['arm'])) {
            $tokens['graph'] = Get-PimServiceToken -Service graph -Connection $connection -GraphUri $uri
        }
    }
    # Azure Resource Manager's address is looked for in the Connect-AzAccount session only when
    # an Azure request is decided.
    $armUri = Resolve-PimArmUri -ArmUri $connection['ArmUri'] -NoSession:(-not $tokens['arm'])
    $client = Get-PimClient -GraphUri $uri -ArmUri $armUri -TraceLevel (Get-PimTraceLevel)
    # The log's checks and the sender's name, before the first intent (the feeder writes them).
    Initialize-PimDecisionLogIntent -Log $Run.Log -Justification $Run.Justification -Tokens $tokens
    $start = "$($Run.Review)Stream"
    $operation = [PimBridge.Interop.PimNative]::$start($client, $tokens['graph'], $tokens['arm'], $Run.Justification)
    # Without a prompt, requests come as fast as the pipeline makes them: they are handed over in
    # groups (a batch's worth, or after 100 ms without a new one, or 1 s at most), so that batches
    # fill, and the group's intents take one write, however long each request takes here. A
    # person's "Yes" is a group of its own, handed over at once.
    $full = if (Test-PimPromptShown -Cmdlet $Run.Cmdlet) { 1 } else { 20 }
    $feeder = [PimBridge.Interop.StreamFeeder]::new($operation, $Run.Log, $Run.Review, $Run.Justification, $full, 100, 1000)
    $stream = @{
        Operation = $operation
        Feeder    = $feeder
        Tokens    = $tokens
        # What was handed over, by the library's index.
        Targets   = [System.Collections.Generic.List[object]]::new()
        # The results taken from the library and not yet handled, and, by index, what became of
        # each handled one: Applied, Unknown or Failed (output), NotSent (the token refused before
        # sending), Refused (kept for the second round), Account (handled after a stop).
        Queue     = [System.Collections.Generic.List[PimBridge.Interop.DecisionResult]]::new()
        Done      = [System.Collections.Generic.Dictionary[int, string]]::new()
        # The results whose outcome line the decision log has.
        Logged    = [System.Collections.Generic.HashSet[int]]::new()
        Closed    = $false
        Finished  = $false
        Failure   = $null
    }
    $Run.Streams.Add($stream)
    $script:PimDecisionStreams.Add($stream)
    $services = @(foreach ($key in 'graph', 'arm') { if ($tokens[$key]) { $key } }) -join ' and '
    Write-PimVerbose "$($Run.Review): each confirmed request is sent as it comes (one streamed operation, $services token)."
    $stream
}

function Add-PimDecisionTarget {
    # A confirmed request, added to the run and handed over at once (Send-PimDecisionPending); what
    # cannot be sent (no token, a log that cannot record it, a push refused) ends the run with its
    # error (Stop-PimDecisionRunWithError). Shared by Add-PimDecisionInput and Add-PimPolicyDecision.
    param([Parameter(Mandatory)] [hashtable] $Run, [Parameter(Mandatory)] [object] $Target)
    $Run.Targets.Add($Target)
    try {
        Send-PimDecisionPending -Run $Run
    } catch [System.Management.Automation.PipelineStoppedException] {
        throw
    } catch {
        Stop-PimDecisionRunWithError -Run $Run -Exception $_.Exception
    }
}

function Send-PimDecisionPending {
    # Hands every confirmed target not yet sent (Targets from Sent on) to a stream's feeder, which
    # writes their intents and pushes them a group at a time (StreamFeeder.cs): one call per
    # target here. Throws when a target cannot be sent (no token for it, the log cannot record its
    # group, the library refuses the push); those handed over before it were sent.
    param([Parameter(Mandatory)] [hashtable] $Run)
    while ($Run.Sent -lt $Run.Targets.Count) {
        $target = $Run.Targets[$Run.Sent]
        $stream = Find-PimDecisionStream -Run $Run -Target $target
        if ($null -eq $stream) { $stream = Get-PimDecisionStream -Run $Run -Target $target }
        # Listed before it is handed over: whatever stops the pipeline next, a target pushed is in
        # the list (one in the list that has no result once the stream ended was not pushed).
        $stream.Targets.Add($target)
        try {
            $stream.Feeder.Add($target)
        } catch {
            # A group that failed takes its targets off the list (Sync-PimDecisionFeeder); a target
            # the feeder never took comes off here.
            if ($null -eq (Sync-PimDecisionFeeder -Run $Run -Stream $stream)) { $stream.Targets.RemoveAt($stream.Targets.Count - 1) }
            throw
        }
        $Run.Sent++
    }
}

function Sync-PimDecisionFeeder {
    # After a stream's feeder failed (or with -Flush, after pushing what waits): the targets it
    # never pushed are taken off the stream (they will have no result), those whose intent was
    # written recorded in the decision log as not sent, and the failure is returned ($null when
    # there is none).
    param([Parameter(Mandatory)] [hashtable] $Run, [Parameter(Mandatory)] [hashtable] $Stream, [switch] $Flush)
    $feeder = $Stream.Feeder
    if ($Flush) {
        try { $feeder.Flush() } catch { $null = $_ }
    }
    $failure = $feeder.Failure
    if ($null -eq $failure) { return $null }
    $pushed = $feeder.Pushed
    if ($Stream.Targets.Count -gt $pushed) {
        $intended = [Math]::Min($feeder.Intended, $Stream.Targets.Count)
        if ($intended -gt $pushed) {
            $written = $Stream.Targets.GetRange($pushed, $intended - $pushed).ToArray()
            Write-PimDecisionNotSent -Log $Run.Log -Review $Run.Review -Targets $written -Justification $Run.Justification -Exception $failure
        }
        $Stream.Targets.RemoveRange($pushed, $Stream.Targets.Count - $pushed)
    }
    $failure
}

function Receive-PimDecisionResult {
    # Takes what the run's streams have ready: their trace (verbose and debug lines, the wait the
    # progress bar shows) and their results, each handled by Resolve-PimDecisionResult (a Decision
    # output, an error record, a request kept for the second round). With -UntilFinished it waits,
    # in short slices, until every stream has finished (close their input first); without, it
    # never waits. With -Stopping, results are kept for the account instead of output.
    param([Parameter(Mandatory)] [hashtable] $Run, [switch] $UntilFinished, [switch] $Stopping, [datetime] $Deadline = [datetime]::MaxValue)
    do {
        $running = $false
        foreach ($stream in $Run.Streams) {
            if ($stream.Finished) { continue }
            $finished = $false
            if ($UntilFinished) { $finished = [PimBridge.Interop.PimNative]::Wait($stream.Operation, 100) }
            Read-PimOperationTrace -Operation $stream.Operation -State $Run.Progress -Quiet:$Stopping
            # Taken into the stream's queue in one call, and each removed once handled: a stop
            # that lands in between leaves it there, for the account.
            $null = [PimBridge.Interop.ResultReader]::TakeDecisionResults($stream.Operation, $stream.Queue)
            Write-PimDecisionQueueOutcome -Run $Run -Stream $stream -Stopping:$Stopping
            Resolve-PimDecisionQueue -Run $Run -Stream $stream -Stopping:$Stopping
            if ($finished) {
                $stream.Finished = $true
                $stream.Failure = [PimBridge.Interop.PimNative]::GetError($stream.Operation)
                Close-PimDecisionStream -Stream $stream
            } else {
                $running = $true
            }
        }
        if (-not $Stopping) { Write-PimDecisionProgress -Run $Run -Force:$UntilFinished }
    } while ($UntilFinished -and $running -and [datetime]::UtcNow -lt $Deadline)
}

function Close-PimDecisionStream {
    # Lets go of a finished (or abandoned) stream: no longer waited on by a listing, its feeder
    # stopped and its handle freed.
    param([Parameter(Mandatory)] [hashtable] $Stream)
    $null = $script:PimDecisionStreams.Remove($Stream)
    $Stream.Feeder.Dispose()
    $Stream.Operation.Dispose()
}

function Write-PimDecisionQueueOutcome {
    # The outcome lines of the results in a stream's queue that the log does not have yet, in one
    # append (DecisionLog.ps1), each noted so that it is not logged twice.
    param([Parameter(Mandatory)] [hashtable] $Run, [Parameter(Mandatory)] [hashtable] $Stream, [switch] $Stopping)
    if ($null -eq $Run.Log -or $Stream.Queue.Count -eq 0) { return }
    $results = [System.Collections.Generic.List[PimBridge.Interop.DecisionResult]]::new()
    $targets = [System.Collections.Generic.List[object]]::new()
    foreach ($result in $Stream.Queue) {
        if ($Stream.Done.ContainsKey($result.Index) -or $Stream.Logged.Contains($result.Index)) { continue }
        $results.Add($result)
        $targets.Add($Stream.Targets[$result.Index])
    }
    if ($results.Count -eq 0) { return }
    $outcome = @{ Log = $Run.Log; Review = $Run.Review; Justification = $Run.Justification; Target = $targets.ToArray(); Result = $results.ToArray() }
    Write-PimDecisionOutcome @outcome -Stopping:$Stopping
    foreach ($result in $results) { $null = $Stream.Logged.Add($result.Index) }
}

function Resolve-PimDecisionQueue {
    # Handles the results in a stream's queue, in order, each removed once handled.
    param([Parameter(Mandatory)] [hashtable] $Run, [Parameter(Mandatory)] [hashtable] $Stream, [switch] $Stopping)
    while ($Stream.Queue.Count -gt 0) {
        Resolve-PimDecisionResult -Run $Run -Stream $Stream -Result $Stream.Queue[0] -Stopping:$Stopping
        $Stream.Queue.RemoveAt(0)
    }
}

function Resolve-PimDecisionResult {
    # One result of a stream: its outcome line in the decision log, then, as the run goes, a
    # PimBridge.Decision named as the request piped in (and an error record when it failed); after
    # a stop, an entry of the account instead. A request refused for the session's token (401,
    # nothing applied) is kept for the second round; a token the library refused before sending is
    # the run's one token error. A result already handled (a stop came before it left the queue)
    # is not handled again.
    param(
        [Parameter(Mandatory)] [hashtable] $Run,
        [Parameter(Mandatory)] [hashtable] $Stream,
        [Parameter(Mandatory)] [PimBridge.Interop.DecisionResult] $Result,
        [switch] $Stopping
    )
    $index = $Result.Index
    if ($Stream.Done.ContainsKey($index)) { return }
    $target = $Stream.Targets[$index]
    if ($Run.Log -and -not $Stream.Logged.Contains($index)) {
        # Written with the rest of its queue as a rule (Write-PimDecisionQueueOutcome); here when a
        # stop came in between. A line that cannot be written is said on the host when stopping.
        Write-PimDecisionOutcome -Log $Run.Log -Review $Run.Review -Target $target -Justification $Run.Justification -Result $Result -Stopping:$Stopping
        # Noted, so that a stop before the result is handled does not log it twice.
        $null = $Stream.Logged.Add($index)
    }
    $decision = $Result.Decision
    $decision.Principal = $target.Principal
    $decision.Role = $target.Role
    $decision.Scope = $target.Scope
    $decision.RequestId = $target.RequestId
    # A policy's run (Invoke-PimPolicy) decides by one rule.
    $decision.Rule = $Run['Rule']
    $kind = $Result.ErrorKind
    $checked = $decision.Result -eq 'Failed' -and $kind -in $script:PimTokenCheckKinds -and ($null -eq $Result.Error -or $Result.Error.HttpStatus -eq 0)
    if ($checked) {
        # The token cannot decide this surface, and nothing was sent: said once, for the run.
        if ($null -eq $Run.TokenError) { $Run.TokenError = $Result.Error }
        $Stream.Done[$index] = 'NotSent'
        return
    }
    if (-not $Stopping -and -not $Run.Connection['AccessToken'] -and $decision.Result -eq 'Failed' -and $kind -in $script:PimTokenRefusals -and $decision.Surface -in $Run.GraphSurfaces) {
        # Refused for its token (nothing applied): kept for one more round with a fresh session
        # token. A request whose outcome is unknown (OutcomeUnknown) is never sent again.
        $Run.Refused.Add($target)
        $Stream.Done[$index] = 'Refused'
        return
    }
    # Cancelled: not sent, as the library says after a cancel.
    $category = if ($decision.Result -in 'Approved', 'Denied') { 'Applied' } elseif ($decision.Result -eq 'Unknown') { 'Unknown' } elseif ($kind -eq 'Cancelled') { 'NotSent' } else { 'Failed' }
    if ($Stopping) {
        $Run.Account[$category].Add($decision)
        $Stream.Done[$index] = 'Account'
        return
    }
    $record = $null
    if ($Result.Error) {
        $record = New-PimErrorRecord -Exception $Result.Error -TargetObject $target.InputObject
        $decision.ErrorId = $record.FullyQualifiedErrorId
    }
    # Output first, then noted: a stop refuses the output (and the account names it), or comes
    # after the note.
    $decision
    $Stream.Done[$index] = if ($category -eq 'NotSent') { 'Failed' } else { $category }
    if ($record) { $Run.Cmdlet.WriteError($record) }
}

function Write-PimDecisionProgress {
    # The decisions' progress bar: how many of those handed over are decided, and the wait when the
    # service throttles. While the pipeline still feeds the run it is written at most a few times a
    # second (and at once when a wait begins); -Force writes it now.
    param([Parameter(Mandatory)] [hashtable] $Run, [switch] $Force)
    $state = $Run.Progress
    $now = [datetime]::UtcNow
    if (-not $Force -and -not $state.Fresh -and ($now - $state.At).TotalMilliseconds -lt 250) { return }
    $done = [uint64]0
    $count = [uint64]0
    foreach ($stream in $Run.Streams) {
        if ($stream.Finished) {
            $done += $stream.Targets.Count
            $count += $stream.Targets.Count
            continue
        }
        $d, $t = [PimBridge.Interop.PimNative]::Progress($stream.Operation)
        $done += $d
        $count += $t
    }
    $status = "$done of $count decided"
    if ($state.WaitText -and ($state.Fresh -or $now -le $state.WaitUntil)) { $status = "$status. $($state.WaitText)" }
    $activity = '{0} PIM requests' -f $(if ($Run.Review -eq 'Approve') { 'Approving' } else { 'Denying' })
    $progress = @{ Id = $script:PimDecisionProgressId; Activity = $activity; Status = $status }
    if ($count -gt 0) { $progress['PercentComplete'] = [int](100 * $done / $count) }
    Write-PimProgress @progress
    $state.At = $now
    $state.Fresh = $false
    $state.Shown = $true
}

function Close-PimDecisionInput {
    # Ends the input of the run's open streams (what their feeders hold is pushed first); their
    # results still come. A push that failed is kept in the run's PushFailure.
    param([Parameter(Mandatory)] [hashtable] $Run)
    foreach ($stream in $Run.Streams) {
        if ($stream.Closed) { continue }
        $failed = Sync-PimDecisionFeeder -Run $Run -Stream $stream -Flush
        if ($failed -and -not $Run.PushFailure) { $Run.PushFailure = $failed }
        [PimBridge.Interop.PimNative]::CloseInput($stream.Operation)
        $stream.Closed = $true
        Write-PimVerbose "$($Run.Review): input closed after $($stream.Targets.Count) request(s); waiting for the rest of the results."
    }
}

function Complete-PimDecisionStream {
    # Ends the input of the run's streams and outputs what is left, waiting for it.
    param([Parameter(Mandatory)] [hashtable] $Run)
    Close-PimDecisionInput -Run $Run
    Receive-PimDecisionResult -Run $Run -UntilFinished
}

function Wait-PimDecisionSettled {
    # Waits until every stream of the session has a result for each request pushed to it (their
    # input may stay open): then no decision of this session is on its way. Get-PimPending calls
    # it before it lists again a listing whose requests were decided while it paged.
    foreach ($stream in @($script:PimDecisionStreams)) {
        try {
            # What a feeder holds is pushed now: no decision may still be on its way in here.
            try { $stream.Feeder.Flush() } catch { $null = $_ }
            while (-not $stream.Finished -and -not $stream.Operation.IsClosed) {
                $done, $total = [PimBridge.Interop.PimNative]::Progress($stream.Operation)
                if ($done -ge $total) { break }
                $null = [PimBridge.Interop.PimNative]::Wait($stream.Operation, 50)
            }
        } catch [System.ObjectDisposedException] {
            # Let go of meanwhile: it has nothing more on its way from here.
            $null = $_
        }
    }
}

function Stop-PimDecisionRun {
    # After the pipeline stopped early (from a command's clean block, or the finally of the end):
    # cancels the run's streams (nothing more is sent; decisions on the wire are waited for, as
    # the library's cancelGraceMs says), takes every result, records each in the decision log, and
    # accounts for every request confirmed on the host (output can no longer flow): each applied
    # one named, each whose outcome is unknown named with what to run to see it, each failed one
    # named with why, the others counted, and one warning whose numbers are those of the service's
    # answers. Does nothing for a run that completed, or that confirmed nothing.
    param([AllowNull()] [hashtable] $Run)
    if ($null -eq $Run -or $null -eq $Run['Streams']) { return }
    if ($Run.Done) { return }
    $Run.Done = $true
    $open = @(foreach ($stream in $Run.Streams) { if (-not $stream.Finished) { $stream } })
    $handed = 0
    foreach ($stream in $Run.Streams) { $handed += $stream.Targets.Count }
    # Confirmed, and never handed to a stream (the push before was the last).
    $unsent = $Run.Targets.Count - $handed
    if ($open.Count -eq 0 -and $Run.Refused.Count -eq 0 -and $unsent -le 0) {
        Close-PimDecisionProgress -Run $Run
        return
    }
    $command = $Run.Cmdlet.MyInvocation.MyCommand.Name
    foreach ($stream in $open) {
        # What a feeder still holds is never pushed (no result: not sent).
        $stream.Feeder.Dispose()
        [PimBridge.Interop.PimNative]::Cancel($stream.Operation)
    }
    $waiting = 0
    foreach ($stream in $open) { $waiting += $stream.Targets.Count - $stream.Done.Count - $stream.Queue.Count }
    if ($waiting -gt 0) {
        $Host.UI.WriteLine("${command}: stopping; nothing more is sent. Waiting for the answers to the decisions already on their way ($waiting request(s) without a result yet).")
    }
    # Results taken before the stop and not yet handled (the stop came in between), first.
    foreach ($stream in $Run.Streams) { Resolve-PimDecisionQueue -Run $Run -Stream $stream -Stopping }
    # The library ends a cancelled operation once the decisions on the wire are answered or their
    # grace (cancelGraceMs) has passed and the approvals of those still unanswered were read once
    # (cancelReadMs); the bound here only guards against a hang.
    Receive-PimDecisionResult -Run $Run -UntilFinished -Stopping -Deadline ([datetime]::UtcNow.AddSeconds(120))
    $account = $Run.Account
    $output = @{ Applied = 0; Unknown = 0; Failed = 0; NotSent = 0; Refused = 0; Account = 0 }
    foreach ($stream in $Run.Streams) {
        foreach ($what in $stream.Done.Values) { $output[$what]++ }
        # Without a result: not pushed, when the stream has ended (it reports every request pushed)
        # or its feeder never pushed it; else sent, with no answer in time.
        # Recorded in the log as not sent: those of them whose intent was written.
        $unpushed = [System.Collections.Generic.List[object]]::new()
        $pushed = $stream.Feeder.Pushed
        $intended = $stream.Feeder.Intended
        for ($i = 0; $i -lt $stream.Targets.Count; $i++) {
            if ($stream.Done.ContainsKey($i)) { continue }
            $target = $stream.Targets[$i]
            $decision = [PimBridge.Decision]@{ ApprovalId = $target.ApprovalId; Principal = $target.Principal; Role = $target.Role; Scope = $target.Scope; RequestId = $target.RequestId }
            if ($stream.Finished -or $i -ge $pushed) {
                $decision.Result = 'Failed'
                $account.NotSent.Add($decision)
                if ($i -lt $intended) { $unpushed.Add($target) }
            } else {
                $decision.Result = 'Unknown'
                $account.Unknown.Add($decision)
            }
        }
        # Recorded as not sent, so that the decision log does not show them as Unknown.
        if ($unpushed.Count) { Write-PimDecisionNotSent -Log $Run.Log -Review $Run.Review -Targets $unpushed.ToArray() -Justification $Run.Justification }
        if (-not $stream.Finished) {
            $stream.Finished = $true
            Close-PimDecisionStream -Stream $stream
        }
    }
    # Refused for the session's token (nothing applied: Refused), and not sent again after the stop.
    $Run.Refused.Clear()
    foreach ($d in $account.Applied) { $Host.UI.WriteLine((Format-PimInertText "  $($d.Result): $(Format-PimDecisionName $d)")) }
    foreach ($d in $account.Unknown) { $Host.UI.WriteLine((Format-PimInertText "  Outcome unknown: $(Format-PimDecisionName $d)")) }
    foreach ($d in $account.Failed) { $Host.UI.WriteLine((Format-PimInertText "  Failed: $(Format-PimDecisionName $d): $($d.Error)")) }
    $past = if ($Run.Review -eq 'Approve') { 'approved' } else { 'denied' }
    $applied = $output.Applied + $account.Applied.Count
    $unknown = $output.Unknown + $account.Unknown.Count
    $failed = $output.Failed + $account.Failed.Count
    $notSent = $output.NotSent + $output.Refused + $account.NotSent.Count + $unsent
    $text = "${command}: stopped; nothing more is sent. Of $($Run.Targets.Count) request(s) confirmed: " +
        "$applied $past by the service ($($output.Applied) output before the stop, $($account.Applied.Count) listed above), " +
        "$unknown with an unknown outcome, $failed failed, $notSent not sent."
    if ($unknown -gt 0) {
        $see = if ($Run.Log) { 'Get-PimDecisionLog -Result Unknown lists them, and ' } else { '' }
        $text += " A request with an unknown outcome was sent and its answer did not come: ${see}Get-PimPending shows whether it still waits."
    }
    if ($notSent -gt 0) { $text += ' Requests not sent still wait: Get-PimPending lists them.' }
    $Host.UI.WriteWarningLine($text)
    Close-PimDecisionProgress -Run $Run
}

function Close-PimDecisionProgress {
    # Takes the decisions' progress bar down, if it was shown (a stopping pipeline may refuse it).
    param([Parameter(Mandatory)] [hashtable] $Run)
    if (-not $Run.Progress.Shown) { return }
    $Run.Progress.Shown = $false
    try {
        Write-PimProgress -Id $script:PimDecisionProgressId -Activity 'PIM requests' -Completed
    } catch {
        $null = $_
    }
}

function Format-PimDecisionName {
    # A decision as a line of the account names it: who, which role, where, and the approval id.
    param([Parameter(Mandatory)] [PimBridge.Decision] $Decision)
    $what = if ($Decision.Principal) {
        $where = if ($Decision.Scope) { " at $($Decision.Scope)" } else { '' }
        "$($Decision.Principal): $($Decision.Role)$where "
    } else { '' }
    "$what(approval $($Decision.ApprovalId))"
}

# A pipeline step that ends this long after the step before it ended (or the command began) is
# slow: its input comes from a watch between polls, or a person answered a prompt for it.
$script:PimSlowStepSeconds = 2

function Complete-PimDecisionStep {
    # The end of a pipeline step of -Runs. After a slow step each run's results are waited for
    # until every request handed over has one, so that each Decision comes out with its request,
    # not with the next one, which may be hours away (a fast pipeline never waits here: a listing
    # piped in, or the prompts after "Yes to All"); else the results ready are taken, at most every
    # 50 ms (Test-PimDecisionReceiveDue). A token the library refused stops the run. -State holds
    # the clock (StepClock) and is restarted here.
    param(
        [Parameter(Mandatory)] [hashtable] $State,
        [Parameter(Mandatory)] [AllowEmptyCollection()] [object[]] $Runs
    )
    if ($null -eq $State['StepClock']) { $State['StepClock'] = [System.Diagnostics.Stopwatch]::StartNew() }
    $slow = $State.StepClock.Elapsed.TotalSeconds -ge $script:PimSlowStepSeconds
    if ($slow -or (Test-PimDecisionReceiveDue -Run $State)) {
        foreach ($run in $Runs) {
            if ($null -eq $run['Streams'] -or $run.Streams.Count -eq 0 -or $run.Done) { continue }
            if ($slow) { Receive-PimDecisionSettled -Run $run -Deadline ([datetime]::UtcNow.AddSeconds(30)) } else { Receive-PimDecisionResult -Run $run }
            if ($run.TokenError) { Stop-PimDecisionRunWithError -Run $run -Exception $run.TokenError }
        }
    }
    $State.StepClock.Restart()
}

function Receive-PimDecisionSettled {
    # Pushes what the run's feeders hold, then outputs the run's results until every request
    # handed over has one (the streams' input stays open), or -Deadline passes (a throttled
    # service: the rest come with a later step). A push that failed is kept in PushFailure.
    param([Parameter(Mandatory)] [hashtable] $Run, [Parameter(Mandatory)] [datetime] $Deadline)
    foreach ($stream in $Run.Streams) {
        if ($stream.Closed) { continue }
        $failed = Sync-PimDecisionFeeder -Run $Run -Stream $stream -Flush
        if ($failed -and -not $Run.PushFailure) { $Run.PushFailure = $failed }
    }
    while ($true) {
        # Checked before the results are taken, so that the last ones are taken after it.
        $waitOn = $null
        foreach ($stream in $Run.Streams) {
            if ($stream.Finished) { continue }
            $done, $total = [PimBridge.Interop.PimNative]::Progress($stream.Operation)
            if ($done -lt $total) { $waitOn = $stream; break }
        }
        Receive-PimDecisionResult -Run $Run
        if ($null -eq $waitOn -or [datetime]::UtcNow -ge $Deadline) { return }
        $null = [PimBridge.Interop.PimNative]::Wait($waitOn.Operation, 20)
    }
}

# Running a native operation: poll in short slices (so Ctrl+C is honoured), stream results as they
# arrive, write its trace (each HTTP call and wait) to the verbose and debug streams, show progress
# (and the wait, when the service throttles), and cancel the native work if the pipeline stops early.
#
# The streams are written with $PSCmdlet.WriteVerbose/WriteDebug/WriteProgress, not the cmdlets of
# Microsoft.PowerShell.Utility: calling one of those loads that module, which a session's first
# listing would otherwise pay for (a module import and some 350 methods compiled on pwsh's JIT).
# They honour the preference variables as the cmdlets do as long as Wait-PimOperation is called
# without common parameters (given -Debug itself, its WriteVerbose would ask before each line).

$script:PimProgressId = 4242

function Wait-PimOperation {
    # Outputs each result as it arrives, read by the interop's ResultReader: -Results
    # PendingRequests gives PimBridge.PendingRequest objects (or a PimNativeException naming a
    # request that cannot be read), DecisionResults PimBridge.Interop.DecisionResult objects. If
    # the operation itself fails, the
    # exception is stored in -Failure instead of thrown, so the calling command can report it as its own.
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] [PimBridge.Interop.PimOpHandle] $Operation,
        [Parameter(Mandatory)] [ValidateSet('PendingRequests', 'DecisionResults')] [string] $Results,
        [Parameter(Mandatory)] [string] $Activity,
        [Parameter(Mandatory)] [ref] $Failure,
        # What the progress bar counts, e.g. 'decided'.
        [string] $DoneWord = 'done',
        # How many results to expect, when the caller knows (0: the library's count, once it has one).
        [long] $Total = 0,
        # The warning's text when stopped early, after "<Activity>: stopped; ": {0} is the number of
        # results that came back, {1} the total (or '?' while unknown). Empty: the stop is said on
        # the verbose stream only (a listing stopped by Select-Object -First or -First lost nothing).
        [AllowEmptyString()] [string] $Stopped = '{0} of {1} came back before the stop; nothing more is sent.'
    )

    $finished = $false
    # The wait the progress bar shows (from the trace), until when.
    $wait = @{ WaitText = $null; WaitUntil = [datetime]::MinValue; Fresh = $false }
    $received = 0
    $done = 0
    # The library's count of the work ($Total is the caller's; PowerShell's names ignore case).
    $count = 0
    try {
        while (-not $finished) {
            $finished = [PimBridge.Interop.PimNative]::Wait($Operation, 100)
            Read-PimOperationTrace -Operation $Operation -State $wait
            if ($Results -eq 'PendingRequests') {
                $batch = [PimBridge.Interop.ResultReader]::TakePendingRequests($Operation)
            } else {
                $batch = [PimBridge.Interop.ResultReader]::TakeDecisionResults($Operation)
            }
            foreach ($item in $batch) {
                $received++
                $item
            }
            $done, $count = [PimBridge.Interop.PimNative]::Progress($Operation)
            $status = if ($count -gt 0) { "$done of $count $DoneWord" } else { "$done so far" }
            # A wait is shown while it lasts, and at least once (a short one may be over already).
            $waiting = -not $finished -and [datetime]::UtcNow -le $wait.WaitUntil
            if ($wait.WaitText -and ($wait.Fresh -or $waiting)) { $status = "$status. $($wait.WaitText)" }
            $wait.Fresh = $false
            $progress = [System.Management.Automation.ProgressRecord]::new($script:PimProgressId, $Activity, $status)
            if ($count -gt 0) { $progress.PercentComplete = [int](100 * $done / $count) }
            $PSCmdlet.WriteProgress($progress)
        }
        $Failure.Value = [PimBridge.Interop.PimNative]::GetError($Operation)
    } finally {
        if (-not $finished) {
            # Stopped (Ctrl+C, Select-Object -First, an error with -ErrorAction Stop): stop the native
            # work so that nothing more is sent, and say how far it got as far as this side knows:
            # the results that came back (the library's count of what is done may include work
            # cancelled at the stop, and work on its way may still have been applied).
            [PimBridge.Interop.PimNative]::Cancel($Operation)
            $of = if ($Total -gt 0) { $Total } elseif ($count -gt 0) { $count } else { '?' }
            if ($Stopped) {
                $Host.UI.WriteWarningLine("${Activity}: stopped; " + ($Stopped -f $received, $of))
            } elseif ($VerbosePreference -ne 'SilentlyContinue') {
                # The host, not Write-Verbose: a stopping pipeline refuses its streams.
                $Host.UI.WriteVerboseLine("${Activity}: stopped after $received; nothing more is read.")
            }
        }
        $Operation.Dispose()
        # The record Write-Progress -Completed writes.
        $progress = [System.Management.Automation.ProgressRecord]::new($script:PimProgressId, $Activity, 'Processing')
        $progress.RecordType = 'Completed'
        $PSCmdlet.WriteProgress($progress)
    }
}

function Read-PimOperationTrace {
    # Takes an operation's trace since the last take, on this (the pipeline's) thread, and writes
    # it to the verbose and debug streams (its text from the service is inert); keeps in -State the
    # wait the progress bar shows: WaitText, WaitUntil, and Fresh (a wait began in this take).
    # -Quiet keeps the wait only: a stopping pipeline refuses its streams. The cmdlets of
    # Microsoft.PowerShell.Utility are fine here: there are trace lines only under -Verbose or
    # -Debug, so a plain first call does not load that module.
    param([Parameter(Mandatory)] [PimBridge.Interop.PimOpHandle] $Operation, [Parameter(Mandatory)] [hashtable] $State, [switch] $Quiet)
    $trace = [PimBridge.Interop.TraceReader]::Take($Operation)
    if (-not $Quiet) {
        foreach ($line in $trace.Lines) {
            if ($line.Debug) { Microsoft.PowerShell.Utility\Write-Debug -Message $line.Text }
            else { Microsoft.PowerShell.Utility\Write-Verbose -Message $line.Text }
        }
    }
    if ($trace.ProgressText) {
        $State.WaitText = $trace.ProgressText
        $State.WaitUntil = [datetime]::UtcNow.AddMilliseconds($trace.WaitMs)
        $State.Fresh = $true
    }
    # Calls made after it: the wait is over (without -Verbose calls are not traced, and the wait's
    # length says when).
    if ($trace.MovedOn) { $State.WaitUntil = [datetime]::MinValue }
}

# Invoke-PimPolicy's decisions. Each result of the policy is confirmed and handed, as it comes, to
# the decision run (Stream.ps1) of its action, justification and rule, so that a watch piped into
# Invoke-PimPolicy decides each new request when it appears, and a stop accounts for what was
# sent. A native stream carries one review and one justification, and a run's Decisions carry its
# Rule: one run per action, justification and rule. A justification made per request (a template
# with {Principal} or {TicketNumber}) makes one run per request, so only the few runs used last
# keep their input open; the others are closed (their results still come) and open a new stream
# if another request comes for them.

# Runs whose input stays open at once.
$script:PimPolicyOpenRuns = 4

function New-PimPolicyRun {
    # What one Invoke-PimPolicy decides: its runs by action, justification and rule; the requests
    # left to a person; how many requests were evaluated.
    param(
        [Parameter(Mandatory)] [System.Management.Automation.PSCmdlet] $Cmdlet,
        [Parameter(Mandatory)] [System.Collections.IDictionary] $Connection,
        [AllowNull()] [hashtable] $Log
    )
    @{
        Cmdlet     = $Cmdlet
        Connection = $Connection
        Log        = $Log
        Runs       = [ordered]@{}
        # Keys of the runs whose input is open, the one used least recently first.
        Open       = [System.Collections.Generic.List[string]]::new()
        Skipped    = [System.Collections.Generic.List[object]]::new()
        Evaluated  = 0
        Done       = $false
        # Since the last pipeline step ended (Complete-PimDecisionStep).
        StepClock  = [System.Diagnostics.Stopwatch]::StartNew()
    }
}

function Get-PimPolicyDecisionRun {
    # The run of -Result's action, justification and rule, made when it is first needed; marked
    # the one used most recently, and the least recently used closed when too many are open.
    param([Parameter(Mandatory)] [hashtable] $PolicyRun, [Parameter(Mandatory)] [object] $Result)
    $key = "$($Result.Action)`n$($Result.Justification)`n$($Result.Rule)"
    $run = $PolicyRun.Runs[$key]
    if ($null -eq $run) {
        $run = @{ Targets = [System.Collections.Generic.List[object]]::new(); Received = 0; Rule = $Result.Rule }
        $setup = @{ Run = $run; Cmdlet = $PolicyRun.Cmdlet; Review = $Result.Action; Justification = $Result.Justification; Connection = $PolicyRun.Connection; Log = $PolicyRun.Log }
        Initialize-PimDecisionRun @setup
        $PolicyRun.Runs[$key] = $run
    }
    $null = $PolicyRun.Open.Remove($key)
    $PolicyRun.Open.Add($key)
    if ($PolicyRun.Open.Count -gt $script:PimPolicyOpenRuns) {
        Close-PimDecisionInput -Run $PolicyRun.Runs[$PolicyRun.Open[0]]
        $PolicyRun.Open.RemoveAt(0)
    }
    $run
}

function Add-PimPolicyDecision {
    # Policy results (Invoke-PimPolicyEvaluation), as one pipeline step has them: a request left
    # to a person is noted (and said under -Verbose); each one a rule approves or denies is
    # confirmed (ShouldProcess: what Test-PimPolicy shows) and handed at once to its run; then the
    # decisions whose results are ready are output. A request that cannot be decided is an error
    # record naming it; what stops a run (no token, a log that cannot record the intent) ends the
    # command, as for Approve-PimRequest.
    param([Parameter(Mandatory)] [hashtable] $PolicyRun, [AllowEmptyCollection()] [object[]] $Result)
    $cmdlet = $PolicyRun.Cmdlet
    foreach ($result in $Result) {
        $PolicyRun.Evaluated++
        if ($result.Action -notin 'Approve', 'Deny') {
            $PolicyRun.Skipped.Add($result)
            Write-PimVerbose (Format-PimInertText "Left to a person: $(Format-PimPolicySkip $result)")
            continue
        }
        $target = [PimBridge.Interop.DecisionInput]::ToTarget($result.Request, $null)
        if ($target -is [System.Exception] -or $null -eq $target) {
            $exception = if ($target -is [System.Exception]) { $target } else { New-PimException -Code InvalidInput -Message 'A request without an ApprovalId cannot be decided.' }
            $cmdlet.WriteError((New-PimErrorRecord -Exception $exception -TargetObject $result.Request))
            continue
        }
        if ([string]::IsNullOrWhiteSpace($result.Justification)) {
            # A template whose fields this request lacks: the service would refuse it anyway.
            $exception = New-PimException -Code InvalidJustification -Message "Rule '$($result.Rule)' made an empty justification for the request '$($target.ApprovalId)'; nothing was sent for it."
            $cmdlet.WriteError((New-PimErrorRecord -Exception $exception -TargetObject $result.Request))
            continue
        }
        # The decision log names the rule of each line (Write-PimDecisionIntent).
        $target | Microsoft.PowerShell.Utility\Add-Member -NotePropertyName Rule -NotePropertyValue $result.Rule
        $what = Format-PimInertText "$($target.Description): $($result.Action) by rule '$($result.Rule)'. $($result.Summary) Justification: $($result.Justification)"
        if (-not $cmdlet.ShouldProcess($what, "$($result.Action) PIM request by policy")) { continue }
        $run = Get-PimPolicyDecisionRun -PolicyRun $PolicyRun -Result $result
        $run.Received++
        Add-PimDecisionTarget -Run $run -Target $target
    }
    Complete-PimDecisionStep -State $PolicyRun -Runs @($PolicyRun.Runs.Values)
}

function Complete-PimPolicyRun {
    # Ends Invoke-PimPolicy: closes every run's input at once, then outputs the rest of each run's
    # results as they come (Complete-PimDecisionRun: its errors, the second round for a refused
    # session token); then warns of the requests left to a person, or that there was none at all.
    param([Parameter(Mandatory)] [hashtable] $PolicyRun)
    if ($PolicyRun.Evaluated -eq 0) {
        $PolicyRun.Done = $true
        Microsoft.PowerShell.Utility\Write-Warning -Message 'No requests wait on you; nothing was sent.'
        return
    }
    foreach ($run in $PolicyRun.Runs.Values) { Close-PimDecisionInput -Run $run }
    foreach ($run in $PolicyRun.Runs.Values) {
        $complete = @{ Run = $run; Cmdlet = $PolicyRun.Cmdlet; Review = $run.Review; Justification = $run.Justification; Connection = $PolicyRun.Connection; Log = $PolicyRun.Log }
        Complete-PimDecisionRun @complete
    }
    $PolicyRun.Done = $true
    if ($PolicyRun.Skipped.Count -gt 0) {
        Microsoft.PowerShell.Utility\Write-Warning -Message (Format-PimInertText (Format-PimPolicySkipList $PolicyRun.Skipped) -Multiline $true)
    }
}

function Stop-PimPolicyRun {
    # After Invoke-PimPolicy stopped early (Ctrl+C, an error that stops it, Select-Object -First):
    # each run accounts for what it confirmed (Stop-PimDecisionRun), and the requests left to a
    # person so far are named on the host (output can no longer flow). Nothing after a completed run.
    param([AllowNull()] [hashtable] $PolicyRun)
    if ($null -eq $PolicyRun -or $PolicyRun.Done) { return }
    $PolicyRun.Done = $true
    foreach ($run in $PolicyRun.Runs.Values) { Stop-PimDecisionRun -Run $run }
    if ($PolicyRun.Skipped.Count -gt 0) {
        $Host.UI.WriteWarningLine((Format-PimInertText "Invoke-PimPolicy: stopped. $(Format-PimPolicySkipList $PolicyRun.Skipped)" -Multiline $true))
    }
}

function Format-PimPolicySkip {
    # One request left to a person, and why, as a line of the warning says it.
    param([Parameter(Mandatory)] [object] $Result)
    "$($Result.Principal): $($Result.Role) at $($Result.Scope) ($($Result.Surface) $($Result.ApprovalId)): $($Result.Summary)"
}

function Format-PimPolicySkipList {
    # The requests left to a person, one line each.
    param([Parameter(Mandatory)] [System.Collections.Generic.List[object]] $Skipped)
    $lines = foreach ($s in $Skipped) { "  $(Format-PimPolicySkip $s)" }
    "$($Skipped.Count) request(s) left to a person:`n" + ($lines -join "`n")
}

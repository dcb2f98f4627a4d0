function Test-PimDecisionLog {
    <#
    .SYNOPSIS
    Checks the decision log's hash chain: whether any line was changed, removed, reordered or torn.

    .DESCRIPTION
    Each line of the decision log records the SHA-256 of the line before it, so a line that was
    edited, deleted or moved breaks the chain. Test-PimDecisionLog checks the whole log and outputs
    one PimBridge.DecisionLogCheck: IsValid, the number of Lines, the FirstBrokenLine and its Reason
    (altered, deleted or reordered, not JSON, torn) with a Detail, and LastHash, the hash of the last
    line.

    A hash chain cannot show a change to the last line, or lines cut off the end: keep Lines and
    LastHash somewhere else (a ticket, a mail) to prove the end of the log later.

    A broken chain is an answer (IsValid is $false), not an error; a log that cannot be read is an
    error (PimBridge.LogReadFailed).

    .PARAMETER Path
    The log file. Default: where the deciding commands write it (PIMBRIDGE_DECISION_LOG, else
    decisions.jsonl in the PimBridge folder of your data folder).

    .EXAMPLE
    PS> Test-PimDecisionLog

    Checks the default decision log.

    .EXAMPLE
    PS> $check = Test-PimDecisionLog -Path D:\audit\pim-decisions.jsonl
    PS> if (-not $check.IsValid) { throw "Line $($check.FirstBrokenLine) of the decision log is $($check.Reason)" }

    Stops a script when the log was tampered with.

    .INPUTS
    None.

    .OUTPUTS
    PimBridge.DecisionLogCheck

    .LINK
    Get-PimDecisionLog

    .LINK
    about_PimBridge
    #>
    [CmdletBinding()]
    [OutputType('PimBridge.DecisionLogCheck')]
    param(
        [Parameter(Position = 0)]
        [string] $Path
    )

    try {
        $file = Get-PimDecisionLogFile -Path $Path
        $check = [PimBridge.Interop.PimJson]::ReadObject([PimBridge.Interop.DecisionLogNative]::Verify($file))
    } catch {
        $PSCmdlet.ThrowTerminatingError((New-PimErrorRecord -Exception $_.Exception -TargetObject $Path))
    }
    [pscustomobject]@{
        PSTypeName      = 'PimBridge.DecisionLogCheck'
        Path            = $check['path']
        IsValid         = [bool]$check['isValid']
        Lines           = $check['lines']
        FirstBrokenLine = $check['firstBrokenLine']
        Reason          = $check['reason']
        Detail          = $check['detail']
        LastHash        = $check['lastHash']
    }
}

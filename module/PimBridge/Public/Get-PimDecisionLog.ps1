function Get-PimDecisionLog {
    <#
    .SYNOPSIS
    Reads the decision log: what PimBridge decided, when, by whom, by which rule, with what result.

    .DESCRIPTION
    Get-PimDecisionLog reads the decision log that Approve-PimRequest, Deny-PimRequest and
    Invoke-PimPolicy write, and outputs one PimBridge.LoggedDecision per decision: its intent line
    (written before it was sent) paired with its outcome line (written after). A decision whose
    intent has no outcome has the Result Unknown: the process stopped between the two (a crash, a
    kill), so it may have been sent; check the request in the portal or with Get-PimPending.

    With -Raw, the log's lines are output as they are (PimBridge.DecisionLogLine), intents and
    outcomes apart. Lines that are not log lines are passed over: Test-PimDecisionLog names them.

    .PARAMETER Path
    The log file. Default: where the deciding commands write it (PIMBRIDGE_DECISION_LOG, else
    decisions.jsonl in the PimBridge folder of your data folder).

    .PARAMETER ApprovalId
    Only the decisions about this approval id.

    .PARAMETER Result
    Only the decisions with this result: Approved, Denied, Failed or Unknown.

    .PARAMETER Rule
    Only the decisions made by this policy rule.

    .PARAMETER After
    Only the decisions whose intent was written at or after this time.

    .PARAMETER Before
    Only the decisions whose intent was written before this time.

    .PARAMETER Raw
    Outputs the log's lines instead of decisions.

    .EXAMPLE
    PS> Get-PimDecisionLog -After (Get-Date).AddDays(-1)

    Lists the decisions of the last day.

    .EXAMPLE
    PS> Get-PimDecisionLog -Result Unknown

    Lists the decisions that may or may not have been sent (the process stopped between intent and
    outcome): check each with Get-PimPending.

    .EXAMPLE
    PS> Get-PimDecisionLog -Rule 'finance-members' -Path D:\audit\pim-decisions.jsonl | Format-List *

    Shows everything recorded about the decisions of one policy rule, in a log of your choice.

    .INPUTS
    None.

    .OUTPUTS
    PimBridge.LoggedDecision, PimBridge.DecisionLogLine

    .LINK
    Test-PimDecisionLog

    .LINK
    about_PimBridge
    #>
    [CmdletBinding()]
    [OutputType('PimBridge.LoggedDecision', 'PimBridge.DecisionLogLine')]
    param(
        [Parameter(Position = 0)]
        [string] $Path,

        [string] $ApprovalId,

        [ValidateSet('Approved', 'Denied', 'Failed', 'Unknown')]
        [string] $Result,

        [string] $Rule,

        [datetime] $After,

        [datetime] $Before,

        [switch] $Raw
    )

    try {
        $file = Get-PimDecisionLogFile -Path $Path
        $filter = @{}
        if ($ApprovalId) { $filter['approvalId'] = $ApprovalId }
        if ($Result) { $filter['result'] = $Result }
        if ($Rule) { $filter['rule'] = $Rule }
        if ($PSBoundParameters.ContainsKey('After')) { $filter['from'] = $After.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ss.fffZ', [cultureinfo]::InvariantCulture) }
        if ($PSBoundParameters.ContainsKey('Before')) { $filter['to'] = $Before.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ss.fffZ', [cultureinfo]::InvariantCulture) }
        $filterJson = if ($filter.Count) { [PimBridge.Interop.PimJson]::Write($filter) } else { $null }
        $json = if ($Raw) { [PimBridge.Interop.DecisionLogNative]::Read($file, $filterJson) } else { [PimBridge.Interop.DecisionLogNative]::Decisions($file, $filterJson) }
        $items = [PimBridge.Interop.DecisionLogNative]::ReadObjects($json)
    } catch {
        $PSCmdlet.ThrowTerminatingError((New-PimErrorRecord -Exception $_.Exception -TargetObject $Path))
    }
    foreach ($i in $items) {
        if ($Raw) {
            [pscustomobject]@{
                PSTypeName = 'PimBridge.DecisionLogLine'
                Line = $i['line']; Seq = $i['seq']; Time = ConvertTo-PimLocalTime $i['time']; Kind = $i['kind']
                ApprovalId = $i['approvalId']; Surface = $i['surface']; Action = $i['action']; Result = $i['result']; Error = $i['error']
                Principal = $i['principal']; PrincipalId = $i['principalId']; Role = $i['role']; Scope = $i['scope']
                Rule = $i['rule']; Justification = $i['justification']; Actor = $i['actor']; Tenant = $i['tenant']
                RequestId = $i['requestId']; Prev = $i['prev']
            }
        } else {
            [pscustomobject]@{
                PSTypeName = 'PimBridge.LoggedDecision'
                Time = ConvertTo-PimLocalTime $i['intentTime']; ApprovalId = $i['approvalId']; Surface = $i['surface']; Action = $i['action']
                Result = $i['result']; Error = $i['error']; Principal = $i['principal']; PrincipalId = $i['principalId']
                Role = $i['role']; Scope = $i['scope']; Rule = $i['rule']; Justification = $i['justification']
                Actor = $i['actor']; Tenant = $i['tenant']; RequestId = $i['requestId']
                OutcomeTime = ConvertTo-PimLocalTime $i['outcomeTime']; IntentLine = $i['intentLine']; OutcomeLine = $i['outcomeLine']
            }
        }
    }
}

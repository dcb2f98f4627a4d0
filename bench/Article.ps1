<#
.SYNOPSIS
The approach of the article PimBridge grew from, as a script: the baseline of the benchmarks.

.DESCRIPTION
Lists the pending role assignment schedule requests with Invoke-RestMethod, then, one request after
another, GETs its approval, picks the step whose status is InProgress and PATCHes it with a body made
by ConvertTo-Json. That is what the article's script does for the first pending request; here it
does it for every one, following @odata.nextLink so that all of them are decided.
Invoke-RestMethod stands in for Invoke-GraphRequest (the same HTTP, without the Graph SDK).
#>
param(
    [Parameter(Mandatory)] [string] $GraphUri,
    [Parameter(Mandatory)] [string] $Token,
    [string] $Justification = 'Seems legit'
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Off  # as the article's script runs: no strict mode
$headers = @{ Authorization = "Bearer $Token" }

$pendingApprovals = @()
$uri = "$GraphUri/beta/roleManagement/directory/roleAssignmentScheduleRequests?`$filter=(status eq 'PendingApproval')"
while ($uri) {
    $page = Invoke-RestMethod -Method GET -Uri $uri -Headers $headers
    $pendingApprovals += $page.value
    $uri = $page.'@odata.nextLink'
}

foreach ($request in $pendingApprovals) {
    $approvalSteps = Invoke-RestMethod -Method GET -Uri ('{0}/beta/roleManagement/directory/roleAssignmentApprovals/{1}' -f $GraphUri, $request.approvalId) -Headers $headers |
        Select-Object -ExpandProperty steps |
        Where-Object status -eq InProgress
    $body = @{ reviewResult = 'Approve'; justification = $Justification } | ConvertTo-Json
    $null = Invoke-RestMethod -Method PATCH -Uri ('{0}/beta/roleManagement/directory/roleAssignmentApprovals/{1}/steps/{2}' -f $GraphUri, $request.approvalId, $approvalSteps.id) -Headers $headers -Body $body -ContentType 'application/json'
}

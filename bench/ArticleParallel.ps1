<#
.SYNOPSIS
The article's approach made parallel with ForEach-Object -Parallel -ThrottleLimit 5.

.DESCRIPTION
Lists as Article.ps1 does, then decides the requests five at a time in parallel runspaces: each
GETs its approval, picks the InProgress step and PATCHes it.
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

$pendingApprovals | ForEach-Object -ThrottleLimit 5 -Parallel {
    $approvalSteps = Invoke-RestMethod -Method GET -Uri ('{0}/beta/roleManagement/directory/roleAssignmentApprovals/{1}' -f $using:GraphUri, $_.approvalId) -Headers $using:headers |
        Select-Object -ExpandProperty steps |
        Where-Object status -eq InProgress
    $body = @{ reviewResult = 'Approve'; justification = $using:Justification } | ConvertTo-Json
    $null = Invoke-RestMethod -Method PATCH -Uri ('{0}/beta/roleManagement/directory/roleAssignmentApprovals/{1}/steps/{2}' -f $using:GraphUri, $_.approvalId, $approvalSteps.id) -Headers $using:headers -Body $body -ContentType 'application/json'
}

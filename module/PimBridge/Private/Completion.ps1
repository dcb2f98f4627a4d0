# Argument completers for -Role and -Principal (Get-PimPending) and -ApprovalId (Approve-PimRequest,
# Deny-PimRequest), from a short-lived cache of the last listing: Get-PimPending keeps what it listed
# when it ran to its end, and a completion with no fresh listing at hand lists once (and keeps that,
# even when it fails), so pressing Tab again calls nothing. The names come from the service: one that
# would need sanitising to be shown (control or bidirectional characters) is never offered, since
# completion writes it into the command line.

# How long a listing serves completion.
$script:PimListingLifetime = [timespan]::FromSeconds(60)
# @{ Key; At; Surface; Requests } of the last listing, or $null.
$script:PimListingCache = $null

function Save-PimListing {
    # Keeps the requests a listing of -Surface at these endpoints gave, for completion.
    param(
        [Parameter(Mandatory)] [string] $GraphUri,
        [AllowNull()] [AllowEmptyString()] [string] $ArmUri,
        [AllowNull()] [AllowEmptyCollection()] [string[]] $Surface,
        [Parameter(Mandatory)] [AllowEmptyCollection()] [System.Collections.Generic.List[PimBridge.PendingRequest]] $Request
    )
    $script:PimListingCache = @{
        Key      = "$GraphUri|$ArmUri"
        At       = [datetime]::UtcNow
        Surface  = @($Surface)
        Requests = $Request.ToArray()
    }
}

function Get-PimRecentListing {
    # The requests to complete from: the cached listing when it is fresh and of the same endpoints,
    # else one listing with the connection the command line gives so far (its -AccessToken,
    # -GraphUri, ...), kept even when it fails, so that the next Tab calls nothing. With
    # -AnyEndpoint, a fresh listing serves a command line that names no endpoint, wherever it was
    # made (completion only: what is decided never comes from another endpoint's listing).
    param([Parameter(Mandatory)] [System.Collections.IDictionary] $BoundParameters, [switch] $AnyEndpoint)
    $connection = @{}
    foreach ($name in 'AccessToken', 'ArmAccessToken', 'GraphUri', 'ArmUri', 'ArmScope', 'Surface') {
        if ($BoundParameters.Contains($name) -and $null -ne $BoundParameters[$name]) { $connection[$name] = $BoundParameters[$name] }
    }
    foreach ($name in 'AccessToken', 'ArmAccessToken') {
        # A token typed as text on the command line is not a SecureString: not used.
        if ($connection.ContainsKey($name) -and $connection[$name] -isnot [securestring]) { $connection.Remove($name) }
    }
    try {
        $graphUri = Resolve-PimGraphUri -GraphUri $connection['GraphUri']
        $armUri = if ($connection['ArmUri']) { $connection['ArmUri'].TrimEnd('/') } elseif ($env:PIMBRIDGE_ARM_URI) { $env:PIMBRIDGE_ARM_URI.TrimEnd('/') } else { $null }
    } catch {
        return @()
    }
    $cache = $script:PimListingCache
    if ($cache -and ([datetime]::UtcNow - $cache.At) -lt $script:PimListingLifetime) {
        if ($AnyEndpoint -and -not $connection.ContainsKey('GraphUri') -and -not $connection.ContainsKey('ArmUri')) { return $cache.Requests }
        if ($cache.Key.StartsWith("$graphUri|") -and (-not $armUri -or $cache.Key -eq "$graphUri|$armUri")) { return $cache.Requests }
    }
    # One listing, quietly; Get-PimPending keeps it when it runs to its end.
    $script:PimListingCache = @{ Key = "$graphUri|$armUri"; At = [datetime]::UtcNow; Surface = @(); Requests = @() }
    $ProgressPreference = 'SilentlyContinue'
    try {
        $null = PimBridge\Get-PimPending @connection -ErrorAction Ignore -WarningAction Ignore
    } catch {
        Microsoft.PowerShell.Utility\Write-Debug -Message "Completion could not list: $(Format-PimInertText $_.Exception.Message)"
    }
    $script:PimListingCache.Requests
}

function ConvertTo-PimCompletionText {
    # A value as it is typed: quoted (single quotes, doubled inside) when it holds a space or a
    # character PowerShell reads specially, or starts with a dash (it would read as a parameter).
    param([Parameter(Mandatory)] [string] $Text)
    if ($Text -match '^[\w.@/][\w.@/\-]*$') { return $Text }
    "'" + $Text.Replace("'", "''") + "'"
}

function Complete-PimArgument {
    # The completer behind -Role, -Principal and -ApprovalId: values of the listed requests that
    # start with what was typed (case-insensitive, quotes ignored), sorted, each once.
    param(
        [string] $CommandName,
        [string] $ParameterName,
        [string] $WordToComplete,
        [System.Collections.IDictionary] $FakeBoundParameters
    )
    $typed = $WordToComplete.Trim("'", '"')
    $pattern = [WildcardPattern]::new([WildcardPattern]::Escape($typed) + '*', 'IgnoreCase')
    $values = [System.Collections.Generic.SortedDictionary[string, string]]::new([System.StringComparer]::OrdinalIgnoreCase)
    foreach ($request in Get-PimRecentListing -BoundParameters $FakeBoundParameters -AnyEndpoint) {
        # Pairs of (value, tooltip).
        $candidates = @(switch ($ParameterName) {
                'Role' { , @($request.Role, $request.Role) }
                'Principal' { , @($request.Principal, $request.PrincipalUpn); , @($request.PrincipalUpn, $request.Principal) }
                default { , @($request.ApprovalId, "$($request.Principal): $($request.Role) ($($request.Surface))") }
            })
        foreach ($candidate in $candidates) {
            $value, $tip = $candidate
            if ([string]::IsNullOrEmpty($value) -or $values.ContainsKey($value)) { continue }
            if ((Format-PimInertText $value) -cne $value) { continue }
            if (-not $pattern.IsMatch($value)) { continue }
            $values[$value] = Format-PimInertText ([string]$tip)
        }
    }
    foreach ($entry in $values.GetEnumerator()) {
        $tip = if ($entry.Value) { $entry.Value } else { $entry.Key }
        [System.Management.Automation.CompletionResult]::new((ConvertTo-PimCompletionText $entry.Key), $entry.Key, 'ParameterValue', $tip)
    }
}

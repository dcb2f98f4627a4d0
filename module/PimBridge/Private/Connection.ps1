# Where to call and with which token: -GraphUri / -AccessToken, else PIMBRIDGE_GRAPH_URI and the
# Connect-MgGraph session, else Graph's public cloud.

# Graph's host for each Connect-MgGraph environment (national clouds).
$script:PimGraphHosts = @{
    Global   = 'https://graph.microsoft.com'
    USGov    = 'https://graph.microsoft.us'
    USGovDoD = 'https://dod-graph.microsoft.us'
    China    = 'https://microsoftgraph.chinacloudapi.cn'
}

# The Connect-MgGraph command that gives a token able to list and decide directory-role requests.
$script:PimConnectCommand = "Connect-MgGraph -Scopes 'RoleAssignmentSchedule.ReadWrite.Directory'"

function Get-PimMgContext {
    # The Microsoft Graph SDK is optional: without it there is simply no session to reuse.
    if (Microsoft.PowerShell.Core\Get-Command -Name 'Get-MgContext' -ErrorAction Ignore) {
        Get-MgContext
    }
}

function Resolve-PimGraphUri {
    [CmdletBinding()]
    [OutputType([string])]
    param([string] $GraphUri)

    if ($GraphUri) { return $GraphUri.TrimEnd('/') }
    if ($env:PIMBRIDGE_GRAPH_URI) { return $env:PIMBRIDGE_GRAPH_URI.TrimEnd('/') }
    $context = Get-PimMgContext
    if ($context -and $context.PSObject.Properties['Environment'] -and $script:PimGraphHosts.ContainsKey([string]$context.Environment)) {
        return $script:PimGraphHosts[[string]$context.Environment]
    }
    $script:PimGraphHosts['Global']
}

function Get-PimClient {
    # One native client (connection pool and runtime) per Graph URI, kept for the session.
    [CmdletBinding()]
    param([Parameter(Mandatory)] [string] $GraphUri)

    $client = $script:PimClients[$GraphUri]
    if ($null -eq $client -or $client.IsClosed) {
        $options = Microsoft.PowerShell.Utility\ConvertTo-Json -InputObject @{ graphUri = $GraphUri } -Compress
        $client = [PimBridge.Interop.PimNative]::CreateClient($options)
        $script:PimClients[$GraphUri] = $client
    }
    $client
}

function Get-PimGraphToken {
    # The caller's -AccessToken, or the token of the current Connect-MgGraph session, read with one
    # Invoke-MgGraphRequest call and reused until five minutes before it expires.
    [CmdletBinding()]
    [OutputType([securestring])]
    param(
        [securestring] $AccessToken,
        [Parameter(Mandatory)] [string] $GraphUri
    )

    if ($AccessToken) { return $AccessToken }
    $cache = $script:MgTokenCache
    if ($cache -and $cache.GraphUri -eq $GraphUri -and $cache.ExpiresAt -gt [DateTimeOffset]::UtcNow.AddMinutes(5)) {
        return $cache.Token
    }
    $notConnected = "Not connected: run $script:PimConnectCommand (needs the Microsoft.Graph.Authentication module), or pass -AccessToken."
    if (-not (Microsoft.PowerShell.Core\Get-Command -Name 'Invoke-MgGraphRequest' -ErrorAction Ignore) -or -not (Get-PimMgContext)) {
        throw [PimBridge.Interop.PimNativeException]::new('MissingToken', $notConnected, 0, $null, $null)
    }
    Microsoft.PowerShell.Utility\Write-Verbose -Message 'Reading the access token of the current Connect-MgGraph session.'
    # A relative URI: the SDK sends it to its own cloud, so the session's token never goes anywhere else.
    $response = Invoke-MgGraphRequest -Method GET -Uri '/v1.0/me?$select=id' -OutputType HttpResponseMessage -ErrorAction Stop
    try {
        $authorization = $response.RequestMessage.Headers.Authorization
        if (-not $authorization -or -not $authorization.Parameter) {
            throw [PimBridge.Interop.PimNativeException]::new('MissingToken', $notConnected, 0, $null, $null)
        }
        $token = Microsoft.PowerShell.Security\ConvertTo-SecureString -String $authorization.Parameter -AsPlainText -Force
    } finally {
        if ($response -is [System.IDisposable]) { $response.Dispose() }
    }
    $expiresAt = [DateTimeOffset]::UtcNow.AddMinutes(10)
    try {
        $claims = [PimBridge.Interop.PimNative]::TokenInfo($token) | Microsoft.PowerShell.Utility\ConvertFrom-Json
        $expiresAt = [DateTimeOffset]::FromUnixTimeSeconds([long]$claims.expiresAt)
    } catch {
        # An opaque token: its expiry is unknown, so it is read again after a short while.
        $null = $_
    }
    $script:MgTokenCache = @{ GraphUri = $GraphUri; Token = $token; ExpiresAt = $expiresAt }
    $token
}

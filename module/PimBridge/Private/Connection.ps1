# Where to call and with which token. Graph: -GraphUri / -AccessToken, else PIMBRIDGE_GRAPH_URI and
# the Connect-MgGraph session, else Graph's public cloud. Azure Resource Manager: -ArmUri /
# -ArmAccessToken, else PIMBRIDGE_ARM_URI and the Connect-AzAccount session (Az.Accounts).

# Graph's host for each Connect-MgGraph environment (national clouds).
$script:PimGraphHosts = @{
    Global   = 'https://graph.microsoft.com'
    USGov    = 'https://graph.microsoft.us'
    USGovDoD = 'https://dod-graph.microsoft.us'
    China    = 'https://microsoftgraph.chinacloudapi.cn'
}

# The Connect-MgGraph command that gives a token able to list and decide directory-role and group requests.
$script:PimConnectCommand = "Connect-MgGraph -Scopes 'RoleAssignmentSchedule.ReadWrite.Directory', 'PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup'"

# What to do when Azure resource requests need a token and there is none.
$script:PimArmTokenHelp = "Azure resource requests need an Azure Resource Manager token: pass -ArmAccessToken (for example (Get-AzAccessToken -ResourceUrl 'https://management.azure.com/' -AsSecureString).Token), or run Connect-AzAccount in this session (Az.Accounts)."

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

function Get-PimAzContext {
    # Az.Accounts is optional too.
    if (Microsoft.PowerShell.Core\Get-Command -Name 'Get-AzContext' -ErrorAction Ignore) {
        Get-AzContext -ErrorAction Ignore
    }
}

function Resolve-PimArmUri {
    [CmdletBinding()]
    [OutputType([string])]
    param([string] $ArmUri)

    if ($ArmUri) { return $ArmUri.TrimEnd('/') }
    if ($env:PIMBRIDGE_ARM_URI) { return $env:PIMBRIDGE_ARM_URI.TrimEnd('/') }
    $context = Get-PimAzContext
    if ($context -and $context.PSObject.Properties['Environment'] -and $context.Environment -and $context.Environment.PSObject.Properties['ResourceManagerUrl'] -and $context.Environment.ResourceManagerUrl) {
        return ([string]$context.Environment.ResourceManagerUrl).TrimEnd('/')
    }
    'https://management.azure.com'
}

function Get-PimClient {
    # One native client (connection pool and runtime) per pair of endpoints, kept for the session.
    [CmdletBinding()]
    param([Parameter(Mandatory)] [string] $GraphUri, [Parameter(Mandatory)] [string] $ArmUri)

    $key = "$GraphUri|$ArmUri"
    $client = $script:PimClients[$key]
    if ($null -eq $client -or $client.IsClosed) {
        $options = Microsoft.PowerShell.Utility\ConvertTo-Json -InputObject @{ graphUri = $GraphUri; armUri = $ArmUri } -Compress
        $client = [PimBridge.Interop.PimNative]::CreateClient($options)
        $script:PimClients[$key] = $client
    }
    $client
}

function Get-PimArmToken {
    # The caller's -ArmAccessToken, or a token from the Connect-AzAccount session (Get-AzAccessToken),
    # reused until five minutes before it expires; $null when there is neither.
    [CmdletBinding()]
    [OutputType([securestring])]
    param([securestring] $ArmAccessToken)

    if ($ArmAccessToken) { return $ArmAccessToken }
    $cache = $script:AzTokenCache
    if ($cache -and $cache.ExpiresAt -gt [DateTimeOffset]::UtcNow.AddMinutes(5)) { return $cache.Token }
    $context = Get-PimAzContext
    if (-not $context -or -not (Microsoft.PowerShell.Core\Get-Command -Name 'Get-AzAccessToken' -ErrorAction Ignore)) { return $null }
    $resource = 'https://management.azure.com/'
    if ($context.PSObject.Properties['Environment'] -and $context.Environment -and $context.Environment.PSObject.Properties['ResourceManagerUrl'] -and $context.Environment.ResourceManagerUrl) {
        $resource = [string]$context.Environment.ResourceManagerUrl
    }
    Microsoft.PowerShell.Utility\Write-Verbose -Message 'Reading an Azure Resource Manager token from the current Connect-AzAccount session.'
    $result = Get-AzAccessToken -ResourceUrl $resource -ErrorAction Stop
    # Az.Accounts 3+ returns a SecureString (and offers -AsSecureString); older versions plain text.
    $token = if ($result.Token -is [securestring]) {
        $result.Token
    } else {
        Microsoft.PowerShell.Security\ConvertTo-SecureString -String ([string]$result.Token) -AsPlainText -Force
    }
    $expiresAt = if ($result.PSObject.Properties['ExpiresOn'] -and $result.ExpiresOn) { [DateTimeOffset]$result.ExpiresOn } else { [DateTimeOffset]::UtcNow.AddMinutes(10) }
    $script:AzTokenCache = @{ Token = $token; ExpiresAt = $expiresAt }
    $token
}

function Get-PimGraphToken {
    # The caller's -AccessToken, or the token of the current Connect-MgGraph session, read with one
    # Invoke-MgGraphRequest call and reused until five minutes before it expires.
    [CmdletBinding()]
    [OutputType([securestring])]
    param(
        [securestring] $AccessToken,
        [Parameter(Mandatory)] [string] $GraphUri,
        # Return $null instead of failing when there is no session.
        [switch] $Optional
    )

    if ($AccessToken) { return $AccessToken }
    $cache = $script:MgTokenCache
    if ($cache -and $cache.GraphUri -eq $GraphUri -and $cache.ExpiresAt -gt [DateTimeOffset]::UtcNow.AddMinutes(5)) {
        return $cache.Token
    }
    $notConnected = "Not connected: run $script:PimConnectCommand (needs the Microsoft.Graph.Authentication module), or pass -AccessToken."
    if (-not (Microsoft.PowerShell.Core\Get-Command -Name 'Invoke-MgGraphRequest' -ErrorAction Ignore) -or -not (Get-PimMgContext)) {
        if ($Optional) { return $null }
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

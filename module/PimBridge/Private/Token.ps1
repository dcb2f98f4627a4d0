# Which token: Graph's from -AccessToken, else the Connect-MgGraph session; Azure Resource Manager's
# from -ArmAccessToken, else the Connect-AzAccount session (Az.Accounts). Session tokens are cached
# until five minutes before they expire. Which surface takes which token, and which scopes a Graph
# token needs, is the native library's word (Get-PimSurface).

# The error kinds that mean the token itself was refused: the same token fails every surface of
# its service alike, so Get-PimPending reports it once.
$script:PimTokenKinds = @('TokenExpired', 'InvalidToken', 'Unauthorized', 'AppOnlyToken', 'TokenChallenge', 'MissingToken')

# What to do when Azure resource requests need a token and there is none.
$script:PimArmTokenHelp = "Azure resource requests need an Azure Resource Manager token: pass -ArmAccessToken (for example (Get-AzAccessToken -ResourceUrl 'https://management.azure.com/' -AsSecureString).Token), or run Connect-AzAccount in this session (Az.Accounts)."

function Get-PimConnectCommand {
    # The Connect-MgGraph command whose token can list and decide every Graph surface, with the
    # scopes the native library names; plain Connect-MgGraph if the library cannot be asked.
    if ($null -eq $script:PimConnectCommand) {
        try {
            $scopes = [System.Collections.Generic.List[string]]::new()
            foreach ($surface in Get-PimSurface) {
                if ($surface.Service -ne 'graph') { continue }
                foreach ($scope in $surface.DecideScopes) { if (-not $scopes.Contains("'$scope'")) { $scopes.Add("'$scope'") } }
            }
            $script:PimConnectCommand = "Connect-MgGraph -Scopes $($scopes -join ', ')"
        } catch {
            return 'Connect-MgGraph'
        }
    }
    $script:PimConnectCommand
}

function Get-PimServiceToken {
    # The token for one service ('graph' or 'arm', as Get-PimSurface names them), from the caller's
    # parameters in -Connection (AccessToken, ArmAccessToken) or the signed-in session. -Optional
    # gives $null instead of an error when there is none.
    param(
        [Parameter(Mandatory)] [string] $Service,
        [Parameter(Mandatory)] [System.Collections.IDictionary] $Connection,
        [Parameter(Mandatory)] [string] $GraphUri,
        [switch] $Optional
    )
    if ($Service -eq 'arm') {
        $token = Get-PimArmToken -ArmAccessToken $Connection['ArmAccessToken']
        if (-not $token -and -not $Optional) { throw (New-PimException -Code MissingToken -Message $script:PimArmTokenHelp) }
        return $token
    }
    Get-PimGraphToken -AccessToken $Connection['AccessToken'] -GraphUri $GraphUri -Optional:$Optional
}

function Get-PimTokenSet {
    # The tokens for every service that the surfaces named need, in the library's order (Graph first),
    # as @{ graph = ...; arm = ... }.
    param(
        [Parameter(Mandatory)] [string[]] $Surface,
        [Parameter(Mandatory)] [System.Collections.IDictionary] $Connection,
        [Parameter(Mandatory)] [string] $GraphUri,
        [switch] $Optional
    )
    # No pipelines in here: it runs on a session's first call.
    $tokens = @{}
    foreach ($info in Get-PimSurface) {
        if ($info.Name -notin $Surface -or $tokens.ContainsKey($info.Service)) { continue }
        $tokens[$info.Service] = Get-PimServiceToken -Service $info.Service -Connection $Connection -GraphUri $GraphUri -Optional:$Optional
    }
    $tokens
}

function Reset-PimGraphToken {
    # Forgets the session's Graph token, so that the next call reads it again from Connect-MgGraph.
    param([Parameter(Mandatory)] [string] $Reason)
    Microsoft.PowerShell.Utility\Write-Verbose -Message "$Reason; reading it again from Connect-MgGraph."
    $script:MgTokenCache = $null
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
    # Asked as a SecureString where Az.Accounts offers it (2.17+), so that no plain text is held.
    $asSecure = (Microsoft.PowerShell.Core\Get-Command -Name 'Get-AzAccessToken').Parameters.ContainsKey('AsSecureString')
    $result = if ($asSecure) { Get-AzAccessToken -ResourceUrl $resource -AsSecureString -ErrorAction Stop } else { Get-AzAccessToken -ResourceUrl $resource -ErrorAction Stop }
    # Az.Accounts 3+ returns a SecureString; older versions plain text.
    $token = if ($result.Token -is [securestring]) {
        $result.Token
    } else {
        [PimBridge.Interop.SecureText]::FromText([string]$result.Token)
    }
    $expiresAt = if ($result.PSObject.Properties['ExpiresOn'] -and $result.ExpiresOn) { [DateTimeOffset]$result.ExpiresOn } else { [DateTimeOffset]::UtcNow.AddMinutes(10) }
    $script:AzTokenCache = @{ Token = $token; ExpiresAt = $expiresAt }
    $token
}

function Test-PimBearerHeader {
    # Whether the request behind -Response carried a token, without putting the header anywhere.
    param([AllowNull()] [object] $Response)
    [bool]($Response -and $Response.RequestMessage -and $Response.RequestMessage.Headers.Authorization -and $Response.RequestMessage.Headers.Authorization.Parameter)
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
    $notConnected = "Not connected: run $(Get-PimConnectCommand) (needs the Microsoft.Graph.Authentication module), or pass -AccessToken."
    if (-not (Microsoft.PowerShell.Core\Get-Command -Name 'Invoke-MgGraphRequest' -ErrorAction Ignore) -or -not (Get-PimMgContext)) {
        if ($Optional) { return $null }
        throw (New-PimException -Code MissingToken -Message $notConnected)
    }
    Microsoft.PowerShell.Utility\Write-Verbose -Message 'Reading the access token of the current Connect-MgGraph session.'
    # A relative URI: the SDK sends it to its own cloud, so the session's token never goes anywhere else.
    $response = Invoke-MgGraphRequest -Method GET -Uri '/v1.0/me?$select=id' -OutputType HttpResponseMessage -ErrorAction Stop
    try {
        # The token goes from the request's header straight into a SecureString: no variable holds
        # it, or the header, in plain text (Set-PSDebug -Trace 2 prints every value assigned). The
        # interop's SecureText does what ConvertTo-SecureString -AsPlainText does, without loading
        # Microsoft.PowerShell.Security on the session's first call.
        if (-not (Test-PimBearerHeader -Response $response)) {
            throw (New-PimException -Code MissingToken -Message $notConnected)
        }
        $token = [PimBridge.Interop.SecureText]::FromText($response.RequestMessage.Headers.Authorization.Parameter)
    } finally {
        if ($response -is [System.IDisposable]) { $response.Dispose() }
    }
    $expiresAt = [DateTimeOffset]::UtcNow.AddMinutes(10)
    try {
        $claims = [PimBridge.Interop.PimJson]::ReadObject([PimBridge.Interop.PimNative]::TokenInfo($token))
        $expiresAt = [DateTimeOffset]::FromUnixTimeSeconds([long]$claims.expiresAt)
    } catch {
        # An opaque token: its expiry is unknown, so it is read again after a short while.
        $null = $_
    }
    $script:MgTokenCache = @{ GraphUri = $GraphUri; Token = $token; ExpiresAt = $expiresAt }
    $token
}

# Where to call: Graph at -GraphUri, else PIMBRIDGE_GRAPH_URI, else the cloud of the Connect-MgGraph
# session, else Graph's public cloud; Azure Resource Manager at -ArmUri, else PIMBRIDGE_ARM_URI, else
# the cloud of the Connect-AzAccount session (Az.Accounts). One native client per pair of endpoints,
# and what the native library says about each surface (which service, which scopes).

# Graph's host for each Connect-MgGraph environment (national clouds).
$script:PimGraphHosts = @{
    Global   = 'https://graph.microsoft.com'
    USGov    = 'https://graph.microsoft.us'
    USGovDoD = 'https://dod-graph.microsoft.us'
    China    = 'https://microsoftgraph.chinacloudapi.cn'
}

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
    # The environment read through .NET, not $env: (the Environment provider's first use is a
    # cost on a session's first call).
    $fromEnvironment = [Environment]::GetEnvironmentVariable('PIMBRIDGE_GRAPH_URI')
    if ($fromEnvironment) { return $fromEnvironment.TrimEnd('/') }
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
    # With -NoSession (no Azure surface is involved), only what the caller or the environment
    # says, else $null: finding out whether Az.Accounts is there at all costs a search of every
    # module on the PSModulePath.
    [CmdletBinding()]
    [OutputType([string])]
    param([string] $ArmUri, [switch] $NoSession)

    if ($ArmUri) { return $ArmUri.TrimEnd('/') }
    $fromEnvironment = [Environment]::GetEnvironmentVariable('PIMBRIDGE_ARM_URI')
    if ($fromEnvironment) { return $fromEnvironment.TrimEnd('/') }
    if ($NoSession) { return $null }
    $context = Get-PimAzContext
    if ($context -and $context.PSObject.Properties['Environment'] -and $context.Environment -and $context.Environment.PSObject.Properties['ResourceManagerUrl'] -and $context.Environment.ResourceManagerUrl) {
        return ([string]$context.Environment.ResourceManagerUrl).TrimEnd('/')
    }
    'https://management.azure.com'
}

function Get-PimClient {
    # One native client (connection pool and runtime) per pair of endpoints, kept for the session.
    # Without -ArmUri (no Azure surface is involved), any client for the Graph endpoint will do;
    # a new one gets the library's default for Azure Resource Manager. With -TraceLevel (1 waits,
    # 2 calls, 3 calls with headers), a handle on that client whose operations record a trace at
    # that level, kept too: the same runtime and connection pool.
    [CmdletBinding()]
    param([Parameter(Mandatory)] [string] $GraphUri, [string] $ArmUri, [ValidateRange(0, 3)] [int] $TraceLevel = 0)

    $client = Get-PimBaseClient -GraphUri $GraphUri -ArmUri $ArmUri
    if ($TraceLevel -eq 0) { return $client }
    $key = "$GraphUri|$ArmUri|$TraceLevel"
    $entry = $script:PimTracedClients[$key]
    if ($null -eq $entry -or -not [object]::ReferenceEquals($entry.Base, $client) -or $entry.Traced.IsClosed) {
        $entry = @{ Base = $client; Traced = [PimBridge.Interop.PimNative]::WithTrace($client, $TraceLevel) }
        $script:PimTracedClients[$key] = $entry
    }
    $entry.Traced
}

function Get-PimTraceLevel {
    # The trace an operation records, from the caller's preferences: 3 (calls with their headers)
    # for -Debug, 2 (each call, batch item and wait) for -Verbose, else 1 (only the waits, which
    # the progress bar shows).
    [CmdletBinding()]
    param()
    $quiet = 'SilentlyContinue', 'Ignore'
    if ([string]$DebugPreference -notin $quiet) { return 3 }
    if ([string]$VerbosePreference -notin $quiet) { return 2 }
    1
}

function Get-PimBaseClient {
    [CmdletBinding()]
    param([Parameter(Mandatory)] [string] $GraphUri, [string] $ArmUri)

    $key = "$GraphUri|$ArmUri"
    $client = $script:PimClients[$key]
    if (-not $ArmUri -and ($null -eq $client -or $client.IsClosed)) {
        foreach ($entry in $script:PimClients.GetEnumerator()) {
            if ($entry.Key.StartsWith("$GraphUri|") -and -not $entry.Value.IsClosed) { return $entry.Value }
        }
    }
    if ($null -eq $client -or $client.IsClosed) {
        $options = @{ graphUri = $GraphUri }
        if ($ArmUri) { $options['armUri'] = $ArmUri }
        $client = [PimBridge.Interop.PimNative]::CreateClient([PimBridge.Interop.PimJson]::Write($options))
        $script:PimClients[$key] = $client
    }
    $client
}

function Get-PimSurface {
    # The surfaces as the native library knows them, read once per session (PimBridge.Interop.SurfaceInfo):
    # Name, Service ('graph' or 'arm': which token and endpoint), ReadScopes, DecideScopes. With
    # -Name, that one surface. Called once per piped request: no pipeline in here.
    param([string] $Name)
    if ($null -eq $script:PimSurfaceCatalog) {
        $all = [PimBridge.Interop.PimJson]::ReadSurfaces([PimBridge.Interop.PimNative]::GetSurfaces())
        $byName = @{}
        foreach ($surface in $all) { $byName[$surface.Name] = $surface }
        $script:PimSurfaceCatalog = @{ All = $all; ByName = $byName }
    }
    if ($Name) { $script:PimSurfaceCatalog.ByName[$Name] } else { $script:PimSurfaceCatalog.All }
}

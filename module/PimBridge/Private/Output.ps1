# What the module outputs: PimBridge.PendingRequest and PimBridge.Decision, .NET classes of the
# interop assembly (interop/OutputTypes.cs) with default views in PimBridge.Format.ps1xml. The
# interop's ResultReader builds them straight from the native library's UTF-8 JSON, dates in local
# time and durations as TimeSpans; a listed request that cannot be read (the library says so, or
# its date or duration does not convert) comes back as a PimNativeException naming it, which
# Get-PimPending reports as one error record while the others are listed.

function Format-PimDuration {
    # 2 hours, 30 minutes, 1 day 4 hours.
    param([AllowNull()] [object] $Duration)
    if ($null -eq $Duration) { return $null }
    [PimBridge.Interop.DecisionInput]::DurationText([timespan]$Duration)
}

function Test-PimWildcard {
    # Whether any of -Pattern matches any of -Text ($null as empty text): Get-PimPending's -Role and
    # -Principal. Runs once per listed request when they are given: no pipeline in here.
    param([System.Collections.Generic.List[WildcardPattern]] $Pattern, [string[]] $Text)
    foreach ($p in $Pattern) {
        foreach ($t in $Text) {
            if ($p.IsMatch([string]$t)) { return $true }
        }
    }
    $false
}

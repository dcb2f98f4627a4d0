# Running a native operation: poll in short slices (so Ctrl+C is honoured), stream results as they
# arrive, show progress, and cancel the native work if the pipeline stops early.

$script:PimProgressId = 4242

function Wait-PimOperation {
    # Outputs each result (a parsed JSON object) as it arrives. If the operation itself fails, the
    # exception is stored in -Failure instead of thrown, so the calling command can report it as its own.
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] [PimBridge.Interop.PimOpHandle] $Operation,
        [Parameter(Mandatory)] [string] $Activity,
        [Parameter(Mandatory)] [ref] $Failure,
        # What counts as done when stopped early, e.g. 'decided'.
        [string] $DoneWord = 'done'
    )

    $finished = $false
    $done = 0
    $total = 0
    try {
        while (-not $finished) {
            $finished = [PimBridge.Interop.PimNative]::Wait($Operation, 100)
            $json = [PimBridge.Interop.PimNative]::TakeResults($Operation)
            if ($json.Length -gt 2) {
                foreach ($item in (Microsoft.PowerShell.Utility\ConvertFrom-Json -InputObject $json @script:JsonArgs)) {
                    $item
                }
            }
            $done, $total = [PimBridge.Interop.PimNative]::Progress($Operation)
            $status = if ($total -gt 0) { "$done of $total $DoneWord" } else { "$done so far" }
            $progress = @{ Id = $script:PimProgressId; Activity = $Activity; Status = $status }
            if ($total -gt 0) { $progress['PercentComplete'] = [int](100 * $done / $total) }
            Microsoft.PowerShell.Utility\Write-Progress @progress
        }
        $Failure.Value = [PimBridge.Interop.PimNative]::GetError($Operation)
    } finally {
        if (-not $finished) {
            # Stopped (Ctrl+C, Select-Object -First, an error with -ErrorAction Stop): stop the native
            # work so that nothing more is sent, and say how far it got.
            [PimBridge.Interop.PimNative]::Cancel($Operation)
            $done, $total = [PimBridge.Interop.PimNative]::Progress($Operation)
            $of = if ($total -gt 0) { " of $total" } else { '' }
            $Host.UI.WriteWarningLine("${Activity}: stopped after $done$of $DoneWord; nothing more is sent.")
        }
        $Operation.Dispose()
        Microsoft.PowerShell.Utility\Write-Progress -Id $script:PimProgressId -Activity $Activity -Completed
    }
}

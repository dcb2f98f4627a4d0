# Text that came from the service, made inert before a person sees it. A requester writes the
# justification, and whoever names a user, role, group or scope writes those names: any of them may
# hold escape sequences that move the cursor, erase lines, retitle the window, or bidirectional
# controls that reorder what is shown. Every view, prompt, error, warning and verbose text that
# shows such text passes it through Format-PimInertText; the objects keep the original text.
#
# The sanitiser itself is C#, in one place (interop/InertText.cs): the views call it per cell as the
# output types' ToInertText method, and the objects' ToString goes through it too.

function Format-PimInertText {
    # The text with each character that could steer a terminal or reorder the text shown written
    # out as <U+XXXX>: the C0 controls (NUL, BS, TAB, LF, CR, ESC, ...), DEL, the C1 controls
    # (U+0080-U+009F, among them the 8-bit CSI U+009B), the bidirectional marks, embeddings,
    # overrides and isolates (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) and the line
    # and paragraph separators (U+2028, U+2029). With $Multiline true, line feeds stay (CR LF
    # counts as one). Other text is returned as it is, as a string. $null, dates, durations and
    # other values (whose text no one but .NET writes) are returned unchanged, for the view to format.
    param($Text, $Multiline)
    [PimBridge.Interop.InertText]::Format($Text, [bool]$Multiline)
}

function Write-PimVerbose {
    # Write-Verbose without Microsoft.PowerShell.Utility, whose first cmdlet loads that module (a cost
    # on a session's first listing). A command of its own, called without common parameters, so that
    # it honours $VerbosePreference as Write-Verbose does: $PSCmdlet.WriteVerbose in a command called
    # with -Debug would ask before each line.
    [CmdletBinding()]
    param([Parameter(Mandatory, Position = 0)] [AllowEmptyString()] [string] $Message)
    $PSCmdlet.WriteVerbose($Message)
}

function Write-PimProgress {
    # Write-Progress without Microsoft.PowerShell.Utility, for the same reason as Write-PimVerbose
    # (a session's first approve or deny would load that module for its progress bar).
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] [int] $Id,
        [Parameter(Mandatory)] [string] $Activity,
        [string] $Status = 'Processing',
        [int] $PercentComplete = -1,
        [switch] $Completed
    )
    $record = [System.Management.Automation.ProgressRecord]::new($Id, $Activity, $Status)
    if ($PercentComplete -ge 0) { $record.PercentComplete = $PercentComplete }
    if ($Completed) { $record.RecordType = [System.Management.Automation.ProgressRecordType]::Completed }
    $PSCmdlet.WriteProgress($record)
}

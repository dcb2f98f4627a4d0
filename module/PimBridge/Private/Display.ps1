# Text that came from the service, made inert before a person sees it. A requester writes the
# justification, and whoever names a user, role, group or scope writes those names: any of them may
# hold escape sequences that move the cursor, erase lines, retitle the window, or bidirectional
# controls that reorder what is shown. Every view, prompt, error, warning and verbose text that
# shows such text passes it through Format-PimInertText; the objects keep the original text.

function Format-PimInertText {
    # The text with each character that could steer a terminal or reorder the text shown written
    # out as <U+XXXX>: the C0 controls (NUL, BS, TAB, LF, CR, ESC, ...), DEL, the C1 controls
    # (U+0080-U+009F, among them the 8-bit CSI U+009B), the bidirectional marks, embeddings,
    # overrides and isolates (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) and the line
    # and paragraph separators (U+2028, U+2029). With $Multiline true, line feeds stay (CR LF
    # counts as one). Other text is returned as it is, as a string. $null, dates, durations and
    # other values (whose text no one but .NET writes) are returned unchanged, for the view to format.
    #
    # It is also the ScriptMethod ToInertText of PimBridge.PendingRequest and PimBridge.Decision
    # (PimBridge.psm1), which the views in PimBridge.Format.ps1xml call per cell: there it runs
    # outside the module, so it calls nothing of the module, and it must stay fast: parameters
    # without attributes, and one -notmatch for the common case (measured: as cheap as calling
    # an empty method).
    param($Text, $Multiline)
    if ($Text -isnot [string]) {
        if ($null -eq $Text -or $Text -is [ValueType]) { return $Text }
        $Text = [string]$Text
    }
    if ($Text -notmatch '[\x00-\x1F\x7F-\x9F\u061C\u200E\u200F\u2028-\u202E\u2066-\u2069]') { return $Text }
    $pattern = '[\x00-\x1F\x7F-\x9F\u061C\u200E\u200F\u2028-\u202E\u2066-\u2069]'
    if ($Multiline) {
        $Text = $Text.Replace("`r`n", "`n")
        $pattern = '[\x00-\x09\x0B-\x1F\x7F-\x9F\u061C\u200E\u200F\u2028-\u202E\u2066-\u2069]'
    }
    [regex]::Replace($Text, $pattern, { param($m) '<U+{0:X4}>' -f [int]$m.Value[0] })
}

# The ScriptMethod ToString of the same types (PimBridge.psm1): the text PowerShell makes of such
# an object ("@{ApprovalId=...; Principal=...}", as in "$request", error views and Get-Error), made
# inert through ToInertText. Runs outside the module too.
$script:PimInertToString = {
    $pairs = foreach ($property in $this.PSObject.Properties) {
        if ($property.MemberType -eq 'NoteProperty') { "$($property.Name)=$($property.Value)" }
    }
    $this.ToInertText('@{' + (@($pairs) -join '; ') + '}')
}

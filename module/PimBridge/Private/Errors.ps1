# Native errors become ErrorRecords with stable ErrorIds, the right category, the request as target,
# the service's request-id in the details, and what to do about it. Every text of a record that is
# shown (message, details, recommended action, target name) is made inert (Format-PimInertText):
# messages quote the service's text and ids.

# Native error kind -> ErrorId suffix, category, recommended action. <connect> stands for the
# Connect-MgGraph command that gives the scopes the native library names (Get-PimConnectCommand).
$script:PimErrorMap = @{
    AlreadyDecided       = 'AlreadyDecided', 'ResourceExists', 'Nothing to do: another approver (or an earlier run) decided it. Run Get-PimPending for what still waits.'
    NotFound             = 'NotFound', 'ObjectNotFound', 'Check the approval id; requests expire after 24 hours unanswered.'
    Forbidden            = 'Forbidden', 'PermissionDenied', 'Only an approver of the request may decide it.'
    NotAssignedToMe      = 'Forbidden', 'PermissionDenied', 'The approval step is not assigned to you, or not in progress; only its approvers may decide it.'
    SelfApproval         = 'SelfApproval', 'PermissionDenied', 'Another approver must decide your own request.'
    Expired              = 'Expired', 'OperationTimeout', 'The request expired unanswered and can no longer be decided; the requester must submit it again.'
    InvalidId            = 'InvalidId', 'InvalidArgument', 'Pass the ApprovalId of a request from Get-PimPending (a GUID).'
    InvalidJustification = 'InvalidJustification', 'InvalidArgument', 'Give a short reason in -Justification, in visible words (at most 4000 characters; no NUL or other control characters).'
    TokenExpired         = 'TokenExpired', 'AuthenticationError', "Sign in again (<connect>) or pass a fresh -AccessToken."
    # A 401 the library cannot explain further: the token is not known to have expired (that is
    # TokenExpired), so it is reported as an invalid token (malformed, revoked, for another tenant).
    Unauthorized         = 'InvalidToken', 'AuthenticationError', "The service refused the token. Sign in again (<connect>) or pass a fresh -AccessToken."
    MissingScope         = 'MissingScope', 'PermissionDenied', "Sign in with the permission it names: <connect>"
    AppOnlyToken         = 'AppOnlyToken', 'AuthenticationError', "Use a delegated token of a signed-in approver: <connect>"
    InvalidToken         = 'InvalidToken', 'AuthenticationError', "Pass a Microsoft Graph access token, or run <connect>."
    MissingToken         = 'NotConnected', 'AuthenticationError', "Run <connect>, or pass -AccessToken."
    Throttled            = 'Throttled', 'LimitsExceeded', 'The service is throttling; try again in a few minutes.'
    ServiceError         = 'ServiceError', 'InvalidResult', 'The service failed; try again later, quoting the request-id if it persists.'
    InvalidResponse      = 'ServiceError', 'InvalidResult', 'The service answered something unexpected; quote the request-id if it persists.'
    BadRequest           = 'BadRequest', 'InvalidArgument', 'The service refused the request as sent.'
    Network              = 'Unreachable', 'ConnectionError', 'Check -GraphUri (or PIMBRIDGE_GRAPH_URI) and your network or proxy.'
    Timeout              = 'Timeout', 'OperationTimeout', 'The service did not answer in time; try again.'
    ConnectionLost       = 'ConnectionLost', 'ConnectionError', 'The connection dropped before the answer came and retries ran out; run Get-PimPending to see what is still pending.'
    InsecureUri          = 'InsecureUri', 'SecurityError', 'Use an https URI without a user name or password in it; plain http is allowed only to loopback addresses (127.0.0.1, ::1, localhost).'
    InvalidOptions       = 'InvalidArgument', 'InvalidArgument', 'Check the -GraphUri value.'
    InvalidInput         = 'InvalidInput', 'InvalidArgument', 'Pipe objects from Get-PimPending, or pass -ApprovalId.'
    Cancelled            = 'Cancelled', 'OperationStopped', 'The operation was stopped; run it again to finish.'
    # Kinds of the core's hardening (issue 11), by the names the library gives them.
    Duplicate            = 'Duplicate', 'InvalidArgument', 'The same request came more than once in this pipeline; it was decided once (see its other result).'
    TokenChallenge       = 'TokenChallenge', 'AuthenticationError', "The service asks for a fresh sign-in (a claims challenge, such as a policy that wants MFA): sign in again (<connect>) and run it again."
    ResponseTooLarge     = 'ResponseTooLarge', 'LimitsExceeded', 'The service answered with more than the size allowed; narrow the listing (-Surface, -ArmScope) and quote the request-id if it persists.'
    PagingLoop           = 'PagingLoop', 'InvalidResult', 'The service pointed back at a page already read, so the listing was stopped; quote the request-id if it persists.'
    TooManyPages         = 'TooManyPages', 'LimitsExceeded', 'The listing ran past the page limit; narrow it (-Surface, -ArmScope).'
    OutcomeUnknown       = 'OutcomeUnknown', 'OperationTimeout', 'Whether the decision was applied could not be told in time (nothing was sent again blindly): run Get-PimPending to see whether it still waits.'
    # The unattended approver's files (issue 14): its policy and its decision log.
    InvalidPolicy        = 'InvalidPolicy', 'InvalidData', 'Correct the policy file where each line says (docs/policy.md lists every key); nothing was decided.'
    LogWriteFailed       = 'LogWriteFailed', 'WriteError', 'Make the decision log writable (a file, not a folder; not read-only; not held by another process), pass another -LogPath, or set PIMBRIDGE_DECISION_LOG. Nothing was sent.'
    LogReadFailed        = 'LogReadFailed', 'ReadError', 'Check the path of the decision log (-Path, or PIMBRIDGE_DECISION_LOG).'
    LogTampered          = 'LogTampered', 'InvalidData', 'The decision log ends in a torn or foreign line: run Test-PimDecisionLog, move the file aside (keep it), and a new log starts. Nothing was sent.'
}

function Get-PimInnerException {
    # PowerShell wraps exceptions from .NET methods (MethodInvocationException, TypeInitializationException).
    param([Parameter(Mandatory)] [System.Exception] $Exception)
    $ex = $Exception
    while ($ex -and ($ex -is [System.Management.Automation.MethodInvocationException] -or $ex -is [System.TypeInitializationException] -or $ex -is [System.Reflection.TargetInvocationException]) -and $ex.InnerException) {
        $ex = $ex.InnerException
    }
    $ex
}

function New-PimErrorRecord {
    [CmdletBinding()]
    [OutputType([System.Management.Automation.ErrorRecord])]
    param(
        [Parameter(Mandatory)] [System.Exception] $Exception,
        [object] $TargetObject
    )

    $ex = Get-PimInnerException -Exception $Exception
    $action = $null
    if ($ex -is [PimBridge.Interop.PimNativeException]) {
        $entry = $script:PimErrorMap[$ex.Code.ToString()]
        if ($entry) {
            $id, $category, $action = $entry
            if ($action.Contains('<connect>')) {
                # The whole Connect-MgGraph -Scopes line is given once: when the message already
                # holds it, the recommendation names the command alone.
                $connect = Get-PimConnectCommand
                if ($ex.Message -and $ex.Message.Contains($connect)) { $connect = 'Connect-MgGraph, as above' }
                $action = $action.Replace('<connect>', $connect)
            }
        } else {
            $id, $category = 'ServiceError', 'NotSpecified'
        }
        $message = $ex.Message
        if ($ex.RequestId) { $message += " (request-id: $($ex.RequestId))" }
        $inert = Format-PimInertText $ex.Message
        if ($inert -cne $ex.Message -or (Format-PimInertText $ex.RequestId) -cne $ex.RequestId -or (Format-PimInertText $ex.ServiceCode) -cne $ex.ServiceCode) {
            # Get-Error and $_.Exception show the exception's own message: the same fields, inert.
            $ex = [PimBridge.Interop.PimNativeException]::new($ex.Code, $inert, $ex.HttpStatus, (Format-PimInertText $ex.ServiceCode), (Format-PimInertText $ex.RequestId))
        }
    } elseif ($ex -is [PimBridge.Interop.PimAbiMismatchException]) {
        $id, $category, $message = 'NativeLibraryMismatch', 'ResourceUnavailable', $ex.Message
        $action = 'Build the library and the module together with "pwsh ./build.ps1", or set PIMBRIDGE_NATIVE_LIB to a library of the same version.'
    } elseif ($ex -is [System.DllNotFoundException]) {
        $id, $category, $message = 'NativeLibraryNotFound', 'ResourceUnavailable', $ex.Message
        $action = 'Build the module with "pwsh ./build.ps1", or set PIMBRIDGE_NATIVE_LIB to a built library.'
    } else {
        $id, $category, $message = 'Unexpected', 'NotSpecified', $ex.Message
    }
    if ($TargetObject -is [string]) { $TargetObject = Format-PimInertText $TargetObject }
    $record = [System.Management.Automation.ErrorRecord]::new($ex, "PimBridge.$id", $category, $TargetObject)
    # The target's name is its text (a request's is all its properties): inert, as shown.
    if ($null -ne $TargetObject) { $record.CategoryInfo.TargetName = Format-PimInertText $record.CategoryInfo.TargetName }
    $record.ErrorDetails = [System.Management.Automation.ErrorDetails]::new((Format-PimInertText $message))
    if ($action) { $record.ErrorDetails.RecommendedAction = Format-PimInertText $action }
    $record
}

function New-PimException {
    # An error the module finds itself, in the shape of the native library's errors.
    param([Parameter(Mandatory)] [PimBridge.Interop.PimResult] $Code, [Parameter(Mandatory)] [string] $Message)
    [PimBridge.Interop.PimNativeException]::new($Code, $Message, 0, $null, $null)
}

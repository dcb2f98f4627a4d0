//! What crosses the boundary when something fails: the result enum every fallible export returns
//! (`pim_result` in C), and the one error shape, used alike for an operation's failure (a
//! `pim_error` object) and for one request's failure (the `error` of a result in JSON).
//!
//! The core has its own error kinds ([`ErrorKind`]); [`PimResult::from`] maps them here, in one
//! place, as rustls-ffi's `map_error` does. Failures only the boundary can see (a NULL pointer, a
//! dead handle, a panic) exist only here.

use serde::Serialize;

use crate::error::{ErrorKind, PimError};

/// The result of a fallible call: `PIM_RESULT_OK`, `PIM_RESULT_PENDING`, or why it failed.
///
/// Numbers are stable and never reused: a retired code stays listed here as a comment, marked
/// reserved, so that its number never takes another meaning. No code has been retired yet.
/// (7213 is kept for the request-expired kind that the client-fidelity work adds.)
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum PimResult {
    /// Success.
    Ok = 0,
    /// `pim_op_wait` timed out: the operation is still running.
    Pending = 1,
    /// 7000s: the caller broke the C ABI's contract, or the call could not be carried out.
    ///
    /// A pointer that must not be NULL was NULL.
    NullParameter = 7000,
    /// An input string is not valid UTF-8.
    InvalidUtf8 = 7001,
    /// Options that are not a JSON object, or that name unknown fields or values out of range.
    InvalidOptions = 7002,
    /// A handle that is not live: already freed, not this library's, or of another kind.
    InvalidHandle = 7003,
    /// A panic inside the library, caught at the boundary (a bug: please report it).
    Panic = 7004,
    /// The operation was cancelled.
    Cancelled = 7005,
    /// An input document that is not what it must be (the requests JSON, an Azure scope).
    InvalidInput = 7006,
    /// `pim_op_push` to a stream operation whose input is closed (`pim_op_close_input`), that was
    /// cancelled, or that has finished: nothing of that push is decided.
    InputClosed = 7007,
    /// `pim_op_push` or `pim_op_close_input` on an operation that takes no pushes (not started by
    /// `pim_approve_stream` or `pim_deny_stream`).
    NotAStream = 7008,
    /// 7100s: refused before any HTTP call.
    ///
    /// An approval id that is not a GUID (or, for Azure, an approval path).
    InvalidId = 7100,
    /// A justification that is empty, only white space, or too long.
    InvalidJustification = 7101,
    /// A service URI with plain http to a host that is not loopback, or with a user name or password.
    InsecureUri = 7102,
    /// No token was given where one is needed.
    MissingToken = 7103,
    /// A token that cannot be used here: unreadable, or for another audience.
    InvalidToken = 7104,
    /// A token that has expired.
    TokenExpired = 7105,
    /// A token without any of the delegated scopes this needs; the message names them.
    MissingScope = 7106,
    /// An app-only token where a signed-in approver is needed.
    AppOnlyToken = 7107,
    /// The same request more than once in one run: decided once, at its first place; the message
    /// names it.
    Duplicate = 7108,
    /// 7200s: the service (or the way to it) said no.
    ///
    /// HTTP 401: the service refused the token.
    Unauthorized = 7200,
    /// HTTP 403.
    Forbidden = 7201,
    /// HTTP 404.
    NotFound = 7202,
    /// The request was decided already (HTTP 409, or seen before sending); nothing was sent.
    AlreadyDecided = 7203,
    /// The approver's own request.
    SelfApproval = 7204,
    /// No step of the request is assigned to the approver, or theirs is not in progress.
    NotAssignedToMe = 7205,
    /// Another HTTP 4xx.
    BadRequest = 7206,
    /// HTTP 429, after retries within the time budget.
    Throttled = 7207,
    /// HTTP 5xx, after retries.
    ServiceError = 7208,
    /// The service could not be reached (refused, DNS, TLS, a refused redirect).
    Network = 7209,
    /// The service did not answer in time.
    Timeout = 7210,
    /// An answer that could not be read, or a next link to another host.
    InvalidResponse = 7211,
    /// The connection closed or reset after the request went out: its outcome is unknown.
    ConnectionLost = 7212,
    /// The request expired unanswered (approvers have 24 hours); it cannot be decided any more.
    Expired = 7213,
    /// A decision was sent, and whether the service applied it could not be established in time:
    /// the result is `Unknown`; the message says how to check.
    OutcomeUnknown = 7214,
    /// HTTP 401 with a claims challenge: get a token that satisfies the claims (`pim_error_claims`).
    TokenChallenge = 7215,
    /// An answer larger than the client's `maxResponseBytes`; the rest was not read.
    ResponseTooLarge = 7216,
    /// The service's next links loop back to a page already read.
    PagingLoop = 7217,
    /// More pages than the client's `maxPages`.
    TooManyPages = 7218,
    /// 7300s: the unattended approver's local files, its policy and its decision log.
    ///
    /// A policy document that cannot be used; the message names the source, the rule and the key.
    InvalidPolicy = 7300,
    /// The decision log cannot be written (a folder, read-only, no space, locked too long); a
    /// decision whose intent line could not be written must not be sent.
    LogWriteFailed = 7301,
    /// The decision log cannot be read (missing, unreadable).
    LogReadFailed = 7302,
    /// The decision log ends in a torn or foreign line; nothing is appended until a person looks.
    LogTampered = 7303,
}

impl From<ErrorKind> for PimResult {
    /// The one mapping from the core's error kinds to the ABI's result codes.
    fn from(kind: ErrorKind) -> PimResult {
        use ErrorKind as K;
        match kind {
            K::InvalidOptions => PimResult::InvalidOptions,
            K::Cancelled => PimResult::Cancelled,
            K::InvalidInput => PimResult::InvalidInput,
            K::InvalidId => PimResult::InvalidId,
            K::InvalidJustification => PimResult::InvalidJustification,
            K::InsecureUri => PimResult::InsecureUri,
            K::MissingToken => PimResult::MissingToken,
            K::InvalidToken => PimResult::InvalidToken,
            K::TokenExpired => PimResult::TokenExpired,
            K::MissingScope => PimResult::MissingScope,
            K::AppOnlyToken => PimResult::AppOnlyToken,
            K::Unauthorized => PimResult::Unauthorized,
            K::Forbidden => PimResult::Forbidden,
            K::NotFound => PimResult::NotFound,
            K::AlreadyDecided => PimResult::AlreadyDecided,
            K::SelfApproval => PimResult::SelfApproval,
            K::NotAssignedToMe => PimResult::NotAssignedToMe,
            K::BadRequest => PimResult::BadRequest,
            K::Throttled => PimResult::Throttled,
            K::ServiceError => PimResult::ServiceError,
            K::Network => PimResult::Network,
            K::Timeout => PimResult::Timeout,
            K::InvalidResponse => PimResult::InvalidResponse,
            K::ConnectionLost => PimResult::ConnectionLost,
            K::Expired => PimResult::Expired,
            K::InvalidPolicy => PimResult::InvalidPolicy,
            K::LogWriteFailed => PimResult::LogWriteFailed,
            K::LogReadFailed => PimResult::LogReadFailed,
            K::LogTampered => PimResult::LogTampered,
            K::Duplicate => PimResult::Duplicate,
            K::OutcomeUnknown => PimResult::OutcomeUnknown,
            K::TokenChallenge => PimResult::TokenChallenge,
            K::ResponseTooLarge => PimResult::ResponseTooLarge,
            K::PagingLoop => PimResult::PagingLoop,
            K::TooManyPages => PimResult::TooManyPages,
        }
    }
}

impl PimResult {
    /// The code's name, e.g. `InvalidId`: the `kind` of the error shape.
    pub fn name(self) -> String {
        serde_json::to_value(self).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
    }
}

/// The one error shape that crosses the boundary. A `pim_error` object exposes these fields one
/// accessor each; a failed request's `error` in JSON carries the same fields:
/// `{kind, code, httpStatus, serviceCode, message, requestId}` (`kind` is the code's name), and
/// `claims` for a `TokenChallenge` only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FfiError {
    pub result: PimResult,
    pub http_status: u16,
    pub service_code: Option<String>,
    pub message: String,
    pub request_id: Option<String>,
    /// A claims challenge's `claims`, to pass to the sign-in that gets the next token.
    pub claims: Option<String>,
}

impl FfiError {
    /// A failure only the boundary can see (a NULL pointer, a dead handle, a panic).
    pub(crate) fn new(result: PimResult, message: impl Into<String>) -> FfiError {
        FfiError { result, http_status: 0, service_code: None, message: message.into(), request_id: None, claims: None }
    }
}

impl From<PimError> for FfiError {
    fn from(e: PimError) -> FfiError {
        FfiError {
            result: e.kind.into(),
            http_status: e.http_status,
            service_code: e.service_code,
            message: e.message,
            request_id: e.request_id,
            claims: e.claims,
        }
    }
}

impl Serialize for FfiError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Shape<'a> {
            kind: PimResult,
            code: u32,
            http_status: u16,
            service_code: Option<&'a str>,
            message: &'a str,
            request_id: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            claims: Option<&'a str>,
        }
        Shape {
            kind: self.result,
            code: self.result as u32,
            http_status: self.http_status,
            service_code: self.service_code.as_deref(),
            message: &self.message,
            request_id: self.request_id.as_deref(),
            claims: self.claims.as_deref(),
        }
        .serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        assert_eq!(PimResult::NullParameter as u32, 7000);
        assert_eq!(PimResult::from(ErrorKind::InvalidId) as u32, 7100);
        assert_eq!(PimResult::from(ErrorKind::AlreadyDecided) as u32, 7203);
        assert_eq!(PimResult::from(ErrorKind::ConnectionLost) as u32, 7212);
        assert_eq!(PimResult::from(ErrorKind::Expired) as u32, 7213);
        assert_eq!(PimResult::from(ErrorKind::InvalidPolicy) as u32, 7300);
        assert_eq!(PimResult::from(ErrorKind::LogTampered) as u32, 7303);
        let added = [
            (ErrorKind::Duplicate, 7108, "Duplicate"),
            (ErrorKind::OutcomeUnknown, 7214, "OutcomeUnknown"),
            (ErrorKind::TokenChallenge, 7215, "TokenChallenge"),
            (ErrorKind::ResponseTooLarge, 7216, "ResponseTooLarge"),
            (ErrorKind::PagingLoop, 7217, "PagingLoop"),
            (ErrorKind::TooManyPages, 7218, "TooManyPages"),
        ];
        for (kind, code, name) in added {
            assert_eq!((PimResult::from(kind) as u32, PimResult::from(kind).name()), (code, name.to_string()));
        }
    }

    #[test]
    fn a_challenge_carries_its_claims_and_no_other_error_does() {
        let mut core = PimError::new(ErrorKind::TokenChallenge, "sign in again");
        core.claims = Some("eyJ4Ijp7fX0=".into());
        let v = serde_json::to_value(FfiError::from(core)).unwrap();
        assert_eq!((v["kind"].as_str(), v["claims"].as_str()), (Some("TokenChallenge"), Some("eyJ4Ijp7fX0=")));
        let other = serde_json::to_value(FfiError::new(PimResult::NotFound, "gone")).unwrap();
        assert!(other.get("claims").is_none(), "the one shape is unchanged for every other error");
    }

    #[test]
    fn core_errors_keep_their_details_and_take_the_code_of_their_kind() {
        let core = PimError::from_service(404, Some("NotFound".into()), "gone".into(), Some("rid".into()));
        let e = FfiError::from(core);
        assert_eq!(e.result, PimResult::NotFound);
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"kind": "NotFound", "code": 7202, "httpStatus": 404, "serviceCode": "NotFound",
                               "message": "gone", "requestId": "rid"})
        );
        assert_eq!(e.result.name(), "NotFound");
    }
}

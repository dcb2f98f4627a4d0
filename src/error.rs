//! Typed errors of the core: one kind per way to fail that a caller would handle differently.
//!
//! These kinds are the core's own. The C ABI has its own result enum (`ffi::result::PimResult`,
//! `pim_result` in C), with stable numbers, mapped from these kinds in one place.

use std::fmt;

/// Why something failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    // What a caller handed over is unusable.
    /// Options that are not valid JSON, or name unknown fields or values out of range.
    InvalidOptions,
    /// The operation was cancelled.
    Cancelled,
    /// Input that is not what it must be (a requests document, a scope).
    InvalidInput,
    // Refused before any HTTP call.
    InvalidId,
    InvalidJustification,
    InsecureUri,
    MissingToken,
    InvalidToken,
    TokenExpired,
    MissingScope,
    AppOnlyToken,
    // The service (or the way to it) said no.
    Unauthorized,
    Forbidden,
    NotFound,
    AlreadyDecided,
    SelfApproval,
    NotAssignedToMe,
    BadRequest,
    Throttled,
    ServiceError,
    Network,
    Timeout,
    InvalidResponse,
    /// The connection closed or reset after the request went out: its outcome is unknown.
    ConnectionLost,
    /// The request expired unanswered (approvers have 24 hours): its step is `Expired`, or the
    /// service refused a decision on it for that reason. It cannot be decided any more.
    Expired,
    // Added by issue 11 (hardening II), kept together.
    /// The same request more than once in one run: decided once, at its first place.
    Duplicate,
    /// A decision was sent, and whether the service applied it could not be established in time.
    OutcomeUnknown,
    /// HTTP 401 with a claims challenge (`WWW-Authenticate: ... error="insufficient_claims",
    /// claims="..."`): a new token that satisfies the claims is needed.
    TokenChallenge,
    /// An answer larger than the client's limit (`maxResponseBytes`); the rest was not read.
    ResponseTooLarge,
    /// A next link already followed: the service's paging loops.
    PagingLoop,
    /// More pages than the client's limit (`maxPages`).
    TooManyPages,
    // The unattended approver's local files: its policy and its decision log (no HTTP involved).
    /// A policy document that cannot be used; the message names the source, the rule and the key.
    InvalidPolicy,
    /// The decision log cannot be written (a folder, read-only, no space, locked too long). A
    /// decision whose intent line could not be written must not be sent.
    LogWriteFailed,
    /// The decision log cannot be read (missing, unreadable).
    LogReadFailed,
    /// The decision log ends in a torn or foreign line: nothing is appended after it until a
    /// person looks (`Test-PimDecisionLog`).
    LogTampered,
}

/// An error with everything a caller needs to report it: the kind, the HTTP status (0 when no
/// answer came), the service's own error code, a message, and the service's `request-id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PimError {
    pub kind: ErrorKind,
    pub http_status: u16,
    pub service_code: Option<String>,
    pub message: String,
    pub request_id: Option<String>,
    /// A claims challenge's `claims` (base64 JSON), as the service sent it (`TokenChallenge` only).
    pub claims: Option<String>,
}

impl PimError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> PimError {
        PimError { kind, http_status: 0, service_code: None, message: message.into(), request_id: None, claims: None }
    }

    pub fn cancelled() -> PimError {
        PimError::new(ErrorKind::Cancelled, "The operation was cancelled.")
    }

    /// Classifies an HTTP error answer. Branches on status and the service's `code`, never on text.
    pub fn from_service(
        status: u16,
        service_code: Option<String>,
        message: String,
        request_id: Option<String>,
    ) -> PimError {
        let code_has = |needle: &str| service_code.as_deref().is_some_and(|c| c.to_ascii_lowercase().contains(needle));
        let kind = match status {
            401 => ErrorKind::Unauthorized,
            403 => ErrorKind::Forbidden,
            404 => ErrorKind::NotFound,
            409 => ErrorKind::AlreadyDecided,
            429 => ErrorKind::Throttled,
            _ if code_has("selfapproval") => ErrorKind::SelfApproval,
            400..=499 => ErrorKind::BadRequest,
            _ => ErrorKind::ServiceError,
        };
        let message = if message.is_empty() { format!("The service answered HTTP {status}.") } else { message };
        PimError { kind, http_status: status, service_code, message, request_id, claims: None }
    }
}

impl fmt::Display for PimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        if self.http_status != 0 {
            write!(f, " (HTTP {}", self.http_status)?;
            if let Some(c) = &self.service_code {
                write!(f, ", {c}")?;
            }
            if let Some(r) = &self.request_id {
                write!(f, ", request-id {r}")?;
            }
            write!(f, ")")?;
        }
        Ok(())
    }
}

impl std::error::Error for PimError {}

pub type Result<T> = std::result::Result<T, PimError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_answers_are_classified_by_status_and_code() {
        let e = |s, c: Option<&str>| PimError::from_service(s, c.map(str::to_string), String::new(), None).kind;
        assert_eq!(e(409, None), ErrorKind::AlreadyDecided);
        assert_eq!(e(400, Some("SelfApprovalNotAllowed")), ErrorKind::SelfApproval);
        assert_eq!(e(400, Some("BadRequest")), ErrorKind::BadRequest);
        assert_eq!(e(503, None), ErrorKind::ServiceError);
        assert_eq!(e(401, None), ErrorKind::Unauthorized);
    }
}

//! Typed errors: one kind per way to fail that a caller would handle differently.
//!
//! Each kind has a stable number that crosses the C ABI (`pim_result`). Numbers are never reused: a
//! retired kind keeps its number reserved in a comment.

use std::fmt;

/// Why something failed. The discriminants are the C ABI's result codes (`pim_result` in C), so
/// the two values that are not failures live here too: `Ok` and `Pending` are only ever returned
/// by the C ABI, never carried by a [`PimError`].
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum ErrorKind {
    /// Success.
    Ok = 0,
    /// `pim_op_wait` timed out: the operation is still running.
    Pending = 1,
    // 7000s: the caller broke the C ABI's contract.
    NullParameter = 7000,
    InvalidUtf8 = 7001,
    InvalidOptions = 7002,
    InvalidHandle = 7003,
    Panic = 7004,
    Cancelled = 7005,
    InvalidInput = 7006,
    // 7100s: refused before any HTTP call.
    InvalidId = 7100,
    InvalidJustification = 7101,
    InsecureUri = 7102,
    MissingToken = 7103,
    InvalidToken = 7104,
    TokenExpired = 7105,
    MissingScope = 7106,
    AppOnlyToken = 7107,
    // 7200s: the service (or the way to it) said no.
    Unauthorized = 7200,
    Forbidden = 7201,
    NotFound = 7202,
    AlreadyDecided = 7203,
    SelfApproval = 7204,
    NotAssignedToMe = 7205,
    BadRequest = 7206,
    Throttled = 7207,
    ServiceError = 7208,
    Network = 7209,
    Timeout = 7210,
    InvalidResponse = 7211,
    /// The connection closed or reset after the request went out: its outcome is unknown.
    ConnectionLost = 7212,
}

impl ErrorKind {
    /// The stable numeric code.
    pub fn code(self) -> u32 {
        self as u32
    }
}

/// An error with everything a caller needs to report it: the kind, the HTTP status (0 when no
/// answer came), the service's own error code, a message, and the service's `request-id`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PimError {
    pub kind: ErrorKind,
    pub code: u32,
    pub http_status: u16,
    pub service_code: Option<String>,
    pub message: String,
    pub request_id: Option<String>,
}

impl PimError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> PimError {
        PimError {
            kind,
            code: kind.code(),
            http_status: 0,
            service_code: None,
            message: message.into(),
            request_id: None,
        }
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
        PimError { kind, code: kind.code(), http_status: status, service_code, message, request_id }
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

    #[test]
    fn codes_are_stable() {
        assert_eq!(ErrorKind::NullParameter.code(), 7000);
        assert_eq!(ErrorKind::InvalidId.code(), 7100);
        assert_eq!(ErrorKind::AlreadyDecided.code(), 7203);
    }
}

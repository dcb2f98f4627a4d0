//! The `pim_error` object: an operation's failure in the one error shape (`FfiError`), one
//! accessor per field, and [`ffi_call`], the boundary every fallible export runs through, which
//! hands the caller such an object on failure.

use std::ffi::{CString, c_char};
use std::sync::Arc;

use super::out::write_out;
use super::panic::{catch, ffi_value};
use super::registry::{Kind, lookup, register, unregister};
use super::result::{FfiError, PimResult};

/// An error: its code and the code's name, the HTTP status, the service's error code, the message
/// and the request-id. Opaque.
pub struct pim_error {
    _private: [u8; 0],
}

/// An error as C reads it: the shape, with its strings ready to lend out.
struct ErrorObject {
    error: FfiError,
    kind: CString,
    service_code: CString,
    message: CString,
    request_id: CString,
    claims: CString,
}

impl ErrorObject {
    fn register(error: FfiError) -> *mut pim_error {
        let c = |s: &str| CString::new(s.replace('\0', "")).unwrap_or_default();
        let obj = ErrorObject {
            kind: c(&error.result.name()),
            service_code: c(error.service_code.as_deref().unwrap_or("")),
            message: c(&error.message),
            request_id: c(error.request_id.as_deref().unwrap_or("")),
            claims: c(error.claims.as_deref().unwrap_or("")),
            error,
        };
        register(Kind::Error, Arc::new(obj)).map_or(std::ptr::null_mut(), |h| h as *mut pim_error)
    }
}

fn error_of(err: *const pim_error) -> Option<Arc<ErrorObject>> {
    lookup(err as usize, Kind::Error, "error").ok()
}

/// The boundary of a fallible export: runs `f` behind the panic boundary; a failure becomes its
/// result code and, when `err_out` is not NULL, an error object the caller frees with
/// `pim_error_free`.
///
/// # Safety
/// `err_out` is NULL or writable.
pub(crate) unsafe fn ffi_call(err_out: *mut *mut pim_error, f: impl FnOnce() -> Result<(), FfiError>) -> PimResult {
    match catch(f) {
        Ok(()) => PimResult::Ok,
        Err(e) => {
            let result = e.result;
            if !err_out.is_null() {
                // SAFETY: checked non-NULL; the caller promised it is writable.
                unsafe { write_out(err_out, ErrorObject::register(e)) };
            }
            result
        }
    }
}

/// The error's code (a `pim_result`); `PIM_RESULT_INVALID_HANDLE` if `err` is not a live error.
#[unsafe(no_mangle)]
pub extern "C" fn pim_error_code(err: *const pim_error) -> PimResult {
    ffi_value(PimResult::Panic, || error_of(err).map_or(PimResult::InvalidHandle, |e| e.error.result))
}

/// The name of the error's code, e.g. "InvalidId": the `kind` that a failed request's JSON
/// carries. Borrowed: valid until `pim_error_free(err)`; NULL if `err` is not live.
#[unsafe(no_mangle)]
pub extern "C" fn pim_error_kind(err: *const pim_error) -> *const c_char {
    ffi_value(std::ptr::null(), || error_of(err).map_or(std::ptr::null(), |e| e.kind.as_ptr()))
}

/// The HTTP status the service answered, or 0 if no answer was involved.
#[unsafe(no_mangle)]
pub extern "C" fn pim_error_http_status(err: *const pim_error) -> u16 {
    ffi_value(0, || error_of(err).map_or(0, |e| e.error.http_status))
}

/// The service's error code (e.g. `Authorization_RequestDenied`), or "" when there is none.
/// Borrowed: valid until `pim_error_free(err)`; never NULL for a live error, NULL otherwise.
#[unsafe(no_mangle)]
pub extern "C" fn pim_error_service_code(err: *const pim_error) -> *const c_char {
    ffi_value(std::ptr::null(), || error_of(err).map_or(std::ptr::null(), |e| e.service_code.as_ptr()))
}

/// A message for people. Borrowed: valid until `pim_error_free(err)`; NULL if `err` is not live.
#[unsafe(no_mangle)]
pub extern "C" fn pim_error_message(err: *const pim_error) -> *const c_char {
    ffi_value(std::ptr::null(), || error_of(err).map_or(std::ptr::null(), |e| e.message.as_ptr()))
}

/// The service's `request-id` for support cases, or "". Borrowed: valid until
/// `pim_error_free(err)`; NULL if `err` is not live.
#[unsafe(no_mangle)]
pub extern "C" fn pim_error_request_id(err: *const pim_error) -> *const c_char {
    ffi_value(std::ptr::null(), || error_of(err).map_or(std::ptr::null(), |e| e.request_id.as_ptr()))
}

/// A claims challenge's `claims` (base64 JSON, as the service sent it in `WWW-Authenticate`) when
/// the code is `PIM_RESULT_TOKEN_CHALLENGE`: pass it to the sign-in that gets the next token.
/// "" otherwise. Borrowed: valid until `pim_error_free(err)`; NULL if `err` is not live.
#[unsafe(no_mangle)]
pub extern "C" fn pim_error_claims(err: *const pim_error) -> *const c_char {
    ffi_value(std::ptr::null(), || error_of(err).map_or(std::ptr::null(), |e| e.claims.as_ptr()))
}

/// Frees an error. A no-op on NULL or on a handle that is not a live error.
#[unsafe(no_mangle)]
pub extern "C" fn pim_error_free(err: *mut pim_error) {
    ffi_value((), || {
        drop(unregister::<ErrorObject>(err as usize, Kind::Error));
    })
}

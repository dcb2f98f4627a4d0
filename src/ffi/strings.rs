//! Strings across the boundary: C strings read (and copied) on the way in, the token kept in
//! zeroizing memory, and strings handed out, each freed with `pim_string_free`.

use std::ffi::{CStr, CString, c_char};

use zeroize::Zeroizing;

use super::error::{ffi_call, pim_error};
use super::out::{check_out, write_out};
use super::panic::ffi_value;
use super::registry::{register_string, unregister_string};
use super::result::{FfiError, PimResult};
use crate::token::AccessToken;

/// Reads a required input string: NULL and invalid UTF-8 are refused. The caller keeps ownership;
/// we copy.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that stays valid for this call.
pub(crate) unsafe fn read_str(ptr: *const c_char, what: &str) -> Result<String, FfiError> {
    if ptr.is_null() {
        return Err(FfiError::new(PimResult::NullParameter, format!("{what} is NULL.")));
    }
    // SAFETY: non-NULL, and the caller promises a NUL-terminated string.
    let bytes = unsafe { CStr::from_ptr(ptr) }.to_bytes();
    std::str::from_utf8(bytes).map(str::to_string).map_err(|e| {
        FfiError::new(PimResult::InvalidUtf8, format!("{what} is not valid UTF-8 (at byte {}).", e.valid_up_to()))
    })
}

/// Like [`read_str`], but NULL means "not given".
///
/// # Safety
/// As [`read_str`].
pub(crate) unsafe fn read_opt_str(ptr: *const c_char, what: &str) -> Result<Option<String>, FfiError> {
    if ptr.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded contract.
        unsafe { read_str(ptr, what) }.map(Some)
    }
}

/// Reads an optional token argument (NULL means none) into zeroizing memory.
///
/// # Safety
/// As [`read_str`].
pub(crate) unsafe fn read_opt_token(token: *const c_char, what: &str) -> Result<Option<AccessToken>, FfiError> {
    if token.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded contract.
    let raw = Zeroizing::new(unsafe { read_str(token, what) }?);
    Ok(Some(AccessToken::new(&raw)?))
}

/// Hands a string to C; the caller frees it with `pim_string_free`.
pub(crate) fn owned_string(s: String) -> *mut c_char {
    // serde_json never emits NUL, but a message could carry one: strip rather than fail.
    let c = CString::new(s).unwrap_or_else(|e| {
        let mut bytes = e.into_vec();
        bytes.retain(|b| *b != 0);
        CString::new(bytes).unwrap_or_default()
    });
    register_string(c) as *mut c_char
}

/// The body of every export that hands out a JSON string: checks `json_out`, runs `json` behind
/// the boundary, and on success writes the string, to free with `pim_string_free`.
///
/// # Safety
/// `json_out` and `err_out` are NULL or writable; `json` keeps the caller's contract for any
/// pointer it reads.
pub(crate) unsafe fn ffi_json(
    json_out: *mut *mut c_char,
    err_out: *mut *mut pim_error,
    json: impl FnOnce() -> Result<String, FfiError>,
) -> PimResult {
    // SAFETY: forwarded contract.
    unsafe {
        ffi_call(err_out, || {
            check_out(json_out, "json_out")?;
            let text = json()?;
            write_out(json_out, owned_string(text));
            Ok(())
        })
    }
}

/// Frees a string returned by this library. A no-op on NULL or on a pointer this library did
/// not return (or already freed).
#[unsafe(no_mangle)]
pub extern "C" fn pim_string_free(s: *mut c_char) {
    ffi_value((), || {
        drop(unregister_string(s as usize));
    })
}

//! Out-parameters: refused when NULL before any work is done, written only on success.

use super::result::{FfiError, PimResult};

/// Refuses a NULL out-parameter before any work is done.
pub(crate) fn check_out<T>(out: *mut T, what: &str) -> Result<(), FfiError> {
    if out.is_null() { Err(FfiError::new(PimResult::NullParameter, format!("{what} is NULL."))) } else { Ok(()) }
}

/// Writes an out-parameter already checked by [`check_out`].
///
/// # Safety
/// `out` is non-NULL, aligned and writable.
pub(crate) unsafe fn write_out<T>(out: *mut T, value: T) {
    // SAFETY: the caller checked `out` and owns the memory.
    unsafe { out.write(value) };
}

//! The panic boundary. Since Rust 1.81 a panic that escapes an `extern "C"` function aborts the
//! process (here: the whole pwsh session), so every export runs its body through one of these.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::result::{FfiError, PimResult};

/// Runs `f`; a panic becomes a `PIM_RESULT_PANIC` error.
pub(crate) fn catch<T>(f: impl FnOnce() -> Result<T, FfiError>) -> Result<T, FfiError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| Err(panic_error(payload.as_ref())))
}

/// The panic boundary for exports that return a plain value: a panic gives `fallback`.
pub(crate) fn ffi_value<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

fn panic_error(payload: &(dyn Any + Send)) -> FfiError {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown".into());
    FfiError::new(
        PimResult::Panic,
        format!("Internal error in pim_bridge (a panic was caught at the C boundary): {what}"),
    )
}

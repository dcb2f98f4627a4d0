//! The plumbing every export uses: the panic boundary, pointer checks, C strings in and out, and
//! the registry that owns every object handed to C. This file and `mod.rs` hold all the unsafe code.
//!
//! Every object C receives (client, operation, error, string) is owned by [`REGISTRY`], keyed by
//! the address C sees. C's pointer is only ever a key: it is looked up, never dereferenced, so a
//! freed, foreign or wrong-kind pointer is detected and refused instead of being trusted.

use std::any::Any;
use std::collections::BTreeMap;
use std::ffi::{CStr, CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use crate::error::{ErrorKind, PimError};

/// What a registered address stands for.
pub(crate) enum Entry {
    Client(Arc<super::ClientHandle>),
    Op(Arc<super::OpShared>),
    Error(Arc<super::ErrorObject>),
    String(CString),
}

impl Entry {
    fn kind_name(&self) -> &'static str {
        match self {
            Entry::Client(_) => "client",
            Entry::Op(_) => "operation",
            Entry::Error(_) => "error",
            Entry::String(_) => "string",
        }
    }
}

/// A BTreeMap rather than a HashMap: its nodes are found through pointers to their start, so
/// valgrind does not mistake the live registry for "possibly lost" memory at exit.
/// Address -> (the allocation that gives the handle its unique address, what it stands for).
type Registry = BTreeMap<usize, (Box<u64>, Entry)>;

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(|| Mutex::new(BTreeMap::new()));

fn registry() -> MutexGuard<'static, Registry> {
    // A panic while the lock was held cannot leave the map half-updated (inserts and removes are
    // single calls), so a poisoned lock is still safe to use.
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Registers an object and returns the address C will hold.
pub(crate) fn register(entry: Entry) -> usize {
    if let Entry::String(s) = entry {
        let addr = s.as_ptr() as usize;
        registry().insert(addr, (Box::new(0), Entry::String(s)));
        return addr;
    }
    let anchor = Box::new(0u64);
    let addr = &*anchor as *const u64 as usize;
    registry().insert(addr, (anchor, entry));
    addr
}

/// Removes an object; `None` if the address was not registered (NULL, freed, or foreign).
pub(crate) fn unregister(addr: usize, kind: fn(&Entry) -> bool) -> Option<Entry> {
    let mut reg = registry();
    if reg.get(&addr).is_some_and(|(_, e)| kind(e)) { reg.remove(&addr).map(|(_, e)| e) } else { None }
}

/// Looks a handle up by address and kind.
pub(crate) fn lookup<T>(addr: usize, what: &str, pick: fn(&Entry) -> Option<Arc<T>>) -> Result<Arc<T>, PimError> {
    if addr == 0 {
        return Err(PimError::new(ErrorKind::NullParameter, format!("The {what} handle is NULL.")));
    }
    let reg = registry();
    match reg.get(&addr) {
        Some((_, e)) => pick(e).ok_or_else(|| {
            PimError::new(
                ErrorKind::InvalidHandle,
                format!("The handle passed as {what} is a {} handle.", e.kind_name()),
            )
        }),
        None => Err(PimError::new(
            ErrorKind::InvalidHandle,
            format!("The {what} handle is not a live PimBridge handle (already freed, or not ours)."),
        )),
    }
}

/// Hands a string to C; the caller frees it with `pim_string_free`.
pub(crate) fn owned_string(s: String) -> *mut c_char {
    // serde_json never emits NUL, but a message could carry one: strip rather than fail.
    let c = CString::new(s).unwrap_or_else(|e| {
        let mut bytes = e.into_vec();
        bytes.retain(|b| *b != 0);
        CString::new(bytes).unwrap_or_default()
    });
    register(Entry::String(c)) as *mut c_char
}

/// Reads a required input string: NULL and invalid UTF-8 are refused. The caller keeps ownership;
/// we copy.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that stays valid for this call.
pub(crate) unsafe fn read_str(ptr: *const c_char, what: &str) -> Result<String, PimError> {
    if ptr.is_null() {
        return Err(PimError::new(ErrorKind::NullParameter, format!("{what} is NULL.")));
    }
    // SAFETY: non-NULL, and the caller promises a NUL-terminated string.
    let bytes = unsafe { CStr::from_ptr(ptr) }.to_bytes();
    std::str::from_utf8(bytes).map(str::to_string).map_err(|e| {
        PimError::new(ErrorKind::InvalidUtf8, format!("{what} is not valid UTF-8 (at byte {}).", e.valid_up_to()))
    })
}

/// Like [`read_str`], but NULL means "not given".
///
/// # Safety
/// As [`read_str`].
pub(crate) unsafe fn read_opt_str(ptr: *const c_char, what: &str) -> Result<Option<String>, PimError> {
    if ptr.is_null() {
        Ok(None)
    } else {
        // SAFETY: forwarded contract.
        unsafe { read_str(ptr, what) }.map(Some)
    }
}

/// Refuses a NULL out-parameter before any work is done.
pub(crate) fn check_out<T>(out: *mut T, what: &str) -> Result<(), PimError> {
    if out.is_null() { Err(PimError::new(ErrorKind::NullParameter, format!("{what} is NULL."))) } else { Ok(()) }
}

/// Writes an out-parameter already checked by [`check_out`].
///
/// # Safety
/// `out` is non-NULL, aligned and writable.
pub(crate) unsafe fn write_out<T>(out: *mut T, value: T) {
    // SAFETY: the caller checked `out` and owns the memory.
    unsafe { out.write(value) };
}

/// The panic boundary. Runs `f`; a panic or an error becomes a result code, and, when `err_out`
/// is not NULL, an error object the caller frees with `pim_error_free`.
///
/// # Safety
/// `err_out` is NULL or writable.
pub(crate) unsafe fn ffi_call(
    err_out: *mut *mut super::pim_error,
    f: impl FnOnce() -> Result<(), PimError>,
) -> ErrorKind {
    let outcome = catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| Err(panic_error(payload.as_ref())));
    match outcome {
        Ok(()) => ErrorKind::Ok,
        Err(e) => {
            let kind = e.kind;
            if !err_out.is_null() {
                let handle = super::ErrorObject::register(e);
                // SAFETY: checked non-NULL; the caller promised it is writable.
                unsafe { write_out(err_out, handle) };
            }
            kind
        }
    }
}

/// The panic boundary for exports that return a plain value: a panic gives `fallback`.
pub(crate) fn ffi_value<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

pub(crate) fn panic_error(payload: &(dyn Any + Send)) -> PimError {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown".into());
    PimError::new(
        ErrorKind::Panic,
        format!("Internal error in pim_bridge (a panic was caught at the C boundary): {what}"),
    )
}

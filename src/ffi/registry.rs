//! The registry that owns every object handed to C (client, operation, error, string), keyed by
//! the address C sees. C's pointer is only ever a key: it is looked up, never dereferenced, so a
//! freed, foreign or wrong-kind pointer is detected and refused instead of being trusted. The
//! registry knows no object type: each C object's file registers and looks up its own.

use std::any::Any;
use std::collections::BTreeMap;
use std::ffi::CString;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use super::result::{FfiError, PimResult};

/// What a registered address stands for.
enum Held {
    Object(Arc<dyn Any + Send + Sync>),
    String(CString),
}

/// A BTreeMap rather than a HashMap: its nodes are found through pointers to their start, so
/// valgrind does not mistake the live registry for "possibly lost" memory at exit.
/// Address -> (the allocation that gives the handle its unique address, its kind's name, what it holds).
type Registry = BTreeMap<usize, (Box<u64>, &'static str, Held)>;

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(|| Mutex::new(BTreeMap::new()));

fn registry() -> MutexGuard<'static, Registry> {
    // A panic while the lock was held cannot leave the map half-updated (inserts and removes are
    // single calls), so a poisoned lock is still safe to use.
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Registers an object of kind `kind` ("client", "operation", "error") and returns the address
/// C will hold.
pub(crate) fn register<T: Any + Send + Sync>(kind: &'static str, object: Arc<T>) -> usize {
    let anchor = Box::new(0u64);
    let addr = &*anchor as *const u64 as usize;
    registry().insert(addr, (anchor, kind, Held::Object(object)));
    addr
}

/// Registers a string; its address is its own first byte.
pub(crate) fn register_string(s: CString) -> usize {
    let addr = s.as_ptr() as usize;
    registry().insert(addr, (Box::new(0), "string", Held::String(s)));
    addr
}

/// Looks an object up by address; `what` names the parameter in errors.
pub(crate) fn lookup<T: Any + Send + Sync>(addr: usize, what: &str) -> Result<Arc<T>, FfiError> {
    if addr == 0 {
        return Err(FfiError::new(PimResult::NullParameter, format!("The {what} handle is NULL.")));
    }
    let reg = registry();
    let Some((_, kind, held)) = reg.get(&addr) else {
        return Err(FfiError::new(
            PimResult::InvalidHandle,
            format!("The {what} handle is not a live PimBridge handle (already freed, or not ours)."),
        ));
    };
    let object = match held {
        Held::Object(o) => o.clone().downcast::<T>().ok(),
        Held::String(_) => None,
    };
    object.ok_or_else(|| {
        FfiError::new(PimResult::InvalidHandle, format!("The handle passed as {what} is a {kind} handle."))
    })
}

/// Removes an object of type `T`; `None` if the address does not hold one (NULL, freed, foreign,
/// or another kind, which stays registered).
pub(crate) fn unregister<T: Any + Send + Sync>(addr: usize) -> Option<Arc<T>> {
    let mut reg = registry();
    if !matches!(reg.get(&addr), Some((_, _, Held::Object(o))) if o.is::<T>()) {
        return None;
    }
    match reg.remove(&addr) {
        Some((_, _, Held::Object(o))) => o.downcast::<T>().ok(),
        _ => None,
    }
}

/// Removes a string; `None` if the address is not a live string of ours.
pub(crate) fn unregister_string(addr: usize) -> Option<CString> {
    let mut reg = registry();
    if !matches!(reg.get(&addr), Some((_, _, Held::String(_)))) {
        return None;
    }
    match reg.remove(&addr) {
        Some((_, _, Held::String(s))) => Some(s),
        _ => None,
    }
}

//! The registry that owns every object handed to C (client, operation, error, policy, log) and
//! every string.
//!
//! An object's handle is not an address: it is a number that encodes a slot index, the slot's
//! generation and the object's kind (`generation << 32 | index << 4 | kind` on 64-bit targets).
//! Nothing is ever dereferenced from it: it is decoded and looked up. A slot's generation goes up
//! each time the slot is freed, and a slot whose generation is used up is retired, never reused, so
//! no handle value is ever handed out twice in a process: a stale, double or foreign free, cancel or
//! use is always refused (`PIM_RESULT_INVALID_HANDLE`), however the allocator reuses memory.
//!
//! A string handed out must be real memory C can read, so its handle is its address. Addresses the
//! allocator hands out again are the problem, so the registry remembers every address of a string
//! it has freed (a few bytes each) and never hands out a string at one of them again: a new string
//! that lands on a retired address is copied elsewhere first. A stale or double `pim_string_free`
//! is therefore never the free of a live string.
//!
//! The registry knows no object type: each C object's file registers and looks up its own.

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ffi::CString;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use super::result::{FfiError, PimResult};

/// The kinds of object C holds a handle to; the number is stored in the handle's low bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Client = 1,
    Operation = 2,
    Error = 3,
    Policy = 4,
    Log = 5,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Client => "client",
            Kind::Operation => "operation",
            Kind::Error => "error",
            Kind::Policy => "policy",
            Kind::Log => "log",
        }
    }

    fn from_bits(bits: usize) -> Option<Kind> {
        match bits {
            1 => Some(Kind::Client),
            2 => Some(Kind::Operation),
            3 => Some(Kind::Error),
            4 => Some(Kind::Policy),
            5 => Some(Kind::Log),
            _ => None,
        }
    }
}

const KIND_BITS: u32 = 4;
/// Slots: 2^28 live handles at once on 64-bit targets (2^16 on 32-bit ones).
const INDEX_BITS: u32 = if usize::BITS >= 64 { 28 } else { 16 };
/// Generations per slot: 2^32 on 64-bit targets (2^12 on 32-bit ones), then the slot is retired.
const GENERATION_BITS: u32 = usize::BITS - INDEX_BITS - KIND_BITS;
const INDEX_LIMIT: usize = 1 << INDEX_BITS;
const GENERATION_LIMIT: u64 = 1 << GENERATION_BITS;

fn encode(index: usize, generation: u64, kind: Kind) -> usize {
    ((generation as usize) << (INDEX_BITS + KIND_BITS)) | (index << KIND_BITS) | kind as usize
}

fn decode(handle: usize) -> (usize, u64, Option<Kind>) {
    let kind = Kind::from_bits(handle & ((1 << KIND_BITS) - 1));
    let index = (handle >> KIND_BITS) & (INDEX_LIMIT - 1);
    let generation = (handle >> (INDEX_BITS + KIND_BITS)) as u64;
    (index, generation, kind)
}

/// One slot: its current generation, and what it holds while a handle to it is live.
struct Slot {
    generation: u64,
    held: Option<(Kind, Arc<dyn Any + Send + Sync>)>,
}

#[derive(Default)]
struct Registry {
    slots: Vec<Slot>,
    /// Free slots, oldest first (a freed slot waits its turn, with a new generation).
    free: VecDeque<usize>,
    /// Live strings by address.
    strings: BTreeMap<usize, CString>,
    /// Addresses of strings freed: never handed out again.
    retired_strings: BTreeSet<usize>,
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(|| Mutex::new(Registry::default()));

fn registry() -> MutexGuard<'static, Registry> {
    // A panic while the lock was held cannot leave the registry half-updated (every change is a
    // single assignment or call once its checks passed), so a poisoned lock is still safe to use.
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Registers an object of `kind` and returns the handle C will hold (never 0).
pub(crate) fn register<T: Any + Send + Sync>(kind: Kind, object: Arc<T>) -> Result<usize, FfiError> {
    let mut reg = registry();
    let index = match reg.free.pop_front() {
        Some(i) => i,
        None if reg.slots.len() < INDEX_LIMIT => {
            reg.slots.push(Slot { generation: 1, held: None });
            reg.slots.len() - 1
        }
        None => {
            return Err(FfiError::new(
                PimResult::Panic,
                "Too many live handles: free clients, operations and errors that are no longer used.",
            ));
        }
    };
    let slot = &mut reg.slots[index];
    slot.held = Some((kind, object));
    Ok(encode(index, slot.generation, kind))
}

/// What a handle value refers to, or why it is not a live handle of `kind`.
fn find<'a>(
    reg: &'a Registry,
    handle: usize,
    kind: Kind,
    what: &str,
) -> Result<&'a Arc<dyn Any + Send + Sync>, FfiError> {
    if handle == 0 {
        return Err(FfiError::new(PimResult::NullParameter, format!("The {what} handle is NULL.")));
    }
    let dead = || {
        FfiError::new(
            PimResult::InvalidHandle,
            format!("The {what} handle is not a live PimBridge handle (already freed, or not ours)."),
        )
    };
    let (index, generation, tagged) = decode(handle);
    let slot = reg.slots.get(index).filter(|s| s.generation == generation).ok_or_else(dead)?;
    let (held_kind, object) = slot.held.as_ref().ok_or_else(dead)?;
    if tagged != Some(*held_kind) {
        return Err(dead());
    }
    if *held_kind != kind {
        return Err(FfiError::new(
            PimResult::InvalidHandle,
            format!("The handle passed as {what} is a {} handle.", held_kind.name()),
        ));
    }
    Ok(object)
}

/// Looks an object up by handle; `what` names the parameter in errors.
pub(crate) fn lookup<T: Any + Send + Sync>(handle: usize, kind: Kind, what: &str) -> Result<Arc<T>, FfiError> {
    let reg = registry();
    let object = find(&reg, handle, kind, what)?.clone();
    drop(reg);
    object
        .downcast::<T>()
        .map_err(|_| FfiError::new(PimResult::InvalidHandle, format!("The {what} handle holds another type.")))
}

/// Removes an object of `kind`; `None` if the handle is not a live one of that kind (NULL, freed,
/// foreign, or another kind, which stays registered). The slot's generation moves on, so the
/// handle is dead for good.
pub(crate) fn unregister<T: Any + Send + Sync>(handle: usize, kind: Kind) -> Option<Arc<T>> {
    let mut reg = registry();
    if !find(&reg, handle, kind, kind.name()).is_ok_and(|o| o.is::<T>()) {
        return None;
    }
    let (index, _, _) = decode(handle);
    let slot = &mut reg.slots[index];
    let (_, object) = slot.held.take()?;
    slot.generation += 1;
    if slot.generation < GENERATION_LIMIT {
        reg.free.push_back(index);
    }
    drop(reg);
    object.downcast::<T>().ok()
}

/// Registers a string and returns its address, which C reads it at. The address is never one of a
/// string freed before.
pub(crate) fn register_string(s: CString) -> usize {
    let mut reg = registry();
    let mut s = s;
    // Copies that landed on a retired address are held until a fresh one is found, so the
    // allocator cannot hand the same address back at once; they are freed afterwards.
    let mut held = Vec::new();
    while reg.retired_strings.contains(&(s.as_ptr() as usize)) {
        let copy = CString::from(s.as_c_str());
        held.push(std::mem::replace(&mut s, copy));
    }
    let addr = s.as_ptr() as usize;
    reg.strings.insert(addr, s);
    drop(reg);
    drop(held);
    addr
}

/// Removes a string; `None` if the address is not a live string of ours (NULL, freed, foreign).
pub(crate) fn unregister_string(addr: usize) -> Option<CString> {
    let mut reg = registry();
    let s = reg.strings.remove(&addr)?;
    reg.retired_strings.insert(addr);
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_encode_index_generation_and_kind() {
        for (index, generation, kind) in
            [(0, 1, Kind::Client), (12345, 7, Kind::Error), (INDEX_LIMIT - 1, 3, Kind::Operation)]
        {
            let h = encode(index, generation, kind);
            assert_ne!(h, 0);
            assert_eq!(decode(h), (index, generation, Some(kind)));
        }
    }

    #[test]
    fn a_freed_handle_stays_dead_when_its_slot_is_reused() {
        let first = register(Kind::Operation, Arc::new(1u32)).unwrap();
        assert!(unregister::<u32>(first, Kind::Operation).is_some());
        let mut later = Vec::new();
        for _ in 0..100 {
            let h = register(Kind::Operation, Arc::new(2u32)).unwrap();
            assert_ne!(h, first, "a handle value is never handed out twice");
            later.push(h);
        }
        assert!(unregister::<u32>(first, Kind::Operation).is_none(), "a double free is refused");
        assert_eq!(lookup::<u32>(first, Kind::Operation, "op").unwrap_err().result, PimResult::InvalidHandle);
        for h in later {
            assert_eq!(*lookup::<u32>(h, Kind::Operation, "op").unwrap(), 2, "the live ones are untouched");
            assert!(unregister::<u32>(h, Kind::Operation).is_some());
        }
    }

    #[test]
    fn a_string_address_is_never_handed_out_twice() {
        let mut seen = BTreeSet::new();
        for i in 0..2000 {
            let addr = register_string(CString::new(format!("s{i}")).unwrap());
            assert!(seen.insert(addr), "address handed out again");
            assert!(unregister_string(addr).is_some());
            assert!(unregister_string(addr).is_none());
        }
    }
}

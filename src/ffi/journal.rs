//! The `pim_log` object (the decision log, open for appending) and the exports that read a log by
//! its path: its lines, its decisions, the check of its chain, and where it is.

use std::ffi::c_char;
use std::path::PathBuf;
use std::sync::Arc;

use super::error::{ffi_call, pim_error};
use super::out::{check_out, write_out};
use super::panic::ffi_value;
use super::registry::{Kind, lookup, register, unregister};
use super::result::{FfiError, PimResult};
use super::strings::{ffi_json, read_opt_str, read_str};
use crate::journal::{self, DecisionLog, Event, Filter};

/// A decision log, open for appending. Appends from many threads (and processes) at once take
/// turns under a file lock. Opaque.
pub struct pim_log {
    _private: [u8; 0],
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, FfiError> {
    serde_json::to_string(value).map_err(|e| FfiError::new(PimResult::InvalidInput, e.to_string()))
}

/// Where the decision log is, or that it is off: the one place that decides it.
///
/// `explicit_path` may be NULL or empty (not given); otherwise it wins (the module's
/// `-LogPath`). Then the environment variable `PIMBRIDGE_DECISION_LOG`, then the user's data
/// folder (`%LOCALAPPDATA%\PimBridge\decisions.jsonl`; `~/Library/Application
/// Support/PimBridge/decisions.jsonl`; `$XDG_DATA_HOME` or `~/.local/share`, then
/// `PimBridge/decisions.jsonl`). `off`, in any case, switches the log off. A path must be
/// absolute (`PIM_RESULT_INVALID_INPUT` otherwise).
///
/// On success `*json_out` receives `{"path": "<absolute path>" | null, "source": "parameter" |
/// "environment" | "default", "enabled": true | false}`, to free with `pim_string_free`.
///
/// # Safety
/// `explicit_path` NULL or a NUL-terminated string valid for this call; `json_out` must be
/// writable; `err_out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pim_log_resolve_path(
    explicit_path: *const c_char,
    json_out: *mut *mut c_char,
    err_out: *mut *mut pim_error,
) -> PimResult {
    // SAFETY: the caller's contract covers every pointer used inside.
    unsafe {
        ffi_json(json_out, err_out, || {
            let explicit = read_opt_str(explicit_path, "explicit_path")?;
            to_json(&journal::resolve_path(explicit.as_deref())?)
        })
    }
}

/// Opens the decision log at `path` (required, absolute) for appending, making its folder and
/// the file when missing. A folder, a read-only file or a place that cannot be written gives
/// `PIM_RESULT_LOG_WRITE_FAILED` at once, before anything is decided.
///
/// On success `*log_out` receives a log to free with `pim_log_free`.
///
/// # Safety
/// `path` a NUL-terminated string valid for this call; `log_out` must be writable; `err_out`
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pim_log_open(
    path: *const c_char,
    log_out: *mut *mut pim_log,
    err_out: *mut *mut pim_error,
) -> PimResult {
    // SAFETY: the caller's contract covers every pointer used inside.
    unsafe {
        ffi_call(err_out, || {
            check_out(log_out, "log_out")?;
            let path = read_str(path, "path")?;
            let log = DecisionLog::open(PathBuf::from(path))?;
            write_out(log_out, register(Kind::Log, Arc::new(log))? as *mut pim_log);
            Ok(())
        })
    }
}

/// Appends one event to the log: takes the file lock, chains to the last line, writes the line
/// whole and syncs it. Call it with an `intent` before a decision is sent, and never send when it
/// fails; with the `outcome` after.
///
/// `event_json` (required): `{"kind": "intent" | "outcome", "surface", "approvalId", "action":
/// "Approve" | "Deny", "tenant", "actor", "principal", "principalId", "role", "scope",
/// "justification", "rule", "result" (outcome only: "Approved" | "Denied" | "Failed" |
/// "Unknown"), "error" (outcome only: the error's kind), "requestId" (the service's request-id)}`;
/// `kind`, `surface`, `approvalId` and `action` are required, unknown keys and anything shaped
/// like an access token are refused (`PIM_RESULT_INVALID_INPUT`). The log adds `seq`, `time` and
/// `prev`.
///
/// On success `*json_out` receives the line as written, to free with `pim_string_free`. Fails
/// with `PIM_RESULT_LOG_WRITE_FAILED` (not written; locked by another process for more than 10
/// seconds, read-only, disk full) or `PIM_RESULT_LOG_TAMPERED` (the log ends in a torn or foreign
/// line; nothing is appended after it).
///
/// # Safety
/// `event_json` a NUL-terminated string valid for this call; `json_out` must be writable;
/// `err_out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pim_log_append(
    log: *const pim_log,
    event_json: *const c_char,
    json_out: *mut *mut c_char,
    err_out: *mut *mut pim_error,
) -> PimResult {
    // SAFETY: the caller's contract covers every pointer used inside.
    unsafe {
        ffi_json(json_out, err_out, || {
            let log: Arc<DecisionLog> = lookup(log as usize, Kind::Log, "log")?;
            let event = Event::from_json(&read_str(event_json, "event_json")?)?;
            to_json(&log.append(&event)?)
        })
    }
}

/// Appends several events to the log, in order, as [`pim_log_append`] appends one, but under
/// one lock and with one sync: every event is written or none is. For a group of decisions sent
/// together: their intents in one call before the group is sent, their outcomes in one after.
///
/// `events_json` (required): a non-empty JSON array of events as `pim_log_append` takes them.
/// One that is not an event refuses them all (`PIM_RESULT_INVALID_INPUT`, nothing written).
///
/// On success `*json_out` receives the lines as written, as a JSON array, to free with
/// `pim_string_free`. Fails as `pim_log_append`, and then nothing was written.
///
/// # Safety
/// `events_json` a NUL-terminated string valid for this call; `json_out` must be writable;
/// `err_out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pim_log_append_many(
    log: *const pim_log,
    events_json: *const c_char,
    json_out: *mut *mut c_char,
    err_out: *mut *mut pim_error,
) -> PimResult {
    // SAFETY: the caller's contract covers every pointer used inside.
    unsafe {
        ffi_json(json_out, err_out, || {
            let log: Arc<DecisionLog> = lookup(log as usize, Kind::Log, "log")?;
            let events = Event::many_from_json(&read_str(events_json, "events_json")?)?;
            to_json(&log.append_many(&events)?)
        })
    }
}

/// Frees a log handle (the file is not held open between appends). A no-op on NULL or on a
/// handle that is not a live log.
#[unsafe(no_mangle)]
pub extern "C" fn pim_log_free(log: *mut pim_log) {
    ffi_value((), || {
        drop(unregister::<DecisionLog>(log as usize, Kind::Log));
    })
}

/// Reads the log's lines, as a JSON array of `{line, seq, time, kind, tenant, actor, surface,
/// approvalId, action, principal, principalId, role, scope, result, error, justification, rule,
/// requestId, prev}` (`line` is its number in the file), to free with `pim_string_free`. Lines
/// that are not log lines are passed over: `pim_log_verify` says what is wrong.
///
/// `filter_json` may be NULL or `{"from", "to" (RFC 3339; from included, to not), "approvalId",
/// "result", "rule"}`, each optional. A missing or unreadable log gives
/// `PIM_RESULT_LOG_READ_FAILED`.
///
/// # Safety
/// `path` a NUL-terminated string and `filter_json` NULL or one, valid for this call; `json_out`
/// must be writable; `err_out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pim_log_read(
    path: *const c_char,
    filter_json: *const c_char,
    json_out: *mut *mut c_char,
    err_out: *mut *mut pim_error,
) -> PimResult {
    // SAFETY: the caller's contract covers every pointer used inside.
    unsafe {
        ffi_json(json_out, err_out, || {
            let path = PathBuf::from(read_str(path, "path")?);
            let filter = Filter::from_json(read_opt_str(filter_json, "filter_json")?.as_deref())?;
            to_json(&journal::read(&path, &filter)?)
        })
    }
}

/// Reads the log's decisions: each intent paired with its outcome, as a JSON array of
/// `{approvalId, surface, action, tenant, actor, principal, principalId, role, scope,
/// justification, rule, result, error, requestId, intentTime, outcomeTime, intentLine,
/// outcomeLine}`, to free with `pim_string_free`. An intent with no outcome has `result`
/// `"Unknown"`: it may have been sent. Filters (as `pim_log_read`) apply to the decision: its
/// intent's time, its result.
///
/// # Safety
/// As `pim_log_read`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pim_log_decisions(
    path: *const c_char,
    filter_json: *const c_char,
    json_out: *mut *mut c_char,
    err_out: *mut *mut pim_error,
) -> PimResult {
    // SAFETY: the caller's contract covers every pointer used inside.
    unsafe {
        ffi_json(json_out, err_out, || {
            let path = PathBuf::from(read_str(path, "path")?);
            let filter = Filter::from_json(read_opt_str(filter_json, "filter_json")?.as_deref())?;
            to_json(&journal::decisions(&path, &filter)?)
        })
    }
}

/// Checks the log's hash chain. On success `*json_out` receives `{path, isValid, lines,
/// firstBrokenLine, reason: "altered" | "torn" | "deleted or reordered" | "not JSON" | null,
/// detail, lastHash}`, to free with `pim_string_free`: a broken chain is an answer, not an error.
/// A missing or unreadable log gives `PIM_RESULT_LOG_READ_FAILED`.
///
/// # Safety
/// `path` a NUL-terminated string valid for this call; `json_out` must be writable; `err_out`
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pim_log_verify(
    path: *const c_char,
    json_out: *mut *mut c_char,
    err_out: *mut *mut pim_error,
) -> PimResult {
    // SAFETY: the caller's contract covers every pointer used inside.
    unsafe {
        ffi_json(json_out, err_out, || {
            let path = PathBuf::from(read_str(path, "path")?);
            to_json(&journal::verify(&path)?)
        })
    }
}

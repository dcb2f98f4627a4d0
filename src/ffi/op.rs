//! The `pim_op` object: one running or finished list, approve or deny operation. Its work runs on
//! the client's runtime; C polls it in short slices, takes results as they arrive, reads its
//! progress and outcome, and may cancel it.

use std::ffi::c_char;
use std::future::Future;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use super::error::{ffi_call, pim_error};
use super::out::{check_out, write_out};
use super::panic::ffi_value;
use super::registry::{Kind, lookup, register, unregister};
use super::result::{FfiError, PimResult};
use super::strings::{ffi_json, read_str};
use crate::http::trace::{DEFAULT_TRACE_CAPACITY, Trace, TraceLevel};
use crate::model::DecisionRequest;

/// One running or finished list, approve or deny operation. Opaque.
pub struct pim_op {
    _private: [u8; 0],
}

/// What an operation has produced so far.
#[derive(Default)]
struct OpState {
    /// Results not yet taken by `pim_op_take_results`.
    results: Vec<Value>,
    done: u64,
    total: u64,
    /// `Some` once finished.
    outcome: Option<Result<(), FfiError>>,
}

/// Where a stream operation's input stands.
enum Input {
    /// Not a stream: its requests were all given when it started.
    None,
    /// Open: each push is one message to the running decisions.
    Open(UnboundedSender<Vec<DecisionRequest>>),
    /// Closed by `pim_op_close_input`.
    Closed,
}

/// An operation, shared by its task and by C's handle.
pub(crate) struct OpShared {
    state: Mutex<OpState>,
    finished: Condvar,
    pub(crate) cancel: CancellationToken,
    /// What it did on the wire, when its client asked for a trace (`pim_client_with_trace`).
    trace: Option<Arc<Trace>>,
    input: Mutex<Input>,
}

impl OpShared {
    fn state(&self) -> MutexGuard<'_, OpState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds results; each counts as one item done.
    pub(crate) fn push(&self, items: impl IntoIterator<Item = Value>) {
        let mut st = self.state();
        for v in items {
            st.results.push(v);
            st.done += 1;
        }
    }

    fn input(&self) -> MutexGuard<'_, Input> {
        self.input.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the total once it is known.
    pub(crate) fn set_total(&self, total: u64) {
        self.state().total = total;
    }

    fn finish(&self, outcome: Result<(), FfiError>) {
        let mut st = self.state();
        if st.outcome.is_none() {
            st.outcome = Some(outcome);
        }
        self.finished.notify_all();
    }
}

/// Marks the operation finished even if its task is dropped (client freed, runtime shut down).
struct FinishGuard(Arc<OpShared>);

impl Drop for FinishGuard {
    fn drop(&mut self) {
        self.0.finish(Err(FfiError::new(
            PimResult::Cancelled,
            "The operation was stopped before it finished (cancelled, or its client was freed).",
        )));
    }
}

/// Starts `work` on `runtime` and returns the operation handle for C. `total` is the number of
/// items, when known up front (0 otherwise). With a `trace` level, the work runs with a trace of
/// its own, which `pim_op_take_trace` drains.
pub(crate) fn start_op<F>(
    runtime: &tokio::runtime::Runtime,
    total: u64,
    trace: Option<TraceLevel>,
    work: impl FnOnce(Arc<OpShared>) -> F,
) -> Result<*mut pim_op, FfiError>
where
    F: Future<Output = Result<(), FfiError>> + Send + 'static,
{
    start_op_with(runtime, total, trace, Input::None, work)
}

/// Like [`start_op`], for an operation whose requests are pushed while it runs
/// (`pim_op_push`) into `input`, until `pim_op_close_input`.
pub(crate) fn start_stream_op<F>(
    runtime: &tokio::runtime::Runtime,
    trace: Option<TraceLevel>,
    input: UnboundedSender<Vec<DecisionRequest>>,
    work: impl FnOnce(Arc<OpShared>) -> F,
) -> Result<*mut pim_op, FfiError>
where
    F: Future<Output = Result<(), FfiError>> + Send + 'static,
{
    start_op_with(runtime, 0, trace, Input::Open(input), work)
}

fn start_op_with<F>(
    runtime: &tokio::runtime::Runtime,
    total: u64,
    trace: Option<TraceLevel>,
    input: Input,
    work: impl FnOnce(Arc<OpShared>) -> F,
) -> Result<*mut pim_op, FfiError>
where
    F: Future<Output = Result<(), FfiError>> + Send + 'static,
{
    let trace = trace.map(|level| Trace::new(level, DEFAULT_TRACE_CAPACITY));
    let shared = Arc::new(OpShared {
        state: Mutex::new(OpState { total, ..OpState::default() }),
        finished: Condvar::new(),
        cancel: CancellationToken::new(),
        trace: trace.clone(),
        input: Mutex::new(input),
    });
    let handle = register(Kind::Operation, shared.clone())?;
    let fut = work(shared.clone());
    let guard = FinishGuard(shared);
    runtime.spawn(async move {
        let outcome = match trace {
            Some(trace) => trace.scope(fut).await,
            None => fut.await,
        };
        guard.0.finish(outcome);
        drop(guard);
    });
    Ok(handle as *mut pim_op)
}

fn op_of(op: *const pim_op) -> Result<Arc<OpShared>, FfiError> {
    lookup(op as usize, Kind::Operation, "operation")
}

/// Waits up to `timeout_ms` for the operation to finish. Returns `PIM_RESULT_OK` once it has
/// finished (successfully or not: see `pim_op_error`), `PIM_RESULT_PENDING` if it is still
/// running. Wait in short slices to stay responsive to Ctrl+C.
#[unsafe(no_mangle)]
pub extern "C" fn pim_op_wait(op: *const pim_op, timeout_ms: u32) -> PimResult {
    ffi_value(PimResult::Panic, || {
        let op = match op_of(op) {
            Ok(o) => o,
            Err(e) => return e.result,
        };
        let st = op.state();
        let (st, _) = op
            .finished
            .wait_timeout_while(st, Duration::from_millis(u64::from(timeout_ms)), |s| s.outcome.is_none())
            .unwrap_or_else(|e| e.into_inner());
        if st.outcome.is_some() { PimResult::Ok } else { PimResult::Pending }
    })
}

/// Reads progress: items done so far and the total (0 while unknown).
///
/// # Safety
/// `done_out` and `total_out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pim_op_progress(op: *const pim_op, done_out: *mut u64, total_out: *mut u64) -> PimResult {
    // SAFETY: the caller's contract covers every pointer used inside.
    unsafe {
        ffi_call(std::ptr::null_mut(), || {
            check_out(done_out, "done_out")?;
            check_out(total_out, "total_out")?;
            let op = op_of(op)?;
            let st = op.state();
            write_out(done_out, st.done);
            write_out(total_out, st.total);
            Ok(())
        })
    }
}

/// Takes the results produced since the last call, as a JSON array (possibly `[]`). On success
/// `*json_out` receives a string to free with `pim_string_free`.
///
/// # Safety
/// `json_out` must be writable; `err_out` as everywhere.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pim_op_take_results(
    op: *const pim_op,
    json_out: *mut *mut c_char,
    err_out: *mut *mut pim_error,
) -> PimResult {
    // SAFETY: the caller's contract covers every pointer used inside.
    unsafe {
        ffi_json(json_out, err_out, || {
            let taken = std::mem::take(&mut op_of(op)?.state().results);
            serde_json::to_string(&taken).map_err(|e| FfiError::new(PimResult::InvalidResponse, e.to_string()))
        })
    }
}

/// Takes what the operation did on the wire since the last call, as one JSON object:
/// `{"dropped": N, "events": [...]}`. `dropped` counts the events lost because the operation's
/// queue (1000 events) was full; the oldest go first. Each event has a `kind`:
/// - `"call"`: one HTTP call: `atMs` (since the operation started), `method`, `route` (path and
///   query; query values that may be opaque tokens, such as `$skiptoken`, are written `***`),
///   `status` (null when no answer came), `ms` (elapsed), `requestId` and `clientRequestId` (the
///   service's, or null), `error` (the error kind when no answer came, else null), and at trace
///   level 3 `requestHeaders` and `responseHeaders` as `[name, value]` pairs.
/// - `"batchItem"`: one request inside a `$batch` and its answer: `atMs`, `id`, `method`, `route`
///   (relative to the batch's version), `status`, `requestId`, `retryAfterMs`, and at level 3
///   `responseHeaders`.
/// - `"wait"`: a wait before trying again: `atMs`, `ms`, `reason` (`"throttled"`, `"serviceError"`,
///   `"network"`, `"staleRead"`, `"notReplicated"` or `"unsettled"`), `retryAfterMs` (the
///   service's `Retry-After` for a throttle, else null), and for a round of many requests
///   `waiting`, `[reason, count]` pairs.
///
/// The `Authorization` header's value, cookies and the token never appear: redacted headers read
/// `<redacted>`. An operation started on a client without a trace gives `{"dropped": 0,
/// "events": []}`. Text in events comes from the service: treat it as untrusted.
///
/// On success `*json_out` receives a string to free with `pim_string_free`. Thread-safe; events
/// are taken once, by whichever caller takes them first.
///
/// # Safety
/// `json_out` must be writable; `err_out` as everywhere.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pim_op_take_trace(
    op: *const pim_op,
    json_out: *mut *mut c_char,
    err_out: *mut *mut pim_error,
) -> PimResult {
    // SAFETY: the caller's contract covers every pointer used inside.
    unsafe {
        ffi_json(json_out, err_out, || {
            let taken = op_of(op)?.trace.as_ref().map(|t| t.take()).unwrap_or_default();
            serde_json::to_string(&taken).map_err(|e| FfiError::new(PimResult::InvalidResponse, e.to_string()))
        })
    }
}

/// The operation's own outcome: `PIM_RESULT_PENDING` while it runs, `PIM_RESULT_OK` if it
/// finished successfully (per-request failures of approve/deny are in the results, not here),
/// otherwise the code of the error that ended it, with the error in `*err_out` when not NULL.
///
/// # Safety
/// `err_out` as everywhere.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pim_op_error(op: *const pim_op, err_out: *mut *mut pim_error) -> PimResult {
    // SAFETY: the caller's contract covers every pointer used inside.
    unsafe {
        let mut pending = false;
        let rc = ffi_call(err_out, || {
            let op = op_of(op)?;
            let st = op.state();
            match &st.outcome {
                None => {
                    pending = true;
                    Ok(())
                }
                Some(Ok(())) => Ok(()),
                Some(Err(e)) => Err(e.clone()),
            }
        });
        if pending { PimResult::Pending } else { rc }
    }
}

/// The requests of a decision operation, as `pim_approve`, `pim_deny` and `pim_op_push` read
/// them: a JSON array of `{"approvalId": "..."}` objects, copied.
///
/// # Safety
/// `requests_json` is NULL or a NUL-terminated string.
pub(super) unsafe fn read_requests(requests_json: *const c_char) -> Result<Vec<DecisionRequest>, FfiError> {
    // SAFETY: forwarded contract.
    let json = unsafe { read_str(requests_json, "requests_json")? };
    DecisionRequest::list_from_json(&json).map_err(|e| {
        FfiError::new(
            PimResult::InvalidInput,
            format!("requests_json must be a JSON array of {{\"approvalId\": \"...\"}} objects: {e}."),
        )
    })
}

/// Pushes more requests into a stream operation (`pim_approve_stream`, `pim_deny_stream`).
///
/// `requests_json` is a JSON array as `pim_approve` takes (`[]` is allowed and does nothing); it
/// is copied, never retained. The array is taken whole or not at all. Its requests are indexed
/// after every request pushed before (the first push's start at 0), and their results come back
/// through `pim_op_take_results` as they are known; the progress total grows by the array's length.
/// A request named again, in this push or an earlier one, is `Duplicate`.
///
/// Returns `PIM_RESULT_INPUT_CLOSED` after `pim_op_close_input`, after `pim_op_cancel`, or once
/// the operation has finished; `PIM_RESULT_NOT_A_STREAM` for an operation that takes no pushes
/// (`pim_approve`, `pim_deny`, `pim_list_pending`); `PIM_RESULT_INVALID_INPUT` for JSON that is not
/// such an array. Nothing of a refused push is decided.
///
/// Thread safety: pushes from several threads are each taken whole, in the order they acquire
/// the operation; push and close may race, and a push that loses is refused as closed.
///
/// # Safety
/// `requests_json` is a NUL-terminated string; `err_out` as everywhere.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pim_op_push(
    op: *const pim_op,
    requests_json: *const c_char,
    err_out: *mut *mut pim_error,
) -> PimResult {
    // SAFETY: the caller's contract covers every pointer used inside.
    unsafe {
        ffi_call(err_out, || {
            let op = op_of(op)?;
            let requests = read_requests(requests_json)?;
            let input = op.input();
            let closed = || {
                FfiError::new(PimResult::InputClosed, "This operation's input is closed: it takes no more requests.")
            };
            match &*input {
                Input::None => Err(FfiError::new(
                    PimResult::NotAStream,
                    "This operation takes no pushes: start one with pim_approve_stream or pim_deny_stream.",
                )),
                Input::Closed => Err(closed()),
                Input::Open(sender) => {
                    let n = requests.len() as u64;
                    if n == 0 {
                        return if sender.is_closed() { Err(closed()) } else { Ok(()) };
                    }
                    // Counted before the send, under the input lock, so that the total is never
                    // below what is done.
                    op.state().total += n;
                    sender.send(requests).map_err(|_| {
                        op.state().total -= n;
                        closed()
                    })
                }
            }
        })
    }
}

/// Closes a stream operation's input: no more pushes. The requests pushed are still decided and
/// reported; the operation finishes once every one is. Closing twice is fine;
/// `PIM_RESULT_NOT_A_STREAM` for an operation that takes no pushes. Thread safety: as `pim_op_push`.
#[unsafe(no_mangle)]
pub extern "C" fn pim_op_close_input(op: *const pim_op) -> PimResult {
    ffi_value(PimResult::Panic, || {
        let op = match op_of(op) {
            Ok(o) => o,
            Err(e) => return e.result,
        };
        let mut input = op.input();
        match &*input {
            Input::None => PimResult::NotAStream,
            _ => {
                // Dropping the sender is what the running decisions see as the close.
                *input = Input::Closed;
                PimResult::Ok
            }
        }
    })
}

/// Asks the operation to stop. No decision is sent after this returns; decisions already on the
/// wire are waited for a short grace (`cancelGraceMs`), and the approvals of those still
/// unanswered after it are read once more (within `cancelReadMs`, past the cancel), so that the
/// results say what happened to each request: applied (the read shows this operation's decision),
/// not sent (`Cancelled`), `AlreadyDecided` (the read shows another), or `Unknown` (it cannot be
/// told). Keep taking results until `pim_op_wait` says it finished. Cancelling twice, or a
/// finished operation, is fine.
#[unsafe(no_mangle)]
pub extern "C" fn pim_op_cancel(op: *const pim_op) -> PimResult {
    ffi_value(PimResult::Panic, || match op_of(op) {
        Ok(o) => {
            o.cancel.cancel();
            PimResult::Ok
        }
        Err(e) => e.result,
    })
}

/// Frees an operation, cancelling it if it is still running. A no-op on NULL or on a handle
/// that is not a live operation.
#[unsafe(no_mangle)]
pub extern "C" fn pim_op_free(op: *mut pim_op) {
    ffi_value((), || {
        if let Some(o) = unregister::<OpShared>(op as usize, Kind::Operation) {
            o.cancel.cancel();
            if !matches!(*o.input(), Input::None) {
                *o.input() = Input::Closed;
            }
        }
    })
}

//! The `pim_client` object (configuration, HTTP connection pool and its own async runtime), and
//! the operations started on it: list, approve and deny (all at once, or streamed). Each returns an
//! operation at once.

use std::ffi::c_char;
use std::sync::Arc;

use serde_json::Value;

use super::error::{ffi_call, pim_error};
use super::op::{pim_op, read_requests, start_op, start_stream_op};
use super::out::{check_out, write_out};
use super::panic::ffi_value;
use super::registry::{Kind, lookup, register, unregister};
use super::result::{FfiError, PimResult};
use super::strings::{read_opt_str, read_opt_token, read_str};
use crate::client::{ClientOptions, ListOptions, PimClient, Tokens};
use crate::http::trace::TraceLevel;
use crate::model::{DecisionOutcome, ListError, PendingRequest, Review};
use crate::validate::Justification;

/// A client: configuration, HTTP connection pool and its own async runtime. Opaque.
pub struct pim_client {
    _private: [u8; 0],
}

struct ClientHandle {
    runtime: Arc<tokio::runtime::Runtime>,
    core: Arc<PimClient>,
    /// The trace each operation started on this handle records (`pim_client_with_trace`).
    trace: Option<TraceLevel>,
}

fn client_of(p: *const pim_client) -> Result<Arc<ClientHandle>, FfiError> {
    lookup(p as usize, Kind::Client, "client")
}

/// The body every export that starts an operation shares: checks `op_out`, looks the client up,
/// and hands C the operation `start` started on it.
///
/// # Safety
/// `op_out` and `err_out` are NULL or writable; `start` keeps the caller's contract for any
/// pointer it reads.
unsafe fn start_on(
    client: *const pim_client,
    op_out: *mut *mut pim_op,
    err_out: *mut *mut pim_error,
    start: impl FnOnce(&ClientHandle) -> Result<*mut pim_op, FfiError>,
) -> PimResult {
    // SAFETY: forwarded contract.
    unsafe {
        ffi_call(err_out, || {
            check_out(op_out, "op_out")?;
            let client = client_of(client)?;
            write_out(op_out, start(&client)?);
            Ok(())
        })
    }
}

/// Creates a client.
///
/// `options_json` may be NULL (all defaults) or a JSON object with any of: `graphUri` (default
/// `https://graph.microsoft.com`), `armUri` (default `https://management.azure.com`; plain http
/// only to loopback for either), `timeoutMs` (100000),
/// `connectTimeoutMs` (30000), `maxConcurrency` (32: the most batches or Azure requests in flight;
/// a run starts with 8 and adds one per unit answered without a 429 or 503, halving on one, never
/// below 8), `lingerMs` (25, at most 10000: how long a batch of a stream operation that is not
/// full waits for more requests, from its first: see `pim_approve_stream`),
/// `maxResponseBytes` (8388608: a larger
/// answer is cut and fails), `maxPages` (1000, per listing), `retry` (`{maxAttempts` (9),
/// `baseDelayMs` (200), `maxDelayMs` (30000), `budgetMs` (60000: one budget for a whole
/// operation), `minDelayMs` (200: the floor under every wait, `Retry-After: 0` included; at least
/// 10), `attemptCap` (50: attempts in all, whatever `Retry-After` says), `staleReadDelayMs`
/// (1000), `notFoundWaitMs` (120000: how long a 404 is read again, within the budget),
/// `cancelGraceMs` (5000: how long decisions on the wire are waited for after a cancel),
/// `cancelReadMs` (5000: after the grace, how long the one read of the approvals whose decisions
/// are still unanswered may take; 0: no read)`}`).
/// A URI with a user name or password is refused with `PIM_RESULT_INSECURE_URI`. Unknown fields
/// are refused with `PIM_RESULT_INVALID_OPTIONS`.
///
/// On success `*client_out` receives a client to free with `pim_client_free`.
///
/// # Safety
/// Pointers are NULL or valid as described; `client_out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pim_client_new(
    options_json: *const c_char,
    client_out: *mut *mut pim_client,
    err_out: *mut *mut pim_error,
) -> PimResult {
    // SAFETY: the caller's contract covers every pointer used inside.
    unsafe {
        ffi_call(err_out, || {
            check_out(client_out, "client_out")?;
            let json = read_opt_str(options_json, "options_json")?;
            #[cfg(feature = "test-panic")]
            if json.as_deref() == Some("{\"testPanic\":true}") {
                panic!("forced by a test");
            }
            let core = PimClient::new(ClientOptions::from_json(json.as_deref())?)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("pim-bridge")
                .on_thread_start(block_sigpipe)
                .enable_all()
                .build()
                .map_err(|e| {
                    FfiError::new(PimResult::InvalidOptions, format!("Cannot start the async runtime: {e}."))
                })?;
            let handle = ClientHandle { runtime: Arc::new(runtime), core: Arc::new(core), trace: None };
            write_out(client_out, register(Kind::Client, Arc::new(handle))? as *mut pim_client);
            Ok(())
        })
    }
}

/// Keeps SIGPIPE away from the host, in the library's own threads only (the host's signal
/// disposition is never touched). Linux has no per-socket `SO_NOSIGPIPE`: Rust's `send` passes
/// `MSG_NOSIGNAL`, but the vectored writes (`writev`) that hyper and rustls use do not, and a
/// `writev` to a connection the server has closed raises SIGPIPE in the writing thread, whose
/// default action ends the whole process. Blocked in the runtime's threads, the signal stays
/// pending on a thread that never unblocks it, and the write fails with `EPIPE`, reported as a
/// lost connection. (On Apple platforms mio sets `SO_NOSIGPIPE` on every socket; Windows has no
/// SIGPIPE.)
fn block_sigpipe() {
    #[cfg(unix)]
    // SAFETY: a signal set on the stack, initialised by sigemptyset before use; pthread_sigmask
    // changes only the calling thread's mask, which is one of our runtime's threads.
    unsafe {
        let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
        libc::sigemptyset(set.as_mut_ptr());
        libc::sigaddset(set.as_mut_ptr(), libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_BLOCK, set.as_ptr(), std::ptr::null_mut());
    }
}

/// Frees a client. Operations still running on it stop and finish as cancelled. A no-op on NULL
/// or on a handle that is not a live client.
#[unsafe(no_mangle)]
pub extern "C" fn pim_client_free(client: *mut pim_client) {
    ffi_value((), || {
        let handle = unregister::<ClientHandle>(client as usize, Kind::Client);
        // Dropped here, on the caller's thread, outside the registry lock.
        drop(handle);
    })
}

/// No trace: operations record nothing (`pim_client_with_trace`).
pub const PIM_TRACE_OFF: u32 = 0;
/// Trace the waits before trying again, with their reason (what a progress bar shows).
pub const PIM_TRACE_WAITS: u32 = 1;
/// Trace the waits, and each HTTP call and batch item (what a verbose log shows).
pub const PIM_TRACE_CALLS: u32 = 2;
/// Trace all that, with the request and response headers (`Authorization` and cookies redacted).
pub const PIM_TRACE_HEADERS: u32 = 3;

/// Makes a second handle on the same client (the same runtime, connection pool and settings) whose
/// operations record a trace at `level`: `PIM_TRACE_OFF`, `PIM_TRACE_WAITS`, `PIM_TRACE_CALLS` or
/// `PIM_TRACE_HEADERS`; any other value is refused with `PIM_RESULT_INVALID_INPUT`. Take an
/// operation's trace with `pim_op_take_trace`. With `PIM_TRACE_OFF` operations cost nothing more
/// than on the client itself.
///
/// The level belongs to the new handle, never changes, and does not affect `client` or any other
/// handle: callers on several threads may each hold a handle at the level they want. On success
/// `*client_out` receives a handle to free with `pim_client_free`; the two handles may be freed in
/// any order (the runtime stops when the last is freed).
///
/// # Safety
/// `client_out` must be writable; `err_out` as everywhere.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pim_client_with_trace(
    client: *const pim_client,
    level: u32,
    client_out: *mut *mut pim_client,
    err_out: *mut *mut pim_error,
) -> PimResult {
    // SAFETY: the caller's contract covers every pointer used inside.
    unsafe {
        ffi_call(err_out, || {
            check_out(client_out, "client_out")?;
            let base = client_of(client)?;
            let trace = match level {
                PIM_TRACE_OFF => None,
                n => Some(TraceLevel::from_number(n).ok_or_else(|| {
                    FfiError::new(PimResult::InvalidInput, format!("{n} is no trace level (0 to 3)."))
                })?),
            };
            let handle = ClientHandle { runtime: base.runtime.clone(), core: base.core.clone(), trace };
            write_out(client_out, register(Kind::Client, Arc::new(handle))? as *mut pim_client);
            Ok(())
        })
    }
}

/// Starts listing every request of one surface waiting on the signed-in approver. Returns at once.
///
/// `token` is the bearer token for that surface (required): a Microsoft Graph token for
/// directory roles and groups, an Azure Resource Manager token for Azure resources.
/// `options_json` may be NULL (directory roles) or `{"surface": "DirectoryRole" | "Group" |
/// "AzureResource", "armScope": "/subscriptions/..." (Azure only; default the tenant root),
/// "pageSize": N, "includeStage": true}`.
/// `includeStage` (default false) reads, after each page, the approvals of its requests (Graph:
/// `$batch`es of twenty; ARM: one read each, a few at a time) and adds to each request `"stage":
/// "N of M"` (the approval stage that waits on the signed-in approver, the one a decision would
/// go to, of all its stages) and `"stageCount": M`. Both are absent when not asked, and for a
/// request whose approval could not be read or shows no stage open for the caller: that never
/// fails the listing, and a trace at level 2 or more says why (event `stageUnread`). Without
/// `includeStage` no approval is read.
/// On success `*op_out` receives an operation: poll it with `pim_op_wait`, take pending requests
/// (JSON objects) with `pim_op_take_results` as pages arrive, read the final outcome with
/// `pim_op_error`, and free it with `pim_op_free`. Each result is a pending request with
/// `"error": null`, or, for a listed item that could not be read (a field of the wrong type, a
/// date that is no date, a duration out of range, an approval id that is none), `{"surface",
/// "approvalId", "requestId", "error"}` (the ids as far as they could be read, either may be null;
/// `error` in the one error shape, kind `InvalidResponse`): one error for that item, and the
/// listing goes on. A next link already followed ends the listing with
/// `PIM_RESULT_PAGING_LOOP`, more than `maxPages` pages with `PIM_RESULT_TOO_MANY_PAGES`, an
/// answer over `maxResponseBytes` with `PIM_RESULT_RESPONSE_TOO_LARGE` (the items already read
/// stay in the results). `pim_op_progress` counts items listed; their total is 0 until the
/// operation finishes.
///
/// # Safety
/// Pointers are NULL or valid as described; `op_out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pim_list_pending(
    client: *const pim_client,
    token: *const c_char,
    options_json: *const c_char,
    op_out: *mut *mut pim_op,
    err_out: *mut *mut pim_error,
) -> PimResult {
    // SAFETY: the caller's contract covers every pointer used inside.
    unsafe {
        start_on(client, op_out, err_out, |client| {
            let token = read_opt_token(token, "token")?
                .ok_or_else(|| FfiError::new(PimResult::MissingToken, "No access token was given (token is NULL)."))?;
            let options = ListOptions::from_json(read_opt_str(options_json, "options_json")?.as_deref())?;
            let core = client.core.clone();
            start_op(&client.runtime, 0, client.trace, move |shared| async move {
                let listed = core
                    .list_pending_items(&token, &options, &shared.cancel.clone(), |page| {
                        shared.push(page.into_iter().filter_map(listed_json));
                    })
                    .await?;
                shared.set_total(listed as u64);
                Ok(())
            })
        })
    }
}

/// A listed item as C reads it: the request with `"error": null`, or, for an item that could not
/// be read, `{surface, approvalId, requestId, error}` with the error in the one error shape.
fn listed_json(item: std::result::Result<PendingRequest, ListError>) -> Option<Value> {
    match item {
        Ok(request) => {
            let mut v = serde_json::to_value(request).ok()?;
            v["error"] = Value::Null;
            Some(v)
        }
        Err(bad) => Some(serde_json::json!({
            "surface": bad.surface,
            "approvalId": bad.approval_id,
            "requestId": bad.request_id,
            "error": FfiError::from(bad.error),
        })),
    }
}

/// A decision's outcome as C reads it: the outcome, with its error in the one error shape.
fn outcome_json(mut outcome: DecisionOutcome) -> Option<Value> {
    let error = outcome.error.take().map(FfiError::from);
    let mut v = serde_json::to_value(&outcome).ok()?;
    v["error"] = serde_json::to_value(error).ok()?;
    Some(v)
}

/// The tokens of a decision operation: either may be NULL, not both.
///
/// # Safety
/// Each token is NULL or a NUL-terminated string.
unsafe fn decision_tokens(graph_token: *const c_char, arm_token: *const c_char) -> Result<Tokens, FfiError> {
    // SAFETY: forwarded contract.
    let tokens = unsafe {
        Tokens { graph: read_opt_token(graph_token, "graph_token")?, arm: read_opt_token(arm_token, "arm_token")? }
    };
    if tokens.graph.is_none() && tokens.arm.is_none() {
        return Err(FfiError::new(PimResult::MissingToken, "No access token was given (both tokens are NULL)."));
    }
    Ok(tokens)
}

/// Where a decision operation's requests come from.
#[derive(Clone, Copy)]
enum DecisionInput {
    /// All at once (`pim_approve`, `pim_deny`): `requests_json`, NULL or a NUL-terminated string.
    Listed(*const c_char),
    /// Pushed while the operation runs (`pim_approve_stream`, `pim_deny_stream`): `pim_op_push`
    /// until `pim_op_close_input`.
    Pushed,
}

/// Shared body of `pim_approve`, `pim_deny`, `pim_approve_stream` and `pim_deny_stream`: checks
/// `op_out`, looks the client up, reads the arguments in one order (the tokens, the
/// justification, then a listed operation's `requests_json`), and starts the operation.
///
/// # Safety
/// As those functions.
#[allow(clippy::too_many_arguments)]
unsafe fn decide(
    review: Review,
    input: DecisionInput,
    client: *const pim_client,
    graph_token: *const c_char,
    arm_token: *const c_char,
    justification: *const c_char,
    op_out: *mut *mut pim_op,
    err_out: *mut *mut pim_error,
) -> PimResult {
    // SAFETY: the caller's contract covers every pointer used inside.
    unsafe {
        start_on(client, op_out, err_out, |client| {
            let tokens = decision_tokens(graph_token, arm_token)?;
            let justification = Justification::parse(&read_str(justification, "justification")?)?;
            let core = client.core.clone();
            match input {
                DecisionInput::Listed(requests_json) => {
                    let targets = read_requests(requests_json)?;
                    start_op(&client.runtime, targets.len() as u64, client.trace, move |shared| async move {
                        let cancel = shared.cancel.clone();
                        core.decide_many(&tokens, targets, review, &justification, &cancel, |outcome| {
                            shared.push(outcome_json(outcome));
                        })
                        .await?;
                        Ok(())
                    })
                }
                DecisionInput::Pushed => {
                    let (push, pushed) = tokio::sync::mpsc::unbounded_channel();
                    start_stream_op(&client.runtime, client.trace, push, move |shared| async move {
                        let cancel = shared.cancel.clone();
                        core.decide_stream(&tokens, pushed, review, &justification, &cancel, |outcome| {
                            shared.push(outcome_json(outcome));
                        })
                        .await?;
                        Ok(())
                    })
                }
            }
        })
    }
}

/// Starts approving requests, of any surfaces, as one operation. Returns at once.
///
/// `graph_token` (directory roles and groups) and `arm_token` (Azure resources) may each be NULL
/// when no request needs it, not both. `requests_json` is a JSON array of `{"approvalId": "...",
/// "surface": "DirectoryRole" | "Group" | "AzureResource", "principalId": "<guid>"}` (only
/// `approvalId` is required). Without `surface`, the operation finds it, never by guess: an Azure
/// approval path is `AzureResource`; a GUID is read as a directory-role approval, then as a group
/// approval, and one found on neither is `NotFound`, naming the surfaces tried. Graph approval
/// ids are GUIDs; Azure ones are `/providers/Microsoft.Authorization/roleAssignmentApprovals/<guid>`
/// paths. The same request named more than once is decided once, at its first place; the others
/// are `Duplicate`, naming it. `justification` is required: empty, made only of white space or
/// invisible characters, holding a control character other than tab and line breaks, or longer
/// than 4000 characters, it is refused before anything is sent. A token that cannot decide a
/// surface present in the list (expired, wrong audience, missing scope, app-only, absent) ends
/// the operation before anything is sent; so does a token over 64 KiB.
///
/// On success `*op_out` receives an operation whose results are one JSON object per request as it
/// completes: `{index, approvalId, surface, result, stepId, decidedAt, error}`. `result` is
/// `"Approved"` or `"Denied"` (this operation's decision, applied), `"Failed"` (nothing applied by
/// this operation; `error` says why: e.g. `AlreadyDecided`, with who decided and when), or
/// `"Unknown"` (a decision was sent, and whether it was applied could not be established within
/// the budget: `error` is `OutcomeUnknown`, saying how to check; never send it again blindly).
/// `error` is null or `{kind, code, httpStatus, serviceCode, message, requestId}`: the fields of a
/// `pim_error` (and `claims` for a `TokenChallenge`). One time budget (`retry.budgetMs`) covers
/// the whole operation. After `pim_op_cancel`, no decision is sent; decisions already on the wire
/// are waited for `cancelGraceMs`; the approvals of those still unanswered then (or whose
/// connection was lost) are read once more, within `cancelReadMs` (the cancel does not stop this
/// read: nothing is decided by reading), and each is reported as that read shows it: applied when
/// its step shows this operation's decision, `Failed` with `AlreadyDecided` when it shows someone
/// else's (or the other way), `Unknown` when the read fails, does not answer in time, or shows the
/// step still open (a read may be stale). Each request is still reported once (applied,
/// `Cancelled` for not sent, `AlreadyDecided`, or `Unknown`) and the operation ends
/// `PIM_RESULT_CANCELLED`.
///
/// # Safety
/// Pointers are NULL or valid as described; `op_out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pim_approve(
    client: *const pim_client,
    graph_token: *const c_char,
    arm_token: *const c_char,
    requests_json: *const c_char,
    justification: *const c_char,
    op_out: *mut *mut pim_op,
    err_out: *mut *mut pim_error,
) -> PimResult {
    let input = DecisionInput::Listed(requests_json);
    // SAFETY: forwarded contract.
    unsafe { decide(Review::Approve, input, client, graph_token, arm_token, justification, op_out, err_out) }
}

/// Starts denying requests. Returns at once. Arguments and results as for `pim_approve`.
///
/// # Safety
/// Pointers are NULL or valid as described; `op_out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pim_deny(
    client: *const pim_client,
    graph_token: *const c_char,
    arm_token: *const c_char,
    requests_json: *const c_char,
    justification: *const c_char,
    op_out: *mut *mut pim_op,
    err_out: *mut *mut pim_error,
) -> PimResult {
    let input = DecisionInput::Listed(requests_json);
    // SAFETY: forwarded contract.
    unsafe { decide(Review::Deny, input, client, graph_token, arm_token, justification, op_out, err_out) }
}

/// Starts approving requests that are pushed while the operation runs: the streaming form of
/// `pim_approve`. Returns at once, with the input open and no request yet.
///
/// Push requests with `pim_op_push` (a JSON array as `pim_approve` takes, as many times as
/// needed; indexes run on across pushes) and end the input with `pim_op_close_input`: the
/// operation finishes once the input is closed and every request pushed is reported. Until then
/// it does not finish (close or cancel it, or free it, which cancels). Requests of a Graph
/// surface leave in batches of up to twenty: a batch leaves when it is full, when the client's
/// `lingerMs` (default 25) has passed since its first request, or when the input is closed; an
/// Azure request leaves at once. Results (`pim_op_take_results`, as `pim_approve`'s) come as they
/// are known; `pim_op_progress`'s total counts the requests pushed so far.
///
/// `graph_token` and `arm_token` may each be NULL, not both; both, and `justification`, are
/// checked now and copied (a justification that cannot be sent is refused now). Unlike
/// `pim_approve`, a token that cannot decide a surface does not end the operation: each request
/// of that surface is `Failed` with why (`MissingToken`, `TokenExpired`, `MissingScope`, ...), and
/// nothing is sent for it. Each batch has its own time budget (`retry.budgetMs`) from when it
/// leaves. After `pim_op_cancel` the input is closed (`PIM_RESULT_INPUT_CLOSED` for later
/// pushes), nothing more is sent, every request pushed before is still reported (applied,
/// `Cancelled` for not sent, or `Unknown`), and the operation ends `PIM_RESULT_CANCELLED`.
///
/// On success `*op_out` receives an operation to free with `pim_op_free`. Thread safety: the
/// operation may be pushed to, polled and cancelled from any thread.
///
/// # Safety
/// Pointers are NULL or valid as described; `op_out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pim_approve_stream(
    client: *const pim_client,
    graph_token: *const c_char,
    arm_token: *const c_char,
    justification: *const c_char,
    op_out: *mut *mut pim_op,
    err_out: *mut *mut pim_error,
) -> PimResult {
    let input = DecisionInput::Pushed;
    // SAFETY: forwarded contract.
    unsafe { decide(Review::Approve, input, client, graph_token, arm_token, justification, op_out, err_out) }
}

/// Starts denying requests that are pushed while the operation runs. Returns at once. Arguments,
/// pushes and results as for `pim_approve_stream`.
///
/// # Safety
/// Pointers are NULL or valid as described; `op_out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pim_deny_stream(
    client: *const pim_client,
    graph_token: *const c_char,
    arm_token: *const c_char,
    justification: *const c_char,
    op_out: *mut *mut pim_op,
    err_out: *mut *mut pim_error,
) -> PimResult {
    let input = DecisionInput::Pushed;
    // SAFETY: forwarded contract.
    unsafe { decide(Review::Deny, input, client, graph_token, arm_token, justification, op_out, err_out) }
}

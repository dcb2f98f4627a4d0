//! The C ABI. Every export is `pim_<object>_<verb>`, sits behind the panic boundary, checks every
//! pointer, copies its inputs and says in its doc comment who owns what. `include/pim_bridge.h` is
//! generated from this file by cbindgen.
//!
//! Conventions, for every function below:
//! - Fallible functions return a `pim_result` (cbindgen's name for [`ErrorKind`]): `PIM_RESULT_OK` (0) on success, otherwise a stable
//!   code (7000 and up) that is never reused. Out-parameters are written only on success.
//! - `err_out` may be NULL. On failure, when it is not NULL, `*err_out` receives an error object
//!   to free with `pim_error_free`; on success it is left untouched.
//! - Input strings are NUL-terminated UTF-8, copied before the function returns; the caller keeps
//!   ownership. Output strings are UTF-8 JSON, freed with `pim_string_free`.
//! - Every function is thread-safe. Handles are checked against a registry: a NULL, freed, or
//!   foreign handle, or one of the wrong kind, is refused with `PIM_RESULT_INVALID_HANDLE` (or
//!   `PIM_RESULT_NULL_PARAMETER`), never dereferenced.
//! - The access token is always its own argument, never part of a JSON document, and is never
//!   logged or copied into an error.

#![allow(non_camel_case_types)]

mod plumbing;

use std::ffi::{CString, c_char};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio_util::sync::CancellationToken;
use zeroize::Zeroizing;

use crate::client::{ClientOptions, ListOptions, PimClient, Tokens};
use crate::error::{ErrorKind, PimError};
use crate::model::{DecisionTarget, Review};
use crate::token::{AccessToken, TokenInfo};
use crate::validate::Justification;
use plumbing::{
    Entry, check_out, ffi_call, ffi_value, lookup, owned_string, read_opt_str, read_str, register, unregister,
    write_out,
};

/// Major version of the library; equals the version in Cargo.toml.
pub const PIM_VERSION_MAJOR: u32 = 0;
/// Minor version of the library.
pub const PIM_VERSION_MINOR: u32 = 1;
/// Patch version of the library.
pub const PIM_VERSION_PATCH: u32 = 0;
/// Version of the C ABI: bumped when a function's signature or meaning changes.
pub const PIM_ABI_VERSION: u32 = 1;

/// A client: configuration, HTTP connection pool and its own async runtime. Opaque.
pub struct pim_client {
    _private: [u8; 0],
}

/// One running or finished list, approve or deny operation. Opaque.
pub struct pim_op {
    _private: [u8; 0],
}

/// An error: code, HTTP status, the service's error code, message and request-id. Opaque.
pub struct pim_error {
    _private: [u8; 0],
}

pub(crate) struct ClientHandle {
    runtime: tokio::runtime::Runtime,
    core: Arc<PimClient>,
}

pub(crate) struct ErrorObject {
    error: PimError,
    service_code: CString,
    message: CString,
    request_id: CString,
}

impl ErrorObject {
    fn register(error: PimError) -> *mut pim_error {
        let c = |s: &str| CString::new(s.replace('\0', "")).unwrap_or_default();
        let obj = ErrorObject {
            service_code: c(error.service_code.as_deref().unwrap_or("")),
            message: c(&error.message),
            request_id: c(error.request_id.as_deref().unwrap_or("")),
            error,
        };
        register(Entry::Error(Arc::new(obj))) as *mut pim_error
    }
}

/// What an operation has produced so far.
#[derive(Default)]
struct OpState {
    /// Results not yet taken by `pim_op_take_results`.
    results: Vec<Value>,
    done: u64,
    total: u64,
    /// `Some` once finished.
    outcome: Option<Result<(), PimError>>,
}

pub(crate) struct OpShared {
    state: Mutex<OpState>,
    finished: Condvar,
    cancel: CancellationToken,
}

impl OpShared {
    fn state(&self) -> MutexGuard<'_, OpState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, items: impl IntoIterator<Item = Value>) {
        let mut st = self.state();
        for v in items {
            st.results.push(v);
            st.done += 1;
        }
    }

    fn finish(&self, outcome: Result<(), PimError>) {
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
        self.0.finish(Err(PimError::new(
            ErrorKind::Cancelled,
            "The operation was stopped before it finished (cancelled, or its client was freed).",
        )));
    }
}

fn client_of(p: *const pim_client) -> Result<Arc<ClientHandle>, PimError> {
    lookup(p as usize, "client", |e| match e {
        Entry::Client(c) => Some(c.clone()),
        _ => None,
    })
}

fn op_of(p: *const pim_op) -> Result<Arc<OpShared>, PimError> {
    lookup(p as usize, "operation", |e| match e {
        Entry::Op(o) => Some(o.clone()),
        _ => None,
    })
}

fn error_of(p: *const pim_error) -> Option<Arc<ErrorObject>> {
    lookup(p as usize, "error", |e| match e {
        Entry::Error(o) => Some(o.clone()),
        _ => None,
    })
    .ok()
}

/// Reads the token argument into zeroizing memory.
///
/// # Safety
/// As `plumbing::read_str`.
unsafe fn read_token(token: *const c_char) -> Result<AccessToken, PimError> {
    // SAFETY: forwarded contract.
    unsafe { read_opt_token(token, "token") }?
        .ok_or_else(|| PimError::new(ErrorKind::MissingToken, "No access token was given (token is NULL)."))
}

/// Reads an optional token argument (NULL means none) into zeroizing memory.
///
/// # Safety
/// As `plumbing::read_str`.
unsafe fn read_opt_token(token: *const c_char, what: &str) -> Result<Option<AccessToken>, PimError> {
    if token.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded contract.
    let raw = Zeroizing::new(unsafe { read_str(token, what) }?);
    AccessToken::new(&raw).map(Some)
}

/// Starts `work` on the client's runtime and hands C the operation handle.
fn start_op<F>(client: &ClientHandle, total: u64, work: impl FnOnce(Arc<OpShared>) -> F) -> *mut pim_op
where
    F: std::future::Future<Output = Result<(), PimError>> + Send + 'static,
{
    let shared = Arc::new(OpShared {
        state: Mutex::new(OpState { total, ..OpState::default() }),
        finished: Condvar::new(),
        cancel: CancellationToken::new(),
    });
    let fut = work(shared.clone());
    let guard = FinishGuard(shared.clone());
    client.runtime.spawn(async move {
        let outcome = fut.await;
        guard.0.finish(outcome);
        drop(guard);
    });
    register(Entry::Op(shared)) as *mut pim_op
}

/// Creates a client.
///
/// `options_json` may be NULL (all defaults) or a JSON object with any of: `graphUri` (default
/// `https://graph.microsoft.com`), `armUri` (default `https://management.azure.com`; plain http
/// only to loopback for either), `timeoutMs` (100000),
/// `connectTimeoutMs` (30000), `maxConcurrency` (8), `retry` (`{maxAttempts, baseDelayMs,
/// maxDelayMs, budgetMs}`). Unknown fields are refused with `PIM_RESULT_INVALID_OPTIONS`.
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
) -> ErrorKind {
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
                .enable_all()
                .build()
                .map_err(|e| {
                    PimError::new(ErrorKind::InvalidOptions, format!("Cannot start the async runtime: {e}."))
                })?;
            let handle = ClientHandle { runtime, core: Arc::new(core) };
            write_out(client_out, register(Entry::Client(Arc::new(handle))) as *mut pim_client);
            Ok(())
        })
    }
}

/// Frees a client. Operations still running on it stop and finish as cancelled. A no-op on NULL
/// or on a handle that is not a live client.
#[unsafe(no_mangle)]
pub extern "C" fn pim_client_free(client: *mut pim_client) {
    ffi_value((), || {
        let entry = unregister(client as usize, |e| matches!(e, Entry::Client(_)));
        // Dropped here, on the caller's thread, outside the registry lock.
        drop(entry);
    })
}

/// Starts listing every request of one surface waiting on the signed-in approver. Returns at once.
///
/// `token` is the bearer token for that surface (required): a Microsoft Graph token for
/// directory roles and groups, an Azure Resource Manager token for Azure resources.
/// `options_json` may be NULL (directory roles) or `{"surface": "DirectoryRole" | "Group" |
/// "AzureResource", "armScope": "/subscriptions/..." (Azure only; default the tenant root),
/// "pageSize": N}`.
/// On success `*op_out` receives an operation: poll it with `pim_op_wait`, take pending requests
/// (JSON objects) with `pim_op_take_results` as pages arrive, read the final outcome with
/// `pim_op_error`, and free it with `pim_op_free`. `pim_op_progress` counts requests listed;
/// their total is 0 until the operation finishes.
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
) -> ErrorKind {
    // SAFETY: the caller's contract covers every pointer used inside.
    unsafe {
        ffi_call(err_out, || {
            check_out(op_out, "op_out")?;
            let client = client_of(client)?;
            let token = read_token(token)?;
            let options = ListOptions::from_json(read_opt_str(options_json, "options_json")?.as_deref())?;
            let core = client.core.clone();
            let op = start_op(&client, 0, move |shared| async move {
                let listed = core
                    .list_pending(&token, &options, &shared.cancel.clone(), |page| {
                        shared.push(page.into_iter().filter_map(|r| serde_json::to_value(r).ok()));
                    })
                    .await?;
                shared.state().total = listed as u64;
                Ok(())
            });
            write_out(op_out, op);
            Ok(())
        })
    }
}

/// Shared body of `pim_approve` and `pim_deny`.
///
/// # Safety
/// As those functions.
#[allow(clippy::too_many_arguments)]
unsafe fn decide(
    review: Review,
    client: *const pim_client,
    graph_token: *const c_char,
    arm_token: *const c_char,
    requests_json: *const c_char,
    justification: *const c_char,
    op_out: *mut *mut pim_op,
    err_out: *mut *mut pim_error,
) -> ErrorKind {
    // SAFETY: the caller's contract covers every pointer used inside.
    unsafe {
        ffi_call(err_out, || {
            check_out(op_out, "op_out")?;
            let client = client_of(client)?;
            let tokens = Tokens {
                graph: read_opt_token(graph_token, "graph_token")?,
                arm: read_opt_token(arm_token, "arm_token")?,
            };
            if tokens.graph.is_none() && tokens.arm.is_none() {
                return Err(PimError::new(
                    ErrorKind::MissingToken,
                    "No access token was given (both tokens are NULL).",
                ));
            }
            let justification = Justification::parse(&read_str(justification, "justification")?)?;
            let targets = DecisionTarget::list_from_json(&read_str(requests_json, "requests_json")?).map_err(|e| {
                PimError::new(
                    ErrorKind::InvalidInput,
                    format!("requests_json must be a JSON array of {{\"approvalId\": \"...\"}} objects: {e}."),
                )
            })?;
            let core = client.core.clone();
            let op = start_op(&client, targets.len() as u64, move |shared| async move {
                let cancel = shared.cancel.clone();
                core.decide_many(&tokens, targets, review, &justification, &cancel, |outcome| {
                    shared.push(serde_json::to_value(outcome).ok());
                })
                .await
            });
            write_out(op_out, op);
            Ok(())
        })
    }
}

/// Starts approving requests, of any surfaces, as one operation. Returns at once.
///
/// `graph_token` (directory roles and groups) and `arm_token` (Azure resources) may each be NULL
/// when no request needs it, not both. `requests_json` is a JSON array of `{"approvalId": "...",
/// "surface": "DirectoryRole" | "Group" | "AzureResource", "principalId": "<guid>"}` (only
/// `approvalId` is required; `surface` defaults to `DirectoryRole`). Graph approval ids are GUIDs;
/// Azure ones are `/providers/Microsoft.Authorization/roleAssignmentApprovals/<guid>` paths.
/// `justification` is required: empty, white-space-only or longer than 4000 characters is refused
/// before anything is sent. A token that cannot decide a surface present in the list (expired,
/// wrong audience, missing scope, app-only, absent) ends the operation before anything is sent.
/// On success `*op_out` receives an operation whose results are one JSON object per request as it
/// completes: `{index, approvalId, surface, result: "Approved"|"Denied"|"Failed", stepId,
/// decidedAt, error: {kind, code, httpStatus, serviceCode, message, requestId}}`.
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
) -> ErrorKind {
    // SAFETY: forwarded contract.
    unsafe { decide(Review::Approve, client, graph_token, arm_token, requests_json, justification, op_out, err_out) }
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
) -> ErrorKind {
    // SAFETY: forwarded contract.
    unsafe { decide(Review::Deny, client, graph_token, arm_token, requests_json, justification, op_out, err_out) }
}

/// Waits up to `timeout_ms` for the operation to finish. Returns `PIM_RESULT_OK` once it has
/// finished (successfully or not: see `pim_op_error`), `PIM_RESULT_PENDING` if it is still
/// running. Wait in short slices to stay responsive to Ctrl+C.
#[unsafe(no_mangle)]
pub extern "C" fn pim_op_wait(op: *const pim_op, timeout_ms: u32) -> ErrorKind {
    ffi_value(ErrorKind::Panic, || {
        let op = match op_of(op) {
            Ok(o) => o,
            Err(e) => return e.kind,
        };
        let st = op.state();
        let (st, _) = op
            .finished
            .wait_timeout_while(st, Duration::from_millis(u64::from(timeout_ms)), |s| s.outcome.is_none())
            .unwrap_or_else(|e| e.into_inner());
        if st.outcome.is_some() { ErrorKind::Ok } else { ErrorKind::Pending }
    })
}

/// Reads progress: items done so far and the total (0 while unknown).
///
/// # Safety
/// `done_out` and `total_out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pim_op_progress(op: *const pim_op, done_out: *mut u64, total_out: *mut u64) -> ErrorKind {
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
) -> ErrorKind {
    // SAFETY: the caller's contract covers every pointer used inside.
    unsafe {
        ffi_call(err_out, || {
            check_out(json_out, "json_out")?;
            let op = op_of(op)?;
            let taken = std::mem::take(&mut op.state().results);
            let text =
                serde_json::to_string(&taken).map_err(|e| PimError::new(ErrorKind::InvalidResponse, e.to_string()))?;
            write_out(json_out, owned_string(text));
            Ok(())
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
pub unsafe extern "C" fn pim_op_error(op: *const pim_op, err_out: *mut *mut pim_error) -> ErrorKind {
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
        if pending { ErrorKind::Pending } else { rc }
    }
}

/// Asks the operation to stop. No request is sent after this returns; requests already in
/// flight may still complete. Cancelling twice, or a finished operation, is fine.
#[unsafe(no_mangle)]
pub extern "C" fn pim_op_cancel(op: *const pim_op) -> ErrorKind {
    ffi_value(ErrorKind::Panic, || match op_of(op) {
        Ok(o) => {
            o.cancel.cancel();
            ErrorKind::Ok
        }
        Err(e) => e.kind,
    })
}

/// Frees an operation, cancelling it if it is still running. A no-op on NULL or on a handle
/// that is not a live operation.
#[unsafe(no_mangle)]
pub extern "C" fn pim_op_free(op: *mut pim_op) {
    ffi_value((), || {
        if let Some(Entry::Op(o)) = unregister(op as usize, |e| matches!(e, Entry::Op(_))) {
            o.cancel.cancel();
        }
    })
}

/// Frees a string returned by this library. A no-op on NULL or on a pointer this library did
/// not return (or already freed).
#[unsafe(no_mangle)]
pub extern "C" fn pim_string_free(s: *mut c_char) {
    ffi_value((), || {
        drop(unregister(s as usize, |e| matches!(e, Entry::String(_))));
    })
}

/// The error's code (a `pim_result`); `PIM_RESULT_INVALID_HANDLE` if `err` is not a live error.
#[unsafe(no_mangle)]
pub extern "C" fn pim_error_code(err: *const pim_error) -> ErrorKind {
    ffi_value(ErrorKind::Panic, || error_of(err).map_or(ErrorKind::InvalidHandle, |e| e.error.kind))
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

/// Frees an error. A no-op on NULL or on a handle that is not a live error.
#[unsafe(no_mangle)]
pub extern "C" fn pim_error_free(err: *mut pim_error) {
    ffi_value((), || {
        drop(unregister(err as usize, |e| matches!(e, Entry::Error(_))));
    })
}

/// Reads (does not verify) a token's claims: `{audience, expiresAt, scopes, appOnly, objectId,
/// upn}`. On success `*json_out` receives a string to free with `pim_string_free`; a token that is
/// not a readable JWT gives `PIM_RESULT_INVALID_TOKEN`. The token itself never appears in the output.
///
/// # Safety
/// `json_out` must be writable; `token` NULL or a valid string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pim_token_info(
    token: *const c_char,
    json_out: *mut *mut c_char,
    err_out: *mut *mut pim_error,
) -> ErrorKind {
    // SAFETY: the caller's contract covers every pointer used inside.
    unsafe {
        ffi_call(err_out, || {
            check_out(json_out, "json_out")?;
            let raw = Zeroizing::new(read_str(token, "token")?);
            let info = TokenInfo::decode(raw.trim()).ok_or_else(|| {
                PimError::new(ErrorKind::InvalidToken, "The token is not a JWT whose claims can be read.")
            })?;
            let text =
                serde_json::to_string(&info).map_err(|e| PimError::new(ErrorKind::InvalidToken, e.to_string()))?;
            write_out(json_out, owned_string(text));
            Ok(())
        })
    }
}

/// The library's version, e.g. "0.1.0". Static: do not free.
#[unsafe(no_mangle)]
pub extern "C" fn pim_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

//! The `pim_policy` object: a policy document, read and checked once, then evaluated against
//! pending requests as often as needed. Evaluating sends nothing: it says what each rule would do
//! and why, and the caller decides with `pim_approve` / `pim_deny`.

use std::ffi::c_char;
use std::sync::Arc;

use super::error::{ffi_call, pim_error};
use super::out::{check_out, write_out};
use super::panic::ffi_value;
use super::registry::{Kind, lookup, register, unregister};
use super::result::{FfiError, PimResult};
use super::strings::{ffi_json, read_opt_str, read_str};
use crate::policy::Policy;

/// A loaded policy: its rules, checked. Immutable, so one policy may be evaluated from many
/// threads at once. Opaque.
pub struct pim_policy {
    _private: [u8; 0],
}

/// Reads and checks a policy document.
///
/// `policy_json` (required) is the document as JSON: `{"Rules": [{"Name": ..., "Action":
/// "Approve" | "Deny" | "Skip", "Justification": ..., <conditions>}, ...]}`, keys exactly as
/// docs/policy.md names them (a PowerShell data file is converted to JSON by the caller, with
/// enough depth). `source_name` may be NULL; when given (the file's path) every message starts
/// with it. `force` lets a rule approve every request (an Approve rule with no condition that
/// narrows it), which is refused otherwise.
///
/// On success `*policy_out` receives a policy to free with `pim_policy_free`. A document that does
/// not parse, has an unknown key, a bad regular expression, an unknown action, a wrong type, two
/// rules of the same name, a bad duration or an unknown time zone gives
/// `PIM_RESULT_INVALID_POLICY`, whose message lists every problem, one per line, each naming the
/// rule (position and name) and the key.
///
/// # Safety
/// Each string is NULL or NUL-terminated and valid for this call; `policy_out` must be writable;
/// `err_out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pim_policy_load(
    policy_json: *const c_char,
    source_name: *const c_char,
    force: bool,
    policy_out: *mut *mut pim_policy,
    err_out: *mut *mut pim_error,
) -> PimResult {
    // SAFETY: the caller's contract covers every pointer used inside.
    unsafe {
        ffi_call(err_out, || {
            check_out(policy_out, "policy_out")?;
            let json = read_str(policy_json, "policy_json")?;
            #[cfg(feature = "test-panic")]
            if json == "{\"testPanic\":true}" {
                panic!("forced by a test");
            }
            let source = read_opt_str(source_name, "source_name")?;
            let policy = Policy::from_json(&json, source.as_deref(), force)?;
            write_out(policy_out, register(Kind::Policy, Arc::new(policy))? as *mut pim_policy);
            Ok(())
        })
    }
}

/// Evaluates a policy against pending requests. Sends nothing.
///
/// `requests_json` (required) is one pending request or a JSON array of them, in the shape
/// `pim_list_pending` hands out (`{"surface", "approvalId", "principalId", "principalUpn",
/// "roleName", "scopeId", "justification", "ticketNumber", "createdAt", "duration", ...}`; fields
/// not used are ignored). `context_json` (required) is `{"callerId": "<the approver's object
/// id>", "now": "<RFC 3339>"}`; `now` may be left out (the current time). A request whose
/// `principalId` is the caller's (or is missing) is never approved or denied by a rule.
///
/// On success `*json_out` receives a JSON array, one object per request in order: `{approvalId,
/// surface, principalId, rule, action: "Approve" | "Deny" | "Skip", justification, summary,
/// reasons: [{rule, condition, held, detail}]}`, to free with `pim_string_free`. `rule` is null
/// when no rule matched; `justification` is the rendered text to send, null for Skip. Bad
/// requests or context give `PIM_RESULT_INVALID_INPUT`.
///
/// # Safety
/// Each string is NULL or NUL-terminated and valid for this call; `json_out` must be writable;
/// `err_out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn pim_policy_evaluate(
    policy: *const pim_policy,
    requests_json: *const c_char,
    context_json: *const c_char,
    json_out: *mut *mut c_char,
    err_out: *mut *mut pim_error,
) -> PimResult {
    // SAFETY: the caller's contract covers every pointer used inside.
    unsafe {
        ffi_json(json_out, err_out, || {
            let policy: Arc<Policy> = lookup(policy as usize, Kind::Policy, "policy")?;
            let requests = read_str(requests_json, "requests_json")?;
            let context = read_str(context_json, "context_json")?;
            policy.evaluate_json(&requests, &context).map_err(FfiError::from)
        })
    }
}

/// Frees a policy. A no-op on NULL or on a handle that is not a live policy.
#[unsafe(no_mangle)]
pub extern "C" fn pim_policy_free(policy: *mut pim_policy) {
    ffi_value((), || {
        drop(unregister::<Policy>(policy as usize, Kind::Policy));
    })
}

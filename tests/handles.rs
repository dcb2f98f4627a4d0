//! Handles are unforgeable and never reused within a process (issue 11, finding 4): 10,000
//! alloc/free cycles per kind, and every stale or double free, cancel or use refused with
//! `PIM_RESULT_INVALID_HANDLE`, never acting on a live object that happens to sit where a freed one
//! sat. Plain build, no sanitizer: the allocator reuses addresses at will.

use std::collections::HashSet;
use std::ffi::{CStr, CString, c_char};
use std::ptr::{null, null_mut};

use pim_bridge::ffi::*;

const CYCLES: usize = 10_000;

fn new_client() -> *mut pim_client {
    let mut client = null_mut();
    assert_eq!(unsafe { pim_client_new(null(), &mut client, null_mut()) }, PimResult::Ok);
    client
}

/// An operation that finishes at once: no requests to decide, so nothing is sent.
fn new_op(client: *mut pim_client) -> *mut pim_op {
    let (token, reqs, why) = (CString::new("a.b.c").unwrap(), CString::new("[]").unwrap(), CString::new("ok").unwrap());
    let mut op = null_mut();
    let rc = unsafe { pim_approve(client, token.as_ptr(), null(), reqs.as_ptr(), why.as_ptr(), &mut op, null_mut()) };
    assert_eq!(rc, PimResult::Ok);
    op
}

fn new_error() -> *mut pim_error {
    let mut err = null_mut();
    assert_eq!(unsafe { pim_client_new(null(), null_mut(), &mut err) }, PimResult::NullParameter);
    assert!(!err.is_null());
    err
}

fn new_string(op: *mut pim_op) -> *mut c_char {
    let mut json = null_mut();
    assert_eq!(unsafe { pim_op_take_results(op, &mut json, null_mut()) }, PimResult::Ok);
    json
}

#[test]
fn operation_handles_are_never_reused() {
    let client = new_client();
    let first = new_op(client);
    pim_op_free(first);
    let mut seen = HashSet::from([first as usize]);
    for i in 0..CYCLES {
        let op = new_op(client);
        assert!(seen.insert(op as usize), "cycle {i}: an operation handle was handed out twice");
        // The stale handle: every use refused, and the live operation untouched.
        assert_eq!(pim_op_cancel(first), PimResult::InvalidHandle);
        assert_eq!(pim_op_wait(first, 0), PimResult::InvalidHandle);
        pim_op_free(first);
        assert_eq!(pim_op_wait(op, 10_000), PimResult::Ok, "cycle {i}: the live operation was freed by a stale free");
        assert_eq!(unsafe { pim_op_error(op, null_mut()) }, PimResult::Ok, "cycle {i}: cancelled by a stale cancel");
        pim_op_free(op);
        assert_eq!(pim_op_wait(op, 0), PimResult::InvalidHandle);
    }
    pim_client_free(client);
}

#[test]
fn error_handles_are_never_reused() {
    let first = new_error();
    pim_error_free(first);
    let mut seen = HashSet::from([first as usize]);
    for i in 0..CYCLES {
        let err = new_error();
        assert!(seen.insert(err as usize), "cycle {i}: an error handle was handed out twice");
        assert_eq!(pim_error_code(first), PimResult::InvalidHandle);
        assert!(pim_error_message(first).is_null(), "cycle {i}: a freed error gave a message");
        pim_error_free(first);
        assert_eq!(pim_error_code(err), PimResult::NullParameter, "cycle {i}: the live error was freed");
        let m = unsafe { CStr::from_ptr(pim_error_message(err)) }.to_str().unwrap();
        assert!(m.contains("client_out"), "{m}");
        pim_error_free(err);
        assert_eq!(pim_error_code(err), PimResult::InvalidHandle);
    }
}

#[test]
fn string_addresses_are_never_reused() {
    let client = new_client();
    let op = new_op(client);
    assert_eq!(pim_op_wait(op, 10_000), PimResult::Ok);
    let first = new_string(op);
    pim_string_free(first);
    let mut seen = HashSet::from([first as usize]);
    for i in 0..CYCLES {
        let s = new_string(op);
        assert!(seen.insert(s as usize), "cycle {i}: a string address was handed out twice");
        pim_string_free(first);
        assert_eq!(unsafe { CStr::from_ptr(s) }.to_bytes(), b"[]", "cycle {i}");
        pim_string_free(s);
        pim_string_free(s);
    }
    pim_op_free(op);
    pim_client_free(client);
}

#[test]
fn client_handles_are_never_reused() {
    let first = new_client();
    pim_client_free(first);
    let mut seen = HashSet::from([first as usize]);
    let token = CString::new("a.b.c").unwrap();
    for i in 0..CYCLES {
        let client = new_client();
        assert!(seen.insert(client as usize), "cycle {i}: a client handle was handed out twice");
        pim_client_free(first);
        let mut op = null_mut();
        let rc = unsafe { pim_list_pending(first, token.as_ptr(), null(), &mut op, null_mut()) };
        assert_eq!(rc, PimResult::InvalidHandle, "cycle {i}: a freed client was used");
        let live = new_op(client);
        pim_op_free(live);
        pim_client_free(client);
    }
}

#[test]
fn a_handle_of_one_kind_is_refused_as_another() {
    let client = new_client();
    let op = new_op(client);
    let err = new_error();
    assert_eq!(pim_op_wait(client as *const pim_op, 0), PimResult::InvalidHandle);
    assert_eq!(pim_error_code(op as *const pim_error), PimResult::InvalidHandle);
    pim_client_free(err as *mut pim_client);
    pim_op_free(client as *mut pim_op);
    assert_eq!(pim_error_code(err), PimResult::NullParameter, "the error survived a free as a client");
    assert_eq!(pim_op_wait(op, 10_000), PimResult::Ok, "the op survived a free as an error");
    // A forged value near a live handle is not a handle.
    assert_eq!(pim_op_wait((op as usize + (1 << 32)) as *const pim_op, 0), PimResult::InvalidHandle);
    assert_eq!(pim_op_wait((op as usize ^ 0x10) as *const pim_op, 0), PimResult::InvalidHandle);
    pim_error_free(err);
    pim_op_free(op);
    pim_client_free(client);
}

//! The C ABI called as C would call it: bad pointers, bad strings, bad handles, panics, and a
//! full list-then-approve flow against an emulator.

use std::ffi::{CStr, CString, c_char};
use std::ptr::{null, null_mut};

use pim_bridge::ErrorKind;
use pim_bridge::ffi::*;
use serde_json::{Value, json};

/// An emulator on its own runtime thread, so the blocking C calls can run on the test thread.
struct Emulator {
    base: String,
    _rt: tokio::runtime::Runtime,
}

fn emulator(scenario: pim_emulator::Scenario) -> Emulator {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let running = rt
        .block_on(pim_emulator::start("127.0.0.1:0", pim_emulator::Config { scenario, ..Default::default() }))
        .unwrap();
    Emulator { base: running.base_url.clone(), _rt: rt }
}

impl Emulator {
    fn token(&self, body: Value) -> CString {
        let v: Value = self
            ._rt
            .block_on(async {
                reqwest::Client::new()
                    .post(format!("{}/_emulator/token", self.base))
                    .json(&body)
                    .send()
                    .await?
                    .json()
                    .await
            })
            .unwrap();
        CString::new(v["access_token"].as_str().unwrap()).unwrap()
    }

    fn decisions(&self) -> Vec<Value> {
        let v: Value = self
            ._rt
            .block_on(async { reqwest::get(format!("{}/_emulator/decisions", self.base)).await?.json().await })
            .unwrap();
        v["value"].as_array().cloned().unwrap()
    }

    fn client(&self) -> *mut pim_client {
        let opts = CString::new(json!({"graphUri": self.base}).to_string()).unwrap();
        let mut client = null_mut();
        assert_eq!(unsafe { pim_client_new(opts.as_ptr(), &mut client, null_mut()) }, ErrorKind::Ok);
        client
    }
}

fn message(err: *mut pim_error) -> String {
    let m = unsafe { CStr::from_ptr(pim_error_message(err)) }.to_string_lossy().into_owned();
    pim_error_free(err);
    m
}

/// Waits for an operation and returns every result it produced.
fn drain(op: *mut pim_op) -> (Vec<Value>, ErrorKind) {
    let mut all = Vec::new();
    loop {
        let finished = pim_op_wait(op, 50) == ErrorKind::Ok;
        let mut json: *mut c_char = null_mut();
        assert_eq!(unsafe { pim_op_take_results(op, &mut json, null_mut()) }, ErrorKind::Ok);
        let text = unsafe { CStr::from_ptr(json) }.to_str().unwrap().to_string();
        pim_string_free(json);
        all.extend(serde_json::from_str::<Vec<Value>>(&text).unwrap());
        if finished {
            break;
        }
    }
    let rc = unsafe { pim_op_error(op, null_mut()) };
    (all, rc)
}

#[test]
fn null_pointers_are_refused_not_dereferenced() {
    let mut err = null_mut();
    assert_eq!(unsafe { pim_client_new(null(), null_mut(), &mut err) }, ErrorKind::NullParameter);
    assert!(message(err).contains("client_out"));
    let mut op = null_mut();
    let tok = CString::new("a.b.c").unwrap();
    assert_eq!(
        unsafe { pim_list_pending(null(), tok.as_ptr(), null(), &mut op, null_mut()) },
        ErrorKind::NullParameter
    );
    assert!(op.is_null(), "out-parameters are written only on success");
    assert_eq!(pim_op_wait(null(), 0), ErrorKind::NullParameter);
    assert_eq!(pim_op_cancel(null()), ErrorKind::NullParameter);
    assert_eq!(unsafe { pim_op_progress(null(), null_mut(), null_mut()) }, ErrorKind::NullParameter);
    assert_eq!(pim_error_code(null()), ErrorKind::InvalidHandle);
    assert!(pim_error_message(null()).is_null());
    // Every free function is a no-op on NULL.
    pim_client_free(null_mut());
    pim_op_free(null_mut());
    pim_error_free(null_mut());
    pim_string_free(null_mut());
}

#[test]
fn invalid_utf8_and_bad_options_are_refused() {
    let bad = [0x7bu8, 0xff, 0xfe, 0x7d, 0];
    let mut client = null_mut();
    let mut err = null_mut();
    let rc = unsafe { pim_client_new(bad.as_ptr().cast(), &mut client, &mut err) };
    assert_eq!(rc, ErrorKind::InvalidUtf8);
    assert_eq!(pim_error_code(err), ErrorKind::InvalidUtf8);
    pim_error_free(err);
    for opts in [r#"{"bogus": 1}"#, "{", "[]", r#"{"graphUri": "http://example.com"}"#, r#"{"maxConcurrency": 0}"#] {
        let c = CString::new(opts).unwrap();
        let mut err = null_mut();
        let rc = unsafe { pim_client_new(c.as_ptr(), &mut client, &mut err) };
        assert!(matches!(rc, ErrorKind::InvalidOptions | ErrorKind::InsecureUri), "{opts}: {rc:?}");
        assert!(!message(err).is_empty());
    }
    assert!(client.is_null());
}

#[test]
fn freed_foreign_and_wrong_kind_handles_are_detected() {
    let mut client = null_mut();
    assert_eq!(unsafe { pim_client_new(null(), &mut client, null_mut()) }, ErrorKind::Ok);
    // A client is not an operation.
    assert_eq!(pim_op_wait(client as *const pim_op, 0), ErrorKind::InvalidHandle);
    let mut local = 5u64;
    assert_eq!(pim_op_cancel(&mut local as *mut u64 as *const pim_op), ErrorKind::InvalidHandle);
    // An error freed as a client is ignored; the error stays live until freed as an error.
    let mut err = null_mut();
    let mut op = null_mut();
    let tok = CString::new("a.b.c").unwrap();
    let empty = CString::new("").unwrap();
    let reqs = CString::new("[]").unwrap();
    let rc = unsafe { pim_approve(client, tok.as_ptr(), null(), reqs.as_ptr(), empty.as_ptr(), &mut op, &mut err) };
    assert_eq!(rc, ErrorKind::InvalidJustification);
    pim_client_free(err as *mut pim_client);
    assert_eq!(pim_error_code(err), ErrorKind::InvalidJustification);
    pim_error_free(err);
    pim_error_free(err);
    assert_eq!(pim_error_code(err), ErrorKind::InvalidHandle);
    pim_client_free(client);
    pim_client_free(client);
    let mut op = null_mut();
    let rc = unsafe { pim_list_pending(client, tok.as_ptr(), null(), &mut op, null_mut()) };
    assert_eq!(rc, ErrorKind::InvalidHandle);
}

#[test]
fn bad_requests_are_refused_before_anything_is_sent() {
    let env = emulator(pim_emulator::Scenario::Demo);
    let client = env.client();
    let token = env.token(json!({}));
    let mut op = null_mut();
    let cases: &[(&str, &str, ErrorKind)] = &[
        ("[{\"approvalId\": \"x\"}", "ok", ErrorKind::InvalidInput),
        ("{\"approvalId\": \"x\"}", "ok", ErrorKind::InvalidInput),
        ("[{\"approvalId\": \"x\", \"extra\": 1}]", "ok", ErrorKind::InvalidInput),
        ("[]", "   ", ErrorKind::InvalidJustification),
    ];
    for (reqs, why, expected) in cases {
        let (r, w) = (CString::new(*reqs).unwrap(), CString::new(*why).unwrap());
        let rc = unsafe { pim_approve(client, token.as_ptr(), null(), r.as_ptr(), w.as_ptr(), &mut op, null_mut()) };
        assert_eq!(rc, *expected, "{reqs} / {why:?}");
    }
    let huge = CString::new("x".repeat(1 << 20)).unwrap();
    let r = CString::new("[]").unwrap();
    let rc = unsafe { pim_deny(client, token.as_ptr(), null(), r.as_ptr(), huge.as_ptr(), &mut op, null_mut()) };
    assert_eq!(rc, ErrorKind::InvalidJustification);
    let rc = unsafe { pim_deny(client, null(), null(), r.as_ptr(), huge.as_ptr(), &mut op, null_mut()) };
    assert_eq!(rc, ErrorKind::MissingToken);
    // Ids that are not GUIDs fail per request, and nothing is sent.
    let r = CString::new(r#"[{"approvalId":"../../users"},{"approvalId":"%2F"},{"approvalId":""}]"#).unwrap();
    let w = CString::new("ok").unwrap();
    assert_eq!(
        unsafe { pim_approve(client, token.as_ptr(), null(), r.as_ptr(), w.as_ptr(), &mut op, null_mut()) },
        ErrorKind::Ok
    );
    let (results, rc) = drain(op);
    pim_op_free(op);
    assert_eq!(rc, ErrorKind::Ok);
    assert_eq!(results.len(), 3);
    assert!(results.iter().all(|r| r["result"] == "Failed" && r["error"]["kind"] == "InvalidId"));
    assert!(env.decisions().is_empty());
    pim_client_free(client);
}

#[test]
fn lists_then_approves_through_the_c_abi() {
    let env = emulator(pim_emulator::Scenario::Bulk(60));
    let client = env.client();
    let token = env.token(json!({}));
    let mut op = null_mut();
    assert_eq!(unsafe { pim_list_pending(client, token.as_ptr(), null(), &mut op, null_mut()) }, ErrorKind::Ok);
    let (pending, rc) = drain(op);
    assert_eq!(rc, ErrorKind::Ok);
    assert_eq!(pending.len(), 60);
    let (mut done, mut total) = (0, 0);
    assert_eq!(unsafe { pim_op_progress(op, &mut done, &mut total) }, ErrorKind::Ok);
    assert_eq!((done, total), (60, 60));
    pim_op_free(op);

    let reqs: Vec<Value> = pending.iter().map(|p| json!({"approvalId": p["approvalId"]})).collect();
    let r = CString::new(Value::from(reqs).to_string()).unwrap();
    let w = CString::new("Approved for the change window").unwrap();
    assert_eq!(
        unsafe { pim_approve(client, token.as_ptr(), null(), r.as_ptr(), w.as_ptr(), &mut op, null_mut()) },
        ErrorKind::Ok
    );
    let (results, rc) = drain(op);
    assert_eq!(rc, ErrorKind::Ok);
    assert_eq!(results.len(), 60);
    assert!(results.iter().all(|r| r["result"] == "Approved"));
    assert_eq!(env.decisions().len(), 60);
    // Cancel twice and free after cancel are harmless.
    assert_eq!(pim_op_cancel(op), ErrorKind::Ok);
    assert_eq!(pim_op_cancel(op), ErrorKind::Ok);
    pim_op_free(op);
    pim_op_free(op);
    pim_client_free(client);
}

#[test]
fn an_operation_error_carries_the_service_details() {
    let env = emulator(pim_emulator::Scenario::Demo);
    let client = env.client();
    let expired = env.token(json!({"expiresIn": -10}));
    let mut op = null_mut();
    assert_eq!(unsafe { pim_list_pending(client, expired.as_ptr(), null(), &mut op, null_mut()) }, ErrorKind::Ok);
    while pim_op_wait(op, 50) == ErrorKind::Pending {}
    let mut err = null_mut();
    assert_eq!(unsafe { pim_op_error(op, &mut err) }, ErrorKind::TokenExpired);
    assert_eq!(pim_error_code(err), ErrorKind::TokenExpired);
    assert_eq!(pim_error_http_status(err), 0);
    let msg = message(err);
    assert!(msg.contains("expired"), "{msg}");
    assert!(!msg.contains(expired.to_str().unwrap()), "the token never appears in an error");
    pim_op_free(op);
    pim_client_free(client);
}

#[test]
fn token_info_reads_claims_without_echoing_the_token() {
    let env = emulator(pim_emulator::Scenario::Empty);
    let token = env.token(json!({"scopes": ["A.B"]}));
    let mut json_out = null_mut();
    assert_eq!(unsafe { pim_token_info(token.as_ptr(), &mut json_out, null_mut()) }, ErrorKind::Ok);
    let text = unsafe { CStr::from_ptr(json_out) }.to_str().unwrap().to_string();
    pim_string_free(json_out);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["scopes"], json!(["A.B"]));
    assert_eq!(v["appOnly"], false);
    assert!(!text.contains(token.to_str().unwrap().split('.').nth(1).unwrap()));
    let opaque = CString::new("not-a-jwt").unwrap();
    assert_eq!(unsafe { pim_token_info(opaque.as_ptr(), &mut json_out, null_mut()) }, ErrorKind::InvalidToken);
}

#[cfg(feature = "test-panic")]
#[test]
fn a_panic_inside_an_export_comes_back_as_a_result_code() {
    let trigger = CString::new("{\"testPanic\":true}").unwrap();
    let mut client = null_mut();
    let mut err = null_mut();
    let rc = unsafe { pim_client_new(trigger.as_ptr(), &mut client, &mut err) };
    assert_eq!(rc, ErrorKind::Panic);
    assert!(message(err).contains("panic"));
    assert!(client.is_null());
    // And the library still works afterwards.
    assert_eq!(unsafe { pim_client_new(null(), &mut client, null_mut()) }, ErrorKind::Ok);
    pim_client_free(client);
}

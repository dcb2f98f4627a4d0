//! The C ABI called as C would call it: bad pointers, bad strings, bad handles, panics, and a
//! full list-then-approve flow against an emulator.

use std::ffi::{CStr, CString, c_char};
use std::ptr::{null, null_mut};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
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
        assert_eq!(unsafe { pim_client_new(opts.as_ptr(), &mut client, null_mut()) }, PimResult::Ok);
        client
    }
}

fn message(err: *mut pim_error) -> String {
    let m = unsafe { CStr::from_ptr(pim_error_message(err)) }.to_string_lossy().into_owned();
    pim_error_free(err);
    m
}

/// Waits for an operation and returns every result it produced.
fn drain(op: *mut pim_op) -> (Vec<Value>, PimResult) {
    let mut all = Vec::new();
    loop {
        let finished = pim_op_wait(op, 50) == PimResult::Ok;
        let mut json: *mut c_char = null_mut();
        assert_eq!(unsafe { pim_op_take_results(op, &mut json, null_mut()) }, PimResult::Ok);
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
    assert_eq!(unsafe { pim_client_new(null(), null_mut(), &mut err) }, PimResult::NullParameter);
    assert!(message(err).contains("client_out"));
    let mut op = null_mut();
    let tok = CString::new("a.b.c").unwrap();
    assert_eq!(
        unsafe { pim_list_pending(null(), tok.as_ptr(), null(), &mut op, null_mut()) },
        PimResult::NullParameter
    );
    assert!(op.is_null(), "out-parameters are written only on success");
    assert_eq!(pim_op_wait(null(), 0), PimResult::NullParameter);
    assert_eq!(pim_op_cancel(null()), PimResult::NullParameter);
    assert_eq!(unsafe { pim_op_progress(null(), null_mut(), null_mut()) }, PimResult::NullParameter);
    assert_eq!(pim_error_code(null()), PimResult::InvalidHandle);
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
    assert_eq!(rc, PimResult::InvalidUtf8);
    assert_eq!(pim_error_code(err), PimResult::InvalidUtf8);
    pim_error_free(err);
    for opts in [r#"{"bogus": 1}"#, "{", "[]", r#"{"graphUri": "http://example.com"}"#, r#"{"maxConcurrency": 0}"#] {
        let c = CString::new(opts).unwrap();
        let mut err = null_mut();
        let rc = unsafe { pim_client_new(c.as_ptr(), &mut client, &mut err) };
        assert!(matches!(rc, PimResult::InvalidOptions | PimResult::InsecureUri), "{opts}: {rc:?}");
        assert!(!message(err).is_empty());
    }
    assert!(client.is_null());
}

#[test]
fn freed_foreign_and_wrong_kind_handles_are_detected() {
    let mut client = null_mut();
    assert_eq!(unsafe { pim_client_new(null(), &mut client, null_mut()) }, PimResult::Ok);
    // A client is not an operation.
    assert_eq!(pim_op_wait(client as *const pim_op, 0), PimResult::InvalidHandle);
    let mut local = 5u64;
    assert_eq!(pim_op_cancel(&mut local as *mut u64 as *const pim_op), PimResult::InvalidHandle);
    // An error freed as a client is ignored; the error stays live until freed as an error.
    let mut err = null_mut();
    let mut op = null_mut();
    let tok = CString::new("a.b.c").unwrap();
    let empty = CString::new("").unwrap();
    let reqs = CString::new("[]").unwrap();
    let rc = unsafe { pim_approve(client, tok.as_ptr(), null(), reqs.as_ptr(), empty.as_ptr(), &mut op, &mut err) };
    assert_eq!(rc, PimResult::InvalidJustification);
    pim_client_free(err as *mut pim_client);
    assert_eq!(pim_error_code(err), PimResult::InvalidJustification);
    pim_error_free(err);
    pim_error_free(err);
    assert_eq!(pim_error_code(err), PimResult::InvalidHandle);
    pim_client_free(client);
    pim_client_free(client);
    let mut op = null_mut();
    let rc = unsafe { pim_list_pending(client, tok.as_ptr(), null(), &mut op, null_mut()) };
    assert_eq!(rc, PimResult::InvalidHandle);
}

#[test]
fn bad_requests_are_refused_before_anything_is_sent() {
    let env = emulator(pim_emulator::Scenario::Demo);
    let client = env.client();
    let token = env.token(json!({}));
    let mut op = null_mut();
    let cases: &[(&str, &str, PimResult)] = &[
        ("[{\"approvalId\": \"x\"}", "ok", PimResult::InvalidInput),
        ("{\"approvalId\": \"x\"}", "ok", PimResult::InvalidInput),
        ("[{\"approvalId\": \"x\", \"extra\": 1}]", "ok", PimResult::InvalidInput),
        ("[]", "   ", PimResult::InvalidJustification),
    ];
    for (reqs, why, expected) in cases {
        let (r, w) = (CString::new(*reqs).unwrap(), CString::new(*why).unwrap());
        let rc = unsafe { pim_approve(client, token.as_ptr(), null(), r.as_ptr(), w.as_ptr(), &mut op, null_mut()) };
        assert_eq!(rc, *expected, "{reqs} / {why:?}");
    }
    let huge = CString::new("x".repeat(1 << 20)).unwrap();
    let r = CString::new("[]").unwrap();
    let rc = unsafe { pim_deny(client, token.as_ptr(), null(), r.as_ptr(), huge.as_ptr(), &mut op, null_mut()) };
    assert_eq!(rc, PimResult::InvalidJustification);
    let rc = unsafe { pim_deny(client, null(), null(), r.as_ptr(), huge.as_ptr(), &mut op, null_mut()) };
    assert_eq!(rc, PimResult::MissingToken);
    // Ids that are not GUIDs fail per request, and nothing is sent.
    let r = CString::new(r#"[{"approvalId":"../../users"},{"approvalId":"%2F"},{"approvalId":""}]"#).unwrap();
    let w = CString::new("ok").unwrap();
    assert_eq!(
        unsafe { pim_approve(client, token.as_ptr(), null(), r.as_ptr(), w.as_ptr(), &mut op, null_mut()) },
        PimResult::Ok
    );
    let (results, rc) = drain(op);
    pim_op_free(op);
    assert_eq!(rc, PimResult::Ok);
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
    assert_eq!(unsafe { pim_list_pending(client, token.as_ptr(), null(), &mut op, null_mut()) }, PimResult::Ok);
    let (pending, rc) = drain(op);
    assert_eq!(rc, PimResult::Ok);
    assert_eq!(pending.len(), 60);
    let (mut done, mut total) = (0, 0);
    assert_eq!(unsafe { pim_op_progress(op, &mut done, &mut total) }, PimResult::Ok);
    assert_eq!((done, total), (60, 60));
    pim_op_free(op);

    let reqs: Vec<Value> = pending.iter().map(|p| json!({"approvalId": p["approvalId"]})).collect();
    let r = CString::new(Value::from(reqs).to_string()).unwrap();
    let w = CString::new("Approved for the change window").unwrap();
    assert_eq!(
        unsafe { pim_approve(client, token.as_ptr(), null(), r.as_ptr(), w.as_ptr(), &mut op, null_mut()) },
        PimResult::Ok
    );
    let (results, rc) = drain(op);
    assert_eq!(rc, PimResult::Ok);
    assert_eq!(results.len(), 60);
    assert!(results.iter().all(|r| r["result"] == "Approved"));
    assert_eq!(env.decisions().len(), 60);
    // Cancel twice and free after cancel are harmless.
    assert_eq!(pim_op_cancel(op), PimResult::Ok);
    assert_eq!(pim_op_cancel(op), PimResult::Ok);
    pim_op_free(op);
    pim_op_free(op);
    pim_client_free(client);
}

#[test]
fn streams_pushed_in_pages_then_closed_through_the_c_abi() {
    let env = emulator(pim_emulator::Scenario::Bulk(45));
    let client = env.client();
    let token = env.token(json!({}));
    let mut op = null_mut();
    assert_eq!(unsafe { pim_list_pending(client, token.as_ptr(), null(), &mut op, null_mut()) }, PimResult::Ok);
    let (pending, _) = drain(op);
    pim_op_free(op);
    assert_eq!(pending.len(), 45);

    let w = CString::new("Approved for the change window").unwrap();
    assert_eq!(
        unsafe { pim_approve_stream(client, token.as_ptr(), null(), w.as_ptr(), &mut op, null_mut()) },
        PimResult::Ok
    );
    // Three pushes, the last naming the first request again: indexes run on across them.
    let page = |from: usize, to: usize| {
        let reqs: Vec<Value> = pending[from..to].iter().map(|p| json!({"approvalId": p["approvalId"]})).collect();
        CString::new(Value::from(reqs).to_string()).unwrap()
    };
    for (from, to) in [(0, 30), (30, 45), (0, 1)] {
        assert_eq!(unsafe { pim_op_push(op, page(from, to).as_ptr(), null_mut()) }, PimResult::Ok);
    }
    let bad = CString::new("[{").unwrap();
    let mut err = null_mut();
    assert_eq!(unsafe { pim_op_push(op, bad.as_ptr(), &mut err) }, PimResult::InvalidInput);
    assert!(message(err).contains("requests_json"));
    assert_eq!(pim_op_close_input(op), PimResult::Ok);
    let mut err = null_mut();
    assert_eq!(unsafe { pim_op_push(op, page(0, 1).as_ptr(), &mut err) }, PimResult::InputClosed);
    assert!(message(err).contains("closed"));
    let (results, rc) = drain(op);
    assert_eq!(rc, PimResult::Ok);
    let mut indexes: Vec<u64> = results.iter().map(|r| r["index"].as_u64().unwrap()).collect();
    indexes.sort_unstable();
    assert_eq!(indexes, (0..46).collect::<Vec<u64>>(), "each request pushed reported once");
    assert_eq!(results.iter().filter(|r| r["result"] == "Approved").count(), 45);
    let dup = results.iter().find(|r| r["index"] == 45).unwrap();
    assert_eq!((dup["result"].as_str(), dup["error"]["kind"].as_str()), (Some("Failed"), Some("Duplicate")));
    assert_eq!(env.decisions().len(), 45);
    let (mut done, mut total) = (0, 0);
    assert_eq!(unsafe { pim_op_progress(op, &mut done, &mut total) }, PimResult::Ok);
    assert_eq!((done, total), (46, 46));
    pim_op_free(op);

    // An operation that takes no pushes.
    let none = CString::new("[]").unwrap();
    assert_eq!(
        unsafe { pim_approve(client, token.as_ptr(), null(), none.as_ptr(), w.as_ptr(), &mut op, null_mut()) },
        PimResult::Ok
    );
    assert_eq!(unsafe { pim_op_push(op, none.as_ptr(), null_mut()) }, PimResult::NotAStream);
    assert_eq!(pim_op_close_input(op), PimResult::NotAStream);
    drain(op);
    pim_op_free(op);
    assert_eq!(pim_op_close_input(op), PimResult::InvalidHandle);
    pim_client_free(client);
}

#[test]
fn an_operation_error_carries_the_service_details() {
    let env = emulator(pim_emulator::Scenario::Demo);
    let client = env.client();
    let expired = env.token(json!({"expiresIn": -10}));
    let mut op = null_mut();
    assert_eq!(unsafe { pim_list_pending(client, expired.as_ptr(), null(), &mut op, null_mut()) }, PimResult::Ok);
    while pim_op_wait(op, 50) == PimResult::Pending {}
    let mut err = null_mut();
    assert_eq!(unsafe { pim_op_error(op, &mut err) }, PimResult::TokenExpired);
    assert_eq!(pim_error_code(err), PimResult::TokenExpired);
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
    assert_eq!(unsafe { pim_token_info(token.as_ptr(), &mut json_out, null_mut()) }, PimResult::Ok);
    let text = unsafe { CStr::from_ptr(json_out) }.to_str().unwrap().to_string();
    pim_string_free(json_out);
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["scopes"], json!(["A.B"]));
    assert_eq!(v["appOnly"], false);
    // The tenant that issued it (tid), as the token's own claims say.
    let payload = token.to_str().unwrap().split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert!(claims["tid"].as_str().is_some_and(|t| !t.is_empty()), "the emulator's token names its tenant");
    assert_eq!(v["tenantId"], claims["tid"]);
    assert!(!text.contains(payload));
    let opaque = CString::new("not-a-jwt").unwrap();
    assert_eq!(unsafe { pim_token_info(opaque.as_ptr(), &mut json_out, null_mut()) }, PimResult::InvalidToken);
}

#[cfg(feature = "test-panic")]
#[test]
fn a_panic_inside_an_export_comes_back_as_a_result_code() {
    let trigger = CString::new("{\"testPanic\":true}").unwrap();
    let mut client = null_mut();
    let mut err = null_mut();
    let rc = unsafe { pim_client_new(trigger.as_ptr(), &mut client, &mut err) };
    assert_eq!(rc, PimResult::Panic);
    assert!(message(err).contains("panic"));
    assert!(client.is_null());
    // And the library still works afterwards.
    assert_eq!(unsafe { pim_client_new(null(), &mut client, null_mut()) }, PimResult::Ok);
    pim_client_free(client);
}

#[test]
fn the_abi_version_and_the_surfaces_are_the_library_s_word() {
    assert_eq!(pim_abi_version(), PIM_ABI_VERSION);
    let surfaces: Value = serde_json::from_str(unsafe { CStr::from_ptr(pim_surfaces()) }.to_str().unwrap()).unwrap();
    let names: Vec<&str> = surfaces.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["DirectoryRole", "Group", "AzureResource"]);
    assert_eq!(surfaces[2]["service"], "arm");
    assert_eq!(surfaces[0]["decideScopes"], json!(["RoleAssignmentSchedule.ReadWrite.Directory"]));
    let resolve = |id: Option<&str>, surface: Option<&str>| {
        let (id, surface) = (id.map(|s| CString::new(s).unwrap()), surface.map(|s| CString::new(s).unwrap()));
        let p = unsafe {
            pim_surface_resolve(
                id.as_ref().map_or(null(), |c| c.as_ptr()),
                surface.as_ref().map_or(null(), |c| c.as_ptr()),
            )
        };
        (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string())
    };
    let path = "/providers/Microsoft.Authorization/roleAssignmentApprovals/929cd687-a296-4f77-bdbc-b7cc22d3517e";
    assert_eq!(resolve(Some(path), None).as_deref(), Some("AzureResource"));
    assert_eq!(resolve(Some("929cd687-a296-4f77-bdbc-b7cc22d3517e"), Some("")).as_deref(), Some("DirectoryRole"));
    assert_eq!(resolve(Some(path), Some("group")).as_deref(), Some("Group"), "a surface named wins, in any case");
    assert_eq!(resolve(Some("x"), Some("Mailbox")), None);
    assert_eq!(resolve(None, None), None);
}

#[test]
fn operation_and_item_failures_cross_in_one_shape() {
    let env = emulator(pim_emulator::Scenario::Demo);
    let client = env.client();
    let token = env.token(json!({}));
    // An item failure: JSON in the results.
    let (r, w) = (CString::new(r#"[{"approvalId":"../x"}]"#).unwrap(), CString::new("ok").unwrap());
    let mut op = null_mut();
    assert_eq!(
        unsafe { pim_approve(client, token.as_ptr(), null(), r.as_ptr(), w.as_ptr(), &mut op, null_mut()) },
        PimResult::Ok
    );
    let (results, _) = drain(op);
    pim_op_free(op);
    let item = &results[0]["error"];
    let mut fields: Vec<&str> = item.as_object().unwrap().keys().map(String::as_str).collect();
    fields.sort();
    assert_eq!(fields, ["code", "httpStatus", "kind", "message", "requestId", "serviceCode"]);
    assert_eq!((item["kind"].as_str(), item["code"].as_u64()), (Some("InvalidId"), Some(PimResult::InvalidId as u64)));
    // An operation failure: a pim_error object, the same fields through its accessors.
    let mut err = null_mut();
    let empty = CString::new(" ").unwrap();
    let rc = unsafe { pim_approve(client, token.as_ptr(), null(), r.as_ptr(), empty.as_ptr(), &mut op, &mut err) };
    assert_eq!((rc, pim_error_code(err)), (PimResult::InvalidJustification, PimResult::InvalidJustification));
    assert_eq!(unsafe { CStr::from_ptr(pim_error_kind(err)) }.to_str().unwrap(), "InvalidJustification");
    assert_eq!(pim_error_http_status(err), 0);
    assert_eq!(unsafe { CStr::from_ptr(pim_error_service_code(err)) }.to_bytes(), b"");
    assert_eq!(unsafe { CStr::from_ptr(pim_error_request_id(err)) }.to_bytes(), b"");
    assert!(!message(err).is_empty());
    assert!(pim_error_kind(err).is_null(), "freed");
    pim_client_free(client);
}

//! Issue 11 through the C ABI, as C calls it: results that say what happened after a cancel
//! (finding 3), per-item listing errors in the result stream (finding 8), inputs refused before
//! any call and the claims of a challenge (finding 9), and an id alone found on its surface
//! (finding 10).

mod common;

use std::ffi::{CStr, CString, c_char};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::hostile::{Hostile, Reply, approval, approval_of, batch, graph_token, guid};
use pim_bridge::ffi::*;
use serde_json::{Value, json};

/// A runtime of its own for the servers, so the blocking C calls run on the test thread.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn client(options: Value) -> *mut pim_client {
    let opts = CString::new(options.to_string()).unwrap();
    let mut client = null_mut();
    let mut err = null_mut();
    let rc = unsafe { pim_client_new(opts.as_ptr(), &mut client, &mut err) };
    assert_eq!(rc, PimResult::Ok, "{}", message(err));
    client
}

fn message(err: *mut pim_error) -> String {
    if err.is_null() {
        return String::new();
    }
    let m = unsafe { CStr::from_ptr(pim_error_message(err)) }.to_string_lossy().into_owned();
    pim_error_free(err);
    m
}

/// Polls an operation to its end; every result, and its outcome.
fn drain(op: *mut pim_op) -> (Vec<Value>, PimResult, *mut pim_error) {
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
    let mut err = null_mut();
    let rc = unsafe { pim_op_error(op, &mut err) };
    (all, rc, err)
}

fn approve(client: *mut pim_client, token: &str, requests: &Value, why: &str) -> (PimResult, *mut pim_op, String) {
    let (t, r, w) =
        (CString::new(token).unwrap(), CString::new(requests.to_string()).unwrap(), CString::new(why).unwrap());
    let mut op = null_mut();
    let mut err = null_mut();
    let rc = unsafe { pim_approve(client, t.as_ptr(), null(), r.as_ptr(), w.as_ptr(), &mut op, &mut err) };
    (rc, op, message(err))
}

#[test]
fn a_cancel_through_the_abi_reports_the_decisions_applied() {
    // Before: 20 decisions applied, all 20 results "cancelled before this request was decided".
    let rt = runtime();
    let applied = Arc::new(AtomicU32::new(0));
    let a = applied.clone();
    let h = rt.block_on(Hostile::start(move |req| {
        if req.json()["requests"][0]["method"] == "PATCH" {
            a.fetch_add(20, Ordering::SeqCst);
            return Reply::After(Duration::from_millis(600), Box::new(batch(req, |_| (204, Value::Null))));
        }
        batch(req, |r| (200, approval(&approval_of(r["url"].as_str().unwrap()), None)))
    }));
    let client = client(json!({"graphUri": h.base, "maxConcurrency": 1}));
    let requests: Vec<Value> = (0..40).map(|i| json!({"approvalId": guid(i), "surface": "DirectoryRole"})).collect();
    let (rc, op, _) = approve(client, &graph_token(), &Value::from(requests), "Change 42");
    assert_eq!(rc, PimResult::Ok);
    while applied.load(Ordering::SeqCst) == 0 {
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(pim_op_cancel(op), PimResult::Ok);
    let (results, rc, err) = drain(op);
    pim_error_free(err);
    assert_eq!(rc, PimResult::Cancelled);
    assert_eq!(results.len(), 40, "every request reported");
    let approved = results.iter().filter(|r| r["result"] == "Approved").count();
    let not_sent = results.iter().filter(|r| r["result"] == "Failed" && r["error"]["kind"] == "Cancelled").count();
    assert_eq!((approved, not_sent), (20, 20), "{results:?}");
    pim_op_free(op);
    pim_client_free(client);
}

#[test]
fn a_bad_listed_item_crosses_as_one_error_item() {
    let rt = runtime();
    let h = rt.block_on(Hostile::start(|_| {
        Reply::Json(
            200,
            json!({"value": [
            {"id": "a", "approvalId": guid(1), "status": "PendingApproval", "createdDateTime": "not a date"},
            {"id": "b", "approvalId": guid(2), "status": "PendingApproval"}]}),
        )
    }));
    let client = client(json!({"graphUri": h.base}));
    let token = CString::new(graph_token()).unwrap();
    let mut op = null_mut();
    assert_eq!(unsafe { pim_list_pending(client, token.as_ptr(), null(), &mut op, null_mut()) }, PimResult::Ok);
    let (results, rc, _) = drain(op);
    assert_eq!(rc, PimResult::Ok, "the listing goes on");
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["requestId"], "a");
    assert_eq!(results[0]["approvalId"], guid(1));
    assert_eq!(results[0]["surface"], "DirectoryRole");
    assert_eq!(results[0]["error"]["kind"], "InvalidResponse");
    assert!(results[0]["error"]["message"].as_str().unwrap().contains("not a date"));
    assert_eq!((results[1]["requestId"].as_str(), &results[1]["error"]), (Some("b"), &Value::Null));
    pim_op_free(op);
    pim_client_free(client);
}

#[test]
fn a_claims_challenge_carries_its_claims() {
    let rt = runtime();
    let h = rt.block_on(Hostile::start(|_| Reply::Raw {
        status: 401,
        headers: vec![(
            "WWW-Authenticate".into(),
            "Bearer error=\"insufficient_claims\", claims=\"eyJ4Ijp7fX0=\"".into(),
        )],
        body: vec![],
    }));
    let client = client(json!({"graphUri": h.base}));
    let token = CString::new(graph_token()).unwrap();
    let mut op = null_mut();
    assert_eq!(unsafe { pim_list_pending(client, token.as_ptr(), null(), &mut op, null_mut()) }, PimResult::Ok);
    let (_, rc, err) = drain(op);
    assert_eq!(rc, PimResult::TokenChallenge);
    assert_eq!(unsafe { CStr::from_ptr(pim_error_claims(err)) }.to_str().unwrap(), "eyJ4Ijp7fX0=");
    assert_eq!(unsafe { CStr::from_ptr(pim_error_kind(err)) }.to_str().unwrap(), "TokenChallenge");
    pim_error_free(err);
    assert!(pim_error_claims(err).is_null(), "freed");
    pim_op_free(op);
    pim_client_free(client);
}

#[test]
fn hostile_inputs_are_refused_before_any_call() {
    let rt = runtime();
    let seen = Arc::new(Mutex::new(0));
    let s = seen.clone();
    let h = rt.block_on(Hostile::start(move |_| {
        *s.lock().unwrap() += 1;
        Reply::status(500)
    }));
    // Credentials in a service URI: before, accepted (https://:password@...).
    for uri in [format!("http://user:password@{}", &h.base[7..]), format!("http://:password@{}", &h.base[7..])] {
        let opts = CString::new(json!({"graphUri": uri}).to_string()).unwrap();
        let (mut c, mut err) = (null_mut(), null_mut());
        assert_eq!(unsafe { pim_client_new(opts.as_ptr(), &mut c, &mut err) }, PimResult::InsecureUri);
        assert!(!message(err).contains("password@"), "the secret is not echoed");
    }
    let client = client(json!({"graphUri": h.base}));
    let one = json!([{"approvalId": guid(1)}]);
    // Invisible-only justifications: before, accepted and sent.
    for why in ["\u{200b}\u{200b}", "\u{feff}", "\u{200d}\u{2060}\u{3164}", "ok\u{1b}[1A"] {
        let (rc, op, m) = approve(client, &graph_token(), &one, why);
        assert_eq!(rc, PimResult::InvalidJustification, "{why:?}: {m}");
        assert!(op.is_null());
    }
    assert_eq!(*seen.lock().unwrap(), 0, "nothing reached the service");
    pim_client_free(client);
}

#[test]
fn an_id_alone_is_found_through_the_abi() {
    let rt = runtime();
    let running = rt
        .block_on(pim_emulator::start(
            "127.0.0.1:0",
            pim_emulator::Config { scenario: pim_emulator::Scenario::Demo, ..Default::default() },
        ))
        .unwrap();
    running.set_forms(&json!({"group.waitingStatus": "InProgress"})).unwrap();
    let base = running.base_url.clone();
    let token: Value = rt
        .block_on(async {
            reqwest::Client::new().post(format!("{base}/_emulator/token")).json(&json!({})).send().await?.json().await
        })
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_string();
    let client = client(json!({"graphUri": base}));
    let (t, o) = (CString::new(token.clone()).unwrap(), CString::new(r#"{"surface":"Group"}"#).unwrap());
    let mut op = null_mut();
    assert_eq!(unsafe { pim_list_pending(client, t.as_ptr(), o.as_ptr(), &mut op, null_mut()) }, PimResult::Ok);
    let (groups, _, _) = drain(op);
    pim_op_free(op);
    let id = groups[0]["approvalId"].as_str().unwrap();
    let (rc, op, _) = approve(client, &token, &json!([{"approvalId": id}]), "Change 42");
    assert_eq!(rc, PimResult::Ok);
    let (results, rc, _) = drain(op);
    assert_eq!(rc, PimResult::Ok);
    assert_eq!(
        (results[0]["surface"].as_str(), results[0]["result"].as_str()),
        (Some("Group"), Some("Approved")),
        "{results:?}"
    );
    pim_op_free(op);
    pim_client_free(client);
    drop(running);
}

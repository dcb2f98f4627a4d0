//! Tracing: an operation run with a trace records each HTTP call with the service's request-id,
//! each batch item, and each wait with its reason, and never the token or the Authorization
//! value. Nothing here depends on timing: the faults come from a schedule.

mod common;

use std::ffi::{CStr, CString, c_char};
use std::ptr::null_mut;

use common::Env;
use pim_bridge::client::Tokens;
use pim_bridge::http::trace::{Trace, TraceEvent, TraceLevel, WaitReason};
use pim_bridge::{DecisionTarget, Justification, ListOptions, Review};
use pim_emulator::{Config, FaultConfig, Scenario};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// Lists, then approves every request listed, each in its own trace at `level`.
async fn list_and_approve(env: &Env, raw_token: &str, level: TraceLevel) -> (Vec<TraceEvent>, Vec<TraceEvent>) {
    let client = env.client_with_retry(json!({"baseDelayMs": 10, "budgetMs": 60000}));
    let token = pim_bridge::AccessToken::new(raw_token).unwrap();
    let listing = Trace::new(level, 1000);
    let mut listed = Vec::new();
    listing
        .clone()
        .scope(client.list_pending(&token, &ListOptions::default(), &CancellationToken::new(), |p| listed.extend(p)))
        .await
        .unwrap();
    assert!(!listed.is_empty());
    let targets: Vec<DecisionTarget> = listed
        .iter()
        .map(|r| DecisionTarget { approval_id: r.approval_id.clone(), surface: r.surface, principal_id: None })
        .collect();
    let deciding = Trace::new(level, 1000);
    let mut out = Vec::new();
    deciding
        .clone()
        .scope(client.decide_many(
            &Tokens { graph: Some(token), arm: None },
            targets,
            Review::Approve,
            &Justification::parse("Traced").unwrap(),
            &CancellationToken::new(),
            |o| out.push(o),
        ))
        .await
        .unwrap();
    // The demo tenant holds one request of the approver's own, refused as self-approval.
    assert!(out.iter().any(|o| o.result == "Approved"), "{out:?}");
    assert!(out.iter().all(|o| o.result == "Approved" || o.result == "Failed"), "{out:?}");
    let (l, d) = (listing.take(), deciding.take());
    assert_eq!((l.dropped, d.dropped), (0, 0));
    (l.events, d.events)
}

fn assert_no_secret(events: &[TraceEvent], token: &str) {
    let text = serde_json::to_string(events).unwrap();
    assert!(!text.contains(token), "the token is in the trace");
    // Any one part of the token (its signature above all) is a secret too.
    for part in token.split('.').filter(|p| p.len() > 8) {
        assert!(!text.contains(part), "a part of the token is in the trace");
    }
    assert!(!text.contains("Bearer"), "an Authorization value is in the trace");
}

#[tokio::test]
async fn a_traced_run_records_each_call_with_its_request_id_and_never_the_token() {
    let env = Env::start(Scenario::Demo).await;
    let raw = env.raw_token(json!({})).await;
    let (listing, deciding) = list_and_approve(&env, &raw, TraceLevel::Calls).await;
    let listed_ok = listing.iter().all(|e| matches!(e, TraceEvent::Call { status: Some(200), .. }));
    assert!(listed_ok, "{listing:?}");
    for events in [&listing, &deciding] {
        let calls: Vec<&TraceEvent> = events.iter().filter(|e| matches!(e, TraceEvent::Call { .. })).collect();
        assert!(!calls.is_empty());
        for c in &calls {
            let TraceEvent::Call { method, route, status, request_id, request_headers, .. } = c else { unreachable!() };
            assert!(!method.is_empty() && route.starts_with('/'), "{c:?}");
            assert!(status.is_some_and(|s| s < 500), "{c:?}");
            assert!(request_id.as_deref().is_some_and(|r| !r.is_empty()), "a request-id: {c:?}");
            assert!(request_headers.is_none(), "no headers below the Headers level");
        }
        assert_no_secret(events, &raw);
    }
    assert!(
        listing.iter().any(|e| matches!(e, TraceEvent::Call { method, route, .. }
            if method == "GET" && route.contains("roleAssignmentScheduleRequests"))),
        "the listing's GET: {listing:?}"
    );
    let batch = deciding.iter().any(|e| matches!(e, TraceEvent::Call { route, .. } if route.ends_with("/$batch")));
    let items =
        deciding.iter().filter(|e| matches!(e, TraceEvent::BatchItem { status: Some(200), request_id: Some(_), .. }));
    assert!(batch && items.count() >= 2, "the $batch and its items (read, then decide): {deciding:?}");
}

#[tokio::test]
async fn headers_come_with_authorization_redacted() {
    let env = Env::start(Scenario::Demo).await;
    let raw = env.raw_token(json!({})).await;
    let (listing, deciding) = list_and_approve(&env, &raw, TraceLevel::Headers).await;
    let TraceEvent::Call { request_headers: Some(sent), response_headers: Some(got), .. } =
        listing.iter().find(|e| matches!(e, TraceEvent::Call { .. })).unwrap()
    else {
        panic!("headers at the Headers level: {listing:?}")
    };
    let auth = sent.iter().find(|(k, _)| k.eq_ignore_ascii_case("authorization")).expect("Authorization shown");
    assert_eq!(auth.1, "<redacted>");
    assert!(got.iter().any(|(k, _)| k.eq_ignore_ascii_case("request-id")), "{got:?}");
    assert_no_secret(&listing, &raw);
    assert_no_secret(&deciding, &raw);
}

#[tokio::test]
async fn a_throttled_decision_records_the_429_and_the_wait_with_its_reason() {
    let config = Config {
        scenario: Scenario::Bulk(3),
        faults: FaultConfig { schedule: vec!["throttle@write:1".into()], ..FaultConfig::default() },
        ..Config::default()
    };
    let env = Env::with_config(config).await;
    let raw = env.raw_token(json!({})).await;
    let (_, deciding) = list_and_approve(&env, &raw, TraceLevel::Calls).await;
    let throttled = deciding
        .iter()
        .find(|e| matches!(e, TraceEvent::BatchItem { status: Some(429), .. }))
        .unwrap_or_else(|| panic!("the 429 is recorded: {deciding:?}"));
    let TraceEvent::BatchItem { retry_after_ms: Some(1000), request_id: Some(_), method, .. } = throttled else {
        panic!("the 429 carries its Retry-After and request-id: {throttled:?}")
    };
    assert_eq!(method, "PATCH");
    let wait = deciding
        .iter()
        .find(|e| matches!(e, TraceEvent::Wait { .. }))
        .unwrap_or_else(|| panic!("the wait is recorded: {deciding:?}"));
    let TraceEvent::Wait { reason, retry_after_ms, ms, waiting, .. } = wait else { unreachable!() };
    assert_eq!(*reason, WaitReason::Throttled);
    assert_eq!(*retry_after_ms, Some(1000));
    assert!(*ms >= 1000, "the wait honours Retry-After: {wait:?}");
    assert!(waiting.contains(&(WaitReason::Throttled, 1)), "{waiting:?}");
    let text = serde_json::to_value(wait).unwrap();
    assert_eq!(text["kind"], "wait");
    assert_eq!(text["reason"], "throttled");
    assert_eq!(text["retryAfterMs"], 1000);
}

#[tokio::test]
async fn without_a_trace_nothing_is_recorded() {
    let env = Env::start(Scenario::Demo).await;
    let token = env.token().await;
    let trace = Trace::new(TraceLevel::Calls, 10);
    // Listed outside the trace's scope: the trace sees nothing.
    env.client().list_pending(&token, &ListOptions::default(), &CancellationToken::new(), |_| {}).await.unwrap();
    assert!(trace.take().events.is_empty());
    // At the Waits level, calls are not recorded either.
    let waits = Trace::new(TraceLevel::Waits, 10);
    waits
        .clone()
        .scope(env.client().list_pending(&token, &ListOptions::default(), &CancellationToken::new(), |_| {}))
        .await
        .unwrap();
    assert!(waits.take().events.is_empty());
}

/// The C ABI: a traced handle on a client, its operations' traces taken as JSON.
#[test]
fn the_c_abi_hands_out_a_trace_per_operation() {
    use pim_bridge::ffi::*;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let env = rt.block_on(Env::start(Scenario::Demo));
    let raw = rt.block_on(env.raw_token(json!({})));
    let token = CString::new(raw.clone()).unwrap();
    let opts = CString::new(json!({"graphUri": env.base()}).to_string()).unwrap();
    let mut client = null_mut();
    assert_eq!(unsafe { pim_client_new(opts.as_ptr(), &mut client, null_mut()) }, PimResult::Ok);
    let mut traced = null_mut();
    assert_eq!(unsafe { pim_client_with_trace(client, 9, &mut traced, null_mut()) }, PimResult::InvalidInput);
    assert!(traced.is_null(), "written only on success");
    assert_eq!(unsafe { pim_client_with_trace(client, PIM_TRACE_HEADERS, &mut traced, null_mut()) }, PimResult::Ok);
    // The base handle may go first: the traced one keeps the runtime.
    pim_client_free(client);
    let mut op = null_mut();
    assert_eq!(
        unsafe { pim_list_pending(traced, token.as_ptr(), std::ptr::null(), &mut op, null_mut()) },
        PimResult::Ok
    );
    let mut events = Vec::new();
    loop {
        let finished = pim_op_wait(op, 50) == PimResult::Ok;
        let mut json: *mut c_char = null_mut();
        assert_eq!(unsafe { pim_op_take_trace(op, &mut json, null_mut()) }, PimResult::Ok);
        let text = unsafe { CStr::from_ptr(json) }.to_str().unwrap().to_string();
        pim_string_free(json);
        assert!(!text.contains(&raw) && !text.contains("Bearer"), "no token in {text}");
        let taken: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(taken["dropped"], 0);
        events.extend(taken["events"].as_array().unwrap().iter().cloned());
        if finished {
            break;
        }
    }
    assert_eq!(unsafe { pim_op_error(op, null_mut()) }, PimResult::Ok);
    pim_op_free(op);
    pim_client_free(traced);
    let call = events.iter().find(|e| e["kind"] == "call").expect("a call");
    assert_eq!(call["method"], "GET");
    assert_eq!(call["status"], 200);
    assert!(call["requestId"].as_str().is_some_and(|r| !r.is_empty()));
    assert!(call["ms"].is_u64());
    let auth = call["requestHeaders"].as_array().unwrap().iter().find(|h| h[0] == "authorization").unwrap();
    assert_eq!(auth[1], "<redacted>");
}

#[tokio::test]
async fn a_paged_listing_shows_no_skiptoken_value() {
    let env = Env::start(Scenario::Bulk(25)).await;
    let token = env.token().await;
    let trace = Trace::new(TraceLevel::Calls, 1000);
    let options = ListOptions { page_size: Some(10), ..ListOptions::default() };
    let mut listed = 0;
    trace
        .clone()
        .scope(env.client().list_pending(&token, &options, &CancellationToken::new(), |p| listed += p.len()))
        .await
        .unwrap();
    assert_eq!(listed, 25);
    let routes: Vec<String> = trace
        .take()
        .events
        .into_iter()
        .filter_map(|e| match e {
            TraceEvent::Call { route, .. } => Some(route),
            _ => None,
        })
        .collect();
    let paged: Vec<&String> = routes.iter().filter(|r| r.contains("skiptoken")).collect();
    assert!(paged.len() >= 2, "the next pages were followed: {routes:?}");
    assert!(paged.iter().all(|r| r.contains("$skiptoken=***") && !r.contains("offset-")), "{paged:?}");
}

//! The hostile cases of issue 11 against a small hostile server (`tests/common/hostile.rs`):
//! answers no well-behaved service gives, and what the client must make of them. Each test names
//! its finding; each failed before the fix it guards.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::hostile::{Hostile, ME, Reply, approval, approval_of, batch, graph_token, guid, token_with};
use pim_bridge::client::Tokens;
use pim_bridge::{
    AccessToken, ClientOptions, DecisionOutcome, DecisionTarget, ErrorKind, Justification, ListOptions, PimClient,
    PimError, Review, Surface,
};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const WHY: &str = "Change 42, checked";

/// A client of `base`, with quick retries and `extra` options over them.
fn client(base: &str, extra: Value) -> PimClient {
    let mut o = json!({"graphUri": base, "armUri": base,
                       "retry": {"baseDelayMs": 10, "minDelayMs": 10, "budgetMs": 5000}});
    for (k, v) in extra.as_object().unwrap() {
        if k == "retry" {
            for (rk, rv) in v.as_object().unwrap() {
                o["retry"][rk] = rv.clone();
            }
        } else {
            o[k] = v.clone();
        }
    }
    PimClient::new(ClientOptions::from_json(Some(&o.to_string())).unwrap()).unwrap()
}

fn token() -> AccessToken {
    AccessToken::new(&graph_token()).unwrap()
}

async fn list(c: &PimClient) -> Result<usize, PimError> {
    c.list_pending(&token(), &ListOptions::default(), &CancellationToken::new(), |_| {}).await
}

/// Approves directory-role approvals `ids`; the outcomes by index, and how the run ended.
async fn approve(
    c: &PimClient,
    ids: &[String],
    cancel: &CancellationToken,
) -> (Vec<DecisionOutcome>, Result<(), PimError>) {
    let targets: Vec<DecisionTarget> = ids
        .iter()
        .map(|i| DecisionTarget { approval_id: i.clone(), surface: Surface::DirectoryRole, principal_id: None })
        .collect();
    let mut out = Vec::new();
    let tokens = Tokens { graph: Some(token()), arm: None };
    let why = Justification::parse(WHY).unwrap();
    let r = c.decide_many(&tokens, targets, Review::Approve, &why, cancel, |o| out.push(o)).await;
    out.sort_by_key(|o| o.index);
    assert_eq!(out.len(), ids.len(), "every request is reported once");
    (out, r)
}

fn kind(o: &DecisionOutcome) -> Option<ErrorKind> {
    o.error.as_ref().map(|e| e.kind)
}

fn message(o: &DecisionOutcome) -> String {
    o.error.as_ref().map(|e| e.message.clone()).unwrap_or_default()
}

fn is_decision(req: &common::hostile::Request) -> bool {
    req.json()["requests"][0]["method"] == "PATCH"
}

/// A server whose reads show every approval open, and whose decision batches `decide` answers.
async fn open_approvals(decide: impl Fn(&common::hostile::Request) -> Reply + Send + Sync + 'static) -> Hostile {
    Hostile::start(move |req| {
        if is_decision(req) {
            decide(req)
        } else {
            batch(req, |r| (200, approval(&approval_of(r["url"].as_str().unwrap()), None)))
        }
    })
    .await
}

// Finding 6: unbounded loops and reads.

/// A server that serves pages whose next link is given by `next` (from the path asked).
async fn pages(next: impl Fn(&str, &str) -> String + Send + Sync + 'static) -> Hostile {
    let base = Arc::new(OnceLock::<String>::new());
    let b = base.clone();
    let h = Hostile::start(move |req| {
        Reply::Json(200, json!({"value": [], "@odata.nextLink": next(b.get().unwrap(), &req.path)}))
    })
    .await;
    base.set(h.base.clone()).unwrap();
    h
}

#[tokio::test]
async fn a_next_link_seen_before_ends_the_listing() {
    // Every page links to the same page: 680,985 requests in 200 s before; now the second time
    // the link comes, the listing ends.
    let h = pages(|base, _| format!("{base}/v1.0/same")).await;
    let e = list(&client(&h.base, json!({}))).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::PagingLoop, "{e}");
    assert_eq!(h.requests(), 2, "the first page and the page it links to, once");
}

#[tokio::test]
async fn pages_are_capped() {
    let n = AtomicU32::new(0);
    let h = pages(move |base, _| format!("{base}/v1.0/page{}", n.fetch_add(1, Ordering::SeqCst))).await;
    let e = list(&client(&h.base, json!({"maxPages": 5}))).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooManyPages, "{e}");
    assert_eq!(h.requests(), 5);
}

#[tokio::test]
async fn retry_after_zero_has_a_floor_and_attempts_a_cap() {
    for status in [429u16, 503] {
        let h = Hostile::start(move |_| Reply::Raw {
            status,
            headers: vec![("Retry-After".into(), "0".into())],
            body: vec![],
        })
        .await;
        let c = client(&h.base, json!({"retry": {"minDelayMs": 100, "attemptCap": 10, "budgetMs": 60000}}));
        let started = Instant::now();
        let e = list(&c).await.unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Throttled | ErrorKind::ServiceError), "{e}");
        // Before: 5,021 (429) and 5,279 (503) requests in 10 s. Now: the cap, each wait floored.
        assert_eq!(h.requests(), 10, "HTTP {status}");
        assert!(started.elapsed() >= Duration::from_millis(900), "waits were floored: {:?}", started.elapsed());
    }
}

#[tokio::test]
async fn an_endless_body_is_cut_at_the_cap() {
    // Before: read until the timeout, 3 GB in memory.
    let h = Hostile::start(|_| Reply::Endless).await;
    let c = client(&h.base, json!({"maxResponseBytes": 1048576, "timeoutMs": 30000}));
    let started = Instant::now();
    let e = list(&c).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::ResponseTooLarge, "{e}");
    assert!(e.message.contains("1048576"), "{}", e.message);
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_page_over_the_limit_is_refused() {
    // 200,000 requests in one page (about 30 MB): before, read whole in 5 s and 400 MB.
    let items: Vec<Value> = (0..200_000)
        .map(|i| json!({"id": format!("r{i}"), "approvalId": guid(i), "status": "PendingApproval", "justification": "x".repeat(100)}))
        .collect();
    let page = json!({ "value": items });
    let h = Hostile::start(move |_| Reply::Json(200, page.clone())).await;
    let e = list(&client(&h.base, json!({}))).await.unwrap_err();
    assert_eq!((e.kind, e.http_status), (ErrorKind::ResponseTooLarge, 200), "{e}");
}

// Finding 8: one bad item.

#[tokio::test]
async fn one_bad_item_is_one_error_and_the_listing_goes_on() {
    let base = Arc::new(OnceLock::<String>::new());
    let b = base.clone();
    let h = Hostile::start(move |req| {
        if req.path.contains("second") {
            return Reply::Json(
                200,
                json!({"value": [{"id": "e", "approvalId": guid(5), "status": "PendingApproval"}]}),
            );
        }
        Reply::Json(
            200,
            json!({"value": [
            {"id": "a", "approvalId": guid(1), "status": "PendingApproval", "createdDateTime": "not a date"},
            {"id": "b", "approvalId": guid(2), "status": "PendingApproval",
             "scheduleInfo": {"expiration": {"duration": "P99999999999D"}}},
            {"id": "c", "approvalId": guid(3), "status": 5},
            {"id": "d", "approvalId": guid(4), "status": "PendingApproval", "createdDateTime": "2026-11-26T10:00:00Z"}],
            "@odata.nextLink": format!("{}/v1.0/second", b.get().unwrap())}),
        )
    })
    .await;
    base.set(h.base.clone()).unwrap();
    let mut items = Vec::new();
    let n = client(&h.base, json!({}))
        .list_pending_items(&token(), &ListOptions::default(), &CancellationToken::new(), |p| items.extend(p))
        .await
        .expect("the listing goes on past bad items");
    assert_eq!(n, 5);
    let good: Vec<&str> = items.iter().filter_map(|i| i.as_ref().ok()).map(|p| p.request_id.as_str()).collect();
    assert_eq!(good, ["d", "e"], "before: the whole listing failed on `status: 5`");
    let bad: Vec<(Option<&str>, Option<&str>, ErrorKind)> = items
        .iter()
        .filter_map(|i| i.as_ref().err())
        .map(|e| (e.request_id.as_deref(), e.approval_id.as_deref(), e.error.kind))
        .collect();
    assert_eq!(bad.len(), 3);
    assert_eq!(bad[0], (Some("a"), Some(guid(1).as_str()), ErrorKind::InvalidResponse));
    let messages: Vec<String> =
        items.iter().filter_map(|i| i.as_ref().err()).map(|e| e.error.message.clone()).collect();
    assert!(messages[0].contains("not a date") && messages[1].contains("P99999999999D"), "{messages:?}");
    assert!(messages[2].contains("Request 'c'"), "{messages:?}");
}

#[tokio::test]
async fn a_batch_answer_that_is_no_batch_answer_is_a_service_error_at_once() {
    // Before: ConnectionLost, after the whole budget (44-59 s in the module).
    for body in [&b"<html>oops</html>"[..], br#"{"value":[]}"#] {
        let body = body.to_vec();
        let h = Hostile::start(move |_| Reply::Raw { status: 200, headers: vec![], body: body.clone() }).await;
        let started = Instant::now();
        let (out, _) =
            approve(&client(&h.base, json!({"retry": {"budgetMs": 30000}})), &[guid(1)], &CancellationToken::new())
                .await;
        assert_eq!((out[0].result, kind(&out[0])), ("Failed", Some(ErrorKind::ServiceError)), "{:?}", out[0]);
        assert_eq!(h.requests(), 1, "not retried");
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}

// Finding 2: wrong reports.

#[tokio::test]
async fn a_read_back_refused_with_401_is_unknown_not_nothing_sent() {
    // The decision is applied and its answer lost; the read that would tell gets 401 (the token
    // expired under way). Before: Failed, Unauthorized, and the module's retry then reported
    // "already decided; nothing was sent".
    let calls = AtomicU32::new(0);
    let h = Hostile::start(move |req| match calls.fetch_add(1, Ordering::SeqCst) {
        0 => batch(req, |r| (200, approval(&approval_of(r["url"].as_str().unwrap()), None))),
        1 => Reply::Drop,
        _ => Reply::Raw {
            status: 401,
            headers: vec![("WWW-Authenticate".into(), "Bearer error=\"invalid_token\"".into())],
            body: br#"{"error":{"code":"InvalidAuthenticationToken","message":"Lifetime validation failed"}}"#.to_vec(),
        },
    })
    .await;
    let (out, _) = approve(&client(&h.base, json!({})), &[guid(1)], &CancellationToken::new()).await;
    assert_eq!((out[0].result, kind(&out[0])), ("Unknown", Some(ErrorKind::OutcomeUnknown)), "{:?}", out[0]);
    let m = message(&out[0]);
    assert!(m.contains(&guid(1)) && m.contains("Get-PimPending") && m.contains("GET http"), "{m}");
}

#[tokio::test]
async fn a_decision_by_another_run_is_already_decided_with_who_and_when() {
    // Our answer lost; the read shows the step approved by me, with another justification: another
    // run of mine decided it. Before: reported Approved by this run.
    let calls = AtomicU32::new(0);
    let h = Hostile::start(move |req| match calls.fetch_add(1, Ordering::SeqCst) {
        0 => batch(req, |r| (200, approval(&approval_of(r["url"].as_str().unwrap()), None))),
        1 => Reply::Drop,
        _ => batch(req, |r| {
            (200, approval(&approval_of(r["url"].as_str().unwrap()), Some(("Approve", ME, "the other run's reason"))))
        }),
    })
    .await;
    let (out, _) = approve(&client(&h.base, json!({})), &[guid(1)], &CancellationToken::new()).await;
    assert_eq!((out[0].result, kind(&out[0])), ("Failed", Some(ErrorKind::AlreadyDecided)), "{:?}", out[0]);
    let m = message(&out[0]);
    assert!(m.contains("by you in another run") && m.contains("2026-11-26T10:00:00Z"), "{m}");
    assert!(m.contains("the other run's reason"), "{m}");
}

#[tokio::test]
async fn our_own_decision_read_back_is_ours_and_someone_elses_names_them() {
    // Two requests whose answers are lost: one read back approved by me with our justification
    // (ours: Approved), one approved by Megan (AlreadyDecided, by Megan, when).
    let calls = AtomicU32::new(0);
    let h = Hostile::start(move |req| match calls.fetch_add(1, Ordering::SeqCst) {
        0 => batch(req, |r| (200, approval(&approval_of(r["url"].as_str().unwrap()), None))),
        1 => Reply::Drop,
        _ => batch(req, |r| {
            let id = approval_of(r["url"].as_str().unwrap());
            let who = if id == guid(1) { ME } else { "99999999-0000-4000-8000-000000000000" };
            (200, approval(&id, Some(("Approve", who, if who == ME { WHY } else { "Megan's reason" }))))
        }),
    })
    .await;
    let (out, _) = approve(&client(&h.base, json!({})), &[guid(1), guid(2)], &CancellationToken::new()).await;
    assert_eq!((out[0].result, kind(&out[0])), ("Approved", None), "{:?}", out[0]);
    assert_eq!(kind(&out[1]), Some(ErrorKind::AlreadyDecided));
    assert!(message(&out[1]).contains("by Megan Bowen at 2026-11-26T10:00:00Z"), "{}", message(&out[1]));
}

#[tokio::test]
async fn one_budget_for_the_whole_operation() {
    // Every call 503, 100 requests in five batches one after the other, a 2 s budget. Before: each
    // batch had its own budget (5 s in all for a 1 s budget; 181 s for 60 s in the module).
    let h = Hostile::start(|_| Reply::status(503)).await;
    let c = client(
        &h.base,
        json!({"maxConcurrency": 1, "retry": {"maxAttempts": 50, "maxDelayMs": 200, "budgetMs": 2000}}),
    );
    let ids: Vec<String> = (0..100).map(guid).collect();
    let started = Instant::now();
    let (out, _) = approve(&c, &ids, &CancellationToken::new()).await;
    let took = started.elapsed();
    assert!(took < Duration::from_millis(3500), "one budget of 2 s: took {took:?}");
    assert!(out.iter().all(|o| o.result == "Failed"), "nothing was sent: the reads failed");
}

// Finding 3: cancelled decisions.

#[tokio::test]
async fn a_cancel_mid_batch_reports_what_was_applied_and_what_was_not_sent() {
    // 40 requests, one batch at a time. The first decision batch is applied and answered 500 ms
    // later; the run is cancelled 100 ms after it went out. Before: all 20 applied were reported
    // "cancelled before this request was decided".
    let cancel = CancellationToken::new();
    let c2 = cancel.clone();
    let applied = Arc::new(AtomicU32::new(0));
    let a = applied.clone();
    let h = open_approvals(move |req| {
        a.fetch_add(req.json()["requests"].as_array().unwrap().len() as u32, Ordering::SeqCst);
        let c3 = c2.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            c3.cancel();
        });
        Reply::After(Duration::from_millis(500), Box::new(batch(req, |_| (204, Value::Null))))
    })
    .await;
    let ids: Vec<String> = (0..40).map(guid).collect();
    let (out, r) = approve(&client(&h.base, json!({"maxConcurrency": 1})), &ids, &cancel).await;
    assert_eq!(r.unwrap_err().kind, ErrorKind::Cancelled);
    assert_eq!(applied.load(Ordering::SeqCst), 20);
    assert!(out[..20].iter().all(|o| o.result == "Approved"), "{:?}", out[0]);
    assert!(out[20..].iter().all(|o| o.result == "Failed" && kind(o) == Some(ErrorKind::Cancelled)));
    assert!(message(&out[39]).contains("nothing was sent"), "{}", message(&out[39]));
}

#[tokio::test]
async fn a_cancel_whose_decisions_stay_unanswered_reports_them_unknown() {
    let cancel = CancellationToken::new();
    let c2 = cancel.clone();
    let h = open_approvals(move |req| {
        let c3 = c2.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            c3.cancel();
        });
        Reply::After(Duration::from_secs(20), Box::new(batch(req, |_| (204, Value::Null))))
    })
    .await;
    let ids: Vec<String> = (0..20).map(guid).collect();
    let started = Instant::now();
    let (out, _) = approve(&client(&h.base, json!({"retry": {"cancelGraceMs": 500}})), &ids, &cancel).await;
    assert!(started.elapsed() < Duration::from_secs(3), "the grace, not the answer: {:?}", started.elapsed());
    assert!(out.iter().all(|o| o.result == "Unknown" && kind(o) == Some(ErrorKind::OutcomeUnknown)), "{:?}", out[0]);
}

// Finding 7: a stale read after a lost answer.

#[tokio::test]
async fn a_stale_read_after_a_lost_answer_is_read_again_before_sending_again() {
    // The decision is applied and its answer lost; for 300 ms after, reads still show the step
    // open. Before: 21 decisions sent to the same step (stale for 2 s). Now one: the open read is
    // read again after staleReadDelayMs, and then shows the decision.
    let state = Arc::new(Mutex::new((None::<Instant>, 0u32)));
    let s = state.clone();
    let h = Hostile::start(move |req| {
        let mut st = s.lock().unwrap();
        if is_decision(req) {
            st.1 += 1;
            if st.0.is_none() {
                st.0 = Some(Instant::now());
                return Reply::Drop;
            }
            return batch(req, |_| (409, json!({"error": {"code": "Conflict"}})));
        }
        let decided = st.0.is_some_and(|t| t.elapsed() > Duration::from_millis(300));
        batch(req, |r| {
            (200, approval(&approval_of(r["url"].as_str().unwrap()), decided.then_some(("Approve", ME, WHY))))
        })
    })
    .await;
    let (out, _) =
        approve(&client(&h.base, json!({"retry": {"staleReadDelayMs": 1000}})), &[guid(1)], &CancellationToken::new())
            .await;
    assert_eq!(out[0].result, "Approved", "{:?}", out[0]);
    assert_eq!(state.lock().unwrap().1, 1, "one decision sent");
}

// Finding 9: tokens told apart.

#[tokio::test]
async fn a_401_says_whether_the_token_is_challenged_invalid_or_expired() {
    let challenge = "Bearer realm=\"\", error=\"insufficient_claims\", claims=\"eyJhY2Nlc3NfdG9rZW4iOnt9fQ==\"";
    let h = Hostile::start(move |_| Reply::Raw {
        status: 401,
        headers: vec![("WWW-Authenticate".into(), challenge.into())],
        body: vec![],
    })
    .await;
    let e = list(&client(&h.base, json!({}))).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::TokenChallenge, "before: Unauthorized");
    assert_eq!(e.claims.as_deref(), Some("eyJhY2Nlc3NfdG9rZW4iOnt9fQ=="));

    let invalid = "Bearer error=\"invalid_token\"";
    let h = Hostile::start(move |_| Reply::Raw {
        status: 401,
        headers: vec![("WWW-Authenticate".into(), invalid.into())],
        body: vec![],
    })
    .await;
    assert_eq!(list(&client(&h.base, json!({}))).await.unwrap_err().kind, ErrorKind::InvalidToken);

    // A token that passes our checks, and has expired by the time the answer comes.
    let soon = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 2;
    let expiring = AccessToken::new(&token_with(json!({"exp": soon}))).unwrap();
    let h = Hostile::start(move |_| {
        Reply::After(
            Duration::from_millis(3000),
            Box::new(Reply::Raw {
                status: 401,
                headers: vec![("WWW-Authenticate".into(), invalid.into())],
                body: vec![],
            }),
        )
    })
    .await;
    let e = client(&h.base, json!({"retry": {"budgetMs": 10000}}))
        .list_pending(&expiring, &ListOptions::default(), &CancellationToken::new(), |_| {})
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::TokenExpired, "{e}");
}

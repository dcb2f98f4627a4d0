//! Streaming decisions: requests pushed while a run is going are decided as they come, in units
//! that leave when full, after the linger, or at the close. Proven from the emulator's record,
//! never from the clock: each test waits on the emulator's counters (`/_emulator/wait`), and its
//! timeouts only tell a hang from a slow machine.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use common::Env;
use pim_bridge::client::Tokens;
use pim_bridge::{
    AccessToken, DecisionOutcome, DecisionRequest, ErrorKind, Justification, ListOptions, PimClient, Review, Surface,
};
use pim_emulator::{Config, FaultConfig, Scenario};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

async fn wait(env: &Env, goal: &str, timeout_ms: u64) -> u16 {
    let url = format!("{}/_emulator/wait?{goal}&timeoutMs={timeout_ms}", env.base());
    env.http.get(url).send().await.unwrap().status().as_u16()
}

type Outcomes = Arc<Mutex<Vec<DecisionOutcome>>>;

/// Starts a stream run on `client`; returns its input, what it has reported so far, and the run.
fn start_stream(
    client: Arc<PimClient>,
    tokens: Tokens,
    review: Review,
    cancel: CancellationToken,
) -> (mpsc::UnboundedSender<Vec<DecisionRequest>>, Outcomes, tokio::task::JoinHandle<Result<(), pim_bridge::PimError>>)
{
    let (push, input) = mpsc::unbounded_channel();
    let out: Outcomes = Arc::default();
    let seen = out.clone();
    let run = tokio::spawn(async move {
        let why = Justification::parse("Change window").unwrap();
        client.decide_stream(&tokens, input, review, &why, &cancel, |o| seen.lock().unwrap().push(o)).await
    });
    (push, out, run)
}

fn requests(listed: &[pim_bridge::PendingRequest]) -> Vec<DecisionRequest> {
    listed
        .iter()
        .map(|r| DecisionRequest { approval_id: r.approval_id.clone(), surface: Some(r.surface), principal_id: None })
        .collect()
}

/// Lists again and pushes what it finds, until a listing finds nothing, each listing once every
/// request pushed so far is decided. One listing is not enough when its requests are decided
/// while it pages: the emulator's `$skiptoken` is an offset into what is still pending, so each
/// page after a decision starts further on (as a service's may: its paging is opaque).
async fn sweep(env: &Env, lister: &PimClient, token: &AccessToken, push: &Push, mut pushed: usize) -> usize {
    loop {
        assert_eq!(wait(env, &format!("decisions={pushed}"), 60_000).await, 200, "{pushed} decided");
        let mut found = Vec::new();
        lister
            .list_pending(token, &ListOptions::default(), &CancellationToken::new(), |page| found.extend(page))
            .await
            .expect("listing works");
        if found.is_empty() {
            return pushed;
        }
        pushed += found.len();
        push.send(requests(&found)).unwrap();
    }
}

type Push = mpsc::UnboundedSender<Vec<DecisionRequest>>;

/// Each request approved once, and reported as the emulator recorded it.
async fn assert_exactly_once(env: &Env, n: usize, out: &[DecisionOutcome]) {
    let failed: Vec<&DecisionOutcome> = out.iter().filter(|o| o.result != "Approved").collect();
    assert!(failed.is_empty(), "{} not approved, e.g. {:?}", failed.len(), failed.first());
    let recorded = env.decisions().await;
    let ids: HashSet<String> = recorded.iter().map(|d| d["approvalId"].as_str().unwrap().to_string()).collect();
    assert_eq!((recorded.len(), ids.len()), (n, n), "each decided exactly once");
    let reported: HashSet<String> = out.iter().map(|o| o.approval_id.clone()).collect();
    assert_eq!(reported, ids, "reported as decided = recorded as decided");
    let indexes: HashSet<usize> = out.iter().map(|o| o.index).collect();
    assert_eq!(indexes, (0..n).collect(), "indexes run on across pushes, each reported once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_is_applied_before_the_last_page_is_listed() {
    let env = Arc::new(Env::start(Scenario::Bulk(100)).await);
    let token = env.token().await;
    let client = Arc::new(env.client_with_options(json!({"retry": {"budgetMs": 60000}})));
    let tokens = Tokens { graph: Some(token.clone()), arm: None };
    let (push, out, run) = start_stream(client, tokens, Review::Approve, CancellationToken::new());
    // The listing pages twenty at a time and pushes each page as it comes. After the first page
    // it goes on only once the emulator has applied a decision, and notes how many list pages
    // the emulator had served by then: a run that waited for the whole listing would never
    // decide, and this wait would time out.
    let lister = env.client();
    let at_first_decision: Arc<Mutex<Option<(u16, u64)>>> = Arc::default();
    let (noted, e) = (at_first_decision.clone(), env.clone());
    let listing = tokio::spawn(async move {
        let mut pages = 0;
        let options = ListOptions { page_size: Some(20), ..ListOptions::default() };
        let mut pushed = 0;
        lister
            .list_pending(&token, &options, &CancellationToken::new(), |page| {
                pages += 1;
                pushed += page.len();
                push.send(requests(&page)).unwrap();
                if pages == 1 {
                    let handle = tokio::runtime::Handle::current();
                    let seen = tokio::task::block_in_place(|| {
                        handle.block_on(async {
                            let status = wait(&e, "decisions=1", 60_000).await;
                            (status, e.calls("filterByCurrentUser").await)
                        })
                    });
                    *noted.lock().unwrap() = Some(seen);
                }
            })
            .await
            .unwrap();
        let pages_served = e.calls("filterByCurrentUser").await;
        // What this listing skipped (see `sweep`) is listed again.
        let pushed = sweep(&e, &lister, &token, &push, pushed).await;
        (pages, pages_served, pushed)
    });
    let (pages, pages_served, pushed) = listing.await.unwrap();
    assert_eq!(pushed, 100, "every request pushed once");
    // The listings are over and the sender dropped: the input is closed.
    run.await.unwrap().unwrap();
    let (status, pages_served_then) = at_first_decision.lock().unwrap().expect("the first page was seen");
    assert_eq!(status, 200, "a decision was applied while the listing waited after its first page");
    assert_eq!(pages_served_then, 1, "the listing had read one page when the first decision was applied");
    assert!(
        pages > 1 && pages_served as usize == pages,
        "the first listing went on to {pages} pages ({pages_served} served) after the first decision"
    );
    let out = out.lock().unwrap().clone();
    assert_eq!(out.len(), 100);
    assert_exactly_once(&env, 100, &out).await;
}

#[tokio::test]
async fn one_request_pushed_alone_is_decided_without_closing_the_input() {
    let env = Env::start(Scenario::Bulk(3)).await;
    let token = env.token().await;
    let listed = common::list_surface(&env, &token, ListOptions::default()).await;
    let client = Arc::new(env.client_with_options(json!({"lingerMs": 25})));
    let tokens = Tokens { graph: Some(token), arm: None };
    let (push, out, run) = start_stream(client, tokens, Review::Approve, CancellationToken::new());
    push.send(requests(&listed[..1])).unwrap();
    // The input stays open: the request leaves when the linger has passed, not at a close.
    assert_eq!(wait(&env, "decisions=1", 60_000).await, 200, "decided while the input is open");
    let decided = env.decisions().await;
    assert_eq!(decided.len(), 1);
    assert_eq!(decided[0]["approvalId"], listed[0].approval_id.as_str());
    assert!(!run.is_finished(), "the run goes on while its input is open");
    // A second push after the first was decided: its index follows; the first again is Duplicate.
    push.send(requests(&listed[1..2])).unwrap();
    push.send(requests(&listed[..1])).unwrap();
    drop(push);
    run.await.unwrap().unwrap();
    let mut out = out.lock().unwrap().clone();
    out.sort_by_key(|o| o.index);
    let got: Vec<(usize, &str, &str)> = out.iter().map(|o| (o.index, o.approval_id.as_str(), o.result)).collect();
    assert_eq!(
        got,
        vec![
            (0, listed[0].approval_id.as_str(), "Approved"),
            (1, listed[1].approval_id.as_str(), "Approved"),
            (2, listed[0].approval_id.as_str(), "Failed"),
        ]
    );
    assert_eq!(out[2].error.as_ref().unwrap().kind, ErrorKind::Duplicate);
    assert_eq!(env.decisions().await.len(), 2, "the duplicate was not sent");
}

#[tokio::test]
async fn streamed_decisions_through_faults_are_applied_exactly_once() {
    // Two calls in five fail (one 503, one 429) and one decision in twenty is lost after it was
    // applied: the same calls in every run. Pages of twenty are pushed as they are listed.
    let schedule = ["fail@call:3+5n", "throttle@call:4+5n", "lost@write:7+20n"].iter().map(|r| r.to_string()).collect();
    let config = Config {
        scenario: Scenario::Bulk(200),
        faults: FaultConfig { schedule, ..FaultConfig::default() },
        ..Config::default()
    };
    let env = Env::with_config(config).await;
    let token = env.token().await;
    let client = Arc::new(env.client_with_retry(json!({"baseDelayMs": 20, "budgetMs": 120000})));
    let tokens = Tokens { graph: Some(token.clone()), arm: None };
    let (push, out, run) = start_stream(client.clone(), tokens, Review::Approve, CancellationToken::new());
    let options = ListOptions { page_size: Some(20), ..ListOptions::default() };
    let mut pushed = 0;
    client
        .list_pending(&token, &options, &CancellationToken::new(), |page| {
            pushed += page.len();
            push.send(requests(&page)).unwrap()
        })
        .await
        .expect("listing survives the faults");
    assert_eq!(sweep(&env, &client, &token, &push, pushed).await, 200);
    drop(push);
    run.await.unwrap().unwrap();
    let out = out.lock().unwrap().clone();
    assert_eq!(out.len(), 200);
    assert_exactly_once(&env, 200, &out).await;
}

#[tokio::test]
async fn a_surface_the_tokens_cannot_decide_fails_its_requests_alone() {
    let env = Env::start(Scenario::Bulk(2)).await;
    let token = env.token().await;
    let listed = common::list_surface(&env, &token, ListOptions::default()).await;
    let client = Arc::new(env.client());
    let tokens = Tokens { graph: Some(token), arm: None };
    let (push, out, run) = start_stream(client, tokens, Review::Approve, CancellationToken::new());
    let azure = DecisionRequest {
        approval_id: "/providers/Microsoft.Authorization/roleAssignmentApprovals/929cd687-a296-4f77-bdbc-b7cc22d3517e"
            .into(),
        surface: None,
        principal_id: None,
    };
    push.send(vec![azure]).unwrap();
    push.send(requests(&listed)).unwrap();
    drop(push);
    run.await.unwrap().unwrap();
    let mut out = out.lock().unwrap().clone();
    out.sort_by_key(|o| o.index);
    assert_eq!(out.len(), 3);
    assert_eq!((out[0].surface, out[0].result), (Surface::AzureResource, "Failed"));
    assert_eq!(out[0].error.as_ref().unwrap().kind, ErrorKind::MissingToken);
    assert!(out[1..].iter().all(|o| o.result == "Approved"), "{out:?}");
    assert_eq!(env.decisions().await.len(), 2);
}

#[tokio::test]
async fn after_a_cancel_what_was_pushed_is_reported_cancelled_and_the_input_is_closed() {
    let env = Env::start(Scenario::Bulk(30)).await;
    let token = env.token().await;
    let listed = common::list_surface(&env, &token, ListOptions::default()).await;
    let client = Arc::new(env.client());
    let cancel = CancellationToken::new();
    cancel.cancel();
    let tokens = Tokens { graph: Some(token), arm: None };
    let (push, out, run) = start_stream(client, tokens, Review::Approve, cancel);
    push.send(requests(&listed[..10])).unwrap();
    // Taken in or refused, depending on whether the run has closed its input yet: each request
    // taken in is reported.
    let second = push.send(requests(&listed[10..])).is_ok();
    let err = run.await.unwrap().unwrap_err();
    assert_eq!(err.kind, ErrorKind::Cancelled);
    assert!(push.send(requests(&listed[..1])).is_err(), "the input is closed after a cancel");
    let out = out.lock().unwrap().clone();
    assert_eq!(out.len(), if second { 30 } else { 10 }, "every request taken in is reported");
    assert!(out.iter().all(|o| o.error.as_ref().is_some_and(|e| e.kind == ErrorKind::Cancelled)), "{out:?}");
    assert!(env.decisions().await.is_empty(), "nothing was sent");
}

#[tokio::test]
async fn ids_pushed_without_a_surface_are_found_and_decided() {
    let env = Env::start(Scenario::Bulk(5)).await;
    let token = env.token().await;
    let listed = common::list_surface(&env, &token, ListOptions::default()).await;
    let client = Arc::new(env.client_with_options(json!({"lingerMs": 0})));
    let tokens = Tokens { graph: Some(token), arm: None };
    let (push, out, run) = start_stream(client, tokens, Review::Deny, CancellationToken::new());
    let bare = |r: &pim_bridge::PendingRequest| DecisionRequest {
        approval_id: r.approval_id.to_uppercase(),
        surface: None,
        principal_id: None,
    };
    push.send(listed[..2].iter().map(bare).collect()).unwrap();
    assert_eq!(wait(&env, "decisions=2", 60_000).await, 200, "found and decided while the input is open");
    push.send(listed[2..].iter().map(bare).collect()).unwrap();
    drop(push);
    run.await.unwrap().unwrap();
    let out = out.lock().unwrap().clone();
    assert_eq!(out.len(), 5);
    assert!(out.iter().all(|o| o.result == "Denied" && o.surface == listed[0].surface), "{out:?}");
    assert_eq!(env.decisions().await.len(), 5);
}

#[tokio::test]
async fn a_cancel_lets_the_unit_on_the_wire_finish_and_reports_the_rest_cancelled() {
    // One unit in flight at a time; the emulator holds its decisions at the gate.
    let config = Config { scenario: Scenario::Bulk(40), gate_after: Some(0), ..Config::default() };
    let env = Env::with_config(config).await;
    let token = env.token().await;
    let listed = common::list_surface(&env, &token, ListOptions::default()).await;
    let client = Arc::new(env.client_with_options(json!({
        "maxConcurrency": 1, "lingerMs": 0,
        "retry": {"maxAttempts": 3, "baseDelayMs": 10, "budgetMs": 60000, "cancelGraceMs": 60000}
    })));
    let cancel = CancellationToken::new();
    let tokens = Tokens { graph: Some(token), arm: None };
    let (push, out, run) = start_stream(client, tokens, Review::Approve, cancel.clone());
    push.send(requests(&listed)).unwrap();
    assert_eq!(wait(&env, "held=1", 60_000).await, 200, "the first unit's decisions reached the gate");
    cancel.cancel();
    // The batch on the wire is answered within the grace: what the service applied is reported
    // applied; the second unit never leaves.
    env.emulator.set_gate(&json!({"open": true})).unwrap();
    let err = run.await.unwrap().unwrap_err();
    assert_eq!(err.kind, ErrorKind::Cancelled);
    assert!(push.send(requests(&listed[..1])).is_err(), "the input is closed after a cancel");
    let out = out.lock().unwrap().clone();
    assert_eq!(out.len(), 40, "each request pushed reported once");
    let approved: HashSet<String> =
        out.iter().filter(|o| o.result == "Approved").map(|o| o.approval_id.clone()).collect();
    let cancelled = out.iter().filter(|o| o.error.as_ref().is_some_and(|e| e.kind == ErrorKind::Cancelled)).count();
    assert_eq!((approved.len(), cancelled), (20, 20), "{out:?}");
    let recorded: HashSet<String> =
        env.decisions().await.iter().map(|d| d["approvalId"].as_str().unwrap().to_string()).collect();
    assert_eq!(recorded, approved, "reported applied = recorded applied");
}

//! A cancel with decisions on the wire whose answer never comes: "every report is a promise".
//! After the grace (`cancelGraceMs`), the approvals of the requests whose outcome is unknown are
//! read once more (`cancelReadMs`, past the cancel) and each is reported as that read shows it:
//! applied when it shows our decision, `AlreadyDecided` when it shows another, `Unknown` when it
//! cannot tell. Nothing is sent after the cancel.
//!
//! Every stop is by schedule against pim-emulator, never by clock: the emulator holds a batch's
//! answer after applying it (`batchAnswersAfter`), holds decisions at its gates, or faults the
//! reads by schedule, and each test waits on its counters (`/_emulator/wait`). The grace is short
//! and always spent (the answers it waits for never come); the read after it has a long bound it
//! never needs, except where a test makes the read itself go unanswered.

mod common;

use std::collections::HashSet;

use common::Env;
use pim_bridge::client::Tokens;
use pim_bridge::{
    AccessToken, DecisionOutcome, DecisionTarget, ErrorKind, Justification, ListOptions, PendingRequest, PimClient,
    PimError, Review, Surface,
};
use pim_emulator::{Config, Scenario};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const WHY: &str = "Change window";

/// Waits until the emulator's counters reach `goal`; the status (200, or 408 after a minute: a
/// hang, not a slow machine).
async fn wait(env: &Env, goal: &str) -> u16 {
    let url = format!("{}/_emulator/wait?{goal}&timeoutMs=60000", env.base());
    env.http.get(url).send().await.unwrap().status().as_u16()
}

async fn gate(env: &Env) -> Value {
    env.http.get(format!("{}/_emulator/gate", env.base())).send().await.unwrap().json().await.unwrap()
}

/// A client whose cancel grace is short and whose read after a cancel may take `read_ms`.
fn client(env: &Env, read_ms: u64) -> PimClient {
    env.client_with_retry(json!({"maxAttempts": 3, "baseDelayMs": 10, "maxDelayMs": 50, "budgetMs": 60000,
                                 "cancelGraceMs": 100, "cancelReadMs": read_ms}))
}

fn targets(listed: &[PendingRequest]) -> Vec<DecisionTarget> {
    listed
        .iter()
        .map(|r| DecisionTarget { approval_id: r.approval_id.clone(), surface: r.surface, principal_id: None })
        .collect()
}

type Run = tokio::task::JoinHandle<(Vec<DecisionOutcome>, Result<(), PimError>)>;

/// Starts approving `targets`; the run gives every outcome, by index, and how it ended.
fn start(client: PimClient, tokens: Tokens, targets: Vec<DecisionTarget>, cancel: CancellationToken) -> Run {
    tokio::spawn(async move {
        let mut out = Vec::new();
        let why = Justification::parse(WHY).unwrap();
        let r = client.decide_many(&tokens, targets, Review::Approve, &why, &cancel, |o| out.push(o)).await;
        out.sort_by_key(|o| o.index);
        (out, r)
    })
}

fn graph(token: AccessToken) -> Tokens {
    Tokens { graph: Some(token), arm: None }
}

fn kind(o: &DecisionOutcome) -> Option<ErrorKind> {
    o.error.as_ref().map(|e| e.kind)
}

fn message(o: &DecisionOutcome) -> String {
    o.error.as_ref().map(|e| e.message.clone()).unwrap_or_default()
}

/// The ids reported with `result`.
fn reported(out: &[DecisionOutcome], result: &str) -> HashSet<String> {
    out.iter().filter(|o| o.result == result).map(|o| o.approval_id.clone()).collect()
}

/// The emulator's record of decisions, as (approval id, reviewer, result), each at most once.
async fn recorded(env: &Env) -> Vec<(String, String, String)> {
    let all: Vec<(String, String, String)> = env
        .decisions()
        .await
        .iter()
        .map(|d| {
            let text = |k: &str| d[k].as_str().unwrap_or_default().to_string();
            (text("approvalId"), text("reviewer"), text("reviewResult"))
        })
        .collect();
    let ids: HashSet<&String> = all.iter().map(|d| &d.0).collect();
    assert_eq!(ids.len(), all.len(), "no request decided twice: {all:?}");
    all
}

/// The unknown outcome of a request whose approval was read once more after the cancel.
fn unknown_after_the_read(o: &DecisionOutcome) -> bool {
    o.result == "Unknown"
        && kind(o) == Some(ErrorKind::OutcomeUnknown)
        && message(o).contains("nor by reading its approval once more after the cancel")
}

const DECISION_ITEMS: &str = "steps/{stepId} [batch item]";
const READ_ITEMS: &str = "roleAssignmentApprovals/{id} [batch item]";

#[tokio::test]
async fn a_batch_applied_and_unanswered_past_the_grace_is_reported_applied() {
    // Before: all 20 reported Unknown ("run Get-PimPending"), though the service had applied them.
    let env = Env::start(Scenario::Bulk(20)).await;
    let token = env.token().await;
    let listed = common::list_surface(&env, &token, ListOptions::default()).await;
    assert_eq!(listed.len(), 20);
    env.emulator.set_gate(&json!({"batchAnswersAfter": 0})).unwrap();
    let cancel = CancellationToken::new();
    let run = start(client(&env, 60_000), graph(token), targets(&listed), cancel.clone());
    assert_eq!(wait(&env, "batchAnswersHeld=1&decisions=20").await, 200, "applied, the answer held");
    cancel.cancel();
    let (out, r) = run.await.unwrap();
    assert_eq!(r.unwrap_err().kind, ErrorKind::Cancelled);
    assert_eq!(out.len(), 20, "each reported once");
    assert!(
        out.iter().all(|o| o.result == "Approved" && o.step_id.is_some() && o.error.is_none()),
        "{:?}",
        out.iter().find(|o| o.result != "Approved")
    );
    let applied: HashSet<String> = recorded(&env).await.into_iter().map(|d| d.0).collect();
    assert_eq!(reported(&out, "Approved"), applied, "reported applied = recorded applied");
    assert_eq!(env.calls(DECISION_ITEMS).await, 20, "no decision sent again");
    assert_eq!(gate(&env).await["batchesAdmitted"], 1, "one batch of decisions in all");
    assert_eq!(env.calls(READ_ITEMS).await, 40, "read before the decisions, and once more after the cancel");
}

#[tokio::test]
async fn a_batch_cut_off_mid_way_reports_the_applied_ones_applied_and_the_rest_unknown() {
    // The gate lets 12 decisions of the batch through and holds the 13th, unapplied: the batch is
    // never answered. The read after the cancel shows 12 decided by us and 8 still open; an open
    // step may be a stale read, so those stay Unknown (never "not applied", never sent again).
    let config = Config { scenario: Scenario::Bulk(20), gate_after: Some(12), ..Config::default() };
    let env = Env::with_config(config).await;
    let token = env.token().await;
    let listed = common::list_surface(&env, &token, ListOptions::default()).await;
    let cancel = CancellationToken::new();
    let run = start(client(&env, 60_000), graph(token), targets(&listed), cancel.clone());
    assert_eq!(wait(&env, "decisions=12&held=1").await, 200, "12 applied, the 13th held");
    cancel.cancel();
    let (out, r) = run.await.unwrap();
    assert_eq!(r.unwrap_err().kind, ErrorKind::Cancelled);
    assert_eq!(out.len(), 20, "each reported once");
    let applied: HashSet<String> = recorded(&env).await.into_iter().map(|d| d.0).collect();
    assert_eq!(applied.len(), 12);
    assert_eq!(reported(&out, "Approved"), applied, "reported applied = recorded applied");
    let rest: Vec<&DecisionOutcome> = out.iter().filter(|o| !applied.contains(&o.approval_id)).collect();
    assert_eq!(rest.len(), 8);
    assert!(rest.iter().all(|o| unknown_after_the_read(o)), "{:?}", rest[0]);
    let g = gate(&env).await;
    assert_eq!((&g["admitted"], &g["batchesAdmitted"]), (&json!(12), &json!(1)), "nothing sent again: {g}");
    assert_eq!(env.calls(READ_ITEMS).await, 40, "read before the decisions, and once more after the cancel");
}

#[tokio::test]
async fn a_read_after_the_cancel_that_fails_or_goes_unanswered_leaves_them_unknown() {
    for (case, faults, read_ms) in [
        ("failed", json!({"schedule": ["fail@read:1-20"]}), 60_000),
        ("unanswered", json!({"schedule": ["slow@read:1-20"], "slowMs": 600_000}), 200),
    ] {
        let env = Env::start(Scenario::Bulk(20)).await;
        let token = env.token().await;
        let listed = common::list_surface(&env, &token, ListOptions::default()).await;
        env.emulator.set_gate(&json!({"batchAnswersAfter": 0})).unwrap();
        let cancel = CancellationToken::new();
        let run = start(client(&env, read_ms), graph(token), targets(&listed), cancel.clone());
        assert_eq!(wait(&env, "batchAnswersHeld=1&decisions=20").await, 200, "{case}: applied, the answer held");
        // Counted from here: the 20 reads after the cancel fail (503), or answer after 10 minutes
        // (the read's bound is 200 ms).
        env.emulator.set_faults(&faults).unwrap();
        cancel.cancel();
        let (out, r) = run.await.unwrap();
        assert_eq!(r.unwrap_err().kind, ErrorKind::Cancelled);
        assert_eq!(out.len(), 20, "{case}: each reported once");
        // Applied, all of them: but nothing the client read proves it, so it says it cannot tell.
        assert!(out.iter().all(unknown_after_the_read), "{case}: {:?}", out[0]);
        assert!(message(&out[0]).contains("Get-PimPending"), "{case}: says how to check: {}", message(&out[0]));
        assert_eq!(env.calls(DECISION_ITEMS).await, 20, "{case}: no decision sent again");
        assert_eq!(gate(&env).await["batchesAdmitted"], 1, "{case}");
    }
}

#[tokio::test]
async fn a_request_decided_by_someone_else_in_between_is_not_reported_as_ours() {
    // Megan's batch of decisions waits at the emulator before it is worked; meanwhile Lynne denies
    // one of its requests, and Megan herself denies another in a second run. Then the batch is
    // worked (those two refused, the others applied) and its answer held past the grace. The read
    // after the cancel shows each as it is: ours applied; the other two `AlreadyDecided`, by whom,
    // never reported as this run's decision.
    let env = Env::start(Scenario::Demo).await;
    let megan = env.token().await;
    let lynne = env.token_for(json!({"user": format!("LynneR{}", common::UPN)})).await;
    let hers: HashSet<String> =
        common::list_surface(&env, &lynne, ListOptions::default()).await.into_iter().map(|r| r.approval_id).collect();
    // Megan's own request is listed too (the service refuses its decision): left out.
    let me = env.user_id("MeganB").await;
    let both: Vec<PendingRequest> = common::list_surface(&env, &megan, ListOptions::default())
        .await
        .into_iter()
        .filter(|r| hers.contains(&r.approval_id) && r.principal_id.as_deref() != Some(me.as_str()))
        .collect();
    assert!(both.len() >= 4, "the demo has requests both may decide: {}", both.len());
    env.emulator.set_gate(&json!({"batchesAfter": 0, "batchAnswersAfter": 0})).unwrap();
    let cancel = CancellationToken::new();
    let run = start(client(&env, 60_000), graph(megan.clone()), targets(&both), cancel.clone());
    assert_eq!(wait(&env, "batchesHeld=1").await, 200, "the batch of decisions waits, unworked");
    let target = |r: &PendingRequest| DecisionTarget {
        approval_id: r.approval_id.clone(),
        surface: Surface::DirectoryRole,
        principal_id: None,
    };
    let (by_lynne, by_me) = (&both[0], &both[1]);
    let other = env.client();
    let quiet = CancellationToken::new();
    let not_mine = Justification::parse("Not in this change window").unwrap();
    other.decide(&lynne, &target(by_lynne), Review::Deny, &not_mine, &quiet).await.expect("Lynne denies");
    other.decide(&megan, &target(by_me), Review::Deny, &not_mine, &quiet).await.expect("Megan denies elsewhere");
    env.emulator.set_gate(&json!({"batchesAfter": null})).unwrap();
    assert_eq!(wait(&env, "batchAnswersHeld=1").await, 200, "worked, the answer held");
    cancel.cancel();
    let (out, r) = run.await.unwrap();
    assert_eq!(r.unwrap_err().kind, ErrorKind::Cancelled);
    assert_eq!(out.len(), both.len(), "each reported once");
    let decided = |id: &str| out.iter().find(|o| o.approval_id == id).unwrap();
    for (o, who) in [(decided(&by_lynne.approval_id), "Lynne"), (decided(&by_me.approval_id), "you")] {
        assert_eq!((o.result, kind(o)), ("Failed", Some(ErrorKind::AlreadyDecided)), "{o:?}");
        assert!(o.step_id.is_none() && message(o).contains(who), "{}", message(o));
        assert!(message(o).contains("this run's decision was not applied"), "{}", message(o));
    }
    let record = recorded(&env).await;
    let approved: HashSet<String> = record.iter().filter(|d| d.2.starts_with("Approve")).map(|d| d.0.clone()).collect();
    assert_eq!(approved.len(), both.len() - 2, "{out:?}");
    assert_eq!(reported(&out, "Approved"), approved, "reported applied = recorded applied by this run");
    assert_eq!(env.calls(DECISION_ITEMS).await, both.len() as u64, "one decision sent per request, none again");
    assert_eq!(gate(&env).await["batchesAdmitted"], 1);
}

#[tokio::test]
async fn an_azure_decision_applied_and_unanswered_past_the_grace_is_read_and_reported_applied() {
    // ARM has no batches: the decision is one call, applied and answered 10 minutes late; the
    // read after the cancel is a GET of its approval.
    let env = Env::start(Scenario::Demo).await;
    let arm = env.arm_token().await;
    let listed =
        common::list_surface(&env, &arm, ListOptions { surface: Surface::AzureResource, ..ListOptions::default() })
            .await;
    let first = listed.first().expect("the demo has Azure requests for the default approver").clone();
    env.emulator.set_faults(&json!({"schedule": ["slow@write:1"], "slowMs": 600_000})).unwrap();
    let cancel = CancellationToken::new();
    let tokens = Tokens { graph: None, arm: Some(arm) };
    let run = start(client(&env, 60_000), tokens, targets(std::slice::from_ref(&first)), cancel.clone());
    assert_eq!(wait(&env, "decisions=1").await, 200, "applied, its answer late");
    cancel.cancel();
    let (out, r) = run.await.unwrap();
    assert_eq!(r.unwrap_err().kind, ErrorKind::Cancelled);
    assert_eq!((out.len(), out[0].result), (1, "Approved"), "{:?}", out[0]);
    let record = recorded(&env).await;
    assert_eq!(record.len(), 1, "decided once: {record:?}");
    let faults: Value =
        env.http.get(format!("{}/_emulator/faults", env.base())).send().await.unwrap().json().await.unwrap();
    assert_eq!(faults["counts"]["write"], 1, "nothing sent again");
}

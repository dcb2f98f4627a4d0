//! Decisions through Graph JSON batches: splitting and reassembly, per-item statuses, throttled
//! items re-sent alone, and a thousand decisions under the emulator's throttle, each exactly once.

mod common;

use std::collections::HashSet;

use common::{Env, list_surface};
use pim_bridge::client::Tokens;
use pim_bridge::{DecisionOutcome, DecisionTarget, ErrorKind, Justification, ListOptions, Review, Surface};
use pim_emulator::{Config, FaultConfig, Scenario};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

async fn approve_all(env: &Env, extra: Vec<DecisionTarget>) -> Vec<DecisionOutcome> {
    let token = env.token().await;
    let mut targets: Vec<DecisionTarget> = list_surface(env, &token, ListOptions::default())
        .await
        .iter()
        .map(|r| DecisionTarget { approval_id: r.approval_id.clone(), surface: r.surface, principal_id: None })
        .collect();
    targets.extend(extra);
    let mut out = Vec::new();
    // The default budget (60 s) with quick backoff: throttled runs need many short waits.
    env.client_with_retry(serde_json::json!({"baseDelayMs": 20}))
        .decide_many(
            &Tokens { graph: Some(token), arm: None },
            targets,
            Review::Approve,
            &Justification::parse("Change window").unwrap(),
            &CancellationToken::new(),
            |o| out.push(o),
        )
        .await
        .unwrap();
    out.sort_by_key(|o| o.index);
    out
}

async fn stats(env: &Env) -> Vec<Value> {
    let v: Value = env.http.get(format!("{}/_emulator/stats", env.base())).send().await.unwrap().json().await.unwrap();
    v["routes"].as_array().unwrap().clone()
}

/// Answers counted for routes containing `needle` with `status` (any status when None).
async fn count(env: &Env, needle: &str, status: Option<u64>) -> u64 {
    stats(env)
        .await
        .iter()
        .filter(|r| r["route"].as_str().unwrap().contains(needle) && status.is_none_or(|s| r["status"] == s))
        .map(|r| r["count"].as_u64().unwrap())
        .sum()
}

async fn exactly_once(env: &Env, n: usize) {
    let d = env.decisions().await;
    let ids: HashSet<&str> = d.iter().map(|x| x["approvalId"].as_str().unwrap()).collect();
    assert_eq!((d.len(), ids.len()), (n, n), "every request decided, none twice");
}

#[tokio::test]
async fn batches_split_at_twenty_and_reassemble_by_id() {
    for n in [21usize, 40, 41] {
        let env = Env::start(Scenario::Bulk(n)).await;
        let out = approve_all(&env, vec![]).await;
        assert_eq!(out.len(), n);
        assert!(out.iter().enumerate().all(|(i, o)| o.index == i && o.result == "Approved"), "n = {n}");
        exactly_once(&env, n).await;
        let batches = n.div_ceil(20) as u64;
        assert_eq!(
            count(&env, "POST /{ver}/$batch", Some(200)).await,
            2 * batches,
            "a read batch and a decide batch per 20"
        );
        assert_eq!(
            count(&env, "GET /beta/roleManagement/directory/roleAssignmentApprovals/{id} [batch item]", None).await,
            n as u64
        );
        assert_eq!(count(&env, "steps/{stepId} [batch item]", Some(204)).await, n as u64);
        assert_eq!(
            count(&env, "PATCH /beta/roleManagement/directory/roleAssignmentApprovals/{id}/steps/{stepId}", None).await,
            n as u64,
            "no decision outside a batch"
        );
    }
}

#[tokio::test]
async fn failed_items_are_reported_per_request_and_the_rest_decided() {
    let env = Env::start(Scenario::Bulk(5)).await;
    let first = list_surface(&env, &env.token().await, ListOptions::default()).await[0].approval_id.clone();
    // Decide one first, so that it comes back already decided.
    let pre = DecisionTarget { approval_id: first.clone(), surface: Surface::DirectoryRole, principal_id: None };
    env.client()
        .decide(
            &env.token().await,
            &pre,
            Review::Approve,
            &Justification::parse("x").unwrap(),
            &CancellationToken::new(),
        )
        .await
        .unwrap();
    let missing = DecisionTarget {
        approval_id: "00000000-0000-4000-8000-00000000dead".into(),
        surface: Surface::DirectoryRole,
        principal_id: None,
    };
    let bad = DecisionTarget { approval_id: "../x".into(), surface: Surface::DirectoryRole, principal_id: None };
    let out = approve_all(&env, vec![pre, missing, bad]).await;
    let kinds: Vec<Option<ErrorKind>> = out.iter().map(|o| o.error.as_ref().map(|e| e.kind)).collect();
    assert_eq!(kinds.iter().filter(|k| k.is_none()).count(), 4, "{kinds:?}");
    assert!(kinds.contains(&Some(ErrorKind::AlreadyDecided)));
    assert!(kinds.contains(&Some(ErrorKind::NotFound)));
    assert!(kinds.contains(&Some(ErrorKind::InvalidId)));
    let nf = out.iter().find(|o| o.error.as_ref().is_some_and(|e| e.kind == ErrorKind::NotFound)).unwrap();
    assert!(nf.error.as_ref().unwrap().request_id.is_some(), "the item's own request-id");
    exactly_once(&env, 5).await;
}

#[tokio::test]
async fn throttled_items_are_read_again_and_re_sent_alone() {
    // The service throttles the 11th to the 20th decision (by schedule: a token bucket would
    // depend on how fast the machine sends them).
    let env = Env::with_config(Config {
        scenario: Scenario::Bulk(20),
        faults: FaultConfig { schedule: vec!["throttle@write:11-20".into()], ..FaultConfig::default() },
        ..Config::default()
    })
    .await;
    let out = approve_all(&env, vec![]).await;
    assert!(out.iter().all(|o| o.result == "Approved"), "{out:?}");
    exactly_once(&env, 20).await;
    // Injected faults are counted under "(fault injected)": the route is not looked at.
    let throttled = count(&env, "PATCH (fault injected) [batch item]", Some(429)).await;
    assert!(throttled >= 10, "10 of the first 20 were throttled, got {throttled}");
    // Items that succeeded were never sent again; each throttled one was read again first.
    assert_eq!(count(&env, "steps/{stepId} [batch item]", Some(204)).await, 20);
    assert_eq!(count(&env, "roleAssignmentApprovals/{id} [batch item]", Some(200)).await, 20 + throttled);
}

#[tokio::test]
async fn a_thousand_decisions_under_the_throttle_each_exactly_once() {
    // Every 25th decision from the 5th is throttled: at least 40 of them, whatever the machine.
    let env = Env::with_config(Config {
        scenario: Scenario::Bulk(1000),
        faults: FaultConfig { schedule: vec!["throttle@write:5+25n".into()], ..FaultConfig::default() },
        ..Config::default()
    })
    .await;
    let out = approve_all(&env, vec![]).await;
    assert_eq!(out.len(), 1000);
    let failed: Vec<_> = out.iter().filter(|o| o.result != "Approved").collect();
    assert!(failed.is_empty(), "{} failed, first: {:?}", failed.len(), failed.first());
    exactly_once(&env, 1000).await;
    assert!(count(&env, "[batch item]", Some(429)).await >= 40, "the throttle did bite");
}

#[tokio::test]
async fn the_emulator_refuses_malformed_batches() {
    let env = Env::start(Scenario::Demo).await;
    let token = env.raw_token(serde_json::json!({})).await;
    let post = |body: Value| {
        let (http, url, token) = (env.http.clone(), format!("{}/beta/$batch", env.base()), token.clone());
        async move { http.post(url).bearer_auth(token).json(&body).send().await.unwrap().status().as_u16() }
    };
    let item = |id: &str| serde_json::json!({"id": id, "method": "GET", "url": "/roleManagement/directory/roleAssignmentApprovals/00000000-0000-4000-8000-000000000000"});
    assert_eq!(post(serde_json::json!({"requests": [item("1"), item("1")]})).await, 400, "duplicate ids");
    let many: Vec<Value> = (0..21).map(|i| item(&i.to_string())).collect();
    assert_eq!(post(serde_json::json!({ "requests": many })).await, 400, "more than 20");
    assert_eq!(post(serde_json::json!({"requests": [item("a"), item("b")]})).await, 200);
}

//! Decisions through an unreliable service: 503s, 429s with every form of Retry-After, and
//! answers lost after the decision was applied. Every request is decided, each exactly once, and
//! each is reported as what really happened.

mod common;

use std::collections::HashSet;

use common::{Env, list_surface};
use pim_bridge::client::Tokens;
use pim_bridge::{DecisionOutcome, DecisionTarget, Justification, ListOptions, Review};
use pim_emulator::{Config, FaultConfig, Scenario};
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// An emulator with `n` pending requests and these faults by schedule.
fn scheduled(n: usize, rules: &[&str]) -> Config {
    let schedule = rules.iter().map(|r| r.to_string()).collect();
    Config {
        scenario: Scenario::Bulk(n),
        faults: FaultConfig { schedule, ..FaultConfig::default() },
        ..Config::default()
    }
}

/// An emulator with `n` pending requests and faults by rate, from a seed that a failing run
/// prints (cargo shows a failing test's output): rerun with `PIM_FAULT_SEED=<seed>`.
fn by_rate(n: usize, fail: f64, throttle: f64, lost: f64) -> Config {
    let seed = common::fault_seed();
    Config {
        scenario: Scenario::Bulk(n),
        faults: FaultConfig {
            fail_rate: fail,
            throttle_rate: throttle,
            lost_response_rate: lost,
            seed: Some(seed),
            ..FaultConfig::default()
        },
        ..Config::default()
    }
}

async fn approve_all(env: &Env) -> (usize, Vec<DecisionOutcome>) {
    approve_all_with(env, env.client_with_retry(json!({"baseDelayMs": 20, "budgetMs": 120000}))).await
}

async fn approve_all_with(env: &Env, client: pim_bridge::PimClient) -> (usize, Vec<DecisionOutcome>) {
    let token = env.token().await;
    let mut listed = Vec::new();
    client
        .list_pending(&token, &ListOptions::default(), &CancellationToken::new(), |p| listed.extend(p))
        .await
        .expect("listing survives the faults");
    let targets: Vec<DecisionTarget> = listed
        .iter()
        .map(|r| DecisionTarget { approval_id: r.approval_id.clone(), surface: r.surface, principal_id: None })
        .collect();
    let mut out = Vec::new();
    client
        .decide_many(
            &Tokens { graph: Some(token), arm: None },
            targets,
            Review::Approve,
            &Justification::parse("Incident clean-up").unwrap(),
            &CancellationToken::new(),
            |o| out.push(o),
        )
        .await
        .unwrap();
    (listed.len(), out)
}

/// Every request approved, each exactly once, and what was reported is what was recorded.
async fn assert_exactly_once(env: &Env, n: usize, out: &[DecisionOutcome]) {
    let failed: Vec<&DecisionOutcome> = out.iter().filter(|o| o.result != "Approved").collect();
    assert!(failed.is_empty(), "{} not approved, e.g. {:?}", failed.len(), failed.first());
    let recorded = env.decisions().await;
    let ids: HashSet<String> = recorded.iter().map(|d| d["approvalId"].as_str().unwrap().to_string()).collect();
    assert_eq!((recorded.len(), ids.len()), (n, n), "each decided exactly once");
    let reported: HashSet<String> = out.iter().map(|o| o.approval_id.clone()).collect();
    assert_eq!(reported, ids, "reported as decided = recorded as decided");
}

#[tokio::test]
async fn lost_answers_are_read_back_never_sent_twice() {
    // Every decision's answer is lost after it was applied: the client must find its own
    // decisions by reading the approvals again, and report them as made.
    let env = Env::with_config(scheduled(45, &["lost@write:1+1n"])).await;
    let (n, out) = approve_all(&env).await;
    assert_eq!(n, 45);
    assert_exactly_once(&env, 45, &out).await;
}

/// Answers that were 503 or 429.
async fn faults_answered(env: &Env) -> u64 {
    let v: serde_json::Value =
        env.http.get(format!("{}/_emulator/stats", env.base())).send().await.unwrap().json().await.unwrap();
    v["routes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == 503 || r["status"] == 429)
        .map(|r| r["count"].as_u64().unwrap())
        .sum()
}

#[tokio::test]
async fn two_hundred_through_503s_429s_and_lost_answers() {
    // Two calls in five fail (one 503, one 429) and one decision in twenty is lost after it was
    // applied: the same calls in every run.
    let env = Env::with_config(scheduled(200, &["fail@call:3+5n", "throttle@call:4+5n", "lost@write:7+20n"])).await;
    let (n, out) = approve_all(&env).await;
    assert_eq!(n, 200, "listing retried its pages");
    assert_exactly_once(&env, 200, &out).await;
    let faults = faults_answered(&env).await;
    assert!(faults > 20, "the faults happened ({faults})");
}

#[tokio::test]
async fn two_hundred_through_faults_by_rate_from_a_seed() {
    let env = Env::with_config(by_rate(200, 0.2, 0.2, 0.05)).await;
    let seed = env.emulator.fault_seed();
    let (n, out) = approve_all(&env).await;
    assert_eq!(n, 200, "listing retried its pages (fault seed {seed})");
    assert_exactly_once(&env, 200, &out).await;
}

#[tokio::test]
async fn slow_answers_beyond_the_timeout_and_resets_are_decided_exactly_once() {
    let env = Env::start(Scenario::Bulk(60)).await;
    // Calls reset before anything is done, and calls answered after 60 s (the work done), far
    // beyond the client's 2 s timeout. A batch of 20 fails whole when one of its items does.
    env.emulator.set_faults(&json!({"schedule": ["reset@call:5,47,90", "slow@call:23,70"], "slowMs": 60000})).unwrap();
    let options = pim_bridge::ClientOptions::from_json(Some(
        &json!({"graphUri": env.base(), "armUri": env.base(), "timeoutMs": 2000,
                "retry": {"baseDelayMs": 20, "budgetMs": 120000}})
        .to_string(),
    ))
    .unwrap();
    let (n, out) = approve_all_with(&env, pim_bridge::PimClient::new(options).unwrap()).await;
    assert_eq!(n, 60);
    assert_exactly_once(&env, 60, &out).await;
}

#[tokio::test]
async fn faults_can_be_set_at_run_time() {
    let env = Env::start(Scenario::Bulk(3)).await;
    let set: serde_json::Value = env
        .http
        .post(format!("{}/_emulator/faults", env.base()))
        .json(&json!({"failRate": 1.0}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(set["failRate"], 1.0);
    let e = env
        .client()
        .list_pending(&env.token().await, &ListOptions::default(), &CancellationToken::new(), |_| {})
        .await
        .unwrap_err();
    assert_eq!((e.kind, e.http_status), (pim_bridge::ErrorKind::ServiceError, 503));
    let _ = list_surface;
}

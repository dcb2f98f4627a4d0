//! Pacing: how many units of decision work a run keeps in flight. It starts with eight and grows
//! while the service answers well (`src/decide/pace.rs` has the arithmetic; here, what the service
//! sees). The emulator's gate holds every decision, so the units in flight are counted at the
//! gate (a batch's decisions are applied one after another: one held decision per batch).

mod common;

use common::{Env, list_surface};
use pim_bridge::client::Tokens;
use pim_bridge::{DecisionTarget, Justification, ListOptions, Review};
use pim_emulator::{Config, Scenario};
use serde_json::json;
use tokio_util::sync::CancellationToken;

async fn wait(env: &Env, goal: &str, timeout_ms: u64) -> u16 {
    let url = format!("{}/_emulator/wait?{goal}&timeoutMs={timeout_ms}", env.base());
    env.http.get(url).send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn a_run_starts_with_eight_batches_in_flight_then_decides_each_request_once() {
    let config = Config { scenario: Scenario::Bulk(400), gate_after: Some(0), ..Config::default() };
    let env = Env::with_config(config).await;
    let token = env.token().await;
    let targets: Vec<DecisionTarget> = list_surface(&env, &token, ListOptions::default())
        .await
        .iter()
        .map(|r| DecisionTarget { approval_id: r.approval_id.clone(), surface: r.surface, principal_id: None })
        .collect();
    assert_eq!(targets.len(), 400);
    let client = env.client_with_options(json!({"maxConcurrency": 32, "retry": {"budgetMs": 120000}}));
    let run = tokio::spawn(async move {
        let mut out = Vec::new();
        let why = Justification::parse("Change window").unwrap();
        let tokens = Tokens { graph: Some(token), arm: None };
        client
            .decide_many(&tokens, targets, Review::Approve, &why, &CancellationToken::new(), |o| out.push(o))
            .await
            .unwrap();
        out
    });
    // The bounds only tell a hang from a slow machine.
    assert_eq!(wait(&env, "held=8", 60_000).await, 200, "eight batches reached the gate");
    // No ninth while none of the eight is done. (A slow machine can only make this pass wrongly,
    // never fail wrongly; the arithmetic itself is pinned in pace.rs.)
    assert_eq!(wait(&env, "held=9", 500).await, 408, "a run starts with eight batches in flight, not maxConcurrency");
    env.emulator.set_gate(&json!({"open": true})).unwrap();
    let out = run.await.unwrap();
    assert_eq!(out.len(), 400);
    assert!(out.iter().all(|o| o.result == "Approved"), "{:?}", out.iter().find(|o| o.result != "Approved"));
    let decided = env.decisions().await;
    let ids: std::collections::HashSet<&str> = decided.iter().map(|d| d["approvalId"].as_str().unwrap()).collect();
    assert_eq!((decided.len(), ids.len()), (400, 400), "each request decided once");
}

//! Issue 11 against pim-emulator: a request named twice is decided once (finding 7), an id alone
//! is found on its surface, never guessed (finding 10), and a just-listed approval that answers
//! 404 is read again (replication delay).

mod common;

use common::Env;
use pim_bridge::client::Tokens;
use pim_bridge::{
    DecisionOutcome, DecisionRequest, ErrorKind, Justification, ListOptions, PendingRequest, Review, Surface,
};
use pim_emulator::Scenario;
use serde_json::json;
use tokio_util::sync::CancellationToken;

async fn listed(env: &Env, surface: Surface) -> Vec<PendingRequest> {
    common::list_surface(env, &env.token().await, ListOptions { surface, ..ListOptions::default() }).await
}

async fn approve(env: &Env, retry: serde_json::Value, requests: Vec<DecisionRequest>) -> Vec<DecisionOutcome> {
    let mut out = Vec::new();
    env.client_with_retry(retry)
        .decide_many(
            &Tokens { graph: Some(env.token().await), arm: None },
            requests,
            Review::Approve,
            &Justification::parse("Change 42").unwrap(),
            &CancellationToken::new(),
            |o| out.push(o),
        )
        .await
        .unwrap();
    out.sort_by_key(|o| o.index);
    out
}

fn alone(id: &str) -> DecisionRequest {
    DecisionRequest { approval_id: id.to_string(), surface: None, principal_id: None }
}

fn quick() -> serde_json::Value {
    json!({"baseDelayMs": 20, "minDelayMs": 10, "budgetMs": 20000, "notFoundWaitMs": 300})
}

#[tokio::test]
async fn the_same_request_named_several_times_is_decided_once() {
    // Before: three PATCHes for one step in one batch, one 204 and two 409s reported as decided
    // by another approver.
    let env = Env::start(Scenario::Bulk(3)).await;
    let ids: Vec<String> = listed(&env, Surface::DirectoryRole).await.into_iter().map(|p| p.approval_id).collect();
    let a = ids[0].clone();
    let requests = vec![alone(&a), alone(&a.to_uppercase()), alone(&ids[1]), alone(&format!(" {a} "))];
    let out = approve(&env, quick(), requests).await;
    let summary: Vec<(&str, Option<ErrorKind>)> =
        out.iter().map(|o| (o.result, o.error.as_ref().map(|e| e.kind))).collect();
    assert_eq!(
        summary,
        [
            ("Approved", None),
            ("Failed", Some(ErrorKind::Duplicate)),
            ("Approved", None),
            ("Failed", Some(ErrorKind::Duplicate))
        ]
    );
    assert!(out[1].error.as_ref().unwrap().message.contains("#0"), "names the first");
    assert_eq!(env.calls("steps/{stepId} [batch item]").await, 2, "one decision per request");
    assert_eq!(env.decisions().await.len(), 2);
}

#[tokio::test]
async fn an_id_alone_is_found_on_its_surface() {
    // Before: a group request's id alone was sent to directory roles and reported not found.
    let env = Env::start(Scenario::Demo).await;
    // Group stages that wait show InProgress in this form (the client-fidelity work handles the
    // published `Completed` form).
    env.emulator.set_forms(&json!({"group.waitingStatus": "InProgress"})).unwrap();
    let group = listed(&env, Surface::Group).await[0].approval_id.clone();
    let role = listed(&env, Surface::DirectoryRole)
        .await
        .into_iter()
        .find(|p| !p.principal_upn.as_deref().unwrap_or_default().to_ascii_lowercase().starts_with("meganb"))
        .unwrap()
        .approval_id;
    let nowhere = "0badc0de-0000-4000-8000-000000000000";
    let out = approve(&env, quick(), vec![alone(&group), alone(&role), alone(nowhere)]).await;
    assert_eq!((out[0].surface, out[0].result), (Surface::Group, "Approved"), "{:?}", out[0]);
    assert_eq!((out[1].surface, out[1].result), (Surface::DirectoryRole, "Approved"), "{:?}", out[1]);
    let e = out[2].error.as_ref().unwrap();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert!(e.message.contains("DirectoryRole, Group"), "names the surfaces tried: {}", e.message);
    let recorded = env.decisions().await;
    assert_eq!(recorded.len(), 2);
}

#[tokio::test]
async fn a_just_listed_approval_that_answers_404_is_read_again() {
    // Every new approval answers 404 to its first three reads, as a replica that has not caught
    // up. Before: NotFound for each.
    let env = Env::start(Scenario::Bulk(5)).await;
    let ids: Vec<String> = listed(&env, Surface::DirectoryRole).await.into_iter().map(|p| p.approval_id).collect();
    env.emulator.set_forms(&json!({"replication": "reads:3"})).unwrap();
    let requests =
        ids.iter().map(|id| DecisionRequest { surface: Some(Surface::DirectoryRole), ..alone(id) }).collect();
    let out = approve(&env, json!({"baseDelayMs": 20, "minDelayMs": 10, "budgetMs": 20000}), requests).await;
    assert!(out.iter().all(|o| o.result == "Approved"), "{:?}", out.iter().find(|o| o.result != "Approved"));
    assert_eq!(env.decisions().await.len(), 5);
}

//! The core against a running emulator: list, approve, deny, and every way it can fail.

mod common;

use common::{Env, UPN};
use pim_bridge::client::Tokens;
use pim_bridge::{DecisionTarget, ErrorKind, Justification, ListOptions, PendingRequest, Review, Surface};
use pim_emulator::Scenario;
use serde_json::json;
use tokio_util::sync::CancellationToken;

async fn list(env: &Env, options: &ListOptions) -> Vec<PendingRequest> {
    let mut all = Vec::new();
    env.client()
        .list_pending(&env.token().await, options, &CancellationToken::new(), |page| all.extend(page))
        .await
        .expect("listing works");
    all
}

fn target(id: &str) -> DecisionTarget {
    DecisionTarget { approval_id: id.to_string(), surface: Surface::DirectoryRole, principal_id: None }
}

fn graph(token: pim_bridge::AccessToken) -> Tokens {
    Tokens { graph: Some(token), arm: None }
}

fn why(s: &str) -> Justification {
    Justification::parse(s).unwrap()
}

async fn decide(env: &Env, id: &str, review: Review) -> Result<String, pim_bridge::PimError> {
    let token = env.token().await;
    env.client().decide(&token, &target(id), review, &why("Checked the ticket"), &CancellationToken::new()).await
}

#[tokio::test]
async fn lists_what_waits_on_me_with_names_in_one_call() {
    let env = Env::start(Scenario::Demo).await;
    let all = list(&env, &ListOptions::default()).await;
    assert_eq!(all.len(), 6, "five requests from others and my own; not Lynne's-only nor the granted one");
    assert!(all.iter().all(|r| r.surface == Surface::DirectoryRole));
    let adele = all.iter().find(|r| r.principal_name.as_deref() == Some("Adele Vance")).unwrap();
    assert_eq!(adele.principal_upn.as_deref(), Some(&*format!("AdeleV{UPN}")));
    assert_eq!(adele.role_name.as_deref(), Some("Global Administrator"));
    assert_eq!(adele.duration.as_deref(), Some("PT2H"));
    assert_eq!(adele.duration_seconds, Some(7200.0));
    assert_eq!(adele.ticket_number.as_deref(), Some("INC0012345"));
    assert_eq!(adele.scope_name.as_deref(), Some("Directory"));
    assert_eq!(adele.approval_id, adele.request_id);
    let diego = all.iter().find(|r| r.principal_name.as_deref() == Some("Diego Siciliani")).unwrap();
    assert!(diego.ends_at.is_some() && diego.starts_at.is_some() && diego.duration.is_none());
    assert_eq!(env.calls("roleAssignmentScheduleRequests").await, 1, "one call, names expanded");
}

#[tokio::test]
async fn follows_every_page() {
    let env = Env::start(Scenario::Bulk(120)).await;
    let all = list(&env, &ListOptions::default()).await;
    assert_eq!(all.len(), 120);
    let mut ids: Vec<&str> = all.iter().map(|r| r.approval_id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 120, "no request twice");
    assert_eq!(env.calls("filterByCurrentUser").await, 3, "pages of 50, 50 and 20");

    let env = Env::start(Scenario::Bulk(10)).await;
    let small = list(&env, &ListOptions { page_size: Some(3), ..ListOptions::default() }).await;
    assert_eq!(small.len(), 10);
    assert_eq!(env.calls("filterByCurrentUser").await, 4);
}

#[tokio::test]
async fn an_empty_tenant_lists_nothing() {
    let env = Env::start(Scenario::Empty).await;
    assert!(list(&env, &ListOptions::default()).await.is_empty());
}

#[tokio::test]
async fn approves_and_denies_exactly_what_was_asked() {
    let env = Env::start(Scenario::Demo).await;
    let all = list(&env, &ListOptions::default()).await;
    let alex = all.iter().find(|r| r.principal_name.as_deref() == Some("Alex Wilber")).unwrap();
    let lee = all.iter().find(|r| r.principal_name.as_deref() == Some("Lee Gu")).unwrap();
    let token = env.token().await;
    let c = env.client();
    let odd = "He said \"go\"\nO'Brien — Zürich ✓ \\ done";
    let step = c
        .decide(&token, &target(&alex.approval_id), Review::Approve, &why(odd), &CancellationToken::new())
        .await
        .unwrap();
    c.decide(&token, &target(&lee.approval_id), Review::Deny, &why("No ticket"), &CancellationToken::new())
        .await
        .unwrap();
    let d = env.decisions().await;
    assert_eq!(d.len(), 2);
    assert_eq!(d[0]["approvalId"], alex.approval_id.as_str());
    assert_eq!(d[0]["stepId"], step.as_str());
    assert_eq!(d[0]["reviewResult"], "Approved");
    assert_eq!(d[0]["justification"], odd, "arrives byte for byte");
    assert_eq!(d[0]["reviewer"], env.user_id("MeganB").await.as_str());
    assert_eq!(d[1]["approvalId"], lee.approval_id.as_str());
    assert_eq!(d[1]["reviewResult"], "Denied");
    let after = list(&env, &ListOptions::default()).await;
    assert_eq!(after.len(), 4, "decided requests no longer wait");
}

#[tokio::test]
async fn decides_many_each_exactly_once() {
    let env = Env::start(Scenario::Bulk(45)).await;
    let all = list(&env, &ListOptions::default()).await;
    let targets: Vec<DecisionTarget> = all.iter().map(|r| target(&r.approval_id)).collect();
    let mut outcomes = Vec::new();
    env.client()
        .decide_many(
            &graph(env.token().await),
            targets,
            Review::Approve,
            &why("Change window"),
            &CancellationToken::new(),
            |o| outcomes.push(o),
        )
        .await
        .unwrap();
    assert_eq!(outcomes.len(), 45);
    assert!(outcomes.iter().all(|o| o.result == "Approved" && o.decided_at.is_some()));
    let d = env.decisions().await;
    let mut ids: Vec<String> = d.iter().map(|x| x["approvalId"].as_str().unwrap().to_string()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!((d.len(), ids.len()), (45, 45));
}

#[tokio::test]
async fn a_decided_request_is_not_decided_again() {
    let env = Env::start(Scenario::Demo).await;
    let id = list(&env, &ListOptions::default()).await[0].approval_id.clone();
    decide(&env, &id, Review::Approve).await.unwrap();
    let e = decide(&env, &id, Review::Deny).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::AlreadyDecided);
    assert_eq!(env.decisions().await.len(), 1);
    assert_eq!(env.calls("PATCH").await, 1, "the second decision was never sent");
}

#[tokio::test]
async fn an_unknown_approval_is_not_found_with_its_request_id() {
    let env = Env::start(Scenario::Demo).await;
    let e = decide(&env, "00000000-0000-4000-8000-000000000001", Review::Approve).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert_eq!(e.http_status, 404);
    assert_eq!(e.service_code.as_deref(), Some("NotFound"));
    assert!(e.request_id.as_deref().is_some_and(|r| r.len() == 36));
}

#[tokio::test]
async fn my_own_request_is_refused_as_self_approval() {
    let env = Env::start(Scenario::Demo).await;
    let me = env.user_id("MeganB").await;
    let mine = list(&env, &ListOptions::default())
        .await
        .into_iter()
        .find(|r| r.principal_id.as_deref() == Some(&*me))
        .unwrap();
    // The service refuses it ...
    let e = decide(&env, &mine.approval_id, Review::Approve).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::SelfApproval);
    assert_eq!(e.http_status, 400);
    // ... and when the caller says whose request it is, nothing is even sent.
    let before = env.calls("PATCH").await;
    let t = DecisionTarget { principal_id: Some(me), ..target(&mine.approval_id) };
    let e = env
        .client()
        .decide(&env.token().await, &t, Review::Approve, &why("x"), &CancellationToken::new())
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::SelfApproval);
    assert_eq!(env.calls("PATCH").await, before);
    assert!(env.decisions().await.is_empty());
}

#[tokio::test]
async fn a_step_assigned_to_someone_else_is_not_sent() {
    let env = Env::start(Scenario::Demo).await;
    // Lynne alone approves Nestor's request; find it as Lynne, decide it as Megan.
    let lynne = env.token_for(json!({"user": format!("LynneR{UPN}")})).await;
    let mut theirs = Vec::new();
    env.client()
        .list_pending(&lynne, &ListOptions::default(), &CancellationToken::new(), |p| theirs.extend(p))
        .await
        .unwrap();
    let nestor = theirs.iter().find(|r| r.principal_name.as_deref() == Some("Nestor Wilke")).unwrap();
    let e = decide(&env, &nestor.approval_id, Review::Approve).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotAssignedToMe);
    assert_eq!(env.calls("PATCH").await, 0);
}

#[tokio::test]
async fn tokens_are_checked_before_calling() {
    let env = Env::start(Scenario::Demo).await;
    let id = "00000000-0000-4000-8000-000000000001";
    let c = env.client();
    let run = |token: pim_bridge::AccessToken| {
        let c = &c;
        async move {
            c.decide_many(
                &graph(token),
                vec![target(id)],
                Review::Approve,
                &why("x"),
                &CancellationToken::new(),
                |_| {},
            )
            .await
        }
    };
    let expired = env.token_for(json!({"expiresIn": -60})).await;
    assert_eq!(run(expired).await.unwrap_err().kind, ErrorKind::TokenExpired);
    let read_only = env.token_for(json!({"scopes": ["RoleAssignmentSchedule.Read.Directory"]})).await;
    assert_eq!(run(read_only).await.unwrap_err().kind, ErrorKind::MissingScope);
    let app = env.token_for(json!({"appOnly": true})).await;
    assert_eq!(run(app).await.unwrap_err().kind, ErrorKind::AppOnlyToken);
    let arm = env.token_for(json!({"audience": "arm"})).await;
    assert_eq!(run(arm).await.unwrap_err().kind, ErrorKind::InvalidToken);
    assert_eq!(env.calls("roleManagement").await, 0, "none of these reached the service");
}

#[tokio::test]
async fn the_service_refusing_a_token_is_reported() {
    let env = Env::start(Scenario::Demo).await;
    // Claims that pass our checks, a signature the emulator did not make: a 401 from the service.
    let good = env.raw_token(json!({})).await;
    let forged = format!("{}x", good);
    let token = pim_bridge::AccessToken::new(&forged).unwrap();
    let e = env
        .client()
        .list_pending(&token, &ListOptions::default(), &CancellationToken::new(), |_| {})
        .await
        .unwrap_err();
    // 401 with `error="invalid_token"` for a token that has not expired: invalid, not expired.
    assert_eq!(e.kind, ErrorKind::InvalidToken);
    assert_eq!(e.http_status, 401);
    assert_eq!(e.service_code.as_deref(), Some("InvalidAuthenticationToken"));
}

#[tokio::test]
async fn bad_ids_never_reach_a_url() {
    let env = Env::start(Scenario::Demo).await;
    for bad in ["../x", "../../users", "%2F", " ", "", "929cd687-a296-4f77-bdbc-b7cc22d3517e/steps"] {
        let e = decide(&env, bad, Review::Approve).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidId, "{bad:?}");
    }
    assert_eq!(env.calls("roleManagement").await, 0);
}

#[tokio::test]
async fn cancelled_work_sends_nothing() {
    let env = Env::start(Scenario::Bulk(30)).await;
    let all = list(&env, &ListOptions::default()).await;
    let cancel = CancellationToken::new();
    cancel.cancel();
    let targets = all.iter().map(|r| target(&r.approval_id)).collect();
    let e = env
        .client()
        .decide_many(&graph(env.token().await), targets, Review::Approve, &why("x"), &cancel, |_| {})
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Cancelled);
    assert!(env.decisions().await.is_empty());
}

#[tokio::test]
async fn an_unreachable_service_is_a_network_error() {
    // Bind and drop a listener to get a port nobody answers on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let options = pim_bridge::ClientOptions::from_json(Some(
        &json!({"graphUri": format!("http://127.0.0.1:{port}"), "retry": {"maxAttempts": 2, "baseDelayMs": 10}})
            .to_string(),
    ))
    .unwrap();
    let c = pim_bridge::PimClient::new(options).unwrap();
    let token = pim_bridge::AccessToken::new("a.b.c").unwrap();
    let e = c.list_pending(&token, &ListOptions::default(), &CancellationToken::new(), |_| {}).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Network);
    assert!(e.message.contains("127.0.0.1"), "{}", e.message);
}

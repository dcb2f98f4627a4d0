//! `includeStage`: a listing that reads each request's approval and says which stage waits on
//! me ("N of M"), on every surface, against the emulator's multi-stage approvals
//! (`POST /_emulator/requests/{id}/stages`); and a listing without it reads no approval.

mod common;

use common::{Env, list_surface};
use pim_bridge::client::Tokens;
use pim_bridge::{AccessToken, DecisionTarget, Justification, ListOptions, PendingRequest, Review, Surface};
use pim_emulator::Scenario;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

fn options(surface: Surface, include_stage: bool) -> ListOptions {
    ListOptions { surface, include_stage, ..ListOptions::default() }
}

fn query(surface: Surface) -> &'static str {
    match surface {
        Surface::DirectoryRole => "directory",
        Surface::Group => "group",
        Surface::AzureResource => "arm",
    }
}

/// Routes that read an approval (alone or as a batch item), on any surface.
const APPROVAL_ROUTES: &[&str] = &["roleAssignmentApprovals", "assignmentApprovals"];

async fn approval_reads(env: &Env) -> u64 {
    let mut n = 0;
    for r in APPROVAL_ROUTES {
        n += env.calls(r).await;
    }
    n
}

/// Makes request `id` of `surface` an approval of these stages (each a list of approvers).
async fn set_stages(env: &Env, surface: Surface, id: &str, stages: Value) {
    let url = format!("{}/_emulator/requests/{id}/stages?surface={}", env.base(), query(surface));
    let answer = env.http.post(url).json(&json!({ "stages": stages })).send().await.unwrap();
    assert!(answer.status().is_success(), "stages set: {}", answer.text().await.unwrap());
}

async fn tokens_of(env: &Env, surface: Surface, user: Option<&str>) -> AccessToken {
    let mut body = json!({});
    if let Some(u) = user {
        body["user"] = json!(u);
    }
    if surface == Surface::AzureResource {
        body["audience"] = json!("arm");
    }
    env.token_for(body).await
}

fn tokens(surface: Surface, t: AccessToken) -> Tokens {
    if surface == Surface::AzureResource {
        Tokens { graph: None, arm: Some(t) }
    } else {
        Tokens { graph: Some(t), arm: None }
    }
}

/// The demo holds two group requests: a third, asked by a requester of the first (approvers: the
/// default approver and Lynne Robbins, as every new request).
async fn add_group_request(env: &Env) {
    let first = list_surface(env, &env.token().await, options(Surface::Group, false)).await.remove(0);
    let requester = first.principal_id.unwrap();
    let raw = env.raw_token(json!({ "user": requester })).await;
    let body = json!({
        "action": "selfActivate", "principalId": requester, "groupId": first.group_id.unwrap(),
        "accessId": "owner", "justification": "a third request",
        "scheduleInfo": { "expiration": { "type": "afterDuration", "duration": "PT1H" } },
    });
    let url = format!("{}/v1.0/identityGovernance/privilegedAccess/group/assignmentScheduleRequests", env.base());
    let answer = env.http.post(url).bearer_auth(raw).json(&body).send().await.unwrap();
    assert_eq!(answer.status().as_u16(), 201, "{}", answer.text().await.unwrap());
}

fn stage_of<'a>(all: &'a [PendingRequest], id: &str) -> Option<&'a str> {
    all.iter().find(|r| r.approval_id.ends_with(id)).and_then(|r| r.stage.as_deref())
}

#[tokio::test]
async fn every_surface_says_which_stage_waits_on_me_only_when_asked() {
    for surface in [Surface::DirectoryRole, Surface::Group, Surface::AzureResource] {
        let env = Env::start(Scenario::Demo).await;
        let me_token = tokens_of(&env, surface, None).await;
        let tenant: Value =
            env.http.get(format!("{}/_emulator/tenant", env.base())).send().await.unwrap().json().await.unwrap();
        let me = tenant["defaultApprover"].as_str().unwrap().to_string();
        let lynne = env.user_id("LynneR").await;

        if surface == Surface::Group {
            add_group_request(&env).await;
        }
        // Without the option: no stage, and not one approval read.
        let plain = list_surface(&env, &me_token, options(surface, false)).await;
        assert!(plain.len() >= 3, "{surface:?}: the demo has requests to stage");
        assert!(plain.iter().all(|r| r.stage.is_none() && r.stage_count.is_none()), "{surface:?}");
        assert_eq!(approval_reads(&env).await, 0, "{surface:?}: no approval read without includeStage");
        let json = serde_json::to_value(&plain[0]).unwrap();
        assert!(json.get("stage").is_none() && json.get("stageCount").is_none(), "absent, not null: {json}");

        // Three requests: one stage; two stages, mine first; two stages, mine second.
        let ids: Vec<String> =
            plain.iter().map(|r| r.approval_id.rsplit('/').next().unwrap().to_string()).take(3).collect();
        set_stages(&env, surface, &ids[1], json!([[me], [lynne]])).await;
        set_stages(&env, surface, &ids[2], json!([[lynne], [me]])).await;
        // The first stage of the last one is approved by its approver: the second starts.
        let lynne_token = tokens_of(&env, surface, Some(&lynne)).await;
        let target = DecisionTarget { approval_id: ids[2].clone(), surface, principal_id: None };
        let mut outcomes = Vec::new();
        env.client()
            .decide_many(
                &tokens(surface, lynne_token),
                vec![target],
                Review::Approve,
                &Justification::parse("first stage").unwrap(),
                &CancellationToken::new(),
                |o| outcomes.push(o),
            )
            .await
            .unwrap();
        assert_eq!(outcomes[0].result, "Approved", "{surface:?}: {:?}", outcomes[0].error);
        let (before, batches) = (approval_reads(&env).await, env.calls("$batch").await);

        let staged = list_surface(&env, &me_token, options(surface, true)).await;
        assert_eq!(staged.len(), plain.len(), "{surface:?}: the same requests");
        assert_eq!(stage_of(&staged, &ids[0]), Some("1 of 1"), "{surface:?}: one stage");
        assert_eq!(stage_of(&staged, &ids[1]), Some("1 of 2"), "{surface:?}: two stages, mine first");
        assert_eq!(stage_of(&staged, &ids[2]), Some("2 of 2"), "{surface:?}: two stages, mine second");
        let two = staged.iter().find(|r| r.approval_id.ends_with(&ids[1])).unwrap();
        assert_eq!(two.stage_count, Some(2));
        let json = serde_json::to_value(two).unwrap();
        assert_eq!((json["stage"].as_str(), json["stageCount"].as_u64()), (Some("1 of 2"), Some(2)));

        // Read as a decision reads: Graph in one $batch per twenty, ARM one GET each.
        let reads = approval_reads(&env).await - before;
        assert_eq!(reads, staged.len() as u64, "{surface:?}: one read per request listed");
        if surface != Surface::AzureResource {
            assert_eq!(env.calls("$batch").await - batches, 1, "{surface:?}: one $batch for the page");
        }
    }
}

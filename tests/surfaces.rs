//! PIM for Groups and Azure resource roles against the emulator, and one run deciding all three
//! surfaces at once.

mod common;

use common::{Env, list_surface};
use pim_bridge::client::Tokens;
use pim_bridge::{DecisionTarget, ErrorKind, Justification, ListOptions, PendingRequest, Review, Surface};
use pim_emulator::{Config, Scenario};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

fn options(surface: Surface) -> ListOptions {
    ListOptions { surface, ..ListOptions::default() }
}

fn target(r: &PendingRequest) -> DecisionTarget {
    DecisionTarget { approval_id: r.approval_id.clone(), surface: r.surface, principal_id: None }
}

fn why(s: &str) -> Justification {
    Justification::parse(s).unwrap()
}

async fn run(
    env: &Env,
    tokens: &Tokens,
    targets: Vec<DecisionTarget>,
    review: Review,
) -> Result<Vec<pim_bridge::DecisionOutcome>, pim_bridge::PimError> {
    let mut out = Vec::new();
    env.client()
        .decide_many(tokens, targets, review, &why("Checked"), &CancellationToken::new(), |o| out.push(o))
        .await?;
    out.sort_by_key(|o| o.index);
    Ok(out)
}

fn graph_only(t: pim_bridge::AccessToken) -> Tokens {
    Tokens { graph: Some(t), arm: None }
}

fn arm_only(t: pim_bridge::AccessToken) -> Tokens {
    Tokens { graph: None, arm: Some(t) }
}

fn seed(items: Vec<Value>) -> Config {
    Config { scenario: Scenario::Empty, seed: Some(json!({ "value": items })), ..Config::default() }
}

// ---- PIM for Groups ----

#[tokio::test]
async fn groups_list_with_group_and_principal_names() {
    let env = Env::start(Scenario::Demo).await;
    let all = list_surface(&env, &env.token().await, options(Surface::Group)).await;
    assert_eq!(all.len(), 2);
    let alex = all.iter().find(|r| r.principal_name.as_deref() == Some("Alex Wilber")).unwrap();
    assert_eq!(alex.surface, Surface::Group);
    assert_eq!(alex.group_name.as_deref(), Some("Finance Approvers"));
    assert_eq!(alex.access_type.as_deref(), Some("member"));
    assert_eq!(alex.role_name.as_deref(), Some("Member"));
    assert_eq!(alex.scope_name.as_deref(), Some("Finance Approvers"));
    assert_eq!(alex.duration_seconds, Some(4.0 * 3600.0));
    let isaiah = all.iter().find(|r| r.access_type.as_deref() == Some("owner")).unwrap();
    assert_eq!(isaiah.group_name.as_deref(), Some("SharePoint Site Admins"));
    assert_eq!(env.calls("assignmentScheduleRequests").await, 1, "names come in the same call");
}

#[tokio::test]
async fn groups_page_through_many() {
    let me = pim_emulator::state::stable_guid(2, 3);
    let items = (0..120)
        .map(|i| json!({"id": pim_emulator::state::stable_guid(40, i), "principalId": me, "groupId": pim_emulator::state::stable_guid(41, i % 3), "accessId": "member", "status": "PendingApproval"}))
        .collect();
    let env = Env::with_config(seed(items)).await;
    let all = list_surface(&env, &env.token().await, options(Surface::Group)).await;
    assert_eq!(all.len(), 120);
    assert_eq!(env.calls("assignmentScheduleRequests/filterByCurrentUser").await, 3);
}

/// Approves the first group request and denies the second; returns the first's stage id.
async fn approve_and_deny_groups(env: &Env) -> (String, Vec<PendingRequest>) {
    let token = env.token().await;
    let all = list_surface(env, &token, options(Surface::Group)).await;
    let out = run(env, &graph_only(token.clone()), vec![target(&all[0])], Review::Approve).await.unwrap();
    assert_eq!(out[0].result, "Approved");
    let stage = out[0].step_id.clone().unwrap();
    let out = run(env, &graph_only(token), vec![target(&all[1])], Review::Deny).await.unwrap();
    assert_eq!(out[0].result, "Denied");
    (stage, all)
}

#[tokio::test]
async fn groups_approve_and_deny_through_v1_stages() {
    // The published form (gdc beta approval-filterbycurrentuser.md, Example 2): the stage's id is
    // the approval's, and the stage waiting on the approver says Completed with NotReviewed.
    let env = Env::start(Scenario::Demo).await;
    let (stage, all) = approve_and_deny_groups(&env).await;
    assert_eq!(stage, all[0].approval_id, "the stage id is read: the approval's own, as published");
    let d = env.decisions().await;
    assert_eq!((d.len(), d[0]["stepId"].as_str()), (2, Some(stage.as_str())));
    assert_eq!(d[1]["reviewResult"], "Denied");
    assert_eq!(
        env.calls("PATCH /{ver}/identityGovernance/privilegedAccess/group/assignmentApprovals/{id}/{stages|steps}")
            .await,
        2
    );
}

#[tokio::test]
async fn groups_approve_and_deny_stages_with_ids_of_their_own() {
    // The form the emulator answered in before issue 12 (and the v1.0 entitlement examples): a
    // stage id of its own, the waiting stage InProgress.
    let forms = vec!["group.stageId=own".to_string(), "group.waitingStatus=InProgress".to_string()];
    let env = Env::with_config(Config { scenario: Scenario::Demo, forms, ..Config::default() }).await;
    let (stage, all) = approve_and_deny_groups(&env).await;
    assert_ne!(stage, all[0].approval_id, "the stage id is read, not assumed");
    let d = env.decisions().await;
    assert_eq!((d.len(), d[0]["stepId"].as_str()), (2, Some(stage.as_str())));
    assert_eq!(d[1]["reviewResult"], "Denied");
}

#[tokio::test]
async fn groups_refuse_a_directory_only_token_before_sending() {
    let env = Env::start(Scenario::Demo).await;
    let all = list_surface(&env, &env.token().await, options(Surface::Group)).await;
    let dir_only = env.token_for(json!({"scopes": ["RoleAssignmentSchedule.ReadWrite.Directory"]})).await;
    let e = run(&env, &graph_only(dir_only), vec![target(&all[0])], Review::Approve).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::MissingScope);
    assert!(e.message.contains("PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup"), "{}", e.message);
    assert!(env.decisions().await.is_empty());
    assert_eq!(env.calls("assignmentApprovals").await, 0);
}

#[tokio::test]
async fn groups_error_paths() {
    let env = Env::start(Scenario::Demo).await;
    let token = env.token().await;
    let all = list_surface(&env, &token, options(Surface::Group)).await;
    let tokens = graph_only(token);
    run(&env, &tokens, vec![target(&all[0])], Review::Approve).await.unwrap();
    let again = run(&env, &tokens, vec![target(&all[0])], Review::Deny).await.unwrap();
    assert_eq!(again[0].error.as_ref().unwrap().kind, ErrorKind::AlreadyDecided);
    let unknown = DecisionTarget {
        approval_id: "00000000-0000-4000-8000-000000000009".into(),
        surface: Surface::Group,
        principal_id: None,
    };
    let nf = run(&env, &tokens, vec![unknown], Review::Approve).await.unwrap();
    assert_eq!(nf[0].error.as_ref().unwrap().kind, ErrorKind::NotFound);
    // Lynne may not decide it... she is an approver; Pradeep is not.
    let pradeep = env.token_for(json!({"user": "PradeepG@contoso.onmicrosoft.com"})).await;
    let mine = run(&env, &graph_only(pradeep), vec![target(&all[1])], Review::Approve).await.unwrap();
    assert_eq!(mine[0].error.as_ref().unwrap().kind, ErrorKind::NotAssignedToMe);
    let bad = DecisionTarget { approval_id: "../x".into(), surface: Surface::Group, principal_id: None };
    assert_eq!(
        run(&env, &tokens, vec![bad], Review::Approve).await.unwrap()[0].error.as_ref().unwrap().kind,
        ErrorKind::InvalidId
    );
    assert_eq!(env.decisions().await.len(), 1);
}

#[tokio::test]
async fn groups_self_approval_is_refused() {
    let me = pim_emulator::state::stable_guid(2, 0);
    let id = pim_emulator::state::stable_guid(42, 0);
    let env =
        Env::with_config(seed(vec![json!({"id": id, "principalId": me, "groupId": "g1", "accessId": "owner"})])).await;
    let t = DecisionTarget { approval_id: id, surface: Surface::Group, principal_id: None };
    let out = run(&env, &graph_only(env.token().await), vec![t], Review::Approve).await.unwrap();
    assert_eq!(out[0].error.as_ref().unwrap().kind, ErrorKind::SelfApproval);
    assert!(env.decisions().await.is_empty());
}

// ---- Azure resources ----

#[tokio::test]
async fn azure_lists_at_the_root_and_at_a_scope_with_expanded_names() {
    let env = Env::start(Scenario::Demo).await;
    let arm = env.arm_token().await;
    let all = list_surface(&env, &arm, options(Surface::AzureResource)).await;
    assert_eq!(all.len(), 3, "PendingApproval and PendingApprovalProvisioning both wait");
    let jo = all.iter().find(|r| r.principal_name.as_deref() == Some("Johanna Lorenz")).unwrap();
    assert_eq!(jo.surface, Surface::AzureResource);
    assert_eq!(jo.role_name.as_deref(), Some("Contributor"));
    assert_eq!(jo.scope_name.as_deref(), Some("Contoso Production"));
    assert!(jo.scope_id.as_deref().unwrap().starts_with("/subscriptions/"));
    assert!(jo.approval_id.starts_with("/providers/Microsoft.Authorization/roleAssignmentApprovals/"));
    assert_eq!(jo.principal_upn.as_deref(), Some("JohannaL@contoso.onmicrosoft.com"));
    let sub = jo.scope_id.clone().unwrap();
    let at_sub =
        list_surface(&env, &arm, ListOptions { arm_scope: Some(sub), ..options(Surface::AzureResource) }).await;
    assert_eq!(at_sub.len(), 2, "the subscription and its resource group");
}

#[tokio::test]
async fn azure_pages_through_next_link() {
    let me = pim_emulator::state::stable_guid(2, 5);
    let items = (0..120)
        .map(|i| {
            json!({"id": "x", "name": pim_emulator::state::stable_guid(43, i), "type": "t", "properties": {
                "scope": "/subscriptions/11111111-1111-4111-8111-111111111111", "principalId": me, "status": "PendingApproval",
                "roleDefinitionId": "/subscriptions/11111111-1111-4111-8111-111111111111/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"}})
        })
        .collect();
    let env = Env::with_config(seed(items)).await;
    let all = list_surface(&env, &env.arm_token().await, options(Surface::AzureResource)).await;
    assert_eq!(all.len(), 120);
    assert_eq!(all[0].role_name.as_deref(), Some("Reader"));
    assert_eq!(env.calls("roleAssignmentScheduleRequests").await, 3);
}

#[tokio::test]
async fn azure_approves_with_put_and_denies() {
    let env = Env::start(Scenario::Demo).await;
    let arm = env.arm_token().await;
    let all = list_surface(&env, &arm, options(Surface::AzureResource)).await;
    let out = run(&env, &arm_only(arm.clone()), vec![target(&all[0]), target(&all[2])], Review::Approve).await.unwrap();
    assert!(out.iter().all(|o| o.result == "Approved"), "{out:?}");
    let out = run(&env, &arm_only(arm), vec![target(&all[1])], Review::Deny).await.unwrap();
    assert_eq!(out[0].result, "Denied");
    let d = env.decisions().await;
    assert_eq!(d.len(), 3);
    assert_eq!(env.calls("PUT {scope}/providers/Microsoft.Authorization/roleAssignmentApprovals").await, 3);
}

#[tokio::test]
async fn azure_refuses_a_graph_token_and_bad_ids_before_sending() {
    let env = Env::start(Scenario::Demo).await;
    let all = list_surface(&env, &env.arm_token().await, options(Surface::AzureResource)).await;
    let e = run(&env, &arm_only(env.token().await), vec![target(&all[0])], Review::Approve).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidToken);
    let e = run(&env, &graph_only(env.token().await), vec![target(&all[0])], Review::Approve).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::MissingToken, "an ARM request without an ARM token");
    let e = env
        .client()
        .list_pending(&env.token().await, &options(Surface::AzureResource), &CancellationToken::new(), |_| {})
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidToken);
    for bad in [
        "/providers/Microsoft.Authorization/roleAssignments/929cd687-a296-4f77-bdbc-b7cc22d3517e",
        "/providers/Microsoft.Authorization/roleAssignmentApprovals/929cd687-a296-4f77-bdbc-b7cc22d3517e/../../x",
        "../../subscriptions",
    ] {
        let t = DecisionTarget { approval_id: bad.into(), surface: Surface::AzureResource, principal_id: None };
        let out = run(&env, &arm_only(env.arm_token().await), vec![t], Review::Approve).await.unwrap();
        assert_eq!(out[0].error.as_ref().unwrap().kind, ErrorKind::InvalidId, "{bad}");
    }
    assert_eq!(env.calls("roleAssignmentApprovals").await, 0);
    let e =
        ListOptions::from_json(Some(r#"{"surface":"AzureResource","armScope":"/subscriptions/../x"}"#)).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidInput);
}

#[tokio::test]
async fn azure_error_paths() {
    let env = Env::start(Scenario::Demo).await;
    let arm = env.arm_token().await;
    let all = list_surface(&env, &arm, options(Surface::AzureResource)).await;
    let tokens = arm_only(arm);
    run(&env, &tokens, vec![target(&all[0])], Review::Approve).await.unwrap();
    let again = run(&env, &tokens, vec![target(&all[0])], Review::Approve).await.unwrap();
    assert_eq!(again[0].error.as_ref().unwrap().kind, ErrorKind::AlreadyDecided);
    let unknown = DecisionTarget {
        approval_id: "/providers/Microsoft.Authorization/roleAssignmentApprovals/00000000-0000-4000-8000-000000000009"
            .into(),
        surface: Surface::AzureResource,
        principal_id: None,
    };
    let nf = run(&env, &tokens, vec![unknown], Review::Approve).await.unwrap();
    let err = nf[0].error.as_ref().unwrap();
    assert_eq!((err.kind, err.http_status), (ErrorKind::NotFound, 404));
    assert_eq!(err.service_code.as_deref(), Some("RoleAssignmentApprovalNotFound"));
    assert!(err.request_id.is_some(), "ARM's x-ms-request-id is kept");
    let expired = env.token_for(json!({"audience": "arm", "expiresIn": -5})).await;
    assert_eq!(
        run(&env, &arm_only(expired), vec![target(&all[1])], Review::Approve).await.unwrap_err().kind,
        ErrorKind::TokenExpired
    );
}

// ---- All three at once ----

#[tokio::test]
async fn one_run_decides_all_three_surfaces() {
    let env = Env::start(Scenario::Demo).await;
    let graph = env.token().await;
    let arm = env.arm_token().await;
    let mut targets = Vec::new();
    for (token, surface) in [(&graph, Surface::DirectoryRole), (&graph, Surface::Group), (&arm, Surface::AzureResource)]
    {
        let all = list_surface(&env, token, options(surface)).await;
        targets.push(target(all.iter().find(|r| r.principal_name.as_deref() != Some("Megan Bowen")).unwrap()));
    }
    let out = run(&env, &Tokens { graph: Some(graph), arm: Some(arm) }, targets, Review::Approve).await.unwrap();
    assert_eq!(out.len(), 3);
    assert!(out.iter().all(|o| o.result == "Approved"), "{out:?}");
    let surfaces: Vec<Surface> = out.iter().map(|o| o.surface).collect();
    assert_eq!(surfaces, [Surface::DirectoryRole, Surface::Group, Surface::AzureResource]);
    assert_eq!(env.decisions().await.len(), 3);
}

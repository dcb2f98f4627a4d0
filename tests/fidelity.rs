//! The client against each of the emulator's forms that concern it (`--form`, issue 12): where
//! Microsoft's published sources disagree or are silent, the client must work with every form.
//! Each test reads the emulator's own record (`/_emulator/decisions`, `/_emulator/stats`) to show
//! that each request was decided exactly once, on the right stage, or refused for the right reason.

mod common;

use common::{Env, list_surface};
use pim_bridge::client::Tokens;
use pim_bridge::{
    AccessToken, DecisionOutcome, DecisionTarget, ErrorKind, Justification, ListOptions, PendingRequest, Review,
    Surface,
};
use pim_emulator::state::stable_guid;
use pim_emulator::{Config, Scenario};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const GROUP_STAGE_PATCH: &str =
    "PATCH /{ver}/identityGovernance/privilegedAccess/group/assignmentApprovals/{id}/{stages|steps}/{stageId}";
const ARM_STAGE: &str = "{scope}/providers/Microsoft.Authorization/roleAssignmentApprovals/{id}/stages/{stageId}";

async fn start(scenario: Scenario, forms: &[&str]) -> Env {
    Env::with_config(Config { scenario, forms: forms.iter().map(|f| f.to_string()).collect(), ..Config::default() })
        .await
}

fn options(surface: Surface) -> ListOptions {
    ListOptions { surface, ..ListOptions::default() }
}

fn target(r: &PendingRequest) -> DecisionTarget {
    DecisionTarget { approval_id: r.approval_id.clone(), surface: r.surface, principal_id: None }
}

fn graph(t: AccessToken) -> Tokens {
    Tokens { graph: Some(t), arm: None }
}

fn arm(t: AccessToken) -> Tokens {
    Tokens { graph: None, arm: Some(t) }
}

async fn run(env: &Env, tokens: &Tokens, targets: Vec<DecisionTarget>, review: Review) -> Vec<DecisionOutcome> {
    let mut out = Vec::new();
    let why = Justification::parse("Checked").unwrap();
    env.client()
        .decide_many(tokens, targets, review, &why, &CancellationToken::new(), |o| out.push(o))
        .await
        .expect("the run completes");
    out.sort_by_key(|o| o.index);
    out
}

fn error_of(o: &DecisionOutcome) -> &pim_bridge::PimError {
    o.error.as_ref().unwrap_or_else(|| panic!("a failure, not {o:?}"))
}

/// Answers the emulator gave: `method route` (exactly, batch items apart), and `status` if given.
async fn answered(env: &Env, route: &str, status: Option<u64>) -> u64 {
    let v: Value = env.http.get(format!("{}/_emulator/stats", env.base())).send().await.unwrap().json().await.unwrap();
    v["routes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["route"] == route && status.is_none_or(|s| r["status"] == s))
        .map(|r| r["count"].as_u64().unwrap())
        .sum()
}

/// A raw GET with `token`, as JSON.
async fn get(env: &Env, path: &str, token: &str) -> Value {
    env.http.get(format!("{}{path}", env.base())).bearer_auth(token).send().await.unwrap().json().await.unwrap()
}

async fn post(env: &Env, path: &str, body: Value) -> Value {
    let r = env.http.post(format!("{}{path}", env.base())).json(&body).send().await.unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap()
}

/// The emulator's record of decisions: `(approvalId, stepId, reviewResult)`.
async fn decided(env: &Env) -> Vec<(String, String, String)> {
    env.decisions()
        .await
        .iter()
        .map(|d| {
            let s = |k: &str| d[k].as_str().unwrap_or_default().to_string();
            (s("approvalId"), s("stepId"), s("reviewResult"))
        })
        .collect()
}

// ---- PIM for Groups: the stage's id and its waiting status ----

#[tokio::test]
async fn groups_are_decided_once_on_the_stage_shown_under_every_stage_form() {
    for (stage_id, waiting) in
        [("approvalId", "Completed"), ("approvalId", "InProgress"), ("own", "Completed"), ("own", "InProgress")]
    {
        let form = format!("group.stageId={stage_id} group.waitingStatus={waiting}");
        let forms = [format!("group.stageId={stage_id}"), format!("group.waitingStatus={waiting}")];
        let env = start(Scenario::Demo, &forms.iter().map(String::as_str).collect::<Vec<_>>()).await;
        let raw = env.raw_token(json!({})).await;
        let token = AccessToken::new(&raw).unwrap();
        let all = list_surface(&env, &token, options(Surface::Group)).await;
        assert_eq!(all.len(), 2, "{form}");
        // The stage each approval shows the approver (v1.0 `stages`).
        let mut shown = Vec::new();
        for r in &all {
            let path = format!("/v1.0/identityGovernance/privilegedAccess/group/assignmentApprovals/{}", r.approval_id);
            let stage = get(&env, &path, &raw).await["stages"][0].clone();
            assert_eq!(stage["status"], waiting, "{form}");
            assert_eq!(stage["reviewResult"], "NotReviewed", "{form}");
            let id = stage["id"].as_str().unwrap().to_string();
            assert_eq!(id == r.approval_id, stage_id == "approvalId", "{form}: the stage's id as the form says");
            shown.push(id);
        }
        // One batched (v1.0 $batch), one alone (the per-request path).
        let out = run(&env, &graph(token.clone()), vec![target(&all[0])], Review::Approve).await;
        assert_eq!((out[0].result, out[0].step_id.as_deref()), ("Approved", Some(shown[0].as_str())), "{form}");
        let why = Justification::parse("Not now").unwrap();
        let step =
            env.client().decide(&token, &target(&all[1]), Review::Deny, &why, &CancellationToken::new()).await.unwrap();
        assert_eq!(step, shown[1], "{form}");
        assert_eq!(
            decided(&env).await,
            [
                (all[0].approval_id.clone(), shown[0].clone(), "Approved".into()),
                (all[1].approval_id.clone(), shown[1].clone(), "Denied".into())
            ],
            "{form}: each decided once, on the stage shown"
        );
        assert_eq!(answered(&env, &format!("{GROUP_STAGE_PATCH} [batch item]"), Some(204)).await, 1, "{form}");
        assert_eq!(answered(&env, GROUP_STAGE_PATCH, Some(204)).await, 1, "{form}");
        assert_eq!(answered(&env, GROUP_STAGE_PATCH, Some(404)).await, 0, "{form}");
    }
}

#[tokio::test]
async fn directory_roles_are_decided_on_their_beta_step() {
    let env = start(Scenario::Demo, &[]).await;
    let raw = env.raw_token(json!({})).await;
    let token = AccessToken::new(&raw).unwrap();
    let all = list_surface(&env, &token, options(Surface::DirectoryRole)).await;
    let adele = all.iter().find(|r| r.principal_name.as_deref() == Some("Adele Vance")).unwrap();
    let path = format!("/beta/roleManagement/directory/roleAssignmentApprovals/{}", adele.approval_id);
    let step = get(&env, &path, &raw).await["steps"][0].clone();
    assert_eq!((step["status"].as_str(), step["assignedToMe"].as_bool()), (Some("InProgress"), Some(true)));
    let out = run(&env, &graph(token), vec![target(adele)], Review::Approve).await;
    assert_eq!(out[0].step_id.as_deref(), step["id"].as_str());
    assert_eq!(
        decided(&env).await,
        [(adele.approval_id.clone(), step["id"].as_str().unwrap().into(), "Approved".into())]
    );
}

// ---- Azure resources: the stage's name, the decision's method, body and answer ----

/// The stage ARM shows for an approval: its id's last segment and its name.
async fn arm_stage(env: &Env, raw: &str, approval_id: &str) -> (String, String) {
    let v = get(env, &format!("{approval_id}?api-version=2021-01-01-preview"), raw).await;
    let stage = &v["properties"]["stages"][0];
    let id = stage["id"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    (id, stage["name"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn azure_stages_are_addressed_by_their_id_whatever_their_name() {
    for name in ["distinct", "equal"] {
        let form = format!("arm.stageName={name}");
        let env = start(Scenario::Demo, &[&form]).await;
        let raw = env.raw_token(json!({"audience": "arm"})).await;
        let token = AccessToken::new(&raw).unwrap();
        let all = list_surface(&env, &token, options(Surface::AzureResource)).await;
        let (id, stage_name) = arm_stage(&env, &raw, &all[0].approval_id).await;
        assert_eq!(id != stage_name, name == "distinct", "{form}");
        let out = run(&env, &arm(token), vec![target(&all[0])], Review::Approve).await;
        assert_eq!((out[0].result, out[0].step_id.as_deref()), ("Approved", Some(id.as_str())), "{form}");
        let approval = all[0].approval_id.rsplit('/').next().unwrap().to_string();
        assert_eq!(decided(&env).await, [(approval, id, "Approved".into())], "{form}");
        assert_eq!(answered(&env, &format!("PUT {ARM_STAGE}"), Some(200)).await, 1, "{form}");
        assert_eq!(answered(&env, &format!("PUT {ARM_STAGE}"), Some(404)).await, 0, "{form}");
    }
}

#[tokio::test]
async fn azure_decisions_are_taken_in_every_published_form() {
    // The sources disagree on the method (PUT, PATCH) and the body (in `properties` or not): the
    // client sends PUT with `properties` first, and on a 405 or a 400 another published form (a
    // refused form is not applied). Each form pinned alone, and the two together.
    let put = format!("PUT {ARM_STAGE}");
    let patch = format!("PATCH {ARM_STAGE}");
    for (forms, calls) in [
        (&["arm.decisionMethod=PUT"][..], [(&put, 200, 1)].to_vec()),
        (&["arm.decisionBody=properties"][..], [(&put, 200, 1)].to_vec()),
        (&["arm.decisionAnswer=empty"][..], [(&put, 200, 1)].to_vec()),
        (&["arm.decisionAnswer=stage"][..], [(&put, 200, 1)].to_vec()),
        (&["arm.decisionMethod=PATCH"][..], [(&put, 405, 1), (&patch, 200, 1)].to_vec()),
        (&["arm.decisionBody=topLevel"][..], [(&put, 400, 1), (&put, 200, 1)].to_vec()),
        (
            &["arm.decisionMethod=PATCH", "arm.decisionBody=topLevel"][..],
            [(&put, 405, 1), (&patch, 400, 1), (&patch, 200, 1)].to_vec(),
        ),
    ] {
        let env = start(Scenario::Demo, forms).await;
        let token = env.arm_token().await;
        let all = list_surface(&env, &token, options(Surface::AzureResource)).await;
        let out = run(&env, &arm(token), vec![target(&all[0])], Review::Approve).await;
        assert_eq!(out[0].result, "Approved", "{forms:?}: {out:?}");
        assert_eq!(decided(&env).await.len(), 1, "{forms:?}");
        for &(route, status, n) in &calls {
            assert_eq!(answered(&env, route, Some(status)).await, n, "{forms:?}: {route} {status}");
        }
        let sent = answered(&env, &put, None).await + answered(&env, &patch, None).await;
        assert_eq!(sent, calls.len() as u64, "{forms:?}: one call per form tried, nothing sent again");
    }
}

#[tokio::test]
async fn the_form_the_service_took_is_sent_first_for_the_rest_of_the_operation() {
    // Only PATCH with a top-level body: the first request finds it (two refused forms, not
    // applied), every later one of the operation sends it at once.
    let env = start(Scenario::Demo, &["arm.decisionMethod=PATCH", "arm.decisionBody=topLevel"]).await;
    let token = env.arm_token().await;
    let all = list_surface(&env, &token, options(Surface::AzureResource)).await;
    assert!(all.len() >= 2, "the demo has several Azure requests");
    let client = env.client_with_options(json!({"maxConcurrency": 1}));
    let mut out = Vec::new();
    let why = Justification::parse("Checked").unwrap();
    let targets = all.iter().map(target).collect();
    client
        .decide_many(&arm(token), targets, Review::Approve, &why, &CancellationToken::new(), |o| out.push(o))
        .await
        .unwrap();
    assert!(out.iter().all(|o| o.result == "Approved"), "{out:?}");
    assert_eq!(decided(&env).await.len(), all.len());
    let patch = format!("PATCH {ARM_STAGE}");
    assert_eq!(answered(&env, &patch, Some(200)).await, all.len() as u64);
    let refused = answered(&env, &format!("PUT {ARM_STAGE}"), None).await + answered(&env, &patch, Some(400)).await;
    assert_eq!(refused, 2, "two refused forms in the whole operation, not two per request");
}

#[tokio::test]
async fn a_refusal_in_every_form_is_reported_as_what_it_is() {
    // A self-approval refused with 400: the other body is tried once (the 400 might have been
    // the body), then the refusal is reported as a self-approval; nothing is applied.
    let me = stable_guid(2, 0);
    let azure = stable_guid(47, 0);
    let seed = json!({"value": [
        {"id": "x", "name": azure, "type": "t", "properties": {
            "scope": "/subscriptions/11111111-1111-4111-8111-111111111111", "principalId": me, "status": "PendingApproval",
            "roleDefinitionId": "/subscriptions/11111111-1111-4111-8111-111111111111/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"}}
    ]});
    let forms = vec!["arm.selfApproval=400:SelfApprovalNotAllowed".to_string()];
    let config = Config { scenario: Scenario::Empty, seed: Some(seed), forms, ..Config::default() };
    let env = Env::with_config(config).await;
    let a = list_surface(&env, &env.arm_token().await, options(Surface::AzureResource)).await;
    let out = run(&env, &arm(env.arm_token().await), vec![target(&a[0])], Review::Approve).await;
    assert_eq!(error_of(&out[0]).kind, ErrorKind::SelfApproval, "{out:?}");
    assert_eq!(answered(&env, &format!("PUT {ARM_STAGE}"), Some(400)).await, 2, "both bodies, refused");
    assert_eq!(answered(&env, &format!("PATCH {ARM_STAGE}"), None).await, 0);
    assert!(decided(&env).await.is_empty());
}

// ---- $expand and $top refused on the filterByCurrentUser functions ----

const ROLES_FUNCTION: &str =
    "GET /{ver}/roleManagement/directory/roleAssignmentScheduleRequests/filterByCurrentUser(on='approver')";
const GROUPS_FUNCTION: &str = "GET /{ver}/identityGovernance/privilegedAccess/group/assignmentScheduleRequests/filterByCurrentUser(on='approver')";
const GET_BY_IDS: &str = "POST /{ver}/directoryObjects/getByIds";
const ROLE_DEFINITION: &str = "GET /{ver}/roleManagement/directory/roleDefinitions/{id} [batch item]";

/// Lists twice with one client, so that the second listing shows what the first remembered.
async fn list_twice(
    env: &Env,
    token: &AccessToken,
    options: &ListOptions,
) -> (Vec<PendingRequest>, Vec<PendingRequest>) {
    let client = env.client();
    let mut lists = (Vec::new(), Vec::new());
    client.list_pending(token, options, &CancellationToken::new(), |p| lists.0.extend(p)).await.unwrap();
    client.list_pending(token, options, &CancellationToken::new(), |p| lists.1.extend(p)).await.unwrap();
    lists
}

/// Principal, user principal name, role and group names of a request.
type Named = (Option<String>, Option<String>, Option<String>, Option<String>);

fn names(all: &[PendingRequest]) -> Vec<Named> {
    let mut v: Vec<_> = all
        .iter()
        .map(|r| (r.principal_name.clone(), r.principal_upn.clone(), r.role_name.clone(), r.group_name.clone()))
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn directory_roles_list_again_without_a_refused_option_and_name_in_bulk() {
    // The names as the service expands them, for comparison.
    let plain = start(Scenario::Demo, &[]).await;
    let expected = names(&list_surface(&plain, &plain.token().await, options(Surface::DirectoryRole)).await);
    assert_eq!(expected.len(), 6);
    assert!(expected.iter().all(|(p, u, r, _)| p.is_some() && u.is_some() && r.is_some()));
    let sized = ListOptions { page_size: Some(4), ..options(Surface::DirectoryRole) };
    for (forms, refused_calls) in [
        (vec!["roles.expandOnFunction=refused"], 1),
        (vec!["roles.topOnFunction=refused"], 2),
        (vec!["roles.expandOnFunction=refused", "roles.topOnFunction=refused"], 3),
    ] {
        let env = start(Scenario::Demo, &forms).await;
        let token = env.token().await;
        let (first, second) = list_twice(&env, &token, &sized).await;
        assert_eq!(names(&first), expected, "{forms:?}: the same names, looked up");
        assert_eq!(names(&second), expected, "{forms:?}");
        assert_eq!(
            answered(&env, ROLES_FUNCTION, Some(400)).await,
            refused_calls,
            "{forms:?}: refused once, then remembered"
        );
        let pages = answered(&env, ROLES_FUNCTION, Some(200)).await;
        let top_kept = !forms.contains(&"roles.topOnFunction=refused");
        // 6 requests: pages of 4 while $top is taken, else the service's page (50).
        assert_eq!(pages, if top_kept { 4 } else { 2 }, "{forms:?}");
        let expand_kept = !forms.contains(&"roles.expandOnFunction=refused");
        // Names: none looked up while $expand is taken; else one getByIds and one $batch of role
        // definitions per page with names not yet known (each of these pages has), never one
        // call per request.
        let lookups = if expand_kept { 0 } else { pages };
        assert_eq!(answered(&env, GET_BY_IDS, Some(200)).await, lookups, "{forms:?}");
        assert_eq!(answered(&env, "POST /{ver}/$batch", Some(200)).await, lookups, "{forms:?}");
        let roles = if expand_kept { 0 } else { 2 * 6 };
        assert_eq!(answered(&env, ROLE_DEFINITION, Some(200)).await, roles, "{forms:?}: each role once a listing");
    }
}

#[tokio::test]
async fn groups_list_again_without_a_refused_option_and_name_in_bulk() {
    let plain = start(Scenario::Demo, &[]).await;
    let expected = names(&list_surface(&plain, &plain.token().await, options(Surface::Group)).await);
    assert_eq!(expected.len(), 2);
    let sized = ListOptions { page_size: Some(1), ..options(Surface::Group) };
    for forms in [
        vec!["groups.expandOnFunction=refused"],
        vec!["groups.expandOnFunction=refused", "groups.topOnFunction=refused"],
    ] {
        let env = start(Scenario::Demo, &forms).await;
        let token = env.token().await;
        let (first, second) = list_twice(&env, &token, &sized).await;
        assert_eq!(names(&first), expected, "{forms:?}");
        assert_eq!(names(&second), expected, "{forms:?}");
        for r in first.iter().chain(&second) {
            assert_eq!(r.scope_name, r.group_name, "the group is the scope");
        }
        let both = forms.len() == 2;
        assert_eq!(answered(&env, GROUPS_FUNCTION, Some(400)).await, if both { 3 } else { 1 }, "{forms:?}");
        // Pages of 1 while $top is taken: 2 pages a listing, each with new names to look up.
        let per_listing = if both { 1 } else { 2 };
        assert_eq!(answered(&env, GROUPS_FUNCTION, Some(200)).await, 2 * per_listing, "{forms:?}");
        assert_eq!(answered(&env, GET_BY_IDS, Some(200)).await, 2 * per_listing, "{forms:?}");
    }
}

#[tokio::test]
async fn many_requests_are_named_with_one_look_up_a_page() {
    let principals: Vec<String> = (0..11).map(|i| stable_guid(2, i)).collect();
    let items: Vec<Value> = (0..120)
        .map(|i| {
            json!({"id": stable_guid(44, i), "principalId": principals[1 + (i as usize % 10)],
                   "groupId": stable_guid(45, i % 7), "accessId": "member", "status": "PendingApproval"})
        })
        .collect();
    let config = Config {
        scenario: Scenario::Empty,
        seed: Some(json!({ "value": items })),
        forms: vec!["groups.expandOnFunction=refused".into()],
        ..Config::default()
    };
    let env = Env::with_config(config).await;
    let all = list_surface(&env, &env.token().await, options(Surface::Group)).await;
    assert_eq!(all.len(), 120);
    assert!(all.iter().all(|r| r.principal_name.is_some() && r.principal_upn.is_some()), "every principal named");
    assert_eq!(answered(&env, GROUPS_FUNCTION, Some(200)).await, 3, "pages of 50");
    assert_eq!(answered(&env, GET_BY_IDS, None).await, 1, "one look-up: later pages name no one new");
}

// ---- Self-approval: whatever 4xx the service answers ----

/// The default approver's own directory-role request in the demo.
fn own_role_request() -> String {
    stable_guid(3, 100)
}

#[tokio::test]
async fn a_refused_self_approval_is_reported_as_such_whatever_the_4xx() {
    for form in [
        "400:SelfApprovalNotAllowed",
        "403:Authorization_RequestDenied",
        "403:Forbidden",
        "400:BadRequest",
        "409:Conflict",
        "404:NotFound",
    ] {
        let env = start(Scenario::Demo, &[&format!("selfApproval={form}")]).await;
        let token = env.token().await;
        let own =
            DecisionTarget { approval_id: own_role_request(), surface: Surface::DirectoryRole, principal_id: None };
        let out = run(&env, &graph(token.clone()), vec![own.clone()], Review::Approve).await;
        let e = error_of(&out[0]);
        let status: u16 = form[..3].parse().unwrap();
        assert_eq!((e.kind, e.http_status), (ErrorKind::SelfApproval, status), "selfApproval={form}: {e:?}");
        assert_eq!(e.service_code.as_deref(), Some(&form[4..]), "the service's code is kept");
        // The same through the per-request path.
        let why = Justification::parse("x").unwrap();
        let e = env.client().decide(&token, &own, Review::Approve, &why, &CancellationToken::new()).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::SelfApproval, "selfApproval={form}, alone: {e:?}");
        assert!(decided(&env).await.is_empty());
    }
}

#[tokio::test]
async fn a_refusal_of_someone_elses_request_keeps_its_own_kind() {
    // Two approvers decide Adele's request at once (both held at the gate, then let go): one
    // decision is applied, the other refused with 409. The refused one is not the approver's own
    // request (its principal, read from the service, is Adele), so it stays AlreadyDecided.
    let config = Config { scenario: Scenario::Demo, gate_after: Some(0), ..Config::default() };
    let env = Env::with_config(config).await;
    let megan = env.token().await;
    let lynne = env.token_for(json!({"user": "LynneR@contoso.onmicrosoft.com"})).await;
    let all = list_surface(&env, &megan, options(Surface::DirectoryRole)).await;
    let adele = target(all.iter().find(|r| r.principal_name.as_deref() == Some("Adele Vance")).unwrap());
    let mut runs = Vec::new();
    for token in [megan, lynne] {
        let (client, t) = (env.client(), adele.clone());
        runs.push(tokio::spawn(async move {
            let mut out = Vec::new();
            let why = Justification::parse("x").unwrap();
            let tokens = graph(token);
            client
                .decide_many(&tokens, vec![t], Review::Approve, &why, &CancellationToken::new(), |o| out.push(o))
                .await
                .unwrap();
            out.remove(0)
        }));
    }
    let held = env.http.get(format!("{}/_emulator/wait?held=2&timeoutMs=20000", env.base())).send().await.unwrap();
    assert!(held.status().is_success(), "both decisions reached the gate");
    env.emulator.set_gate(&json!({"open": true})).unwrap();
    let mut kinds = Vec::new();
    for r in runs {
        let o = r.await.unwrap();
        kinds.push(o.error.as_ref().map(|e| (e.kind, e.http_status)));
    }
    kinds.sort_by_key(|k| k.is_some());
    assert_eq!(kinds, [None, Some((ErrorKind::AlreadyDecided, 409))]);
    assert_eq!(decided(&env).await.len(), 1, "decided exactly once");
}

#[tokio::test]
async fn a_self_approval_named_by_the_caller_is_refused_without_a_call() {
    let env = start(Scenario::Demo, &["selfApproval=403:Forbidden"]).await;
    let me = env.user_id("MeganB").await;
    let own =
        DecisionTarget { approval_id: own_role_request(), surface: Surface::DirectoryRole, principal_id: Some(me) };
    let out = run(&env, &graph(env.token().await), vec![own], Review::Approve).await;
    assert_eq!(error_of(&out[0]).kind, ErrorKind::SelfApproval);
    assert_eq!(env.calls("roleAssignmentApprovals").await, 0);
}

#[tokio::test]
async fn group_and_azure_self_approvals_are_reported_as_such_whatever_the_4xx() {
    let me = stable_guid(2, 0);
    let group = stable_guid(46, 0);
    let azure = stable_guid(47, 0);
    let seed = json!({"value": [
        {"id": group, "principalId": me, "groupId": stable_guid(5, 0), "accessId": "owner"},
        {"id": "x", "name": azure, "type": "t", "properties": {
            "scope": "/subscriptions/11111111-1111-4111-8111-111111111111", "principalId": me, "status": "PendingApproval",
            "roleDefinitionId": "/subscriptions/11111111-1111-4111-8111-111111111111/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"}}
    ]});
    for (graph_form, arm_form) in
        [("400:SelfApprovalNotAllowed", "400:SelfApprovalNotAllowed"), ("403:Forbidden", "403:AuthorizationFailed")]
    {
        let forms = vec![format!("selfApproval={graph_form}"), format!("arm.selfApproval={arm_form}")];
        let config = Config { scenario: Scenario::Empty, seed: Some(seed.clone()), forms, ..Config::default() };
        let env = Env::with_config(config).await;
        let g = DecisionTarget { approval_id: group.clone(), surface: Surface::Group, principal_id: None };
        let out = run(&env, &graph(env.token().await), vec![g], Review::Approve).await;
        assert_eq!(error_of(&out[0]).kind, ErrorKind::SelfApproval, "selfApproval={graph_form}");
        let a = list_surface(&env, &env.arm_token().await, options(Surface::AzureResource)).await;
        let out = run(&env, &arm(env.arm_token().await), vec![target(&a[0])], Review::Approve).await;
        let e = error_of(&out[0]);
        assert_eq!((e.kind, e.http_status), (ErrorKind::SelfApproval, arm_form[..3].parse().unwrap()), "{arm_form}");
        assert!(decided(&env).await.is_empty());
    }
}

// ---- Expired approvals ----

#[tokio::test]
async fn an_expired_approval_is_reported_as_expired_and_nothing_is_sent() {
    let env = start(Scenario::Demo, &[]).await;
    let graph_token = env.token().await;
    let arm_token = env.arm_token().await;
    let roles = list_surface(&env, &graph_token, options(Surface::DirectoryRole)).await;
    let groups = list_surface(&env, &graph_token, options(Surface::Group)).await;
    let azure = list_surface(&env, &arm_token, options(Surface::AzureResource)).await;
    let role = roles.iter().find(|r| r.principal_name.as_deref() == Some("Adele Vance")).unwrap();
    let azure_name = azure[0].request_id.clone();
    post(&env, &format!("/_emulator/requests/{}/expire?surface=directory", role.request_id), json!({})).await;
    post(&env, &format!("/_emulator/requests/{}/expire?surface=group", groups[0].request_id), json!({})).await;
    let aged = post(&env, &format!("/_emulator/requests/{azure_name}/age?surface=arm"), json!({"hours": 25})).await;
    assert_eq!(aged["value"][0]["steps"][0]["status"], "Expired", "aged past its 24 hours: {aged}");
    let tokens = Tokens { graph: Some(graph_token.clone()), arm: Some(arm_token.clone()) };
    let out = run(&env, &tokens, vec![target(role), target(&groups[0]), target(&azure[0])], Review::Approve).await;
    for o in &out {
        let e = error_of(o);
        assert_eq!((e.kind, e.http_status), (ErrorKind::Expired, 0), "{:?}: {e:?}", o.surface);
        assert!(e.message.contains("expired unanswered"), "{}", e.message);
        assert!(e.message.contains("cannot be approved or denied"), "{}", e.message);
    }
    assert!(decided(&env).await.is_empty());
    assert_eq!(env.calls("PATCH").await + env.calls("PUT").await, 0, "nothing sent");
    // Expired requests are no longer listed as pending.
    assert_eq!(list_surface(&env, &graph_token, options(Surface::Group)).await.len(), 1);
    assert_eq!(list_surface(&env, &arm_token, options(Surface::AzureResource)).await.len(), 2);
}

/// Expires a request while its decision waits at the emulator's gate, so that the service
/// refuses the decision for expiry; the client must say it expired, whatever the refusal's form.
async fn expire_under_way(form: &str, surface: Surface) -> pim_bridge::PimError {
    let forms = vec![format!("expiry.decision={form}"), format!("arm.expiry.decision={form}")];
    let config = Config { scenario: Scenario::Demo, gate_after: Some(0), forms, ..Config::default() };
    let env = Env::with_config(config).await;
    let azure = surface == Surface::AzureResource;
    let token = if azure { env.arm_token().await } else { env.token().await };
    let all = list_surface(&env, &token, options(surface)).await;
    let r = all.iter().find(|r| r.principal_name.as_deref() != Some("Megan Bowen")).unwrap().clone();
    let tokens = if azure { arm(token) } else { graph(token) };
    let (client, t) = (env.client(), target(&r));
    let decision = tokio::spawn(async move {
        let mut out = Vec::new();
        let why = Justification::parse("x").unwrap();
        client
            .decide_many(&tokens, vec![t], Review::Approve, &why, &CancellationToken::new(), |o| out.push(o))
            .await
            .unwrap();
        out.remove(0)
    });
    let held = env.http.get(format!("{}/_emulator/wait?held=1&timeoutMs=20000", env.base())).send().await.unwrap();
    assert!(held.status().is_success(), "the decision reached the gate");
    let which = match surface {
        Surface::DirectoryRole => "directory",
        Surface::Group => "group",
        Surface::AzureResource => "arm",
    };
    post(&env, &format!("/_emulator/requests/{}/expire?surface={which}", r.request_id), json!({})).await;
    env.emulator.set_gate(&json!({"open": true})).unwrap();
    let out = decision.await.unwrap();
    assert!(decided(&env).await.is_empty(), "{form} {surface:?}: nothing applied");
    out.error.expect("a failure")
}

#[tokio::test]
async fn a_decision_refused_for_expiry_is_reported_as_expired_whatever_the_refusal() {
    for form in ["409:Conflict", "400:BadRequest", "404:NotFound"] {
        for surface in [Surface::DirectoryRole, Surface::Group, Surface::AzureResource] {
            let e = expire_under_way(form, surface).await;
            let status: u16 = form[..3].parse().unwrap();
            assert_eq!((e.kind, e.http_status), (ErrorKind::Expired, status), "{form} {surface:?}: {e:?}");
            assert!(e.message.contains("expired unanswered"), "{}", e.message);
        }
    }
}

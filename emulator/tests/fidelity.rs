//! Issue 12: the emulator answers as Microsoft publishes, and in each published form where the
//! sources disagree (the forms, `--form` and `/_emulator/forms`). Sources for every assertion are
//! in `docs/service-fidelity.md`.

mod support;

use pim_emulator::state::stable_guid;
use pim_emulator::{Config, Scenario};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::*;

fn group_request(n: u64) -> String {
    stable_guid(6, n)
}

fn arm_approval(n: u64) -> String {
    format!("/providers/Microsoft.Authorization/roleAssignmentApprovals/{}", stable_guid(8, n))
}

const APPROVE: &str = r#"{"reviewResult": "Approve", "justification": "ok"}"#;

fn approve() -> Value {
    serde_json::from_str(APPROVE).unwrap()
}

// ---- PIM for Groups ----

#[tokio::test]
async fn group_stages_by_default_as_the_published_approver_example() {
    let e = start(Scenario::Demo, &[]).await;
    let tok = e.graph().await;
    let id = group_request(0);
    let a = e.get(&format!("{GROUPS}/assignmentApprovals/{id}"), &tok).await;
    let s = &a["stages"][0];
    assert_eq!(
        (s["id"].as_str(), &s["status"], &s["reviewResult"]),
        (Some(id.as_str()), &json!("Completed"), &json!("NotReviewed"))
    );
    assert_eq!(s["assignedToMe"], true);
    assert_eq!(
        a["@odata.context"],
        format!(
            "{}/v1.0/$metadata#identityGovernance/privilegedAccess/group/assignmentApprovals/$entity",
            e.emu.base_url
        )
    );
    // The stage by its id (the approval's), and the list of stages.
    let one = e.get(&format!("{GROUPS}/assignmentApprovals/{id}/stages/{id}"), &tok).await;
    assert_eq!(one["id"], id.as_str());
    let list = e.get(&format!("{GROUPS}/assignmentApprovals/{id}/stages"), &tok).await;
    assert_eq!(list["value"].as_array().unwrap().len(), 1);
    // EasyPIM decides with beta .../steps/{approvalId}.
    let r = e
        .call(Method::PATCH, &format!("{BETA_GROUPS}/assignmentApprovals/{id}/steps/{id}"), Some(&tok), Some(approve()))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let d = e.decisions().await;
    assert_eq!((d[0]["approvalId"].as_str(), d[0]["stepId"].as_str()), (Some(id.as_str()), Some(id.as_str())));
    // Decided: Completed, Approved, and v1.0 reviewedBy is one identity.
    let after = e.get(&format!("{GROUPS}/assignmentApprovals/{id}/stages/{id}"), &tok).await;
    assert_eq!((&after["status"], &after["reviewResult"]), (&json!("Completed"), &json!("Approved")));
    assert!(after["reviewedBy"].is_object(), "{after}");
    assert_eq!(after["reviewedBy"]["id"], d[0]["reviewer"]);
}

#[tokio::test]
async fn group_stage_forms_own_id_and_in_progress() {
    let e = start(Scenario::Demo, &["group.stageId=own", "group.waitingStatus=InProgress"]).await;
    let tok = e.graph().await;
    let id = group_request(1);
    let a = e.get(&format!("{GROUPS}/assignmentApprovals/{id}"), &tok).await;
    let stage = a["stages"][0]["id"].as_str().unwrap().to_string();
    assert_ne!(stage, id);
    assert_eq!(a["stages"][0]["status"], "InProgress");
    // The approval's id no longer addresses the stage.
    let r = e
        .call(Method::PATCH, &format!("{GROUPS}/assignmentApprovals/{id}/stages/{id}"), Some(&tok), Some(approve()))
        .await;
    assert_eq!((r.status, r.body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("NotFound")));
    let r = e
        .call(Method::PATCH, &format!("{GROUPS}/assignmentApprovals/{id}/stages/{stage}"), Some(&tok), Some(approve()))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // Switched back at run time.
    let r = e.control(Method::POST, "/_emulator/forms", Some(json!({"group.stageId": "approvalId"}))).await;
    assert_eq!((r.status, r.body["group.stageId"].as_str()), (StatusCode::OK, Some("approvalId")));
    let a = e.get(&format!("{GROUPS}/assignmentApprovals/{id}"), &tok).await;
    assert_eq!(a["stages"][0]["id"], id.as_str());
}

#[tokio::test]
async fn group_approvals_waiting_on_me_and_requests_by_id() {
    let e = start(Scenario::Demo, &[]).await;
    let tok = e.graph().await;
    for version in ["v1.0", "beta"] {
        let path = format!(
            "/{version}/identityGovernance/privilegedAccess/group/assignmentApprovals/filterByCurrentUser(on='approver')"
        );
        let v = e.get(&path, &tok).await;
        let items = v["value"].as_array().unwrap();
        assert_eq!(items.len(), 2, "{version}");
        assert_eq!(items[0]["@odata.type"], "#microsoft.graph.approval");
        let word = if version == "beta" { "steps" } else { "stages" };
        assert_eq!(items[0][word][0]["id"], items[0]["id"], "{version}");
    }
    // Beta's collection word as the approver example writes it.
    e.control(Method::POST, "/_emulator/forms", Some(json!({"group.betaCollection": "stages"}))).await;
    let v = e.get(&format!("{BETA_GROUPS}/assignmentApprovals/filterByCurrentUser(on='approver')"), &tok).await;
    assert!(v["value"][0]["stages"].is_array() && v["value"][0].get("steps").is_none());
    // A request by its id.
    let id = group_request(0);
    let one = e.get(&format!("{GROUPS}/assignmentScheduleRequests/{id}"), &tok).await;
    assert_eq!((one["id"].as_str(), one["accessId"].as_str()), (Some(id.as_str()), Some("member")));
    assert_eq!(
        one["@odata.context"],
        format!(
            "{}/v1.0/$metadata#identityGovernance/privilegedAccess/group/assignmentScheduleRequests/$entity",
            e.emu.base_url
        )
    );
    assert!(one.get("memberType").is_none(), "not a property of the request");
    let r = e
        .call(Method::GET, &format!("{GROUPS}/assignmentScheduleRequests/{}", stable_guid(6, 99)), Some(&tok), None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "an unknown id of a known collection is 404");
    // Directory roles: a step by its id (beta).
    let dir = stable_guid(3, 0);
    let a = e.get(&format!("{APPROVALS}/{dir}"), &tok).await;
    let step = a["steps"][0]["id"].as_str().unwrap();
    let one = e.get(&format!("{APPROVALS}/{dir}/steps/{step}"), &tok).await;
    assert_eq!(one["id"], step);
    assert_eq!(
        one["@odata.context"],
        format!(
            "{}/beta/$metadata#roleManagement/directory/roleAssignmentApprovals('{dir}')/steps/$entity",
            e.emu.base_url
        )
    );
}

#[tokio::test]
async fn reviewed_by_is_one_identity_on_v1_and_a_collection_or_identity_on_beta() {
    let e = start(Scenario::Demo, &[]).await;
    let tok = e.graph().await;
    let dir = stable_guid(3, 0);
    let step = e.get(&format!("{APPROVALS}/{dir}"), &tok).await["steps"][0]["id"].as_str().unwrap().to_string();
    e.call(Method::PATCH, &format!("{APPROVALS}/{dir}/steps/{step}"), Some(&tok), Some(approve())).await;
    let beta = e.get(&format!("{APPROVALS}/{dir}"), &tok).await;
    assert!(beta["steps"][0]["reviewedBy"].is_array(), "{beta}");
    e.control(Method::POST, "/_emulator/forms", Some(json!({"beta.reviewedBy": "identity"}))).await;
    let beta = e.get(&format!("{APPROVALS}/{dir}"), &tok).await;
    assert!(beta["steps"][0]["reviewedBy"].is_object(), "{beta}");
}

// ---- Azure resources ----

#[tokio::test]
async fn arm_stage_names_differ_from_their_id_unless_the_form_says_equal() {
    let e = start(Scenario::Demo, &[]).await;
    let arm = e.arm().await;
    let a = e.get(&format!("{}?{ARM_VERSION}", arm_approval(0)), &arm).await;
    let s = &a["properties"]["stages"][0];
    let stage = last_segment(&s["id"]);
    assert_ne!(s["name"].as_str().unwrap(), stage);
    // The name does not address the stage; the id's segment does.
    let by_name = format!("{}/stages/{}?{ARM_VERSION}", arm_approval(0), s["name"].as_str().unwrap());
    let r = e.call(Method::PUT, &by_name, Some(&arm), Some(json!({"properties": {"reviewResult": "Approve"}}))).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("RoleAssignmentApprovalNotFound"))
    );
    assert!(r.body["error"].get("innerError").is_none());
    let one = e.get(&format!("{}/stages/{stage}?{ARM_VERSION}", arm_approval(0)), &arm).await;
    assert_eq!(one["id"], s["id"]);
    e.control(Method::POST, "/_emulator/forms", Some(json!({"arm.stageName": "equal"}))).await;
    let a = e.get(&format!("{}?{ARM_VERSION}", arm_approval(0)), &arm).await;
    let s = &a["properties"]["stages"][0];
    assert_eq!(s["name"].as_str().unwrap(), last_segment(&s["id"]));
}

#[tokio::test]
async fn arm_decisions_take_only_the_method_and_body_the_forms_pin() {
    let e = start(Scenario::Demo, &["arm.decisionMethod=PUT", "arm.decisionBody=properties"]).await;
    let arm = e.arm().await;
    let url = |n: u64, stage: &str| format!("{}/stages/{stage}?{ARM_VERSION}", arm_approval(n));
    let stage0 = last_segment(
        &e.get(&format!("{}?{ARM_VERSION}", arm_approval(0)), &arm).await["properties"]["stages"][0]["id"],
    );
    let wrapped = json!({"properties": {"reviewResult": "Approve", "justification": "w"}});
    let top = json!({"reviewResult": "Approve", "justification": "t"});
    let r = e.call(Method::PATCH, &url(0, &stage0), Some(&arm), Some(wrapped.clone())).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("MethodNotAllowed"))
    );
    let r = e.call(Method::PUT, &url(0, &stage0), Some(&arm), Some(top.clone())).await;
    assert_eq!((r.status, r.body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("InvalidRequestContent")));
    assert!(e.decisions().await.is_empty(), "nothing refused was applied");
    let r = e.call(Method::PUT, &url(0, &stage0), Some(&arm), Some(wrapped)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["properties"]["reviewResult"], "Approve");
    // The other pinned pair, and an empty answer.
    e.control(
        Method::POST,
        "/_emulator/forms",
        Some(json!({"arm.decisionMethod": "PATCH", "arm.decisionBody": "topLevel", "arm.decisionAnswer": "empty"})),
    )
    .await;
    let stage1 = last_segment(
        &e.get(&format!("{}?{ARM_VERSION}", arm_approval(1)), &arm).await["properties"]["stages"][0]["id"],
    );
    let r = e
        .call(Method::PATCH, &url(1, &stage1), Some(&arm), Some(json!({"properties": {"reviewResult": "Deny"}})))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = e.call(Method::PATCH, &url(1, &stage1), Some(&arm), Some(top)).await;
    assert_eq!((r.status, r.text.as_str()), (StatusCode::OK, ""));
    assert_eq!(e.decisions().await.len(), 2);
}

#[tokio::test]
async fn arm_refusals_carry_arm_codes() {
    let e = start(Scenario::Demo, &[]).await;
    let pradeep = e.token(json!({"user": "PradeepG@contoso.onmicrosoft.com", "audience": "arm"})).await;
    let arm = e.arm().await;
    let stage = last_segment(
        &e.get(&format!("{}?{ARM_VERSION}", arm_approval(0)), &arm).await["properties"]["stages"][0]["id"],
    );
    let url = format!("{}/stages/{stage}?{ARM_VERSION}", arm_approval(0));
    let r = e.call(Method::PUT, &url, Some(&pradeep), Some(json!({"properties": {"reviewResult": "Approve"}}))).await;
    assert_eq!((r.status, r.body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("AuthorizationFailed")));
    let r = e.call(Method::PUT, &url, Some(&arm), Some(json!({"properties": {"reviewResult": "Approve"}}))).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = e.call(Method::PUT, &url, Some(&arm), Some(json!({"properties": {"reviewResult": "Approve"}}))).await;
    assert_eq!((r.status, r.body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("Conflict")));
    assert!(r.body["error"].get("innerError").is_none());
}

// ---- Graph-wide ----

#[tokio::test]
async fn unknown_segments_are_400_unknown_methods_405_and_client_request_id_is_echoed() {
    let e = start(Scenario::Demo, &[]).await;
    let tok = e.graph().await;
    let r = e.call(Method::GET, "/v1.0/identityRiskEvents", Some(&tok), None).await;
    assert_eq!((r.status, r.body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("BadRequest")));
    assert_eq!(r.body["error"]["message"], "Resource not found for the segment 'identityRiskEvents'.");
    let r = e.call(Method::GET, "/v1.0/roleManagement/directory/roleAssignmentApprovals/x", Some(&tok), None).await;
    assert_eq!(r.body["error"]["message"], "Resource not found for the segment 'roleAssignmentApprovals'.");
    let r = e.call(Method::DELETE, &format!("{APPROVALS}/{}", stable_guid(3, 0)), Some(&tok), None).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("Request_BadRequest"))
    );
    // Segment names are matched without case, as Graph matches them.
    let v = e
        .get("/v1.0/RoleManagement/Directory/RoleAssignmentScheduleRequests/filterByCurrentUser(on='approver')", &tok)
        .await;
    assert!(!v["value"].as_array().unwrap().is_empty());
    // client-request-id: the caller's, echoed; otherwise the request id.
    let r = e.call_with(Method::GET, MINE, Some(&tok), None, &[("client-request-id", "my-own-id-1")]).await;
    assert_eq!(r.headers["client-request-id"], "my-own-id-1");
    let r = e.call_with(Method::GET, "/v1.0/nope", Some(&tok), None, &[("client-request-id", "my-own-id-2")]).await;
    assert_eq!(r.headers["client-request-id"], "my-own-id-2");
    assert_eq!(r.body["error"]["innerError"]["client-request-id"], "my-own-id-2");
    let r = e.call(Method::GET, MINE, Some(&tok), None).await;
    assert_eq!(r.headers["client-request-id"], r.headers["request-id"]);
    // Contexts as published.
    let v = e.get(&format!("{MINE}?$filter=status eq 'PendingApproval'"), &tok).await;
    assert_eq!(
        v["@odata.context"],
        format!("{}/v1.0/$metadata#Collection(unifiedRoleAssignmentScheduleRequest)", e.emu.base_url)
    );
    assert_eq!(v["value"][0]["@odata.type"], "#microsoft.graph.unifiedRoleAssignmentScheduleRequest");
    let v = e.get("/beta/roleManagement/directory/roleAssignmentScheduleRequests", &tok).await;
    assert_eq!(
        v["@odata.context"],
        format!("{}/beta/$metadata#roleManagement/directory/roleAssignmentScheduleRequests", e.emu.base_url)
    );
    let a = e.get(&format!("{APPROVALS}/{}", stable_guid(3, 0)), &tok).await;
    assert_eq!(
        a["@odata.context"],
        format!("{}/beta/$metadata#roleManagement/directory/roleAssignmentApprovals/$entity", e.emu.base_url)
    );
    let v = e.get("/v1.0/roleManagement/directory/roleAssignmentScheduleRequests?$select=principalId,action&$expand=principal", &tok).await;
    assert_eq!(
        v["@odata.context"],
        format!(
            "{}/v1.0/$metadata#roleManagement/directory/roleAssignmentScheduleRequests(principalId,action,principal())",
            e.emu.base_url
        )
    );
    let keys: Vec<&String> = v["value"][0].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["action", "principal", "principalId"]);
}

#[tokio::test]
async fn expand_and_top_on_the_functions_can_be_refused() {
    let e = start(Scenario::Demo, &["groups.expandOnFunction=refused", "roles.topOnFunction=refused"]).await;
    let tok = e.graph().await;
    let groups = format!("{GROUPS}/assignmentScheduleRequests/filterByCurrentUser(on='approver')");
    let r = e.call(Method::GET, &format!("{groups}?$expand=group,principal"), Some(&tok), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("'Expand' is not allowed"));
    assert_eq!(e.get(&format!("{groups}?$top=5"), &tok).await["value"].as_array().unwrap().len(), 2);
    let r = e.call(Method::GET, &format!("{MINE}?$top=5"), Some(&tok), None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    e.get(&format!("{MINE}?$expand=principal,roleDefinition"), &tok).await;
    // The plain collections are not functions: never refused.
    e.get("/beta/roleManagement/directory/roleAssignmentScheduleRequests?$top=5", &tok).await;
    let r = e.control(Method::GET, "/_emulator/forms", None).await;
    assert_eq!(
        (r.body["groups.expandOnFunction"].as_str(), r.body["groups.topOnFunction"].as_str()),
        (Some("refused"), Some("accepted"))
    );
}

#[tokio::test]
async fn self_approval_answers_in_the_form_chosen() {
    let e = start(Scenario::Demo, &["selfApproval=403:Authorization_RequestDenied"]).await;
    let tok = e.graph().await;
    let own = stable_guid(3, 100);
    let step = e.get(&format!("{APPROVALS}/{own}"), &tok).await["steps"][0]["id"].as_str().unwrap().to_string();
    let r = e.call(Method::PATCH, &format!("{APPROVALS}/{own}/steps/{step}"), Some(&tok), Some(approve())).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("Authorization_RequestDenied"))
    );
    let r = e.control(Method::POST, "/_emulator/forms", Some(json!({"selfApproval": "200:Fine"}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "a refusal is a 4xx");
    let r = e.control(Method::POST, "/_emulator/forms", Some(json!({"bogus.key": "x"}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(e.decisions().await.is_empty());
}

// ---- Expiry and replication ----

#[tokio::test]
async fn an_expired_request_no_longer_waits_and_its_decision_is_refused() {
    let e = start(Scenario::Demo, &[]).await;
    let tok = e.graph().await;
    let adele = stable_guid(3, 0);
    let before =
        e.get(&format!("{MINE}?$filter=status eq 'PendingApproval'"), &tok).await["value"].as_array().unwrap().len();
    let r = e.control(Method::POST, &format!("/_emulator/requests/{adele}/expire"), None).await;
    assert_eq!((r.status, r.body["value"][0]["status"].as_str()), (StatusCode::OK, Some("TimedOut")));
    let a = e.get(&format!("{APPROVALS}/{adele}"), &tok).await;
    assert_eq!((&a["steps"][0]["status"], &a["steps"][0]["reviewResult"]), (&json!("Expired"), &json!("NotReviewed")));
    let after =
        e.get(&format!("{MINE}?$filter=status eq 'PendingApproval'"), &tok).await["value"].as_array().unwrap().len();
    assert_eq!(after, before - 1);
    let step = a["steps"][0]["id"].as_str().unwrap();
    let r = e.call(Method::PATCH, &format!("{APPROVALS}/{adele}/steps/{step}"), Some(&tok), Some(approve())).await;
    assert_eq!((r.status, r.body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("Conflict")));
    assert!(r.body["error"]["message"].as_str().unwrap().contains("expired"));
    // Another form for the refusal; ARM too.
    e.control(
        Method::POST,
        "/_emulator/forms",
        Some(json!({"expiry.decision": "400:BadRequest", "arm.expiry.decision": "400:RoleAssignmentRequestExpired"})),
    )
    .await;
    let r = e.call(Method::PATCH, &format!("{APPROVALS}/{adele}/steps/{step}"), Some(&tok), Some(approve())).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let arm = e.arm().await;
    let arm_id = stable_guid(8, 0);
    e.control(Method::POST, &format!("/_emulator/requests/{arm_id}/expire"), None).await;
    let a = e.get(&format!("{}?{ARM_VERSION}", arm_approval(0)), &arm).await;
    assert_eq!(a["properties"]["stages"][0]["properties"]["status"], "Expired");
    let stage = last_segment(&a["properties"]["stages"][0]["id"]);
    let r = e
        .call(
            Method::PUT,
            &format!("{}/stages/{stage}?{ARM_VERSION}", arm_approval(0)),
            Some(&arm),
            Some(json!({"properties": {"reviewResult": "Approve"}})),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("RoleAssignmentRequestExpired"))
    );
    let listed = e.get(ARM_LIST, &arm).await;
    assert!(listed["value"].as_array().unwrap().iter().all(|x| x["name"] != arm_id.as_str()));
    assert!(e.decisions().await.is_empty());
    let r = e.control(Method::POST, "/_emulator/requests/nope/expire", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn requests_unanswered_for_24_hours_expire_by_themselves() {
    let e = start(Scenario::Demo, &["expiry.requestStatus=Canceled"]).await;
    let tok = e.graph().await;
    let id = group_request(0);
    let r = e.control(Method::POST, &format!("/_emulator/requests/{id}/age"), Some(json!({"hours": 23}))).await;
    assert_eq!(r.body["value"][0]["status"], "PendingApproval", "23 hours: still waiting");
    let r = e.control(Method::POST, &format!("/_emulator/requests/{id}/age"), Some(json!({"minutes": 90}))).await;
    assert_eq!(r.body["value"][0]["status"], "Canceled", "{}", r.body);
    let a = e.get(&format!("{GROUPS}/assignmentApprovals/{id}"), &tok).await;
    assert_eq!(a["stages"][0]["status"], "Expired");
    let one = e.get(&format!("{GROUPS}/assignmentScheduleRequests/{id}"), &tok).await;
    assert_eq!(one["status"], "Canceled");
}

#[tokio::test]
async fn a_new_approval_answers_404_while_it_replicates() {
    let e = start(Scenario::Demo, &["replication=reads:2"]).await;
    let tok = e.graph().await;
    let adele = stable_guid(3, 0);
    let url = format!("{APPROVALS}/{adele}");
    // Listed at once; read (or decided) only after two 404s.
    let list = e.get(MINE, &tok).await;
    assert!(list["value"].as_array().unwrap().iter().any(|r| r["id"] == adele.as_str()));
    for _ in 0..2 {
        let r = e.call(Method::GET, &url, Some(&tok), None).await;
        assert_eq!((r.status, r.body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("NotFound")));
    }
    let step = e.get(&url, &tok).await["steps"][0]["id"].as_str().unwrap().to_string();
    // A decision counts as a read too.
    let alex = stable_guid(3, 1);
    let r = e.call(Method::PATCH, &format!("{APPROVALS}/{alex}/steps/x"), Some(&tok), Some(approve())).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = e.call(Method::PATCH, &format!("{url}/steps/{step}"), Some(&tok), Some(approve())).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // For a set time instead: 404 until it has passed.
    e.control(Method::POST, "/_emulator/forms", Some(json!({"replication": "ms:300"}))).await;
    let diego = format!("{APPROVALS}/{}", stable_guid(3, 2));
    assert_eq!(e.call(Method::GET, &diego, Some(&tok), None).await.status, StatusCode::NOT_FOUND);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    e.get(&diego, &tok).await;
    // ARM approvals too.
    e.control(Method::POST, "/_emulator/forms", Some(json!({"replication": "reads:1"}))).await;
    let arm = e.arm().await;
    let r = e.call(Method::GET, &format!("{}?{ARM_VERSION}", arm_approval(1)), Some(&arm), None).await;
    assert_eq!(
        (r.status, r.body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("RoleAssignmentApprovalNotFound"))
    );
    e.get(&format!("{}?{ARM_VERSION}", arm_approval(1)), &arm).await;
}

// ---- Directory look-ups ----

#[tokio::test]
async fn directory_look_ups_are_served_from_the_tenant_with_their_scopes() {
    let e = start(Scenario::Demo, &[]).await;
    let tok = e.graph().await;
    let adele = e.user("AdeleV").await;
    let u = e.get(&format!("/v1.0/users/{adele}"), &tok).await;
    assert_eq!((u["displayName"].as_str(), u["givenName"].as_str()), (Some("Adele Vance"), Some("Adele")));
    assert_eq!(u["@odata.context"], format!("{}/v1.0/$metadata#users/$entity", e.emu.base_url));
    let by_upn = e.get("/v1.0/users/AdeleV@contoso.onmicrosoft.com", &tok).await;
    assert_eq!(by_upn["id"], adele.as_str());
    let group = stable_guid(5, 0);
    let g = e.get(&format!("/v1.0/groups/{group}"), &tok).await;
    assert_eq!(g["displayName"], "Finance Approvers");
    let o = e.get(&format!("/v1.0/directoryObjects/{group}"), &tok).await;
    assert_eq!(o["@odata.type"], "#microsoft.graph.group");
    let many: Vec<String> = (0..1001).map(|i| stable_guid(99, i)).collect();
    let r = e.call(Method::POST, "/v1.0/directoryObjects/getByIds", Some(&tok), Some(json!({"ids": many}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "at most 1,000 ids");
    let mut ids = many[..998].to_vec();
    ids.extend([adele.clone(), group.clone()]);
    let r = e.call(Method::POST, "/v1.0/directoryObjects/getByIds", Some(&tok), Some(json!({"ids": ids}))).await;
    let found = r.body["value"].as_array().unwrap();
    assert_eq!(found.len(), 2, "unknown ids are left out");
    assert_eq!(r.body["@odata.context"], format!("{}/v1.0/$metadata#directoryObjects", e.emu.base_url));
    let r = e
        .call(
            Method::POST,
            "/v1.0/directoryObjects/getByIds",
            Some(&tok),
            Some(json!({"ids": [adele, group], "types": ["user"]})),
        )
        .await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 1);
    let ga = "62e90394-69f5-4237-9190-012177145e10";
    let d = e.get(&format!("/v1.0/roleManagement/directory/roleDefinitions/{ga}"), &tok).await;
    assert_eq!((d["displayName"].as_str(), d["isBuiltIn"].as_bool()), (Some("Global Administrator"), Some(true)));
    let role = e.get(&format!("/v1.0/directoryRoles(roleTemplateId='{ga}')"), &tok).await;
    assert_eq!(role["roleTemplateId"], ga);
    assert_ne!(role["id"], ga, "an activated role has an id of its own");
    let again = e.get(&format!("/v1.0/directoryRoles/{}", role["id"].as_str().unwrap()), &tok).await;
    assert_eq!(again["displayName"], "Global Administrator");
    let r = e.call(Method::GET, &format!("/v1.0/users/{}", stable_guid(99, 1)), Some(&tok), None).await;
    assert_eq!((r.status, r.body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("Request_ResourceNotFound")));
    // Scopes: User.Read reads only oneself; a PIM-only token reads nothing of the directory.
    let me_only = e.token(json!({"scopes": ["User.Read"]})).await;
    let me = e.tenant().await["defaultApprover"].as_str().unwrap().to_string();
    e.get(&format!("/v1.0/users/{me}"), &me_only).await;
    let adele = e.user("AdeleV").await;
    let r = e.call(Method::GET, &format!("/v1.0/users/{adele}"), Some(&me_only), None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let pim_only = e.token(json!({"scopes": ["RoleAssignmentSchedule.ReadWrite.Directory"]})).await;
    for path in [
        format!("/v1.0/groups/{group}"),
        format!("/v1.0/directoryObjects/{group}"),
        format!("/v1.0/roleManagement/directory/roleDefinitions/{ga}"),
    ] {
        let r = e.call(Method::GET, &path, Some(&pim_only), None).await;
        assert_eq!(
            (r.status, r.body["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("Authorization_RequestDenied")),
            "{path}"
        );
    }
    let r =
        e.call(Method::POST, "/v1.0/directoryObjects/getByIds", Some(&pim_only), Some(json!({"ids": [group]}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

// ---- The requester's side ----

#[tokio::test]
async fn a_self_activation_waits_on_the_roles_approvers() {
    let e = start(Scenario::Empty, &[]).await;
    let adele = e.user("AdeleV").await;
    let requester = e.token(json!({"user": "AdeleV@contoso.onmicrosoft.com"})).await;
    let body = json!({
        "action": "selfActivate", "principalId": adele, "roleDefinitionId": "fe930be7-5e62-47db-91af-98c3a49a38b1",
        "directoryScopeId": "/", "justification": "Offboarding",
        "scheduleInfo": {"startDateTime": "2030-04-14T00:00:00.000Z", "expiration": {"type": "AfterDuration", "duration": "PT5H"}},
        "ticketInfo": {"ticketNumber": "CONTOSO:Normal-67890", "ticketSystem": "MS Project"}
    });
    let r = e
        .call(
            Method::POST,
            "/v1.0/roleManagement/directory/roleAssignmentScheduleRequests",
            Some(&requester),
            Some(body.clone()),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        (r.body["status"].as_str(), r.body["approvalId"].as_str()),
        (Some("PendingApproval"), Some(id.as_str()))
    );
    assert_eq!(
        (r.body["action"].as_str(), r.body["scheduleInfo"]["expiration"]["type"].as_str()),
        (Some("selfActivate"), Some("afterDuration"))
    );
    assert_eq!(
        r.body["@odata.context"],
        format!("{}/v1.0/$metadata#roleManagement/directory/roleAssignmentScheduleRequests/$entity", e.emu.base_url)
    );
    // Visible to the approver, and to the requester through on='principal'.
    let approver = e.graph().await;
    let mine = e.get(&format!("{MINE}?$filter=status eq 'PendingApproval'"), &approver).await;
    assert_eq!(mine["value"][0]["id"], id.as_str());
    let own = e
        .get(
            "/v1.0/roleManagement/directory/roleAssignmentScheduleRequests/filterByCurrentUser(on='principal')",
            &requester,
        )
        .await;
    assert_eq!(own["value"][0]["id"], id.as_str());
    let step = e.get(&format!("{APPROVALS}/{id}"), &approver).await["steps"][0]["id"].as_str().unwrap().to_string();
    let r = e.call(Method::PATCH, &format!("{APPROVALS}/{id}/steps/{step}"), Some(&approver), Some(approve())).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    // For oneself only; an action the emulator does not emulate is refused.
    let mut other = body.clone();
    other["principalId"] = json!(e.user("AlexW").await);
    let r = e
        .call(
            Method::POST,
            "/v1.0/roleManagement/directory/roleAssignmentScheduleRequests",
            Some(&requester),
            Some(other),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let mut assign = body;
    assign["action"] = json!("adminAssign");
    let r = e
        .call(
            Method::POST,
            "/v1.0/roleManagement/directory/roleAssignmentScheduleRequests",
            Some(&requester),
            Some(assign),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // Groups.
    let group = stable_guid(41, 0);
    let g = json!({"accessId": "member", "principalId": adele, "groupId": group, "action": "selfActivate",
                   "scheduleInfo": {"startDateTime": "2030-02-08T07:43:00.000Z", "expiration": {"type": "afterDuration", "duration": "PT2H"}},
                   "justification": "Activate assignment."});
    let r = e.call(Method::POST, &format!("{GROUPS}/assignmentScheduleRequests"), Some(&requester), Some(g)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let gid = r.body["id"].as_str().unwrap().to_string();
    let waiting = e.get(&format!("{GROUPS}/assignmentScheduleRequests/filterByCurrentUser(on='approver')?$filter=status eq 'PendingApproval'"), &approver).await;
    assert_eq!(waiting["value"][0]["id"], gid.as_str());
    let r = e
        .call(
            Method::PATCH,
            &format!("{GROUPS}/assignmentApprovals/{gid}/stages/{gid}"),
            Some(&approver),
            Some(approve()),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);

    // Azure resources.
    let arm_requester = e.token(json!({"user": "AdeleV@contoso.onmicrosoft.com", "audience": "arm"})).await;
    let scope = "/subscriptions/dfa2a084-766f-4003-8ae1-c4aeb893a99f";
    let name = "fea7a502-9a96-4806-a26f-eee560e52045";
    let put = json!({"properties": {
        "principalId": adele, "requestType": "SelfActivate",
        "roleDefinitionId": format!("{scope}/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c"),
        "scheduleInfo": {"startDateTime": "2030-09-09T21:35:27.91Z", "expiration": {"type": "AfterDuration", "endDateTime": null, "duration": "PT8H"}}}});
    let url = format!(
        "{scope}/providers/Microsoft.Authorization/roleAssignmentScheduleRequests/{name}?api-version=2020-10-01"
    );
    let r = e.call(Method::PUT, &url, Some(&arm_requester), Some(put.clone())).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(
        (r.body["name"].as_str(), r.body["properties"]["status"].as_str()),
        (Some(name), Some("PendingApproval"))
    );
    assert_eq!(r.body["properties"]["expandedProperties"]["roleDefinition"]["displayName"], "Contributor");
    let r = e.call(Method::PUT, &url, Some(&arm_requester), Some(put)).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let arm = e.arm().await;
    let listed = e.get(ARM_LIST, &arm).await;
    assert_eq!(listed["value"][0]["name"], name);
    let asked = e.get("/providers/Microsoft.Authorization/roleAssignmentScheduleRequests?api-version=2020-10-01&$filter=asRequestor()", &arm_requester).await;
    assert_eq!(asked["value"].as_array().unwrap().len(), 1);
    assert_eq!(e.decisions().await.len(), 2);
}

// ---- Plainly wrong before ----

#[tokio::test]
async fn the_gate_never_holds_a_decision_whose_token_is_refused() {
    let e = start_with(Config { scenario: Scenario::Bulk(2), gate_after: Some(0), ..Config::default() }).await;
    let r = e
        .call(
            Method::PATCH,
            &format!("{APPROVALS}/{}/steps/x", stable_guid(4, 0)),
            Some("not.a.token"),
            Some(approve()),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "answered at once, not held");
    let g = e.control(Method::GET, "/_emulator/gate", None).await.body;
    assert_eq!((g["held"].as_u64(), g["admitted"].as_u64()), (Some(0), Some(0)));
}

#[tokio::test]
async fn the_tenant_lists_people_in_the_same_order_every_time() {
    let a = start(Scenario::Demo, &[]).await.tenant().await;
    let b = start(Scenario::Demo, &[]).await.tenant().await;
    assert_eq!(a["users"], b["users"]);
    let names: Vec<&str> = a["users"].as_array().unwrap().iter().map(|u| u["displayName"].as_str().unwrap()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
}

#[tokio::test]
async fn seeds_name_custom_arm_roles_and_may_share_ids_across_surfaces() {
    let me = stable_guid(2, 3);
    let shared = stable_guid(44, 0);
    let role = "/subscriptions/11111111-1111-4111-8111-111111111111/providers/Microsoft.Authorization/roleDefinitions/00000000-1111-4111-8111-222222222222";
    let seed = json!({"value": [
        {"id": shared, "principalId": me, "roleDefinitionId": "62e90394-69f5-4237-9190-012177145e10"},
        {"id": shared, "principalId": me, "groupId": "g1", "accessId": "member"},
        {"name": shared, "properties": {"scope": "/subscriptions/11111111-1111-4111-8111-111111111111", "principalId": me,
            "roleDefinitionId": role, "expandedProperties": {"roleDefinition": {"displayName": "Payments Operator", "type": "CustomRole"}}}},
        {"name": stable_guid(44, 1), "properties": {"scope": "/subscriptions/11111111-1111-4111-8111-111111111111", "principalId": me,
            "roleDefinitionId": "/subscriptions/11111111-1111-4111-8111-111111111111/providers/Microsoft.Authorization/roleDefinitions/33333333-1111-4111-8111-222222222222"}}
    ]});
    let e = start_with(Config { scenario: Scenario::Empty, seed: Some(seed), ..Config::default() }).await;
    let tok = e.graph().await;
    e.get(&format!("{APPROVALS}/{shared}"), &tok).await;
    let g = e.get(&format!("{GROUPS}/assignmentApprovals/{shared}"), &tok).await;
    assert_eq!(g["stages"][0]["id"], shared.as_str());
    let arm = e.arm().await;
    let listed = e.get(ARM_LIST, &arm).await;
    let names: Vec<&Value> = listed["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["properties"]["expandedProperties"]["roleDefinition"])
        .collect();
    assert_eq!(
        (names[0]["displayName"].as_str(), names[0]["type"].as_str()),
        (Some("Payments Operator"), Some("CustomRole"))
    );
    assert_eq!(
        (names[1]["displayName"].as_str(), names[1]["type"].as_str()),
        (Some("Role 33333333"), Some("CustomRole"))
    );
    // One surface may not hold an id twice.
    let dup = json!({"value": [{"id": "x", "principalId": me, "roleDefinitionId": "r"}, {"id": "X", "principalId": me, "roleDefinitionId": "r"}]});
    let err =
        pim_emulator::start("127.0.0.1:0", Config { scenario: Scenario::Empty, seed: Some(dup), ..Config::default() })
            .await
            .err()
            .unwrap();
    assert!(err.contains("repeats the id"), "{err}");
}

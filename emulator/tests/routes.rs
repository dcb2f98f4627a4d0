//! The emulator over real HTTP, as Graph's documentation describes the service.

use pim_emulator::{Config, Running, Scenario};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

const MINE: &str = "/v1.0/roleManagement/directory/roleAssignmentScheduleRequests/filterByCurrentUser(on='approver')";
const ALL: &str = "/beta/roleManagement/directory/roleAssignmentScheduleRequests";
const APPROVALS: &str = "/beta/roleManagement/directory/roleAssignmentApprovals";

struct T {
    emu: Running,
    http: Client,
}

async fn start(scenario: Scenario) -> T {
    start_with(Config { scenario, ..Config::default() }).await
}

async fn start_with(config: Config) -> T {
    T { emu: pim_emulator::start("127.0.0.1:0", config).await.unwrap(), http: Client::new() }
}

impl T {
    async fn token(&self, body: Value) -> String {
        let v: Value = self
            .http
            .post(format!("{}/_emulator/token", self.emu.base_url))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["access_token"].as_str().unwrap().to_string()
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut req = self.http.request(method, format!("{}{}", self.emu.base_url, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        (status, headers, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str, token: &str) -> Value {
        let (s, _, v) = self.call(Method::GET, path, Some(token), None).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
        v
    }

    /// The first open step of an approval, as the approver sees it.
    async fn step(&self, approval: &str, token: &str) -> String {
        let v = self.get(&format!("{APPROVALS}/{approval}"), token).await;
        v["steps"][0]["id"].as_str().unwrap().to_string()
    }

    /// Waits on the emulator's events (the bound only stops a hang).
    async fn wait(&self, goal: &str) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        self.call(Method::GET, &format!("/_emulator/wait?{goal}&timeoutMs=60000"), None, None).await
    }

    async fn decisions(&self) -> Vec<Value> {
        let v: Value = self
            .http
            .get(format!("{}/_emulator/decisions", self.emu.base_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v["value"].as_array().unwrap().clone()
    }
}

fn assert_graph_error(status: StatusCode, headers: &reqwest::header::HeaderMap, body: &Value, expected: StatusCode) {
    assert_eq!(status, expected, "{body}");
    let rid = headers.get("request-id").expect("request-id header").to_str().unwrap();
    assert!(body["error"]["code"].is_string(), "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert_eq!(body["error"]["innerError"]["request-id"], rid);
    assert!(body["error"]["innerError"]["date"].is_string());
}

#[tokio::test]
async fn tokens_are_checked_on_every_call() {
    let t = start(Scenario::Demo).await;
    let (s, h, b) = t.call(Method::GET, MINE, None, None).await;
    assert_graph_error(s, &h, &b, StatusCode::UNAUTHORIZED);
    assert_eq!(b["error"]["code"], "InvalidAuthenticationToken");
    let (s, h, b) = t.call(Method::GET, MINE, Some("not.a.jwt"), None).await;
    assert_graph_error(s, &h, &b, StatusCode::UNAUTHORIZED);
    let expired = t.token(json!({"expiresIn": -1})).await;
    let (s, h, b) = t.call(Method::GET, MINE, Some(&expired), None).await;
    assert_graph_error(s, &h, &b, StatusCode::UNAUTHORIZED);
    assert!(b["error"]["message"].as_str().unwrap().contains("expired"));
    let arm = t.token(json!({"audience": "arm"})).await;
    let (s, h, b) = t.call(Method::GET, MINE, Some(&arm), None).await;
    assert_graph_error(s, &h, &b, StatusCode::UNAUTHORIZED);
    let none = t.token(json!({"scopes": ["User.Read"]})).await;
    let (s, h, b) = t.call(Method::GET, MINE, Some(&none), None).await;
    assert_graph_error(s, &h, &b, StatusCode::FORBIDDEN);
    let ok = t.token(json!({})).await;
    let (s, h, _) = t.call(Method::GET, MINE, Some(&ok), None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(h.get("request-id").is_some(), "every answer has a request-id");
}

#[tokio::test]
async fn filters_expand_and_paging() {
    let t = start(Scenario::Bulk(7)).await;
    let tok = t.token(json!({})).await;
    let v = t
        .get(&format!("{MINE}?$filter=status eq 'PendingApproval'&$top=3&$expand=principal,roleDefinition"), &tok)
        .await;
    assert_eq!(v["value"].as_array().unwrap().len(), 3);
    assert!(v["value"][0]["principal"]["displayName"].is_string());
    assert!(v["value"][0]["roleDefinition"]["displayName"].is_string());
    let mut next = v["@odata.nextLink"].as_str().unwrap().to_string();
    let mut seen = 3;
    loop {
        let page: Value = t.http.get(&next).bearer_auth(&tok).send().await.unwrap().json().await.unwrap();
        seen += page["value"].as_array().unwrap().len();
        match page["@odata.nextLink"].as_str() {
            Some(n) => next = n.to_string(),
            None => break,
        }
    }
    assert_eq!(seen, 7);
    let none = t.get(&format!("{MINE}?$filter=status ne 'PendingApproval'"), &tok).await;
    assert!(none["value"].as_array().unwrap().is_empty());
    let both = t.get(&format!("{ALL}?$filter=(status eq 'PendingApproval') and (status ne 'Granted')"), &tok).await;
    assert_eq!(both["value"].as_array().unwrap().len(), 7);
    assert!(both["value"][0].get("principal").is_none(), "no expand, no names");
    for bad in ["status gt 'x'", "status eq 'x", "bogus eq 'x'"] {
        let (s, h, b) = t.call(Method::GET, &format!("{MINE}?$filter={bad}"), Some(&tok), None).await;
        assert_graph_error(s, &h, &b, StatusCode::BAD_REQUEST);
    }
    let (s, h, b) = t.call(Method::GET, &format!("{MINE}?$expand=nonsense"), Some(&tok), None).await;
    assert_graph_error(s, &h, &b, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn deciding_follows_the_documented_status_codes() {
    let t = start(Scenario::Demo).await;
    let tok = t.token(json!({})).await;
    let list = t.get(&format!("{MINE}?$filter=status eq 'PendingApproval'&$expand=principal"), &tok).await;
    let items = list["value"].as_array().unwrap();
    let adele = items.iter().find(|r| r["principal"]["displayName"] == "Adele Vance").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let step = t.step(&adele, &tok).await;
    let url = format!("{APPROVALS}/{adele}/steps/{step}");
    // 400: not JSON, a bad reviewResult, an unknown property.
    for body in [json!("x"), json!({"reviewResult": "Maybe"}), json!({"reviewResult": "Approve", "bogus": 1})] {
        let (s, h, b) = t.call(Method::PATCH, &url, Some(&tok), Some(body)).await;
        assert_graph_error(s, &h, &b, StatusCode::BAD_REQUEST);
    }
    // 403: read-only scope; and a user who is not an approver of it.
    let read_only = t.token(json!({"scopes": ["RoleAssignmentSchedule.Read.Directory"]})).await;
    let (s, h, b) = t.call(Method::PATCH, &url, Some(&read_only), Some(json!({"reviewResult": "Approve"}))).await;
    assert_graph_error(s, &h, &b, StatusCode::FORBIDDEN);
    let alex = t.token(json!({"user": "AlexW@contoso.onmicrosoft.com"})).await;
    let (s, h, b) = t.call(Method::PATCH, &url, Some(&alex), Some(json!({"reviewResult": "Approve"}))).await;
    assert_graph_error(s, &h, &b, StatusCode::FORBIDDEN);
    // 404: unknown approval and unknown step.
    let unknown = [
        format!("{APPROVALS}/00000000-0000-4000-8000-000000000000/steps/{step}"),
        format!("{APPROVALS}/{adele}/steps/nope"),
    ];
    for path in unknown {
        let (s, h, b) = t.call(Method::PATCH, &path, Some(&tok), Some(json!({"reviewResult": "Approve"}))).await;
        assert_graph_error(s, &h, &b, StatusCode::NOT_FOUND);
    }
    // 204, then 409 for anyone after.
    let (s, _, _) =
        t.call(Method::PATCH, &url, Some(&tok), Some(json!({"reviewResult": "approve", "justification": "ok"}))).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let lynne = t.token(json!({"user": "LynneR@contoso.onmicrosoft.com"})).await;
    let (s, h, b) = t.call(Method::PATCH, &url, Some(&lynne), Some(json!({"reviewResult": "Deny"}))).await;
    assert_graph_error(s, &h, &b, StatusCode::CONFLICT);
    let after = t.get(&format!("{APPROVALS}/{adele}"), &tok).await;
    assert_eq!(after["steps"][0]["reviewResult"], "Approved");
    assert_eq!(after["steps"][0]["status"], "Completed");
    let d = t.decisions().await;
    assert_eq!(d.len(), 1);
    assert_eq!((d[0]["approvalId"].as_str(), d[0]["justification"].as_str()), (Some(adele.as_str()), Some("ok")));
    // v1.0 has no roleAssignmentApprovals.
    let (s, h, b) = t
        .call(Method::GET, &format!("/v1.0/roleManagement/directory/roleAssignmentApprovals/{adele}"), Some(&tok), None)
        .await;
    assert_graph_error(s, &h, &b, StatusCode::BAD_REQUEST);
    // The request no longer lists as pending.
    let again = t.get(&format!("{MINE}?$filter=status eq 'PendingApproval'"), &tok).await;
    assert_eq!(again["value"].as_array().unwrap().len(), items.len() - 1);
}

#[tokio::test]
async fn a_requester_cannot_decide_their_own_request() {
    let t = start(Scenario::Demo).await;
    let tok = t.token(json!({})).await;
    let me = t.get("/_emulator/tenant", &tok).await["defaultApprover"].as_str().unwrap().to_string();
    let mine = t.get(&format!("{MINE}?$filter=principalId eq '{me}'"), &tok).await;
    let id = mine["value"][0]["id"].as_str().unwrap().to_string();
    let step = t.step(&id, &tok).await;
    let (s, h, b) = t
        .call(
            Method::PATCH,
            &format!("{APPROVALS}/{id}/steps/{step}"),
            Some(&tok),
            Some(json!({"reviewResult": "Approve"})),
        )
        .await;
    assert_graph_error(s, &h, &b, StatusCode::BAD_REQUEST);
    assert_eq!(b["error"]["code"], "SelfApprovalNotAllowed");
    assert!(t.decisions().await.is_empty());
}

#[tokio::test]
async fn the_real_response_loads_as_a_seed() {
    let seed: Value = serde_json::from_str(include_str!("data/real-response.json")).unwrap();
    let t = start_with(Config { scenario: Scenario::Empty, seed: Some(seed), ..Config::default() }).await;
    let tok = t.token(json!({})).await;
    let v = t.get(&format!("{MINE}?$filter=status eq 'PendingApproval'&$expand=principal,roleDefinition"), &tok).await;
    let r = &v["value"][0];
    assert_eq!(r["id"], "929cd687-a296-4f77-bdbc-b7cc22d3517e");
    assert_eq!(r["justification"], "need to create an app registration for project x");
    assert_eq!(r["scheduleInfo"]["expiration"]["duration"], "P1D");
    assert_eq!(r["roleDefinition"]["displayName"], "Application Administrator");
    let step = t.step("929cd687-a296-4f77-bdbc-b7cc22d3517e", &tok).await;
    let (s, _, _) = t
        .call(
            Method::PATCH,
            &format!("{APPROVALS}/929cd687-a296-4f77-bdbc-b7cc22d3517e/steps/{step}"),
            Some(&tok),
            Some(json!({"reviewResult": "Approve", "justification": "Seems legit"})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn stats_count_requests_per_route_and_status() {
    let t = start(Scenario::Demo).await;
    let tok = t.token(json!({})).await;
    t.get(MINE, &tok).await;
    t.get(MINE, &tok).await;
    let _ = t.call(Method::GET, MINE, None, None).await;
    let v: Value =
        t.http.get(format!("{}/_emulator/stats", t.emu.base_url)).send().await.unwrap().json().await.unwrap();
    let count = |status: u64| {
        v["routes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["route"].as_str().unwrap().contains("filterByCurrentUser") && r["status"] == status)
            .map(|r| r["count"].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!((count(200), count(401)), (2, 1));
    assert_eq!(v["httpRequests"], 3);
}

const GROUPS: &str = "/v1.0/identityGovernance/privilegedAccess/group";
const ARM_LIST: &str =
    "/providers/Microsoft.Authorization/roleAssignmentScheduleRequests?api-version=2020-10-01&$filter=asApprover()";

#[tokio::test]
async fn groups_answer_with_stages_in_v1_and_steps_in_beta() {
    let t = start(Scenario::Demo).await;
    let tok = t.token(json!({})).await;
    let list = t.get(&format!("{GROUPS}/assignmentScheduleRequests/filterByCurrentUser(on='approver')?$filter=status eq 'PendingApproval'&$expand=group,principal"), &tok).await;
    let items = list["value"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items[0]["group"]["displayName"].is_string() && items[0]["principal"]["displayName"].is_string());
    assert!(items[0]["accessId"].is_string());
    let id = items[0]["id"].as_str().unwrap().to_string();
    let v1 = t.get(&format!("{GROUPS}/assignmentApprovals/{id}"), &tok).await;
    let stage = v1["stages"][0]["id"].as_str().unwrap().to_string();
    assert!(v1.get("steps").is_none());
    // As the one published approver example: the stage id is the approval's, and the stage that
    // waits on me is Completed, NotReviewed, assigned to me.
    assert_eq!(stage, id);
    assert_eq!(
        (&v1["stages"][0]["status"], &v1["stages"][0]["reviewResult"], &v1["stages"][0]["assignedToMe"]),
        (&json!("Completed"), &json!("NotReviewed"), &json!(true))
    );
    let beta = t.get(&format!("/beta/identityGovernance/privilegedAccess/group/assignmentApprovals/{id}"), &tok).await;
    assert_eq!(beta["steps"][0]["id"], stage.as_str());
    // The plain collection needs a groupId or principalId filter, as in Graph.
    let (s, h, b) = t.call(Method::GET, &format!("{GROUPS}/assignmentScheduleRequests"), Some(&tok), None).await;
    assert_graph_error(s, &h, &b, StatusCode::BAD_REQUEST);
    // v1.0 has no steps (Graph: 400 for a segment it does not know); beta decides through them,
    // with the approval's own id as EasyPIM sends it.
    let (s, h, b) = t
        .call(
            Method::PATCH,
            &format!("{GROUPS}/assignmentApprovals/{id}/steps/{stage}"),
            Some(&tok),
            Some(json!({"reviewResult": "Approve"})),
        )
        .await;
    assert_graph_error(s, &h, &b, StatusCode::BAD_REQUEST);
    assert_eq!(b["error"]["message"], "Resource not found for the segment 'steps'.");
    let (s, _, _) = t
        .call(
            Method::PATCH,
            &format!("/beta/identityGovernance/privilegedAccess/group/assignmentApprovals/{id}/steps/{stage}"),
            Some(&tok),
            Some(json!({"reviewResult": "Approve", "justification": "ok"})),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // A directory-only token may not decide groups.
    let dir = t.token(json!({"scopes": ["RoleAssignmentSchedule.ReadWrite.Directory"]})).await;
    let other = items[1]["id"].as_str().unwrap();
    let st = t.get(&format!("{GROUPS}/assignmentApprovals/{other}"), &tok).await["stages"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, h, b) = t
        .call(
            Method::PATCH,
            &format!("{GROUPS}/assignmentApprovals/{other}/stages/{st}"),
            Some(&dir),
            Some(json!({"reviewResult": "Approve"})),
        )
        .await;
    assert_graph_error(s, &h, &b, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn arm_lists_pages_and_decides_with_either_body_form() {
    let t = start(Scenario::Demo).await;
    let arm = t.token(json!({"audience": "arm"})).await;
    let graph = t.token(json!({})).await;
    let (s, _, b) = t.call(Method::GET, ARM_LIST, Some(&graph), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "a Graph token is refused by ARM: {b}");
    assert!(b["error"]["code"].is_string() && b["error"].get("innerError").is_none(), "ARM's own error body");
    let (s, _, b) = t
        .call(Method::GET, "/providers/Microsoft.Authorization/roleAssignmentScheduleRequests", Some(&arm), None)
        .await;
    assert_eq!((s, b["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("MissingApiVersionParameter")));
    let list = t.get(ARM_LIST, &arm).await;
    let items = list["value"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(items[0]["properties"]["expandedProperties"]["principal"]["displayName"].is_string());
    let approval = items[0]["properties"]["approvalId"].as_str().unwrap().to_string();
    let a = t.get(&format!("{approval}?api-version=2021-01-01-preview"), &arm).await;
    // The stage is addressed by its id's last segment; its name differs, as in the spec's example.
    let stage = last_segment(&a["properties"]["stages"][0]["id"]);
    assert_ne!(a["properties"]["stages"][0]["name"].as_str().unwrap(), stage);
    assert_eq!(a["properties"]["stages"][0]["properties"]["assignedToMe"], true);
    // PATCH with the body at the top level.
    let (s, _, b) = t
        .call(
            Method::PATCH,
            &format!("{approval}/stages/{stage}?api-version=2021-01-01-preview"),
            Some(&arm),
            Some(json!({"reviewResult": "Approve", "justification": "top"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["properties"]["reviewResult"], "Approve");
    // PUT with the body wrapped in properties.
    let second = items[1]["properties"]["approvalId"].as_str().unwrap().to_string();
    let a2 = t.get(&format!("{second}?api-version=2021-01-01-preview"), &arm).await;
    let stage2 = last_segment(&a2["properties"]["stages"][0]["id"]);
    let (s, _, b) = t
        .call(
            Method::PUT,
            &format!("{second}/stages/{stage2}?api-version=2021-01-01-preview"),
            Some(&arm),
            Some(json!({"properties": {"reviewResult": "Deny", "justification": "wrapped"}})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["properties"]["reviewResult"], "Deny");
    let (s, _, _) = t
        .call(
            Method::PUT,
            &format!("{second}/stages/{stage2}?api-version=2021-01-01-preview"),
            Some(&arm),
            Some(json!({"properties": {"reviewResult": "Deny"}})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let d = t.decisions().await;
    assert_eq!((d[0]["justification"].as_str(), d[1]["justification"].as_str()), (Some("top"), Some("wrapped")));
    let after = t.get(ARM_LIST, &arm).await;
    assert_eq!(after["value"].as_array().unwrap().len(), 1);
}

fn last_segment(id: &Value) -> String {
    id.as_str().unwrap().rsplit('/').next().unwrap().to_string()
}

#[tokio::test]
async fn arm_filters_by_scope() {
    let t = start(Scenario::Demo).await;
    let arm = t.token(json!({"audience": "arm"})).await;
    let all = t.get(ARM_LIST, &arm).await;
    let sub_scope = all["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["properties"]["scope"].as_str().unwrap().to_string())
        .find(|s| s.matches('/').count() == 2)
        .unwrap();
    let at_sub = t.get(&format!("{sub_scope}{ARM_LIST}"), &arm).await;
    assert_eq!(at_sub["value"].as_array().unwrap().len(), 2);
    let mg = t.get(&format!("/providers/Microsoft.Management/managementGroups/contoso-platform{ARM_LIST}"), &arm).await;
    assert_eq!(mg["value"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn faults_reset_connections_and_slow_answers() {
    let t = start(Scenario::Demo).await;
    let tok = t.token(json!({})).await;
    t.emu.set_faults(&json!({"resetRate": 1.0})).unwrap();
    let reset = t.http.get(format!("{}{MINE}", t.emu.base_url)).bearer_auth(&tok).send().await;
    let failed = match reset {
        Err(_) => true,
        Ok(r) => r.bytes().await.is_err(),
    };
    assert!(failed, "a reset call gets no answer");
    t.emu.set_faults(&json!({"resetRate": 0.0, "slowRate": 1.0, "slowMs": 300})).unwrap();
    let started = std::time::Instant::now();
    let (s, _, _) = t.call(Method::GET, MINE, Some(&tok), None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(started.elapsed() >= std::time::Duration::from_millis(300), "answered late");
    let set = t.emu.set_faults(&json!({"slowRate": 0.0, "failRate": 1.0})).unwrap();
    assert_eq!(set["failRate"], 1.0);
    let (s, h, b) = t.call(Method::GET, MINE, Some(&tok), None).await;
    assert_graph_error(s, &h, &b, StatusCode::SERVICE_UNAVAILABLE);
    assert!(h.get("retry-after").is_some());
}

/// The approval ids waiting on the default approver (first page).
async fn pending_ids(t: &T, tok: &str) -> Vec<String> {
    let v = t.get(MINE, tok).await;
    v["value"].as_array().unwrap().iter().map(|r| r["approvalId"].as_str().unwrap().to_string()).collect()
}

async fn approve(t: &T, tok: &str, id: &str) -> Result<StatusCode, reqwest::Error> {
    let step = t.step(id, tok).await;
    let url = format!("{}{APPROVALS}/{id}/steps/{step}", t.emu.base_url);
    let body = json!({"reviewResult": "Approve", "justification": "x"});
    let resp = t.http.patch(url).bearer_auth(tok).json(&body).send().await?;
    let status = resp.status();
    resp.bytes().await?;
    Ok(status)
}

#[tokio::test]
async fn scheduled_faults_hit_exactly_the_calls_named() {
    let t = start(Scenario::Bulk(6)).await;
    let tok = t.token(json!({})).await;
    let ids = pending_ids(&t, &tok).await;
    let set = t.emu.set_faults(&json!({"schedule": ["throttle@write:2", "lost@write:3", "fail@read:100"]})).unwrap();
    assert_eq!(set["schedule"], json!(["throttle@write:2", "lost@write:3", "fail@read:100"]));
    assert_eq!(approve(&t, &tok, &ids[0]).await.unwrap(), StatusCode::NO_CONTENT, "1st write");
    assert_eq!(approve(&t, &tok, &ids[1]).await.unwrap(), StatusCode::TOO_MANY_REQUESTS, "2nd write");
    assert!(approve(&t, &tok, &ids[2]).await.is_err(), "3rd write: applied, its answer lost");
    assert_eq!(approve(&t, &tok, &ids[3]).await.unwrap(), StatusCode::NO_CONTENT, "4th write");
    let decided: Vec<String> =
        t.decisions().await.iter().map(|d| d["approvalId"].as_str().unwrap().to_string()).collect();
    assert_eq!(decided, [ids[0].clone(), ids[2].clone(), ids[3].clone()]);
    let (s, _, b) = t.call(Method::GET, "/_emulator/faults", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["counts"]["write"], 4);
    let (s, _, b) =
        t.call(Method::POST, "/_emulator/faults", None, Some(json!({"schedule": ["throttle@writes:1"]}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert!(b["error"]["message"].as_str().unwrap().contains("throttle@writes:1"));
}

#[tokio::test]
async fn the_gate_holds_decisions_until_opened_and_drops_abandoned_ones() {
    let t = start_with(Config { scenario: Scenario::Bulk(5), gate_after: Some(1), ..Config::default() }).await;
    let tok = t.token(json!({})).await;
    let ids = pending_ids(&t, &tok).await;
    assert_eq!(approve(&t, &tok, &ids[0]).await.unwrap(), StatusCode::NO_CONTENT, "the first passes");
    // The second waits at the gate; its client gives up; it is never applied.
    let abandoned = {
        let step = t.step(&ids[1], &tok).await;
        let url = format!("{}{APPROVALS}/{}/steps/{step}", t.emu.base_url, ids[1]);
        let req = t.http.patch(url).bearer_auth(&tok).json(&json!({"reviewResult": "Approve"})).send();
        tokio::spawn(req)
    };
    let (s, _, b) = t.wait("held=1").await;
    assert_eq!((s, b["held"].as_u64()), (StatusCode::OK, Some(1)), "{b}");
    abandoned.abort();
    let (s, _, b) = t.wait("heldMax=0").await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // The third waits too, and passes once the gate opens.
    let third = {
        let (http, base, tok, id) = (t.http.clone(), t.emu.base_url.clone(), tok.clone(), ids[2].clone());
        let step = t.step(&id, &tok).await;
        tokio::spawn(async move {
            let url = format!("{base}{APPROVALS}/{id}/steps/{step}");
            http.patch(url).bearer_auth(tok).json(&json!({"reviewResult": "Approve"})).send().await.unwrap().status()
        })
    };
    let (s, _, _) = t.wait("held=1").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(t.decisions().await.len(), 1, "nothing past the gate is applied");
    let (s, _, b) = t.call(Method::POST, "/_emulator/gate", None, Some(json!({"open": true}))).await;
    assert_eq!((s, b["after"].clone()), (StatusCode::OK, Value::Null));
    assert_eq!(third.await.unwrap(), StatusCode::NO_CONTENT);
    let (s, _, b) = t.wait("decisions=2").await;
    assert_eq!((s, b["decisions"].as_u64()), (StatusCode::OK, Some(2)));
    let decided: Vec<Value> = t.decisions().await.iter().map(|d| d["approvalId"].clone()).collect();
    assert_eq!(decided, [json!(ids[0]), json!(ids[2])], "the abandoned decision was never applied");
    let (s, _, b) = t.call(Method::GET, "/_emulator/wait?decisions=3&timeoutMs=1", None, None).await;
    assert_eq!((s, b["reached"].clone()), (StatusCode::REQUEST_TIMEOUT, json!(false)));
    let (s, _, _) = t.call(Method::GET, "/_emulator/wait?weather=1", None, None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

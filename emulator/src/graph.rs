//! Microsoft Graph routes for Entra directory roles: listing schedule requests and deciding approvals.

use std::time::SystemTime;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::odata;
use crate::state::{Decision, RoleRequest, Tenant};
use crate::token::{self, Caller};
use crate::{Answer, App, Call};

const LIST_ROUTE: &str = "/{ver}/roleManagement/directory/roleAssignmentScheduleRequests";
const MINE_ROUTE: &str =
    "/{ver}/roleManagement/directory/roleAssignmentScheduleRequests/filterByCurrentUser(on='approver')";
const APPROVAL_ROUTE: &str = "/beta/roleManagement/directory/roleAssignmentApprovals/{id}";
const STEPS_ROUTE: &str = "/beta/roleManagement/directory/roleAssignmentApprovals/{id}/steps";
const STEP_ROUTE: &str = "/beta/roleManagement/directory/roleAssignmentApprovals/{id}/steps/{stepId}";

const READ_REQUESTS: &[&str] = &[
    "RoleAssignmentSchedule.Read.Directory",
    "RoleAssignmentSchedule.ReadWrite.Directory",
    "RoleManagement.Read.Directory",
    "RoleManagement.ReadWrite.Directory",
    "RoleManagement.Read.All",
];
const READ_APPROVALS: &[&str] =
    &["RoleAssignmentSchedule.Read.Directory", "RoleAssignmentSchedule.ReadWrite.Directory"];
const DECIDE: &[&str] = &["RoleAssignmentSchedule.ReadWrite.Directory"];

/// Default page size: small, so that every client exercises paging.
const PAGE_SIZE: usize = 50;

pub(crate) fn route(app: &App, call: &Call) -> Answer {
    let seg: Vec<&str> = call.segments.iter().map(String::as_str).collect();
    let version = seg.first().copied().unwrap_or_default();
    if version != "v1.0" && version != "beta" {
        return Answer::error("/*", StatusCode::NOT_FOUND, "NotFound", "Unsupported API version.");
    }
    let rest = &seg[1..];
    match (call.method, rest) {
        (&Method::GET, ["roleManagement", "directory", "roleAssignmentScheduleRequests"]) => {
            list_requests(app, call, LIST_ROUTE, false)
        }
        (&Method::GET, ["roleManagement", "directory", "roleAssignmentScheduleRequests", f])
            if f.eq_ignore_ascii_case("filterByCurrentUser(on='approver')") =>
        {
            list_requests(app, call, MINE_ROUTE, true)
        }
        (_, ["roleManagement", "directory", "roleAssignmentApprovals", ..]) if version != "beta" => Answer::error(
            APPROVAL_ROUTE,
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Resource not found for the segment 'roleAssignmentApprovals'.",
        ),
        (&Method::GET, ["roleManagement", "directory", "roleAssignmentApprovals", id]) => {
            get_approval(app, call, id, APPROVAL_ROUTE, false)
        }
        (&Method::GET, ["roleManagement", "directory", "roleAssignmentApprovals", id, "steps"]) => {
            get_approval(app, call, id, STEPS_ROUTE, true)
        }
        (&Method::PATCH, ["roleManagement", "directory", "roleAssignmentApprovals", id, "steps", step]) => {
            decide(app, call, id, step)
        }
        _ => Answer::error(
            "/*",
            StatusCode::NOT_FOUND,
            "UnknownError",
            format!("No route for {} {}.", call.method, call.segments.join("/")),
        ),
    }
}

/// Checks the bearer token and one of the scopes; the error is the whole answer.
fn authorize(app: &App, call: &Call, route: &'static str, scopes: &[&str]) -> Result<Caller, Answer> {
    let header = call.headers.get("authorization").and_then(|h| h.to_str().ok());
    let caller = app
        .minter
        .check(header, token::GRAPH_AUDIENCE)
        .map_err(|e| Answer::error(route, StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", e.message()))?;
    if caller.app_only {
        return Err(Answer::error(
            route,
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "This operation is not supported with application permissions; it needs a signed-in user.",
        ));
    }
    if !caller.has_any_scope(scopes) {
        return Err(Answer::error(
            route,
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            format!(
                "Missing scope permissions on the request. API requires one of '{}'. Scopes on the request '{}'.",
                scopes.join(", "),
                caller.scopes.join(" ")
            ),
        ));
    }
    Ok(caller)
}

fn is_approver(r: &RoleRequest, oid: &str) -> bool {
    r.steps.iter().any(|s| s.approvers.iter().any(|a| a == oid))
}

/// The properties `$filter` may name (lower-cased).
const FILTERABLE: &[&str] = &[
    "status",
    "id",
    "approvalid",
    "targetscheduleid",
    "principalid",
    "roledefinitionid",
    "directoryscopeid",
    "action",
];

fn field<'a>(r: &'a RoleRequest, name: &str) -> &'a str {
    match name.to_ascii_lowercase().as_str() {
        "status" => &r.status,
        "principalid" => &r.principal_id,
        "roledefinitionid" => &r.role_definition_id,
        "directoryscopeid" => &r.directory_scope_id,
        "action" => &r.action,
        _ => &r.id,
    }
}

fn list_requests(app: &App, call: &Call, route: &'static str, approver_only: bool) -> Answer {
    let caller = match authorize(app, call, route, READ_REQUESTS) {
        Ok(c) => c,
        Err(a) => return a,
    };
    let clauses = match call.query.get("$filter").map(|f| odata::parse_filter(f)) {
        None => Vec::new(),
        Some(Ok(c)) => c,
        Some(Err(msg)) => return Answer::error(route, StatusCode::BAD_REQUEST, "BadRequest", msg),
    };
    let (mut expand_principal, mut expand_role) = (false, false);
    if let Some(expand) = call.query.get("$expand") {
        for item in expand.split(',').map(|e| e.split('(').next().unwrap_or("").trim()) {
            match item {
                "principal" => expand_principal = true,
                "roleDefinition" => expand_role = true,
                "activatedUsing" | "targetSchedule" | "directoryScope" | "appScope" => {}
                other => {
                    return Answer::error(
                        route,
                        StatusCode::BAD_REQUEST,
                        "BadRequest",
                        format!(
                            "Could not find a property named '{other}' on type 'microsoft.graph.unifiedRoleAssignmentScheduleRequest'."
                        ),
                    );
                }
            }
        }
    }
    let page_size = match call.query.get("$top").map(|t| t.parse::<usize>()) {
        None => PAGE_SIZE,
        Some(Ok(n)) if (1..=999).contains(&n) => n,
        Some(_) => {
            return Answer::error(route, StatusCode::BAD_REQUEST, "BadRequest", "Invalid $top value.");
        }
    };
    let offset = match call.query.get("$skiptoken") {
        None => 0,
        Some(s) => match s.strip_prefix("offset-").and_then(|n| n.parse::<usize>().ok()) {
            Some(n) => n,
            None => return Answer::error(route, StatusCode::BAD_REQUEST, "BadRequest", "Invalid $skiptoken."),
        },
    };
    for c in &clauses {
        if !FILTERABLE.contains(&c.field.to_ascii_lowercase().as_str()) {
            return Answer::error(
                route,
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!("Invalid filter clause: property '{}' cannot be filtered.", c.field),
            );
        }
    }
    let t = app.tenant();
    let matching: Vec<&RoleRequest> = t
        .requests
        .iter()
        .filter(|r| !approver_only || is_approver(r, &caller.oid))
        .filter(|r| clauses.iter().all(|c| field(r, &c.field).eq_ignore_ascii_case(&c.value) != c.negate))
        .collect();
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(page_size)
        .map(|r| t.request_json(r, expand_principal, expand_role))
        .collect();
    let version = &call.segments[0];
    let mut body = json!({
        "@odata.context": format!("{}/{}/$metadata#Collection(unifiedRoleAssignmentScheduleRequest)", call.base, version),
        "value": page,
    });
    if offset + page_size < matching.len() {
        body["@odata.nextLink"] = json!(next_link(call, offset + page_size));
    }
    Answer::json(route, StatusCode::OK, body)
}

/// The same URL with `$skiptoken` moved on, encoded as Graph encodes its links.
fn next_link(call: &Call, offset: usize) -> String {
    let mut params: Vec<(String, String)> =
        call.query.iter().filter(|(k, _)| k.as_str() != "$skiptoken").map(|(k, v)| (k.clone(), v.clone())).collect();
    params.sort();
    params.push(("$skiptoken".into(), format!("offset-{offset}")));
    let q: Vec<String> = params.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
    let path: Vec<String> = call.segments.iter().map(|s| encode(s)).collect();
    format!("{}/{}?{}", call.base, path.join("/"), q.join("&"))
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~$()=,".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn step_json(t: &Tenant, s: &crate::state::Step, oid: &str) -> Value {
    let reviewed_by = s
        .reviewed_by
        .as_ref()
        .and_then(|id| t.users.get(id))
        .map(|u| json!([{"id": u.id, "displayName": u.display_name, "userPrincipalName": u.upn}]));
    json!({
        "id": s.id,
        "displayName": null,
        "status": s.status,
        "assignedToMe": s.approvers.iter().any(|a| a == oid),
        "reviewResult": s.review_result,
        "reviewedBy": reviewed_by,
        "reviewedDateTime": s.reviewed_at.map(crate::state::iso),
        "justification": s.justification,
    })
}

fn get_approval(app: &App, call: &Call, id: &str, route: &'static str, steps_only: bool) -> Answer {
    let caller = match authorize(app, call, route, READ_APPROVALS) {
        Ok(c) => c,
        Err(a) => return a,
    };
    let t = app.tenant();
    let Some(i) = t.find(id) else {
        return Answer::error(route, StatusCode::NOT_FOUND, "NotFound", format!("The approval '{id}' was not found."));
    };
    let r = &t.requests[i];
    let steps: Vec<Value> = r.steps.iter().map(|s| step_json(&t, s, &caller.oid)).collect();
    let ctx = format!("{}/beta/$metadata#roleManagement/directory/roleAssignmentApprovals", call.base);
    let body = if steps_only {
        json!({"@odata.context": format!("{ctx}('{}')/steps", r.id), "value": steps})
    } else {
        json!({
            "@odata.context": format!("{ctx}/$entity"),
            "id": r.id,
            "steps@odata.context": format!("{ctx}('{}')/steps", r.id),
            "steps": steps,
        })
    };
    Answer::json(route, StatusCode::OK, body)
}

fn decide(app: &App, call: &Call, id: &str, step_id: &str) -> Answer {
    const R: &str = STEP_ROUTE;
    let caller = match authorize(app, call, R, DECIDE) {
        Ok(c) => c,
        Err(a) => return a,
    };
    let body: Value = match serde_json::from_slice(call.body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return Answer::error(R, StatusCode::BAD_REQUEST, "BadRequest", "The request body is not a JSON object."),
    };
    for key in body.as_object().map(|o| o.keys()).into_iter().flatten() {
        if key != "reviewResult" && key != "justification" && key != "@odata.type" {
            return Answer::error(
                R,
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!("Invalid property '{key}' on type 'microsoft.graph.approvalStep'."),
            );
        }
    }
    let result = match body.get("reviewResult").and_then(Value::as_str) {
        Some(r) if r.eq_ignore_ascii_case("approve") => "Approved",
        Some(r) if r.eq_ignore_ascii_case("deny") => "Denied",
        _ => {
            return Answer::error(
                R,
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "reviewResult must be 'Approve' or 'Deny'.",
            );
        }
    };
    let justification = match body.get("justification") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Answer::error(R, StatusCode::BAD_REQUEST, "BadRequest", "justification must be a string."),
    };
    let mut t = app.tenant();
    let Some(i) = t.find(id) else {
        return Answer::error(R, StatusCode::NOT_FOUND, "NotFound", format!("The approval '{id}' was not found."));
    };
    let Some(si) = t.requests[i].steps.iter().position(|s| s.id.eq_ignore_ascii_case(step_id)) else {
        return Answer::error(R, StatusCode::NOT_FOUND, "NotFound", format!("The step '{step_id}' was not found."));
    };
    let r = &t.requests[i];
    let step = &r.steps[si];
    if !step.approvers.contains(&caller.oid) {
        return Answer::error(
            R,
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "The caller is not an approver of this step.",
        );
    }
    if r.principal_id == caller.oid {
        return Answer::error(
            R,
            StatusCode::BAD_REQUEST,
            "SelfApprovalNotAllowed",
            "Approvers cannot approve or deny their own requests.",
        );
    }
    if !step.review_result.eq_ignore_ascii_case("NotReviewed") || !r.status.eq_ignore_ascii_case("PendingApproval") {
        return Answer::error(
            R,
            StatusCode::CONFLICT,
            "Conflict",
            "The request has already been approved or denied by another approver in this stage.",
        );
    }
    let now = SystemTime::now();
    let approval_id = r.id.clone();
    let step_id = step.id.clone();
    let r = &mut t.requests[i];
    r.status = if result == "Approved" { "Granted" } else { "Denied" }.into();
    let s = &mut r.steps[si];
    s.review_result = result.into();
    s.status = "Completed".into();
    s.reviewed_by = Some(caller.oid.clone());
    s.reviewed_at = Some(now);
    s.justification = justification.clone();
    t.decisions.push(Decision {
        approval_id,
        step_id,
        reviewer: caller.oid,
        review_result: result.into(),
        justification,
        time: now,
    });
    Answer::empty(R, StatusCode::NO_CONTENT)
}

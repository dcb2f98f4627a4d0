//! Microsoft Graph routes for Entra directory roles and PIM for Groups: listing schedule requests
//! and deciding approvals (directory roles: beta `steps`; groups: v1.0 `stages`, beta `steps`).

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::odata;
use crate::state::{Refusal, Request, Surface, Tenant};
use crate::token::{self, Caller};
use crate::{Answer, App, Call};

/// What differs between the two Graph surfaces; the behaviour is shared.
struct Spec {
    surface: Surface,
    list_route: &'static str,
    mine_route: &'static str,
    approval_route: &'static str,
    steps_route: &'static str,
    step_route: &'static str,
    read_requests: &'static [&'static str],
    read_approvals: &'static [&'static str],
    decide: &'static [&'static str],
    entity: &'static str,
}

const DIRECTORY: Spec = Spec {
    surface: Surface::Directory,
    list_route: "/{ver}/roleManagement/directory/roleAssignmentScheduleRequests",
    mine_route: "/{ver}/roleManagement/directory/roleAssignmentScheduleRequests/filterByCurrentUser(on='approver')",
    approval_route: "/beta/roleManagement/directory/roleAssignmentApprovals/{id}",
    steps_route: "/beta/roleManagement/directory/roleAssignmentApprovals/{id}/steps",
    step_route: "/beta/roleManagement/directory/roleAssignmentApprovals/{id}/steps/{stepId}",
    read_requests: READ_REQUESTS,
    read_approvals: READ_APPROVALS,
    decide: DECIDE,
    entity: "unifiedRoleAssignmentScheduleRequest",
};

const GROUP: Spec = Spec {
    surface: Surface::Group,
    list_route: "/{ver}/identityGovernance/privilegedAccess/group/assignmentScheduleRequests",
    mine_route: "/{ver}/identityGovernance/privilegedAccess/group/assignmentScheduleRequests/filterByCurrentUser(on='approver')",
    approval_route: "/{ver}/identityGovernance/privilegedAccess/group/assignmentApprovals/{id}",
    steps_route: "/{ver}/identityGovernance/privilegedAccess/group/assignmentApprovals/{id}/{stages|steps}",
    step_route: "/{ver}/identityGovernance/privilegedAccess/group/assignmentApprovals/{id}/{stages|steps}/{stageId}",
    read_requests: GROUP_READ,
    read_approvals: GROUP_READ,
    decide: GROUP_DECIDE,
    entity: "privilegedAccessGroupAssignmentScheduleRequest",
};

const GROUP_READ: &[&str] =
    &["PrivilegedAssignmentSchedule.Read.AzureADGroup", "PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup"];
const GROUP_DECIDE: &[&str] = &["PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup"];

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
    let beta = version == "beta";
    let group = ["identityGovernance", "privilegedAccess", "group"];
    match (call.method, rest) {
        (&Method::GET, ["roleManagement", "directory", "roleAssignmentScheduleRequests"]) => {
            list_requests(app, call, &DIRECTORY, false)
        }
        (&Method::GET, ["roleManagement", "directory", "roleAssignmentScheduleRequests", f]) if is_mine(f) => {
            list_requests(app, call, &DIRECTORY, true)
        }
        (_, ["roleManagement", "directory", "roleAssignmentApprovals", ..]) if !beta => Answer::error(
            DIRECTORY.approval_route,
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Resource not found for the segment 'roleAssignmentApprovals'.",
        ),
        (&Method::GET, ["roleManagement", "directory", "roleAssignmentApprovals", id]) => {
            get_approval(app, call, &DIRECTORY, id, false)
        }
        (&Method::GET, ["roleManagement", "directory", "roleAssignmentApprovals", id, "steps"]) => {
            get_approval(app, call, &DIRECTORY, id, true)
        }
        (&Method::PATCH, ["roleManagement", "directory", "roleAssignmentApprovals", id, "steps", step]) => {
            decide(app, call, &DIRECTORY, id, step)
        }
        (&Method::GET, [a, b, c, "assignmentScheduleRequests"]) if [*a, *b, *c] == group => {
            list_requests(app, call, &GROUP, false)
        }
        (&Method::GET, [a, b, c, "assignmentScheduleRequests", f]) if [*a, *b, *c] == group && is_mine(f) => {
            list_requests(app, call, &GROUP, true)
        }
        (&Method::GET, [a, b, c, "assignmentApprovals", id]) if [*a, *b, *c] == group => {
            get_approval(app, call, &GROUP, id, false)
        }
        // v1.0 calls them stages, beta steps; each version knows only its own word.
        (&Method::GET, [a, b, c, "assignmentApprovals", id, kind])
            if [*a, *b, *c] == group && *kind == stage_word(beta) =>
        {
            get_approval(app, call, &GROUP, id, true)
        }
        (&Method::PATCH, [a, b, c, "assignmentApprovals", id, kind, step])
            if [*a, *b, *c] == group && *kind == stage_word(beta) =>
        {
            decide(app, call, &GROUP, id, step)
        }
        _ => Answer::error(
            "/*",
            StatusCode::NOT_FOUND,
            "UnknownError",
            format!("No route for {} {}.", call.method, call.segments.join("/")),
        ),
    }
}

/// Throttling is per token, as Graph's buckets are per app and user.
pub(crate) fn throttle_key(call: &Call) -> String {
    call.headers.get("authorization").and_then(|h| h.to_str().ok()).unwrap_or_default().to_string()
}

fn is_mine(segment: &str) -> bool {
    segment.eq_ignore_ascii_case("filterByCurrentUser(on='approver')")
}

fn stage_word(beta: bool) -> &'static str {
    if beta { "steps" } else { "stages" }
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

fn is_approver(r: &Request, oid: &str) -> bool {
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
    "groupid",
    "accessid",
];

fn field<'a>(r: &'a Request, name: &str) -> &'a str {
    match name.to_ascii_lowercase().as_str() {
        "status" => &r.status,
        "principalid" => &r.principal_id,
        "roledefinitionid" => &r.role_definition_id,
        "directoryscopeid" => &r.scope,
        "action" => &r.action,
        "groupid" => r.group_id.as_deref().unwrap_or_default(),
        "accessid" => r.access_id.as_deref().unwrap_or_default(),
        _ => &r.id,
    }
}

fn list_requests(app: &App, call: &Call, spec: &Spec, approver_only: bool) -> Answer {
    let route = if approver_only { spec.mine_route } else { spec.list_route };
    let caller = match authorize(app, call, route, spec.read_requests) {
        Ok(c) => c,
        Err(a) => return a,
    };
    let clauses = match call.query.get("$filter").map(|f| odata::parse_filter(f)) {
        None => Vec::new(),
        Some(Ok(c)) => c,
        Some(Err(msg)) => return Answer::error(route, StatusCode::BAD_REQUEST, "BadRequest", msg),
    };
    // Like Graph, the plain Groups collection needs a groupId or principalId filter.
    if spec.surface == Surface::Group
        && !approver_only
        && !clauses.iter().any(|c| ["groupid", "principalid"].contains(&c.field.to_ascii_lowercase().as_str()))
    {
        return Answer::error(
            route,
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Filter on groupId or principalId is required when listing group assignment schedule requests.",
        );
    }
    let (mut expand_principal, mut expand_target) = (false, false);
    if let Some(expand) = call.query.get("$expand") {
        for item in expand.split(',').map(|e| e.split('(').next().unwrap_or("").trim()) {
            match (spec.surface, item) {
                (_, "principal") => expand_principal = true,
                (Surface::Directory, "roleDefinition") | (Surface::Group, "group") => expand_target = true,
                (_, "activatedUsing" | "targetSchedule") => {}
                (Surface::Directory, "directoryScope" | "appScope") => {}
                (_, other) => {
                    return Answer::error(
                        route,
                        StatusCode::BAD_REQUEST,
                        "BadRequest",
                        format!("Could not find a property named '{other}' on type 'microsoft.graph.{}'.", spec.entity),
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
    let matching: Vec<&Request> = t
        .requests
        .iter()
        .filter(|r| r.surface == spec.surface)
        .filter(|r| !approver_only || is_approver(r, &caller.oid))
        .filter(|r| clauses.iter().all(|c| field(r, &c.field).eq_ignore_ascii_case(&c.value) != c.negate))
        .collect();
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(page_size)
        .map(|r| match spec.surface {
            Surface::Group => t.group_request_json(r, expand_target, expand_principal),
            _ => t.request_json(r, expand_principal, expand_target),
        })
        .collect();
    let version = &call.segments[0];
    let mut body = json!({
        "@odata.context": format!("{}/{}/$metadata#Collection({})", call.base, version, spec.entity),
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

fn get_approval(app: &App, call: &Call, spec: &Spec, id: &str, steps_only: bool) -> Answer {
    let route = if steps_only { spec.steps_route } else { spec.approval_route };
    let caller = match authorize(app, call, route, spec.read_approvals) {
        Ok(c) => c,
        Err(a) => return a,
    };
    let t = app.tenant();
    let Some(i) = t.find(id).filter(|i| t.requests[*i].surface == spec.surface) else {
        return Answer::error(route, StatusCode::NOT_FOUND, "NotFound", format!("The approval '{id}' was not found."));
    };
    let r = &t.requests[i];
    let steps: Vec<Value> = r.steps.iter().map(|s| step_json(&t, s, &caller.oid)).collect();
    let version = &call.segments[0];
    let word = if spec.surface == Surface::Directory { "steps" } else { stage_word(version == "beta") };
    let ctx = format!("{}/{version}/$metadata#approvals", call.base);
    let body = if steps_only {
        json!({"@odata.context": format!("{ctx}('{}')/{word}", r.id), "value": steps})
    } else {
        let mut v = json!({"@odata.context": format!("{ctx}/$entity"), "id": r.id});
        v[format!("{word}@odata.context")] = json!(format!("{ctx}('{}')/{word}", r.id));
        v[word] = Value::Array(steps);
        v
    };
    Answer::json(route, StatusCode::OK, body)
}

fn decide(app: &App, call: &Call, spec: &Spec, id: &str, step_id: &str) -> Answer {
    let r = spec.step_route;
    let caller = match authorize(app, call, r, spec.decide) {
        Ok(c) => c,
        Err(a) => return a,
    };
    let body: Value = match serde_json::from_slice(call.body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return Answer::error(r, StatusCode::BAD_REQUEST, "BadRequest", "The request body is not a JSON object."),
    };
    for key in body.as_object().map(|o| o.keys()).into_iter().flatten() {
        if key != "reviewResult" && key != "justification" && key != "@odata.type" {
            return Answer::error(
                r,
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!("Invalid property '{key}' on type 'microsoft.graph.approvalStage'."),
            );
        }
    }
    let approve = match body.get("reviewResult").and_then(Value::as_str) {
        Some(v) if v.eq_ignore_ascii_case("approve") => true,
        Some(v) if v.eq_ignore_ascii_case("deny") => false,
        _ => {
            return Answer::error(
                r,
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "reviewResult must be 'Approve' or 'Deny'.",
            );
        }
    };
    let justification = match body.get("justification") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Answer::error(r, StatusCode::BAD_REQUEST, "BadRequest", "justification must be a string."),
    };
    if let Err(wait) = app.throttle.take(&throttle_key(call)) {
        return Answer::throttled(r, wait);
    }
    let mut t = app.tenant();
    let Some(i) = t.find(id).filter(|i| t.requests[*i].surface == spec.surface) else {
        return Answer::error(r, StatusCode::NOT_FOUND, "NotFound", format!("The approval '{id}' was not found."));
    };
    match t.apply_decision(i, step_id, &caller.oid, approve, justification) {
        Ok(()) => Answer::empty(r, StatusCode::NO_CONTENT),
        Err(Refusal(status, code, message)) => {
            Answer::error(r, StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), code, message)
        }
    }
}

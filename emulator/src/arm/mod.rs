//! Azure Resource Manager routes for Azure resource roles: `roleAssignmentScheduleRequests` (list,
//! api-version 2020-10-01, `$filter=asApprover()` and the spec's other filters, `nextLink` paging;
//! `PUT` to create a SelfActivate request) and `roleAssignmentApprovals` with their stages
//! (api-version 2021-01-01-preview; decided by `PATCH` or `PUT`, top-level or `properties`-wrapped
//! body, as the forms `arm.decisionMethod` and `arm.decisionBody` say). Errors carry ARM's codes.
//!
//! This file is the route table, the token and api-version check and the handlers; `render` holds
//! the JSON.

mod render;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use std::time::SystemTime;

use crate::answer::{Answer, Call, format_retry_after};
use crate::app::App;
use crate::state::{NewRequest, Refusal, Request, Surface, Target};
use crate::token::{self, Caller};

const LIST_ROUTE: &str = "{scope}/providers/Microsoft.Authorization/roleAssignmentScheduleRequests";
const APPROVAL_ROUTE: &str = "{scope}/providers/Microsoft.Authorization/roleAssignmentApprovals/{id}";
const STAGES_ROUTE: &str = "{scope}/providers/Microsoft.Authorization/roleAssignmentApprovals/{id}/stages";
const STAGE_ROUTE: &str = "{scope}/providers/Microsoft.Authorization/roleAssignmentApprovals/{id}/stages/{stageId}";

const LIST_VERSIONS: &[&str] = &["2020-10-01", "2020-10-01-preview", "2022-04-01-preview", "2024-02-01-preview"];
const APPROVAL_VERSIONS: &[&str] = &["2021-01-01-preview"];
const PAGE_SIZE: usize = 50;
const PROVIDER: &str = "/providers/microsoft.authorization/";

/// Whether a path is an ARM `Microsoft.Authorization` path.
pub(crate) fn is_arm_path(path: &str) -> bool {
    path.to_ascii_lowercase().contains(PROVIDER)
}

/// ARM's error body: `{"error": {"code", "message"}}`, no `innerError`.
fn error(route: &'static str, status: StatusCode, code: &str, message: impl Into<String>) -> Answer {
    Answer::json(route, status, json!({"error": {"code": code, "message": message.into()}}))
}

pub(crate) fn route(app: &App, call: &Call, path: &str) -> Answer {
    let lower = path.to_ascii_lowercase();
    let at = lower.find(PROVIDER).unwrap_or(0);
    let scope = path[..at].trim_end_matches('/').to_string();
    let rest: Vec<&str> = path[at + PROVIDER.len()..].split('/').filter(|s| !s.is_empty()).collect();
    let rest_lower: Vec<String> = rest.iter().map(|s| s.to_ascii_lowercase()).collect();
    let rest_lower: Vec<&str> = rest_lower.iter().map(String::as_str).collect();
    match (call.method, rest_lower.as_slice()) {
        (&Method::GET, ["roleassignmentschedulerequests"]) => list(app, call, &scope),
        (&Method::PUT, ["roleassignmentschedulerequests", _]) => create(app, call, &scope, rest[1]),
        (&Method::GET, ["roleassignmentapprovals", _]) => approval(app, call, rest[1], false),
        (&Method::GET, ["roleassignmentapprovals", _, "stages"]) => approval(app, call, rest[1], true),
        (&Method::GET, ["roleassignmentapprovals", _, "stages", _]) => stage(app, call, rest[1], rest[3]),
        (&Method::PATCH | &Method::PUT, ["roleassignmentapprovals", _, "stages", _]) => {
            decide(app, call, rest[1], rest[3])
        }
        _ => error(
            "{scope}/providers/Microsoft.Authorization/*",
            StatusCode::NOT_FOUND,
            "NoRegisteredProviderFound",
            format!("No route for {} {path}.", call.method),
        ),
    }
}

/// The ARM token check: audience `https://management.azure.com/`, a signed-in user, and the right
/// api-version for the route.
fn authorize(app: &App, call: &Call, route: &'static str, versions: &[&str]) -> Result<Caller, Answer> {
    let caller = app.minter.check(call.authorization(), token::ARM_AUDIENCE).map_err(|e| {
        let code =
            if e == token::TokenError::Expired { "ExpiredAuthenticationToken" } else { "InvalidAuthenticationToken" };
        error(route, StatusCode::UNAUTHORIZED, code, e.message())
    })?;
    if caller.app_only {
        return Err(error(
            route,
            StatusCode::FORBIDDEN,
            "AuthorizationFailed",
            "Approvals need a signed-in user; application tokens are not supported.",
        ));
    }
    match call.query.get("api-version") {
        None => Err(error(
            route,
            StatusCode::BAD_REQUEST,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )),
        Some(v) if !versions.contains(&v.as_str()) => Err(error(
            route,
            StatusCode::BAD_REQUEST,
            "InvalidApiVersionParameter",
            format!("The api-version '{v}' is invalid. The supported versions are '{}'.", versions.join(",")),
        )),
        Some(_) => Ok(caller),
    }
}

/// `scope` is at or under `ancestor` (the tenant root is everyone's ancestor).
fn under(scope: &str, ancestor: &str) -> bool {
    let (s, a) = (scope.to_ascii_lowercase(), ancestor.to_ascii_lowercase());
    a.is_empty() || s == a || s.starts_with(&format!("{a}/"))
}

fn list(app: &App, call: &Call, scope: &str) -> Answer {
    let caller = match authorize(app, call, LIST_ROUTE, LIST_VERSIONS) {
        Ok(c) => c,
        Err(a) => return a,
    };
    let filter = match call.query.get("$filter").map(|f| Filter::parse(f)) {
        None => Filter::None,
        Some(Ok(f)) => f,
        Some(Err(other)) => {
            return error(
                LIST_ROUTE,
                StatusCode::BAD_REQUEST,
                "InvalidFilter",
                format!("The filter '{other}' is not supported."),
            );
        }
    };
    let offset = match call.query.get("$skipToken") {
        None => 0,
        Some(s) => match s.parse::<usize>() {
            Ok(n) => n,
            Err(_) => return error(LIST_ROUTE, StatusCode::BAD_REQUEST, "InvalidSkipToken", "Invalid $skipToken."),
        },
    };
    let t = app.tenant();
    let matching: Vec<&Request> = t
        .requests
        .iter()
        .filter(|r| r.surface == Surface::Arm)
        .filter(
            |r| if filter == Filter::AtScope { r.scope.eq_ignore_ascii_case(scope) } else { under(&r.scope, scope) },
        )
        .filter(|r| match &filter {
            Filter::None | Filter::AtScope => true,
            // asApprover(): what waits on the caller's decision.
            Filter::AsApprover => r.is_pending() && r.has_approver(&caller.oid),
            Filter::AsRequestor => r.requestor_id.eq_ignore_ascii_case(&caller.oid),
            Filter::AsTarget => r.principal_id.eq_ignore_ascii_case(&caller.oid),
            Filter::Principal(p) => r.principal_id.eq_ignore_ascii_case(p),
        })
        .collect();
    let value: Vec<Value> = matching.iter().skip(offset).take(PAGE_SIZE).map(|r| render::request(&t, r)).collect();
    let mut body = json!({ "value": value });
    if offset + PAGE_SIZE < matching.len() {
        let mut q: Vec<String> = call
            .query
            .iter()
            .filter(|(k, _)| k.as_str() != "$skipToken")
            .map(|(k, v)| format!("{k}={}", v.replace(' ', "%20").replace('(', "%28").replace(')', "%29")))
            .collect();
        q.sort();
        q.push(format!("$skipToken={}", offset + PAGE_SIZE));
        body["nextLink"] = json!(format!(
            "{}{scope}/providers/Microsoft.Authorization/roleAssignmentScheduleRequests?{}",
            call.base,
            q.join("&")
        ));
    }
    Answer::json(LIST_ROUTE, StatusCode::OK, body)
}

fn approval(app: &App, call: &Call, id: &str, stages_only: bool) -> Answer {
    let route = if stages_only { STAGES_ROUTE } else { APPROVAL_ROUTE };
    let caller = match authorize(app, call, route, APPROVAL_VERSIONS) {
        Ok(c) => c,
        Err(a) => return a,
    };
    let distinct = app.forms().arm_stage_name_distinct;
    let mut t = app.tenant();
    let Some(i) = t.find_on(Surface::Arm, id).filter(|i| !t.replicating(*i, SystemTime::now())) else {
        return not_found(route, id);
    };
    Answer::json(route, StatusCode::OK, render::approval(&t, &t.requests[i], &caller.oid, stages_only, distinct))
}

fn not_found(route: &'static str, id: &str) -> Answer {
    error(route, StatusCode::NOT_FOUND, "RoleAssignmentApprovalNotFound", format!("The approval '{id}' was not found."))
}

fn stage(app: &App, call: &Call, id: &str, stage_id: &str) -> Answer {
    let caller = match authorize(app, call, STAGE_ROUTE, APPROVAL_VERSIONS) {
        Ok(c) => c,
        Err(a) => return a,
    };
    let distinct = app.forms().arm_stage_name_distinct;
    let mut t = app.tenant();
    let Some(i) = t.find_on(Surface::Arm, id).filter(|i| !t.replicating(*i, SystemTime::now())) else {
        return not_found(STAGE_ROUTE, id);
    };
    let r = &t.requests[i];
    match r.step_index(stage_id, false) {
        Some(si) => {
            Answer::json(STAGE_ROUTE, StatusCode::OK, render::stage(&t, &r.id, &r.steps[si], &caller.oid, distinct))
        }
        None => error(STAGE_ROUTE, StatusCode::NOT_FOUND, "RoleAssignmentApprovalNotFound", "The stage was not found."),
    }
}

fn decide(app: &App, call: &Call, id: &str, stage_id: &str) -> Answer {
    const R: &str = STAGE_ROUTE;
    let caller = match authorize(app, call, R, APPROVAL_VERSIONS) {
        Ok(c) => c,
        Err(a) => return a,
    };
    let forms = app.forms();
    // Sources disagree on the method and the body; the forms say which the emulator takes.
    if let Some(only) = &forms.arm_decision_method
        && !call.method.as_str().eq_ignore_ascii_case(only)
    {
        return error(
            R,
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!("The requested resource does not support http method '{}'.", call.method),
        );
    }
    let body: Value = match serde_json::from_slice(call.body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return error(
                R,
                StatusCode::BAD_REQUEST,
                "InvalidRequestContent",
                "The request content was invalid and could not be deserialized: it is not a JSON object.",
            );
        }
    };
    let wrapped = body.get("properties").filter(|p| p.is_object());
    let props = match forms.arm_decision_wrapped {
        None => wrapped.unwrap_or(&body),
        Some(true) => wrapped.unwrap_or(&Value::Null),
        Some(false) => &body,
    };
    let approve = match props.get("reviewResult").and_then(Value::as_str) {
        Some(v) if v.eq_ignore_ascii_case("approve") => true,
        Some(v) if v.eq_ignore_ascii_case("deny") => false,
        _ => {
            let where_ = match forms.arm_decision_wrapped {
                Some(true) => "properties.reviewResult",
                Some(false) => "reviewResult (at the top level)",
                None => "reviewResult",
            };
            return error(
                R,
                StatusCode::BAD_REQUEST,
                "InvalidRequestContent",
                format!("The request content was invalid: {where_} must be 'Approve' or 'Deny'."),
            );
        }
    };
    let justification = props.get("justification").and_then(Value::as_str).unwrap_or_default().to_string();
    if let Err(wait) = app.throttle.take(call.authorization().unwrap_or_default()) {
        let mut a = error(R, StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", "Too many requests; retry later.");
        a.retry_after = Some(format_retry_after(wait));
        return a;
    }
    let mut t = app.tenant();
    let Some(i) = t.find_on(Surface::Arm, id).filter(|i| !t.replicating(*i, SystemTime::now())) else {
        return not_found(R, id);
    };
    match t.apply_decision(i, stage_id, &caller.oid, approve, justification, false) {
        Ok(()) if forms.arm_decision_answer_empty => Answer::empty(R, StatusCode::OK),
        Ok(()) => {
            let r = &t.requests[i];
            match r.step_index(stage_id, false) {
                Some(si) => Answer::json(
                    R,
                    StatusCode::OK,
                    render::stage(&t, &r.id, &r.steps[si], &caller.oid, forms.arm_stage_name_distinct),
                ),
                None => error(R, StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError", "The stage vanished."),
            }
        }
        Err(refusal) => {
            // ARM's own codes (no Graph code on an ARM route).
            let (status, code, message) = match refusal {
                Refusal::NoStage(s) => {
                    (404, "RoleAssignmentApprovalNotFound".to_string(), format!("The stage '{s}' was not found."))
                }
                Refusal::NotApprover => (
                    403,
                    "AuthorizationFailed".to_string(),
                    format!("The client '{}' is not an approver of this stage.", caller.oid),
                ),
                Refusal::Expired => (
                    forms.arm_expiry_decision.status,
                    forms.arm_expiry_decision.code.clone(),
                    "The approval expired: it was not answered within 24 hours.".to_string(),
                ),
                Refusal::SelfApproval => (
                    forms.arm_self_approval.status,
                    forms.arm_self_approval.code.clone(),
                    "Approvers cannot approve or deny their own requests.".to_string(),
                ),
                Refusal::AlreadyDecided => (
                    409,
                    "Conflict".to_string(),
                    "The request has already been approved or denied by another approver in this stage.".to_string(),
                ),
            };
            error(R, StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), &code, message)
        }
    }
}

/// `PUT {scope}/providers/Microsoft.Authorization/roleAssignmentScheduleRequests/{name}` with
/// `{"properties": {"principalId", "roleDefinitionId", "requestType": "SelfActivate", ...}}`
/// (`PutRoleAssignmentScheduleRequest.json`): 201 with the request, pending for the tenant's
/// approvers. Eligibility is not modelled.
fn create(app: &App, call: &Call, scope: &str, name: &str) -> Answer {
    const R: &str = "{scope}/providers/Microsoft.Authorization/roleAssignmentScheduleRequests/{name}";
    let caller = match authorize(app, call, R, LIST_VERSIONS) {
        Ok(c) => c,
        Err(a) => return a,
    };
    let bad = |m: String| error(R, StatusCode::BAD_REQUEST, "InvalidRequestContent", m);
    let body: Value = match serde_json::from_slice(call.body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return bad("The request content was invalid and could not be deserialized.".into()),
    };
    let Some(p) = body.get("properties").filter(|p| p.is_object()) else {
        return bad("The request content was invalid: 'properties' is required.".into());
    };
    let text = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_string);
    let Some(request_type) = text("requestType") else {
        return bad("The request content was invalid: 'requestType' is required.".into());
    };
    if !request_type.eq_ignore_ascii_case("SelfActivate") {
        return bad(format!(
            "pim-emulator emulates only SelfActivate requests (the requester's side of an approval); '{request_type}' is not."
        ));
    }
    let (Some(principal), Some(role)) = (text("principalId"), text("roleDefinitionId")) else {
        return bad("The request content was invalid: 'principalId' and 'roleDefinitionId' are required.".into());
    };
    if !principal.eq_ignore_ascii_case(&caller.oid) {
        return error(
            R,
            StatusCode::FORBIDDEN,
            "AuthorizationFailed",
            format!("The client '{}' may not activate a role for another principal.", caller.oid),
        );
    }
    if scope.is_empty() {
        return bad("The request content was invalid: a role is activated at a scope.".into());
    }
    let expiration = p.pointer("/scheduleInfo/expiration").cloned().unwrap_or(Value::Null);
    let duration = expiration.get("duration").and_then(Value::as_str).map(str::to_string);
    let mut t = app.tenant();
    if t.find_on(Surface::Arm, name).is_some() {
        return error(
            R,
            StatusCode::CONFLICT,
            "RoleAssignmentScheduleRequestExists",
            format!("A role assignment schedule request named '{name}' already exists."),
        );
    }
    let guid = role.rsplit('/').next().unwrap_or_default().to_ascii_lowercase();
    let known = crate::state::ARM_ROLES.iter().find(|(g, _)| *g == guid).map(|(_, n)| n.to_string());
    let short: String = guid.chars().take(8).collect();
    t.arm_roles.entry(role.to_ascii_lowercase()).or_insert_with(|| match known {
        Some(n) => (n, "BuiltInRole".into()),
        None => (format!("Role {short}"), "CustomRole".into()),
    });
    let approvers = t.approvers();
    let justification = text("justification");
    let new = NewRequest {
        id: name.to_string(),
        principal_id: &principal,
        justification: justification.as_deref(),
        ticket: None,
        created: SystemTime::now(),
        duration: duration.as_deref(),
        approvers,
    };
    let r = t.add_pending(Target::AzureRole { scope, role_definition_id: role }, new);
    r.action = "SelfActivate".into();
    if let Some(ty) = expiration.get("type").and_then(Value::as_str) {
        r.expiration_type = ty.to_string();
    }
    r.end = expiration.get("endDateTime").and_then(Value::as_str).and_then(crate::time::parse_iso);
    r.start = p.pointer("/scheduleInfo/startDateTime").and_then(Value::as_str).and_then(crate::time::parse_iso);
    let ticket = |k: &str| p.pointer(&format!("/ticketInfo/{k}")).and_then(Value::as_str).map(str::to_string);
    r.ticket_number = ticket("ticketNumber");
    r.ticket_system = ticket("ticketSystem");
    let r = r.clone();
    Answer::json(R, StatusCode::CREATED, render::request(&t, &r))
}

/// The `$filter`s the stable spec lists for the list (`atScope()`, `principalId eq '{id}'`,
/// `asRequestor()`, `asTarget()`, `asApprover()`), and `assignedTo('{id}')` as its example uses.
#[derive(Debug, PartialEq, Eq)]
enum Filter {
    None,
    AtScope,
    AsApprover,
    AsRequestor,
    AsTarget,
    Principal(String),
}

impl Filter {
    fn parse(text: &str) -> Result<Filter, String> {
        let f = text.trim();
        let lower = f.to_ascii_lowercase();
        let quoted = |s: &str| s.trim().trim_matches('\'').to_string();
        Ok(match lower.as_str() {
            "" => Filter::None,
            "atscope()" => Filter::AtScope,
            "asapprover()" => Filter::AsApprover,
            "asrequestor()" => Filter::AsRequestor,
            "astarget()" => Filter::AsTarget,
            l if l.starts_with("principalid eq ") => Filter::Principal(quoted(&f["principalid eq ".len()..])),
            l if l.starts_with("assignedto(") && l.ends_with(')') => {
                Filter::Principal(quoted(&f["assignedto(".len()..f.len() - 1]))
            }
            _ => return Err(lower),
        })
    }
}

//! Azure Resource Manager routes for Azure resource roles: `roleAssignmentScheduleRequests` (list,
//! api-version 2020-10-01, `$filter=asApprover()`, `nextLink` paging) and `roleAssignmentApprovals`
//! with their stages (api-version 2021-01-01-preview, `PATCH` and `PUT`, either body form).
//!
//! This file is the route table, the token and api-version check and the handlers; `render` holds
//! the JSON.

mod render;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::answer::{Answer, Call, format_retry_after};
use crate::app::App;
use crate::state::{Refusal, Request, Surface};
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
    let filter = call.query.get("$filter").map(|f| f.trim().to_ascii_lowercase());
    let (as_approver, at_scope) = match filter.as_deref() {
        None | Some("") => (false, false),
        Some("asapprover()") => (true, false),
        Some("atscope()") => (false, true),
        Some(other) => {
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
        .filter(|r| if at_scope { r.scope.eq_ignore_ascii_case(scope) } else { under(&r.scope, scope) })
        // asApprover(): what waits on the caller's decision.
        .filter(|r| !as_approver || (r.is_pending() && r.has_approver(&caller.oid)))
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
    let t = app.tenant();
    let Some(i) = t.find_on(Surface::Arm, id) else {
        return error(
            route,
            StatusCode::NOT_FOUND,
            "RoleAssignmentApprovalNotFound",
            format!("The approval '{id}' was not found."),
        );
    };
    Answer::json(route, StatusCode::OK, render::approval(&t, &t.requests[i], &caller.oid, stages_only))
}

fn stage(app: &App, call: &Call, id: &str, stage_id: &str) -> Answer {
    let caller = match authorize(app, call, STAGE_ROUTE, APPROVAL_VERSIONS) {
        Ok(c) => c,
        Err(a) => return a,
    };
    let t = app.tenant();
    let found = t.find_on(Surface::Arm, id).map(|i| &t.requests[i]).and_then(|r| r.step(stage_id).map(|s| (r, s)));
    match found {
        Some((r, s)) => Answer::json(STAGE_ROUTE, StatusCode::OK, render::stage(&t, &r.id, s, &caller.oid)),
        None => error(STAGE_ROUTE, StatusCode::NOT_FOUND, "RoleAssignmentApprovalNotFound", "The stage was not found."),
    }
}

fn decide(app: &App, call: &Call, id: &str, stage_id: &str) -> Answer {
    const R: &str = STAGE_ROUTE;
    let caller = match authorize(app, call, R, APPROVAL_VERSIONS) {
        Ok(c) => c,
        Err(a) => return a,
    };
    let body: Value = match serde_json::from_slice(call.body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return error(
                R,
                StatusCode::BAD_REQUEST,
                "InvalidRequestContent",
                "The request body is not a JSON object.",
            );
        }
    };
    // Sources disagree on the body: accept both the top-level and the `properties`-wrapped form.
    let props = body.get("properties").filter(|p| p.is_object()).unwrap_or(&body);
    let approve = match props.get("reviewResult").and_then(Value::as_str) {
        Some(v) if v.eq_ignore_ascii_case("approve") => true,
        Some(v) if v.eq_ignore_ascii_case("deny") => false,
        _ => {
            return error(
                R,
                StatusCode::BAD_REQUEST,
                "InvalidRequestContent",
                "reviewResult must be 'Approve' or 'Deny'.",
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
    let Some(i) = t.find_on(Surface::Arm, id) else {
        return error(
            R,
            StatusCode::NOT_FOUND,
            "RoleAssignmentApprovalNotFound",
            format!("The approval '{id}' was not found."),
        );
    };
    match t.apply_decision(i, stage_id, &caller.oid, approve, justification) {
        Ok(()) => {
            let r = &t.requests[i];
            match r.step(stage_id) {
                Some(s) => Answer::json(R, StatusCode::OK, render::stage(&t, &r.id, s, &caller.oid)),
                None => error(R, StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError", "The stage vanished."),
            }
        }
        Err(Refusal(status, code, message)) => {
            error(R, StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), code, message)
        }
    }
}

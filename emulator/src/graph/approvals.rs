//! Reading an approval, its steps (stages) or one of them; the groups' approvals waiting on the
//! caller (`filterByCurrentUser(on='approver')`); and deciding one step: `PATCH` with
//! `{"reviewResult": "Approve"|"Deny", "justification"}`.

use std::time::SystemTime;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::list::next_link;
use super::render;
use super::spec::{GROUP, Spec, authorize};
use crate::answer::{Answer, Call};
use crate::app::App;
use crate::state::{Refusal, Surface};

/// What part of an approval a read asks for.
#[derive(Clone, Copy)]
pub(super) enum Part<'a> {
    Whole,
    Steps,
    Step(&'a str),
}

fn not_found(route: &'static str, id: &str) -> Answer {
    Answer::error(route, StatusCode::NOT_FOUND, "NotFound", format!("The approval '{id}' was not found."))
}

pub(super) fn get(app: &App, call: &Call, spec: &Spec, id: &str, part: Part) -> Answer {
    let route = match part {
        Part::Whole => spec.approval_route,
        Part::Steps => spec.steps_route,
        Part::Step(_) => spec.step_route,
    };
    let caller = match authorize(app, call, route, spec.read_approvals) {
        Ok(c) => c,
        Err(a) => return a,
    };
    let forms = app.forms();
    let mut t = app.tenant();
    let Some(i) = t.find_on(spec.surface, id) else {
        return not_found(route, id);
    };
    if t.replicating(i, SystemTime::now()) {
        return not_found(route, id);
    }
    let version = call.segments[0].as_str();
    let beta = version == "beta";
    let ctx = format!("{}/{version}/$metadata#{}", call.base, spec.approvals_set);
    let r = &t.requests[i];
    let word = render::steps_word(r.surface, beta, &forms);
    match part {
        Part::Whole => {
            Answer::json(route, StatusCode::OK, render::approval(&t, r, &caller.oid, &forms, beta, Some(&ctx)))
        }
        Part::Steps => {
            let steps: Vec<Value> = r.steps.iter().map(|s| render::step(&t, r, s, &caller.oid, &forms, beta)).collect();
            Answer::json(
                route,
                StatusCode::OK,
                json!({"@odata.context": format!("{ctx}('{}')/{word}", r.id), "value": steps}),
            )
        }
        Part::Step(step_id) => match r.step_index(step_id, forms.group_stage_id_is_approval_id) {
            Some(si) => {
                let mut v = json!({"@odata.context": format!("{ctx}('{}')/{word}/$entity", r.id)});
                if let (Some(a), Value::Object(b)) =
                    (v.as_object_mut(), render::step(&t, r, &r.steps[si], &caller.oid, &forms, beta))
                {
                    a.extend(b);
                }
                Answer::json(route, StatusCode::OK, v)
            }
            None => {
                Answer::error(route, StatusCode::NOT_FOUND, "NotFound", format!("The stage '{step_id}' was not found."))
            }
        },
    }
}

/// `GET .../group/assignmentApprovals/filterByCurrentUser(on='approver')`: every group approval
/// the caller is an approver of (decided ones too), 50 a page (`$top` 1–999).
pub(super) fn mine(app: &App, call: &Call, segment: &str) -> Answer {
    const ROUTE: &str =
        "/{ver}/identityGovernance/privilegedAccess/group/assignmentApprovals/filterByCurrentUser(on='approver')";
    let caller = match authorize(app, call, ROUTE, GROUP.read_approvals) {
        Ok(c) => c,
        Err(a) => return a,
    };
    let on = segment.to_ascii_lowercase().replace(' ', "");
    if on != "filterbycurrentuser(on='approver')" {
        return Answer::error(
            ROUTE,
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("The function parameter in '{segment}' is not supported; use on='approver'."),
        );
    }
    let page_size = match call.query.get("$top").map(|t| t.parse::<usize>()) {
        None => 50,
        Some(Ok(n)) if (1..=999).contains(&n) => n,
        Some(_) => return Answer::error(ROUTE, StatusCode::BAD_REQUEST, "BadRequest", "Invalid $top value."),
    };
    let offset = match call.query.get("$skiptoken").map(|s| s.strip_prefix("offset-").and_then(|n| n.parse().ok())) {
        None => 0,
        Some(Some(n)) => n,
        Some(None) => return Answer::error(ROUTE, StatusCode::BAD_REQUEST, "BadRequest", "Invalid $skiptoken."),
    };
    let forms = app.forms();
    let beta = call.segments[0] == "beta";
    let t = app.tenant();
    let mine: Vec<_> =
        t.requests.iter().filter(|r| r.surface == Surface::Group && r.has_approver(&caller.oid)).collect();
    let value: Vec<Value> = mine
        .iter()
        .skip(offset)
        .take(page_size)
        .map(|r| render::approval(&t, r, &caller.oid, &forms, beta, None))
        .collect();
    let mut body = json!({
        "@odata.context": format!("{}/{}/$metadata#Collection(approval)", call.base, call.segments[0]),
        "value": value,
    });
    if offset + page_size < mine.len() {
        body["@odata.nextLink"] = json!(next_link(call, offset + page_size));
    }
    Answer::json(ROUTE, StatusCode::OK, body)
}

pub(super) fn decide(app: &App, call: &Call, spec: &Spec, id: &str, step_id: &str) -> Answer {
    let r = spec.step_route;
    let caller = match authorize(app, call, r, spec.decide) {
        Ok(c) => c,
        Err(a) => return a,
    };
    let body: Value = match serde_json::from_slice(call.body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return Answer::error(r, StatusCode::BAD_REQUEST, "BadRequest", "The request body is not a JSON object."),
    };
    let entity = if call.segments[0] == "beta" { "approvalStep" } else { "approvalStage" };
    for key in body.as_object().map(|o| o.keys()).into_iter().flatten() {
        if key != "reviewResult" && key != "justification" && key != "@odata.type" {
            return Answer::error(
                r,
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!("Invalid property '{key}' on type 'microsoft.graph.{entity}'."),
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
    if let Err(wait) = app.throttle.take(call.authorization().unwrap_or_default()) {
        return Answer::throttled(r, wait);
    }
    let forms = app.forms();
    let mut t = app.tenant();
    let Some(i) = t.find_on(spec.surface, id) else {
        return not_found(r, id);
    };
    if t.replicating(i, SystemTime::now()) {
        return not_found(r, id);
    }
    match t.apply_decision(i, step_id, &caller.oid, approve, justification, forms.group_stage_id_is_approval_id) {
        Ok(()) => Answer::empty(r, StatusCode::NO_CONTENT),
        Err(refusal) => {
            let (status, code, message) = match refusal {
                Refusal::NoStage(s) => (404, "NotFound".to_string(), format!("The stage '{s}' was not found.")),
                Refusal::NotApprover => (
                    403,
                    "Authorization_RequestDenied".to_string(),
                    "The caller is not an approver of this stage.".to_string(),
                ),
                Refusal::Expired => (
                    forms.expiry_decision.status,
                    forms.expiry_decision.code.clone(),
                    "The approval expired: it was not answered within 24 hours.".to_string(),
                ),
                Refusal::SelfApproval => (
                    forms.self_approval.status,
                    forms.self_approval.code.clone(),
                    "Approvers cannot approve or deny their own requests.".to_string(),
                ),
                Refusal::AlreadyDecided => (
                    409,
                    "Conflict".to_string(),
                    "The request has already been approved or denied by another approver in this stage.".to_string(),
                ),
            };
            Answer::error(r, StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), &code, message)
        }
    }
}

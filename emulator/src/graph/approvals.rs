//! Reading an approval with its steps (stages), and deciding one step: `PATCH` with
//! `{"reviewResult": "Approve"|"Deny", "justification"}`.

use axum::http::StatusCode;
use serde_json::Value;

use super::render;
use super::spec::{Spec, authorize, stage_word};
use crate::answer::{Answer, Call};
use crate::app::App;
use crate::state::{Refusal, Surface};

pub(super) fn get(app: &App, call: &Call, spec: &Spec, id: &str, steps_only: bool) -> Answer {
    let route = if steps_only { spec.steps_route } else { spec.approval_route };
    let caller = match authorize(app, call, route, spec.read_approvals) {
        Ok(c) => c,
        Err(a) => return a,
    };
    let t = app.tenant();
    let Some(i) = t.find_on(spec.surface, id) else {
        return Answer::error(route, StatusCode::NOT_FOUND, "NotFound", format!("The approval '{id}' was not found."));
    };
    let version = &call.segments[0];
    let word = if spec.surface == Surface::Directory { "steps" } else { stage_word(version == "beta") };
    let ctx = format!("{}/{version}/$metadata#approvals", call.base);
    Answer::json(route, StatusCode::OK, render::approval(&t, &t.requests[i], &caller.oid, &ctx, word, steps_only))
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
    if let Err(wait) = app.throttle.take(call.authorization().unwrap_or_default()) {
        return Answer::throttled(r, wait);
    }
    let mut t = app.tenant();
    let Some(i) = t.find_on(spec.surface, id) else {
        return Answer::error(r, StatusCode::NOT_FOUND, "NotFound", format!("The approval '{id}' was not found."));
    };
    match t.apply_decision(i, step_id, &caller.oid, approve, justification) {
        Ok(()) => Answer::empty(r, StatusCode::NO_CONTENT),
        Err(Refusal(status, code, message)) => {
            Answer::error(r, StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), code, message)
        }
    }
}

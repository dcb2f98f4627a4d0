//! Microsoft Graph routes for Entra directory roles and PIM for Groups: listing schedule requests
//! and deciding approvals (directory roles: beta `steps`; groups: v1.0 `stages`, beta `steps`).
//!
//! This file is the route table; `spec` holds what differs by surface and the token check,
//! `list` the request collections, `approvals` reading and deciding approvals, `render` the JSON.

mod approvals;
mod list;
mod render;
mod spec;

use axum::http::{Method, StatusCode};

use crate::answer::{Answer, Call};
use crate::app::App;
use spec::{DIRECTORY, GROUP, stage_word};

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
            list::requests(app, call, &DIRECTORY, false)
        }
        (&Method::GET, ["roleManagement", "directory", "roleAssignmentScheduleRequests", f]) if is_mine(f) => {
            list::requests(app, call, &DIRECTORY, true)
        }
        (_, ["roleManagement", "directory", "roleAssignmentApprovals", ..]) if !beta => Answer::error(
            DIRECTORY.approval_route,
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Resource not found for the segment 'roleAssignmentApprovals'.",
        ),
        (&Method::GET, ["roleManagement", "directory", "roleAssignmentApprovals", id]) => {
            approvals::get(app, call, &DIRECTORY, id, false)
        }
        (&Method::GET, ["roleManagement", "directory", "roleAssignmentApprovals", id, "steps"]) => {
            approvals::get(app, call, &DIRECTORY, id, true)
        }
        (&Method::PATCH, ["roleManagement", "directory", "roleAssignmentApprovals", id, "steps", step]) => {
            approvals::decide(app, call, &DIRECTORY, id, step)
        }
        (&Method::GET, [a, b, c, "assignmentScheduleRequests"]) if [*a, *b, *c] == group => {
            list::requests(app, call, &GROUP, false)
        }
        (&Method::GET, [a, b, c, "assignmentScheduleRequests", f]) if [*a, *b, *c] == group && is_mine(f) => {
            list::requests(app, call, &GROUP, true)
        }
        (&Method::GET, [a, b, c, "assignmentApprovals", id]) if [*a, *b, *c] == group => {
            approvals::get(app, call, &GROUP, id, false)
        }
        // v1.0 calls them stages, beta steps; each version knows only its own word.
        (&Method::GET, [a, b, c, "assignmentApprovals", id, kind])
            if [*a, *b, *c] == group && *kind == stage_word(beta) =>
        {
            approvals::get(app, call, &GROUP, id, true)
        }
        (&Method::PATCH, [a, b, c, "assignmentApprovals", id, kind, step])
            if [*a, *b, *c] == group && *kind == stage_word(beta) =>
        {
            approvals::decide(app, call, &GROUP, id, step)
        }
        _ => Answer::error(
            "/*",
            StatusCode::NOT_FOUND,
            "UnknownError",
            format!("No route for {} {}.", call.method, call.segments.join("/")),
        ),
    }
}

fn is_mine(segment: &str) -> bool {
    segment.eq_ignore_ascii_case("filterByCurrentUser(on='approver')")
}

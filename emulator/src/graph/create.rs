//! The requester's side: `POST .../roleAssignmentScheduleRequests` and
//! `POST .../group/assignmentScheduleRequests` with `action: selfActivate`
//! (`rbacapplication-post-roleassignmentschedulerequests.md` Example 2,
//! `privilegedaccessgroup-post-assignmentschedulerequests.md` Example 2). The new request waits on
//! the tenant's approvers (the default approver and Lynne Robbins), visible to them through
//! `filterByCurrentUser(on='approver')`. Eligibility is not modelled: any user may ask for any role
//! or group; unknown roles and groups get placeholder names, as in seed files.

use std::time::SystemTime;

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::render::{self, Expand};
use super::spec::{Spec, authorize};
use crate::answer::{Answer, Call};
use crate::app::App;
use crate::state::{NewRequest, Surface, Target};
use crate::time::parse_iso;

/// The properties a request body may carry, by surface (lower case).
const COMMON: &[&str] = &[
    "@odata.type",
    "action",
    "principalid",
    "justification",
    "scheduleinfo",
    "ticketinfo",
    "customdata",
    "isvalidationonly",
];
const DIRECTORY_ONLY: &[&str] = &["roledefinitionid", "directoryscopeid", "appscopeid"];
const GROUP_ONLY: &[&str] = &["groupid", "accessid"];

pub(super) fn request(app: &App, call: &Call, spec: &Spec) -> Answer {
    let route = spec.list_route;
    let caller = match authorize(app, call, route, spec.create) {
        Ok(c) => c,
        Err(a) => return a,
    };
    let bad = |m: String| Answer::error(route, StatusCode::BAD_REQUEST, "BadRequest", m);
    let body = match serde_json::from_slice::<Value>(call.body) {
        Ok(Value::Object(m)) => m,
        _ => return bad("The request body is not a JSON object.".into()),
    };
    let own = if spec.surface == Surface::Group { GROUP_ONLY } else { DIRECTORY_ONLY };
    for key in body.keys() {
        let k = key.to_ascii_lowercase();
        if !COMMON.contains(&k.as_str()) && !own.contains(&k.as_str()) {
            return bad(format!("Invalid property '{key}' on type 'microsoft.graph.{}'.", spec.entity));
        }
    }
    let get = |k: &str| body.iter().find(|(key, _)| key.eq_ignore_ascii_case(k)).map(|(_, v)| v);
    let text = |k: &str| get(k).and_then(Value::as_str).map(str::to_string);
    let Some(action) = text("action") else {
        return bad("The property 'action' is required.".into());
    };
    if !action.eq_ignore_ascii_case("selfActivate") {
        return bad(format!(
            "pim-emulator emulates only selfActivate requests (the requester's side of an approval); '{action}' is not."
        ));
    }
    let Some(principal) = text("principalId") else {
        return bad("The property 'principalId' is required.".into());
    };
    if !principal.eq_ignore_ascii_case(&caller.oid) {
        return Answer::error(
            route,
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "A selfActivate request must be made by its principal.",
        );
    }
    let Some(schedule) = get("scheduleInfo").filter(|v| v.is_object()) else {
        return bad("The property 'scheduleInfo' is required.".into());
    };
    let expiration = schedule.get("expiration").cloned().unwrap_or(Value::Null);
    let exp_type = expiration.get("type").and_then(Value::as_str).unwrap_or("notSpecified").to_string();
    if !["afterDuration", "afterDateTime", "noExpiration", "notSpecified"]
        .iter()
        .any(|t| t.eq_ignore_ascii_case(&exp_type))
    {
        return bad(format!("'{exp_type}' is not an expirationPatternType."));
    }
    let duration = expiration.get("duration").and_then(Value::as_str).map(str::to_string);
    let end = expiration.get("endDateTime").and_then(Value::as_str).and_then(parse_iso);
    let start = schedule.get("startDateTime").and_then(Value::as_str).and_then(parse_iso);
    let justification = text("justification");
    let ticket = get("ticketInfo").map(|t| {
        let s = |k: &str| t.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
        (s("ticketSystem"), s("ticketNumber"))
    });

    let mut t = app.tenant();
    let id = uuid::Uuid::new_v4().to_string();
    let approvers = t.approvers();
    let target_ids = match spec.surface {
        Surface::Group => {
            let Some(group_id) = text("groupId") else {
                return bad("The property 'groupId' is required.".into());
            };
            let access = text("accessId").unwrap_or_default().to_ascii_lowercase();
            if access != "member" && access != "owner" {
                return bad("The property 'accessId' must be 'member' or 'owner'.".into());
            }
            let short: String = group_id.chars().take(8).collect();
            t.groups.entry(group_id.clone()).or_insert_with(|| format!("Group {short}"));
            (group_id, access)
        }
        _ => {
            let Some(role_id) = text("roleDefinitionId") else {
                return bad("The property 'roleDefinitionId' is required.".into());
            };
            let Some(scope) = text("directoryScopeId").or_else(|| text("appScopeId")) else {
                return bad("Either 'directoryScopeId' or 'appScopeId' is required.".into());
            };
            let short: String = role_id.chars().take(8).collect();
            t.roles.entry(role_id.clone()).or_insert_with(|| format!("Role {short}"));
            (role_id, scope)
        }
    };
    let target = match spec.surface {
        Surface::Group => Target::Group { group_id: &target_ids.0, access_id: &target_ids.1 },
        _ => Target::DirectoryRole { role_id: &target_ids.0, scope: &target_ids.1 },
    };
    let new = NewRequest {
        id,
        principal_id: &principal,
        justification: justification.as_deref(),
        ticket: None,
        created: SystemTime::now(),
        duration: duration.as_deref(),
        approvers,
    };
    let r = t.add_pending(target, new);
    r.action = action;
    r.expiration_type = exp_type;
    r.end = end;
    r.start = start;
    if let Some((system, number)) = ticket {
        r.ticket_system = system;
        r.ticket_number = number;
    }
    let r = r.clone();
    let mut v = json!({"@odata.context": format!("{}/{}/$metadata#{}/$entity", call.base, call.segments[0], spec.requests_set)});
    if let (Some(a), Value::Object(b)) = (v.as_object_mut(), render::request(&t, &r, Expand::default())) {
        a.extend(b);
    }
    Answer::json(route, StatusCode::CREATED, v)
}

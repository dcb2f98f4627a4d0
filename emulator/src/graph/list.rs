//! The schedule-request collections: `$filter` (`eq`, `ne`, `and`), `$expand`, `$top` and
//! `$skiptoken` paging with `@odata.nextLink`, and `filterByCurrentUser(on='approver')`.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::render;
use super::spec::{Spec, authorize};
use crate::answer::{Answer, Call};
use crate::app::App;
use crate::odata;
use crate::state::{Request, Surface};

/// Default page size: small, so that every client exercises paging.
const PAGE_SIZE: usize = 50;

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

pub(super) fn requests(app: &App, call: &Call, spec: &Spec, approver_only: bool) -> Answer {
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
        .filter(|r| !approver_only || r.has_approver(&caller.oid))
        .filter(|r| clauses.iter().all(|c| field(r, &c.field).eq_ignore_ascii_case(&c.value) != c.negate))
        .collect();
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(page_size)
        .map(|r| match spec.surface {
            Surface::Group => render::group_request(&t, r, expand_target, expand_principal),
            _ => render::directory_request(&t, r, expand_principal, expand_target),
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

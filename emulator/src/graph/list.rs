//! The schedule-request collections: `$filter` (`eq`, `ne`, `and`), `$select`, `$expand`, `$top`
//! and `$skiptoken` paging with `@odata.nextLink`; `filterByCurrentUser(on='approver'|'principal')`;
//! and one request by its id.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::render::{self, Expand};
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

/// Which requests a list holds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Mine {
    /// The whole collection.
    No,
    /// `filterByCurrentUser(on='approver')`: those the caller may decide.
    Approver,
    /// `filterByCurrentUser(on='principal')`: the caller's own.
    Principal,
}

/// The function segment's `on`: `approver` or `principal` (the two the pages call supported;
/// `createdBy` and `unknownFutureValue` are listed but not supported).
pub(super) fn mine(segment: &str) -> Result<Mine, Answer> {
    let arg = segment.split_once('(').map(|(_, a)| a.trim_end_matches(')')).unwrap_or_default();
    let on = arg.split_once('=').map(|(k, v)| (k.trim(), v.trim().trim_matches('\''))).unwrap_or(("", ""));
    match on {
        (k, v) if k.eq_ignore_ascii_case("on") && v.eq_ignore_ascii_case("approver") => Ok(Mine::Approver),
        (k, v) if k.eq_ignore_ascii_case("on") && v.eq_ignore_ascii_case("principal") => Ok(Mine::Principal),
        _ => Err(Answer::error(
            "",
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("The function parameter in '{segment}' is not supported; use on='approver' or on='principal'."),
        )),
    }
}

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

fn bad(route: &'static str, message: impl Into<String>) -> Answer {
    Answer::error(route, StatusCode::BAD_REQUEST, "BadRequest", message)
}

/// The OData query-option refusal as ASP.NET OData words it (the emulator's choice: no page shows
/// the service refusing these options).
fn option_refused(route: &'static str, option: &str) -> Answer {
    bad(
        route,
        format!(
            "The query specified in the URI is not valid. Query option '{option}' is not allowed. To allow it, \
             set the 'AllowedQueryOptions' property on EnableQueryAttribute or QueryValidationSettings."
        ),
    )
}

/// Parses `$expand` for a surface; the error is the answer.
fn expand(call: &Call, spec: &Spec, route: &'static str) -> Result<(Expand, Vec<String>), Answer> {
    let mut e = Expand::default();
    let mut names = Vec::new();
    let Some(text) = call.query.get("$expand") else {
        return Ok((e, names));
    };
    for item in text.split(',').map(|e| e.split('(').next().unwrap_or("").trim()).filter(|s| !s.is_empty()) {
        let lower = item.to_ascii_lowercase();
        let (flag, name) = match (spec.surface, lower.as_str()) {
            (_, "principal") => (&mut e.principal, "principal"),
            (Surface::Directory, "roledefinition") => (&mut e.target, "roleDefinition"),
            (Surface::Group, "group") => (&mut e.target, "group"),
            (_, "activatedusing") => (&mut e.activated_using, "activatedUsing"),
            (_, "targetschedule") => (&mut e.target_schedule, "targetSchedule"),
            (Surface::Directory, "directoryscope") => (&mut e.directory_scope, "directoryScope"),
            (Surface::Directory, "appscope") => (&mut e.app_scope, "appScope"),
            _ => {
                return Err(bad(
                    route,
                    format!("Could not find a property named '{item}' on type 'microsoft.graph.{}'.", spec.entity),
                ));
            }
        };
        *flag = true;
        names.push(name.to_string());
    }
    Ok((e, names))
}

/// `$select=a,b`: the properties kept (`None`: all).
fn select(call: &Call) -> Option<Vec<String>> {
    call.query.get("$select").map(|s| s.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect())
}

/// Keeps only the selected properties (names without case), the expanded ones and annotations.
fn apply_select(v: Value, keep: &[String], expanded: &[String]) -> Value {
    let Value::Object(m) = v else { return v };
    let mut out = Map::new();
    for (k, val) in m {
        let wanted = k.starts_with('@')
            || keep.iter().any(|s| s.eq_ignore_ascii_case(&k))
            || expanded.iter().any(|s| s.eq_ignore_ascii_case(&k));
        if wanted {
            out.insert(k, val);
        }
    }
    Value::Object(out)
}

/// The context URL of a collection: `#set` or, with `$select`/`$expand`, `#set(a,b,nav())` as the
/// published list with both shows (`list-v1.0-expand.json`).
fn set_context(base: &str, version: &str, set: &str, keep: Option<&[String]>, expanded: &[String]) -> String {
    let mut parts: Vec<String> = keep.unwrap_or_default().to_vec();
    parts.extend(expanded.iter().map(|e| format!("{e}()")));
    if parts.is_empty() {
        format!("{base}/{version}/$metadata#{set}")
    } else {
        format!("{base}/{version}/$metadata#{set}({})", parts.join(","))
    }
}

pub(super) fn requests(app: &App, call: &Call, spec: &Spec, mine: Mine) -> Answer {
    let route = if mine == Mine::No { spec.list_route } else { spec.mine_route };
    let caller = match authorize(app, call, route, spec.read_requests) {
        Ok(c) => c,
        Err(a) => return a,
    };
    let forms = app.forms();
    if mine != Mine::No {
        // Whether the functions take $expand and $top is published nowhere: a form says.
        let (expand_refused, top_refused) = match spec.surface {
            Surface::Group => (forms.groups_expand_refused, forms.groups_top_refused),
            _ => (forms.roles_expand_refused, forms.roles_top_refused),
        };
        if expand_refused && call.query.contains_key("$expand") {
            return option_refused(route, "Expand");
        }
        if top_refused && call.query.contains_key("$top") {
            return option_refused(route, "Top");
        }
    }
    let clauses = match call.query.get("$filter").map(|f| odata::parse_filter(f)) {
        None => Vec::new(),
        Some(Ok(c)) => c,
        Some(Err(msg)) => return bad(route, msg),
    };
    // Like Graph, the plain Groups collection needs a groupId or principalId filter.
    if spec.surface == Surface::Group
        && mine == Mine::No
        && !clauses.iter().any(|c| ["groupid", "principalid"].contains(&c.field.to_ascii_lowercase().as_str()))
    {
        return bad(
            route,
            "Filter on groupId or principalId is required when listing group assignment schedule requests.",
        );
    }
    let (e, expanded) = match expand(call, spec, route) {
        Ok(x) => x,
        Err(a) => return a,
    };
    let keep = select(call);
    let page_size = match call.query.get("$top").map(|t| t.parse::<usize>()) {
        None => PAGE_SIZE,
        Some(Ok(n)) if (1..=999).contains(&n) => n,
        Some(_) => return bad(route, "Invalid $top value."),
    };
    let offset = match call.query.get("$skiptoken") {
        None => 0,
        Some(s) => match s.strip_prefix("offset-").and_then(|n| n.parse::<usize>().ok()) {
            Some(n) => n,
            None => return bad(route, "Invalid $skiptoken."),
        },
    };
    for c in &clauses {
        if !FILTERABLE.contains(&c.field.to_ascii_lowercase().as_str()) {
            return bad(route, format!("Invalid filter clause: property '{}' cannot be filtered.", c.field));
        }
    }
    let t = app.tenant();
    let matching: Vec<&Request> = t
        .requests
        .iter()
        .filter(|r| r.surface == spec.surface)
        .filter(|r| match mine {
            Mine::No => true,
            Mine::Approver => r.has_approver(&caller.oid),
            Mine::Principal => r.principal_id == caller.oid,
        })
        .filter(|r| clauses.iter().all(|c| field(r, &c.field).eq_ignore_ascii_case(&c.value) != c.negate))
        .collect();
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(page_size)
        .map(|r| {
            let mut v = render::request(&t, r, e);
            if mine == Mine::Approver || (mine == Mine::Principal && spec.surface == Surface::Group) {
                // As the published function answers show: each item names its type (the
                // directory roles' on='principal' example does not).
                let mut typed = json!({"@odata.type": format!("#microsoft.graph.{}", spec.entity)});
                if let (Some(a), Value::Object(b)) = (typed.as_object_mut(), v) {
                    a.extend(b);
                }
                v = typed;
            }
            match &keep {
                Some(k) => apply_select(v, k, &expanded),
                None => v,
            }
        })
        .collect();
    let version = &call.segments[0];
    // The functions' context is `Collection(type)` (the Entra approver example); a collection's is
    // its path (the article, the gdc list pages).
    // (`on='principal'` as its gdc example shows: the collection's path).
    let ctx = match mine {
        Mine::Approver => format!("{}/{}/$metadata#Collection({})", call.base, version, spec.entity),
        Mine::No | Mine::Principal => set_context(&call.base, version, spec.requests_set, keep.as_deref(), &expanded),
    };
    let mut body = json!({"@odata.context": ctx, "value": page});
    if offset + page_size < matching.len() {
        body["@odata.nextLink"] = json!(next_link(call, offset + page_size));
    }
    Answer::json(route, StatusCode::OK, body)
}

/// `GET .../{id}`: one request (`$select`, `$expand`), context `#set/$entity` as published.
pub(super) fn one(app: &App, call: &Call, spec: &Spec, id: &str) -> Answer {
    let route = spec.get_route;
    if let Err(a) = authorize(app, call, route, spec.read_requests) {
        return a;
    }
    let (e, expanded) = match expand(call, spec, route) {
        Ok(x) => x,
        Err(a) => return a,
    };
    let keep = select(call);
    let t = app.tenant();
    let Some(i) = t.find_on(spec.surface, id) else {
        return Answer::error(route, StatusCode::NOT_FOUND, "NotFound", format!("The request '{id}' was not found."));
    };
    let mut v = json!({"@odata.context": format!("{}/{}/$metadata#{}/$entity", call.base, call.segments[0], spec.requests_set)});
    if let (Some(a), Value::Object(b)) = (v.as_object_mut(), render::request(&t, &t.requests[i], e)) {
        a.extend(b);
    }
    let v = match &keep {
        Some(k) => apply_select(v, k, &expanded),
        None => v,
    };
    Answer::json(route, StatusCode::OK, v)
}

/// The same URL with `$skiptoken` moved on, encoded as Graph encodes its links.
pub(super) fn next_link(call: &Call, offset: usize) -> String {
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

//! The directory look-ups that PIM scripts make around the approval routes, served from the
//! tenant: `users/{id}`, `groups/{id}`, `directoryObjects/{id}`, `directoryObjects/getByIds`,
//! `roleManagement/directory/roleDefinitions/{id}` and `directoryRoles/{id}` or
//! `directoryRoles(roleTemplateId='...')`. Each checks its documented delegated scopes, as the PIM
//! routes do.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::render;
use super::spec::authorize;
use crate::answer::{Answer, Call};
use crate::app::App;
use crate::state::Tenant;

const USER_READ: &[&str] =
    &["User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"];
const GROUP_READ: &[&str] =
    &["GroupMember.Read.All", "Group.Read.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"];
const OBJECT_READ: &[&str] = &["Directory.Read.All", "Directory.ReadWrite.All"];
const ROLE_READ: &[&str] = &[
    "RoleManagement.Read.Directory",
    "RoleManagement.Read.All",
    "RoleManagement.ReadWrite.Directory",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];

/// Most ids `getByIds` takes in one call.
const MAX_IDS: usize = 1000;

/// The 404 users report for a directory object that does not exist
/// (`microsoftgraph/microsoft-graph-docs#6059`).
fn not_found(route: &'static str, id: &str) -> Answer {
    Answer::error(
        route,
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
    )
}

fn context(call: &Call, what: &str) -> Value {
    json!(format!("{}/{}/$metadata#{what}", call.base, call.segments[0]))
}

fn with_context(ctx: Value, body: Value) -> Value {
    let mut v = json!({"@odata.context": ctx});
    if let (Some(a), Value::Object(b)) = (v.as_object_mut(), body) {
        a.extend(b);
    }
    v
}

/// A user by id or user principal name.
fn find_user<'a>(t: &'a Tenant, key: &str) -> Option<&'a crate::state::User> {
    t.users
        .get(key)
        .or_else(|| t.users.values().find(|u| u.id.eq_ignore_ascii_case(key) || u.upn.eq_ignore_ascii_case(key)))
}

/// `GET /users/{id | userPrincipalName}` (a user may also read themself with `User.Read`).
pub(super) fn user(app: &App, call: &Call, key: &str) -> Answer {
    const ROUTE: &str = "/{ver}/users/{id}";
    let t = app.tenant();
    let own = find_user(&t, key).map(|u| u.id.clone());
    drop(t);
    let caller = match authorize(app, call, ROUTE, &[USER_READ, &["User.Read"]].concat()) {
        Ok(c) => c,
        Err(a) => return a,
    };
    let is_self = own.as_deref() == Some(caller.oid.as_str());
    if !is_self && !caller.has_any_scope(USER_READ) {
        return Answer::error(
            ROUTE,
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        );
    }
    let t = app.tenant();
    match find_user(&t, key) {
        Some(u) => Answer::json(ROUTE, StatusCode::OK, with_context(context(call, "users/$entity"), render::user(u))),
        None => not_found(ROUTE, key),
    }
}

/// `GET /groups/{id}`.
pub(super) fn group(app: &App, call: &Call, id: &str) -> Answer {
    const ROUTE: &str = "/{ver}/groups/{id}";
    if let Err(a) = authorize(app, call, ROUTE, GROUP_READ) {
        return a;
    }
    let t = app.tenant();
    match t.groups.iter().find(|(g, _)| g.eq_ignore_ascii_case(id)) {
        Some((g, name)) => {
            Answer::json(ROUTE, StatusCode::OK, with_context(context(call, "groups/$entity"), render::group(g, name)))
        }
        None => not_found(ROUTE, id),
    }
}

/// A user or group as a `directoryObject`: `@odata.type` says which (`directoryobject-get-v1.0.json`).
fn find_object(t: &Tenant, base: &str, id: &str) -> Option<(&'static str, Value)> {
    let odata_id = |kind: &str, id: &str| {
        json!(format!("{base}/v2/{}/directoryObjects/{id}/Microsoft.DirectoryServices.{kind}", t.tenant_id))
    };
    if let Some(u) = t.users.values().find(|u| u.id.eq_ignore_ascii_case(id)) {
        let v = json!({"@odata.type": "#microsoft.graph.user", "@odata.id": odata_id("User", &u.id)});
        return Some(("user", merge(v, render::user(u))));
    }
    if let Some((g, name)) = t.groups.iter().find(|(g, _)| g.eq_ignore_ascii_case(id)) {
        let v = json!({"@odata.type": "#microsoft.graph.group", "@odata.id": odata_id("Group", g)});
        return Some(("group", merge(v, render::group(g, name))));
    }
    None
}

fn merge(mut a: Value, b: Value) -> Value {
    if let (Some(m), Value::Object(b)) = (a.as_object_mut(), b) {
        m.extend(b);
    }
    a
}

/// `GET /directoryObjects/{id}`.
pub(super) fn object(app: &App, call: &Call, id: &str) -> Answer {
    const ROUTE: &str = "/{ver}/directoryObjects/{id}";
    if let Err(a) = authorize(app, call, ROUTE, OBJECT_READ) {
        return a;
    }
    let t = app.tenant();
    match find_object(&t, &call.base, id) {
        Some((_, v)) => Answer::json(ROUTE, StatusCode::OK, with_context(context(call, "directoryObjects/$entity"), v)),
        None => not_found(ROUTE, id),
    }
}

/// `POST /directoryObjects/getByIds` with `{"ids": [...], "types": [...]}`: up to 1,000 ids; the
/// objects found, in the order asked (unknown ids are left out); `types` (optional) keeps only
/// those types.
pub(super) fn get_by_ids(app: &App, call: &Call) -> Answer {
    const ROUTE: &str = "/{ver}/directoryObjects/getByIds";
    if let Err(a) = authorize(app, call, ROUTE, OBJECT_READ) {
        return a;
    }
    let bad = |m: String| Answer::error(ROUTE, StatusCode::BAD_REQUEST, "Request_BadRequest", m);
    let body: Value = match serde_json::from_slice(call.body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return bad("The request body is not a JSON object.".into()),
    };
    let Some(ids) = body.get("ids").and_then(Value::as_array) else {
        return bad("The 'ids' parameter is required.".into());
    };
    if ids.len() > MAX_IDS {
        return bad(format!("The 'ids' parameter takes at most {MAX_IDS} ids; {} were sent.", ids.len()));
    }
    let types: Option<Vec<String>> = match body.get("types") {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) => Some(a.iter().filter_map(Value::as_str).map(|s| s.to_ascii_lowercase()).collect()),
        Some(_) => return bad("The 'types' parameter must be a collection of strings.".into()),
    };
    let t = app.tenant();
    let mut value = Vec::new();
    for id in ids {
        let Some(id) = id.as_str() else {
            return bad("Every id must be a string.".into());
        };
        if let Some((kind, v)) = find_object(&t, &call.base, id)
            && types.as_ref().is_none_or(|ts| ts.iter().any(|k| k == kind || k.ends_with(&format!(".{kind}"))))
        {
            let mut v = v;
            if let Some(m) = v.as_object_mut() {
                m.remove("@odata.id");
                // A user's account is enabled: the published answer shows the property.
                if kind == "user" {
                    m.insert("accountEnabled".into(), json!(true));
                }
            }
            value.push(v);
        }
    }
    Answer::json(ROUTE, StatusCode::OK, json!({"@odata.context": context(call, "directoryObjects"), "value": value}))
}

/// `GET /roleManagement/directory/roleDefinitions/{id}`: a built-in role by its id (its template id).
pub(super) fn role_definition(app: &App, call: &Call, id: &str) -> Answer {
    const ROUTE: &str = "/{ver}/roleManagement/directory/roleDefinitions/{id}";
    if let Err(a) = authorize(app, call, ROUTE, ROLE_READ) {
        return a;
    }
    let t = app.tenant();
    match t.roles.iter().find(|(r, _)| r.eq_ignore_ascii_case(id)) {
        Some((rid, name)) => {
            let mut v = render::role_definition(rid, name);
            v["inheritsPermissionsFrom"] = json!([]);
            Answer::json(
                ROUTE,
                StatusCode::OK,
                with_context(context(call, "roleManagement/directory/roleDefinitions/$entity"), v),
            )
        }
        None => not_found(ROUTE, id),
    }
}

/// How a directory role is addressed.
pub(super) enum RoleKey<'a> {
    /// `directoryRoles/{id}`.
    Id(&'a str),
    /// `directoryRoles(roleTemplateId='{id}')`, the alternate key.
    Template(&'a str),
}

/// `GET /directoryRoles/{id}` or `GET /directoryRoles(roleTemplateId='...')`. Every built-in role
/// of the tenant counts as activated.
pub(super) fn role(app: &App, call: &Call, key: RoleKey) -> Answer {
    let route = match key {
        RoleKey::Id(_) => "/{ver}/directoryRoles/{id}",
        RoleKey::Template(_) => "/{ver}/directoryRoles(roleTemplateId='{id}')",
    };
    if let Err(a) = authorize(app, call, route, ROLE_READ) {
        return a;
    }
    let (template, shown) = match key {
        RoleKey::Id(id) => (None, id.to_string()),
        RoleKey::Template(segment) => {
            let arg = segment.split_once('(').map(|(_, a)| a.trim_end_matches(')')).unwrap_or_default();
            match arg.split_once('=') {
                Some((k, v)) if k.trim().eq_ignore_ascii_case("roleTemplateId") => {
                    let v = v.trim().trim_matches('\'').to_string();
                    (Some(v.clone()), v)
                }
                _ => {
                    return Answer::error(
                        route,
                        StatusCode::BAD_REQUEST,
                        "BadRequest",
                        format!("The key in '{segment}' is not supported; use roleTemplateId='...'."),
                    );
                }
            }
        }
    };
    let t = app.tenant();
    let found = t.roles.iter().find(|(rid, _)| match &template {
        Some(tid) => rid.eq_ignore_ascii_case(tid),
        None => render::directory_role_id(rid).eq_ignore_ascii_case(&shown),
    });
    match found {
        Some((rid, name)) => Answer::json(
            route,
            StatusCode::OK,
            with_context(context(call, "directoryRoles/$entity"), render::directory_role(rid, name)),
        ),
        None => not_found(route, &shown),
    }
}

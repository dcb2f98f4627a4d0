//! The control API under `/_emulator/`, for tests, benchmarks and demos: tokens, the record of
//! decisions, request counts, the tenant's people, faults, the gate, redirects, waiting on
//! events, the forms (`/_emulator/forms`), multi-stage approvals (`/_emulator/requests/{id}/stages`) and ageing requests (`/_emulator/requests/{id}/expire`,
//! `/age`). Its answers are not delayed, faulted, gated or redirected.

use std::collections::HashMap;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::answer::{Answer, Call};
use crate::app::App;
use crate::gate::{Counters, Gate};
use crate::state::Surface;
use crate::time::iso;
use crate::token;

pub(crate) async fn route(app: &App, call: &Call<'_>) -> Answer {
    let seg: Vec<&str> = call.segments.iter().map(String::as_str).collect();
    match (call.method.clone(), seg.as_slice()) {
        (_, ["_emulator", "wait", ..]) => wait(app, call).await,
        (Method::POST, ["_emulator", "token"]) => mint_token(app, call),
        (Method::GET, ["_emulator", "decisions"]) => decisions(app),
        (Method::GET, ["_emulator", "stats"]) => stats(app),
        (Method::POST, ["_emulator", "redirect"]) => {
            // {"to": "http://host:port"} sends every PIM call there; {"to": null} stops it.
            let to = body(call).get("to").and_then(Value::as_str).map(str::to_string);
            app.set_redirect(to.clone());
            Answer::json("/_emulator/redirect", StatusCode::OK, json!({ "to": to }))
        }
        (Method::GET, ["_emulator", "faults"]) => {
            Answer::json("/_emulator/faults", StatusCode::OK, app.faults.describe())
        }
        (Method::POST, ["_emulator", "faults"]) => settings("/_emulator/faults", app.faults.set(&body(call))),
        (Method::GET, ["_emulator", "gate"]) => Answer::json("/_emulator/gate", StatusCode::OK, app.gate.describe()),
        (Method::POST, ["_emulator", "gate"]) => settings("/_emulator/gate", app.gate.set(&body(call))),
        (Method::GET, ["_emulator", "tenant"]) => tenant(app),
        (Method::GET, ["_emulator", "forms"]) => {
            Answer::json("/_emulator/forms", StatusCode::OK, app.forms().describe())
        }
        (Method::POST, ["_emulator", "forms"]) => settings("/_emulator/forms", app.set_forms(&body(call))),
        (Method::POST, ["_emulator", "requests", id, "expire"]) => age(app, call, id, None),
        (Method::POST, ["_emulator", "requests", id, "stages"]) => stages(app, call, id),
        (Method::POST, ["_emulator", "requests", id, "age"]) => {
            let b = body(call);
            let minutes = b.get("minutes").and_then(Value::as_f64).unwrap_or(0.0)
                + 60.0 * b.get("hours").and_then(Value::as_f64).unwrap_or(0.0);
            if !(minutes > 0.0 && minutes < 1e7) {
                return Answer::error(
                    "/_emulator/requests/{id}/age",
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "send {\"hours\": N} or {\"minutes\": N} (more than 0)",
                );
            }
            age(app, call, id, Some(Duration::from_secs_f64(minutes * 60.0)))
        }
        _ => Answer::error("/_emulator/*", StatusCode::NOT_FOUND, "NotFound", "No such control route."),
    }
}

/// The body as JSON; `null` when it is not JSON.
fn body(call: &Call) -> Value {
    serde_json::from_slice(call.body).unwrap_or(Value::Null)
}

/// The answer to a settings change: the new settings, or 400 with why not.
fn settings(route: &'static str, result: Result<Value, String>) -> Answer {
    match result {
        Ok(v) => Answer::json(route, StatusCode::OK, v),
        Err(e) => Answer::error(route, StatusCode::BAD_REQUEST, "BadRequest", e),
    }
}

/// `GET /_emulator/decisions`: every decision applied, in order.
fn decisions(app: &App) -> Answer {
    let t = app.tenant();
    let value: Vec<Value> = t
        .decisions
        .iter()
        .map(|d| {
            json!({
                "approvalId": d.approval_id, "stepId": d.step_id, "reviewer": d.reviewer,
                "reviewResult": d.review_result, "justification": d.justification,
                "time": iso(d.time),
            })
        })
        .collect();
    Answer::json("/_emulator/decisions", StatusCode::OK, json!({ "value": value }))
}

/// `GET /_emulator/stats`: answers per route and status.
fn stats(app: &App) -> Answer {
    let stats = app.stats();
    let routes: Vec<Value> = stats
        .iter()
        .map(|((route, status), count)| json!({"route": route, "status": status, "count": count}))
        .collect();
    // HTTP requests on the PIM routes, and, apart, the items answered inside batches.
    let sum = |batch_items: bool| -> u64 {
        stats
            .iter()
            .filter(|((route, _), _)| !route.contains("/_emulator/") && route.ends_with("[batch item]") == batch_items)
            .map(|(_, c)| c)
            .sum()
    };
    Answer::json(
        "/_emulator/stats",
        StatusCode::OK,
        json!({"httpRequests": sum(false), "batchItems": sum(true), "routes": routes}),
    )
}

/// `POST /_emulator/requests/{id}/expire` (`by` = None) expires the request now;
/// `POST /_emulator/requests/{id}/age` with `{"hours": N}` or `{"minutes": N}` moves it back in
/// time, and one moved past its 24 hours expires as it would have. `?surface=directory|group|arm`
/// picks one when two surfaces share the id (otherwise all of them). Answers what it did.
fn age(app: &App, call: &Call, id: &str, by: Option<Duration>) -> Answer {
    let route = if by.is_some() { "/_emulator/requests/{id}/age" } else { "/_emulator/requests/{id}/expire" };
    let surface = match surface_query(call) {
        Ok(s) => s,
        Err(e) => return Answer::error(route, StatusCode::BAD_REQUEST, "BadRequest", e),
    };
    let status = app.forms().expiry_request_status;
    let mut t = app.tenant();
    let found: Vec<usize> =
        t.find_all(id).into_iter().filter(|i| surface.is_none_or(|s| t.requests[*i].surface == s)).collect();
    if found.is_empty() {
        return Answer::error(route, StatusCode::NOT_FOUND, "NotFound", format!("No request '{id}'."));
    }
    for &i in &found {
        match by {
            None => {
                t.expire(i, &status);
            }
            Some(d) => t.age(i, d),
        }
    }
    t.expire_due(std::time::SystemTime::now(), &status);
    let value: Vec<Value> = found
        .iter()
        .map(|&i| {
            let r = &t.requests[i];
            json!({
                "id": r.id, "surface": format!("{:?}", r.surface), "status": r.status,
                "createdDateTime": iso(r.created), "expiresDateTime": iso(r.expires_at),
                "steps": r.steps.iter().map(|s| json!({"id": s.id, "status": s.status})).collect::<Vec<_>>(),
            })
        })
        .collect();
    Answer::json(route, StatusCode::OK, json!({ "value": value }))
}

/// `POST /_emulator/requests/{id}/stages` with `{"stages": [["LynneR"], ["MeganB", ...]], ...}`:
/// makes a pending request's approval one of several stages, decided in order, each decidable by
/// the people named (a mail nickname, a user principal name or an object id). The first stage is
/// in progress; each later one starts when the one before is approved. `?surface=` as for
/// `/expire`. Answers the request's stages.
fn stages(app: &App, call: &Call, id: &str) -> Answer {
    const ROUTE: &str = "/_emulator/requests/{id}/stages";
    let bad = |m: String| Answer::error(ROUTE, StatusCode::BAD_REQUEST, "BadRequest", m);
    let surface = match surface_query(call) {
        Ok(s) => s,
        Err(e) => return bad(e),
    };
    let b = body(call);
    let Some(list) = b.get("stages").and_then(Value::as_array).filter(|l| !l.is_empty()) else {
        return bad("send {\"stages\": [[approver, ...], ...]} with at least one stage".into());
    };
    let mut t = app.tenant();
    let mut stages = Vec::new();
    for (n, stage) in list.iter().enumerate() {
        let names: Vec<&str> = stage.as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        if names.is_empty() {
            return bad(format!("stage {n} names no approver"));
        }
        let mut ids = Vec::new();
        for name in names {
            let found = t.users.values().find(|u| {
                u.id.eq_ignore_ascii_case(name)
                    || u.upn.eq_ignore_ascii_case(name)
                    || u.upn.split('@').next().is_some_and(|nick| nick.eq_ignore_ascii_case(name))
            });
            match found {
                Some(u) => ids.push(u.id.clone()),
                None => return bad(format!("no user '{name}'")),
            }
        }
        stages.push(ids);
    }
    let found: Vec<usize> = t
        .find_all(id)
        .into_iter()
        .filter(|i| surface.is_none_or(|s| t.requests[*i].surface == s) && t.requests[*i].is_pending())
        .collect();
    if found.is_empty() {
        return Answer::error(ROUTE, StatusCode::NOT_FOUND, "NotFound", format!("No pending request '{id}'."));
    }
    let mut value = Vec::new();
    for i in found {
        let first = i as u64 * 100;
        t.requests[i].set_stages(stages.clone(), first);
        let r = &t.requests[i];
        value.push(json!({
            "id": r.id, "surface": format!("{:?}", r.surface),
            "steps": r.steps.iter().map(|s| json!({"id": s.id, "status": s.status, "approvers": s.approvers})).collect::<Vec<_>>(),
        }));
    }
    Answer::json(ROUTE, StatusCode::OK, json!({ "value": value }))
}

/// `?surface=directory|group|arm`: one surface, or `None` for every one.
fn surface_query(call: &Call) -> Result<Option<Surface>, String> {
    match call.query.get("surface").map(|s| s.to_ascii_lowercase()) {
        None => Ok(None),
        Some(s) if s == "directory" => Ok(Some(Surface::Directory)),
        Some(s) if s == "group" => Ok(Some(Surface::Group)),
        Some(s) if s == "arm" => Ok(Some(Surface::Arm)),
        Some(other) => Err(format!("Unknown surface '{other}'.")),
    }
}

/// `GET /_emulator/tenant`: the tenant id, the default approver and the people (by display name,
/// then id: the same order every time).
fn tenant(app: &App) -> Answer {
    let t = app.tenant();
    let mut people: Vec<&crate::state::User> = t.users.values().collect();
    people.sort_by(|a, b| a.display_name.cmp(&b.display_name).then_with(|| a.id.cmp(&b.id)));
    let users: Vec<Value> =
        people.iter().map(|u| json!({"id": u.id, "displayName": u.display_name, "userPrincipalName": u.upn})).collect();
    Answer::json(
        "/_emulator/tenant",
        StatusCode::OK,
        json!({"tenantId": t.tenant_id, "defaultApprover": t.default_approver, "users": users}),
    )
}

/// `GET /_emulator/wait?decisions=N&held=N&heldMax=N&admitted=N&pagesHeld=N&batchesDone=N&...&timeoutMs=N`:
/// answers once every counter named is at least (for `heldMax`, at most) its number: 200 with the
/// counters, or 408 with them when `timeoutMs` (default 30 s) passes first. `held` and `admitted`
/// count decisions at the gate, `pagesHeld` and `pagesAdmitted` listing pages at theirs,
/// `batchesHeld`, `batchesAdmitted` and `batchesDone` `$batch`es of decisions, `batchAnswersHeld`
/// and `batchAnswersAdmitted` the answers of those worked whole. Tests wait on this,
/// not on sleeps.
async fn wait(app: &App, call: &Call<'_>) -> Answer {
    const ROUTE: &str = "/_emulator/wait";
    let mut goal = HashMap::new();
    for (k, v) in &call.query {
        let Ok(n) = v.parse::<u64>() else {
            return Answer::error(
                ROUTE,
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!("'{k}' is not a whole number."),
            );
        };
        if ![
            "decisions",
            "held",
            "heldMax",
            "admitted",
            "pagesHeld",
            "pagesAdmitted",
            "batchesHeld",
            "batchesAdmitted",
            "batchesDone",
            "batchAnswersHeld",
            "batchAnswersAdmitted",
            "timeoutMs",
        ]
        .contains(&k.as_str())
        {
            return Answer::error(ROUTE, StatusCode::BAD_REQUEST, "BadRequest", format!("Cannot wait for '{k}'."));
        }
        goal.insert(k.clone(), n);
    }
    let timeout = Duration::from_millis(goal.get("timeoutMs").copied().unwrap_or(30_000).min(600_000));
    let read = |g: &Gate| Counters { decisions: app.tenant().decisions.len() as u64, ..g.counts() };
    let at_least = |k: &str, have: u64| goal.get(k).is_none_or(|want| have >= *want);
    let reached = |c: &Counters| {
        at_least("decisions", c.decisions)
            && at_least("held", c.held)
            && at_least("admitted", c.admitted)
            && at_least("pagesHeld", c.pages_held)
            && at_least("pagesAdmitted", c.pages_admitted)
            && at_least("batchesHeld", c.batches_held)
            && at_least("batchesAdmitted", c.batches_admitted)
            && at_least("batchesDone", c.batches_done)
            && at_least("batchAnswersHeld", c.batch_answers_held)
            && at_least("batchAnswersAdmitted", c.batch_answers_admitted)
            && goal.get("heldMax").is_none_or(|max| c.held <= *max)
    };
    let (c, ok) = app.gate.wait(timeout, read, reached).await;
    let status = if ok { StatusCode::OK } else { StatusCode::REQUEST_TIMEOUT };
    Answer::json(
        ROUTE,
        status,
        json!({
            "reached": ok, "decisions": c.decisions, "held": c.held, "admitted": c.admitted,
            "pagesHeld": c.pages_held, "pagesAdmitted": c.pages_admitted,
            "batchesHeld": c.batches_held, "batchesAdmitted": c.batches_admitted, "batchesDone": c.batches_done,
            "batchAnswersHeld": c.batch_answers_held, "batchAnswersAdmitted": c.batch_answers_admitted,
        }),
    )
}

/// `POST /_emulator/token`: a token for a user of the tenant (the default approver when not
/// named), for Graph or ARM, with the scopes asked or those the PIM calls need.
fn mint_token(app: &App, call: &Call) -> Answer {
    const ROUTE: &str = "/_emulator/token";
    let req: Value = if call.body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(call.body) {
            Ok(v @ Value::Object(_)) => v,
            _ => return Answer::error(ROUTE, StatusCode::BAD_REQUEST, "BadRequest", "The body must be a JSON object."),
        }
    };
    let t = app.tenant();
    let user = match req.get("user").and_then(Value::as_str) {
        None => t.users.get(&t.default_approver),
        Some(u) => t.users.values().find(|x| x.id.eq_ignore_ascii_case(u) || x.upn.eq_ignore_ascii_case(u)),
    };
    let Some(user) = user else {
        return Answer::error(ROUTE, StatusCode::BAD_REQUEST, "BadRequest", "Unknown user.");
    };
    let audience = match req.get("audience").and_then(Value::as_str).unwrap_or("graph") {
        "graph" => token::GRAPH_AUDIENCE,
        "arm" => token::ARM_AUDIENCE,
        other => {
            return Answer::error(ROUTE, StatusCode::BAD_REQUEST, "BadRequest", format!("Unknown audience '{other}'."));
        }
    };
    let scopes: Vec<String> = match req.get("scopes").and_then(Value::as_array) {
        Some(list) => list.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        None if audience == token::ARM_AUDIENCE => vec!["user_impersonation".into()],
        None => token::DEFAULT_GRAPH_SCOPES.iter().map(|s| s.to_string()).collect(),
    };
    let app_only = req.get("appOnly").and_then(Value::as_bool).unwrap_or(false);
    let expires_in = req.get("expiresIn").and_then(Value::as_i64).unwrap_or(3600);
    let tok = app.minter.mint(&user.id, &user.upn, (!app_only).then_some(scopes.as_slice()), audience, expires_in);
    Answer::json(ROUTE, StatusCode::OK, json!({"access_token": tok, "token_type": "Bearer", "expires_in": expires_in}))
}

//! Graph JSON batching: `POST /v1.0/$batch` and `/beta/$batch`. At most 20 items with unique ids;
//! each item is answered as the route would answer it alone (its own status, headers and body),
//! and the answers come back in another order than asked, so clients must match them by id.

use std::collections::HashSet;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde_json::{Value, json};

use crate::answer::{Answer, Call};
use crate::app::App;
use crate::faults::{CallKind, inject};
use crate::{graph, odata, token};

const ROUTE: &str = "/{ver}/$batch";
const MAX_ITEMS: usize = 20;

pub(crate) fn is_batch(call: &Call) -> bool {
    call.method == Method::POST && call.segments.len() == 2 && call.segments[1] == "$batch"
}

pub(crate) async fn route(app: &App, call: &Call<'_>) -> Answer {
    let version = call.segments[0].as_str();
    if version != "v1.0" && version != "beta" {
        return Answer::error(ROUTE, StatusCode::NOT_FOUND, "NotFound", "Unsupported API version.");
    }
    let doc: Value = match serde_json::from_slice(call.body) {
        Ok(v) => v,
        Err(_) => return Answer::error(ROUTE, StatusCode::BAD_REQUEST, "BadRequest", "Invalid batch payload format."),
    };
    let Some(items) = doc.get("requests").and_then(Value::as_array) else {
        return Answer::error(ROUTE, StatusCode::BAD_REQUEST, "BadRequest", "The batch needs a \"requests\" array.");
    };
    if items.is_empty() || items.len() > MAX_ITEMS {
        return Answer::error(
            ROUTE,
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("A batch holds 1 to {MAX_ITEMS} requests; this one has {}.", items.len()),
        );
    }
    let mut ids = HashSet::new();
    for item in items {
        let id = item.get("id").and_then(Value::as_str).unwrap_or_default();
        if id.is_empty() || !ids.insert(id.to_string()) {
            return Answer::error(
                ROUTE,
                StatusCode::BAD_REQUEST,
                "BadRequest",
                format!("Batch request ids must be present and unique; '{id}' is not."),
            );
        }
    }
    let mut lost = false;
    let mut pause = None;
    let mut responses: Vec<Value> = Vec::with_capacity(items.len());
    // Items inherit the batch's token: one whose token is refused (401) never waits at the gate.
    let token_ok = app.minter.check(call.authorization(), token::GRAPH_AUDIENCE).is_ok();
    let is_write = |item: &Value| {
        let method = item.get("method").and_then(Value::as_str).unwrap_or("GET").to_ascii_uppercase();
        let url = item.get("url").and_then(Value::as_str).unwrap_or_default();
        Method::from_bytes(method.as_bytes()).is_ok_and(|m| CallKind::of(&m, url) == CallKind::Write)
    };
    let decides = token_ok && items.iter().any(is_write);
    if decides {
        // A batch of decisions waits here, before any of its items is worked, while the
        // batches' gate is closed.
        app.gate.admit_batch().await;
    }
    for item in items {
        if token_ok && is_write(item) {
            // Items are worked in order: a decision waits here while the gate is closed.
            app.gate.admit().await;
        }
        let (answer, item_lost, item_pause) = answer_item(app, call, version, item);
        app.gate.bump();
        lost |= item_lost;
        pause = pause.max(item_pause);
        responses.push(answer);
    }
    if decides {
        app.gate.batch_done();
        // Worked, every item applied or refused: its answer waits here while the answers' gate
        // is closed (`{"batchAnswersAfter": N}`), so a test can hold a batch the service applied
        // unanswered, past a client's grace, by schedule rather than by clock.
        app.gate.admit_batch_answer().await;
    }
    // Graph does not promise the order: answer in reverse, so a client that relies on it fails.
    responses.reverse();
    let mut answer = Answer::json(ROUTE, StatusCode::OK, json!({ "responses": responses }));
    // A lost answer to one decision loses the whole batch's answer: every item's outcome is unknown;
    // a slow item makes the whole batch slow.
    answer.lost = lost;
    answer.pause = pause;
    answer
}

/// One item's answer, whether fault injection lost it (after doing the work, or without doing it),
/// and how long it wants the batch's answer held back.
fn answer_item(app: &App, call: &Call, version: &str, item: &Value) -> (Value, bool, Option<std::time::Duration>) {
    let id = item.get("id").and_then(Value::as_str).unwrap_or_default();
    let method = item.get("method").and_then(Value::as_str).unwrap_or("GET").to_ascii_uppercase();
    let url = item.get("url").and_then(Value::as_str).unwrap_or_default();
    let item_headers = item.get("headers").and_then(Value::as_object);
    let body = item.get("body");
    let fail = |status: u16, message: &str| {
        json!({"id": id, "status": status, "headers": {"Content-Type": "application/json"},
               "body": {"error": {"code": "BadRequest", "message": message, "innerError": {"request-id": uuid::Uuid::new_v4().to_string()}}}})
    };
    if url.starts_with("http") || url.contains("$batch") {
        return (fail(400, "Batch request urls must be relative and not batches themselves."), false, None);
    }
    let Ok(method) = Method::from_bytes(method.as_bytes()) else {
        return (fail(400, "Invalid method."), false, None);
    };
    let has_content_type = item_headers.is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case("content-type")));
    if body.is_some() && !has_content_type {
        return (fail(400, "A request with a body needs a Content-Type header."), false, None);
    }
    // The item inherits the batch's Authorization header, as in Graph.
    let mut headers = HeaderMap::new();
    if let Some(auth) = call.headers.get("authorization") {
        headers.insert("authorization", auth.clone());
    }
    for (k, v) in item_headers.into_iter().flatten() {
        if let (Ok(name), Some(Ok(value))) =
            (HeaderName::from_bytes(k.as_bytes()), v.as_str().map(HeaderValue::from_str))
        {
            headers.insert(name, value);
        }
    }
    let body_bytes = Bytes::from(body.map(|b| b.to_string()).unwrap_or_default());
    let (path, query) = url.split_once('?').map_or((url, None), |(p, q)| (p, Some(q)));
    let full = format!("/{version}/{}", odata::decode_path(path.trim_start_matches('/')));
    let sub = Call {
        method: &method,
        segments: full.split('/').filter(|s| !s.is_empty()).map(str::to_string).collect(),
        query: odata::parse_query(query),
        headers: &headers,
        body: &body_bytes,
        base: call.base.clone(),
    };
    let mut answer = inject::run(&app.faults, false, &method, path, || graph::route(app, &sub));
    let request_id = uuid::Uuid::new_v4().to_string();
    // The item's own client-request-id, else the batch's (json-batching.md shows it in items' errors).
    let client_request_id = sub
        .headers
        .get("client-request-id")
        .or_else(|| call.headers.get("client-request-id"))
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    answer.stamp(&request_id, client_request_id.as_deref());
    app.count(&format!("{} {} [batch item]", method, answer.route), answer.status.as_u16());
    let mut item_headers = json!({ "request-id": request_id });
    if answer.body.is_some() {
        item_headers["Content-Type"] = json!("application/json");
    }
    if let Some(text) = &answer.retry_after {
        item_headers["Retry-After"] = json!(text);
    }
    let mut out = json!({ "id": id, "status": answer.status.as_u16(), "headers": item_headers });
    if let Some(b) = answer.body {
        out["body"] = b;
    }
    (out, answer.lost, answer.pause)
}

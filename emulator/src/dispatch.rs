//! The one handler behind every path: builds the [`Call`], sends it to the control API, `$batch`,
//! ARM or Graph (under fault injection, the gate and the redirect switch), then turns the
//! [`Answer`] into an HTTP response with the headers every answer carries.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::answer::{Answer, Call};
use crate::app::App;
use crate::faults::{CallKind, inject};
use crate::{arm, batch, control, graph, odata, token};

pub(crate) async fn dispatch(
    State(app): State<Arc<App>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let path = odata::decode_path(uri.path());
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    let call = Call {
        method: &method,
        segments: path.split('/').filter(|s| !s.is_empty()).map(str::to_string).collect(),
        query: odata::parse_query(uri.query()),
        headers: &headers,
        body: &body,
        base: format!("{}://{host}", app.scheme),
    };
    let is_control = call.segments.first().map(String::as_str) == Some("_emulator");
    let redirect = app.redirect();
    let arm = arm::is_arm_path(&path);
    if !is_control
        && redirect.is_none()
        && CallKind::of(&method, &path) == CallKind::Write
        && app.minter.check(call.authorization(), if arm { token::ARM_AUDIENCE } else { token::GRAPH_AUDIENCE }).is_ok()
    {
        // A decision waits here while the gate is closed (batch items wait in batch::route); one
        // whose token is refused (401) is answered at once and never counted as held or let through.
        app.gate.admit().await;
    }
    if !is_control && redirect.is_none() && method == Method::GET && is_listing_path(&path) {
        // A page of a listing waits here while the pages' gate is closed.
        app.gate.admit_page().await;
    }
    let mut answer = if is_control {
        control::route(&app, &call).await
    } else if let Some(to) = redirect {
        let mut a = Answer::empty("(redirected)", StatusCode::TEMPORARY_REDIRECT);
        let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
        a.location = Some(format!("{}{}{query}", to.trim_end_matches('/'), uri.path()));
        a
    } else if batch::is_batch(&call) {
        // Faults are rolled per item inside the batch.
        batch::route(&app, &call).await
    } else if arm {
        inject::run(&app.faults, true, &method, &path, || arm::route(&app, &call, &path))
    } else {
        inject::run(&app.faults, false, &method, &path, || graph::route(&app, &call))
    };
    if !is_control && (answer.pause.is_some() || !app.latency.is_zero()) {
        // The work is done (a decision applied) before a slow answer's wait: waiters on the
        // counters see it now, not when the answer goes out.
        app.gate.bump();
    }
    if !is_control && !app.latency.is_zero() {
        tokio::time::sleep(app.latency).await;
    }
    if let Some(pause) = answer.pause {
        tokio::time::sleep(pause).await;
    }
    let client_request_id = headers.get("client-request-id").and_then(|h| h.to_str().ok());
    answer.stamp(&request_id, client_request_id);
    app.count(&format!("{} {}", method, answer.route), answer.status.as_u16());
    if !is_control {
        app.gate.bump();
    }
    respond(answer, &request_id, client_request_id)
}

/// Whether a path is a listing of schedule requests (one page of it per GET): Graph's
/// `filterByCurrentUser(...)` functions and plain collections of either surface, and ARM's
/// `roleAssignmentScheduleRequests`.
fn is_listing_path(path: &str) -> bool {
    let last = path.rsplit('/').find(|s| !s.is_empty()).unwrap_or_default().to_ascii_lowercase();
    last.starts_with("filterbycurrentuser")
        || last == "roleassignmentschedulerequests"
        || last == "assignmentschedulerequests"
}

/// The HTTP response for an answer: its body, `request-id` and `x-ms-request-id`,
/// `client-request-id` (the caller's when it sent one, else the request id, as users observe),
/// `Retry-After`, `Location`, and `WWW-Authenticate` on 401. A lost answer is a broken body.
fn respond(answer: Answer, request_id: &str, client_request_id: Option<&str>) -> Response {
    if answer.lost {
        // The work is done; the answer never arrives.
        let broken = futures_util::stream::once(async {
            Err::<Bytes, std::io::Error>(std::io::Error::other("response lost (fault injection)"))
        });
        return Response::new(Body::from_stream(broken));
    }
    let mut response = match answer.body {
        Some(b) => (answer.status, axum::Json(b)).into_response(),
        None => answer.status.into_response(),
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("request-id", v.clone());
        h.insert("x-ms-request-id", v.clone());
        h.insert("client-request-id", v);
    }
    if let Some(v) = client_request_id.and_then(|c| HeaderValue::from_str(c).ok()) {
        h.insert("client-request-id", v);
    }
    if let Some(text) = &answer.retry_after
        && let Ok(v) = HeaderValue::from_str(text)
    {
        h.insert("retry-after", v);
    }
    if let Some(location) = answer.location.as_deref().and_then(|l| HeaderValue::from_str(l).ok()) {
        h.insert("location", location);
    }
    if answer.status == StatusCode::UNAUTHORIZED {
        h.insert("www-authenticate", HeaderValue::from_static("Bearer realm=\"\", error=\"invalid_token\""));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::is_listing_path;

    #[test]
    fn listing_paths_are_the_request_collections_and_functions() {
        for path in [
            "/v1.0/roleManagement/directory/roleAssignmentScheduleRequests/filterByCurrentUser(on='approver')",
            "/beta/identityGovernance/privilegedAccess/group/assignmentScheduleRequests/filterByCurrentUser(on='approver')",
            "/v1.0/roleManagement/directory/roleAssignmentScheduleRequests",
            "/providers/Microsoft.Authorization/roleAssignmentScheduleRequests",
            "/subscriptions/0000/providers/Microsoft.Authorization/roleAssignmentScheduleRequests/",
        ] {
            assert!(is_listing_path(path), "{path}");
        }
        for path in [
            "/v1.0/roleManagement/directory/roleAssignmentScheduleRequests/929cd687-a296-4f77-bdbc-b7cc22d3517e",
            "/beta/roleManagement/directory/roleAssignmentApprovals/929cd687-a296-4f77-bdbc-b7cc22d3517e",
            "/v1.0/$batch",
        ] {
            assert!(!is_listing_path(path), "{path}");
        }
    }
}

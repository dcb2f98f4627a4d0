//! The contract between [`crate::dispatch`] and every route: a [`Call`] goes in, an [`Answer`]
//! comes out. Routes never build HTTP responses; dispatch adds the common headers.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode};
use serde_json::{Value, json};

/// The per-call facts a route needs.
pub(crate) struct Call<'a> {
    pub method: &'a Method,
    pub segments: Vec<String>,
    pub query: HashMap<String, String>,
    pub headers: &'a HeaderMap,
    pub body: &'a Bytes,
    /// `http://host:port` as the client addressed us, for `@odata.nextLink`.
    pub base: String,
}

impl Call<'_> {
    /// The `Authorization` header's text, if any. Throttling is keyed on it (per token, as
    /// Graph's buckets are per app and user).
    pub fn authorization(&self) -> Option<&str> {
        self.headers.get("authorization").and_then(|h| h.to_str().ok())
    }
}

/// What one route answers before the common headers are added.
pub(crate) struct Answer {
    pub route: &'static str,
    pub status: StatusCode,
    pub body: Option<Value>,
    /// The `Retry-After` header's text.
    pub retry_after: Option<String>,
    /// Fault injection: the work is done, then the connection is dropped without an answer.
    pub lost: bool,
    /// Fault injection: a pause before answering, after the work is done.
    pub pause: Option<Duration>,
    /// A `Location` header (redirects).
    pub location: Option<String>,
}

impl Answer {
    pub fn json(route: &'static str, status: StatusCode, body: Value) -> Answer {
        Answer { route, status, body: Some(body), retry_after: None, lost: false, pause: None, location: None }
    }

    /// The same answer, counted under another route.
    pub fn on(mut self, route: &'static str) -> Answer {
        self.route = route;
        self
    }

    pub fn empty(route: &'static str, status: StatusCode) -> Answer {
        Answer { route, status, body: None, retry_after: None, lost: false, pause: None, location: None }
    }

    /// Graph's error body. `request-id` and `date` are filled in by [`Answer::stamp`].
    pub fn error(route: &'static str, status: StatusCode, code: &str, message: impl Into<String>) -> Answer {
        Answer::json(route, status, json!({"error": {"code": code, "message": message.into(), "innerError": {}}}))
    }

    /// 429 with `Retry-After` (seconds), in Graph's words.
    pub fn throttled(route: &'static str, wait: f64) -> Answer {
        Answer::throttled_text(route, format_retry_after(wait))
    }

    /// Graph's 429 as `concepts/throttling.md` shows it: `innerError` also carries `code` and
    /// `status` "429" and the message "Please retry after".
    pub fn throttled_text(route: &'static str, retry_after: String) -> Answer {
        let mut a = Answer::json(
            route,
            StatusCode::TOO_MANY_REQUESTS,
            json!({"error": {"code": "TooManyRequests", "message": "Please retry again later.",
                   "innerError": {"code": "429", "status": "429", "message": "Please retry after"}}}),
        );
        a.retry_after = Some(retry_after);
        a
    }

    /// Fills a Graph error body's `innerError` with the request id, the date and, when the
    /// client sent one, its `client-request-id`. Bodies without `innerError` are left alone.
    pub fn stamp(&mut self, request_id: &str, client_request_id: Option<&str>) {
        if let Some(inner) = self.body.as_mut().and_then(|b| b.pointer_mut("/error/innerError")) {
            inner["request-id"] = json!(request_id);
            inner["date"] = json!(crate::time::iso(std::time::SystemTime::now()));
            if let Some(c) = client_request_id {
                inner["client-request-id"] = json!(c);
            }
        }
    }
}

/// Seconds, with up to three decimals (Graph has sent both `10` and `2.128`).
pub(crate) fn format_retry_after(seconds: f64) -> String {
    let s = format!("{seconds:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

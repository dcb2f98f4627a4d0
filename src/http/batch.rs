//! Graph's JSON batch envelope: up to twenty requests in one POST to `/{version}/$batch`, their
//! answers matched by id. This file only carries requests there and back; what to send, and what
//! an answer means, is decided in `decide/rounds.rs`.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::retry::Budget;
use super::trace::{self, Trace, TraceEvent, TraceLevel};
use super::transport::{Http, Response};
use crate::error::{ErrorKind, PimError};
use crate::token::AccessToken;

/// Graph's limit of items per batch.
pub(crate) const MAX_BATCH: usize = 20;

#[derive(Debug, Serialize)]
struct BatchRequest {
    requests: Vec<BatchItem>,
}

/// One request inside a batch.
#[derive(Debug, Serialize)]
pub(crate) struct BatchItem {
    pub(crate) id: String,
    pub(crate) method: String,
    /// Relative to `/{version}`.
    pub(crate) url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) headers: Option<HashMap<&'static str, &'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) body: Option<serde_json::Value>,
}

impl BatchItem {
    pub(crate) fn get(id: usize, url: String) -> BatchItem {
        BatchItem { id: id.to_string(), method: Method::GET.to_string(), url, headers: None, body: None }
    }

    pub(crate) fn with_json(id: usize, method: &Method, url: String, body: &[u8]) -> BatchItem {
        BatchItem {
            id: id.to_string(),
            method: method.to_string(),
            url,
            headers: Some(HashMap::from([("Content-Type", "application/json")])),
            body: serde_json::from_slice(body).ok(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct BatchItemResponse {
    id: String,
    status: u16,
    headers: HashMap<String, String>,
    body: Option<serde_json::Value>,
}

impl BatchItemResponse {
    fn into_response(self) -> Response {
        let headers = self.headers;
        let header = |name: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
        Response::new(self.status, header, self.body.map(|b| b.to_string().into_bytes()).unwrap_or_default())
    }
}

/// What came back for one item: its own answer, or (`Err`) no answer at all, so its outcome is
/// unknown (the batch was lost, timed out or cancelled, or left the item out), or the batch's
/// answer could not be read.
pub(crate) type Reply = Result<Response, PimError>;

/// Sends one batch within the operation's `budget`. Returns the reply to each item by id, and
/// whether the service was reached at all. A batch refused whole gives each item the batch's own
/// answer; a batch answered 2xx with a body that is no batch answer (not JSON, or no `responses`)
/// gives each item a `ServiceError` at once. When `cancel` fires, a batch of reads is dropped at
/// once; a batch of decisions (`grace` given) is waited for that long more, since the service may
/// be acting on it.
pub(crate) async fn send_batch(
    http: &Http,
    token: &AccessToken,
    version: &str,
    items: Vec<BatchItem>,
    budget: &Budget,
    cancel: &CancellationToken,
    grace: Option<Duration>,
) -> (HashMap<String, Reply>, bool) {
    let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
    let trace = budget.trace.clone().filter(|t| t.records(TraceLevel::Calls));
    let sent: HashMap<String, (String, String)> = match &trace {
        Some(_) => items.iter().map(|i| (i.id.clone(), (i.method.clone(), trace::relative_route(&i.url)))).collect(),
        None => HashMap::new(),
    };
    let url = http.urls.graph(version, &["$batch"], &[]);
    let body = serde_json::to_vec(&BatchRequest { requests: items }).unwrap_or_default();
    let exchange = http.execute(token, Method::POST, url, Some(body), budget);
    let envelope = match grace {
        None => super::cancellable(cancel, exchange).await,
        Some(grace) => super::with_grace(cancel, grace, exchange).await,
    };
    let reached = !matches!(&envelope, Err(e) if e.kind == ErrorKind::Network);
    let mut replies: HashMap<String, Reply> = HashMap::new();
    match envelope {
        Ok(a) if a.is_success() => match read_answers(&a) {
            Ok(answers) => {
                for r in answers {
                    if let Some(t) = &trace {
                        record_item(t, &sent, &r);
                    }
                    let id = r.id.clone();
                    let mut item = r.into_response();
                    item.token_expired = a.token_expired;
                    replies.insert(id, Ok(item));
                }
            }
            Err(e) => {
                for id in &ids {
                    replies.insert(id.clone(), Err(e.clone()));
                }
            }
        },
        Ok(a) => {
            for id in &ids {
                replies.insert(id.clone(), Ok(a.clone()));
            }
        }
        Err(e) => {
            for id in &ids {
                replies.insert(id.clone(), Err(e.clone()));
            }
        }
    }
    for id in ids {
        replies.entry(id).or_insert_with(|| {
            Err(PimError::new(ErrorKind::ConnectionLost, "The batch answer did not include this request."))
        });
    }
    (replies, reached)
}

/// Records one item's answer in the operation's trace.
fn record_item(trace: &Trace, sent: &HashMap<String, (String, String)>, r: &BatchItemResponse) {
    let header = |name: &str| r.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
    let (method, route) = sent.get(&r.id).cloned().unwrap_or_default();
    trace.record(TraceEvent::BatchItem {
        at_ms: trace.at_ms(),
        id: r.id.clone(),
        method,
        route,
        status: Some(r.status),
        request_id: header("request-id").or_else(|| header("x-ms-request-id")),
        retry_after_ms: header("retry-after")
            .and_then(|v| super::retry::parse_retry_after(&v, std::time::SystemTime::now()))
            .map(trace::millis),
        response_headers: trace.records(TraceLevel::Headers).then(|| trace::item_headers(&r.headers)),
    });
}

/// The items of a batch answer, or the `ServiceError` of an answer that is not one.
fn read_answers(a: &Response) -> Result<Vec<BatchItemResponse>, PimError> {
    let malformed = |why: String| {
        let mut e = PimError::new(
            ErrorKind::ServiceError,
            format!(
                "The service answered the batch with HTTP {} and a body that is not a batch answer: {why}.",
                a.status
            ),
        );
        e.http_status = a.status;
        e.request_id = a.request_id.clone();
        e
    };
    let value: serde_json::Value = serde_json::from_slice(&a.body).map_err(|e| malformed(format!("not JSON ({e})")))?;
    let responses = value
        .get("responses")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| malformed("no `responses` array".into()))?;
    // An item that is not an answer is left out, and so reported as not answered.
    Ok(responses.iter().filter_map(|r| serde_json::from_value(r.clone()).ok()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_answers_keep_status_retry_after_and_request_id() {
        let r: BatchItemResponse = serde_json::from_str(
            r#"{"id":"3","status":429,"headers":{"Retry-After":"2.5","request-id":"rid"},
                "body":{"error":{"code":"TooManyRequests","message":"slow down"}}}"#,
        )
        .unwrap();
        let a = r.into_response();
        assert_eq!(a.status, 429);
        assert_eq!(a.retry_after, Some(Duration::from_millis(2500)));
        assert_eq!(a.error().kind, ErrorKind::Throttled);
        assert_eq!(a.error().request_id.as_deref(), Some("rid"));
    }

    #[test]
    fn batch_requests_serialize_as_graph_expects() {
        let body = serde_json::to_vec(&serde_json::json!({"reviewResult": "Approve", "justification": "a \"quote\""}))
            .unwrap();
        let b = BatchRequest {
            requests: vec![BatchItem::with_json(
                0,
                &Method::PATCH,
                "/roleManagement/directory/roleAssignmentApprovals/x/steps/y".into(),
                &body,
            )],
        };
        let v: serde_json::Value = serde_json::to_value(&b).unwrap();
        assert_eq!(v["requests"][0]["headers"]["Content-Type"], "application/json");
        assert_eq!(v["requests"][0]["body"]["justification"], "a \"quote\"");
        assert_eq!(v["requests"][0]["method"], "PATCH");
        let get = serde_json::to_value(BatchItem::get(1, "/x".into())).unwrap();
        assert!(get.get("body").is_none() && get.get("headers").is_none());
        assert_eq!(get["method"], "GET");
    }
}

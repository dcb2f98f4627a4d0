//! Graph's JSON batch envelope: up to twenty requests in one POST to `/{version}/$batch`, their
//! answers matched by id. This file only carries requests there and back; what to send, and what
//! an answer means, is decided in `decide/rounds.rs`.

use std::collections::HashMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

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
struct BatchResponse {
    responses: Vec<BatchItemResponse>,
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
/// unknown (the batch was lost, timed out or cancelled, or left the item out).
pub(crate) type Reply = Result<Response, PimError>;

/// Sends one batch. Returns the reply to each item by id, and whether the service was reached
/// at all. A batch refused whole gives each item the batch's own answer.
pub(crate) async fn send_batch(
    http: &Http,
    token: &AccessToken,
    version: &str,
    items: Vec<BatchItem>,
    cancel: &CancellationToken,
) -> (HashMap<String, Reply>, bool) {
    let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
    let url = http.urls.graph(version, &["$batch"], &[]);
    let body = serde_json::to_vec(&BatchRequest { requests: items }).unwrap_or_default();
    let envelope = super::cancellable(cancel, http.execute(token, Method::POST, url, Some(body))).await;
    let reached = !matches!(&envelope, Err(e) if e.kind == ErrorKind::Network);
    let mut replies: HashMap<String, Reply> = HashMap::new();
    match envelope {
        Ok(a) if a.is_success() => {
            let parsed: BatchResponse = serde_json::from_slice(&a.body).unwrap_or_default();
            for r in parsed.responses {
                replies.insert(r.id.clone(), Ok(r.into_response()));
            }
        }
        Ok(a) => {
            for id in &ids {
                replies.insert(id.clone(), Ok(a.clone()));
            }
        }
        Err(e) => {
            for id in &ids {
                replies.insert(id.clone(), Err(PimError::new(ErrorKind::ConnectionLost, e.message.clone())));
            }
            if e.kind == ErrorKind::Cancelled {
                return (replies, reached);
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

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

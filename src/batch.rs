//! Graph JSON batching for decisions: approvals read and decisions sent in `$batch` requests of up
//! to 20 items, matched by id. Each item's own status counts: only items that came back 429 (after
//! their own `Retry-After`), 5xx or unanswered go round again (and are read again before being
//! re-sent, so no decision is sent twice); other 4xx become per-request errors.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime};

use reqwest::{Method, Url};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::client::{Answer, Closed, DecisionRoute, PimClient, cancellable, closed_step, is_safe_segment, pause};
use crate::error::{ErrorKind, PimError, Result};
use crate::model::{DecisionOutcome, DecisionTarget, Review, Surface};
use crate::retry::{is_retryable_status, parse_retry_after};
use crate::token::AccessToken;
use crate::validate::Justification;
use crate::wire;

/// Graph's limit of items per batch.
pub(crate) const MAX_BATCH: usize = 20;

#[derive(Debug, Serialize)]
struct BatchRequest {
    requests: Vec<BatchItem>,
}

#[derive(Debug, Serialize)]
struct BatchItem {
    id: String,
    method: String,
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    headers: Option<HashMap<&'static str, &'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<serde_json::Value>,
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
    fn into_answer(self) -> Answer {
        let header =
            |name: &str| self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
        Answer {
            status: self.status,
            retry_after: header("retry-after").and_then(|v| parse_retry_after(&v, SystemTime::now())),
            request_id: header("request-id"),
            body: self.body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
        }
    }
}

/// Where one request of a chunk stands.
enum Stage {
    /// Its approval must be read (first, or again after an attempt of unknown outcome).
    Read,
    /// Its open step is known: send the decision to it.
    Send(String),
    /// Finished: the step decided, or why not.
    Done(Result<String>),
}

struct Item {
    index: usize,
    target: DecisionTarget,
    route: Option<DecisionRoute>,
    stage: Stage,
    /// Times a decision was sent for it (the outcome of the last may be unknown).
    sends: u32,
    last_error: Option<PimError>,
}

impl PimClient {
    /// A Graph URL relative to `/{version}`, as batch items carry them.
    fn relative(&self, url: &Url, version: &str) -> String {
        let prefix = format!("{}/{version}", self.graph_root().path().trim_end_matches('/'));
        let path = url.path().strip_prefix(&prefix).unwrap_or(url.path());
        match url.query() {
            Some(q) => format!("{path}?{q}"),
            None => path.to_string(),
        }
    }

    /// Sends one batch and returns the answers by item id, and whether the service was reached at
    /// all. An item missing from the answer, or a failed batch, is reported per item as a
    /// retryable failure with status 0 (its outcome is unknown).
    async fn send_batch(
        &self,
        token: &AccessToken,
        version: &str,
        items: Vec<BatchItem>,
        cancel: &CancellationToken,
    ) -> (HashMap<String, Answer>, bool) {
        let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
        let url = self.graph_url(version, &["$batch"], &[]);
        let body = serde_json::to_vec(&BatchRequest { requests: items }).unwrap_or_default();
        let envelope = cancellable(cancel, self.execute(token, Method::POST, url, Some(body))).await;
        let unknown = |status: u16, retry_after: Option<Duration>, message: &str, request_id: Option<String>| {
            let body =
                serde_json::json!({"error": {"code": "BatchFailed", "message": message}}).to_string().into_bytes();
            Answer { status, retry_after, request_id, body }
        };
        let mut answers: HashMap<String, Answer> = HashMap::new();
        let reached = !matches!(&envelope, Err(e) if e.kind == ErrorKind::Network);
        match envelope {
            Ok(a) if a.is_success() => {
                let parsed: BatchResponse = serde_json::from_slice(&a.body).unwrap_or_default();
                for r in parsed.responses {
                    answers.insert(r.id.clone(), r.into_answer());
                }
            }
            Ok(a) => {
                // The whole batch failed: each item fails the same way.
                for id in &ids {
                    let e = a.error();
                    let mut copy = unknown(a.status, a.retry_after, &e.message, a.request_id.clone());
                    copy.body = a.body.clone();
                    answers.insert(id.clone(), copy);
                }
            }
            Err(e) => {
                // No answer at all (network, timeout, cancelled): 0 marks "unknown, try again".
                for id in &ids {
                    answers.insert(id.clone(), unknown(0, None, &e.message, None));
                }
                if e.kind == ErrorKind::Cancelled {
                    return (answers, reached);
                }
            }
        }
        for id in ids {
            answers
                .entry(id)
                .or_insert_with(|| unknown(0, None, "The batch answer did not include this request.", None));
        }
        (answers, reached)
    }

    /// Decides up to [`MAX_BATCH`] Graph requests of one surface in rounds of two batches: read
    /// the approvals, then send the decisions to the open steps.
    pub(crate) async fn decide_batch(
        &self,
        token: &AccessToken,
        surface: Surface,
        chunk: Vec<(usize, DecisionTarget)>,
        review: Review,
        justification: &Justification,
        cancel: &CancellationToken,
    ) -> Vec<DecisionOutcome> {
        let version = if surface == Surface::DirectoryRole { "beta" } else { "v1.0" };
        let me = token.claims().and_then(|c| c.object_id);
        let mut items: Vec<Item> = chunk
            .into_iter()
            .map(|(index, target)| {
                let self_request =
                    matches!((&target.principal_id, &me), (Some(p), Some(m)) if p.eq_ignore_ascii_case(m));
                let (route, stage) = match self.decision_route(&target, review, justification) {
                    Err(e) => (None, Stage::Done(Err(e))),
                    Ok(_) if self_request => (
                        None,
                        Stage::Done(Err(PimError::new(
                            ErrorKind::SelfApproval,
                            "This is your own request; an approver cannot approve or deny their own request.",
                        ))),
                    ),
                    Ok(r) => (Some(r), Stage::Read),
                };
                Item { index, target, route, stage, sends: 0, last_error: None }
            })
            .collect();
        let started = Instant::now();
        // Rounds in a row in which the service answered nothing (a lost connection, a timeout), and
        // in which it could not even be reached (refused: a down or wrong endpoint).
        let mut silent_rounds = 0;
        let mut unreachable_rounds = 0;
        loop {
            // Read every approval that needs reading, in one batch.
            let reads: Vec<BatchItem> = items
                .iter()
                .enumerate()
                .filter(|(_, it)| matches!(it.stage, Stage::Read))
                .filter_map(|(n, it)| {
                    let route = it.route.as_ref()?;
                    Some(BatchItem {
                        id: n.to_string(),
                        method: "GET".into(),
                        url: self.relative(&route.approval, version),
                        headers: None,
                        body: None,
                    })
                })
                .collect();
            let mut wait: Option<Duration> = None;
            let mut answered = false;
            let mut reached_any = false;
            if !reads.is_empty() {
                let (answers, reached) = self.send_batch(token, version, reads, cancel).await;
                reached_any |= reached;
                for (id, answer) in answers {
                    let Some(it) = id.parse::<usize>().ok().and_then(|n| items.get_mut(n)) else { continue };
                    answered |= answer.status != 0;
                    if answer.is_success() {
                        it.stage = match serde_json::from_slice::<wire::Approval>(&answer.body) {
                            Err(e) => Stage::Done(Err(PimError::new(
                                ErrorKind::InvalidResponse,
                                format!("The service's answer could not be read: {e}."),
                            ))),
                            Ok(approval) => match approval.steps().iter().find(|s| s.is_open_for_me()) {
                                Some(s) if is_safe_segment(&s.id) => Stage::Send(s.id.clone()),
                                Some(_) => Stage::Done(Err(PimError::new(
                                    ErrorKind::InvalidResponse,
                                    "The service sent a step id that is not a plain id.",
                                ))),
                                None => match closed_step(&approval, review, it.sends > 0, me.as_deref()) {
                                    Closed::MadeByUs(step) => Stage::Done(Ok(step)),
                                    Closed::Refused(e) => Stage::Done(Err(e)),
                                },
                            },
                        };
                    } else if answer.status == 0 || is_retryable_status(answer.status) {
                        wait = wait.max(answer.retry_after);
                        it.last_error = Some(item_error(&answer));
                    } else {
                        it.stage = Stage::Done(Err(answer.error()));
                    }
                }
            }
            // Send every decision whose step is known, in one batch.
            if cancel.is_cancelled() {
                break;
            }
            let sends: Vec<BatchItem> = items
                .iter()
                .enumerate()
                .filter_map(|(n, it)| match (&it.stage, &it.route) {
                    (Stage::Send(step), Some(route)) => Some(BatchItem {
                        id: n.to_string(),
                        method: route.method.as_str().to_string(),
                        url: self.relative(&route.step_url(step), version),
                        headers: Some(HashMap::from([("Content-Type", "application/json")])),
                        body: serde_json::from_slice(&route.body).ok(),
                    }),
                    _ => None,
                })
                .collect();
            if !sends.is_empty() {
                for it in items.iter_mut().filter(|it| matches!(it.stage, Stage::Send(_))) {
                    it.sends += 1;
                }
                let (answers, reached) = self.send_batch(token, version, sends, cancel).await;
                reached_any |= reached;
                for (id, answer) in answers {
                    let Some(it) = id.parse::<usize>().ok().and_then(|n| items.get_mut(n)) else { continue };
                    answered |= answer.status != 0;
                    let Stage::Send(step) = &it.stage else { continue };
                    if answer.is_success() {
                        it.stage = Stage::Done(Ok(step.clone()));
                    } else if answer.status == 0
                        || is_retryable_status(answer.status)
                        || (answer.status == 409 && it.sends > 1)
                    {
                        // Outcome unknown (or a conflict after our own retry): read it again before anything else.
                        wait = wait.max(answer.retry_after);
                        it.last_error = Some(item_error(&answer));
                        it.stage = Stage::Read;
                    } else {
                        it.stage = Stage::Done(Err(answer.error()));
                    }
                }
            }
            let open = items.iter().filter(|it| !matches!(it.stage, Stage::Done(_))).count();
            if open == 0 || cancel.is_cancelled() {
                break;
            }
            // While the service answers, only the time budget limits the rounds (it is alive, and
            // each round settles or retries items on its word). Rounds it leaves silent count
            // towards the attempt limit, and rounds it cannot be reached at all end it sooner.
            silent_rounds = if answered { 0 } else { silent_rounds + 1 };
            unreachable_rounds = if reached_any { 0 } else { unreachable_rounds + 1 };
            let delay = self.options().retry.delay(silent_rounds + 1, started.elapsed(), wait, unreachable_rounds);
            match delay {
                Some(d) if pause(cancel, d).await.is_ok() => {}
                _ => break,
            }
        }
        items
            .into_iter()
            .map(|it| {
                let result = match it.stage {
                    Stage::Done(r) => r,
                    _ if cancel.is_cancelled() => Err(PimError::new(
                        ErrorKind::Cancelled,
                        "The operation was cancelled before this request was decided.",
                    )),
                    _ => Err(it.last_error.unwrap_or_else(|| {
                        PimError::new(ErrorKind::ServiceError, "The service did not complete this request in time.")
                    })),
                };
                DecisionOutcome::new(it.index, it.target, review, result)
            })
            .collect()
    }
}

/// The error an item's answer stands for; 0 means no answer came.
fn item_error(answer: &Answer) -> PimError {
    if answer.status == 0 {
        let e = answer.error();
        PimError::new(ErrorKind::ConnectionLost, e.message)
    } else {
        answer.error()
    }
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
        let a = r.into_answer();
        assert_eq!(a.status, 429);
        assert_eq!(a.retry_after, Some(Duration::from_millis(2500)));
        assert_eq!(a.error().kind, ErrorKind::Throttled);
        assert_eq!(a.error().request_id.as_deref(), Some("rid"));
    }

    #[test]
    fn batch_requests_serialize_as_graph_expects() {
        let b = BatchRequest {
            requests: vec![BatchItem {
                id: "0".into(),
                method: "PATCH".into(),
                url: "/roleManagement/directory/roleAssignmentApprovals/x/steps/y".into(),
                headers: Some(HashMap::from([("Content-Type", "application/json")])),
                body: Some(serde_json::json!({"reviewResult": "Approve", "justification": "a \"quote\""})),
            }],
        };
        let v: serde_json::Value = serde_json::to_value(&b).unwrap();
        assert_eq!(v["requests"][0]["headers"]["Content-Type"], "application/json");
        assert_eq!(v["requests"][0]["body"]["justification"], "a \"quote\"");
        assert!(
            serde_json::to_value(BatchItem {
                id: "1".into(),
                method: "GET".into(),
                url: "/x".into(),
                headers: None,
                body: None
            })
            .unwrap()
            .get("body")
            .is_none()
        );
    }
}

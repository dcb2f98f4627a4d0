//! What an operation did on the wire, for a person chasing a slow or throttled run: each HTTP call
//! (method, route without the query's secrets, status, elapsed, the service's request-id), each
//! item of a `$batch`, and each wait before trying again with its reason. At the highest level, the
//! headers too, with `Authorization` and cookies redacted.
//!
//! A trace belongs to one operation and is recorded only when asked: an operation without one
//! costs nothing but a `None` check per call. Events go into a bounded queue; when it is full the
//! oldest is dropped and counted. The token never reaches a trace: the `Authorization` header is
//! written as `<redacted>` and the query values that may be opaque tokens (`$skiptoken`, anything
//! not known to be plain) as `***`.
//!
//! The operation's trace is handed to the core at its start with [`Trace::scope`]; the
//! operation's `Budget` picks it up once (`Budget::start`) and carries it to every call and wait
//! from there, explicitly.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use reqwest::Url;
use reqwest::header::HeaderMap;
use serde::Serialize;

use crate::error::{ErrorKind, PimError};

/// How much a trace records; each level records what the ones below it do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TraceLevel {
    /// Only the waits before trying again, with their reason (what a progress bar shows).
    Waits = 1,
    /// The waits, and each HTTP call and batch item (what `-Verbose` shows).
    Calls = 2,
    /// All that, with the request and response headers, secrets redacted (what `-Debug` shows).
    Headers = 3,
}

impl TraceLevel {
    /// The level numbered `n` (1-3); 0 and anything else is none.
    pub fn from_number(n: u32) -> Option<TraceLevel> {
        match n {
            1 => Some(TraceLevel::Waits),
            2 => Some(TraceLevel::Calls),
            3 => Some(TraceLevel::Headers),
            _ => None,
        }
    }
}

/// Why an operation waits before trying again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum WaitReason {
    /// None of the others: the service left something undone.
    Unsettled,
    /// An approval answered 404: it may not have replicated yet.
    NotReplicated,
    /// An approval read as still open after a decision of ours whose answer was lost: read once
    /// more, a little later, before anything is sent again (reads may be stale).
    StaleRead,
    /// No answer: unreachable, timed out, or the connection lost.
    Network,
    /// The service answered 5xx (or 408).
    ServiceError,
    /// The service answered 429.
    Throttled,
}

impl WaitReason {
    /// The reason a failure like `e` gives to try again.
    pub(crate) fn of_error(e: &PimError) -> WaitReason {
        match e.kind {
            ErrorKind::Throttled => WaitReason::Throttled,
            ErrorKind::Network | ErrorKind::Timeout | ErrorKind::ConnectionLost => WaitReason::Network,
            ErrorKind::NotFound => WaitReason::NotReplicated,
            _ if e.http_status == 429 => WaitReason::Throttled,
            _ if e.http_status == 408 || e.http_status >= 500 => WaitReason::ServiceError,
            _ => WaitReason::Unsettled,
        }
    }
}

/// One thing an operation did, as recorded.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum TraceEvent {
    /// One HTTP call.
    Call {
        /// Milliseconds since the operation started, when the call was sent.
        at_ms: u64,
        method: String,
        /// Path and query, the query's values that may be secrets written as `***`.
        route: String,
        /// `None` when no answer came (see `error`).
        status: Option<u16>,
        /// How long it took.
        ms: u64,
        /// The service's `request-id` (or `x-ms-request-id`).
        request_id: Option<String>,
        /// The `client-request-id` the service echoed, if any.
        client_request_id: Option<String>,
        /// The error kind when no answer came (`Network`, `Timeout`, `ConnectionLost`, ...).
        error: Option<String>,
        /// At the `Headers` level: what was sent, `Authorization` redacted.
        #[serde(skip_serializing_if = "Option::is_none")]
        request_headers: Option<Vec<(String, String)>>,
        /// At the `Headers` level: what came back, cookies redacted.
        #[serde(skip_serializing_if = "Option::is_none")]
        response_headers: Option<Vec<(String, String)>>,
    },
    /// One request inside a `$batch`, and its own answer.
    BatchItem {
        at_ms: u64,
        /// The item's id within its batch.
        id: String,
        method: String,
        route: String,
        /// `None` when the batch's answer did not include it.
        status: Option<u16>,
        request_id: Option<String>,
        retry_after_ms: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        response_headers: Option<Vec<(String, String)>>,
    },
    /// A listing asked for stages could not tell one request's stage (`includeStage`): its
    /// approval could not be read, or shows no step open for me. The listing goes on without it.
    StageUnread {
        at_ms: u64,
        approval_id: String,
        /// Why, in a few words.
        reason: String,
    },
    /// A wait before trying again.
    Wait {
        at_ms: u64,
        /// How long.
        ms: u64,
        reason: WaitReason,
        /// The service's `Retry-After`, when the wait is a throttle's and it gave one.
        retry_after_ms: Option<u64>,
        /// How many requests of the round wait for each reason, when a round of many waits.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        waiting: Vec<(WaitReason, u32)>,
    },
}

/// What was taken from a trace: the events since the last take, and how many were dropped
/// because the queue was full.
#[derive(Debug, Default, Serialize)]
pub struct TraceTaken {
    pub dropped: u64,
    pub events: Vec<TraceEvent>,
}

/// One operation's trace: a bounded queue of events, shared by the operation and its reader.
#[derive(Debug)]
pub struct Trace {
    level: TraceLevel,
    capacity: usize,
    started: Instant,
    queue: Mutex<Queue>,
}

#[derive(Debug, Default)]
struct Queue {
    events: VecDeque<TraceEvent>,
    dropped: u64,
}

/// The events a trace keeps unread by default before it drops the oldest.
pub(crate) const DEFAULT_TRACE_CAPACITY: usize = 1000;

tokio::task_local! {
    static CURRENT: Arc<Trace>;
}

impl Trace {
    /// A trace at `level` that keeps at most `capacity` unread events (at least one).
    pub fn new(level: TraceLevel, capacity: usize) -> Arc<Trace> {
        Arc::new(Trace { level, capacity: capacity.max(1), started: Instant::now(), queue: Mutex::default() })
    }

    pub fn level(&self) -> TraceLevel {
        self.level
    }

    /// Runs `fut` (an operation of the core: a listing, a decision run) with this trace.
    pub async fn scope<F: Future>(self: Arc<Self>, fut: F) -> F::Output {
        CURRENT.scope(self, fut).await
    }

    /// The trace of the operation running on this task, if it has one.
    pub(crate) fn current() -> Option<Arc<Trace>> {
        CURRENT.try_with(Arc::clone).ok()
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes every event recorded since the last take, and the count dropped meanwhile.
    pub fn take(&self) -> TraceTaken {
        let mut q = self.queue();
        TraceTaken { dropped: std::mem::take(&mut q.dropped), events: q.events.drain(..).collect() }
    }

    pub(crate) fn records(&self, level: TraceLevel) -> bool {
        self.level >= level
    }

    pub(crate) fn at_ms(&self) -> u64 {
        millis(self.started.elapsed())
    }

    pub(crate) fn record(&self, event: TraceEvent) {
        let mut q = self.queue();
        if q.events.len() >= self.capacity {
            q.events.pop_front();
            q.dropped += 1;
        }
        q.events.push_back(event);
    }

    /// Records a wait of `wait` for `reason`.
    pub(crate) fn wait(
        &self,
        wait: Duration,
        reason: WaitReason,
        retry_after: Option<Duration>,
        waiting: Vec<(WaitReason, u32)>,
    ) {
        let retry_after_ms = retry_after.filter(|_| reason == WaitReason::Throttled).map(millis);
        self.record(TraceEvent::Wait { at_ms: self.at_ms(), ms: millis(wait), reason, retry_after_ms, waiting });
    }
}

pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The query parameters whose values are plain and worth showing; any other value may be an
/// opaque token (`$skiptoken`, `$skip`, a continuation) and is written as `***`.
const PLAIN_QUERY: &[&str] = &["api-version", "$filter", "$expand", "$select", "$top", "$orderby", "$count"];

/// A URL's path and query as a trace shows it: no scheme, host or user, and the query's values
/// that may be secrets written as `***`.
pub fn route(url: &Url) -> String {
    let mut out = url.path().to_string();
    if url.query().is_some() {
        let shown: Vec<String> = url
            .query_pairs()
            .map(|(k, v)| {
                if PLAIN_QUERY.iter().any(|p| p.eq_ignore_ascii_case(&k)) {
                    format!("{k}={v}")
                } else {
                    format!("{k}=***")
                }
            })
            .collect();
        out.push('?');
        out.push_str(&shown.join("&"));
    }
    out
}

/// A route relative to a Graph version, as a batch item names it (`/roleManagement/...?...`).
pub(crate) fn relative_route(relative: &str) -> String {
    match Url::parse("http://relative.invalid").and_then(|base| base.join(relative.trim_start_matches('/'))) {
        Ok(u) => route(&u),
        Err(_) => "<unreadable route>".to_string(),
    }
}

/// Headers whose values are secrets, whatever their case.
const SECRET_HEADERS: &[&str] = &["authorization", "proxy-authorization", "cookie", "set-cookie"];

/// A header as a trace shows it. The value is read only when it is no secret: a secret's value
/// (the bearer token, in memory that is zeroed on drop) is never copied.
fn shown_header(name: &str, value: impl FnOnce() -> String) -> (String, String) {
    let value =
        if SECRET_HEADERS.iter().any(|s| s.eq_ignore_ascii_case(name)) { "<redacted>".to_string() } else { value() };
    (name.to_string(), value)
}

/// Headers as a trace shows them, secrets redacted, in order.
pub(crate) fn headers(map: &HeaderMap) -> Vec<(String, String)> {
    map.iter().map(|(k, v)| shown_header(k.as_str(), || String::from_utf8_lossy(v.as_bytes()).into_owned())).collect()
}

/// A batch item's headers as a trace shows them, secrets redacted, sorted by name.
pub(crate) fn item_headers<'a>(map: impl IntoIterator<Item = (&'a String, &'a String)>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = map.into_iter().map(|(k, v)| shown_header(k, || v.clone())).collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_keep_plain_query_values_only() {
        let u =
            Url::parse("https://user:pw@graph.example/v1.0/x?$filter=status eq 'a'&$skiptoken=SECRET&$top=5&other=Z")
                .unwrap();
        let r = route(&u);
        assert_eq!(r, "/v1.0/x?$filter=status eq 'a'&$skiptoken=***&$top=5&other=***");
        assert!(!r.contains("SECRET") && !r.contains("pw") && !r.contains("graph.example"));
        assert_eq!(relative_route("/roleManagement/a?$skiptoken=S"), "/roleManagement/a?$skiptoken=***");
    }

    #[test]
    fn secrets_in_headers_are_redacted() {
        let mut m = HeaderMap::new();
        m.insert("Authorization", "Bearer abc".parse().unwrap());
        m.insert("set-cookie", "x=y".parse().unwrap());
        m.insert("request-id", "r1".parse().unwrap());
        let shown = headers(&m);
        assert!(shown.iter().all(|(_, v)| !v.contains("abc") && v != "x=y"));
        assert!(shown.contains(&("request-id".into(), "r1".into())));
        let never_read = shown_header("AUTHORIZATION", || unreachable!("a secret's value is never copied"));
        assert_eq!(never_read.1, "<redacted>");
    }

    #[test]
    fn a_full_queue_drops_the_oldest_and_counts() {
        let t = Trace::new(TraceLevel::Waits, 2);
        for n in 0..5 {
            t.wait(Duration::from_millis(n), WaitReason::Network, None, Vec::new());
        }
        let taken = t.take();
        assert_eq!(taken.dropped, 3);
        assert_eq!(taken.events.len(), 2);
        assert!(matches!(taken.events[0], TraceEvent::Wait { ms: 3, .. }));
        assert_eq!(t.take().dropped, 0, "the count is of drops since the last take");
    }
}

//! One HTTP attempt: the request with its token, the answer read whole, and transport failures
//! named for what they mean to a caller (never reached, timed out, or lost after sending).

use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, Url, redirect};
use tokio_util::sync::CancellationToken;
use zeroize::Zeroizing;

use super::retry::{Attempt, Budget, RetryPolicy, Setback, is_retryable_status, parse_retry_after, retry};
use super::trace::{self, Trace, TraceEvent, TraceLevel};
use super::urls::Urls;
use crate::error::{ErrorKind, PimError, Result};
use crate::token::AccessToken;
use crate::wire;

/// One HTTP response, read whole: what every attempt comes back with.
#[derive(Clone, Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) request_id: Option<String>,
    /// `WWW-Authenticate`, read on a 401 to tell a challenge from an invalid token.
    pub(crate) www_authenticate: Option<String>,
    /// Whether the token sent had expired by the time the answer came (from its `exp` claim).
    pub(crate) token_expired: bool,
    pub(crate) body: Vec<u8>,
}

impl Response {
    /// The one place an answer's headers are read: `header` looks one up by name, any case.
    pub(crate) fn new(status: u16, header: impl Fn(&str) -> Option<String>, body: Vec<u8>) -> Response {
        Response {
            status,
            retry_after: header("retry-after").and_then(|v| parse_retry_after(&v, SystemTime::now())),
            request_id: header("request-id").or_else(|| header("x-ms-request-id")),
            www_authenticate: header("www-authenticate"),
            token_expired: false,
            body,
        }
    }

    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The error this answer stands for, from Graph's (and ARM's) error body.
    pub(crate) fn error(&self) -> PimError {
        let parsed: wire::ErrorBody = serde_json::from_slice(&self.body).unwrap_or_default();
        let detail = parsed.error.unwrap_or_default();
        let request_id = detail.inner_error.and_then(|i| i.request_id).or_else(|| self.request_id.clone());
        let mut e = PimError::from_service(self.status, detail.code, detail.message.unwrap_or_default(), request_id);
        if self.status == 401 {
            self.refine_unauthorized(&mut e);
        }
        e
    }

    /// A 401, told apart: a claims challenge (`TokenChallenge`, its claims kept), a token that has
    /// expired (`TokenExpired`), a token refused as invalid although it has not expired
    /// (`InvalidToken`: revoked, another tenant, a service restarted with new keys); a 401 that
    /// says nothing more stays `Unauthorized`.
    fn refine_unauthorized(&self, e: &mut PimError) {
        let challenge = self.www_authenticate.as_deref().map(auth_params).unwrap_or_default();
        let param = |name: &str| challenge.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
        let said = if e.message.starts_with("The service answered HTTP") {
            String::new()
        } else {
            format!(" ({})", e.message)
        };
        if param("error").is_some_and(|v| v.eq_ignore_ascii_case("insufficient_claims")) || param("claims").is_some() {
            e.kind = ErrorKind::TokenChallenge;
            e.claims = param("claims").map(str::to_string);
            e.message = format!(
                "The service asks for a new token that satisfies a claims challenge (Conditional Access or continuous access evaluation); sign in again with the claims it sent{said}."
            );
        } else if self.token_expired {
            e.kind = ErrorKind::TokenExpired;
            e.message = format!("The service refused the token: it has expired. Get a new one and try again{said}.");
        } else if param("error").is_some_and(|v| v.eq_ignore_ascii_case("invalid_token")) {
            e.kind = ErrorKind::InvalidToken;
            e.message = format!(
                "The service refused the token as invalid although it has not expired (revoked, for another tenant, or the service's keys changed); get a new one{said}."
            );
        }
    }

    /// The body read by `read`; what cannot be read is the service's fault, with its request-id.
    pub(crate) fn read<T>(&self, read: impl FnOnce(&[u8]) -> serde_json::Result<T>) -> Result<T> {
        read(&self.body).map_err(|e| {
            let mut err =
                PimError::new(ErrorKind::InvalidResponse, format!("The service's answer could not be read: {e}."));
            err.request_id = self.request_id.clone();
            err
        })
    }

    /// What an attempt that got this answer came to: success, worth another try, or a refusal.
    pub(crate) fn judge(self) -> Attempt<Response> {
        if self.is_success() {
            Attempt::Done(Ok(self))
        } else if is_retryable_status(self.status) {
            Attempt::Again(Setback::counted(self.error(), self.retry_after))
        } else {
            Attempt::Done(Err(self.error()))
        }
    }
}

/// The HTTP client (one connection pool), where the services are, and how to retry.
///
/// The connection pool is built on first use, not with the client: loading the platform's trust
/// store costs milliseconds, and a client that is created and freed without a call needs none.
#[derive(Debug)]
pub(crate) struct Http {
    client: OnceLock<std::result::Result<reqwest::Client, String>>,
    timeout: Duration,
    connect_timeout: Duration,
    /// The largest answer read (`maxResponseBytes`).
    pub(crate) max_response_bytes: u64,
    pub(crate) urls: Urls,
    pub(crate) retry: RetryPolicy,
}

impl Http {
    pub(crate) fn new(
        urls: Urls,
        retry: RetryPolicy,
        timeout: Duration,
        connect_timeout: Duration,
        max_response_bytes: u64,
    ) -> Result<Http> {
        Ok(Http { client: OnceLock::new(), timeout, connect_timeout, max_response_bytes, urls, retry })
    }

    /// The connection pool, built on first use.
    fn client(&self) -> Result<&reqwest::Client> {
        let built = self.client.get_or_init(|| {
            // Follow at most 5 redirects and never from https down to http. reqwest itself drops
            // the Authorization header when a redirect leaves the host.
            let policy = redirect::Policy::custom(|attempt| {
                let downgrade =
                    attempt.previous().iter().any(|u| u.scheme() == "https") && attempt.url().scheme() == "http";
                if downgrade {
                    attempt.error("refused a redirect from https to http")
                } else if attempt.previous().len() > 5 {
                    attempt.error("too many redirects")
                } else {
                    attempt.follow()
                }
            });
            reqwest::Client::builder()
                .timeout(self.timeout)
                .connect_timeout(self.connect_timeout)
                .redirect(policy)
                .user_agent(concat!("PimBridge/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| format!("Cannot create the HTTP client: {e}."))
        });
        built.as_ref().map_err(|e| PimError::new(ErrorKind::InvalidOptions, e.clone()))
    }

    /// One attempt, read whole, within what is left of the operation's `budget`. Transport
    /// failures become `Network`, `Timeout` or `ConnectionLost`; an answer over the size limit,
    /// `ResponseTooLarge` (the rest is not read).
    pub(crate) async fn execute(
        &self,
        token: &AccessToken,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
        budget: &Budget,
    ) -> Result<Response> {
        let client = self.client()?;
        let mut req = client
            .request(method, url.clone())
            .header(AUTHORIZATION, bearer_header(token)?)
            .header(ACCEPT, "application/json");
        if let Some(b) = body {
            req = req.header(CONTENT_TYPE, "application/json").body(b);
        }
        let req = req.build().map_err(|e| transport_error(&e, &url))?;
        let trace = budget.trace.as_deref().filter(|t| t.records(TraceLevel::Calls));
        let sent = trace.map(|t| (t.at_ms(), Instant::now(), req.method().to_string(), headers_of(t, req.headers())));
        let limit = budget.attempt_timeout(self.timeout);
        let outcome = match tokio::time::timeout(limit, self.exchange(client, req, &url)).await {
            Ok(answer) => answer.map(|(mut a, h)| {
                a.token_expired = token.has_expired();
                (a, h)
            }),
            Err(_) => Err(PimError::new(
                ErrorKind::Timeout,
                format!(
                    "{} did not answer within the {} s left of the operation's time budget.",
                    url.host_str().unwrap_or("the service"),
                    limit.as_secs()
                ),
            )),
        };
        if let (Some(t), Some((at_ms, started, method, request_headers))) = (trace, sent) {
            let ms = trace::millis(started.elapsed());
            let route = trace::route(&url);
            t.record(match &outcome {
                Ok((a, h)) => TraceEvent::Call {
                    at_ms,
                    method,
                    route,
                    status: Some(a.status),
                    ms,
                    request_id: a.request_id.clone(),
                    client_request_id: h.get("client-request-id").and_then(|v| v.to_str().ok()).map(str::to_string),
                    error: None,
                    request_headers,
                    response_headers: headers_of(t, h),
                },
                Err(e) => TraceEvent::Call {
                    at_ms,
                    method,
                    route,
                    status: (e.http_status != 0).then_some(e.http_status),
                    ms,
                    request_id: e.request_id.clone(),
                    client_request_id: None,
                    error: Some(format!("{:?}", e.kind)),
                    request_headers,
                    response_headers: None,
                },
            });
        }
        outcome.map(|(a, _)| a)
    }

    /// Sends `req` and reads its answer, at most `max_response_bytes` of it.
    /// The headers come back too, for a trace.
    async fn exchange(
        &self,
        client: &reqwest::Client,
        req: reqwest::Request,
        url: &Url,
    ) -> Result<(Response, HeaderMap)> {
        let mut resp = client.execute(req).await.map_err(|e| transport_error(&e, url))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let too_large = || {
            let mut e = PimError::new(
                ErrorKind::ResponseTooLarge,
                format!(
                    "{} sent an answer larger than {} bytes (maxResponseBytes); the rest was not read.",
                    url.host_str().unwrap_or("The service"),
                    self.max_response_bytes
                ),
            );
            e.http_status = status;
            e
        };
        if resp.content_length().is_some_and(|n| n > self.max_response_bytes) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| transport_error(&e, url))? {
            if (body.len() + chunk.len()) as u64 > self.max_response_bytes {
                // Dropping the response closes the connection: an endless body is cut here.
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        let answer =
            Response::new(status, |name| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string), body);
        Ok((answer, headers))
    }

    /// A GET, retried as the policy allows (a GET is safe to repeat) within the operation's
    /// budget; a success comes back.
    pub(crate) async fn get(
        &self,
        token: &AccessToken,
        url: &Url,
        budget: &Budget,
        cancel: &CancellationToken,
    ) -> Result<Response> {
        retry(&self.retry, budget, cancel, (), |()| async move {
            let outcome = super::cancellable(cancel, self.execute(token, Method::GET, url.clone(), None, budget)).await;
            ((), judge(outcome))
        })
        .await
    }
}

/// Headers for a trace that records them (secrets redacted), else nothing.
fn headers_of(trace: &Trace, headers: &HeaderMap) -> Option<Vec<(String, String)>> {
    trace.records(TraceLevel::Headers).then(|| trace::headers(headers))
}

/// The `Authorization` header, in memory that is zeroed when the last copy of the header is
/// dropped (the request's header map, and any clone of it), and marked sensitive.
fn bearer_header(token: &AccessToken) -> Result<HeaderValue> {
    let bytes = Bytes::from_owner(SecretBytes(token.bearer_bytes()));
    let mut value = HeaderValue::from_maybe_shared(bytes)
        .map_err(|_| PimError::new(ErrorKind::InvalidToken, "The access token cannot be sent in a header."))?;
    value.set_sensitive(true);
    Ok(value)
}

/// Bytes that are zeroed when dropped, as the owner of a `Bytes`.
struct SecretBytes(Zeroizing<Vec<u8>>);

impl AsRef<[u8]> for SecretBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// What an attempt came to, transport failures included: no answer at all is worth another try
/// too, unless the attempt was cancelled or refused before it left.
pub(crate) fn judge(outcome: Result<Response>) -> Attempt<Response> {
    match outcome {
        Ok(answer) => answer.judge(),
        Err(e) if is_transient(&e) => Attempt::Again(Setback::counted(e, None)),
        Err(e) => Attempt::Done(Err(e)),
    }
}

/// No answer came, for a reason that may pass: unreachable, too slow, or the connection lost.
pub(crate) fn is_transient(e: &PimError) -> bool {
    matches!(e.kind, ErrorKind::Network | ErrorKind::Timeout | ErrorKind::ConnectionLost)
}

/// The `key="value"` (or `key=value`) parameters of a `WWW-Authenticate` header, any scheme.
fn auth_params(header: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = header;
    while let Some(eq) = rest.find('=') {
        let key = rest[..eq].rsplit([' ', ',']).next().unwrap_or_default().trim().to_string();
        let after = rest[eq + 1..].trim_start();
        let (value, tail) = match after.strip_prefix('"') {
            Some(quoted) => match quoted.find('"') {
                Some(end) => (&quoted[..end], &quoted[end + 1..]),
                None => (quoted, ""),
            },
            None => after.split_once(',').unwrap_or((after, "")),
        };
        if !key.is_empty() {
            out.push((key, value.trim().to_string()));
        }
        rest = tail;
    }
    out
}

fn transport_error(e: &reqwest::Error, url: &Url) -> PimError {
    let host = url.host_str().unwrap_or("the service");
    if e.is_timeout() {
        PimError::new(ErrorKind::Timeout, format!("{host} did not answer in time."))
    } else if e.is_redirect() {
        PimError::new(ErrorKind::Network, format!("Refused a redirect from {host}: {}", source_chain(e)))
    } else if e.is_connect() {
        // Nobody answered at all: a down or wrong endpoint.
        PimError::new(ErrorKind::Network, format!("Cannot reach {host}: {}", source_chain(e)))
    } else {
        // Connected, then lost: the request may or may not have been acted on.
        PimError::new(
            ErrorKind::ConnectionLost,
            format!("The connection to {host} was lost before its answer came: {}", source_chain(e)),
        )
    }
}

/// The error and its causes, e.g. "error sending request: connection refused". No URLs with
/// secrets can appear: tokens travel in headers, never in URLs.
fn source_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        parts.push(s.to_string());
        cur = s.source();
    }
    parts.dedup();
    parts.join(": ")
}

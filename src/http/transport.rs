//! One HTTP attempt: the request with its token, the answer read whole, and transport failures
//! named for what they mean to a caller (never reached, timed out, or lost after sending).

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use reqwest::{Method, Url, redirect};
use tokio_util::sync::CancellationToken;

use super::retry::{Attempt, RetryPolicy, Setback, is_retryable_status, parse_retry_after, retry};
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
    pub(crate) body: Vec<u8>,
}

impl Response {
    /// The one place an answer's headers are read: `header` looks one up by name, any case.
    pub(crate) fn new(status: u16, header: impl Fn(&str) -> Option<String>, body: Vec<u8>) -> Response {
        Response {
            status,
            retry_after: header("retry-after").and_then(|v| parse_retry_after(&v, SystemTime::now())),
            request_id: header("request-id").or_else(|| header("x-ms-request-id")),
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
        PimError::from_service(self.status, detail.code, detail.message.unwrap_or_default(), request_id)
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
    pub(crate) urls: Urls,
    pub(crate) retry: RetryPolicy,
}

impl Http {
    pub(crate) fn new(urls: Urls, retry: RetryPolicy, timeout: Duration, connect_timeout: Duration) -> Result<Http> {
        Ok(Http { client: OnceLock::new(), timeout, connect_timeout, urls, retry })
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

    /// One attempt, read whole. Transport failures become `Network`, `Timeout` or `ConnectionLost`.
    pub(crate) async fn execute(
        &self,
        token: &AccessToken,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
    ) -> Result<Response> {
        let mut req = self
            .client()?
            .request(method, url.clone())
            .header(reqwest::header::AUTHORIZATION, token.bearer().as_str())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(b) = body {
            req = req.header(reqwest::header::CONTENT_TYPE, "application/json").body(b);
        }
        let resp = req.send().await.map_err(|e| transport_error(&e, &url))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(|e| transport_error(&e, &url))?.to_vec();
        Ok(Response::new(status, |name| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string), body))
    }

    /// A GET, retried as the policy allows (a GET is safe to repeat); a success comes back.
    pub(crate) async fn get(&self, token: &AccessToken, url: &Url, cancel: &CancellationToken) -> Result<Response> {
        retry(&self.retry, cancel, (), |()| async move {
            let outcome = super::cancellable(cancel, self.execute(token, Method::GET, url.clone(), None)).await;
            ((), judge(outcome))
        })
        .await
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

//! The client: lists what waits on the signed-in approver and decides it, on every surface, over
//! Microsoft Graph and Azure Resource Manager. A thin front: the surfaces say where to go
//! (`surface/`), the HTTP layer goes there (`http/`), and deciding has its own room (`decide/`).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use crate::decide::Tokens;
use crate::decide::{decide_many, decide_pushed, single};
use crate::error::{ErrorKind, PimError, Result};
use crate::http::transport::Http;
use crate::http::urls::Urls;
use crate::listing::{self, Refusals};
use crate::model::{DecisionOutcome, DecisionRequest, DecisionTarget, ListError, PendingRequest, Review};
pub use crate::options::{ClientOptions, ListOptions};
use crate::token::AccessToken;
use crate::validate::{Justification, service_uri};

/// A connection to Graph and ARM: one HTTP client (connection pool) reused by every call.
#[derive(Debug)]
pub struct PimClient {
    http: Http,
    options: ClientOptions,
    /// The list query options each service refused, remembered for the client's life.
    refusals: Refusals,
}

impl PimClient {
    pub fn new(options: ClientOptions) -> Result<PimClient> {
        let urls = Urls {
            graph: service_uri(&options.graph_uri, "The Graph URI")?,
            arm: service_uri(&options.arm_uri, "The ARM URI")?,
        };
        if options.max_concurrency == 0 || options.max_concurrency > 64 {
            return Err(PimError::new(ErrorKind::InvalidOptions, "maxConcurrency must be between 1 and 64."));
        }
        if options.timeout_ms == 0 || options.connect_timeout_ms == 0 {
            return Err(PimError::new(ErrorKind::InvalidOptions, "Timeouts must be greater than zero."));
        }
        let timeout = Duration::from_millis(options.timeout_ms);
        let connect_timeout = Duration::from_millis(options.connect_timeout_ms);
        let http = Http::new(urls, options.retry, timeout, connect_timeout, options.max_response_bytes)?;
        Ok(PimClient { http, options, refusals: Refusals::default() })
    }

    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// Lists every request of one surface waiting on the signed-in approver, page by page, names
    /// expanded in the same call; where the service refuses `$expand` or `$top`, listed again
    /// without it and the names looked up in bulk (`listing.rs`). `on_page` sees each page as it
    /// arrives; a listed item that cannot be read is left out (see
    /// [`PimClient::list_pending_items`]). Returns the count.
    pub async fn list_pending(
        &self,
        token: &AccessToken,
        options: &ListOptions,
        cancel: &CancellationToken,
        mut on_page: impl FnMut(Vec<PendingRequest>),
    ) -> Result<usize> {
        self.list_pending_items(token, options, cancel, |items| {
            on_page(items.into_iter().filter_map(|i| i.ok()).collect())
        })
        .await
    }

    /// Like [`PimClient::list_pending`], with each item that could not be read or checked (a date
    /// that is no date, a duration out of range, a field of the wrong type) as its own error; the
    /// rest of the listing goes on. Returns the count, bad items included. A next link already
    /// followed ends the listing with `PagingLoop`, more than `maxPages` pages with `TooManyPages`.
    // Each item is a value in a list, not an error passed up with `?`: its size does not matter.
    #[allow(clippy::result_large_err)]
    pub async fn list_pending_items(
        &self,
        token: &AccessToken,
        options: &ListOptions,
        cancel: &CancellationToken,
        mut on_page: impl FnMut(Vec<std::result::Result<PendingRequest, ListError>>),
    ) -> Result<usize> {
        listing::list_pending(&self.http, &self.refusals, self.options.max_pages, token, options, cancel, &mut on_page)
            .await
    }

    /// Decides one request: read its approval, pick the step (stage) that is mine, unreviewed and
    /// in progress, and send the decision to it. An attempt whose outcome is unknown (timeout,
    /// reset, 5xx, 429) is never blindly repeated: the approval is read again first, and if our
    /// decision is there it is reported as made. Returns the step id.
    pub async fn decide(
        &self,
        token: &AccessToken,
        target: &DecisionTarget,
        review: Review,
        justification: &Justification,
        cancel: &CancellationToken,
    ) -> Result<String> {
        single::decide_one(&self.http, token, target, review, justification, cancel).await
    }

    /// Decides many requests, of any surfaces, with bounded concurrency and one time budget;
    /// `on_outcome` sees each as it completes, once per request. A request named twice is decided
    /// once (the others are `Duplicate`); a request without a surface is found first. A token that
    /// cannot decide a surface present in `targets` fails the whole call before anything is sent.
    pub async fn decide_many<T: Into<DecisionRequest>>(
        &self,
        tokens: &Tokens,
        targets: Vec<T>,
        review: Review,
        justification: &Justification,
        cancel: &CancellationToken,
        on_outcome: impl FnMut(DecisionOutcome),
    ) -> Result<()> {
        let concurrency = self.options.max_concurrency;
        let requests = targets.into_iter().map(Into::into).collect();
        decide_many(&self.http, concurrency, tokens, requests, review, justification, cancel, on_outcome).await
    }

    /// Decides requests as they arrive on `input` (each message one push), until its sender is
    /// dropped and every request is reported. Per Graph surface, a unit leaves when it holds
    /// twenty, when `lingerMs` has passed since its first request, or at the close; an Azure
    /// request leaves at once. Indexes run on across pushes, in arrival order; a request named
    /// again, in any push, is `Duplicate`. A request whose surface the tokens cannot decide fails
    /// alone (nothing is sent for it); the call does not. Each unit has its own time budget from
    /// when it leaves. When `cancel` fires, the input is closed (later sends fail), nothing more is
    /// sent, every request pushed before is still reported, and the call ends with `Cancelled`.
    pub async fn decide_stream(
        &self,
        tokens: &Tokens,
        input: tokio::sync::mpsc::UnboundedReceiver<Vec<DecisionRequest>>,
        review: Review,
        justification: &Justification,
        cancel: &CancellationToken,
        on_outcome: impl FnMut(DecisionOutcome),
    ) -> Result<()> {
        let linger = Duration::from_millis(self.options.linger_ms);
        let concurrency = self.options.max_concurrency;
        decide_pushed(&self.http, concurrency, linger, tokens, input, review, justification, cancel, on_outcome).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insecure_uris_and_bad_limits_are_refused() {
        let o = ClientOptions::from_json(Some("{\"graphUri\":\"http://example.com\"}")).unwrap();
        assert_eq!(PimClient::new(o).unwrap_err().kind, ErrorKind::InsecureUri);
        let o = ClientOptions::from_json(Some("{\"maxConcurrency\":0}")).unwrap();
        assert_eq!(PimClient::new(o).unwrap_err().kind, ErrorKind::InvalidOptions);
        assert!(PimClient::new(ClientOptions::default()).is_ok());
    }
}

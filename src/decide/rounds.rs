//! Batched rounds: up to twenty requests of one Graph surface decided together. Each round reads,
//! in one batch, every approval that needs reading, then sends, in a second batch, every decision
//! whose open step is known. Each item's own status counts: only items that came back 429 (after
//! their own `Retry-After`), 5xx or unanswered go round again, and are read again before being
//! re-sent, so no decision is sent twice; other 4xx become per-request errors.

use tokio_util::sync::CancellationToken;

use super::steps::{AfterRead, AfterSend, after_read, after_send, refuse_own_request, review_body};
use crate::error::{ErrorKind, PimError, Result};
use crate::http::batch::{BatchItem, send_batch};
use crate::http::retry::{Attempt, Budget, Setback, retry};
use crate::http::transport::{Http, judge};
use crate::model::{DecisionOutcome, DecisionTarget, Review};
use crate::surface::api::DecisionRoute;
use crate::token::AccessToken;
use crate::validate::Justification;

/// Where one request of a batch stands.
enum ItemState {
    /// Its approval must be read (first, or again after a send of unknown outcome).
    NeedsRead,
    /// Its open step is known: send the decision to it.
    ReadyToSend(String),
    /// Finished: the step decided, or why not.
    Settled(Result<String>),
}

struct Item {
    index: usize,
    target: DecisionTarget,
    /// `None` only for an item settled before any call (an invalid id, my own request).
    route: Option<DecisionRoute>,
    state: ItemState,
    /// Decisions sent for it (the outcome of the last may be unknown).
    sends: u32,
    last_error: Option<PimError>,
}

/// What every round needs to know, whatever its items.
struct Round<'a> {
    http: &'a Http,
    token: &'a AccessToken,
    version: &'a str,
    review: Review,
    me: Option<&'a str>,
    budget: &'a Budget,
    cancel: &'a CancellationToken,
}

/// Decides up to `MAX_BATCH` requests of one surface, batched under Graph `version`. While the
/// service answers, only the time budget limits the rounds (it is alive, and each round settles
/// or retries items on its word); rounds it leaves silent count towards the attempt limit, and
/// rounds in which it cannot be reached at all end it sooner.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn decide_in_batches(
    http: &Http,
    token: &AccessToken,
    version: &str,
    chunk: Vec<(usize, DecisionTarget)>,
    review: Review,
    justification: &Justification,
    budget: &Budget,
    cancel: &CancellationToken,
) -> Vec<DecisionOutcome> {
    let me = token.claims().and_then(|c| c.object_id);
    let body = review_body(review, justification);
    let mut items: Vec<Item> = chunk
        .into_iter()
        .map(|(index, target)| {
            let api = target.surface.api();
            let route = api.decision_route(&http.urls, &target.approval_id, &body);
            let (route, state) = match route.and_then(|r| refuse_own_request(&target, me.as_deref()).map(|()| r)) {
                Ok(r) => (Some(r), ItemState::NeedsRead),
                Err(e) => (None, ItemState::Settled(Err(e))),
            };
            Item { index, target, route, state, sends: 0, last_error: None }
        })
        .collect();
    let round = &Round { http, token, version, review, me: me.as_deref(), budget, cancel };
    // The rounds end when every item is settled, or when the retry policy gives up; either way
    // each item's outcome is in `items`.
    let _ = retry(&http.retry, budget, cancel, &mut items, |items| async move {
        let outcome = round.run(items).await;
        (items, outcome)
    })
    .await;
    items.into_iter().map(|it| finish(it, review, cancel)).collect()
}

impl Round<'_> {
    /// One round: read what needs reading, send what can be sent.
    async fn run(&self, items: &mut [Item]) -> Attempt<()> {
        let mut wait = None;
        let mut answered = false;
        let mut reached = false;
        let reads: Vec<BatchItem> = items
            .iter()
            .enumerate()
            .filter_map(|(n, it)| match (&it.state, &it.route) {
                (ItemState::NeedsRead, Some(route)) => Some(BatchItem::get(n, self.relative(&route.approval))),
                _ => None,
            })
            .collect();
        if !reads.is_empty() {
            let (replies, was_reached) =
                send_batch(self.http, self.token, self.version, reads, self.budget, self.cancel, None).await;
            reached |= was_reached;
            for (id, reply) in replies {
                let Some(it) = id.parse::<usize>().ok().and_then(|n| items.get_mut(n)) else { continue };
                answered |= reply.is_ok();
                match judge(reply) {
                    Attempt::Done(Ok(answer)) => {
                        let api = it.target.surface.api();
                        it.state = match answer.read(|b| api.read_approval(b)) {
                            Ok(approval) => match after_read(&approval, self.review, it.sends > 0, self.me) {
                                AfterRead::Send(step) => ItemState::ReadyToSend(step),
                                AfterRead::Settled(r) => ItemState::Settled(r),
                            },
                            Err(e) => ItemState::Settled(Err(e)),
                        };
                    }
                    Attempt::Done(Err(e)) => it.state = ItemState::Settled(Err(e)),
                    Attempt::Again(setback) => {
                        wait = wait.max(setback.retry_after);
                        it.last_error = Some(setback.error);
                    }
                }
            }
        }
        if self.cancel.is_cancelled() {
            return Attempt::Done(Ok(()));
        }
        let sends: Vec<BatchItem> = items
            .iter()
            .enumerate()
            .filter_map(|(n, it)| match (&it.state, &it.route) {
                (ItemState::ReadyToSend(step), Some(route)) => {
                    Some(BatchItem::with_json(n, &route.method, self.relative(&route.step_url(step)), &route.body))
                }
                _ => None,
            })
            .collect();
        if !sends.is_empty() {
            for it in items.iter_mut().filter(|it| matches!(it.state, ItemState::ReadyToSend(_))) {
                it.sends += 1;
            }
            let (replies, was_reached) =
                send_batch(self.http, self.token, self.version, sends, self.budget, self.cancel, None).await;
            reached |= was_reached;
            for (id, reply) in replies {
                let Some(it) = id.parse::<usize>().ok().and_then(|n| items.get_mut(n)) else { continue };
                answered |= reply.is_ok();
                let ItemState::ReadyToSend(step) = &it.state else { continue };
                it.state = match after_send(reply, it.sends) {
                    AfterSend::Decided => ItemState::Settled(Ok(step.clone())),
                    AfterSend::ReadAgain(setback) => {
                        wait = wait.max(setback.retry_after);
                        it.last_error = Some(setback.error);
                        ItemState::NeedsRead
                    }
                    AfterSend::Failed(e) => ItemState::Settled(Err(e)),
                };
            }
        }
        let open = items.iter().filter(|it| !matches!(it.state, ItemState::Settled(_))).count();
        if open == 0 || self.cancel.is_cancelled() {
            return Attempt::Done(Ok(()));
        }
        Attempt::Again(Setback { error: not_in_time(), retry_after: wait, counts: !answered, unreachable: !reached })
    }

    /// A URL as batch items carry them: relative to `/{version}`.
    fn relative(&self, url: &reqwest::Url) -> String {
        self.http.urls.graph_relative(url, self.version)
    }
}

fn not_in_time() -> PimError {
    PimError::new(ErrorKind::ServiceError, "The service did not complete this request in time.")
}

/// An item's outcome once the rounds are over.
fn finish(it: Item, review: Review, cancel: &CancellationToken) -> DecisionOutcome {
    let result = match it.state {
        ItemState::Settled(r) => r,
        _ if cancel.is_cancelled() => {
            Err(PimError::new(ErrorKind::Cancelled, "The operation was cancelled before this request was decided."))
        }
        _ => Err(it.last_error.unwrap_or_else(not_in_time)),
    };
    DecisionOutcome::new(it.index, it.target, review, result)
}

//! Rounds: the requests of one unit of work (up to twenty of one Graph surface, carried in JSON
//! batches; or one request, carried alone) decided together. Each round reads every approval
//! that needs reading, then sends every decision whose open step is known. What each answer
//! means is the item's to judge (`item.rs`); a round only carries, and says how long to wait
//! before the next. Only items that came back 429 (after their own `Retry-After`), 5xx, 404 (a
//! replication delay) or unanswered go round again, and a decision whose outcome is unknown is
//! read again before anything else, so no decision is sent twice blindly.
//!
//! Cancelling: no read or send starts after a cancel; decisions already on the wire are waited
//! for a short grace (`cancelGraceMs`), so that what the service applied is reported applied.
//! Those still unanswered then (or whose connection was lost) have their approvals read once
//! more, within `cancelReadMs` and past the cancel, and are reported applied when the read shows
//! our decision, `AlreadyDecided` when it shows another, and unknown otherwise
//! (`read_after_cancel`). Nothing is sent after a cancel.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use reqwest::Method;
use tokio_util::sync::CancellationToken;

use super::item::{Ctx, Item, State};
use super::refusal::explain_refusal;
use crate::error::{ErrorKind, PimError, Result};
use crate::http::batch::{BatchItem, Reply, send_batch};
use crate::http::retry::{Attempt, Budget, Setback, retry};
use crate::http::transport::Http;
use crate::http::{cancellable, with_grace};
use crate::model::DecisionTarget;
use crate::token::AccessToken;

/// How a unit's requests travel.
#[derive(Clone, Copy)]
pub(crate) enum Carrier {
    /// In Graph JSON batches under this version, up to twenty at a time.
    Batch(&'static str),
    /// Each request on its own (ARM, which has no batching; or one decision alone).
    Direct,
}

/// Runs the rounds of one unit until every item is settled, the budget is spent or the run is
/// cancelled; returns each item's result.
pub(crate) async fn decide_unit(
    ctx: &Ctx<'_>,
    token: &AccessToken,
    carrier: Carrier,
    mut items: Vec<Item>,
    budget: &Budget,
    cancel: &CancellationToken,
) -> Vec<(usize, DecisionTarget, Result<String>)> {
    if cancel.is_cancelled() {
        return items.into_iter().map(|it| it.finish(true)).collect();
    }
    if budget.remaining().is_zero() {
        let spent = PimError::new(
            ErrorKind::Timeout,
            "The operation's time budget was spent before this request's turn came; nothing was sent.",
        );
        return items
            .into_iter()
            .map(|it| {
                let settled = it.is_settled();
                let (i, t, r) = it.finish(false);
                (i, t, if settled { r } else { Err(spent.clone()) })
            })
            .collect();
    }
    let round = &Round { ctx, token, carrier, budget, cancel };
    // The rounds end when every item is settled, or when the retry policy gives up; either way
    // each item's outcome is in `items`.
    let _ = retry(&ctx.http.retry, budget, cancel, &mut items, |items| async move {
        let outcome = round.run(items).await;
        (items, outcome)
    })
    .await;
    if cancel.is_cancelled() {
        read_after_cancel(ctx, token, carrier, &mut items, budget).await;
    }
    // A decision the service refused may have been refused for expiry or self-approval: say which.
    for it in items.iter_mut().filter(|it| it.sends > 0) {
        if let (State::Settled(Err(e)), Some(route)) = (&mut it.state, &it.route) {
            *e = explain_refusal(ctx, token, &it.target, route, e.clone(), budget, cancel).await;
        }
    }
    let cancelled = cancel.is_cancelled();
    items.into_iter().map(|it| it.finish(cancelled)).collect()
}

/// After a cancel: the approvals of the items whose decision's outcome is unknown (a batch left
/// unanswered past the grace, a connection lost) are read once more, in one Graph `$batch` or one
/// GET each, within `cancelReadMs` of its own and not stopped by the cancel (nothing is decided by
/// reading; nothing is sent after it). Each item judges what its read shows as after any read of
/// an unknown outcome (`Item::on_read`): our decision on its step (ours by reviewer, result and
/// justification) settles it applied; a step decided by someone else, the other way or in another
/// run settles it `AlreadyDecided`; a step still open (the read may be stale), a failed read or no
/// answer in time leaves it unknown.
async fn read_after_cancel(ctx: &Ctx<'_>, token: &AccessToken, carrier: Carrier, items: &mut [Item], budget: &Budget) {
    let limit = Duration::from_millis(ctx.http.retry.cancel_read_ms);
    let reads: Vec<(usize, reqwest::Url)> = items
        .iter()
        .enumerate()
        .filter(|(_, it)| it.outcome_is_unknown())
        .filter_map(|(n, it)| it.route.as_ref().map(|r| (n, r.approval.clone())))
        .collect();
    if reads.is_empty() || limit.is_zero() {
        return;
    }
    for (n, _) in &reads {
        items[*n].reading_after_cancel();
    }
    let in_flight = reads.len();
    // Its own bound, and a cancel token no one fires.
    let (bounded, uncancelled) = (budget.bounded(limit), CancellationToken::new());
    let read = read_approvals(ctx.http, token, carrier, reads, &bounded, &uncancelled, in_flight);
    // No answer in time: each stays unknown.
    let Ok((replies, _)) = tokio::time::timeout(limit, read).await else { return };
    for (n, reply) in replies {
        items[n].on_read(reply, ctx, &ctx.http.retry);
    }
}

struct Round<'a> {
    ctx: &'a Ctx<'a>,
    token: &'a AccessToken,
    carrier: Carrier,
    budget: &'a Budget,
    cancel: &'a CancellationToken,
}

impl Round<'_> {
    /// One round: read what needs reading, send what can be sent.
    async fn run(&self, items: &mut [Item]) -> Attempt<()> {
        let policy = &self.ctx.http.retry;
        let mut wait: Option<Duration> = None;
        let (mut answered, mut reached) = (false, false);
        let reads: Vec<(usize, reqwest::Url)> = items
            .iter()
            .enumerate()
            .filter_map(|(n, it)| match (&it.state, &it.route) {
                (State::NeedsRead, Some(route)) => Some((n, route.approval.clone())),
                _ => None,
            })
            .collect();
        if !reads.is_empty() && !self.cancel.is_cancelled() {
            let (replies, was_reached) = self.read(reads).await;
            reached |= was_reached;
            for (n, reply) in replies {
                answered |= reply.is_ok();
                self.note_pushback(&reply);
                wait = wait.max(items[n].on_read(reply, self.ctx, policy));
            }
        }
        let mut sends = Vec::new();
        if !self.cancel.is_cancelled() {
            for (n, it) in items.iter_mut().enumerate() {
                if let (State::ReadyToSend(step), Some(route)) = (&it.state, &it.route) {
                    let url = route.step_url(step);
                    if let Some((method, body)) = it.send_form() {
                        sends.push((n, method, url, body));
                        it.sends += 1;
                    }
                }
            }
        }
        if !sends.is_empty() {
            let (replies, was_reached) = self.send(sends).await;
            reached |= was_reached;
            for (n, reply) in replies {
                answered |= reply.is_ok();
                self.note_pushback(&reply);
                wait = wait.max(items[n].on_send(reply, self.ctx));
            }
        }
        if items.iter().all(Item::is_settled) || self.cancel.is_cancelled() {
            return Attempt::Done(Ok(()));
        }
        let error = PimError::new(ErrorKind::ServiceError, "The service did not complete this request in time.");
        let reasons = items.iter().filter(|it| !it.is_settled()).map(Item::wait_reason);
        Attempt::Again(Setback::round(error, wait, !answered, !reached, reasons))
    }

    /// A 429 or a 503 tells the run to slow down (`pace.rs`).
    fn note_pushback(&self, reply: &Reply) {
        if matches!(reply, Ok(a) if a.status == 429 || a.status == 503) {
            self.ctx.pushed_back.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Reads approvals; a cancel drops the reads at once (nothing is decided by reading).
    async fn read(&self, reads: Vec<(usize, reqwest::Url)>) -> (Vec<(usize, Reply)>, bool) {
        read_approvals(self.ctx.http, self.token, self.carrier, reads, self.budget, self.cancel, 1).await
    }

    /// Sends decisions; after a cancel, those on the wire are waited for a short grace.
    async fn send(&self, sends: Vec<(usize, Method, reqwest::Url, Vec<u8>)>) -> (Vec<(usize, Reply)>, bool) {
        let http = self.ctx.http;
        let grace = Duration::from_millis(http.retry.cancel_grace_ms);
        match self.carrier {
            Carrier::Batch(version) => {
                let batch = sends.iter().map(|(n, method, url, body)| {
                    BatchItem::with_json(*n, method, http.urls.graph_relative(url, version), body)
                });
                let (replies, reached) =
                    send_batch(http, self.token, version, batch.collect(), self.budget, self.cancel, Some(grace)).await;
                (by_index(replies), reached)
            }
            Carrier::Direct => {
                let mut out = Vec::new();
                let mut reached = false;
                for (n, method, url, body) in sends {
                    let send = http.execute(self.token, method, url, Some(body), self.budget);
                    let reply = with_grace(self.cancel, grace, send).await;
                    reached |= !matches!(&reply, Err(e) if e.kind == ErrorKind::Network);
                    out.push((n, reply));
                }
                (out, reached)
            }
        }
    }
}

/// Reads approvals, one attempt each: in one Graph `$batch` (at most twenty reads, the caller's
/// to keep), or one GET each with at most `in_flight` at a time. Returns each reply by the index
/// it was given, and whether the service was reached at all. A cancel drops the reads at once
/// (nothing is decided by reading). Shared by the decision rounds and the listing's stages.
pub(crate) async fn read_approvals(
    http: &Http,
    token: &AccessToken,
    carrier: Carrier,
    reads: Vec<(usize, reqwest::Url)>,
    budget: &Budget,
    cancel: &CancellationToken,
    in_flight: usize,
) -> (Vec<(usize, Reply)>, bool) {
    match carrier {
        Carrier::Batch(version) => {
            let batch = reads.iter().map(|(n, url)| BatchItem::get(*n, http.urls.graph_relative(url, version)));
            let (replies, reached) = send_batch(http, token, version, batch.collect(), budget, cancel, None).await;
            (by_index(replies), reached)
        }
        Carrier::Direct => {
            let out: Vec<(usize, Reply)> = futures::stream::iter(reads)
                .map(|(n, url)| async move {
                    (n, cancellable(cancel, http.execute(token, Method::GET, url, None, budget)).await)
                })
                .buffered(in_flight.max(1))
                .collect()
                .await;
            let reached = out.iter().any(|(_, reply)| !matches!(reply, Err(e) if e.kind == ErrorKind::Network));
            (out, reached)
        }
    }
}

/// Batch replies by the position of their item (the batch item ids are positions).
fn by_index(replies: HashMap<String, Reply>) -> Vec<(usize, Reply)> {
    replies.into_iter().filter_map(|(id, reply)| id.parse().ok().map(|n| (n, reply))).collect()
}

//! The one decision machinery: requests arrive on a channel, in pushes, and leave in units as
//! soon as they can. Per Graph surface, a unit leaves when it holds twenty requests, when the
//! linger has passed since its first request, or when the input is closed; an Azure request
//! leaves alone at once. Ids that name no surface wait the same way in one group, and the group
//! is looked for (`find.rs`); what is found joins its surface's unit. Every request is indexed in
//! arrival order (across pushes), decided once (`Duplicate` for the same request again, however
//! late it comes), and reported once.
//!
//! `decide_many` is this machinery with every request pushed and the input closed before it
//! starts (and no linger: everything is known; a unit that is not full waits only for the ids
//! still being looked for, which may join it).
//!
//! Cancelling closes the input: what was pushed before is still reported (`Cancelled`, as nothing
//! more is sent), and a push after it is refused by the channel.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::find;
use super::item::{Ctx, Item};
use super::pace::Pace;
use super::rounds::{Carrier, decide_unit};
use super::{Tokens, outcome, probe_surfaces, same_request_key, target};
use crate::error::{ErrorKind, PimError, Result};
use crate::http::batch::MAX_BATCH;
use crate::http::retry::Budget;
use crate::http::transport::Http;
use crate::model::{DecisionOutcome, DecisionRequest, DecisionTarget, Review, Surface};
use crate::validate::{Justification, printable};

/// How a run draws on the time budget (`retry.budgetMs`).
#[derive(Clone, Copy)]
pub(crate) enum Budgeting {
    /// One budget for the whole run, from its start (every request known up front).
    Run,
    /// One budget per unit, from when it leaves: a stream may stay open as long as its caller
    /// pushes (a console waiting on a person), so no budget can cover it whole.
    PerUnit,
}

/// How a run is set up.
pub(crate) struct Setup<'a> {
    pub(crate) http: &'a Http,
    pub(crate) max_concurrency: usize,
    /// How long a unit that is not full waits for more, from its first request; `None`: until the
    /// input is closed.
    pub(crate) linger: Option<Duration>,
    pub(crate) budgeting: Budgeting,
    pub(crate) tokens: &'a Tokens,
    pub(crate) review: Review,
    pub(crate) justification: &'a Justification,
    pub(crate) cancel: &'a CancellationToken,
}

/// Requests waiting to leave together, and when the first of them came.
struct Waiting<T> {
    since: Option<Instant>,
    items: Vec<(usize, T)>,
}

impl<T> Default for Waiting<T> {
    fn default() -> Self {
        Waiting { since: None, items: Vec::new() }
    }
}

impl<T> Waiting<T> {
    fn add(&mut self, index: usize, item: T) {
        self.since.get_or_insert_with(Instant::now);
        self.items.push((index, item));
    }

    fn full(&self) -> bool {
        self.items.len() >= MAX_BATCH
    }

    fn take(&mut self) -> Vec<(usize, T)> {
        self.since = None;
        std::mem::take(&mut self.items)
    }

    fn deadline(&self, linger: Option<Duration>) -> Option<Instant> {
        Some(self.since? + linger?)
    }
}

/// One unit of decision work: up to twenty requests of one batching surface, or one alone.
enum Work {
    Batch { surface: Surface, version: &'static str, chunk: Vec<(usize, DecisionTarget)> },
    Single(usize, DecisionTarget),
}

/// What a task of the run gives back.
enum Done {
    /// A unit's results, whether the service pushed back on it (429 or 503), and the pacing
    /// generation it started in.
    Unit(Vec<(usize, DecisionTarget, Result<String>)>, bool, u64),
    /// A group whose surfaces were looked for.
    Found(Vec<(usize, DecisionRequest, Result<Surface>)>),
}

/// Decides what arrives on `input` (each message one push of requests) until it is closed and
/// every request is reported; `on_outcome` sees each request once, as it is known. A request whose
/// surface the tokens cannot decide (or, for an id without a surface, no Graph surface) fails at
/// once with why, and nothing is sent for it. When `cancel` fires, the input is closed, nothing
/// more is sent, and every request pushed is still reported; the call then ends `Cancelled`.
pub(crate) async fn decide_stream(
    setup: &Setup<'_>,
    mut input: UnboundedReceiver<Vec<DecisionRequest>>,
    mut on_outcome: impl FnMut(DecisionOutcome),
) -> Result<()> {
    let Setup { http, tokens, review, cancel, linger, .. } = *setup;
    let run_budget = Budget::start(&http.retry);
    // Every token is checked once, at the start, against every surface.
    let checks: HashMap<Surface, Result<()>> =
        Surface::ALL.into_iter().map(|s| (s, tokens.for_surface(s).and_then(|t| s.check_token(t, true)))).collect();
    let probe = probe_surfaces(tokens);
    let form_taken = &AtomicUsize::new(0);
    let candidates: Vec<Surface> = probe.clone().unwrap_or_default();
    let candidates = &candidates[..];

    let mut next_index = 0usize;
    let mut first_at: HashMap<String, usize> = HashMap::new();
    let mut batches: BTreeMap<Surface, Waiting<DecisionTarget>> = BTreeMap::new();
    let mut unknown: Waiting<DecisionRequest> = Waiting::default();
    let mut ready_batches: VecDeque<Work> = VecDeque::new();
    let mut ready_singles: VecDeque<Work> = VecDeque::new();
    let mut finding = 0usize;
    let mut running: FuturesUnordered<BoxFuture<'_, Done>> = FuturesUnordered::new();
    let mut pace = Pace::new(setup.max_concurrency);
    let mut open = true;
    let mut input_closed = false;
    let mut units_running = 0usize;

    let budget_now = || match setup.budgeting {
        Budgeting::Run => run_budget.clone(),
        Budgeting::PerUnit => Budget::start(&http.retry),
    };
    let mut arrived: VecDeque<Vec<DecisionRequest>> = VecDeque::new();

    // A request of a known surface joins its unit, or leaves alone; or fails at once when the
    // tokens cannot decide its surface.
    let place = |index: usize,
                 t: DecisionTarget,
                 batches: &mut BTreeMap<Surface, Waiting<DecisionTarget>>,
                 ready_batches: &mut VecDeque<Work>,
                 ready_singles: &mut VecDeque<Work>|
     -> Option<DecisionOutcome> {
        if let Some(Err(e)) = checks.get(&t.surface) {
            return Some(outcome(index, t, review, Err(e.clone())));
        }
        match t.surface.batch_version() {
            Some(version) => {
                let surface = t.surface;
                let waiting = batches.entry(surface).or_default();
                waiting.add(index, t);
                if waiting.full() {
                    ready_batches.push_back(Work::Batch { surface, version, chunk: waiting.take() });
                }
            }
            None => ready_singles.push_back(Work::Single(index, t)),
        }
        None
    };

    loop {
        if cancel.is_cancelled() && !input_closed {
            // Nothing more is taken in; what was pushed before is still reported.
            input.close();
            input_closed = true;
        }
        // Take in every push that has arrived.
        while open || !arrived.is_empty() {
            let push = match arrived.pop_front().map_or_else(|| input.try_recv(), Ok) {
                Ok(push) => push,
                Err(tokio::sync::mpsc::error::TryRecvError::Empty) => break,
                Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => {
                    open = false;
                    break;
                }
            };
            for request in push {
                let index = next_index;
                next_index += 1;
                match first_at.entry(same_request_key(&request)) {
                    Entry::Occupied(first) => {
                        let e = PimError::new(
                            ErrorKind::Duplicate,
                            format!(
                                "The same request as #{} of this run (approval '{}'): decided once, there; not sent again.",
                                first.get(),
                                printable(request.approval_id.trim())
                            ),
                        );
                        let surface = request.surface.unwrap_or_else(|| Surface::for_approval_id(&request.approval_id));
                        on_outcome(outcome(index, target(request, surface), review, Err(e)));
                        continue;
                    }
                    Entry::Vacant(slot) => {
                        slot.insert(index);
                    }
                }
                let surface = request
                    .surface
                    .or_else(|| request.approval_id.trim().starts_with('/').then_some(Surface::AzureResource));
                match (surface, &probe) {
                    (Some(surface), _) => {
                        let t = target(request, surface);
                        if let Some(o) = place(index, t, &mut batches, &mut ready_batches, &mut ready_singles) {
                            on_outcome(o);
                        }
                    }
                    (None, Err(e)) => {
                        on_outcome(outcome(index, target(request, Surface::DirectoryRole), review, Err(e.clone())));
                    }
                    (None, Ok(_)) => unknown.add(index, request),
                }
            }
        }
        // Groups that may leave now.
        let now = Instant::now();
        let cancelled = cancel.is_cancelled();
        let lingered = |w: Option<Instant>| w.is_some_and(|d| d <= now);
        if !unknown.items.is_empty() && (unknown.full() || !open || cancelled || lingered(unknown.deadline(linger))) {
            running.push(find_group(setup, candidates, unknown.take(), budget_now()));
            finding += 1;
        }
        // A unit that is not full waits, once the input is closed, only for ids still looked for.
        let closed_and_settled = !open && finding == 0;
        for (surface, waiting) in batches.iter_mut() {
            if !waiting.items.is_empty()
                && (closed_and_settled || cancelled || lingered(waiting.deadline(linger)))
                && let Some(version) = surface.batch_version()
            {
                ready_batches.push_back(Work::Batch { surface: *surface, version, chunk: waiting.take() });
            }
        }
        // Units start as the pace allows (`pace.rs`); after a cancel each ends at once.
        while units_running < pace.limit() {
            let Some(w) = ready_batches.pop_front().or_else(|| ready_singles.pop_front()) else { break };
            running.push(unit(setup, form_taken, w, budget_now(), pace.generation()));
            units_running += 1;
        }
        let idle = batches.values().all(|w| w.items.is_empty())
            && unknown.items.is_empty()
            && ready_batches.is_empty()
            && ready_singles.is_empty();
        if !open && running.is_empty() && idle {
            break;
        }
        let deadline = batches.values().filter_map(|w| w.deadline(linger)).chain(unknown.deadline(linger)).min();
        // Results first: a unit's future runs only while it is polled here, so a caller pushing
        // without pause must not starve the units in flight.
        tokio::select! {
            biased;
            () = cancel.cancelled(), if !input_closed => {}
            Some(done) = running.next(), if !running.is_empty() => match done {
                Done::Unit(results, pushed_back, generation) => {
                    units_running -= 1;
                    pace.on_unit_done(generation, pushed_back);
                    for (index, target, result) in results {
                        on_outcome(outcome(index, target, review, result));
                    }
                }
                Done::Found(found) => {
                    finding -= 1;
                    for (index, request, found) in found {
                        match found {
                            Ok(surface) => {
                                let t = target(request, surface);
                                if let Some(o) = place(index, t, &mut batches, &mut ready_batches, &mut ready_singles) {
                                    on_outcome(o);
                                }
                            }
                            Err(e) => {
                                let surface = candidates.first().copied().unwrap_or(Surface::DirectoryRole);
                                on_outcome(outcome(index, target(request, surface), review, Err(e)));
                            }
                        }
                    }
                }
            },
            push = input.recv(), if open => match push {
                Some(push) => arrived.push_back(push),
                None => open = false,
            },
            () = sleep_until_or_forever(deadline) => {}
        }
    }
    if cancel.is_cancelled() {
        return Err(PimError::cancelled());
    }
    Ok(())
}

/// Sleeps until `deadline`, or forever when there is none.
async fn sleep_until_or_forever(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// One unit's course: its rounds (`rounds.rs`), each request's result, and whether the service
/// pushed back.
fn unit<'a>(
    setup: &'a Setup<'a>,
    form_taken: &'a AtomicUsize,
    w: Work,
    budget: Budget,
    generation: u64,
) -> BoxFuture<'a, Done> {
    Box::pin(async move {
        let (surface, carrier, chunk) = match w {
            Work::Batch { surface, version, chunk } => (surface, Carrier::Batch(version), chunk),
            Work::Single(index, target) => (target.surface, Carrier::Direct, vec![(index, target)]),
        };
        let token = match setup.tokens.for_surface(surface) {
            Ok(token) => token,
            Err(e) => {
                return Done::Unit(chunk.into_iter().map(|(i, t)| (i, t, Err(e.clone()))).collect(), false, generation);
            }
        };
        let me = token.claims().and_then(|c| c.object_id);
        let pushed_back = AtomicBool::new(false);
        let ctx = Ctx {
            http: setup.http,
            review: setup.review,
            justification: setup.justification,
            me: me.as_deref(),
            form_taken,
            pushed_back: &pushed_back,
        };
        let items = chunk.into_iter().map(|(index, target)| Item::new(index, target, &ctx)).collect();
        let done = decide_unit(&ctx, token, carrier, items, &budget, setup.cancel).await;
        Done::Unit(done, pushed_back.load(Ordering::Relaxed), generation)
    })
}

/// Looks for the surfaces of a group of ids that name none (`find.rs`).
fn find_group<'a>(
    setup: &'a Setup<'a>,
    candidates: &'a [Surface],
    group: Vec<(usize, DecisionRequest)>,
    budget: Budget,
) -> BoxFuture<'a, Done> {
    Box::pin(async move {
        match setup.tokens.for_surface(Surface::DirectoryRole) {
            Ok(token) => {
                Done::Found(find::find_surfaces(setup.http, token, candidates, group, &budget, setup.cancel).await)
            }
            Err(e) => Done::Found(group.into_iter().map(|(i, r)| (i, r, Err(e.clone()))).collect()),
        }
    })
}

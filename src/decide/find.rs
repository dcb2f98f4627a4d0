//! Finding the surface of an approval id that names none: never by guess. A GUID is read as a
//! directory-role approval, then as a group approval (each in JSON batches); the first surface
//! that has it is its surface. An id that every surface answers 404 for is read again, with
//! backoff, for a while (a new approval may not have replicated yet), then is `NotFound`, naming
//! the surfaces tried.

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::error::{ErrorKind, PimError, Result};
use crate::http::batch::{BatchItem, MAX_BATCH, send_batch};
use crate::http::retry::{Attempt, Budget, Setback, retry};
use crate::http::trace::WaitReason;
use crate::http::transport::{Http, judge};
use crate::model::{DecisionRequest, Surface};
use crate::token::AccessToken;
use crate::validate::{ApprovalId, printable};
use crate::wire::ReviewBody;

/// Where the search for one id stands.
struct Probe {
    index: usize,
    request: DecisionRequest,
    id: String,
    /// The candidate surface to read next.
    at: usize,
    found: Option<Result<Surface>>,
    /// The first answer other than 404, kept to report if no surface has the id.
    refusal: Option<PimError>,
    not_found_since: Option<Instant>,
    rounds_not_found: u32,
    last_error: Option<PimError>,
}

/// Finds, for each request, the first of `candidates` (Graph surfaces, in order) whose service
/// has its approval. Returns each request with its surface, or why none was found.
pub(crate) async fn find_surfaces(
    http: &Http,
    token: &AccessToken,
    candidates: &[Surface],
    requests: Vec<(usize, DecisionRequest)>,
    budget: &Budget,
    cancel: &CancellationToken,
) -> Vec<(usize, DecisionRequest, Result<Surface>)> {
    let mut probes: Vec<Probe> = requests
        .into_iter()
        .map(|(index, request)| {
            let parsed = ApprovalId::parse(request.approval_id.trim());
            let id = parsed.as_ref().map(|i| i.as_str().to_string()).unwrap_or_default();
            Probe {
                index,
                request,
                id,
                at: 0,
                found: parsed.err().map(Err),
                refusal: None,
                not_found_since: None,
                rounds_not_found: 0,
                last_error: None,
            }
        })
        .collect();
    let _ = retry(&http.retry, budget, cancel, &mut probes, |probes| async move {
        let outcome = round(http, token, candidates, probes, budget, cancel).await;
        (probes, outcome)
    })
    .await;
    let cancelled = cancel.is_cancelled();
    probes
        .into_iter()
        .map(|p| {
            let result = p.found.unwrap_or_else(|| {
                Err(if cancelled {
                    PimError::new(
                        ErrorKind::Cancelled,
                        "The operation was cancelled before this request's surface was found; nothing was sent.",
                    )
                } else {
                    p.last_error.unwrap_or_else(|| not_found(&p.request.approval_id, candidates, Duration::ZERO))
                })
            });
            (p.index, p.request, result)
        })
        .collect()
}

/// One round: each open probe reads its approval on its current candidate surface.
async fn round(
    http: &Http,
    token: &AccessToken,
    candidates: &[Surface],
    probes: &mut [Probe],
    budget: &Budget,
    cancel: &CancellationToken,
) -> Attempt<()> {
    let policy = &http.retry;
    let mut wait: Option<Duration> = None;
    let (mut answered, mut reached) = (false, false);
    for (pos, surface) in candidates.iter().enumerate() {
        let Some(version) = surface.batch_version() else { continue };
        let open: Vec<usize> =
            probes.iter().enumerate().filter(|(_, p)| p.found.is_none() && p.at == pos).map(|(n, _)| n).collect();
        for chunk in open.chunks(MAX_BATCH) {
            if cancel.is_cancelled() {
                return Attempt::Done(Ok(()));
            }
            let body = ReviewBody { review_result: "", justification: "" };
            let reads: Vec<BatchItem> = chunk
                .iter()
                .filter_map(|&n| {
                    let route = surface.api().decision_route(&http.urls, &probes[n].id, &body).ok()?;
                    Some(BatchItem::get(n, http.urls.graph_relative(&route.approval, version)))
                })
                .collect();
            let (replies, was_reached) = send_batch(http, token, version, reads, budget, cancel, None).await;
            reached |= was_reached;
            for (id, reply) in replies {
                let Some(p) = id.parse::<usize>().ok().and_then(|n| probes.get_mut(n)) else { continue };
                answered |= reply.is_ok();
                match judge(reply) {
                    Attempt::Done(Ok(_)) => p.found = Some(Ok(*surface)),
                    Attempt::Done(Err(e)) => {
                        if e.kind != ErrorKind::NotFound && p.refusal.is_none() {
                            p.refusal = Some(e);
                        }
                        p.at += 1;
                    }
                    Attempt::Again(setback) => {
                        wait = wait.max(setback.retry_after);
                        p.last_error = Some(setback.error);
                    }
                }
                if p.at >= candidates.len() && p.found.is_none() {
                    wait = wait.max(exhausted(p, candidates, policy.not_found_wait_ms, policy));
                }
            }
        }
    }
    if probes.iter().all(|p| p.found.is_some()) || cancel.is_cancelled() {
        return Attempt::Done(Ok(()));
    }
    let error = PimError::new(ErrorKind::ServiceError, "The service did not answer in time.");
    let reasons = probes
        .iter()
        .filter(|p| p.found.is_none())
        .map(|p| p.last_error.as_ref().map_or(WaitReason::Unsettled, WaitReason::of_error));
    Attempt::Again(Setback::round(error, wait, !answered, !reached, reasons))
}

/// Every candidate was read: a refusal is the answer; 404s everywhere are read again for a while.
fn exhausted(
    p: &mut Probe,
    candidates: &[Surface],
    wait_ms: u64,
    policy: &crate::http::retry::RetryPolicy,
) -> Option<Duration> {
    if let Some(e) = p.refusal.take() {
        p.found = Some(Err(e));
        return None;
    }
    let since = *p.not_found_since.get_or_insert_with(Instant::now);
    if since.elapsed() < Duration::from_millis(wait_ms) {
        p.rounds_not_found += 1;
        p.at = 0;
        p.last_error = Some(not_found(&p.request.approval_id, candidates, since.elapsed()));
        Some(policy.backoff(p.rounds_not_found))
    } else {
        p.found = Some(Err(not_found(&p.request.approval_id, candidates, since.elapsed())));
        None
    }
}

fn not_found(id: &str, candidates: &[Surface], for_how_long: Duration) -> PimError {
    let tried: Vec<&str> = candidates.iter().map(|s| s.name()).collect();
    let mut e = PimError::new(
        ErrorKind::NotFound,
        format!(
            "No approval '{}' was found on any surface tried: {} (read for {} s). If you know its surface, name it.",
            printable(id),
            tried.join(", "),
            for_how_long.as_secs()
        ),
    );
    e.http_status = 404;
    e
}

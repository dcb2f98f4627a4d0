//! When and how long to wait before trying again, and the one loop that does it. Every retry in
//! the library, whether a GET, one decision or a round of batched decisions, goes through
//! [`retry`]; only what counts as one attempt differs.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::trace::{Trace, WaitReason};
use crate::error::{ErrorKind, PimError, Result};

/// Exponential backoff with jitter, bounded by a number of attempts and by one time budget for the
/// whole operation. Defaults follow the Azure SDK for Rust (8 retries, 200 ms base) with a 60 s
/// budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct RetryPolicy {
    /// Attempts in all, the first included, that the service left unanswered or refused.
    pub max_attempts: u32,
    pub base_delay_ms: u64,
    pub max_delay_ms: u64,
    /// The whole operation's budget: no wait may end later than this after the operation started,
    /// and no attempt runs much beyond it.
    pub budget_ms: u64,
    /// The floor under every wait, a server's `Retry-After: 0` included.
    pub min_delay_ms: u64,
    /// Attempts in all, whatever the service says: a `Retry-After` the service keeps giving does not
    /// lift this one.
    pub attempt_cap: u32,
    /// After a decision whose answer was lost, an approval read as still open is read once more
    /// after this long before the decision is sent again (reads may be stale for a while).
    pub stale_read_delay_ms: u64,
    /// How long an approval that answers 404 is read again (a new approval may not have
    /// replicated yet), within the budget.
    pub not_found_wait_ms: u64,
    /// After a cancel, how long decisions already on the wire are waited for before their outcome
    /// is reported unknown.
    pub cancel_grace_ms: u64,
    /// After a cancel, how long the one read of the approvals whose decisions' outcome is still
    /// unknown may take (it is not stopped by the cancel: nothing is decided by reading); 0: no
    /// read, they are reported unknown as they are.
    pub cancel_read_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 9,
            base_delay_ms: 200,
            max_delay_ms: 30_000,
            budget_ms: 60_000,
            min_delay_ms: 200,
            attempt_cap: 50,
            stale_read_delay_ms: 1_000,
            not_found_wait_ms: 120_000,
            cancel_grace_ms: 5_000,
            cancel_read_ms: 5_000,
        }
    }
}

/// HTTP statuses worth another try: the set trusted SDKs retry.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// Attempts in all when the service cannot be reached at all (refused, reset, DNS): a down or
/// wrong endpoint should fail in about a second, not after the whole throttling budget.
pub(crate) const NETWORK_ATTEMPTS: u32 = 3;

/// The lowest floor a caller may set: below it a `Retry-After: 0` would be a storm again.
pub(crate) const MIN_DELAY_FLOOR_MS: u64 = 10;

impl RetryPolicy {
    /// Refuses a policy that could loop without bound or never try.
    pub fn check(&self) -> Result<()> {
        let bad = |m: &str| Err(PimError::new(ErrorKind::InvalidOptions, m.to_string()));
        if self.max_attempts == 0 || self.attempt_cap == 0 {
            return bad("retry.maxAttempts and retry.attemptCap must be at least 1.");
        }
        if self.min_delay_ms < MIN_DELAY_FLOOR_MS {
            return bad("retry.minDelayMs must be at least 10.");
        }
        if self.budget_ms == 0 {
            return bad("retry.budgetMs must be greater than zero.");
        }
        Ok(())
    }

    /// The wait before attempt `attempt + 1` (`attempt` counts, from 1, the attempts that count
    /// towards `max_attempts`; `attempts` all of them), or `None` when it is time to give up. A
    /// server's `Retry-After` wins over our own backoff and lifts `max_attempts`, never
    /// `attempt_cap`; every wait is at least `min_delay_ms`. `unreachable_in_a_row` counts the
    /// attempts in a row that got no answer at all: [`NETWORK_ATTEMPTS`] of them end it, so a
    /// down or wrong endpoint fails fast while a connection lost now and then does not.
    pub fn delay(
        &self,
        attempt: u32,
        attempts: u32,
        elapsed: Duration,
        retry_after: Option<Duration>,
        unreachable_in_a_row: u32,
    ) -> Option<Duration> {
        if unreachable_in_a_row >= NETWORK_ATTEMPTS
            || attempts >= self.attempt_cap
            || (retry_after.is_none() && attempt >= self.max_attempts)
        {
            return None;
        }
        let wait = retry_after.unwrap_or_else(|| self.backoff(attempt)).max(Duration::from_millis(self.min_delay_ms));
        if elapsed + wait > Duration::from_millis(self.budget_ms) {
            return None;
        }
        Some(wait)
    }

    /// Our own backoff before attempt `attempt + 1`: exponential, capped, with jitter.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.base_delay_ms.saturating_mul(1u64 << attempt.saturating_sub(1).min(20));
        let capped = exp.min(self.max_delay_ms);
        // Jitter of 80-120% so that many clients do not retry in step.
        Duration::from_millis(capped * (80 + jitter_percent()) / 100)
    }
}

/// One operation's time budget, shared by every retry loop and every attempt of the operation,
/// and the operation's trace, when it has one: every call and wait that draws on the budget is
/// recorded there.
#[derive(Clone, Debug)]
pub(crate) struct Budget {
    started: Instant,
    budget: Duration,
    /// The operation's trace (`http/trace.rs`), taken from the task it starts on.
    pub(crate) trace: Option<Arc<Trace>>,
}

impl Budget {
    /// Starts the budget of an operation now, with the trace the operation runs with, if any.
    pub(crate) fn start(policy: &RetryPolicy) -> Budget {
        Budget { started: Instant::now(), budget: Duration::from_millis(policy.budget_ms), trace: Trace::current() }
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// What is left of it (zero once spent).
    pub(crate) fn remaining(&self) -> Duration {
        self.budget.saturating_sub(self.elapsed())
    }

    /// A budget of its own of `limit`, from now, recorded in the same trace: for the one read
    /// after a cancel, which the operation's budget (perhaps spent) does not bound.
    pub(crate) fn bounded(&self, limit: Duration) -> Budget {
        Budget { started: Instant::now(), budget: limit, trace: self.trace.clone() }
    }

    /// How long one attempt may take: what is left, but never under a second (an attempt that
    /// starts is given a chance to finish), and never beyond `timeout`.
    pub(crate) fn attempt_timeout(&self, timeout: Duration) -> Duration {
        self.remaining().max(Duration::from_secs(1)).min(timeout)
    }
}

/// 0..=40, from the clock: good enough to spread retries, no RNG crate needed.
fn jitter_percent() -> u64 {
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    u64::from(nanos.wrapping_mul(2_654_435_761) % 41)
}

/// `Retry-After` in seconds (`10`, or fractional `2.128`) or as an HTTP date; a date in the past
/// means no wait. Garbage gives `None` (fall back to backoff).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// What one attempt came to.
pub(crate) enum Attempt<T> {
    /// Finished: a result to hand back, a success or a failure not worth repeating.
    Done(Result<T>),
    /// Failed in a way worth another try.
    Again(Setback),
}

/// Why an attempt is worth repeating, and what it says about the next one.
pub(crate) struct Setback {
    /// What is reported when no attempt is left.
    pub(crate) error: PimError,
    /// The service's `Retry-After`, if it gave one.
    pub(crate) retry_after: Option<Duration>,
    /// Whether it counts towards the policy's attempt limit. An attempt that does not count
    /// starts the count again: the service answered, so only the time budget limits what follows.
    pub(crate) counts: bool,
    /// Nobody answered at all (refused, DNS): [`NETWORK_ATTEMPTS`] of these in a row end it.
    pub(crate) unreachable: bool,
    /// Why it is worth another try, as a trace reports the wait.
    pub(crate) reason: WaitReason,
    /// For a round of many requests: how many wait for each reason.
    pub(crate) waiting: Vec<(WaitReason, u32)>,
}

impl Setback {
    /// An attempt that counts towards the limit; unreachable when `error` says so.
    pub(crate) fn counted(error: PimError, retry_after: Option<Duration>) -> Setback {
        let unreachable = error.kind == ErrorKind::Network;
        let reason = WaitReason::of_error(&error);
        Setback { error, retry_after, counts: true, unreachable, reason, waiting: Vec::new() }
    }

    /// A round of many requests that goes again: the `reasons` its unsettled requests wait for
    /// (the weightiest is the round's reason). `counts` and `unreachable` as the fields say.
    pub(crate) fn round(
        error: PimError,
        retry_after: Option<Duration>,
        counts: bool,
        unreachable: bool,
        reasons: impl IntoIterator<Item = WaitReason>,
    ) -> Setback {
        let mut waiting: Vec<(WaitReason, u32)> = Vec::new();
        for r in reasons {
            match waiting.iter_mut().find(|(w, _)| *w == r) {
                Some((_, n)) => *n += 1,
                None => waiting.push((r, 1)),
            }
        }
        waiting.sort_by_key(|w| std::cmp::Reverse(w.0));
        let reason = match waiting.first() {
            Some((r, _)) => *r,
            None if unreachable => WaitReason::Network,
            None => WaitReason::Unsettled,
        };
        Setback { error, retry_after, counts, unreachable, reason, waiting }
    }
}

/// The one retry loop. Runs `attempt` until it is done, waiting between attempts as `policy`
/// says, within the operation's `budget`, and gives up with the last setback's error when the
/// policy does (or with `Cancelled` when `cancel` fires during a wait). `state` is handed from one
/// attempt to the next, so an attempt can remember what earlier ones did (what was sent, what is
/// left).
pub(crate) async fn retry<S, T, F, Fut>(
    policy: &RetryPolicy,
    budget: &Budget,
    cancel: &CancellationToken,
    mut state: S,
    mut attempt: F,
) -> Result<T>
where
    F: FnMut(S) -> Fut,
    Fut: Future<Output = (S, Attempt<T>)>,
{
    let mut counted = 0;
    let mut attempts = 0;
    let mut unreachable = 0;
    loop {
        let (next, outcome) = attempt(state).await;
        state = next;
        attempts += 1;
        let setback = match outcome {
            Attempt::Done(result) => return result,
            Attempt::Again(setback) => setback,
        };
        counted = if setback.counts { counted + 1 } else { 0 };
        unreachable = if setback.unreachable { unreachable + 1 } else { 0 };
        match policy.delay(counted.max(1), attempts, budget.elapsed(), setback.retry_after, unreachable) {
            Some(wait) => {
                if let Some(trace) = &budget.trace {
                    trace.wait(wait, setback.reason, setback.retry_after, setback.waiting);
                }
                super::pause(cancel, wait).await?
            }
            None => return Err(setback.error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        assert_eq!(parse_retry_after("10", now), Some(Duration::from_secs(10)));
        assert_eq!(parse_retry_after("2.128", now), Some(Duration::from_millis(2128)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
        assert_eq!(parse_retry_after(&later, now), Some(Duration::from_secs(90)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(90));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn backoff_grows_and_stops() {
        let p = RetryPolicy {
            max_attempts: 4,
            base_delay_ms: 100,
            max_delay_ms: 1000,
            budget_ms: 10_000,
            min_delay_ms: 10,
            ..RetryPolicy::default()
        };
        let d1 = p.delay(1, 1, Duration::ZERO, None, 0).unwrap();
        let d3 = p.delay(3, 3, Duration::ZERO, None, 0).unwrap();
        assert!(d1 >= Duration::from_millis(80) && d1 <= Duration::from_millis(120));
        assert!(d3 >= Duration::from_millis(320) && d3 <= Duration::from_millis(480));
        assert_eq!(p.delay(4, 4, Duration::ZERO, None, 0), None);
        let ra = Some(Duration::from_millis(100));
        assert!(p.delay(40, 40, Duration::ZERO, ra, 0).is_some(), "Retry-After lifts maxAttempts");
        assert_eq!(p.delay(1, 1, Duration::from_secs(10), None, 0), None);
        assert_eq!(p.delay(1, 1, Duration::ZERO, Some(Duration::from_secs(3)), 0), Some(Duration::from_secs(3)));
        assert_eq!(p.delay(1, 1, Duration::ZERO, Some(Duration::from_secs(11)), 0), None);
        assert!(p.delay(2, 2, Duration::ZERO, None, 2).is_some());
        assert_eq!(p.delay(1, 1, Duration::ZERO, None, 3), None, "three unanswered attempts in a row end it");
    }

    #[test]
    fn retry_after_zero_has_a_floor_and_attempts_a_cap() {
        let p = RetryPolicy::default();
        let zero = Some(Duration::ZERO);
        assert_eq!(p.delay(1, 1, Duration::ZERO, zero, 0), Some(Duration::from_millis(200)), "the floor");
        assert!(p.delay(1, 49, Duration::ZERO, zero, 0).is_some());
        assert_eq!(p.delay(1, 50, Duration::ZERO, zero, 0), None, "the cap holds whatever Retry-After says");
        assert!(RetryPolicy { min_delay_ms: 0, ..p }.check().is_err());
        assert!(RetryPolicy { attempt_cap: 0, ..p }.check().is_err());
        assert!(p.check().is_ok());
    }

    #[test]
    fn retryable_statuses() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(is_retryable_status(s));
        }
        for s in [400, 401, 403, 404, 409] {
            assert!(!is_retryable_status(s));
        }
    }

    fn quick() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            base_delay_ms: 1,
            max_delay_ms: 1,
            budget_ms: 5_000,
            min_delay_ms: 1,
            ..RetryPolicy::default()
        }
    }

    fn budget(p: &RetryPolicy) -> Budget {
        Budget::start(p)
    }

    fn failure(kind: ErrorKind) -> PimError {
        PimError::new(kind, "x")
    }

    #[tokio::test]
    async fn the_loop_counts_attempts_and_hands_state_on() {
        let cancel = CancellationToken::new();
        let tries = retry(&quick(), &budget(&quick()), &cancel, 0u32, |n| async move {
            (n + 1, Attempt::<u32>::Again(Setback::counted(failure(ErrorKind::ServiceError), None)))
        })
        .await;
        assert_eq!(tries.unwrap_err().kind, ErrorKind::ServiceError);
        let done = retry(&quick(), &budget(&quick()), &cancel, 0u32, |n| async move {
            let outcome = if n < 5 {
                // Answered each time: only the budget limits these.
                let mut s = Setback::counted(failure(ErrorKind::ServiceError), None);
                s.counts = false;
                Attempt::Again(s)
            } else {
                Attempt::Done(Ok(n))
            };
            (n + 1, outcome)
        })
        .await;
        assert_eq!(done.unwrap(), 5, "state is handed from attempt to attempt");
    }

    #[tokio::test]
    async fn unreachable_attempts_end_it_sooner_and_cancel_stops_a_wait() {
        let cancel = CancellationToken::new();
        let policy = RetryPolicy { max_attempts: 20, ..quick() };
        let calls = std::sync::atomic::AtomicU32::new(0);
        let e = retry(&policy, &budget(&policy), &cancel, (), |()| async {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            ((), Attempt::<()>::Again(Setback::counted(failure(ErrorKind::Network), None)))
        })
        .await
        .unwrap_err();
        assert_eq!((e.kind, calls.into_inner()), (ErrorKind::Network, NETWORK_ATTEMPTS));
        cancel.cancel();
        let e = retry(&policy, &budget(&policy), &cancel, (), |()| async {
            ((), Attempt::<()>::Again(Setback::counted(failure(ErrorKind::Throttled), Some(Duration::from_secs(1)))))
        })
        .await
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Cancelled);
    }
}

//! When and how long to wait before trying again, and the one loop that does it. Every retry in
//! the library, whether a GET, one decision or a round of batched decisions, goes through
//! [`retry`]; only what counts as one attempt differs.

use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use crate::error::{ErrorKind, PimError, Result};

/// Exponential backoff with jitter, bounded by a number of attempts and a total time budget.
/// Defaults follow the Azure SDK for Rust (8 retries, 200 ms base) with a 60 s budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub base_delay_ms: u64,
    pub max_delay_ms: u64,
    /// No wait may end later than this after the first attempt.
    pub budget_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_attempts: 9, base_delay_ms: 200, max_delay_ms: 30_000, budget_ms: 60_000 }
    }
}

/// HTTP statuses worth another try: the set trusted SDKs retry.
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// Attempts in all when the service cannot be reached at all (refused, reset, DNS): a down or
/// wrong endpoint should fail in about a second, not after the whole throttling budget.
pub(crate) const NETWORK_ATTEMPTS: u32 = 3;

impl RetryPolicy {
    /// The wait before attempt `attempt + 1` (attempt counts from 1), or `None` when it is time to
    /// give up. A server's `Retry-After` wins over our own backoff, and while the service keeps
    /// saying when to come back, only the time budget limits the attempts (a throttled run of a
    /// thousand decisions needs many short waits). `unreachable_in_a_row` counts the attempts in a
    /// row that got no answer at all: [`NETWORK_ATTEMPTS`] of them end it, so a down or wrong
    /// endpoint fails fast while a connection lost now and then does not.
    pub fn delay(
        &self,
        attempt: u32,
        elapsed: Duration,
        retry_after: Option<Duration>,
        unreachable_in_a_row: u32,
    ) -> Option<Duration> {
        if unreachable_in_a_row >= NETWORK_ATTEMPTS || (retry_after.is_none() && attempt >= self.max_attempts) {
            return None;
        }
        let wait = retry_after.unwrap_or_else(|| {
            let exp = self.base_delay_ms.saturating_mul(1u64 << attempt.saturating_sub(1).min(20));
            let capped = exp.min(self.max_delay_ms);
            // Jitter of 80-120% so that many clients do not retry in step.
            Duration::from_millis(capped * (80 + jitter_percent()) / 100)
        });
        if elapsed + wait > Duration::from_millis(self.budget_ms) {
            return None;
        }
        Some(wait)
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
}

impl Setback {
    /// An attempt that counts towards the limit; unreachable when `error` says so.
    pub(crate) fn counted(error: PimError, retry_after: Option<Duration>) -> Setback {
        let unreachable = error.kind == ErrorKind::Network;
        Setback { error, retry_after, counts: true, unreachable }
    }
}

/// The one retry loop. Runs `attempt` until it is done, waiting between attempts as `policy`
/// says, and gives up with the last setback's error when the policy does (or with `Cancelled`
/// when `cancel` fires during a wait). `state` is handed from one attempt to the next, so an
/// attempt can remember what earlier ones did (what was sent, what is left).
pub(crate) async fn retry<S, T, F, Fut>(
    policy: &RetryPolicy,
    cancel: &CancellationToken,
    mut state: S,
    mut attempt: F,
) -> Result<T>
where
    F: FnMut(S) -> Fut,
    Fut: Future<Output = (S, Attempt<T>)>,
{
    let started = Instant::now();
    let mut counted = 0;
    let mut unreachable = 0;
    loop {
        let (next, outcome) = attempt(state).await;
        state = next;
        let setback = match outcome {
            Attempt::Done(result) => return result,
            Attempt::Again(setback) => setback,
        };
        counted = if setback.counts { counted + 1 } else { 0 };
        unreachable = if setback.unreachable { unreachable + 1 } else { 0 };
        match policy.delay(counted.max(1), started.elapsed(), setback.retry_after, unreachable) {
            Some(wait) => super::pause(cancel, wait).await?,
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
        let p = RetryPolicy { max_attempts: 4, base_delay_ms: 100, max_delay_ms: 1000, budget_ms: 10_000 };
        let d1 = p.delay(1, Duration::ZERO, None, 0).unwrap();
        let d3 = p.delay(3, Duration::ZERO, None, 0).unwrap();
        assert!(d1 >= Duration::from_millis(80) && d1 <= Duration::from_millis(120));
        assert!(d3 >= Duration::from_millis(320) && d3 <= Duration::from_millis(480));
        assert_eq!(p.delay(4, Duration::ZERO, None, 0), None);
        assert!(p.delay(40, Duration::ZERO, Some(Duration::from_millis(100)), 0).is_some(), "Retry-After: budget only");
        assert_eq!(p.delay(1, Duration::from_secs(10), None, 0), None);
        assert_eq!(p.delay(1, Duration::ZERO, Some(Duration::from_secs(3)), 0), Some(Duration::from_secs(3)));
        assert_eq!(p.delay(1, Duration::ZERO, Some(Duration::from_secs(11)), 0), None);
        assert!(p.delay(2, Duration::ZERO, None, 2).is_some());
        assert_eq!(p.delay(1, Duration::ZERO, None, 3), None, "three unanswered attempts in a row end it");
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
        RetryPolicy { max_attempts: 3, base_delay_ms: 1, max_delay_ms: 1, budget_ms: 5_000 }
    }

    fn failure(kind: ErrorKind) -> PimError {
        PimError::new(kind, "x")
    }

    #[tokio::test]
    async fn the_loop_counts_attempts_and_hands_state_on() {
        let cancel = CancellationToken::new();
        let tries = retry(&quick(), &cancel, 0u32, |n| async move {
            (n + 1, Attempt::<u32>::Again(Setback::counted(failure(ErrorKind::ServiceError), None)))
        })
        .await;
        assert_eq!(tries.unwrap_err().kind, ErrorKind::ServiceError);
        let done = retry(&quick(), &cancel, 0u32, |n| async move {
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
        let e = retry(&policy, &cancel, (), |()| async {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            ((), Attempt::<()>::Again(Setback::counted(failure(ErrorKind::Network), None)))
        })
        .await
        .unwrap_err();
        assert_eq!((e.kind, calls.into_inner()), (ErrorKind::Network, NETWORK_ATTEMPTS));
        cancel.cancel();
        let e = retry(&policy, &cancel, (), |()| async {
            ((), Attempt::<()>::Again(Setback::counted(failure(ErrorKind::Throttled), Some(Duration::from_secs(1)))))
        })
        .await
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Cancelled);
    }
}

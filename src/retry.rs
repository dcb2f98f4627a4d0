//! When and how long to wait before trying again.

use std::time::{Duration, SystemTime};

use serde::Deserialize;

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
}

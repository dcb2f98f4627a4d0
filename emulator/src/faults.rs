//! Fault injection: a fraction of PIM calls answered 503, a fraction 429 with `Retry-After` (in
//! seconds, fractional seconds or an HTTP date, in turn), a fraction reset before they are acted on,
//! a fraction answered only after a long pause (beyond a client's timeout, the work done), and a
//! fraction of decisions applied and then left unanswered (the connection dropped), the case that
//! tempts a client to decide twice. Set by the command line and changed at run time with
//! `POST /_emulator/faults`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

/// What to do to one call.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Answer 503 Service Unavailable.
    Fail,
    /// Answer 429 with this `Retry-After` text.
    Throttle(String),
    /// Drop the connection without doing anything.
    Reset,
    /// Do the work, then wait this long before answering.
    Slow(Duration),
}

#[derive(Debug, Default, Clone, Copy)]
struct Rates {
    fail: f64,
    throttle: f64,
    lost: f64,
    reset: f64,
    slow: f64,
    slow_ms: u64,
}

pub(crate) struct Faults {
    rates: Mutex<Rates>,
    rng: Mutex<u64>,
    throttles: AtomicU64,
}

impl Faults {
    pub fn new(fail: f64, throttle: f64, lost: f64) -> Faults {
        let seed = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(7);
        Faults {
            rates: Mutex::new(Rates {
                fail: clamp(fail),
                throttle: clamp(throttle),
                lost: clamp(lost),
                reset: 0.0,
                slow: 0.0,
                slow_ms: 3000,
            }),
            rng: Mutex::new(seed | 1),
            throttles: AtomicU64::new(0),
        }
    }

    fn rates(&self) -> Rates {
        *self.rates.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A number in [0, 1) from a xorshift generator: enough for fault rates.
    fn uniform(&self) -> f64 {
        let mut x = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        (*x >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Whether this call fails or is throttled (before it does anything).
    pub fn roll(&self) -> Option<Fault> {
        let r = self.rates();
        if r.fail == 0.0 && r.throttle == 0.0 && r.reset == 0.0 && r.slow == 0.0 {
            return None;
        }
        let x = self.uniform();
        if x < r.fail {
            Some(Fault::Fail)
        } else if x < r.fail + r.throttle {
            // The three forms Graph has used, in turn.
            let n = self.throttles.fetch_add(1, Ordering::Relaxed);
            let text = match n % 3 {
                0 => "1".to_string(),
                1 => "0.25".to_string(),
                _ => httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(1)),
            };
            Some(Fault::Throttle(text))
        } else if x < r.fail + r.throttle + r.reset {
            Some(Fault::Reset)
        } else if x < r.fail + r.throttle + r.reset + r.slow {
            Some(Fault::Slow(Duration::from_millis(r.slow_ms)))
        } else {
            None
        }
    }

    /// Whether the answer to this decision, once applied, is lost.
    pub fn lose(&self) -> bool {
        let r = self.rates();
        r.lost > 0.0 && self.uniform() < r.lost
    }

    /// Sets `{"failRate", "throttleRate", "lostResponseRate", "resetRate", "slowRate", "slowMs"}`
    /// (any of them); returns the rates.
    pub fn set(&self, body: &Value) -> Value {
        let mut r = self.rates.lock().unwrap_or_else(|e| e.into_inner());
        let get = |k: &str| body.get(k).and_then(Value::as_f64).map(clamp);
        if let Some(v) = get("failRate") {
            r.fail = v;
        }
        if let Some(v) = get("throttleRate") {
            r.throttle = v;
        }
        if let Some(v) = get("lostResponseRate") {
            r.lost = v;
        }
        if let Some(v) = get("resetRate") {
            r.reset = v;
        }
        if let Some(v) = get("slowRate") {
            r.slow = v;
        }
        if let Some(v) = body.get("slowMs").and_then(Value::as_u64) {
            r.slow_ms = v.min(600_000);
        }
        json!({"failRate": r.fail, "throttleRate": r.throttle, "lostResponseRate": r.lost,
               "resetRate": r.reset, "slowRate": r.slow, "slowMs": r.slow_ms})
    }
}

fn clamp(v: f64) -> f64 {
    if v.is_finite() { v.clamp(0.0, 1.0) } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_respected_roughly() {
        let f = Faults::new(0.2, 0.2, 0.0);
        let (mut fail, mut throttle) = (0, 0);
        for _ in 0..10_000 {
            match f.roll() {
                Some(Fault::Fail) => fail += 1,
                Some(Fault::Throttle(_)) => throttle += 1,
                Some(Fault::Reset | Fault::Slow(_)) => panic!("not asked for"),
                None => {}
            }
        }
        assert!((1500..2500).contains(&fail), "{fail}");
        assert!((1500..2500).contains(&throttle), "{throttle}");
        assert!(Faults::new(0.0, 0.0, 0.0).roll().is_none());
        assert!(!Faults::new(0.0, 0.0, 0.0).lose());
    }

    #[test]
    fn retry_after_takes_each_form_in_turn() {
        let f = Faults::new(0.0, 1.0, 0.0);
        let forms: Vec<String> = (0..3)
            .map(|_| match f.roll() {
                Some(Fault::Throttle(t)) => t,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(forms[0], "1");
        assert_eq!(forms[1], "0.25");
        assert!(forms[2].ends_with("GMT"));
    }
}

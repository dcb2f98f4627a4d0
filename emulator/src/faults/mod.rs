//! Fault injection, two ways:
//!
//! - **By schedule**, for tests: "the 3rd, 7th and 20th write answer 429", "every 5th write is lost
//!   after it was applied". The same calls fault in every run, however fast the machine is.
//! - **By rate**, for Soak and Bench: a fraction of PIM calls answered 503, a fraction 429 with
//!   `Retry-After` (in seconds, fractional seconds or an HTTP date, in turn), a fraction reset before
//!   they are acted on, a fraction answered only after a long pause (beyond a client's timeout, the
//!   work done), and a fraction of decisions applied and then left unanswered (the connection
//!   dropped), the case that tempts a client to decide twice. The generator is seeded
//!   (`--fault-seed`, or `"seed"` in `POST /_emulator/faults`), and the seed is reported, so a run
//!   can be replayed.
//!
//! A schedule rule reads `FAULT@COUNTER:NUMBERS`: FAULT is `fail`, `throttle`, `reset`, `slow` or
//! `lost`; COUNTER is `call` (every PIM call, each batch item counted alone), `read` (GET calls)
//! or `write` (decisions: PATCH and PUT); NUMBERS is a comma-separated list of `N`, `A-B` and
//! `A+Kn` (A, A+K, A+2K, ...), counted from 1 since the schedule was set. `lost` applies only to a
//! call that succeeded. For example `throttle@write:3,7,20` or `lost@write:5+5n`.

pub(crate) mod inject;
mod schedule;

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use schedule::{Kind, Rule, Ticket};

/// What to do to one call before (or, for `Slow`, after) its work.
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

/// What kind of call this is, for the schedule's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallKind {
    Read,
    Write,
    Other,
}

impl CallKind {
    /// A GET is a read; a decision (a `PATCH` or `PUT` of an approval's step or stage) is a write;
    /// anything else, creating a request included, is neither.
    pub fn of(method: &axum::http::Method, path: &str) -> CallKind {
        match *method {
            axum::http::Method::GET => CallKind::Read,
            axum::http::Method::PATCH | axum::http::Method::PUT if is_decision_path(path) => CallKind::Write,
            _ => CallKind::Other,
        }
    }
}

/// Whether a path addresses one step or stage of an approval (`.../steps/{id}`, `.../stages/{id}`).
pub(crate) fn is_decision_path(path: &str) -> bool {
    let segments: Vec<&str> = path.split('?').next().unwrap_or_default().split('/').filter(|s| !s.is_empty()).collect();
    segments.len() >= 2 && {
        let parent = segments[segments.len() - 2];
        parent.eq_ignore_ascii_case("steps") || parent.eq_ignore_ascii_case("stages")
    }
}

/// The fraction of calls each fault takes, 0 to 1.
#[derive(Debug, Default, Clone, Copy)]
struct Rates {
    fail: f64,
    throttle: f64,
    lost: f64,
    reset: f64,
    slow: f64,
}

struct Inner {
    rates: Rates,
    slow_ms: u64,
    schedule: Vec<Rule>,
    /// Counted since the schedule was last set.
    counts: Ticket,
    seed: u64,
    rng: u64,
    throttles: u64,
}

pub(crate) struct Faults {
    inner: Mutex<Inner>,
}

/// The rates and schedule an emulator starts with.
#[derive(Debug, Clone, Default)]
pub struct FaultConfig {
    pub fail_rate: f64,
    pub throttle_rate: f64,
    pub lost_response_rate: f64,
    pub reset_rate: f64,
    pub slow_rate: f64,
    /// How long a slow answer takes; 3,000 ms when not set.
    pub slow_ms: Option<u64>,
    /// Rules such as `throttle@write:3,7,20`.
    pub schedule: Vec<String>,
    /// Seeds the generator behind the rates; a seed from the clock when not set.
    pub seed: Option<u64>,
}

impl Faults {
    pub fn new(config: &FaultConfig) -> Result<Faults, String> {
        let seed = config.seed.unwrap_or_else(|| {
            SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(7)
        });
        let schedule = config.schedule.iter().map(|r| Rule::parse(r)).collect::<Result<Vec<_>, _>>()?;
        Ok(Faults {
            inner: Mutex::new(Inner {
                rates: Rates {
                    fail: clamp(config.fail_rate),
                    throttle: clamp(config.throttle_rate),
                    lost: clamp(config.lost_response_rate),
                    reset: clamp(config.reset_rate),
                    slow: clamp(config.slow_rate),
                },
                slow_ms: config.slow_ms.unwrap_or(3000).min(600_000),
                schedule,
                counts: Ticket::default(),
                seed,
                rng: seed,
                throttles: 0,
            }),
        })
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts one call and decides whether it fails before its work (or, `Slow`, answers late).
    pub fn roll(&self, kind: CallKind) -> (Ticket, Option<Fault>) {
        let mut i = self.inner();
        i.counts.call += 1;
        let mut ticket = Ticket { call: i.counts.call, ..Ticket::default() };
        match kind {
            CallKind::Read => {
                i.counts.read += 1;
                ticket.read = i.counts.read;
            }
            CallKind::Write => {
                i.counts.write += 1;
                ticket.write = i.counts.write;
            }
            CallKind::Other => {}
        }
        let scheduled = i.schedule.iter().find(|r| r.kind != Kind::Lost && r.holds(&ticket)).map(|r| r.kind);
        let kind = match scheduled {
            Some(k) => Some(k),
            None => {
                let r = i.rates;
                if r.fail + r.throttle + r.reset + r.slow == 0.0 {
                    None
                } else {
                    let x = i.uniform();
                    if x < r.fail {
                        Some(Kind::Fail)
                    } else if x < r.fail + r.throttle {
                        Some(Kind::Throttle)
                    } else if x < r.fail + r.throttle + r.reset {
                        Some(Kind::Reset)
                    } else if x < r.fail + r.throttle + r.reset + r.slow {
                        Some(Kind::Slow)
                    } else {
                        None
                    }
                }
            }
        };
        let fault = kind.map(|k| match k {
            Kind::Fail => Fault::Fail,
            Kind::Reset => Fault::Reset,
            Kind::Slow => Fault::Slow(Duration::from_millis(i.slow_ms)),
            _ => Fault::Throttle(i.next_retry_after()),
        });
        (ticket, fault)
    }

    /// Whether the answer to this call, which succeeded, is lost (decisions only).
    pub fn lose(&self, ticket: &Ticket) -> bool {
        if ticket.write == 0 {
            return false;
        }
        let mut i = self.inner();
        if i.schedule.iter().any(|r| r.kind == Kind::Lost && r.holds(ticket)) {
            return true;
        }
        i.rates.lost > 0.0 && i.uniform() < i.rates.lost
    }

    /// Sets `{"failRate", "throttleRate", "lostResponseRate", "resetRate", "slowRate", "slowMs",
    /// "schedule": ["rule", ...], "seed"}` (any of them) and returns the settings. A new schedule
    /// starts its counts again from 1.
    pub fn set(&self, body: &Value) -> Result<Value, String> {
        let schedule = match body.get("schedule") {
            None => None,
            Some(Value::Array(rules)) => Some(
                rules
                    .iter()
                    .map(|r| r.as_str().ok_or_else(|| "schedule rules are strings".to_string()).and_then(Rule::parse))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            Some(Value::Null) => Some(Vec::new()),
            Some(_) => return Err("\"schedule\" is an array of rules such as \"throttle@write:3,7,20\"".into()),
        };
        let mut i = self.inner();
        let get = |k: &str| body.get(k).and_then(Value::as_f64).map(clamp);
        if let Some(v) = get("failRate") {
            i.rates.fail = v;
        }
        if let Some(v) = get("throttleRate") {
            i.rates.throttle = v;
        }
        if let Some(v) = get("lostResponseRate") {
            i.rates.lost = v;
        }
        if let Some(v) = get("resetRate") {
            i.rates.reset = v;
        }
        if let Some(v) = get("slowRate") {
            i.rates.slow = v;
        }
        if let Some(v) = body.get("slowMs").and_then(Value::as_u64) {
            i.slow_ms = v.min(600_000);
        }
        if let Some(seed) = body.get("seed").and_then(Value::as_u64) {
            i.seed = seed;
            i.rng = seed;
            i.throttles = 0;
        }
        if let Some(rules) = schedule {
            i.schedule = rules;
            i.counts = Ticket::default();
        }
        Ok(i.describe())
    }

    /// The settings and counts, as `GET /_emulator/faults` shows them.
    pub fn describe(&self) -> Value {
        self.inner().describe()
    }
}

impl Inner {
    fn describe(&self) -> Value {
        let r = self.rates;
        let schedule: Vec<&str> = self.schedule.iter().map(|r| r.text.as_str()).collect();
        json!({"failRate": r.fail, "throttleRate": r.throttle, "lostResponseRate": r.lost,
               "resetRate": r.reset, "slowRate": r.slow, "slowMs": self.slow_ms,
               "schedule": schedule, "seed": self.seed,
               "counts": {"call": self.counts.call, "read": self.counts.read, "write": self.counts.write}})
    }

    /// A number in [0, 1): splitmix64 over the seed, so that a seed replays the same draws.
    fn uniform(&mut self) -> f64 {
        (crate::splitmix::next(&mut self.rng) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// The three forms of `Retry-After` Graph has used, in turn.
    fn next_retry_after(&mut self) -> String {
        let n = self.throttles;
        self.throttles += 1;
        match n % 3 {
            0 => "1".to_string(),
            1 => "0.25".to_string(),
            _ => httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(1)),
        }
    }
}

fn clamp(v: f64) -> f64 {
    if v.is_finite() { v.clamp(0.0, 1.0) } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rates(fail: f64, throttle: f64, seed: u64) -> Faults {
        Faults::new(&FaultConfig {
            fail_rate: fail,
            throttle_rate: throttle,
            seed: Some(seed),
            ..FaultConfig::default()
        })
        .unwrap()
    }

    fn scheduled(rules: &[&str]) -> Faults {
        let schedule = rules.iter().map(|r| r.to_string()).collect();
        Faults::new(&FaultConfig { schedule, ..FaultConfig::default() }).unwrap()
    }

    #[test]
    fn rates_are_respected_roughly_and_a_seed_replays_them() {
        let draws = |f: &Faults| -> Vec<Option<Fault>> { (0..10_000).map(|_| f.roll(CallKind::Read).1).collect() };
        let first = draws(&rates(0.2, 0.2, 42));
        let fail = first.iter().filter(|f| matches!(f, Some(Fault::Fail))).count();
        let throttle = first.iter().filter(|f| matches!(f, Some(Fault::Throttle(_)))).count();
        assert!((1500..2500).contains(&fail), "{fail}");
        assert!((1500..2500).contains(&throttle), "{throttle}");
        let kinds = |v: &[Option<Fault>]| -> Vec<u8> {
            v.iter()
                .map(|f| match f {
                    None => 0,
                    Some(Fault::Fail) => 1,
                    Some(Fault::Throttle(_)) => 2,
                    Some(_) => 3,
                })
                .collect()
        };
        assert_eq!(kinds(&first), kinds(&draws(&rates(0.2, 0.2, 42))), "the same seed, the same faults");
        assert_ne!(kinds(&first), kinds(&draws(&rates(0.2, 0.2, 43))));
        let none = rates(0.0, 0.0, 1);
        assert!(none.roll(CallKind::Write).1.is_none());
        assert!(!none.lose(&none.roll(CallKind::Write).0));
    }

    #[test]
    fn retry_after_takes_each_form_in_turn() {
        let f = rates(0.0, 1.0, 1);
        let forms: Vec<String> = (0..3)
            .map(|_| match f.roll(CallKind::Read).1 {
                Some(Fault::Throttle(t)) => t,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(forms[0], "1");
        assert_eq!(forms[1], "0.25");
        assert!(forms[2].ends_with("GMT"));
    }

    #[test]
    fn a_schedule_faults_exactly_the_calls_it_names() {
        let f = scheduled(&["throttle@write:3,7,20", "fail@read:2-3", "lost@write:5+5n"]);
        let mut throttled = Vec::new();
        let mut lost = Vec::new();
        for n in 1..=25 {
            let (ticket, fault) = f.roll(CallKind::Write);
            if matches!(fault, Some(Fault::Throttle(_))) {
                throttled.push(n);
            } else if f.lose(&ticket) {
                lost.push(n);
            }
        }
        assert_eq!(throttled, [3, 7, 20]);
        assert_eq!(lost, [5, 10, 15, 25], "20 was throttled, so nothing was applied to lose");
        let reads: Vec<bool> = (0..4).map(|_| f.roll(CallKind::Read).1 == Some(Fault::Fail)).collect();
        assert_eq!(reads, [false, true, true, false]);
        assert!(!f.lose(&f.roll(CallKind::Read).0), "only decisions are lost");
    }

    #[test]
    fn a_new_schedule_counts_from_one_again() {
        let f = scheduled(&["fail@call:1"]);
        assert_eq!(f.roll(CallKind::Read).1, Some(Fault::Fail));
        assert_eq!(f.roll(CallKind::Read).1, None);
        let set = f.set(&json!({"schedule": ["reset@call:2"]})).unwrap();
        assert_eq!(set["schedule"], json!(["reset@call:2"]));
        assert_eq!(f.roll(CallKind::Read).1, None);
        assert_eq!(f.roll(CallKind::Read).1, Some(Fault::Reset));
        assert!(f.set(&json!({"schedule": null})).unwrap()["schedule"].as_array().unwrap().is_empty());
    }

    #[test]
    fn bad_rules_are_refused_with_their_text() {
        for bad in [
            "throttle",
            "throttle@write",
            "boom@write:1",
            "fail@disk:1",
            "fail@call:0",
            "fail@call:5-2",
            "fail@call:x",
            "lost@write:3+n",
        ] {
            let e = Rule::parse(bad).unwrap_err();
            assert!(e.contains(bad), "{e}");
        }
        assert!(scheduled(&[]).set(&json!({"schedule": "fail@call:1"})).is_err());
    }
}

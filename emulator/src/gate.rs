//! The gate and the events tests wait on.
//!
//! The gate lets the first N decisions through and holds every later one, before it is applied,
//! until the test opens the gate: "stop in the middle" then stops at a known point, however fast
//! the machine is. A held decision whose client goes away is dropped unapplied.
//!
//! Every answered call bumps an epoch; `GET /_emulator/wait?decisions=20&held=1` waits on it until
//! the counters reach what was asked, so tests wait on events instead of polling with sleeps.

use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::watch;

#[derive(Debug, Default)]
struct State {
    /// Decisions let through before the gate closes; None = open.
    after: Option<u64>,
    /// Decisions let through since the gate was set.
    admitted: u64,
    /// Decisions waiting at the gate now.
    held: u64,
}

impl State {
    fn open_for_one(&self) -> bool {
        self.after.is_none_or(|after| self.admitted < after)
    }
}

pub(crate) struct Gate {
    state: Mutex<State>,
    epoch: watch::Sender<u64>,
}

/// What `GET /_emulator/wait` can wait for, read at one moment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counters {
    pub decisions: u64,
    pub held: u64,
    pub admitted: u64,
}

impl Gate {
    pub fn new(after: Option<u64>) -> Gate {
        Gate { state: Mutex::new(State { after, ..State::default() }), epoch: watch::Sender::new(0) }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Something a waiter may care about changed.
    pub fn bump(&self) {
        self.epoch.send_modify(|e| *e = e.wrapping_add(1));
    }

    /// Waits until one decision may pass, and counts it as let through.
    pub async fn admit(&self) {
        let mut changed = self.epoch.subscribe();
        {
            let mut s = self.state();
            if s.open_for_one() {
                s.admitted += 1;
                return;
            }
            s.held += 1;
        }
        self.bump();
        // Counts the decision out of `held` however the wait ends: let through, or dropped
        // because its client went away.
        let _held = Held(self);
        loop {
            if changed.changed().await.is_err() {
                return;
            }
            let mut s = self.state();
            if s.open_for_one() {
                s.admitted += 1;
                return;
            }
        }
    }

    /// `{"after": N}` closes the gate after N more decisions; `{"open": true}` (or `{"after":
    /// null}`) opens it. Returns the gate's state.
    pub fn set(&self, body: &Value) -> Result<Value, String> {
        {
            let mut s = self.state();
            match (body.get("after"), body.get("open").and_then(Value::as_bool)) {
                (_, Some(true)) | (Some(Value::Null), _) => s.after = None,
                (Some(v), _) => {
                    s.after = Some(v.as_u64().ok_or("\"after\" is a whole number of decisions")?);
                    s.admitted = 0;
                }
                (None, _) => return Err("send {\"after\": N} or {\"open\": true}".into()),
            }
        }
        self.bump();
        Ok(self.describe())
    }

    pub fn describe(&self) -> Value {
        let s = self.state();
        json!({"after": s.after, "admitted": s.admitted, "held": s.held})
    }

    /// Waits until `reached` holds for the counters that `read` gives, or `timeout` passes;
    /// returns the counters and whether they reached the goal.
    pub async fn wait(
        &self,
        timeout: Duration,
        read: impl Fn(&Gate) -> Counters,
        reached: impl Fn(&Counters) -> bool,
    ) -> (Counters, bool) {
        let mut changed = self.epoch.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let now = read(self);
            if reached(&now) {
                return (now, true);
            }
            if tokio::time::timeout_at(deadline, changed.changed()).await.is_err() {
                let now = read(self);
                return (now, reached(&now));
            }
        }
    }

    pub fn counts(&self) -> (u64, u64) {
        let s = self.state();
        (s.held, s.admitted)
    }
}

struct Held<'a>(&'a Gate);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.state().held -= 1;
        self.0.bump();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn counters(g: &Gate) -> Counters {
        let (held, admitted) = g.counts();
        Counters { decisions: 0, held, admitted }
    }

    #[tokio::test]
    async fn holds_after_n_until_opened_and_counts_the_dropped() {
        let gate = Arc::new(Gate::new(Some(2)));
        gate.admit().await;
        gate.admit().await;
        let g = gate.clone();
        let third = tokio::spawn(async move { g.admit().await });
        let g = gate.clone();
        let fourth = tokio::spawn(async move { g.admit().await });
        let (c, ok) = gate.wait(Duration::from_secs(30), counters, |c| c.held == 2).await;
        assert!(ok, "both wait at the gate: {c:?}");
        fourth.abort();
        let (c, ok) = gate.wait(Duration::from_secs(30), counters, |c| c.held == 1).await;
        assert!(ok && c.admitted == 2, "a dropped one leaves the gate unapplied: {c:?}");
        gate.set(&json!({"open": true})).unwrap();
        third.await.unwrap();
        assert_eq!(gate.describe(), json!({"after": null, "admitted": 3, "held": 0}));
        assert!(gate.set(&json!({"after": "x"})).is_err());
    }
}

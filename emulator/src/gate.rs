//! The gate and the events tests wait on.
//!
//! The gate lets the first N decisions through and holds every later one, before it is applied,
//! until the test opens the gate: "stop in the middle" then stops at a known point, however fast
//! the machine is. A held decision whose client goes away is dropped unapplied.
//!
//! Listing pages have a gate of their own (`{"pagesAfter": N}`): it serves N more pages and holds
//! every later one, unanswered, until it is opened, so that a test can hold a listing between two
//! pages while something else happens (a decision applied before the last page is served). So do
//! `$batch`es that carry decisions (`{"batchesAfter": N}`): a held batch waits before any of its
//! items is worked, so a stop comes between whole batches, each applied in full or not at all,
//! however the client cut its requests into batches.
//!
//! The answers of `$batch`es of decisions have a gate too (`{"batchAnswersAfter": N}`): it answers
//! N more and holds every later one after all of its items were worked (applied), unanswered,
//! until it is opened. A client then waits on a batch the service has applied, however fast the
//! machine is: the case of a decision applied whose answer never came (a cancel's grace spent, a
//! connection lost), without a race between the work and the client giving up on it.
//!
//! Every answered call bumps an epoch; `GET /_emulator/wait?decisions=20&held=1` waits on it until
//! the counters reach what was asked, so tests wait on events instead of polling with sleeps.

use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::watch;

/// One gate: how many it lets through before it closes, and how many wait at it.
#[derive(Debug, Default)]
struct Lane {
    /// Let through before the gate closes; None = open.
    after: Option<u64>,
    /// Let through since the gate was set.
    admitted: u64,
    /// Waiting at the gate now.
    held: u64,
}

impl Lane {
    fn open_for_one(&self) -> bool {
        self.after.is_none_or(|after| self.admitted < after)
    }

    /// `N` closes the lane after N more; `null` opens it.
    fn set(&mut self, value: &Value, what: &str) -> Result<(), String> {
        if value.is_null() {
            self.after = None;
            return Ok(());
        }
        self.after = Some(value.as_u64().ok_or(format!("a whole number of {what}, or null"))?);
        self.admitted = 0;
        Ok(())
    }
}

/// What waits at a gate: a decision, a page of a listing, a `$batch` of decisions, or the answer
/// of one whose items were worked.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Decision,
    Page,
    Batch,
    BatchAnswer,
}

#[derive(Debug, Default)]
struct State {
    decisions: Lane,
    pages: Lane,
    batches: Lane,
    batch_answers: Lane,
    /// Batches of decisions whose every item was worked (their answer on its way, or held).
    batches_done: u64,
}

impl State {
    fn lane(&mut self, kind: Kind) -> &mut Lane {
        match kind {
            Kind::Decision => &mut self.decisions,
            Kind::Page => &mut self.pages,
            Kind::Batch => &mut self.batches,
            Kind::BatchAnswer => &mut self.batch_answers,
        }
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
    pub pages_held: u64,
    pub pages_admitted: u64,
    pub batches_held: u64,
    pub batches_admitted: u64,
    pub batches_done: u64,
    pub batch_answers_held: u64,
    pub batch_answers_admitted: u64,
}

impl Gate {
    pub fn new(after: Option<u64>) -> Gate {
        let decisions = Lane { after, ..Lane::default() };
        Gate { state: Mutex::new(State { decisions, ..State::default() }), epoch: watch::Sender::new(0) }
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
        self.admit_one(Kind::Decision).await
    }

    /// Waits until one page of a listing may be served, and counts it as let through.
    pub async fn admit_page(&self) {
        self.admit_one(Kind::Page).await
    }

    /// Waits until one `$batch` that carries decisions may be worked, and counts it as let through.
    pub async fn admit_batch(&self) {
        self.admit_one(Kind::Batch).await
    }

    /// Waits until the answer of a `$batch` of decisions whose items were all worked may be sent,
    /// and counts it as let through.
    pub async fn admit_batch_answer(&self) {
        self.admit_one(Kind::BatchAnswer).await
    }

    /// A `$batch` of decisions let through has had every item worked.
    pub fn batch_done(&self) {
        self.state().batches_done += 1;
        self.bump();
    }

    async fn admit_one(&self, kind: Kind) {
        let mut changed = self.epoch.subscribe();
        {
            let mut s = self.state();
            let lane = s.lane(kind);
            if lane.open_for_one() {
                lane.admitted += 1;
                return;
            }
            lane.held += 1;
        }
        self.bump();
        // Counts it out of `held` however the wait ends: let through, or dropped because its
        // client went away.
        let _held = Held(self, kind);
        loop {
            if changed.changed().await.is_err() {
                return;
            }
            let mut s = self.state();
            let lane = s.lane(kind);
            if lane.open_for_one() {
                lane.admitted += 1;
                return;
            }
        }
    }

    /// `{"after": N}` closes the decisions' gate after N more decisions, `{"pagesAfter": N}` the
    /// pages' gate after N more pages of a listing, `{"batchesAfter": N}` the batches' gate after N
    /// more `$batch`es of decisions, `{"batchAnswersAfter": N}` the answers' gate after N more
    /// answers of `$batch`es of decisions (the later ones are worked, then held unanswered); `null`
    /// for any opens it, and `{"open": true}` opens them all.
    /// Returns the gate's state.
    pub fn set(&self, body: &Value) -> Result<Value, String> {
        {
            let mut s = self.state();
            let open = body.get("open").and_then(Value::as_bool) == Some(true);
            let (after, pages, batches) = (body.get("after"), body.get("pagesAfter"), body.get("batchesAfter"));
            let answers = body.get("batchAnswersAfter");
            if open {
                s.decisions.after = None;
                s.pages.after = None;
                s.batches.after = None;
                s.batch_answers.after = None;
            } else if after.is_none() && pages.is_none() && batches.is_none() && answers.is_none() {
                return Err("send {\"after\": N}, {\"pagesAfter\": N}, {\"batchesAfter\": N}, \
                            {\"batchAnswersAfter\": N} or {\"open\": true}"
                    .into());
            }
            if !open {
                if let Some(v) = after {
                    s.decisions.set(v, "decisions").map_err(|e| format!("\"after\" is {e}"))?;
                }
                if let Some(v) = pages {
                    s.pages.set(v, "pages").map_err(|e| format!("\"pagesAfter\" is {e}"))?;
                }
                if let Some(v) = batches {
                    s.batches.set(v, "batches").map_err(|e| format!("\"batchesAfter\" is {e}"))?;
                }
                if let Some(v) = answers {
                    s.batch_answers.set(v, "answers").map_err(|e| format!("\"batchAnswersAfter\" is {e}"))?;
                }
            }
        }
        self.bump();
        Ok(self.describe())
    }

    pub fn describe(&self) -> Value {
        let s = self.state();
        json!({
            "after": s.decisions.after, "admitted": s.decisions.admitted, "held": s.decisions.held,
            "pagesAfter": s.pages.after, "pagesAdmitted": s.pages.admitted, "pagesHeld": s.pages.held,
            "batchesAfter": s.batches.after, "batchesAdmitted": s.batches.admitted, "batchesHeld": s.batches.held,
            "batchesDone": s.batches_done,
            "batchAnswersAfter": s.batch_answers.after, "batchAnswersAdmitted": s.batch_answers.admitted,
            "batchAnswersHeld": s.batch_answers.held,
        })
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

    /// The counters of both gates; `decisions` (the tenant's record) is the caller's to fill.
    pub fn counts(&self) -> Counters {
        let s = self.state();
        Counters {
            decisions: 0,
            held: s.decisions.held,
            admitted: s.decisions.admitted,
            pages_held: s.pages.held,
            pages_admitted: s.pages.admitted,
            batches_held: s.batches.held,
            batches_admitted: s.batches.admitted,
            batches_done: s.batches_done,
            batch_answers_held: s.batch_answers.held,
            batch_answers_admitted: s.batch_answers.admitted,
        }
    }
}

struct Held<'a>(&'a Gate, Kind);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.state().lane(self.1).held -= 1;
        self.0.bump();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn counters(g: &Gate) -> Counters {
        g.counts()
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
        let described = gate.describe();
        assert_eq!(
            (&described["after"], &described["admitted"], &described["held"]),
            (&json!(null), &json!(3), &json!(0))
        );
        assert!(gate.set(&json!({"after": "x"})).is_err());
    }

    #[tokio::test]
    async fn holds_pages_after_n_apart_from_decisions_until_opened() {
        let gate = Arc::new(Gate::new(None));
        gate.set(&json!({"pagesAfter": 1})).unwrap();
        gate.admit_page().await;
        let g = gate.clone();
        let second = tokio::spawn(async move { g.admit_page().await });
        let (c, ok) = gate.wait(Duration::from_secs(30), counters, |c| c.pages_held == 1).await;
        assert!(ok && c.pages_admitted == 1, "the second page waits: {c:?}");
        // Decisions pass while a page is held.
        gate.admit().await;
        assert_eq!(gate.counts().admitted, 1);
        gate.set(&json!({"pagesAfter": null})).unwrap();
        second.await.unwrap();
        let d = gate.describe();
        assert_eq!((&d["pagesAfter"], &d["pagesAdmitted"], &d["pagesHeld"]), (&json!(null), &json!(2), &json!(0)));
        assert!(gate.set(&json!({"pagesAfter": -1})).is_err());
        assert!(gate.set(&json!({})).is_err());
    }

    #[tokio::test]
    async fn holds_batches_after_n_and_counts_those_done() {
        let gate = Arc::new(Gate::new(None));
        gate.set(&json!({"batchesAfter": 1})).unwrap();
        gate.admit_batch().await;
        gate.batch_done();
        let g = gate.clone();
        let second = tokio::spawn(async move { g.admit_batch().await });
        let (c, ok) = gate.wait(Duration::from_secs(30), counters, |c| c.batches_held == 1).await;
        assert!(ok && c.batches_admitted == 1 && c.batches_done == 1, "the second batch waits: {c:?}");
        gate.set(&json!({"open": true})).unwrap();
        second.await.unwrap();
        let d = gate.describe();
        assert_eq!(
            (&d["batchesAfter"], &d["batchesAdmitted"], &d["batchesHeld"]),
            (&json!(null), &json!(2), &json!(0))
        );
    }

    #[tokio::test]
    async fn holds_batch_answers_after_n_until_opened() {
        let gate = Arc::new(Gate::new(None));
        gate.set(&json!({"batchAnswersAfter": 0})).unwrap();
        let g = gate.clone();
        let first = tokio::spawn(async move { g.admit_batch_answer().await });
        let (c, ok) = gate.wait(Duration::from_secs(30), counters, |c| c.batch_answers_held == 1).await;
        assert!(ok && c.batch_answers_admitted == 0, "the answer waits: {c:?}");
        // Batches and decisions pass while an answer is held.
        gate.admit_batch().await;
        gate.admit().await;
        gate.set(&json!({"batchAnswersAfter": null})).unwrap();
        first.await.unwrap();
        let d = gate.describe();
        assert_eq!(
            (&d["batchAnswersAfter"], &d["batchAnswersAdmitted"], &d["batchAnswersHeld"]),
            (&json!(null), &json!(1), &json!(0))
        );
        assert!(gate.set(&json!({"batchAnswersAfter": "x"})).is_err());
    }
}

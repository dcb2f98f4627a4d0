//! One request on its way to a decision, whatever carries it (a batch, or a request of its own):
//! what the last read and the last send said, and so what to do next; and, at the end, what to
//! report. The rules of a decision itself (`steps.rs`) are applied here, and what the run knows
//! on top of them: whether a decision of its own is out there with an unknown outcome, whether an
//! approval that reads as open after a lost answer has been read twice, how long a 404 may be a
//! replication delay, and who decided a request decided by someone else (or another run), and when.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::Method;

use serde_json::Value;

use super::steps::{AfterRead, AfterSend, after_read, after_send, refuse_own_request, review_body};
use crate::error::{ErrorKind, PimError, Result};
use crate::http::batch::Reply;
use crate::http::retry::{Attempt, RetryPolicy, Setback};
use crate::http::trace::WaitReason;
use crate::http::transport::{Http, judge};
use crate::model::{DecisionTarget, Review};
use crate::surface::api::DecisionRoute;
use crate::validate::{Justification, printable};
use crate::wire::{Approval, ApprovalStep};

/// What every item of a run shares.
pub(crate) struct Ctx<'a> {
    pub(crate) http: &'a Http,
    pub(crate) review: Review,
    pub(crate) justification: &'a Justification,
    /// The signed-in approver's object id, when the token says.
    pub(crate) me: Option<&'a str>,
    /// The decision form (see [`DecisionRoute::forms`]) the service last took in this operation:
    /// every request starts with it, so a tenant that takes only the second form costs one
    /// refused call per operation, not per request.
    pub(crate) form_taken: &'a AtomicUsize,
    /// Set when the service answers a call of this unit 429 or 503 (`pace.rs` slows down).
    pub(crate) pushed_back: &'a AtomicBool,
}

/// Where one request stands.
pub(crate) enum State {
    /// Its approval must be read (first, or again after a send of unknown outcome).
    NeedsRead,
    /// Its open step is known: send the decision to it.
    ReadyToSend(String),
    /// Finished: the step this run decided, or why not.
    Settled(Result<String>),
}

pub(crate) struct Item {
    pub(crate) index: usize,
    pub(crate) target: DecisionTarget,
    /// `None` only for an item settled before any call (an invalid id, my own request).
    pub(crate) route: Option<DecisionRoute>,
    pub(crate) state: State,
    /// Decisions sent for it (a form the service refused as not its own is not counted).
    pub(crate) sends: u32,
    /// The decision form sent next, and the forms tried (a bit each).
    pub(crate) form: usize,
    forms_tried: u32,
    /// A decision of ours was sent and whether it was applied is not established.
    unknown: bool,
    /// After a lost answer, the approval read as open once: a second read, a little later, must
    /// agree before the decision is sent again (reads may be stale for a while).
    confirming: bool,
    /// When its approval first answered 404 in a row of 404s.
    not_found_since: Option<Instant>,
    not_found_reads: u32,
    last_error: Option<PimError>,
    /// Our first decision was refused with 409, read as "decided before it": the refusal, kept
    /// until a read says what it was (decided by someone, expired, or still open: a plain refusal).
    conflict: Option<PimError>,
    /// Its approval was read once more after the operation was cancelled (`rounds.rs`), since a
    /// decision of ours had an unknown outcome.
    read_after_cancel: bool,
}

impl Item {
    /// An item for `target`, refused at once when its id is invalid or it is my own request.
    pub(crate) fn new(index: usize, target: DecisionTarget, ctx: &Ctx<'_>) -> Item {
        let body = review_body(ctx.review, ctx.justification);
        let route = target.surface.api().decision_route(&ctx.http.urls, &target.approval_id, &body);
        let (route, state) = match route.and_then(|r| refuse_own_request(&target, ctx.me).map(|()| r)) {
            Ok(r) => (Some(r), State::NeedsRead),
            Err(e) => (None, State::Settled(Err(e))),
        };
        Item {
            index,
            target,
            route,
            state,
            sends: 0,
            form: ctx.form_taken.load(Ordering::Relaxed),
            forms_tried: 0,
            unknown: false,
            confirming: false,
            not_found_since: None,
            not_found_reads: 0,
            last_error: None,
            conflict: None,
            read_after_cancel: false,
        }
    }

    pub(crate) fn is_settled(&self) -> bool {
        matches!(self.state, State::Settled(_))
    }

    /// A decision of ours was sent, and whether the service applied it is not yet established.
    pub(crate) fn outcome_is_unknown(&self) -> bool {
        self.unknown && !self.is_settled()
    }

    /// Its approval is being read once more after a cancel: what that read shows is judged as any
    /// read (`on_read`), but nothing is sent after it, and an outcome still unknown says so.
    pub(crate) fn reading_after_cancel(&mut self) {
        self.read_after_cancel = true;
    }

    /// Why it goes round again, as a trace reports the wait: a read to confirm after a lost
    /// answer, else what its last setback was.
    pub(crate) fn wait_reason(&self) -> WaitReason {
        if self.confirming {
            WaitReason::StaleRead
        } else {
            self.last_error.as_ref().map_or(WaitReason::Unsettled, WaitReason::of_error)
        }
    }

    /// Settles it with `e`, or, when a decision of ours is out there, as unknown.
    fn settle_err(&mut self, e: PimError) {
        let cancelled = self.read_after_cancel;
        self.state = State::Settled(Err(if self.unknown { self.outcome_unknown(Some(&e), cancelled) } else { e }));
    }

    /// Takes in what a read of its approval came to. Returns how long it asks the next round to
    /// wait, if at all.
    pub(crate) fn on_read(&mut self, reply: Reply, ctx: &Ctx<'_>, policy: &RetryPolicy) -> Option<Duration> {
        match judge(reply) {
            Attempt::Done(Ok(answer)) => {
                self.not_found_since = None;
                let api = self.target.surface.api();
                match answer.read(|b| api.read_approval(b)) {
                    Ok(approval) => self.after_read(&approval, ctx, policy),
                    Err(e) => {
                        self.settle_err(e);
                        None
                    }
                }
            }
            Attempt::Done(Err(e)) if e.kind == ErrorKind::NotFound => {
                // A new approval may not have replicated to every replica yet: read again, with
                // backoff, for a while.
                let since = *self.not_found_since.get_or_insert_with(Instant::now);
                if since.elapsed() < Duration::from_millis(policy.not_found_wait_ms) {
                    self.not_found_reads += 1;
                    self.last_error = Some(e);
                    Some(policy.backoff(self.not_found_reads))
                } else {
                    self.settle_err(e);
                    None
                }
            }
            Attempt::Done(Err(e)) => {
                self.settle_err(e);
                None
            }
            Attempt::Again(setback) => {
                self.last_error = Some(setback.error);
                setback.retry_after
            }
        }
    }

    fn after_read(&mut self, approval: &Approval, ctx: &Ctx<'_>, policy: &RetryPolicy) -> Option<Duration> {
        match after_read(approval, ctx.review, self.unknown, ctx.me) {
            // Still open after the service refused our decision with 409: it was not decided
            // before; it is a refusal (of my own request, say), and is not sent again.
            AfterRead::Send(_) if self.conflict.is_some() => {
                self.state = State::Settled(Err(self.conflict.take().unwrap_or_else(not_in_time)));
            }
            AfterRead::Send(step) => {
                if self.unknown && !self.confirming {
                    // Open, after a decision of ours whose answer was lost: maybe a stale read.
                    // Read once more, a little later, before sending again.
                    self.confirming = true;
                    return Some(Duration::from_millis(policy.stale_read_delay_ms));
                }
                self.confirming = false;
                self.state = State::ReadyToSend(step);
            }
            AfterRead::Settled(Ok(step)) => {
                // Decided by me with our review: ours, unless the justification is another run's.
                let found = approval.steps().iter().find(|s| s.id == step);
                let theirs =
                    found.and_then(|s| s.justification.as_deref()).filter(|j| *j != ctx.justification.as_str());
                self.state = State::Settled(match (found, theirs) {
                    (Some(s), Some(_)) => Err(already_decided(s, ctx.me, " in another run")),
                    _ => Ok(step),
                });
            }
            AfterRead::Settled(Err(e)) if e.kind == ErrorKind::AlreadyDecided => {
                // Decided, not by this run: say by whom and when.
                let mut e = decided_step(approval).map_or(e, |s| already_decided(s, ctx.me, ""));
                // Read after the service refused our decision: keep its status, code and request-id.
                if let Some(refusal) = self.conflict.take() {
                    (e.http_status, e.service_code, e.request_id) =
                        (refusal.http_status, refusal.service_code, refusal.request_id);
                }
                self.state = State::Settled(Err(e));
            }
            // Expired, read after the service refused our decision (a 409 reads like "decided
            // before"): the refusal was for expiry, and its status, code and request-id are kept.
            AfterRead::Settled(Err(e)) if e.kind == ErrorKind::Expired && self.conflict.is_some() => {
                self.state = State::Settled(Err(super::steps::expired(self.conflict.take())));
            }
            AfterRead::Settled(Err(e)) => self.settle_err(e),
        }
        None
    }

    /// The form to send, and its method and body.
    pub(crate) fn send_form(&mut self) -> Option<(Method, Vec<u8>)> {
        let route = self.route.as_ref()?;
        self.form = self.form.min(route.forms.len().saturating_sub(1));
        self.forms_tried |= 1 << self.form;
        route.forms.get(self.form).map(|f| (f.method.clone(), f.body.clone()))
    }

    /// Takes in what the service said to the decision sent (`sends` already counts it).
    pub(crate) fn on_send(&mut self, reply: Reply, ctx: &Ctx<'_>) -> Option<Duration> {
        let State::ReadyToSend(step) = &self.state else { return None };
        let step = step.clone();
        // Refused as a form the service does not take (405, 400): not applied; another published
        // form goes next, to the same step.
        if let (Ok(answer), Some(route)) = (&reply, &self.route)
            && let Some(next) = route.other_form(self.form, self.forms_tried, answer.status)
        {
            self.sends -= 1;
            self.form = next;
            self.last_error = Some(answer.error());
            return None;
        }
        let reply = match reply {
            // Never connected: nothing was sent. Read again, then send.
            Err(e) if e.kind == ErrorKind::Network => {
                self.sends -= 1;
                self.state = State::NeedsRead;
                self.last_error = Some(e);
                return None;
            }
            // Sent, and what came back says nothing of the outcome: an answer too large or not a
            // batch answer. Read again.
            Err(e) if matches!(e.kind, ErrorKind::ResponseTooLarge | ErrorKind::ServiceError) => {
                self.unknown = true;
                self.confirming = false;
                self.state = State::NeedsRead;
                self.last_error = Some(e);
                return None;
            }
            reply => reply,
        };
        match after_send(reply, self.sends) {
            AfterSend::Decided => {
                if self.route.as_ref().is_some_and(|r| r.forms.len() > 1) {
                    ctx.form_taken.store(self.form, Ordering::Relaxed);
                }
                self.state = State::Settled(Ok(step));
            }
            AfterSend::ReadAgain(setback) => return self.read_again(setback),
            // A conflict on our first send: decided before it. Read who decided it, and when.
            AfterSend::Failed(e) if e.kind == ErrorKind::AlreadyDecided && !self.unknown => {
                self.state = State::NeedsRead;
                self.conflict = Some(e.clone());
                self.last_error = Some(e);
            }
            AfterSend::Failed(e) => self.state = State::Settled(Err(e)),
        }
        None
    }

    fn read_again(&mut self, setback: Setback) -> Option<Duration> {
        // A 429 says the decision was not taken; anything else (no answer, a 5xx, a conflict
        // after our own earlier send) leaves its outcome unknown until a read settles it.
        self.unknown |= setback.error.kind != ErrorKind::Throttled;
        self.confirming = false;
        self.state = State::NeedsRead;
        self.last_error = Some(setback.error);
        setback.retry_after
    }

    /// Its result once the run is over (cancelled, or out of budget, or settled).
    pub(crate) fn finish(self, cancelled: bool) -> (usize, DecisionTarget, Result<String>) {
        let result = match self.state {
            State::Settled(r) => r,
            _ if self.unknown => Err(self.outcome_unknown(self.last_error.as_ref(), cancelled)),
            _ if cancelled => Err(PimError::new(
                ErrorKind::Cancelled,
                "The operation was cancelled before this request's decision was sent; nothing was sent.",
            )),
            _ => Err(self.last_error.clone().unwrap_or_else(not_in_time)),
        };
        (self.index, self.target, result)
    }

    /// The error of a decision sent whose outcome could not be established: what to run to check.
    fn outcome_unknown(&self, why: Option<&PimError>, cancelled: bool) -> PimError {
        let when = match (cancelled, self.read_after_cancel) {
            (true, true) => {
                "before the operation was cancelled, nor by reading its approval once more after the cancel"
            }
            (true, false) => "before the operation was cancelled",
            (false, _) => "within the operation's time budget",
        };
        let why = why.map(|e| format!(" (last: {})", e.message.trim_end_matches('.'))).unwrap_or_default();
        let url = self.route.as_ref().map(|r| r.approval.to_string()).unwrap_or_default();
        PimError::new(
            ErrorKind::OutcomeUnknown,
            format!(
                "A decision was sent for approval '{}', but whether the service applied it could not be established {when}{why}. Do not send it again blindly: check it first, by reading GET {url} (its step shows reviewResult and reviewedBy), or by listing what still waits (Get-PimPending -Surface {}).",
                printable(&self.target.approval_id),
                self.target.surface.name()
            ),
        )
    }
}

fn not_in_time() -> PimError {
    PimError::new(ErrorKind::ServiceError, "The service did not complete this request in time; nothing was applied.")
}

/// The step that shows a decision, one assigned to me first.
fn decided_step(approval: &Approval) -> Option<&ApprovalStep> {
    let decided = |s: &&ApprovalStep| !s.is_unreviewed() && s.review_result.is_some();
    let steps = approval.steps();
    steps.iter().filter(|s| s.assigned_to_me == Some(true)).find(decided).or_else(|| steps.iter().find(decided))
}

/// `AlreadyDecided`, with who decided and when, as the service shows it.
fn already_decided(step: &ApprovalStep, me: Option<&str>, how: &str) -> PimError {
    let result = step.review_result.as_deref().unwrap_or("decided");
    let by_me = match (me, &step.reviewed_by) {
        (Some(me), Some(who)) => who.to_string().to_ascii_lowercase().contains(&me.to_ascii_lowercase()),
        _ => false,
    };
    let who = if by_me { Some("you".to_string()) } else { step.reviewed_by.as_ref().and_then(identity) };
    let mut text = format!("This request has already been decided ({})", printable(result));
    if let Some(who) = who {
        text.push_str(&format!(" by {}", printable(&who)));
    }
    text.push_str(how);
    if let Some(when) = &step.reviewed_date_time {
        text.push_str(&format!(" at {}", printable(when)));
    }
    if let Some(j) = step.justification.as_deref().filter(|j| !j.is_empty()) {
        text.push_str(&format!(", justification '{}'", printable(j)));
    }
    text.push_str("; this run's decision was not applied.");
    PimError::new(ErrorKind::AlreadyDecided, text)
}

/// A name for an identity as Graph (`{displayName, userPrincipalName, id}`, or a list of them) or
/// ARM (`{principalName, principalEmail, principalId}`) writes it.
fn identity(v: &Value) -> Option<String> {
    if let Some(list) = v.as_array() {
        return list.iter().find_map(identity);
    }
    let text = |k: &str| v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    let name = text("displayName").or_else(|| text("principalName"));
    let upn = text("userPrincipalName").or_else(|| text("principalEmail")).or_else(|| text("email"));
    let id = text("id").or_else(|| text("principalId"));
    match (name, upn, id) {
        (Some(n), Some(u), _) => Some(format!("{n} ({u})")),
        (Some(n), None, _) => Some(n.to_string()),
        (None, Some(u), _) => Some(u.to_string()),
        (None, None, Some(id)) => Some(id.to_string()),
        _ => v.get("user").and_then(identity),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identities_read_in_every_shape() {
        assert_eq!(identity(&json!([{"id": "x", "displayName": "Megan"}])).as_deref(), Some("Megan"));
        assert_eq!(identity(&json!({"principalName": "Jo", "principalEmail": "jo@x"})).as_deref(), Some("Jo (jo@x)"));
        assert_eq!(identity(&json!({"user": {"id": "u1"}})).as_deref(), Some("u1"));
        assert_eq!(identity(&json!({})), None);
    }
}

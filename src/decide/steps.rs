//! The rules of one decision, written once for every path: refuse my own request, pick the step
//! that is open for me, tell our own earlier decision from someone else's, and judge what the
//! service said to a decision sent.

use std::time::SystemTime;

use crate::error::{ErrorKind, PimError, Result};
use crate::http::retry::{Attempt, Setback};
use crate::http::transport::{Response, judge};
use crate::model::{DecisionOutcome, DecisionTarget, Review};
use crate::time::rfc3339;
use crate::validate::{Justification, is_plain_segment};
use crate::wire::{Approval, ApprovalStep, ReviewBody};

/// The body every surface sends, in its own wrapping.
pub(crate) fn review_body<'a>(review: Review, justification: &'a Justification) -> ReviewBody<'a> {
    ReviewBody { review_result: review.wire_value(), justification: justification.as_str() }
}

/// A request of the signed-in user (when the caller named its principal) is refused without a call.
pub(crate) fn refuse_own_request(target: &DecisionTarget, me: Option<&str>) -> Result<()> {
    match (&target.principal_id, me) {
        (Some(p), Some(me)) if p.eq_ignore_ascii_case(me) => Err(PimError::new(
            ErrorKind::SelfApproval,
            "This is your own request; an approver cannot approve or deny their own request.",
        )),
        _ => Ok(()),
    }
}

/// What reading an approval says to do next.
pub(crate) enum AfterRead {
    /// Send the decision to this step: open for me (assigned to me, not reviewed, not over:
    /// [`ApprovalStep::is_open_for_me`], whatever the spelling of its status) and a plain id.
    Send(String),
    /// Nothing to send: made already by our own earlier attempt (the step id), or refused.
    Settled(Result<String>),
}

/// `sent_before` says whether this run already sent a decision for this request (whose outcome
/// may be unknown); `me` is the signed-in approver's object id, when the token says.
pub(crate) fn after_read(approval: &Approval, review: Review, sent_before: bool, me: Option<&str>) -> AfterRead {
    match approval.step_open_for_me() {
        Some(s) if is_plain_segment(&s.id) => AfterRead::Send(s.id.clone()),
        Some(_) => AfterRead::Settled(Err(PimError::new(
            ErrorKind::InvalidResponse,
            "The service sent a step id that is not a plain id.",
        ))),
        None => AfterRead::Settled(closed_step(approval, review, sent_before, me)),
    }
}

/// No step is open for me: either our own earlier attempt closed it (the step id), or nothing
/// can be sent, and the error says why.
fn closed_step(approval: &Approval, review: Review, sent_before: bool, me: Option<&str>) -> Result<String> {
    let mine: Vec<&ApprovalStep> = approval.steps().iter().filter(|s| s.assigned_to_me == Some(true)).collect();
    if sent_before {
        let ours = mine.iter().find(|s| {
            let result = s.review_result.as_deref().unwrap_or_default();
            let same =
                result.eq_ignore_ascii_case(review.wire_value()) || result.eq_ignore_ascii_case(review.past_tense());
            let by_me = match (me, &s.reviewed_by) {
                (Some(me), Some(who)) => who.to_string().to_ascii_lowercase().contains(&me.to_ascii_lowercase()),
                _ => true,
            };
            same && by_me
        });
        if let Some(s) = ours {
            return Ok(s.id.clone());
        }
    }
    if let Some(s) = mine.iter().find(|s| !s.is_unreviewed()) {
        let result = s.review_result.clone().filter(|r| !r.trim().is_empty()).unwrap_or_else(|| "decided".into());
        return Err(PimError::new(
            ErrorKind::AlreadyDecided,
            format!("This request has already been decided ({result}); nothing was sent."),
        ));
    }
    if mine.iter().any(|s| s.is_expired()) {
        return Err(expired(None));
    }
    if let Some(s) = mine.first() {
        return Err(PimError::new(
            ErrorKind::NotAssignedToMe,
            format!(
                "Your approval step is over (status {}); nothing was sent.",
                s.status.as_deref().unwrap_or("unknown")
            ),
        ));
    }
    Err(PimError::new(
        ErrorKind::NotAssignedToMe,
        "No approval step of this request is assigned to you; nothing was sent.",
    ))
}

/// The request expired unanswered. `refusal` is the service's answer when it refused a decision
/// for that reason (its status, code and request-id are kept); `None` when its step read `Expired`.
pub(crate) fn expired(refusal: Option<PimError>) -> PimError {
    let mut e = refusal.unwrap_or_else(|| PimError::new(ErrorKind::Expired, String::new()));
    e.kind = ErrorKind::Expired;
    e.message = if e.http_status == 0 {
        "This request expired unanswered (approvers have 24 hours) and cannot be approved or denied any more; \
         nothing was sent. The requester must submit it again."
            .into()
    } else {
        "This request expired unanswered (approvers have 24 hours) and cannot be approved or denied any more; \
         the service refused the decision. The requester must submit it again."
            .into()
    };
    e
}

/// What the service's reply to a decision sent says.
pub(crate) enum AfterSend {
    Decided,
    /// The outcome is unknown (no answer, throttled, 5xx; or a conflict after our own earlier
    /// send): read the approval again before anything else. Never sent again blindly.
    ReadAgain(Setback),
    Failed(PimError),
}

/// `reply` is the answer, or why none came; `sends` counts the sends for this request so far,
/// this one included.
pub(crate) fn after_send(reply: Result<Response>, sends: u32) -> AfterSend {
    match reply {
        // Our own earlier attempt may be the one that decided it: read again and see.
        Ok(a) if a.status == 409 && sends > 1 => AfterSend::ReadAgain(Setback::counted(a.error(), None)),
        reply => match judge(reply) {
            Attempt::Done(Ok(_)) => AfterSend::Decided,
            Attempt::Done(Err(e)) => AfterSend::Failed(e),
            Attempt::Again(setback) => AfterSend::ReadAgain(setback),
        },
    }
}

impl DecisionOutcome {
    /// The outcome of `target`: the step decided, or why not.
    pub(crate) fn new(index: usize, target: DecisionTarget, review: Review, r: Result<String>) -> DecisionOutcome {
        let (result, step_id, error) = match r {
            Ok(step) => (review.past_tense(), Some(step), None),
            Err(e) => ("Failed", None, Some(e)),
        };
        DecisionOutcome {
            index,
            approval_id: target.approval_id,
            surface: target.surface,
            result,
            step_id,
            decided_at: error.is_none().then(|| rfc3339(SystemTime::now())),
            error,
        }
    }
}

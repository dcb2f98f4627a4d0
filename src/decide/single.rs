//! The per-request path: one decision on its own, for a surface whose service has no batching
//! (ARM), or when a caller decides one request. Read the approval, send to the open step, and
//! when the outcome is unknown read again before anything else.

use tokio_util::sync::CancellationToken;

use super::steps::{AfterRead, AfterSend, after_read, after_send, refuse_own_request, review_body};
use crate::error::{PimError, Result};
use crate::http::cancellable;
use crate::http::retry::{Attempt, Budget, retry};
use crate::http::transport::Http;
use crate::model::{DecisionTarget, Review};
use crate::token::AccessToken;
use crate::validate::Justification;

/// Decides one request. Returns the step id.
pub(crate) async fn decide_one(
    http: &Http,
    token: &AccessToken,
    target: &DecisionTarget,
    review: Review,
    justification: &Justification,
    budget: &Budget,
    cancel: &CancellationToken,
) -> Result<String> {
    let api = target.surface.api();
    let route = &api.decision_route(&http.urls, &target.approval_id, &review_body(review, justification))?;
    let me = token.claims().and_then(|c| c.object_id);
    let me = me.as_deref();
    refuse_own_request(target, me)?;
    // The state handed from attempt to attempt: how many decisions were sent.
    retry(&http.retry, budget, cancel, 0u32, |sends| async move {
        let approval =
            http.get(token, &route.approval, budget, cancel).await.and_then(|a| a.read(|b| api.read_approval(b)));
        let step = match approval.map(|a| after_read(&a, review, sends > 0, me)) {
            Ok(AfterRead::Send(step)) => step,
            Ok(AfterRead::Settled(r)) => return (sends, Attempt::Done(r)),
            Err(e) => return (sends, Attempt::Done(Err(e))),
        };
        if cancel.is_cancelled() {
            return (sends, Attempt::Done(Err(PimError::cancelled())));
        }
        let sends = sends + 1;
        let send = http.execute(token, route.method.clone(), route.step_url(&step), Some(route.body.clone()), budget);
        let outcome = match after_send(cancellable(cancel, send).await, sends) {
            AfterSend::Decided => Attempt::Done(Ok(step)),
            AfterSend::ReadAgain(setback) => Attempt::Again(setback),
            AfterSend::Failed(e) => Attempt::Done(Err(e)),
        };
        (sends, outcome)
    })
    .await
}

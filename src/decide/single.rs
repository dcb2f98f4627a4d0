//! One decision on its own, as a caller of `PimClient::decide` asks: read the approval, send to
//! the open step, and when the outcome is unknown read again before anything else. The same
//! rounds as many decisions (`rounds.rs`), with one item carried alone.

use tokio_util::sync::CancellationToken;

use super::item::{Ctx, Item};
use super::rounds::{Carrier, decide_unit};
use crate::error::{PimError, Result};
use crate::http::retry::Budget;
use crate::http::transport::Http;
use crate::model::{DecisionTarget, Review};
use crate::token::AccessToken;
use crate::validate::Justification;

/// Decides one request within its own time budget. Returns the step id; a decision sent whose
/// outcome could not be established is `OutcomeUnknown`.
pub(crate) async fn decide_one(
    http: &Http,
    token: &AccessToken,
    target: &DecisionTarget,
    review: Review,
    justification: &Justification,
    cancel: &CancellationToken,
) -> Result<String> {
    let me = token.claims().and_then(|c| c.object_id);
    let form_taken = std::sync::atomic::AtomicUsize::new(0);
    let pushed_back = std::sync::atomic::AtomicBool::new(false);
    let ctx =
        Ctx { http, review, justification, me: me.as_deref(), form_taken: &form_taken, pushed_back: &pushed_back };
    let budget = Budget::start(&http.retry);
    let item = Item::new(0, target.clone(), &ctx);
    let mut done = decide_unit(&ctx, token, Carrier::Direct, vec![item], &budget, cancel).await;
    match done.pop() {
        Some((_, _, result)) => result,
        None => Err(PimError::cancelled()),
    }
}

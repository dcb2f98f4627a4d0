//! What an injected fault does to a route's answer: a reset or an immediate fault answers without
//! doing the work, a slow fault does the work and answers late, and a lost answer is a decision
//! applied and then left unanswered.

use axum::http::{Method, StatusCode};

use super::{CallKind, Fault, Faults};
use crate::answer::Answer;

/// Runs a route under fault injection. `arm`: answer in ARM's error shape (no `innerError`) and
/// codes. `path`: what the call addresses (decisions are counted as writes).
pub(crate) fn run(faults: &Faults, arm: bool, method: &Method, path: &str, route: impl FnOnce() -> Answer) -> Answer {
    let (ticket, fault) = faults.roll(CallKind::of(method, path));
    let mut answer = match fault {
        Some(Fault::Slow(pause)) => {
            let mut a = route();
            a.pause = Some(pause);
            a
        }
        Some(fault) => return at_once("(fault injected)", fault, arm),
        None => route(),
    };
    if answer.status.is_success() && faults.lose(&ticket) {
        answer.lost = true;
    }
    answer
}

/// An injected fault that answers at once, in the error shape of the service addressed.
fn at_once(route: &'static str, fault: Fault, arm: bool) -> Answer {
    let mut a = match fault {
        Fault::Reset => {
            let mut a = Answer::empty(route, StatusCode::OK);
            a.lost = true;
            return a;
        }
        // Not answered here: the route runs and the answer is delayed (see `run`).
        Fault::Slow(_) => {
            Answer::error(route, StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError", "Misrouted fault.")
        }
        Fault::Fail => {
            // Graph's code (errors.md) or ARM's.
            let code = if arm { "ServiceUnavailable" } else { "serviceNotAvailable" };
            let mut a =
                Answer::error(route, StatusCode::SERVICE_UNAVAILABLE, code, "The service is temporarily unavailable.");
            a.retry_after = Some("0.2".into());
            a
        }
        Fault::Throttle(text) => Answer::throttled_text(route, text),
    };
    if arm {
        // ARM's error body has no innerError, and ARM words its 429 its own way.
        if let Some(e) = a.body.as_mut().and_then(|b| b.get_mut("error")).and_then(|e| e.as_object_mut()) {
            e.remove("innerError");
            if a.status == StatusCode::TOO_MANY_REQUESTS {
                e.insert("message".into(), serde_json::json!("Too many requests; retry later."));
            }
        }
    }
    a
}

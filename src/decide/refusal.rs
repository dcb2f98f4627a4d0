//! Why the service refused a decision, asked of the service itself: it publishes no status or code
//! for a decision on an expired approval or on one's own request, so its answer is read, never its
//! text. Reads only; runs once per refused request, after its decision was sent.

use tokio_util::sync::CancellationToken;

use super::item::Ctx;
use super::steps::expired;
use crate::error::{ErrorKind, PimError};
use crate::http::retry::Budget;
use crate::model::DecisionTarget;
use crate::surface::api::DecisionRoute;
use crate::token::AccessToken;

/// Why the service refused a decision, when it did not say in a way we can read. No status or
/// code is published for a decision on an expired approval or on one's own request (the emulator's
/// forms `expiry.decision` and `selfApproval` try several), so a refusal (a 4xx but 401, 408 and
/// 429) is explained by what the service shows, never by its text:
/// - the approval read again: my step `Expired` means the request expired unanswered (`Expired`);
/// - the request's principal (the caller's word, else read from the service) being the signed-in
///   approver (`me`, from the token's claims) means it was my own request (`SelfApproval`).
///
/// Otherwise, and whenever these reads fail, the refusal stays as the service's answer made it.
/// Called once per refused request, after its decision was sent: never on the way of a success.
pub(crate) async fn explain_refusal(
    ctx: &Ctx<'_>,
    token: &AccessToken,
    target: &DecisionTarget,
    route: &DecisionRoute,
    refusal: PimError,
    budget: &Budget,
    cancel: &CancellationToken,
) -> PimError {
    let (http, me) = (ctx.http, ctx.me);
    let refused = (400..500).contains(&refusal.http_status) && ![401, 408, 429].contains(&refusal.http_status);
    if !refused || matches!(refusal.kind, ErrorKind::SelfApproval | ErrorKind::Expired) {
        return refusal;
    }
    let api = target.surface.api();
    let approval =
        http.get(token, &route.approval, budget, cancel).await.and_then(|a| a.read(|b| api.read_approval(b)));
    if let Ok(approval) = approval
        && approval.steps().iter().any(|s| s.assigned_to_me == Some(true) && s.is_expired())
    {
        return expired(Some(refusal));
    }
    let Some(me) = me else { return refusal };
    let principals = match &target.principal_id {
        Some(p) => vec![p.clone()],
        None => match read_principals(ctx, token, target, budget, cancel).await {
            Ok(found) => found,
            Err(_) => return refusal,
        },
    };
    if principals.iter().any(|p| p.eq_ignore_ascii_case(me)) {
        let mut e = refusal;
        e.kind = ErrorKind::SelfApproval;
        e.message = "This is your own request; an approver cannot approve or deny their own request, and the \
                     service refused it."
            .into();
        return e;
    }
    refusal
}

/// The principals of the request whose approval is `target`'s, read from the service. Read whole
/// (a Graph request by its id is one object, not a page of items), following next links for at
/// most ten pages.
async fn read_principals(
    ctx: &Ctx<'_>,
    token: &AccessToken,
    target: &DecisionTarget,
    budget: &Budget,
    cancel: &CancellationToken,
) -> crate::error::Result<Vec<String>> {
    let (http, api) = (ctx.http, target.surface.api());
    let mut next = Some(api.principal_lookup(&http.urls, &target.approval_id)?);
    let mut found = Vec::new();
    for _ in 0..10 {
        let Some(url) = next.take() else { break };
        let answer = http.get(token, &url, budget, cancel).await?;
        let (principals, link) = answer.read(|b| api.read_principals(b, &target.approval_id))?;
        found.extend(principals);
        next = link.map(|l| http.urls.same_origin(&l, target.surface.service())).transpose()?;
    }
    Ok(found)
}

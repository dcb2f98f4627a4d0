//! Deciding: many requests of any surfaces as one run, within one time budget. A request named
//! twice is decided once; a request without a surface is found first (`find.rs`); requests of a
//! surface whose service batches (Graph) go in units of up to twenty carried in JSON batches, the
//! others one at a time (`rounds.rs`); each request's own course is in `item.rs`, and the rules of
//! one decision are written once (`steps.rs`).

mod find;
mod item;
mod pace;
mod refusal;
pub(crate) mod rounds;
pub(crate) mod single;
mod steps;
mod stream;

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::error::{ErrorKind, PimError, Result};
use crate::http::transport::Http;
use crate::http::urls::Service;
use crate::model::{DecisionOutcome, DecisionRequest, DecisionTarget, Review, Surface};
use crate::token::AccessToken;
use crate::validate::{ArmApprovalId, Justification};
use stream::{Budgeting, Setup, decide_stream};

/// The tokens a decision run may need: Graph for directory roles and groups, ARM for Azure
/// resources. Either may be absent when no request needs it.
#[derive(Clone, Debug, Default)]
pub struct Tokens {
    pub graph: Option<AccessToken>,
    pub arm: Option<AccessToken>,
}

impl Tokens {
    /// The token for `surface`, or the error that says which one is missing.
    pub fn for_surface(&self, surface: Surface) -> Result<&AccessToken> {
        let (token, what) = match surface.service() {
            Service::Graph => (&self.graph, "a Microsoft Graph token"),
            Service::Arm => (&self.arm, "an Azure Resource Manager token (audience https://management.azure.com/)"),
        };
        token.as_ref().ok_or_else(|| {
            PimError::new(
                ErrorKind::MissingToken,
                format!("Deciding {surface:?} requests needs {what}, and none was given."),
            )
        })
    }
}

/// A decision target as JSON names it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TargetJson {
    approval_id: String,
    #[serde(default)]
    surface: Option<Surface>,
    #[serde(default)]
    principal_id: Option<String>,
}

impl DecisionRequest {
    /// A JSON array of `{"approvalId", "surface", "principalId"}` (only `approvalId` required).
    /// Without a surface, the run finds it: an Azure approval path is Azure's, a GUID is read as a
    /// directory-role approval, then as a group approval.
    pub fn list_from_json(json: &str) -> serde_json::Result<Vec<DecisionRequest>> {
        let targets: Vec<TargetJson> = serde_json::from_str(json)?;
        Ok(targets
            .into_iter()
            .map(|t| DecisionRequest { approval_id: t.approval_id, surface: t.surface, principal_id: t.principal_id })
            .collect())
    }
}

impl DecisionTarget {
    /// Like [`DecisionRequest::list_from_json`], but a target without a surface takes the one its
    /// id's shape points to ([`Surface::for_approval_id`]): a GUID is taken for a directory role.
    /// Prefer `DecisionRequest`, whose run reads which surface has the id.
    pub fn list_from_json(json: &str) -> serde_json::Result<Vec<DecisionTarget>> {
        Ok(DecisionRequest::list_from_json(json)?
            .into_iter()
            .map(|r| DecisionTarget {
                surface: r.surface.unwrap_or_else(|| Surface::for_approval_id(&r.approval_id)),
                approval_id: r.approval_id,
                principal_id: r.principal_id,
            })
            .collect())
    }
}

/// Decides many requests, of any surfaces, with at most `max_concurrency` units of work in flight
/// (fewer while the service pushes back: `pace.rs`) and one time budget for the whole run;
/// `on_outcome` sees each as it completes, exactly once per request. A token that cannot decide a
/// surface present fails the whole call before anything is sent. When `cancel` fires, nothing
/// more is sent, decisions on the wire are waited for a short grace and those still unanswered are
/// read once more (`rounds.rs`), every request is still reported (applied, not sent, decided by
/// another, or unknown), and the call ends with `Cancelled`.
///
/// This is the stream machinery (`stream.rs`) with every request pushed and the input closed
/// before it starts.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn decide_many(
    http: &Http,
    max_concurrency: usize,
    tokens: &Tokens,
    requests: Vec<DecisionRequest>,
    review: Review,
    justification: &Justification,
    cancel: &CancellationToken,
    on_outcome: impl FnMut(DecisionOutcome),
) -> Result<()> {
    // Every token is checked against every surface present before anything is sent: a run whose
    // requests are all known up front fails as a whole.
    let mut seen = HashSet::new();
    let (mut surfaces, mut unknown) = (BTreeSet::new(), false);
    for request in requests.iter().filter(|r| seen.insert(same_request_key(r))) {
        match request.surface.or_else(|| request.approval_id.trim().starts_with('/').then_some(Surface::AzureResource))
        {
            Some(surface) => {
                surfaces.insert(surface);
            }
            None => unknown = true,
        }
    }
    for surface in &surfaces {
        surface.check_token(tokens.for_surface(*surface)?, true)?;
    }
    if unknown {
        probe_surfaces(tokens)?;
    }
    let (push, input) = mpsc::unbounded_channel();
    // The receiver is alive: the push cannot fail.
    let _ = push.send(requests);
    drop(push);
    let setup =
        Setup { http, max_concurrency, linger: None, budgeting: Budgeting::Run, tokens, review, justification, cancel };
    decide_stream(&setup, input, on_outcome).await
}

/// Decides requests as they are pushed on `input` (each message a push of one or more), until it
/// is closed: units leave when full, after `linger` from their first request, or at the close
/// (`stream.rs`). Indexes run on across pushes. A request whose surface the tokens cannot decide
/// fails alone, with why; nothing is sent for it. Each unit has its own time budget, from when it
/// leaves. `on_outcome` sees each request once, as it is known.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn decide_pushed(
    http: &Http,
    max_concurrency: usize,
    linger: Duration,
    tokens: &Tokens,
    input: mpsc::UnboundedReceiver<Vec<DecisionRequest>>,
    review: Review,
    justification: &Justification,
    cancel: &CancellationToken,
    on_outcome: impl FnMut(DecisionOutcome),
) -> Result<()> {
    let setup = Setup {
        http,
        max_concurrency,
        linger: Some(linger),
        budgeting: Budgeting::PerUnit,
        tokens,
        review,
        justification,
        cancel,
    };
    decide_stream(&setup, input, on_outcome).await
}

/// The Graph surfaces an id without a surface is looked for on: those the Graph token may decide.
fn probe_surfaces(tokens: &Tokens) -> Result<Vec<Surface>> {
    let token = tokens.for_surface(Surface::DirectoryRole)?;
    let graph: Vec<Surface> = Surface::ALL.into_iter().filter(|s| s.batch_version().is_some()).collect();
    let usable: Vec<Surface> = graph.iter().copied().filter(|s| s.check_token(token, true).is_ok()).collect();
    if usable.is_empty() {
        // None: the first one's refusal says why.
        graph.first().map_or(Ok(()), |s| s.check_token(token, true))?;
    }
    Ok(usable)
}

fn target(r: DecisionRequest, surface: Surface) -> DecisionTarget {
    DecisionTarget { approval_id: r.approval_id, surface, principal_id: r.principal_id }
}

/// What makes two requests the same: the id, in any case; an Azure approval by its full path.
fn same_request_key(r: &DecisionRequest) -> String {
    let id = r.approval_id.trim();
    if (r.surface == Some(Surface::AzureResource) || id.starts_with('/'))
        && let Ok(path) = ArmApprovalId::parse(id)
    {
        return path.segments().collect::<Vec<_>>().join("/").to_ascii_lowercase();
    }
    id.to_ascii_lowercase()
}

/// The outcome reported for one request: a decision whose outcome is unknown is `Unknown`.
fn outcome(index: usize, target: DecisionTarget, review: Review, result: Result<String>) -> DecisionOutcome {
    let mut o = DecisionOutcome::new(index, target, review, result);
    if o.error.as_ref().is_some_and(|e| e.kind == ErrorKind::OutcomeUnknown) {
        o.result = "Unknown";
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_refuse_unknown_fields() {
        assert!(DecisionTarget::list_from_json(r#"[{"approvalId":"x","bogus":1}]"#).is_err());
        let t = DecisionTarget::list_from_json(r#"[{"approvalId":"x"}]"#).unwrap();
        assert_eq!(t[0].surface, Surface::DirectoryRole);
    }

    #[test]
    fn a_request_without_a_surface_keeps_none() {
        let r = DecisionRequest::list_from_json(
            r#"[{"approvalId":"/providers/Microsoft.Authorization/roleAssignmentApprovals/929cd687-a296-4f77-bdbc-b7cc22d3517e"},
                {"approvalId":"929cd687-a296-4f77-bdbc-b7cc22d3517e"},
                {"approvalId":"/x","surface":"Group"}]"#,
        )
        .unwrap();
        assert_eq!(r[0].surface, None);
        assert_eq!(r[1].surface, None);
        assert_eq!(r[2].surface, Some(Surface::Group), "a surface given is kept");
    }

    #[test]
    fn the_same_request_is_the_same_in_any_case_and_form() {
        let g = "929cd687-a296-4f77-bdbc-b7cc22d3517e";
        let req = |id: &str, surface| DecisionRequest { approval_id: id.into(), surface, principal_id: None };
        assert_eq!(same_request_key(&req(g, None)), same_request_key(&req(&g.to_uppercase(), Some(Surface::Group))));
        let path = format!("/providers/Microsoft.Authorization/roleAssignmentApprovals/{g}");
        assert_eq!(
            same_request_key(&req(&path, None)),
            same_request_key(&req(g, Some(Surface::AzureResource))),
            "an Azure GUID is its path"
        );
    }
}

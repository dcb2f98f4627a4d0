//! Deciding: many requests of any surfaces as one run. Requests of a surface whose service
//! batches (Graph) go in batched rounds of up to twenty (`rounds.rs`); the others one at a time
//! (`single.rs`); the rules of one decision are written once (`steps.rs`).

mod rounds;
pub(crate) mod single;
mod steps;

use std::collections::BTreeSet;

use futures::StreamExt;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use crate::error::{ErrorKind, PimError, Result};
use crate::http::batch::MAX_BATCH;
use crate::http::retry::Budget;
use crate::http::transport::Http;
use crate::http::urls::Service;
use crate::model::{DecisionOutcome, DecisionTarget, Review, Surface};
use crate::token::AccessToken;
use crate::validate::Justification;

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

impl DecisionTarget {
    /// A JSON array of `{"approvalId", "surface", "principalId"}` (only `approvalId` required).
    /// Without a surface, the id alone says which ([`Surface::for_approval_id`]).
    pub fn list_from_json(json: &str) -> serde_json::Result<Vec<DecisionTarget>> {
        let targets: Vec<TargetJson> = serde_json::from_str(json)?;
        Ok(targets
            .into_iter()
            .map(|t| DecisionTarget {
                surface: t.surface.unwrap_or_else(|| Surface::for_approval_id(&t.approval_id)),
                approval_id: t.approval_id,
                principal_id: t.principal_id,
            })
            .collect())
    }
}

/// One unit of decision work: a batch of one surface's requests, or one request alone.
enum Work {
    Batch { surface: Surface, version: &'static str, chunk: Vec<(usize, DecisionTarget)> },
    Single(usize, DecisionTarget),
}

/// Decides many requests, of any surfaces, with at most `max_concurrency` HTTP requests in
/// flight; `on_outcome` sees each as it completes. A token that cannot decide a surface present
/// in `targets` fails the whole call before anything is sent.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn decide_many(
    http: &Http,
    max_concurrency: usize,
    tokens: &Tokens,
    targets: Vec<DecisionTarget>,
    review: Review,
    justification: &Justification,
    cancel: &CancellationToken,
    mut on_outcome: impl FnMut(DecisionOutcome),
) -> Result<()> {
    let budget = &Budget::start(&http.retry);
    let surfaces: BTreeSet<Surface> = targets.iter().map(|t| t.surface).collect();
    for surface in &surfaces {
        surface.check_token(tokens.for_surface(*surface)?, true)?;
    }
    let indexed: Vec<(usize, DecisionTarget)> = targets.into_iter().enumerate().collect();
    let mut work: Vec<Work> = Vec::new();
    let mut singles: Vec<Work> = Vec::new();
    for surface in surfaces {
        let mine = indexed.iter().filter(|(_, t)| t.surface == surface).cloned();
        match surface.batch_version() {
            Some(version) => {
                let mine: Vec<(usize, DecisionTarget)> = mine.collect();
                work.extend(mine.chunks(MAX_BATCH).map(|chunk| Work::Batch {
                    surface,
                    version,
                    chunk: chunk.to_vec(),
                }));
            }
            None => singles.extend(mine.map(|(index, target)| Work::Single(index, target))),
        }
    }
    work.extend(singles);
    let mut outcomes = futures::stream::iter(work)
        .map(|w| async move {
            match w {
                Work::Batch { surface, version, chunk } => match tokens.for_surface(surface) {
                    Ok(token) => {
                        rounds::decide_in_batches(http, token, version, chunk, review, justification, budget, cancel)
                            .await
                    }
                    Err(e) => {
                        chunk.into_iter().map(|(i, t)| DecisionOutcome::new(i, t, review, Err(e.clone()))).collect()
                    }
                },
                Work::Single(index, target) => {
                    let r = match tokens.for_surface(target.surface) {
                        Ok(token) => {
                            single::decide_one(http, token, &target, review, justification, budget, cancel).await
                        }
                        Err(e) => Err(e),
                    };
                    vec![DecisionOutcome::new(index, target, review, r)]
                }
            }
        })
        .buffer_unordered(max_concurrency);
    while let Some(done) = outcomes.next().await {
        for outcome in done {
            on_outcome(outcome);
        }
        if cancel.is_cancelled() {
            return Err(PimError::cancelled());
        }
    }
    Ok(())
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
    fn a_target_without_a_surface_takes_the_one_its_id_points_to() {
        let t = DecisionTarget::list_from_json(
            r#"[{"approvalId":"/providers/Microsoft.Authorization/roleAssignmentApprovals/929cd687-a296-4f77-bdbc-b7cc22d3517e"},
                {"approvalId":"/x","surface":"Group"}]"#,
        )
        .unwrap();
        assert_eq!(t[0].surface, Surface::AzureResource);
        assert_eq!(t[1].surface, Surface::Group, "a surface given is kept");
    }
}

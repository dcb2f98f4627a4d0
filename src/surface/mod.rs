//! The PIM surfaces, one file each: where its requests are listed and decided, which api versions
//! and scopes it takes, which statuses still wait, its own wire types, and how they map to the one
//! model. Nothing else lives in a surface file, and nothing outside this folder knows a surface's
//! routes.
//!
//! Adding a surface: a new file implementing [`SurfaceApi`] (`api.rs` holds the trait and what
//! the Graph surfaces share), a variant of [`Surface`] (in `model.rs`) listed in [`Surface::ALL`],
//! and one arm in [`Surface::api`]. The compiler points at the arm.

pub(crate) mod api;
pub mod azure_resource;
pub mod directory_role;
pub mod group;

use crate::error::Result;
use crate::http::urls::Service;
use crate::model::{PendingRequest, Surface};
use crate::token::AccessToken;
use crate::wire::Approval;
use api::SurfaceApi;

impl Surface {
    /// Every surface, in the order they are listed and decided.
    pub(crate) const ALL: [Surface; 3] = [Surface::DirectoryRole, Surface::Group, Surface::AzureResource];

    /// The room that knows this surface.
    pub(crate) fn api(self) -> &'static dyn SurfaceApi {
        match self {
            Surface::DirectoryRole => &directory_role::DirectoryRoles,
            Surface::Group => &group::Groups,
            Surface::AzureResource => &azure_resource::AzureResources,
        }
    }

    /// The name callers use: `DirectoryRole`, `Group`, `AzureResource`.
    pub fn name(self) -> &'static str {
        self.api().facts().name
    }

    /// The surface of that name, in any case.
    pub fn from_name(name: &str) -> Option<Surface> {
        Surface::ALL.into_iter().find(|s| s.name().eq_ignore_ascii_case(name.trim()))
    }

    /// The surface an approval id alone points to: the one whose ids have a shape of their own
    /// (Azure approvals are paths), else directory roles, whose GUIDs look like any other.
    pub fn for_approval_id(approval_id: &str) -> Surface {
        Surface::ALL.into_iter().find(|s| s.api().owns_id_shape(approval_id)).unwrap_or(Surface::DirectoryRole)
    }

    /// One page of this surface's list as its service sends it, read as the client reads it: the
    /// requests that still wait, as the model, and the next page's link. For tools and the
    /// conformance tests (`tests/conformance.rs`), which read published answers with it.
    pub fn read_list_page(self, body: &[u8]) -> serde_json::Result<(Vec<PendingRequest>, Option<String>)> {
        self.api().read_page(body)
    }

    /// An approval as this surface's service sends it, read as the client reads it (ARM's nested
    /// stages flattened, each addressed by its id's last segment). The step a decision goes to is
    /// [`Approval::step_open_for_me`].
    pub fn read_approval(self, body: &[u8]) -> serde_json::Result<Approval> {
        self.api().read_approval(body)
    }

    /// The service it is reached on, and so the token it takes.
    pub fn service(self) -> Service {
        self.api().facts().service
    }

    /// Delegated scopes, any one of which lets a signed-in approver list (`decide` false) or
    /// decide its requests. Empty for ARM, which has no scopes to check.
    pub fn scopes(self, decide: bool) -> &'static [&'static str] {
        let facts = self.api().facts();
        if decide { facts.decide_scopes } else { facts.read_scopes }
    }

    /// The Graph version its decisions are batched under; `None` when its service has no batching.
    pub(crate) fn batch_version(self) -> Option<&'static str> {
        self.api().facts().batch_version
    }

    /// Refuses, before any call, a token that cannot list (or decide) this surface's requests.
    /// Opaque tokens pass: only the service can judge them.
    pub(crate) fn check_token(self, token: &AccessToken, decide: bool) -> Result<()> {
        let Some(info) = token.claims() else { return Ok(()) };
        match self.service() {
            Service::Graph => info.check_graph(self.scopes(decide), decide),
            Service::Arm => info.check_arm(decide),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_variants_and_resolve_in_any_case() {
        for s in Surface::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.name(), "{s:?}");
            assert_eq!(Surface::from_name(&s.name().to_ascii_lowercase()), Some(s));
        }
        assert_eq!(Surface::from_name("Other"), None);
    }

    #[test]
    fn an_id_alone_points_to_its_surface() {
        let g = "929cd687-a296-4f77-bdbc-b7cc22d3517e";
        assert_eq!(Surface::for_approval_id(g), Surface::DirectoryRole);
        let path = format!("/providers/Microsoft.Authorization/roleAssignmentApprovals/{g}");
        assert_eq!(Surface::for_approval_id(&path), Surface::AzureResource);
        assert_eq!(Surface::for_approval_id("../x"), Surface::DirectoryRole);
    }
}

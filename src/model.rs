//! The one domain model the rest of the library uses, whatever surface a request came from.
//! Each surface maps its own wire types to it (`surface/`).

use serde::{Deserialize, Serialize};

use crate::error::{ErrorKind, PimError, Result};
use crate::time::iso8601_seconds;
use crate::validate::{ApprovalId, ArmApprovalId, is_rfc3339, printable};

/// Where a request lives. What each surface means on the wire is in `surface/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Surface {
    /// Entra directory roles, over Microsoft Graph.
    DirectoryRole,
    /// PIM for Groups (membership and ownership), over Microsoft Graph.
    Group,
    /// Azure resource roles, over Azure Resource Manager.
    AzureResource,
}

/// A request waiting on the signed-in approver.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingRequest {
    pub surface: Surface,
    pub approval_id: String,
    pub request_id: String,
    pub principal_id: Option<String>,
    pub principal_name: Option<String>,
    pub principal_upn: Option<String>,
    pub role_id: Option<String>,
    pub role_name: Option<String>,
    /// The scope id as the service gives it (`/` is the whole directory).
    pub scope_id: Option<String>,
    /// A name for the scope, where the service gives one.
    pub scope_name: Option<String>,
    pub justification: Option<String>,
    pub ticket_system: Option<String>,
    pub ticket_number: Option<String>,
    pub created_at: Option<String>,
    pub starts_at: Option<String>,
    /// ISO 8601, as sent (`PT8H`); `duration_seconds` is the same in seconds.
    pub duration: Option<String>,
    pub duration_seconds: Option<f64>,
    pub ends_at: Option<String>,
    pub action: Option<String>,
    pub status: Option<String>,
    /// Groups only: the group, and `member` or `owner`.
    pub group_id: Option<String>,
    pub group_name: Option<String>,
    pub access_type: Option<String>,
    /// Which approval stage waits on me, as "N of M" (the stage a decision would go to, of all the
    /// approval's stages): read only when the listing was asked to (`includeStage`), and absent
    /// when not asked or when the approval could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// How many stages the approval has, with [`PendingRequest::stage`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage_count: Option<u32>,
}

impl PendingRequest {
    /// A request known by its ids only; the surface that read it fills in the rest.
    pub fn new(surface: Surface, approval_id: String, request_id: String) -> PendingRequest {
        PendingRequest {
            surface,
            approval_id,
            request_id,
            principal_id: None,
            principal_name: None,
            principal_upn: None,
            role_id: None,
            role_name: None,
            scope_id: None,
            scope_name: None,
            justification: None,
            ticket_system: None,
            ticket_number: None,
            created_at: None,
            starts_at: None,
            duration: None,
            duration_seconds: None,
            ends_at: None,
            action: None,
            status: None,
            group_id: None,
            group_name: None,
            access_type: None,
            stage: None,
            stage_count: None,
        }
    }
}

/// The longest duration a listed request may ask for: a hundred years. PIM's own limits are far
/// below; a longer one is garbage (`P99999999999D`) that no caller can hold as a time span.
const MAX_DURATION_SECONDS: f64 = 100.0 * 365.25 * 86_400.0;

impl PendingRequest {
    /// Refuses a listed request that no caller could use: an approval id that is not one, a date
    /// that is not a date, a duration that is not one or is out of range.
    pub(crate) fn check(&self) -> Result<()> {
        let bad = |what: String| {
            Err(PimError::new(
                ErrorKind::InvalidResponse,
                format!("Request '{}' could not be read: {what}.", printable(&self.request_id)),
            ))
        };
        let id_ok = match self.surface {
            Surface::AzureResource => ArmApprovalId::parse(&self.approval_id).is_ok(),
            _ => ApprovalId::parse(&self.approval_id).is_ok(),
        };
        if !id_ok {
            return bad(format!("its approval id '{}' is not a valid approval id", printable(&self.approval_id)));
        }
        for (name, value) in
            [("createdDateTime", &self.created_at), ("startDateTime", &self.starts_at), ("endDateTime", &self.ends_at)]
        {
            if let Some(v) = value.as_deref().filter(|v| !is_rfc3339(v)) {
                return bad(format!("{name} '{}' is not a date and time", printable(v)));
            }
        }
        if let Some(d) = self.duration.as_deref() {
            match iso8601_seconds(d) {
                Some(secs) if secs.is_finite() && secs <= MAX_DURATION_SECONDS => {}
                Some(_) => return bad(format!("its duration '{}' is longer than a hundred years", printable(d))),
                None => return bad(format!("its duration '{}' is not an ISO 8601 duration", printable(d))),
            }
        }
        Ok(())
    }
}

/// A listed item that could not be read or checked: one error, for that item only; the listing
/// goes on.
#[derive(Clone, Debug, PartialEq)]
pub struct ListError {
    pub surface: Surface,
    /// The item's own id, as far as it could be read.
    pub request_id: Option<String>,
    /// Its approval's id, as far as it could be read.
    pub approval_id: Option<String>,
    pub error: PimError,
}

/// Approve or deny.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Review {
    Approve,
    Deny,
}

impl Review {
    /// The value the PATCH body takes.
    pub fn wire_value(self) -> &'static str {
        match self {
            Review::Approve => "Approve",
            Review::Deny => "Deny",
        }
    }

    /// What a successful decision is reported as.
    pub fn past_tense(self) -> &'static str {
        match self {
            Review::Approve => "Approved",
            Review::Deny => "Denied",
        }
    }
}

/// One request to decide, as a caller may name it: without its surface, the library finds it
/// (an Azure path is Azure's; a GUID is read as a directory-role approval, then as a group
/// approval). From JSON, see `DecisionRequest::list_from_json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionRequest {
    pub approval_id: String,
    pub surface: Option<Surface>,
    /// When given, a request of the signed-in user is refused as self-approval without a call.
    pub principal_id: Option<String>,
}

impl From<&DecisionTarget> for DecisionRequest {
    fn from(t: &DecisionTarget) -> DecisionRequest {
        DecisionRequest::from(t.clone())
    }
}

impl From<DecisionTarget> for DecisionRequest {
    fn from(t: DecisionTarget) -> DecisionRequest {
        DecisionRequest { approval_id: t.approval_id, surface: Some(t.surface), principal_id: t.principal_id }
    }
}

/// One request to decide, its surface known.
#[derive(Clone, Debug)]
pub struct DecisionTarget {
    pub approval_id: String,
    pub surface: Surface,
    /// When given, a request of the signed-in user is refused as self-approval without a call.
    pub principal_id: Option<String>,
}

/// The outcome of deciding one request.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionOutcome {
    /// Position of the target in the caller's list.
    pub index: usize,
    pub approval_id: String,
    pub surface: Surface,
    /// `Approved` or `Denied` (this run's decision, applied), `Failed` (nothing applied by this
    /// run: the error says why), or `Unknown` (a decision was sent and whether it was applied
    /// could not be established: the error, `OutcomeUnknown`, says how to check).
    pub result: &'static str,
    pub step_id: Option<String>,
    pub decided_at: Option<String>,
    /// Not serialized here: the C ABI writes errors in its own shape (`ffi::result::FfiError`).
    #[serde(skip)]
    pub error: Option<PimError>,
}

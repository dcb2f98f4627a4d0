//! The one domain model the rest of the library uses, whatever surface a request came from.

use serde::{Deserialize, Serialize};

use crate::duration::iso8601_seconds;
use crate::error::PimError;
use crate::wire;

/// Where a request lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Surface {
    /// Entra directory roles, over Microsoft Graph.
    DirectoryRole,
    /// PIM for Groups (membership and ownership), over Microsoft Graph.
    Group,
    /// Azure resource roles, over Azure Resource Manager.
    AzureResource,
}

impl Surface {
    /// Whether this surface is reached with a Graph token (else an ARM token).
    pub fn uses_graph(self) -> bool {
        !matches!(self, Surface::AzureResource)
    }
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
}

/// Empty strings (Graph sends `"ticketNumber": ""`) are as good as absent.
fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|v| !v.trim().is_empty())
}

impl PendingRequest {
    pub fn from_directory_role(r: wire::RoleRequest) -> PendingRequest {
        let schedule = r.schedule_info.unwrap_or_default();
        let expiration = schedule.expiration.unwrap_or_default();
        let ticket = r.ticket_info.unwrap_or_default();
        let principal = r.principal.unwrap_or_default();
        let role = r.role_definition.unwrap_or_default();
        let duration = non_empty(expiration.duration);
        let scope_name = match r.directory_scope_id.as_deref() {
            Some("/") => Some("Directory".to_string()),
            _ => None,
        };
        PendingRequest {
            surface: Surface::DirectoryRole,
            approval_id: non_empty(r.approval_id).unwrap_or_else(|| r.id.clone()),
            request_id: r.id,
            principal_id: non_empty(r.principal_id).or(principal.id),
            principal_name: non_empty(principal.display_name),
            principal_upn: non_empty(principal.user_principal_name),
            role_id: non_empty(r.role_definition_id).or(role.id),
            role_name: non_empty(role.display_name),
            scope_id: non_empty(r.directory_scope_id),
            scope_name,
            justification: r.justification,
            ticket_system: non_empty(ticket.ticket_system),
            ticket_number: non_empty(ticket.ticket_number),
            created_at: non_empty(r.created_date_time),
            starts_at: non_empty(schedule.start_date_time),
            duration_seconds: duration.as_deref().and_then(iso8601_seconds),
            duration,
            ends_at: non_empty(expiration.end_date_time),
            action: non_empty(r.action),
            status: non_empty(r.status),
            group_id: None,
            group_name: None,
            access_type: None,
        }
    }

    pub fn from_group(r: wire::GroupRequest) -> PendingRequest {
        let schedule = r.schedule_info.unwrap_or_default();
        let expiration = schedule.expiration.unwrap_or_default();
        let ticket = r.ticket_info.unwrap_or_default();
        let principal = r.principal.unwrap_or_default();
        let group = r.group.unwrap_or_default();
        let duration = non_empty(expiration.duration);
        let group_name = non_empty(group.display_name);
        let access = non_empty(r.access_id);
        PendingRequest {
            surface: Surface::Group,
            approval_id: non_empty(r.approval_id).unwrap_or_else(|| r.id.clone()),
            request_id: r.id,
            principal_id: non_empty(r.principal_id).or(principal.id),
            principal_name: non_empty(principal.display_name),
            principal_upn: non_empty(principal.user_principal_name),
            // What is granted is the access (Member or Owner) to the group: that is the "role".
            role_id: access.clone(),
            role_name: access.as_deref().map(capitalize),
            scope_id: non_empty(r.group_id.clone()),
            scope_name: group_name.clone(),
            justification: r.justification,
            ticket_system: non_empty(ticket.ticket_system),
            ticket_number: non_empty(ticket.ticket_number),
            created_at: non_empty(r.created_date_time),
            starts_at: non_empty(schedule.start_date_time),
            duration_seconds: duration.as_deref().and_then(iso8601_seconds),
            duration,
            ends_at: non_empty(expiration.end_date_time),
            action: non_empty(r.action),
            status: non_empty(r.status),
            group_id: non_empty(r.group_id).or(group.id),
            group_name,
            access_type: access,
        }
    }

    pub fn from_arm(r: wire::ArmRequest) -> PendingRequest {
        let p = r.properties.unwrap_or_default();
        let schedule = p.schedule_info.unwrap_or_default();
        let expiration = schedule.expiration.unwrap_or_default();
        let ticket = p.ticket_info.unwrap_or_default();
        let expanded = p.expanded_properties.unwrap_or_default();
        let principal = expanded.principal.unwrap_or_default();
        let role = expanded.role_definition.unwrap_or_default();
        let scope = expanded.scope.unwrap_or_default();
        let duration = non_empty(expiration.duration);
        let request_id = non_empty(r.name)
            .or_else(|| r.id.as_deref().and_then(|i| i.rsplit('/').next()).map(str::to_string))
            .unwrap_or_default();
        PendingRequest {
            surface: Surface::AzureResource,
            approval_id: non_empty(p.approval_id).unwrap_or_else(|| request_id.clone()),
            request_id,
            principal_id: non_empty(p.principal_id).or(principal.id),
            principal_name: non_empty(principal.display_name),
            principal_upn: non_empty(principal.email),
            role_id: non_empty(p.role_definition_id).or(role.id),
            role_name: non_empty(role.display_name),
            scope_id: non_empty(p.scope).or(scope.id),
            scope_name: non_empty(scope.display_name),
            justification: p.justification,
            ticket_system: non_empty(ticket.ticket_system),
            ticket_number: non_empty(ticket.ticket_number),
            created_at: non_empty(p.created_on),
            starts_at: non_empty(schedule.start_date_time),
            duration_seconds: duration.as_deref().and_then(iso8601_seconds),
            duration,
            ends_at: non_empty(expiration.end_date_time),
            action: non_empty(p.request_type),
            status: non_empty(p.status),
            group_id: None,
            group_name: None,
            access_type: None,
        }
    }
}

/// `member` to `Member`.
fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
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

/// One request to decide, as a caller names it.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DecisionTarget {
    pub approval_id: String,
    #[serde(default = "default_surface")]
    pub surface: Surface,
    /// When given, a request of the signed-in user is refused as self-approval without a call.
    #[serde(default)]
    pub principal_id: Option<String>,
}

fn default_surface() -> Surface {
    Surface::DirectoryRole
}

/// The outcome of deciding one request.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionOutcome {
    /// Position of the target in the caller's list.
    pub index: usize,
    pub approval_id: String,
    pub surface: Surface,
    /// `Approved`, `Denied` or `Failed`.
    pub result: &'static str,
    pub step_id: Option<String>,
    pub decided_at: Option<String>,
    pub error: Option<PimError>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_real_request_maps_to_the_model() {
        let page: wire::Page<wire::RoleRequest> = serde_json::from_str(
            r#"{"value":[{"id":"929cd687-a296-4f77-bdbc-b7cc22d3517e","approvalId":"929cd687-a296-4f77-bdbc-b7cc22d3517e",
            "status":"PendingApproval","action":"SelfActivate","principalId":"fb0cf6ad-f076-419a-909e-d8751e8ae93c",
            "roleDefinitionId":"9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3","directoryScopeId":"/",
            "justification":"need to create an app registration for project x","createdDateTime":"2021-07-19T08:49:49.78Z",
            "scheduleInfo":{"startDateTime":null,"recurrence":null,"expiration":{"type":"afterDuration","endDateTime":null,"duration":"P1D"}},
            "ticketInfo":{"ticketSystem":"","ticketNumber":""}}]}"#,
        )
        .unwrap();
        let m = PendingRequest::from_directory_role(page.value.into_iter().next().unwrap());
        assert_eq!(m.duration_seconds, Some(86_400.0));
        assert_eq!(m.ticket_number, None);
        assert_eq!(m.scope_name.as_deref(), Some("Directory"));
        assert_eq!(m.principal_id.as_deref(), Some("fb0cf6ad-f076-419a-909e-d8751e8ae93c"));
        assert_eq!(m.principal_name, None);
    }

    #[test]
    fn targets_refuse_unknown_fields() {
        assert!(serde_json::from_str::<DecisionTarget>(r#"{"approvalId":"x","bogus":1}"#).is_err());
        let t: DecisionTarget = serde_json::from_str(r#"{"approvalId":"x"}"#).unwrap();
        assert_eq!(t.surface, Surface::DirectoryRole);
    }
}

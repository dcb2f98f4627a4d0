//! Entra directory roles, over Microsoft Graph: requests are listed in v1.0, approvals exist in
//! beta only, as steps.

use reqwest::Url;
use serde::Deserialize;

use super::api::{
    DecisionRoute, Facts, ListQuery, Names, SurfaceApi, Unnamed, graph_list_url, graph_request_url, graph_route,
    keep_waiting, non_empty, read_graph_principal, schedule_and_ticket, unnamed_principal,
};
use crate::error::Result;
use crate::http::paging::Page;
use crate::http::urls::{Service, Urls};
use crate::model::{PendingRequest, Surface};
use crate::options::ListOptions;
use crate::validate::ApprovalId;
use crate::wire::{self, DirectoryObject, ReviewBody, ScheduleInfo, TicketInfo};

/// Delegated scopes that may list directory-role requests waiting on me.
const READ_SCOPES: &[&str] = &[
    "RoleAssignmentSchedule.Read.Directory",
    "RoleAssignmentSchedule.ReadWrite.Directory",
    "RoleManagement.Read.Directory",
    "RoleManagement.ReadWrite.Directory",
    "RoleManagement.Read.All",
];
/// The one delegated scope that may decide directory-role approvals.
const DECIDE_SCOPES: &[&str] = &["RoleAssignmentSchedule.ReadWrite.Directory"];
/// Approvals and their steps exist in beta only.
const APPROVAL_VERSION: &str = "beta";

pub(crate) struct DirectoryRoles;

const FACTS: Facts = Facts {
    name: "DirectoryRole",
    service: Service::Graph,
    read_scopes: READ_SCOPES,
    decide_scopes: DECIDE_SCOPES,
    batch_version: Some(APPROVAL_VERSION),
};

impl SurfaceApi for DirectoryRoles {
    fn facts(&self) -> &'static Facts {
        &FACTS
    }

    fn list_url(&self, urls: &Urls, options: &ListOptions, query: ListQuery) -> Result<Url> {
        let segments =
            ["roleManagement", "directory", "roleAssignmentScheduleRequests", "filterByCurrentUser(on='approver')"];
        Ok(graph_list_url(urls, &segments, "principal,roleDefinition", options, query))
    }

    /// The principal (a directory object) and the role definition.
    fn unnamed(&self, p: &PendingRequest) -> Unnamed {
        Unnamed {
            objects: unnamed_principal(p).into_iter().collect(),
            role_definitions: p.role_id.clone().filter(|_| p.role_name.is_none()).into_iter().collect(),
        }
    }

    fn name(&self, p: &mut PendingRequest, names: &Names) {
        names.principal(p);
        p.role_name = p.role_name.take().or_else(|| names.role_definition(p.role_id.as_deref()));
    }

    fn read_page(&self, body: &[u8]) -> serde_json::Result<Page<PendingRequest>> {
        let page: wire::Page<RoleRequest> = serde_json::from_slice(body)?;
        Ok((keep_waiting(page.value, |r| r.status.as_deref(), &["PendingApproval"], to_pending), page.next_link))
    }

    fn decision_route(&self, urls: &Urls, approval_id: &str, review: &ReviewBody) -> Result<DecisionRoute> {
        let id = ApprovalId::parse(approval_id)?;
        let base = ["roleManagement", "directory", "roleAssignmentApprovals"];
        graph_route(urls, APPROVAL_VERSION, &base, id.as_str(), "steps", review)
    }

    fn principal_lookup(&self, urls: &Urls, approval_id: &str) -> Result<Url> {
        let id = ApprovalId::parse(approval_id)?;
        Ok(graph_request_url(urls, &["roleManagement", "directory", "roleAssignmentScheduleRequests"], id.as_str()))
    }

    fn read_principals(&self, body: &[u8], approval_id: &str) -> serde_json::Result<Page<String>> {
        read_graph_principal(body, approval_id)
    }
}

/// `unifiedRoleAssignmentScheduleRequest`, with `principal` and `roleDefinition` expanded.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RoleRequest {
    pub id: String,
    pub approval_id: Option<String>,
    pub status: Option<String>,
    pub action: Option<String>,
    pub principal_id: Option<String>,
    pub role_definition_id: Option<String>,
    pub directory_scope_id: Option<String>,
    pub justification: Option<String>,
    pub created_date_time: Option<String>,
    pub schedule_info: Option<ScheduleInfo>,
    pub ticket_info: Option<TicketInfo>,
    pub principal: Option<DirectoryObject>,
    pub role_definition: Option<DirectoryObject>,
}

/// A listed request as the model: the role, and `/` (the whole directory) named as such.
pub fn to_pending(r: RoleRequest) -> PendingRequest {
    let principal = r.principal.unwrap_or_default();
    let role = r.role_definition.unwrap_or_default();
    let mut p =
        PendingRequest::new(Surface::DirectoryRole, non_empty(r.approval_id).unwrap_or_else(|| r.id.clone()), r.id);
    p.principal_id = non_empty(r.principal_id).or(principal.id);
    p.principal_name = non_empty(principal.display_name);
    p.principal_upn = non_empty(principal.user_principal_name);
    p.role_id = non_empty(r.role_definition_id).or(role.id);
    p.role_name = non_empty(role.display_name);
    p.scope_name = (r.directory_scope_id.as_deref() == Some("/")).then(|| "Directory".to_string());
    p.scope_id = non_empty(r.directory_scope_id);
    p.justification = r.justification;
    p.created_at = non_empty(r.created_date_time);
    p.action = non_empty(r.action);
    p.status = non_empty(r.status);
    schedule_and_ticket(&mut p, r.schedule_info, r.ticket_info);
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Page, eq};

    /// The response of a real tenant, as `graph-pim-api.md` and the article show it.
    const REAL_RESPONSE: &str = r#"{ "value": [ { "justification": "need to create an app registration for project x", "targetScheduleId": "929cd687-a296-4f77-bdbc-b7cc22d3517e", "status": "PendingApproval", "isValidationOnly": false, "roleDefinitionId": "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", "completedDateTime": "2021-07-19T08:49:49.603Z", "createdDateTime": "2021-07-19T08:49:49.78Z", "appScopeId": null, "scheduleInfo": { "startDateTime": null, "expiration": { "type": "afterDuration", "endDateTime": null, "duration": "P1D" }, "recurrence": null }, "customData": null, "directoryScopeId": "/", "principalId": "fb0cf6ad-f076-419a-909e-d8751e8ae93c", "id": "929cd687-a296-4f77-bdbc-b7cc22d3517e", "approvalId": "929cd687-a296-4f77-bdbc-b7cc22d3517e", "action": "SelfActivate", "ticketInfo": { "ticketSystem": "", "ticketNumber": "" }, "createdBy": { "user": { "id": "fb0cf6ad-f076-419a-909e-d8751e8ae93c", "displayName": null }, "application": null, "device": null } } ], "@odata.context": "https://graph.microsoft.com/beta/$metadata#roleManagement/directory/roleAssignmentScheduleRequests" }"#;

    #[test]
    fn the_real_response_parses() {
        let page: Page<RoleRequest> = serde_json::from_str(REAL_RESPONSE).unwrap();
        assert_eq!(page.value.len(), 1);
        let r = &page.value[0];
        assert_eq!(r.approval_id.as_deref(), Some("929cd687-a296-4f77-bdbc-b7cc22d3517e"));
        assert!(eq(r.action.as_deref(), "selfActivate"));
        let exp = r.schedule_info.as_ref().unwrap().expiration.as_ref().unwrap();
        assert_eq!(exp.duration.as_deref(), Some("P1D"));
        assert!(page.next_link.is_none());
    }

    #[test]
    fn unknown_fields_values_and_nulls_are_tolerated() {
        let page: Page<RoleRequest> = serde_json::from_str(
            r#"{"value":[{"id":"a","status":"SomethingNew","action":"futureAction","brandNew":{"x":1},
                "scheduleInfo":null,"ticketInfo":null,"principal":null}],"@odata.nextLink":"https://x/next"}"#,
        )
        .unwrap();
        assert_eq!(page.value[0].status.as_deref(), Some("SomethingNew"));
        assert_eq!(page.next_link.as_deref(), Some("https://x/next"));
        let empty: Page<RoleRequest> = serde_json::from_str(r#"{"value":[]}"#).unwrap();
        assert!(empty.value.is_empty());
    }

    #[test]
    fn the_real_request_maps_to_the_model() {
        let page: Page<RoleRequest> = serde_json::from_str(
            r#"{"value":[{"id":"929cd687-a296-4f77-bdbc-b7cc22d3517e","approvalId":"929cd687-a296-4f77-bdbc-b7cc22d3517e",
            "status":"PendingApproval","action":"SelfActivate","principalId":"fb0cf6ad-f076-419a-909e-d8751e8ae93c",
            "roleDefinitionId":"9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3","directoryScopeId":"/",
            "justification":"need to create an app registration for project x","createdDateTime":"2021-07-19T08:49:49.78Z",
            "scheduleInfo":{"startDateTime":null,"recurrence":null,"expiration":{"type":"afterDuration","endDateTime":null,"duration":"P1D"}},
            "ticketInfo":{"ticketSystem":"","ticketNumber":""}}]}"#,
        )
        .unwrap();
        let m = to_pending(page.value.into_iter().next().unwrap());
        assert_eq!(m.duration_seconds, Some(86_400.0));
        assert_eq!(m.ticket_number, None);
        assert_eq!(m.scope_name.as_deref(), Some("Directory"));
        assert_eq!(m.principal_id.as_deref(), Some("fb0cf6ad-f076-419a-909e-d8751e8ae93c"));
        assert_eq!(m.principal_name, None);
    }
}

//! PIM for Groups (membership and ownership), over Microsoft Graph v1.0: approvals have stages.

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

/// Delegated scopes that may list group requests waiting on me.
const READ_SCOPES: &[&str] =
    &["PrivilegedAssignmentSchedule.Read.AzureADGroup", "PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup"];
/// The one delegated scope that may decide group approvals.
const DECIDE_SCOPES: &[&str] = &["PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup"];
const VERSION: &str = "v1.0";

pub(crate) struct Groups;

const FACTS: Facts = Facts {
    name: "Group",
    service: Service::Graph,
    read_scopes: READ_SCOPES,
    decide_scopes: DECIDE_SCOPES,
    batch_version: Some(VERSION),
};

impl SurfaceApi for Groups {
    fn facts(&self) -> &'static Facts {
        &FACTS
    }

    fn list_url(&self, urls: &Urls, options: &ListOptions, query: ListQuery) -> Result<Url> {
        let segments = [
            "identityGovernance",
            "privilegedAccess",
            "group",
            "assignmentScheduleRequests",
            "filterByCurrentUser(on='approver')",
        ];
        Ok(graph_list_url(urls, &segments, "group,principal", options, query))
    }

    /// The principal and the group, both directory objects.
    fn unnamed(&self, p: &PendingRequest) -> Unnamed {
        let group = p.group_id.clone().filter(|_| p.group_name.is_none());
        Unnamed { objects: unnamed_principal(p).into_iter().chain(group).collect(), role_definitions: Vec::new() }
    }

    /// The group's name is the request's scope, as when it is expanded.
    fn name(&self, p: &mut PendingRequest, names: &Names) {
        names.principal(p);
        if p.group_name.is_none() {
            p.group_name = names.object(p.group_id.as_deref()).and_then(|g| non_empty(g.display_name.clone()));
            p.scope_name = p.scope_name.take().or_else(|| p.group_name.clone());
        }
    }

    fn read_page(&self, body: &[u8]) -> serde_json::Result<Page<PendingRequest>> {
        let page: wire::Page<GroupRequest> = serde_json::from_slice(body)?;
        Ok((keep_waiting(page.value, |r| r.status.as_deref(), &["PendingApproval"], to_pending), page.next_link))
    }

    fn decision_route(&self, urls: &Urls, approval_id: &str, review: &ReviewBody) -> Result<DecisionRoute> {
        let id = ApprovalId::parse(approval_id)?;
        let base = ["identityGovernance", "privilegedAccess", "group", "assignmentApprovals"];
        graph_route(urls, VERSION, &base, id.as_str(), "stages", review)
    }

    fn principal_lookup(&self, urls: &Urls, approval_id: &str) -> Result<Url> {
        let id = ApprovalId::parse(approval_id)?;
        Ok(graph_request_url(
            urls,
            &["identityGovernance", "privilegedAccess", "group", "assignmentScheduleRequests"],
            id.as_str(),
        ))
    }

    fn read_principals(&self, body: &[u8], approval_id: &str) -> serde_json::Result<Page<String>> {
        read_graph_principal(body, approval_id)
    }
}

/// `privilegedAccessGroupAssignmentScheduleRequest`, with `group` and `principal` expanded.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupRequest {
    pub id: String,
    pub approval_id: Option<String>,
    pub status: Option<String>,
    pub action: Option<String>,
    pub principal_id: Option<String>,
    pub group_id: Option<String>,
    /// `member` or `owner`.
    pub access_id: Option<String>,
    pub justification: Option<String>,
    pub created_date_time: Option<String>,
    pub schedule_info: Option<ScheduleInfo>,
    pub ticket_info: Option<TicketInfo>,
    pub principal: Option<DirectoryObject>,
    pub group: Option<DirectoryObject>,
}

/// A listed request as the model. What is granted is the access (Member or Owner) to the group:
/// that is its "role", and the group is its scope.
pub fn to_pending(r: GroupRequest) -> PendingRequest {
    let principal = r.principal.unwrap_or_default();
    let group = r.group.unwrap_or_default();
    let access = non_empty(r.access_id);
    let mut p = PendingRequest::new(Surface::Group, non_empty(r.approval_id).unwrap_or_else(|| r.id.clone()), r.id);
    p.principal_id = non_empty(r.principal_id).or(principal.id);
    p.principal_name = non_empty(principal.display_name);
    p.principal_upn = non_empty(principal.user_principal_name);
    p.role_id = access.clone();
    p.role_name = access.as_deref().map(capitalize);
    p.scope_id = non_empty(r.group_id.clone());
    p.group_name = non_empty(group.display_name);
    p.scope_name = p.group_name.clone();
    p.group_id = non_empty(r.group_id).or(group.id);
    p.access_type = access;
    p.justification = r.justification;
    p.created_at = non_empty(r.created_date_time);
    p.action = non_empty(r.action);
    p.status = non_empty(r.status);
    schedule_and_ticket(&mut p, r.schedule_info, r.ticket_info);
    p
}

/// `member` to `Member`.
fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

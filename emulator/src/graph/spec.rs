//! What differs between the two Graph surfaces (routes' stats labels, scopes, entity names), and
//! the token check they share; the behaviour is shared.

use axum::http::StatusCode;

use crate::answer::{Answer, Call};
use crate::app::App;
use crate::state::Surface;
use crate::token::{self, Caller};

pub(super) struct Spec {
    pub surface: Surface,
    pub list_route: &'static str,
    pub mine_route: &'static str,
    pub get_route: &'static str,
    pub approval_route: &'static str,
    pub steps_route: &'static str,
    pub step_route: &'static str,
    pub read_requests: &'static [&'static str],
    pub read_approvals: &'static [&'static str],
    pub decide: &'static [&'static str],
    /// Creating a request (the requester's side).
    pub create: &'static [&'static str],
    pub entity: &'static str,
    /// The request collection's path, as `@odata.context` names it.
    pub requests_set: &'static str,
    /// The approval collection's path, as `@odata.context` names it.
    pub approvals_set: &'static str,
}

pub(super) const DIRECTORY: Spec = Spec {
    surface: Surface::Directory,
    list_route: "/{ver}/roleManagement/directory/roleAssignmentScheduleRequests",
    mine_route: "/{ver}/roleManagement/directory/roleAssignmentScheduleRequests/filterByCurrentUser(on='approver')",
    get_route: "/{ver}/roleManagement/directory/roleAssignmentScheduleRequests/{id}",
    approval_route: "/beta/roleManagement/directory/roleAssignmentApprovals/{id}",
    steps_route: "/beta/roleManagement/directory/roleAssignmentApprovals/{id}/steps",
    step_route: "/beta/roleManagement/directory/roleAssignmentApprovals/{id}/steps/{stepId}",
    read_requests: READ_REQUESTS,
    read_approvals: READ_APPROVALS,
    decide: DECIDE,
    create: DECIDE,
    entity: "unifiedRoleAssignmentScheduleRequest",
    requests_set: "roleManagement/directory/roleAssignmentScheduleRequests",
    approvals_set: "roleManagement/directory/roleAssignmentApprovals",
};

pub(super) const GROUP: Spec = Spec {
    surface: Surface::Group,
    list_route: "/{ver}/identityGovernance/privilegedAccess/group/assignmentScheduleRequests",
    mine_route: "/{ver}/identityGovernance/privilegedAccess/group/assignmentScheduleRequests/filterByCurrentUser(on='approver')",
    get_route: "/{ver}/identityGovernance/privilegedAccess/group/assignmentScheduleRequests/{id}",
    approval_route: "/{ver}/identityGovernance/privilegedAccess/group/assignmentApprovals/{id}",
    steps_route: "/{ver}/identityGovernance/privilegedAccess/group/assignmentApprovals/{id}/{stages|steps}",
    step_route: "/{ver}/identityGovernance/privilegedAccess/group/assignmentApprovals/{id}/{stages|steps}/{stageId}",
    read_requests: GROUP_READ,
    read_approvals: GROUP_READ,
    decide: GROUP_DECIDE,
    create: GROUP_DECIDE,
    entity: "privilegedAccessGroupAssignmentScheduleRequest",
    requests_set: "identityGovernance/privilegedAccess/group/assignmentScheduleRequests",
    approvals_set: "identityGovernance/privilegedAccess/group/assignmentApprovals",
};

const GROUP_READ: &[&str] =
    &["PrivilegedAssignmentSchedule.Read.AzureADGroup", "PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup"];
const GROUP_DECIDE: &[&str] = &["PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup"];

const READ_REQUESTS: &[&str] = &[
    "RoleAssignmentSchedule.Read.Directory",
    "RoleAssignmentSchedule.ReadWrite.Directory",
    "RoleManagement.Read.Directory",
    "RoleManagement.ReadWrite.Directory",
    "RoleManagement.Read.All",
];
const READ_APPROVALS: &[&str] =
    &["RoleAssignmentSchedule.Read.Directory", "RoleAssignmentSchedule.ReadWrite.Directory"];
const DECIDE: &[&str] = &["RoleAssignmentSchedule.ReadWrite.Directory"];

/// Checks the bearer token and one of the scopes; the error is the whole answer.
pub(super) fn authorize(app: &App, call: &Call, route: &'static str, scopes: &[&str]) -> Result<Caller, Answer> {
    let caller = app
        .minter
        .check(call.authorization(), token::GRAPH_AUDIENCE)
        .map_err(|e| Answer::error(route, StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", e.message()))?;
    if caller.app_only {
        return Err(Answer::error(
            route,
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "This operation is not supported with application permissions; it needs a signed-in user.",
        ));
    }
    if !caller.has_any_scope(scopes) {
        return Err(Answer::error(
            route,
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            format!(
                "Missing scope permissions on the request. API requires one of '{}'. Scopes on the request '{}'.",
                scopes.join(", "),
                caller.scopes.join(" ")
            ),
        ));
    }
    Ok(caller)
}

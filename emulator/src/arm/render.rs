//! ARM's JSON for what the ARM routes serve: `RoleAssignmentScheduleRequest` (names in
//! `expandedProperties`), `roleAssignmentApprovals` and their stages.

use serde_json::{Value, json};

use crate::state::{ARM_ROLES, Request, Step, Tenant};
use crate::time::iso;

fn approval_path(id: &str) -> String {
    format!("/providers/Microsoft.Authorization/roleAssignmentApprovals/{id}")
}

/// An ARM `RoleAssignmentScheduleRequest`, names in `expandedProperties`.
pub(super) fn request(t: &Tenant, r: &Request) -> Value {
    let (scope_name, scope_type) =
        t.arm_scopes.get(&r.scope.to_ascii_lowercase()).cloned().unwrap_or_else(|| (r.scope.clone(), "unknown".into()));
    let role_guid = r.role_definition_id.rsplit('/').next().unwrap_or_default();
    let role_name = ARM_ROLES.iter().find(|(g, _)| *g == role_guid).map(|(_, n)| n.to_string());
    let principal = t.users.get(&r.principal_id);
    json!({
        "id": format!("{}/providers/Microsoft.Authorization/roleAssignmentScheduleRequests/{}", r.scope, r.id),
        "name": r.id,
        "type": "Microsoft.Authorization/RoleAssignmentScheduleRequests",
        "properties": {
            "scope": r.scope, "roleDefinitionId": r.role_definition_id, "principalId": r.principal_id,
            "principalType": "User", "requestType": r.action, "status": r.status,
            "approvalId": approval_path(&r.id),
            "scheduleInfo": {
                "startDateTime": r.start.map(iso).unwrap_or_else(|| iso(r.created)),
                "expiration": {"type": r.expiration_type, "endDateTime": r.end.map(iso), "duration": r.duration}
            },
            "justification": r.justification,
            "ticketInfo": {"ticketNumber": r.ticket_number, "ticketSystem": r.ticket_system},
            "requestorId": r.principal_id,
            "createdOn": iso(r.created),
            "expandedProperties": {
                "scope": {"id": r.scope, "displayName": scope_name, "type": scope_type},
                "roleDefinition": {"id": r.role_definition_id, "displayName": role_name, "type": "BuiltInRole"},
                "principal": {
                    "id": r.principal_id,
                    "displayName": principal.map(|u| u.display_name.clone()),
                    "email": principal.map(|u| u.upn.clone()),
                    "type": "User"
                }
            }
        }
    })
}

/// One stage of approval `approval_id`, as `oid` sees it.
pub(super) fn stage(t: &Tenant, approval_id: &str, s: &Step, oid: &str) -> Value {
    let reviewed_by = s.reviewed_by.as_ref().and_then(|id| t.users.get(id)).map(|u| {
        json!({"principalId": u.id, "principalType": "user", "principalName": u.display_name, "userPrincipalName": u.upn})
    });
    // ARM's enum is Approve / Deny / NotReviewed, also when reading back.
    let result = match s.review_result.as_str() {
        "Approved" => "Approve",
        "Denied" => "Deny",
        other => other,
    };
    json!({
        "id": format!("{}/stages/{}", approval_path(approval_id), s.id),
        "name": s.id,
        "type": "Microsoft.Authorization/roleAssignmentApprovals/stages",
        "properties": {
            "displayName": "Approval stage", "status": s.status, "assignedToMe": s.approvers.iter().any(|a| a == oid),
            "reviewedBy": reviewed_by, "reviewedDateTime": s.reviewed_at.map(iso),
            "reviewResult": result, "justification": s.justification
        }
    })
}

/// An approval with its stages, or only the stages' collection.
pub(super) fn approval(t: &Tenant, r: &Request, oid: &str, stages_only: bool) -> Value {
    let stages: Vec<Value> = r.steps.iter().map(|s| stage(t, &r.id, s, oid)).collect();
    if stages_only {
        json!({ "value": stages })
    } else {
        json!({
            "id": approval_path(&r.id), "name": r.id, "type": "Microsoft.Authorization/roleAssignmentApprovals",
            "properties": { "stages": stages }
        })
    }
}

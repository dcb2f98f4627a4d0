//! ARM's JSON for what the ARM routes serve: `RoleAssignmentScheduleRequest` (names in
//! `expandedProperties`), `roleAssignmentApprovals` and their stages.

use serde_json::{Value, json};

use crate::state::{ARM_ROLES, Request, Step, Tenant, stable_guid};
use crate::time::iso;

/// ARM spells enum members PascalCase (`AfterDuration`, `SelfActivate`); the model may hold either.
fn arm_enum(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A stage's `name` under the form `arm.stageName=distinct`: another GUID than its id's last
/// segment, as in the spec's example (`GetRoleAssignmentApprovalById.json`), the same every run.
pub(super) fn distinct_name(stage_id: &str) -> String {
    stable_guid(
        11,
        stage_id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)),
    )
}

fn approval_path(id: &str) -> String {
    format!("/providers/Microsoft.Authorization/roleAssignmentApprovals/{id}")
}

/// The kind of an ARM scope, as `expandedProperties.scope.type` spells it (the spec's examples and
/// the demo: `subscription`, `resourcegroup`, `managementgroup`), from its path.
fn scope_type(scope: &str) -> &'static str {
    let parts: Vec<String> = scope.split('/').filter(|s| !s.is_empty()).map(|s| s.to_ascii_lowercase()).collect();
    match parts.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["subscriptions", _] => "subscription",
        ["subscriptions", _, "resourcegroups", _] => "resourcegroup",
        ["providers", "microsoft.management", "managementgroups", _] => "managementgroup",
        [] => "tenant",
        _ => "resource",
    }
}

/// An ARM `RoleAssignmentScheduleRequest`, names in `expandedProperties`.
pub(super) fn request(t: &Tenant, r: &Request) -> Value {
    let (scope_name, scope_type) = match t.arm_scopes.get(&r.scope.to_ascii_lowercase()) {
        Some((name, kind)) if kind != "unknown" => (name.clone(), kind.clone()),
        Some((name, _)) => (name.clone(), scope_type(&r.scope).to_string()),
        None => (r.scope.rsplit('/').next().unwrap_or_default().to_string(), scope_type(&r.scope).to_string()),
    };
    let role_guid = r.role_definition_id.rsplit('/').next().unwrap_or_default().to_ascii_lowercase();
    let (role_name, role_type) = match t.arm_roles.get(&r.role_definition_id.to_ascii_lowercase()) {
        Some((name, kind)) => (Some(name.clone()), kind.clone()),
        None => match ARM_ROLES.iter().find(|(g, _)| *g == role_guid) {
            Some((_, n)) => (Some(n.to_string()), "BuiltInRole".to_string()),
            None => (None, "CustomRole".to_string()),
        },
    };
    let principal = t.users.get(&r.principal_id);
    json!({
        "properties": {
            "targetRoleAssignmentScheduleId": r.id,
            "targetRoleAssignmentScheduleInstanceId": null,
            "scope": r.scope, "roleDefinitionId": r.role_definition_id, "principalId": r.principal_id,
            "principalType": "User", "requestType": arm_enum(&r.action), "status": r.status,
            "approvalId": approval_path(&r.id),
            "scheduleInfo": {
                "startDateTime": r.start.map(iso).unwrap_or_else(|| iso(r.created)),
                "expiration": {"type": arm_enum(&r.expiration_type), "endDateTime": r.end.map(iso), "duration": r.duration}
            },
            "ticketInfo": {"ticketNumber": r.ticket_number, "ticketSystem": r.ticket_system},
            "justification": r.justification,
            "requestorId": r.requestor_id,
            "createdOn": iso(r.created),
            "condition": null,
            "conditionVersion": null,
            "expandedProperties": {
                "scope": {"id": r.scope, "displayName": scope_name, "type": scope_type},
                "roleDefinition": {"id": r.role_definition_id, "displayName": role_name, "type": role_type},
                "principal": {
                    "id": r.principal_id,
                    "displayName": principal.map(|u| u.display_name.clone()),
                    "email": principal.map(|u| u.upn.clone()),
                    "type": "User"
                }
            }
        },
        "name": r.id,
        "id": format!("{}/providers/Microsoft.Authorization/roleAssignmentScheduleRequests/{}", r.scope, r.id),
        "type": "Microsoft.Authorization/RoleAssignmentScheduleRequests",
    })
}

/// One stage of approval `approval_id`, as `oid` sees it. `distinct`: the form `arm.stageName`.
pub(super) fn stage(t: &Tenant, approval_id: &str, s: &Step, oid: &str, distinct: bool) -> Value {
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
        "name": if distinct { distinct_name(&s.id) } else { s.id.clone() },
        "type": "Microsoft.Authorization/roleAssignmentApprovals/stages",
        "properties": {
            "displayName": "Approval stage", "status": s.status, "assignedToMe": s.approvers.iter().any(|a| a == oid),
            "reviewedBy": reviewed_by, "reviewedDateTime": s.reviewed_at.map(iso),
            "reviewResult": result, "justification": s.justification
        }
    })
}

/// An approval with its stages, or only the stages' collection.
pub(super) fn approval(t: &Tenant, r: &Request, oid: &str, stages_only: bool, distinct: bool) -> Value {
    let stages: Vec<Value> = r.steps.iter().map(|s| stage(t, &r.id, s, oid, distinct)).collect();
    if stages_only {
        json!({ "value": stages })
    } else {
        json!({
            "id": approval_path(&r.id), "name": r.id, "type": "Microsoft.Authorization/roleAssignmentApprovals",
            "properties": { "stages": stages }
        })
    }
}

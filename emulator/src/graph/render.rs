//! Graph's JSON for what the Graph routes serve: `unifiedRoleAssignmentScheduleRequest`,
//! `privilegedAccessGroupAssignmentScheduleRequest`, approvals and their steps or stages.

use serde_json::{Value, json};

use crate::state::{Request, Step, Tenant};
use crate::time::iso;

/// A user as `$expand=principal` shows it, or `null` for an unknown id.
fn user(t: &Tenant, id: &str) -> Value {
    match t.users.get(id) {
        Some(u) => json!({
            "@odata.type": "#microsoft.graph.user",
            "id": u.id, "displayName": u.display_name, "userPrincipalName": u.upn
        }),
        None => Value::Null,
    }
}

/// The request as Graph serialises a `unifiedRoleAssignmentScheduleRequest`.
pub(super) fn directory_request(t: &Tenant, r: &Request, expand_principal: bool, expand_role: bool) -> Value {
    let mut v = json!({
        "id": r.id,
        "status": r.status,
        "action": r.action,
        "isValidationOnly": false,
        "approvalId": r.id,
        "principalId": r.principal_id,
        "roleDefinitionId": r.role_definition_id,
        "directoryScopeId": r.scope,
        "appScopeId": null,
        "targetScheduleId": r.id,
        "justification": r.justification,
        "customData": null,
        "createdDateTime": iso(r.created),
        "completedDateTime": iso(r.created),
        "createdBy": {"user": {"id": r.principal_id, "displayName": null}, "application": null, "device": null},
        "scheduleInfo": {
            "startDateTime": r.start.map(iso),
            "recurrence": null,
            "expiration": {"type": r.expiration_type, "endDateTime": r.end.map(iso), "duration": r.duration}
        },
        "ticketInfo": {"ticketNumber": r.ticket_number, "ticketSystem": r.ticket_system},
    });
    if expand_principal {
        v["principal"] = user(t, &r.principal_id);
    }
    if expand_role {
        v["roleDefinition"] = match t.roles.get(&r.role_definition_id) {
            Some(name) => json!({
                "id": r.role_definition_id, "displayName": name,
                "templateId": r.role_definition_id, "isBuiltIn": true, "isEnabled": true
            }),
            None => Value::Null,
        };
    }
    v
}

/// A `privilegedAccessGroupAssignmentScheduleRequest`.
pub(super) fn group_request(t: &Tenant, r: &Request, expand_group: bool, expand_principal: bool) -> Value {
    let group_id = r.group_id.clone().unwrap_or_default();
    let mut v = json!({
        "id": r.id, "status": r.status, "action": r.action, "isValidationOnly": false,
        "approvalId": r.id, "principalId": r.principal_id, "groupId": group_id,
        "accessId": r.access_id, "memberType": "direct", "targetScheduleId": r.id,
        "justification": r.justification, "customData": null,
        "createdDateTime": iso(r.created), "completedDateTime": null,
        "createdBy": {"user": {"id": r.principal_id}},
        "scheduleInfo": {
            "startDateTime": r.start.map(iso), "recurrence": null,
            "expiration": {"type": r.expiration_type, "endDateTime": r.end.map(iso), "duration": r.duration}
        },
        "ticketInfo": {"ticketNumber": r.ticket_number, "ticketSystem": r.ticket_system},
    });
    if expand_group {
        v["group"] = match t.groups.get(&group_id) {
            Some(name) => json!({"id": group_id, "displayName": name, "mail": null}),
            None => Value::Null,
        };
    }
    if expand_principal {
        v["principal"] = user(t, &r.principal_id);
    }
    v
}

/// An `approvalStep` (or v1.0 `approvalStage`) as `oid` sees it.
fn step(t: &Tenant, s: &Step, oid: &str) -> Value {
    let reviewed_by = s
        .reviewed_by
        .as_ref()
        .and_then(|id| t.users.get(id))
        .map(|u| json!([{"id": u.id, "displayName": u.display_name, "userPrincipalName": u.upn}]));
    json!({
        "id": s.id,
        "displayName": null,
        "status": s.status,
        "assignedToMe": s.approvers.iter().any(|a| a == oid),
        "reviewResult": s.review_result,
        "reviewedBy": reviewed_by,
        "reviewedDateTime": s.reviewed_at.map(iso),
        "justification": s.justification,
    })
}

/// An approval with its steps (`word`: `steps` or `stages`), or only the steps' collection.
/// `ctx` is the `$metadata#approvals` context URL.
pub(super) fn approval(t: &Tenant, r: &Request, oid: &str, ctx: &str, word: &str, steps_only: bool) -> Value {
    let steps: Vec<Value> = r.steps.iter().map(|s| step(t, s, oid)).collect();
    if steps_only {
        json!({"@odata.context": format!("{ctx}('{}')/{word}", r.id), "value": steps})
    } else {
        let mut v = json!({"@odata.context": format!("{ctx}/$entity"), "id": r.id});
        v[format!("{word}@odata.context")] = json!(format!("{ctx}('{}')/{word}", r.id));
        v[word] = Value::Array(steps);
        v
    }
}

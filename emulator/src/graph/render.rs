//! Graph's JSON for what the Graph routes serve: `unifiedRoleAssignmentScheduleRequest`,
//! `privilegedAccessGroupAssignmentScheduleRequest`, approvals and their steps or stages, and the
//! directory objects (users, groups, role definitions, directory roles) the look-ups return.
//!
//! Property sets follow the published examples (fixtures in `tests/conformance/`, compared by
//! `emulator/tests/conformance.rs`).

use serde_json::{Value, json};

use crate::forms::Forms;
use crate::state::{Request, Step, Surface, Tenant, User, stable_guid};
use crate::time::iso;

/// Graph spells enum members lowerCamel (`afterDuration`, `noExpiration`); seeds and the model
/// may hold either spelling.
fn graph_enum(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A user's default property set, as `GET /users/{id}` answers (`user-get-v1.0.json`).
pub(super) fn user(u: &User) -> Value {
    let (given, surname) = match u.display_name.split_once(' ') {
        Some((g, s)) => (json!(g), json!(s)),
        None => (Value::Null, Value::Null),
    };
    json!({
        "businessPhones": [],
        "displayName": u.display_name,
        "givenName": given,
        "jobTitle": null,
        "mail": u.upn,
        "mobilePhone": null,
        "officeLocation": null,
        "preferredLanguage": null,
        "surname": surname,
        "userPrincipalName": u.upn,
        "id": u.id,
    })
}

/// A user as `$expand=principal` shows it (with `@odata.type`), or `null` for an unknown id.
fn principal(t: &Tenant, id: &str) -> Value {
    match t.users.get(id) {
        Some(u) => {
            let mut v = json!({"@odata.type": "#microsoft.graph.user"});
            merge(&mut v, user(u));
            v
        }
        None => Value::Null,
    }
}

/// A group's default property set, as `GET /groups/{id}` answers (`group-get-v1.0.json`).
pub(super) fn group(id: &str, name: &str) -> Value {
    let nick: String = name.chars().filter(char::is_ascii_alphanumeric).collect();
    json!({
        "id": id,
        "deletedDateTime": null,
        "classification": null,
        "createdDateTime": "2024-01-15T09:00:00Z",
        "description": format!("{name} (PIM for Groups)"),
        "displayName": name,
        "expirationDateTime": null,
        "groupTypes": [],
        "isAssignableToRole": true,
        "mail": null,
        "mailEnabled": false,
        "mailNickname": nick,
        "membershipRule": null,
        "membershipRuleProcessingState": null,
        "onPremisesDomainName": null,
        "onPremisesLastSyncDateTime": null,
        "onPremisesNetBiosName": null,
        "onPremisesSamAccountName": null,
        "onPremisesSecurityIdentifier": null,
        "onPremisesSyncEnabled": null,
        "preferredDataLocation": null,
        "preferredLanguage": null,
        "proxyAddresses": [],
        "renewedDateTime": "2024-01-15T09:00:00Z",
        "resourceBehaviorOptions": [],
        "resourceProvisioningOptions": [],
        "securityEnabled": true,
        "securityIdentifier": format!("S-1-12-1-{}", id.bytes().map(u32::from).sum::<u32>()),
        "theme": null,
        "visibility": "Private",
        "onPremisesProvisioningErrors": [],
    })
}

/// A built-in `unifiedRoleDefinition` (`roledefinition-get-v1.0-builtin.json`). The emulator does
/// not model permissions: `allowedResourceActions` is empty.
pub(super) fn role_definition(id: &str, name: &str) -> Value {
    json!({
        "id": id,
        "description": format!("Built-in role {name}."),
        "displayName": name,
        "isBuiltIn": true,
        "isEnabled": true,
        "resourceScopes": ["/"],
        "templateId": id,
        "version": "1",
        "rolePermissions": [{"allowedResourceActions": [], "condition": null}],
    })
}

/// The activated `directoryRole` of a role template (`directoryrole-get-v1.0.json`, and the live
/// directoryRole in `json-batching.response.json`, which also shows `deletedDateTime`).
pub(super) fn directory_role(template_id: &str, name: &str) -> Value {
    json!({
        "id": directory_role_id(template_id),
        "deletedDateTime": null,
        "description": format!("Built-in role {name}."),
        "displayName": name,
        "roleTemplateId": template_id,
    })
}

/// A directory role's object id: its own, not the template's.
pub(super) fn directory_role_id(template_id: &str) -> String {
    stable_guid(12, template_id.bytes().fold(0u64, |h, b| h.wrapping_mul(131).wrapping_add(u64::from(b))))
}

fn merge(into: &mut Value, from: Value) {
    if let (Some(a), Value::Object(b)) = (into.as_object_mut(), from) {
        a.extend(b);
    }
}

/// What a request list may expand.
#[derive(Clone, Copy, Default)]
pub(super) struct Expand {
    pub principal: bool,
    /// `roleDefinition` (directory) or `group` (groups).
    pub target: bool,
    pub activated_using: bool,
    pub target_schedule: bool,
    pub directory_scope: bool,
    pub app_scope: bool,
}

fn schedule(r: &Request) -> Value {
    json!({
        "startDateTime": r.start.map(iso),
        "recurrence": null,
        "expiration": {"type": graph_enum(&r.expiration_type), "endDateTime": r.end.map(iso), "duration": r.duration}
    })
}

/// Expansions both surfaces share. A pending request has no schedule yet and was activated from
/// no eligibility the emulator models: `activatedUsing` and `targetSchedule` are `null`.
fn expand_common(t: &Tenant, r: &Request, e: Expand, v: &mut Value) {
    if e.principal {
        v["principal"] = principal(t, &r.principal_id);
    }
    if e.activated_using {
        v["activatedUsing"] = Value::Null;
    }
    if e.target_schedule {
        v["targetSchedule"] = Value::Null;
    }
}

/// The request as Graph serialises a `unifiedRoleAssignmentScheduleRequest`.
pub(super) fn directory_request(t: &Tenant, r: &Request, e: Expand) -> Value {
    let mut v = json!({
        "id": r.id,
        "status": r.status,
        "createdDateTime": iso(r.created),
        "completedDateTime": iso(r.created),
        "approvalId": r.id,
        "customData": null,
        "action": r.action,
        "principalId": r.principal_id,
        "roleDefinitionId": r.role_definition_id,
        "directoryScopeId": r.scope,
        "appScopeId": null,
        "isValidationOnly": false,
        "targetScheduleId": r.id,
        "justification": r.justification,
        "createdBy": {"application": null, "device": null, "user": {"displayName": null, "id": r.requestor_id}},
        "scheduleInfo": schedule(r),
        "ticketInfo": {"ticketNumber": r.ticket_number, "ticketSystem": r.ticket_system},
    });
    expand_common(t, r, e, &mut v);
    if e.target {
        v["roleDefinition"] = match t.roles.get(&r.role_definition_id) {
            Some(name) => role_definition(&r.role_definition_id, name),
            None => Value::Null,
        };
    }
    if e.directory_scope {
        v["directoryScope"] = Value::Null;
    }
    if e.app_scope {
        v["appScope"] = Value::Null;
    }
    v
}

/// A `privilegedAccessGroupAssignmentScheduleRequest` (`assignmentschedulerequest-get-v1.0.json`).
pub(super) fn group_request(t: &Tenant, r: &Request, e: Expand) -> Value {
    let group_id = r.group_id.clone().unwrap_or_default();
    let mut v = json!({
        "id": r.id,
        "status": r.status,
        "completedDateTime": null,
        "createdDateTime": iso(r.created),
        "approvalId": r.id,
        "customData": null,
        "createdBy": {"user": {"displayName": null, "id": r.requestor_id}},
        "action": r.action,
        "isValidationOnly": false,
        "justification": r.justification,
        "scheduleInfo": schedule(r),
        "ticketInfo": {"ticketNumber": r.ticket_number, "ticketSystem": r.ticket_system},
        "principalId": r.principal_id,
        "accessId": r.access_id,
        "groupId": group_id,
        "targetScheduleId": r.id,
    });
    expand_common(t, r, e, &mut v);
    if e.target {
        v["group"] = match t.groups.get(&group_id) {
            Some(name) => {
                let mut g = json!({"@odata.type": "#microsoft.graph.group"});
                merge(&mut g, group(&group_id, name));
                g
            }
            None => Value::Null,
        };
    }
    v
}

/// The request as its surface serialises it.
pub(super) fn request(t: &Tenant, r: &Request, e: Expand) -> Value {
    match r.surface {
        Surface::Group => group_request(t, r, e),
        _ => directory_request(t, r, e),
    }
}

/// An `approvalStep` (beta) or `approvalStage` (v1.0) as `oid` sees it, in the forms in effect:
/// a group stage's id (`group.stageId`), a waiting group stage's status (`group.waitingStatus`),
/// and `reviewedBy`: one `identity` on v1.0 (the v1.0 resource and SDK), on beta a `userIdentity`
/// collection or one identity (`beta.reviewedBy`).
pub(super) fn step(t: &Tenant, r: &Request, s: &Step, oid: &str, forms: &Forms, beta: bool) -> Value {
    let reviewer = s.reviewed_by.as_ref().and_then(|id| t.users.get(id));
    let reviewed_by = match reviewer {
        None => Value::Null,
        Some(u) if beta && forms.beta_reviewed_by_collection => {
            json!([{"id": u.id, "displayName": u.display_name, "userPrincipalName": u.upn}])
        }
        Some(u) => json!({"id": u.id, "displayName": u.display_name}),
    };
    let status = if r.surface == Surface::Group && s.status == "InProgress" {
        forms.group_waiting_status.as_str()
    } else {
        s.status.as_str()
    };
    json!({
        "id": r.stage_id(s, forms.group_stage_id_is_approval_id),
        "displayName": null,
        "reviewedDateTime": s.reviewed_at.map(iso),
        "reviewResult": s.review_result,
        "status": status,
        "assignedToMe": s.approvers.iter().any(|a| a == oid),
        "justification": s.justification,
        "reviewedBy": reviewed_by,
    })
}

/// The word for an approval's parts: `steps` for directory roles (beta only); for groups `stages`
/// on v1.0 and, on beta, as the form `group.betaCollection` says.
pub(super) fn steps_word(surface: Surface, beta: bool, forms: &Forms) -> &'static str {
    match surface {
        Surface::Group if !beta || forms.group_beta_stages => "stages",
        _ => "steps",
    }
}

/// An approval with its steps or stages. `ctx`: the approval collection's context URL
/// (`{base}/{ver}/$metadata#{approvals_set}`), or `None` inside a collection.
pub(super) fn approval(t: &Tenant, r: &Request, oid: &str, forms: &Forms, beta: bool, ctx: Option<&str>) -> Value {
    let word = steps_word(r.surface, beta, forms);
    let steps: Vec<Value> = r.steps.iter().map(|s| step(t, r, s, oid, forms, beta)).collect();
    let mut v = match ctx {
        Some(ctx) => {
            let mut v = json!({"@odata.context": format!("{ctx}/$entity"), "id": r.id});
            v[format!("{word}@odata.context")] = json!(format!("{ctx}('{}')/{word}", r.id));
            v
        }
        None => json!({"@odata.type": "#microsoft.graph.approval", "id": r.id}),
    };
    v[word] = Value::Array(steps);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_are_lower_camel() {
        assert_eq!(graph_enum("AfterDuration"), "afterDuration");
        assert_eq!(graph_enum("noExpiration"), "noExpiration");
    }
}

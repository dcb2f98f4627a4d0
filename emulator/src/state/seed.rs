//! Seed files (`--seed-file`): a Graph or ARM list response whose requests are added as pending.

use std::time::SystemTime;

use serde_json::Value;

use super::model::{DOMAIN, EXPIRY, NewRequest, Surface, Target, Tenant, User};
use super::scenarios::ARM_ROLES;
use crate::time::parse_iso;

impl Tenant {
    /// Loads `{"value": [request, ...]}` (a Graph or ARM list response) and adds each request as
    /// pending, decidable by the default approver: directory-role requests, group requests (objects
    /// with `groupId`) and ARM requests (objects with `properties`). Names come from the request's
    /// expanded objects when it has them, as the service expands them: Graph's `principal`
    /// (`displayName`, `userPrincipalName`), `roleDefinition.displayName` and `group.displayName`;
    /// ARM's `expandedProperties` (`principal.displayName` and `email`, `roleDefinition`, `scope`).
    /// A name given replaces the one the tenant held (so a seed can serve any text, hostile text
    /// included, for the client's display to cope with); unknown principals, roles and groups without
    /// one get placeholder names. Two surfaces may use the same id; one surface may not use it twice.
    /// A seeded request keeps its `createdDateTime` but waits 24 hours from loading before it expires.
    pub fn load_seed(&mut self, doc: &Value) -> Result<usize, String> {
        let items = doc
            .get("value")
            .and_then(Value::as_array)
            .ok_or("the seed file must be a JSON object with a \"value\" array")?;
        let loaded = SystemTime::now();
        for (i, item) in items.iter().enumerate() {
            self.add_seed(i, item, loaded)?;
        }
        Ok(items.len())
    }

    /// Adds seed request `i`.
    fn add_seed(&mut self, i: usize, item: &Value, loaded: SystemTime) -> Result<(), String> {
        let arm = item.get("properties").filter(|p| p.is_object());
        let body = arm.unwrap_or(item);
        let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
        let id = match arm {
            Some(_) => item.get("name").and_then(Value::as_str).map(str::to_string),
            None => text("id"),
        }
        .ok_or(format!("seed request {i} has no id"))?;
        let principal = text("principalId").ok_or(format!("seed request {i} has no \"principalId\""))?;
        self.ensure_user(&principal);
        let named = |at: &str| body.pointer(at).and_then(Value::as_str).map(str::to_string);
        let (name_at, upn_at) = match arm {
            Some(_) => ("/expandedProperties/principal/displayName", "/expandedProperties/principal/email"),
            None => ("/principal/displayName", "/principal/userPrincipalName"),
        };
        if let Some(user) = self.users.get_mut(&principal) {
            if let Some(name) = named(name_at) {
                user.display_name = name;
            }
            if let Some(upn) = named(upn_at) {
                user.upn = upn;
            }
        }
        let created = text("createdDateTime")
            .or_else(|| text("createdOn"))
            .and_then(|s| parse_iso(&s))
            .unwrap_or_else(SystemTime::now);
        let justification = text("justification");
        let new = NewRequest {
            id,
            principal_id: &principal,
            justification: justification.as_deref(),
            ticket: None,
            created,
            duration: None,
            approvers: vec![self.default_approver.clone()],
        };
        let (group, role) = (text("groupId"), text("roleDefinitionId"));
        let surface = if group.is_some() {
            Surface::Group
        } else if arm.is_some() {
            Surface::Arm
        } else {
            Surface::Directory
        };
        if self.find_on(surface, &new.id).is_some() {
            return Err(format!("seed request {i} repeats the id '{}' on the same surface", new.id));
        }
        let r = if let Some(group_id) = &group {
            let held = self.groups.entry(group_id.clone()).or_insert_with(|| format!("Group {}", short(group_id)));
            if let Some(name) = named("/group/displayName") {
                *held = name;
            }
            let access_id = text("accessId").unwrap_or_else(|| "member".into());
            self.add_pending(Target::Group { group_id, access_id: &access_id }, new)
        } else if arm.is_some() {
            let scope = text("scope").ok_or(format!("seed request {i} has no \"properties.scope\""))?;
            let role = role.ok_or(format!("seed request {i} has no \"roleDefinitionId\""))?;
            if let Some(name) = body.pointer("/expandedProperties/scope/displayName").and_then(Value::as_str) {
                let kind = body.pointer("/expandedProperties/scope/type").and_then(Value::as_str).unwrap_or("unknown");
                self.arm_scopes.insert(scope.to_ascii_lowercase(), (name.to_string(), kind.to_string()));
            }
            let guid = role.rsplit('/').next().unwrap_or_default().to_ascii_lowercase();
            let builtin = ARM_ROLES.iter().find(|(g, _)| *g == guid).map(|(_, n)| n.to_string());
            let shown = body.pointer("/expandedProperties/roleDefinition/displayName").and_then(Value::as_str);
            let kind = body.pointer("/expandedProperties/roleDefinition/type").and_then(Value::as_str);
            let entry = match (shown, builtin) {
                (Some(name), b) => (
                    name.to_string(),
                    kind.unwrap_or(if b.is_some() { "BuiltInRole" } else { "CustomRole" }).to_string(),
                ),
                (None, Some(name)) => (name, "BuiltInRole".to_string()),
                (None, None) => (format!("Role {}", short(&guid)), kind.unwrap_or("CustomRole").to_string()),
            };
            if shown.is_some() {
                self.arm_roles.insert(role.to_ascii_lowercase(), entry);
            } else {
                self.arm_roles.entry(role.to_ascii_lowercase()).or_insert(entry);
            }
            self.add_pending(Target::AzureRole { scope: &scope, role_definition_id: role }, new)
        } else {
            let role_id = role.ok_or(format!("seed request {i} has no \"roleDefinitionId\""))?;
            let held = self.roles.entry(role_id.clone()).or_insert_with(|| format!("Role {}", short(&role_id)));
            if let Some(name) = named("/roleDefinition/displayName") {
                *held = name;
            }
            let scope = text("directoryScopeId").unwrap_or_else(|| "/".into());
            self.add_pending(Target::DirectoryRole { role_id: &role_id, scope: &scope }, new)
        };
        let ticket = |k: &str| {
            body.pointer(&format!("/ticketInfo/{k}"))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        r.ticket_system = ticket("ticketSystem");
        r.ticket_number = ticket("ticketNumber");
        if let Some(action) = text("action").or_else(|| text("requestType")) {
            r.action = action;
        }
        if let Some(exp) = body.pointer("/scheduleInfo/expiration") {
            let s = |k: &str| exp.get(k).and_then(Value::as_str).map(str::to_string);
            r.expiration_type = s("type").unwrap_or_else(|| "notSpecified".into());
            r.duration = s("duration");
            r.end = s("endDateTime").and_then(|d| parse_iso(&d));
        }
        r.start = body.pointer("/scheduleInfo/startDateTime").and_then(Value::as_str).and_then(parse_iso);
        r.expires_at = loaded + EXPIRY;
        Ok(())
    }

    /// A user for an id we have not seen, with a placeholder name.
    fn ensure_user(&mut self, id: &str) {
        if !self.users.contains_key(id) {
            let tag = short(id);
            self.users.insert(
                id.to_string(),
                User { id: id.to_string(), display_name: format!("User {tag}"), upn: format!("user.{tag}@{DOMAIN}") },
            );
        }
    }
}

/// The first eight characters of an id, for placeholder names (by character, never mid-UTF-8).
fn short(id: &str) -> String {
    id.chars().take(8).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::scenarios::Scenario;
    use super::*;

    #[test]
    fn expanded_names_are_served_as_given_control_characters_included() {
        let hostile = "\u{1b}[1A\u{1b}[2K\u{202e}evil\u{7}";
        let mut t = Tenant::new(&Scenario::Empty);
        let seed = json!({"value": [
            {"id": "d1", "principalId": "p1", "roleDefinitionId": "r1",
             "principal": {"displayName": hostile, "userPrincipalName": "x\u{9b}@contoso"},
             "roleDefinition": {"displayName": hostile}},
            {"id": "g1", "principalId": "p2", "groupId": "grp", "group": {"displayName": hostile}},
            {"id": "g2", "principalId": "p3", "groupId": "plain"},
            {"name": "a1", "properties": {"scope": "/subscriptions/s", "principalId": "p4", "roleDefinitionId": "/x/roleDefinitions/r",
             "expandedProperties": {"principal": {"displayName": hostile, "email": "e\u{0}"}}}}
        ]});
        assert_eq!(t.load_seed(&seed), Ok(4));
        assert_eq!(t.users["p1"].display_name, hostile);
        assert_eq!(t.users["p1"].upn, "x\u{9b}@contoso");
        assert_eq!(t.roles["r1"], hostile);
        assert_eq!(t.groups["grp"], hostile);
        assert_eq!(t.groups["plain"], "Group plain");
        assert_eq!((t.users["p4"].display_name.as_str(), t.users["p4"].upn.as_str()), (hostile, "e\u{0}"));
        assert_eq!(t.users["p3"].display_name, "User p3");
    }
}

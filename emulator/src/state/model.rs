//! The tenant model and its rules: users, requests, approvals with steps, what was decided, who
//! may decide what, and how a decision is applied or refused. Shared by every surface.
//!
//! Written from Graph's documentation (see `graph-pim-api.md`), not from the client's types, so that
//! a misreading on either side shows up as a failing test.

use std::collections::HashMap;
use std::time::SystemTime;

/// A user of the tenant.
#[derive(Clone, Debug)]
pub struct User {
    pub id: String,
    pub display_name: String,
    pub upn: String,
}

/// Which PIM surface a request belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Surface {
    /// Entra directory roles (Graph `roleManagement/directory`).
    Directory,
    /// PIM for Groups (Graph `identityGovernance/privilegedAccess/group`).
    Group,
    /// Azure resource roles (ARM `Microsoft.Authorization`).
    Arm,
}

/// A pending or decided assignment schedule request, with the approval that gates it.
#[derive(Clone, Debug)]
pub struct Request {
    pub surface: Surface,
    pub id: String,
    pub status: String,
    pub action: String,
    pub principal_id: String,
    /// Directory: a role template id. ARM: a full role definition id. Groups: unused.
    pub role_definition_id: String,
    /// Directory: `directoryScopeId`. ARM: the scope path. Groups: unused.
    pub scope: String,
    /// Groups only: the group and `member` or `owner`.
    pub group_id: Option<String>,
    pub access_id: Option<String>,
    pub justification: Option<String>,
    pub ticket_system: Option<String>,
    pub ticket_number: Option<String>,
    pub created: SystemTime,
    pub start: Option<SystemTime>,
    pub expiration_type: String,
    pub duration: Option<String>,
    pub end: Option<SystemTime>,
    pub steps: Vec<Step>,
}

/// One approval step (beta `approvalStep`; v1.0 and ARM call it a stage).
#[derive(Clone, Debug)]
pub struct Step {
    pub id: String,
    pub status: String,
    pub approvers: Vec<String>,
    pub review_result: String,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<SystemTime>,
    pub justification: String,
}

/// One decision the emulator applied, as `/_emulator/decisions` reports it.
#[derive(Clone, Debug)]
pub struct Decision {
    pub approval_id: String,
    pub step_id: String,
    pub reviewer: String,
    pub review_result: String,
    pub justification: String,
    pub time: SystemTime,
}

/// The whole tenant. Guarded by one mutex in the shared app state.
#[derive(Debug, Default)]
pub struct Tenant {
    pub tenant_id: String,
    pub default_approver: String,
    pub users: HashMap<String, User>,
    pub roles: HashMap<String, String>,
    /// Group id -> display name.
    pub groups: HashMap<String, String>,
    /// Full ARM role definition id (lower case) -> display name.
    pub arm_roles: HashMap<String, String>,
    /// ARM scope path (lower case) -> (display name, type).
    pub arm_scopes: HashMap<String, (String, String)>,
    pub requests: Vec<Request>,
    pub decisions: Vec<Decision>,
}

pub const DOMAIN: &str = "contoso.onmicrosoft.com";

/// What a new request asks for: the part that differs by surface.
pub enum Target<'a> {
    /// A directory role template at a `directoryScopeId`.
    DirectoryRole { role_id: &'a str, scope: &'a str },
    /// Membership or ownership (`access_id`) of a group.
    Group { group_id: &'a str, access_id: &'a str },
    /// An Azure role (its full definition id) at a scope path.
    AzureRole { scope: &'a str, role_definition_id: String },
}

/// What every new pending request carries, whatever its surface.
pub struct NewRequest<'a> {
    pub id: String,
    pub principal_id: &'a str,
    pub justification: Option<&'a str>,
    pub ticket: Option<(&'a str, &'a str)>,
    pub created: SystemTime,
    pub duration: Option<&'a str>,
    /// Who may decide its single step.
    pub approvers: Vec<String>,
}

/// Why a decision was refused: the status, Graph/ARM error code and message to answer with.
pub struct Refusal(pub u16, pub &'static str, pub String);

/// A GUID that looks random but is the same on every run, so scenarios are reproducible.
pub fn stable_guid(kind: u64, n: u64) -> String {
    let mut x = kind.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ n.wrapping_add(0xD1B5_4A32_D192_ED03);
    let a = crate::splitmix::next(&mut x);
    let b = crate::splitmix::next(&mut x);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

impl Request {
    /// Whether the request still waits for a decision.
    pub fn is_pending(&self) -> bool {
        ["PendingApproval", "PendingApprovalProvisioning", "PendingAdminDecision"]
            .iter()
            .any(|s| self.status.eq_ignore_ascii_case(s))
    }

    /// Whether `oid` is an approver of any of its steps (decided or not).
    pub fn has_approver(&self, oid: &str) -> bool {
        self.steps.iter().any(|s| s.approvers.iter().any(|a| a == oid))
    }

    /// The step (stage) with this id, compared without case.
    pub fn step(&self, step_id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id.eq_ignore_ascii_case(step_id))
    }
}

impl Tenant {
    /// Adds a pending request whose single step `new.approvers` may decide, and returns it for
    /// the caller to adjust.
    pub fn add_pending(&mut self, target: Target<'_>, new: NewRequest<'_>) -> &mut Request {
        let (surface, role_definition_id, scope, group_id, access_id, expiration_type) = match target {
            Target::DirectoryRole { role_id, scope } => {
                (Surface::Directory, role_id.to_string(), scope.to_string(), None, None, "afterDuration")
            }
            Target::Group { group_id, access_id } => {
                let (g, a) = (Some(group_id.to_string()), Some(access_id.to_string()));
                (Surface::Group, String::new(), String::new(), g, a, "AfterDuration")
            }
            Target::AzureRole { scope, role_definition_id } => {
                (Surface::Arm, role_definition_id, scope.to_string(), None, None, "AfterDuration")
            }
        };
        let step_id = stable_guid(9, self.requests.len() as u64);
        self.requests.push(Request {
            surface,
            id: new.id,
            status: "PendingApproval".into(),
            action: "SelfActivate".into(),
            principal_id: new.principal_id.into(),
            role_definition_id,
            scope,
            group_id,
            access_id,
            justification: new.justification.map(str::to_string),
            ticket_system: new.ticket.map(|t| t.0.to_string()),
            ticket_number: new.ticket.map(|t| t.1.to_string()),
            created: new.created,
            start: None,
            expiration_type: expiration_type.into(),
            duration: new.duration.map(str::to_string),
            end: None,
            steps: vec![Step {
                id: step_id,
                status: "InProgress".into(),
                approvers: new.approvers,
                review_result: "NotReviewed".into(),
                reviewed_by: None,
                reviewed_at: None,
                justification: String::new(),
            }],
        });
        let last = self.requests.len() - 1;
        &mut self.requests[last]
    }

    /// The request with this id (compared without case), on any surface.
    pub fn find(&self, id: &str) -> Option<usize> {
        self.requests.iter().position(|r| r.id.eq_ignore_ascii_case(id))
    }

    /// The request with this id on `surface`: an id of another surface is not found.
    pub fn find_on(&self, surface: Surface, id: &str) -> Option<usize> {
        self.find(id).filter(|i| self.requests[*i].surface == surface)
    }

    /// Applies a decision to step/stage `step_id` of request `index` by `caller`, or says why not.
    /// Shared by every surface: the rules are the same.
    pub fn apply_decision(
        &mut self,
        index: usize,
        step_id: &str,
        caller: &str,
        approve: bool,
        justification: String,
    ) -> Result<(), Refusal> {
        let Some(si) = self.requests[index].steps.iter().position(|s| s.id.eq_ignore_ascii_case(step_id)) else {
            return Err(Refusal(404, "NotFound", format!("The stage '{step_id}' was not found.")));
        };
        let r = &self.requests[index];
        let step = &r.steps[si];
        if !step.approvers.iter().any(|a| a == caller) {
            return Err(Refusal(
                403,
                "Authorization_RequestDenied",
                "The caller is not an approver of this stage.".into(),
            ));
        }
        if r.principal_id == caller {
            return Err(Refusal(
                400,
                "SelfApprovalNotAllowed",
                "Approvers cannot approve or deny their own requests.".into(),
            ));
        }
        if !step.review_result.eq_ignore_ascii_case("NotReviewed") || !r.is_pending() {
            return Err(Refusal(
                409,
                "Conflict",
                "The request has already been approved or denied by another approver in this stage.".into(),
            ));
        }
        let now = SystemTime::now();
        let result = if approve { "Approved" } else { "Denied" };
        let approval_id = r.id.clone();
        let step_id = step.id.clone();
        let r = &mut self.requests[index];
        r.status = if approve { "Granted" } else { "Denied" }.into();
        let s = &mut r.steps[si];
        s.review_result = result.into();
        s.status = "Completed".into();
        s.reviewed_by = Some(caller.to_string());
        s.reviewed_at = Some(now);
        s.justification = justification.clone();
        self.decisions.push(Decision {
            approval_id,
            step_id,
            reviewer: caller.to_string(),
            review_result: result.into(),
            justification,
            time: now,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_guids_are_guids_and_distinct() {
        let a = stable_guid(3, 0);
        assert_eq!(a.len(), 36);
        assert_ne!(a, stable_guid(3, 1));
        assert_eq!(a, stable_guid(3, 0));
    }
}

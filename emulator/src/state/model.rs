//! The tenant model and its rules: users, requests, approvals with steps, what was decided, who
//! may decide what, and how a decision is applied or refused. Shared by every surface.
//!
//! Written from Graph's documentation (see `graph-pim-api.md`), not from the client's types, so that
//! a misreading on either side shows up as a failing test.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use crate::forms::Replication;

/// How long an unanswered request waits before it expires: "Delegated approvers have 24 hours to
/// approve requests. If a request isn't approved within 24 hours, the eligible user must re-submit
/// ... isn't configurable" (Entra how-tos for roles, Azure resources and groups).
pub const EXPIRY: Duration = Duration::from_secs(24 * 3600);

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
    /// Who created it (its principal, for a self-activation).
    pub requestor_id: String,
    /// When it expires if still unanswered (24 hours after it was made; for a seed file's
    /// requests, 24 hours after loading).
    pub expires_at: SystemTime,
    /// Replication delay: its approval answers 404 to this many more reads and decisions ...
    pub hidden_reads: u32,
    /// ... or until then.
    pub hidden_until: Option<SystemTime>,
}

/// One approval step (beta `approvalStep`; v1.0 and ARM call it a stage).
#[derive(Clone, Debug)]
pub struct Step {
    /// Its own id. For PIM for Groups the id shown may be the approval's instead (the form
    /// `group.stageId`; see [`Request::stage_id`]).
    pub id: String,
    /// `InProgress` while it waits, `Completed` once decided, `Expired` once the request expired.
    /// (A waiting group stage may be shown as `Completed`: the form `group.waitingStatus`.)
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
    /// Full ARM role definition id (lower case) -> (display name, `BuiltInRole` or `CustomRole`).
    pub arm_roles: HashMap<String, (String, String)>,
    /// ARM scope path (lower case) -> (display name, type).
    pub arm_scopes: HashMap<String, (String, String)>,
    pub requests: Vec<Request>,
    pub decisions: Vec<Decision>,
    /// The replication delay given to every new approval (the form `replication`).
    pub replication: Replication,
    /// The earliest time a pending request expires (a sweep before it is a no-op).
    pub(super) next_expiry: Option<SystemTime>,
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

/// Why a decision was refused. Each service words it its own way (`graph::approvals`,
/// `arm`), some of them as the forms say.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No stage (step) with that id.
    NoStage(String),
    /// The caller may not decide this stage.
    NotApprover,
    /// The request expired unanswered.
    Expired,
    /// The caller asked for it.
    SelfApproval,
    /// Someone decided it already.
    AlreadyDecided,
}

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

    /// The id a stage is shown and addressed by: for PIM for Groups under the form
    /// `group.stageId=approvalId`, the approval's own id; otherwise the stage's own.
    pub fn stage_id<'a>(&'a self, s: &'a Step, group_uses_approval_id: bool) -> &'a str {
        if self.surface == Surface::Group && group_uses_approval_id { &self.id } else { &s.id }
    }

    /// The index of the step (stage) addressed by this id, compared without case. When several
    /// stages show the same id (a multi-stage group approval under `group.stageId=approvalId`), the
    /// one in progress is addressed, else the first.
    pub fn step_index(&self, step_id: &str, group_uses_approval_id: bool) -> Option<usize> {
        let by_id = |s: &&Step| self.stage_id(s, group_uses_approval_id).eq_ignore_ascii_case(step_id);
        let position = |s: &Step| self.steps.iter().position(|x| std::ptr::eq(x, s));
        self.steps
            .iter()
            .filter(by_id)
            .find(|s| s.status == "InProgress")
            .and_then(position)
            .or_else(|| self.steps.iter().position(|s| by_id(&s)))
    }

    /// Makes its approval one of several stages, decided in order: stage `n` may be decided by
    /// `stages[n]`. The first is `InProgress`, the others wait as `NotStarted` (ARM's stage enum;
    /// Graph publishes no status for a stage not reached yet: the emulator's choice) until the one
    /// before is approved. Stage ids follow `stable_guid(10, ...)`.
    pub fn set_stages(&mut self, stages: Vec<Vec<String>>, first_id: u64) {
        self.steps = stages
            .into_iter()
            .enumerate()
            .map(|(n, approvers)| Step {
                id: stable_guid(10, first_id + n as u64),
                status: if n == 0 { "InProgress" } else { "NotStarted" }.into(),
                approvers,
                review_result: "NotReviewed".into(),
                reviewed_by: None,
                reviewed_at: None,
                justification: String::new(),
            })
            .collect();
    }

    /// Whether it expired unanswered.
    pub fn is_expired(&self) -> bool {
        self.steps.iter().any(|s| s.status == "Expired")
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
            requestor_id: new.principal_id.into(),
            expires_at: new.created + EXPIRY,
            hidden_reads: 0,
            hidden_until: None,
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
        let now = SystemTime::now();
        let replication = self.replication;
        let r = &mut self.requests[last];
        hide(r, replication, now);
        self.next_expiry = Some(self.next_expiry.map_or(r.expires_at, |t| t.min(r.expires_at)));
        r
    }

    /// The approvers a new request gets: the default approver and Lynne Robbins, as most demo
    /// requests have (a requester among them still may not decide their own).
    pub fn approvers(&self) -> Vec<String> {
        let mut a = vec![self.default_approver.clone()];
        let lynne = self.user_id("LynneR");
        if self.users.contains_key(&lynne) && lynne != self.default_approver {
            a.push(lynne);
        }
        a
    }

    /// The request with this id (compared without case), on any surface.
    pub fn find(&self, id: &str) -> Option<usize> {
        self.requests.iter().position(|r| r.id.eq_ignore_ascii_case(id))
    }

    /// The request with this id on `surface`: an id of another surface is not found, and two
    /// surfaces may hold the same id.
    pub fn find_on(&self, surface: Surface, id: &str) -> Option<usize> {
        self.requests.iter().position(|r| r.surface == surface && r.id.eq_ignore_ascii_case(id))
    }

    /// The requests with this id, on every surface.
    pub fn find_all(&self, id: &str) -> Vec<usize> {
        (0..self.requests.len()).filter(|i| self.requests[*i].id.eq_ignore_ascii_case(id)).collect()
    }

    /// Expires request `index` now: its waiting steps become `Expired` and it shows `status`.
    /// Returns whether it was still pending.
    pub fn expire(&mut self, index: usize, status: &str) -> bool {
        let r = &mut self.requests[index];
        if !r.is_pending() {
            return false;
        }
        r.status = status.to_string();
        for s in r.steps.iter_mut().filter(|s| s.review_result.eq_ignore_ascii_case("NotReviewed")) {
            s.status = "Expired".into();
        }
        true
    }

    /// Moves request `index` back in time by `by` (its creation and its expiry alike); a request
    /// moved past its 24 hours expires at the next sweep.
    pub fn age(&mut self, index: usize, by: Duration) {
        let r = &mut self.requests[index];
        r.created = r.created.checked_sub(by).unwrap_or(SystemTime::UNIX_EPOCH);
        r.expires_at = r.expires_at.checked_sub(by).unwrap_or(SystemTime::UNIX_EPOCH);
        self.next_expiry = Some(self.next_expiry.map_or(r.expires_at, |t| t.min(r.expires_at)));
    }

    /// Expires every pending request whose 24 hours have passed, showing `status`.
    pub fn expire_due(&mut self, now: SystemTime, status: &str) {
        if self.next_expiry.is_none_or(|t| t > now) {
            return;
        }
        let mut next: Option<SystemTime> = None;
        for i in 0..self.requests.len() {
            if !self.requests[i].is_pending() {
                continue;
            }
            if self.requests[i].expires_at <= now {
                self.expire(i, status);
            } else {
                let at = self.requests[i].expires_at;
                next = Some(next.map_or(at, |t| t.min(at)));
            }
        }
        self.next_expiry = next;
    }

    /// Sets the replication delay for every approval from now on, those that exist included (they
    /// count as new: a client that just listed them is the one this mode is for).
    pub fn set_replication(&mut self, mode: Replication, now: SystemTime) {
        self.replication = mode;
        for r in &mut self.requests {
            r.hidden_reads = 0;
            r.hidden_until = None;
            hide(r, mode, now);
        }
    }

    /// Whether request `index`'s approval is still replicating: it answers 404 to this read or
    /// decision (which counts against the reads it must wait).
    pub fn replicating(&mut self, index: usize, now: SystemTime) -> bool {
        let r = &mut self.requests[index];
        if r.hidden_reads > 0 {
            r.hidden_reads -= 1;
            return true;
        }
        r.hidden_until.is_some_and(|t| now < t)
    }

    /// Applies a decision to step/stage `step_id` of request `index` by `caller`, or says why not.
    /// Shared by every surface: the rules are the same. `group_uses_approval_id`: the form
    /// `group.stageId` (which id addresses a group stage).
    pub fn apply_decision(
        &mut self,
        index: usize,
        step_id: &str,
        caller: &str,
        approve: bool,
        justification: String,
        group_uses_approval_id: bool,
    ) -> Result<(), Refusal> {
        let r = &self.requests[index];
        let Some(si) = r.step_index(step_id, group_uses_approval_id) else {
            return Err(Refusal::NoStage(step_id.to_string()));
        };
        let step = &r.steps[si];
        if !step.approvers.iter().any(|a| a == caller) {
            return Err(Refusal::NotApprover);
        }
        if step.status == "Expired" {
            return Err(Refusal::Expired);
        }
        // A stage not reached yet takes no decision (the emulator's choice: nothing is published).
        if step.status == "NotStarted" {
            return Err(Refusal::NotApprover);
        }
        if r.principal_id == caller {
            return Err(Refusal::SelfApproval);
        }
        if !step.review_result.eq_ignore_ascii_case("NotReviewed") || !r.is_pending() {
            return Err(Refusal::AlreadyDecided);
        }
        let now = SystemTime::now();
        let result = if approve { "Approved" } else { "Denied" };
        let approval_id = r.id.clone();
        let step_id = r.stage_id(step, group_uses_approval_id).to_string();
        let r = &mut self.requests[index];
        // Approving a stage with a later one still to come starts that one; the request waits on.
        let next = r.steps.iter().skip(si + 1).position(|s| s.status == "NotStarted").map(|n| si + 1 + n);
        match next {
            Some(n) if approve => r.steps[n].status = "InProgress".into(),
            _ => r.status = if approve { "Granted" } else { "Denied" }.into(),
        }
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

/// Gives a new approval the replication delay `mode`.
fn hide(r: &mut Request, mode: Replication, now: SystemTime) {
    match mode {
        Replication::Off => {}
        Replication::Reads(k) => r.hidden_reads = k,
        Replication::For(d) => r.hidden_until = Some(now.max(r.created) + d),
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

    fn one(surface_group: bool) -> Tenant {
        let mut t = Tenant::new(&crate::state::Scenario::Empty);
        let me = t.default_approver.clone();
        let adele = t.user_id("AdeleV");
        let new = NewRequest {
            id: "r1".into(),
            principal_id: &adele,
            justification: None,
            ticket: None,
            created: SystemTime::now(),
            duration: None,
            approvers: vec![me],
        };
        let target = if surface_group {
            Target::Group { group_id: "g", access_id: "member" }
        } else {
            Target::DirectoryRole { role_id: "r", scope: "/" }
        };
        t.add_pending(target, new);
        t
    }

    #[test]
    fn requests_expire_after_24_hours_and_are_then_refused() {
        let mut t = one(false);
        let me = t.default_approver.clone();
        t.expire_due(SystemTime::now(), "TimedOut");
        assert!(t.requests[0].is_pending());
        t.age(0, EXPIRY + Duration::from_secs(60));
        t.expire_due(SystemTime::now(), "TimedOut");
        assert_eq!(t.requests[0].status, "TimedOut");
        assert_eq!(t.requests[0].steps[0].status, "Expired");
        let step = t.requests[0].steps[0].id.clone();
        assert_eq!(t.apply_decision(0, &step, &me, true, String::new(), true), Err(Refusal::Expired));
    }

    #[test]
    fn group_stages_answer_to_the_form_of_their_id() {
        let mut t = one(true);
        let me = t.default_approver.clone();
        let own = t.requests[0].steps[0].id.clone();
        assert!(matches!(t.apply_decision(0, &own, &me, true, String::new(), true), Err(Refusal::NoStage(_))));
        t.apply_decision(0, "R1", &me, true, String::new(), true).unwrap();
        assert_eq!(t.decisions[0].step_id, "r1");
    }

    #[test]
    fn stages_are_decided_in_order_and_the_last_approval_grants() {
        let mut t = one(true);
        let me = t.default_approver.clone();
        let lynne = t.user_id("LynneR");
        t.requests[0].set_stages(vec![vec![lynne.clone()], vec![me.clone()]], 0);
        // Under group.stageId=approvalId both stages show the approval's id: the one in progress is addressed.
        assert_eq!(t.apply_decision(0, "R1", &me, true, String::new(), true), Err(Refusal::NotApprover));
        t.apply_decision(0, "R1", &lynne, true, String::new(), true).unwrap();
        assert!(t.requests[0].is_pending());
        assert_eq!(t.requests[0].steps[1].status, "InProgress");
        t.apply_decision(0, "R1", &me, true, String::new(), true).unwrap();
        assert_eq!(t.requests[0].status, "Granted");
    }

    #[test]
    fn replication_hides_a_new_approval_for_k_reads() {
        let mut t = one(false);
        let now = SystemTime::now();
        t.set_replication(Replication::Reads(2), now);
        assert!(t.replicating(0, now) && t.replicating(0, now));
        assert!(!t.replicating(0, now));
        t.set_replication(Replication::For(Duration::from_secs(5)), now);
        assert!(t.replicating(0, now));
        assert!(!t.replicating(0, now + Duration::from_secs(6)));
    }
}

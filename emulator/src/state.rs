//! The emulated tenant: users, role definitions, requests, approvals with steps, and what was decided.
//!
//! Written from Graph's documentation (see `graph-pim-api.md`), not from the client's types, so that
//! a misreading on either side shows up as a failing test.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

/// A user of the tenant.
#[derive(Clone, Debug)]
pub struct User {
    pub id: String,
    pub display_name: String,
    pub upn: String,
}

/// A pending or decided role-assignment schedule request, with the approval that gates it.
#[derive(Clone, Debug)]
pub struct RoleRequest {
    pub id: String,
    pub status: String,
    pub action: String,
    pub principal_id: String,
    pub role_definition_id: String,
    pub directory_scope_id: String,
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

/// One approval step (beta `approvalStep`).
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

/// The whole tenant. Guarded by one mutex in [`crate::App`].
#[derive(Debug, Default)]
pub struct Tenant {
    pub tenant_id: String,
    pub default_approver: String,
    pub users: HashMap<String, User>,
    pub roles: HashMap<String, String>,
    pub requests: Vec<RoleRequest>,
    pub decisions: Vec<Decision>,
    /// `(route template, status)` -> count, for `/_emulator/stats`.
    pub stats: BTreeMap<(String, u16), u64>,
}

/// Built-in Entra role templates (real template ids).
const ROLES: &[(&str, &str)] = &[
    ("62e90394-69f5-4237-9190-012177145e10", "Global Administrator"),
    ("9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", "Application Administrator"),
    ("fe930be7-5e62-47db-91af-98c3a49a38b1", "User Administrator"),
    ("29232cdf-9323-42fd-ade2-1d097af3e4de", "Exchange Administrator"),
    ("194ae4cb-b126-40b2-bd5b-6091b380977d", "Security Administrator"),
    ("e8611ab8-c189-46e8-94e1-60213ab1f814", "Privileged Role Administrator"),
    ("f28a1f50-f6e7-4571-818b-6a12f2af6b6c", "SharePoint Administrator"),
    ("729827e3-9c14-49f7-bb1b-9608f156bbb8", "Helpdesk Administrator"),
    ("f2ef992c-3afb-46b9-b7cf-a126ee74c451", "Global Reader"),
];

const PEOPLE: &[(&str, &str)] = &[
    ("Megan Bowen", "MeganB"),
    ("Adele Vance", "AdeleV"),
    ("Alex Wilber", "AlexW"),
    ("Diego Siciliani", "DiegoS"),
    ("Lee Gu", "LeeG"),
    ("Lynne Robbins", "LynneR"),
    ("Nestor Wilke", "NestorW"),
    ("Patti Fernandez", "PattiF"),
    ("Pradeep Gupta", "PradeepG"),
    ("Johanna Lorenz", "JohannaL"),
    ("Isaiah Langer", "IsaiahL"),
];

pub const DOMAIN: &str = "contoso.onmicrosoft.com";

/// A GUID that looks random but is the same on every run, so scenarios are reproducible.
pub fn stable_guid(kind: u64, n: u64) -> String {
    let mut x = kind.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ n.wrapping_add(0xD1B5_4A32_D192_ED03);
    let mut next = || {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let a = next();
    let b = next();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

/// One request of the demo scenario.
struct DemoRow {
    nick: &'static str,
    role: &'static str,
    why: &'static str,
    ticket: Option<(&'static str, &'static str)>,
    minutes_ago: u64,
    duration: &'static str,
}

/// The scenarios the command line accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scenario {
    Demo,
    Empty,
    Bulk(usize),
}

impl std::str::FromStr for Scenario {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "demo" => Ok(Scenario::Demo),
            "empty" => Ok(Scenario::Empty),
            _ => match s.strip_prefix("bulk:").map(str::parse::<usize>) {
                Some(Ok(n)) => Ok(Scenario::Bulk(n)),
                _ => Err(format!("unknown scenario '{s}': expected demo, empty or bulk:N")),
            },
        }
    }
}

impl Tenant {
    /// A tenant with its users and roles but no requests.
    fn base() -> Tenant {
        let mut t = Tenant { tenant_id: stable_guid(1, 0), ..Tenant::default() };
        for (i, (name, nick)) in PEOPLE.iter().enumerate() {
            let id = stable_guid(2, i as u64);
            t.users.insert(id.clone(), User { id, display_name: (*name).to_string(), upn: format!("{nick}@{DOMAIN}") });
        }
        for (id, name) in ROLES {
            t.roles.insert((*id).to_string(), (*name).to_string());
        }
        t.default_approver = stable_guid(2, 0);
        t
    }

    pub fn user_id(&self, nick: &str) -> String {
        let i = PEOPLE.iter().position(|(_, n)| *n == nick).unwrap_or(0);
        stable_guid(2, i as u64)
    }

    /// The tenant of a scenario.
    pub fn new(scenario: &Scenario) -> Tenant {
        let mut t = Tenant::base();
        match scenario {
            Scenario::Empty => {}
            Scenario::Demo => t.add_demo(),
            Scenario::Bulk(n) => t.add_bulk(*n),
        }
        t
    }

    fn ago(minutes: u64) -> SystemTime {
        SystemTime::now() - Duration::from_secs(minutes * 60)
    }

    /// Adds a pending directory-role request whose single step the given approvers may decide.
    #[allow(clippy::too_many_arguments)]
    pub fn add_pending(
        &mut self,
        id: String,
        principal_id: &str,
        role_id: &str,
        justification: Option<&str>,
        ticket: Option<(&str, &str)>,
        created: SystemTime,
        duration: Option<&str>,
        approvers: Vec<String>,
    ) {
        let step_id = stable_guid(9, self.requests.len() as u64);
        self.requests.push(RoleRequest {
            id,
            status: "PendingApproval".into(),
            action: "SelfActivate".into(),
            principal_id: principal_id.into(),
            role_definition_id: role_id.into(),
            directory_scope_id: "/".into(),
            justification: justification.map(str::to_string),
            ticket_system: ticket.map(|t| t.0.to_string()),
            ticket_number: ticket.map(|t| t.1.to_string()),
            created,
            start: None,
            expiration_type: "afterDuration".into(),
            duration: duration.map(str::to_string),
            end: None,
            steps: vec![Step {
                id: step_id,
                status: "InProgress".into(),
                approvers,
                review_result: "NotReviewed".into(),
                reviewed_by: None,
                reviewed_at: None,
                justification: String::new(),
            }],
        });
    }

    fn add_demo(&mut self) {
        let me = self.default_approver.clone();
        let lynne = self.user_id("LynneR");
        let rows = [
            DemoRow {
                nick: "AdeleV",
                role: "62e90394-69f5-4237-9190-012177145e10",
                why: "Restore the MFA registration policy after the failed rollout",
                ticket: Some(("ServiceNow", "INC0012345")),
                minutes_ago: 12,
                duration: "PT2H",
            },
            DemoRow {
                nick: "AlexW",
                role: "29232cdf-9323-42fd-ade2-1d097af3e4de",
                why: "Migrate the Sales shared mailboxes for the reorg",
                ticket: Some(("ServiceNow", "CHG0004821")),
                minutes_ago: 125,
                duration: "PT8H",
            },
            DemoRow {
                nick: "DiegoS",
                role: "fe930be7-5e62-47db-91af-98c3a49a38b1",
                why: "Offboard 14 leavers from the HR list",
                ticket: Some(("Jira", "HR-2291")),
                minutes_ago: 35,
                duration: "PT4H",
            },
            DemoRow {
                nick: "LeeG",
                role: "194ae4cb-b126-40b2-bd5b-6091b380977d",
                why: "Investigate the \"impossible travel\" alert for O'Neil",
                ticket: None,
                minutes_ago: 4,
                duration: "PT1H",
            },
            DemoRow {
                nick: "PattiF",
                role: "f28a1f50-f6e7-4571-818b-6a12f2af6b6c",
                why: "Fix permissions on the Contracts site (Zürich office)",
                ticket: Some(("ServiceNow", "INC0012390")),
                minutes_ago: 58,
                duration: "PT30M",
            },
        ];
        for (i, row) in rows.iter().enumerate() {
            let principal = self.user_id(row.nick);
            self.add_pending(
                stable_guid(3, i as u64),
                &principal,
                row.role,
                Some(row.why),
                row.ticket,
                Tenant::ago(row.minutes_ago),
                Some(row.duration),
                vec![me.clone(), lynne.clone()],
            );
        }
        // The approver's own request: listed, but deciding it is refused (self-approval).
        self.add_pending(
            stable_guid(3, 100),
            &me.clone(),
            "e8611ab8-c189-46e8-94e1-60213ab1f814",
            Some("Quarterly access review clean-up"),
            None,
            Tenant::ago(20),
            Some("PT3H"),
            vec![me.clone(), lynne.clone()],
        );
        // Waits on someone else: never listed for the default approver.
        let nestor = self.user_id("NestorW");
        self.add_pending(
            stable_guid(3, 101),
            &nestor,
            "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
            Some("Register the payroll connector app"),
            None,
            Tenant::ago(90),
            Some("PT2H"),
            vec![lynne.clone()],
        );
        // Already granted: listed by neither filter on PendingApproval.
        self.add_pending(
            stable_guid(3, 102),
            &self.user_id("PradeepG"),
            "729827e3-9c14-49f7-bb1b-9608f156bbb8",
            Some("Password resets for the front desk"),
            None,
            Tenant::ago(600),
            Some("PT8H"),
            vec![me.clone()],
        );
        if let Some(r) = self.requests.last_mut() {
            r.status = "Granted".into();
            r.steps[0].status = "Completed".into();
            r.steps[0].review_result = "Approved".into();
            r.steps[0].reviewed_by = Some(lynne);
        }
        // One request with a fixed end instead of a duration, starting later today.
        if let Some(r) = self.requests.get_mut(2) {
            r.expiration_type = "afterDateTime".into();
            r.start = Some(SystemTime::now() + Duration::from_secs(3600));
            r.end = Some(SystemTime::now() + Duration::from_secs(5 * 3600));
            r.duration = None;
        }
    }

    fn add_bulk(&mut self, n: usize) {
        let me = self.default_approver.clone();
        let requesters: Vec<String> = (1..PEOPLE.len()).map(|i| stable_guid(2, i as u64)).collect();
        for i in 0..n {
            let principal = requesters[i % requesters.len()].clone();
            let role = ROLES[i % ROLES.len()].0;
            self.add_pending(
                stable_guid(4, i as u64),
                &principal,
                role,
                Some(&format!("Change window task {}", i + 1)),
                Some(("ServiceNow", &format!("CHG{:07}", i + 1))),
                Tenant::ago((i % 600) as u64),
                Some("PT1H"),
                vec![me.clone()],
            );
        }
    }

    /// Loads `{"value": [request, ...]}` (a Graph list response) and adds each request as pending,
    /// decidable by the default approver. Unknown principals and roles get placeholder names.
    pub fn load_seed(&mut self, doc: &Value) -> Result<usize, String> {
        let items = doc
            .get("value")
            .and_then(Value::as_array)
            .ok_or("the seed file must be a JSON object with a \"value\" array")?;
        let me = self.default_approver.clone();
        for (i, item) in items.iter().enumerate() {
            let text = |k: &str| item.get(k).and_then(Value::as_str).map(str::to_string);
            let id = text("id").ok_or(format!("seed request {i} has no \"id\""))?;
            let principal = text("principalId").ok_or(format!("seed request {i} has no \"principalId\""))?;
            let role = text("roleDefinitionId").ok_or(format!("seed request {i} has no \"roleDefinitionId\""))?;
            if !self.users.contains_key(&principal) {
                let short = &principal[..principal.len().min(8)];
                self.users.insert(
                    principal.clone(),
                    User {
                        id: principal.clone(),
                        display_name: format!("User {short}"),
                        upn: format!("user.{short}@{DOMAIN}"),
                    },
                );
            }
            self.roles.entry(role.clone()).or_insert_with(|| format!("Role {}", &role[..role.len().min(8)]));
            let created = text("createdDateTime").and_then(|s| httpdate_from_iso(&s)).unwrap_or_else(SystemTime::now);
            let exp = item.pointer("/scheduleInfo/expiration");
            let ticket = item.get("ticketInfo");
            let tstr = |k: &str| {
                ticket.and_then(|t| t.get(k)).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string)
            };
            self.add_pending(
                id,
                &principal,
                &role,
                text("justification").as_deref(),
                None,
                created,
                None,
                vec![me.clone()],
            );
            let r = self.requests.last_mut().ok_or("internal: request not added")?;
            r.ticket_system = tstr("ticketSystem");
            r.ticket_number = tstr("ticketNumber");
            r.action = text("action").unwrap_or_else(|| "SelfActivate".into());
            r.directory_scope_id = text("directoryScopeId").unwrap_or_else(|| "/".into());
            if let Some(exp) = exp {
                let s = |k: &str| exp.get(k).and_then(Value::as_str).map(str::to_string);
                r.expiration_type = s("type").unwrap_or_else(|| "notSpecified".into());
                r.duration = s("duration");
                r.end = s("endDateTime").and_then(|d| httpdate_from_iso(&d));
            }
            r.start = item.pointer("/scheduleInfo/startDateTime").and_then(Value::as_str).and_then(httpdate_from_iso);
        }
        Ok(items.len())
    }

    pub fn find(&self, id: &str) -> Option<usize> {
        self.requests.iter().position(|r| r.id.eq_ignore_ascii_case(id))
    }

    /// The request as Graph serialises a `unifiedRoleAssignmentScheduleRequest`.
    pub fn request_json(&self, r: &RoleRequest, expand_principal: bool, expand_role: bool) -> Value {
        let mut v = json!({
            "id": r.id,
            "status": r.status,
            "action": r.action,
            "isValidationOnly": false,
            "approvalId": r.id,
            "principalId": r.principal_id,
            "roleDefinitionId": r.role_definition_id,
            "directoryScopeId": r.directory_scope_id,
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
            v["principal"] = match self.users.get(&r.principal_id) {
                Some(u) => json!({
                    "@odata.type": "#microsoft.graph.user",
                    "id": u.id, "displayName": u.display_name, "userPrincipalName": u.upn
                }),
                None => Value::Null,
            };
        }
        if expand_role {
            v["roleDefinition"] = match self.roles.get(&r.role_definition_id) {
                Some(name) => json!({
                    "id": r.role_definition_id, "displayName": name,
                    "templateId": r.role_definition_id, "isBuiltIn": true, "isEnabled": true
                }),
                None => Value::Null,
            };
        }
        v
    }
}

/// `2026-11-26T14:52:12Z` from a time.
pub fn iso(t: SystemTime) -> String {
    // httpdate gives RFC 7231; Graph speaks ISO 8601, so format from the civil date ourselves.
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, (rem / 60) % 60, rem % 60)
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` (what Graph sends); anything else gives `None`.
pub fn httpdate_from_iso(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || !s.ends_with('Z') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let days = days_from_civil(num(0..4)?, num(5..7)?, num(8..10)?);
    let secs = days * 86_400 + num(11..13)? * 3600 + num(14..16)? * 60 + num(17..19)?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

// Howard Hinnant's civil-calendar algorithms.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_round_trips() {
        let t = httpdate_from_iso("2021-07-19T08:49:49.78Z").unwrap();
        assert_eq!(iso(t), "2021-07-19T08:49:49Z");
    }

    #[test]
    fn stable_guids_are_guids_and_distinct() {
        let a = stable_guid(3, 0);
        assert_eq!(a.len(), 36);
        assert_ne!(a, stable_guid(3, 1));
        assert_eq!(a, stable_guid(3, 0));
    }
}

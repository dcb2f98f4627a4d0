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
    /// Group id -> display name.
    pub groups: HashMap<String, String>,
    /// Full ARM role definition id (lower case) -> display name.
    pub arm_roles: HashMap<String, String>,
    /// ARM scope path (lower case) -> (display name, type).
    pub arm_scopes: HashMap<String, (String, String)>,
    pub requests: Vec<Request>,
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
            Scenario::Demo => {
                t.add_demo();
                t.add_demo_groups_and_azure();
            }
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
        self.requests.push(Request {
            surface: Surface::Directory,
            id,
            status: "PendingApproval".into(),
            action: "SelfActivate".into(),
            principal_id: principal_id.into(),
            role_definition_id: role_id.into(),
            scope: "/".into(),
            group_id: None,
            access_id: None,
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

    /// Loads `{"value": [request, ...]}` (a Graph or ARM list response) and adds each request as
    /// pending, decidable by the default approver: directory-role requests, group requests (objects
    /// with `groupId`) and ARM requests (objects with `properties`). Unknown principals, roles and
    /// groups get placeholder names.
    pub fn load_seed(&mut self, doc: &Value) -> Result<usize, String> {
        let items = doc
            .get("value")
            .and_then(Value::as_array)
            .ok_or("the seed file must be a JSON object with a \"value\" array")?;
        let me = self.default_approver.clone();
        for (i, item) in items.iter().enumerate() {
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
            let created = text("createdDateTime")
                .or_else(|| text("createdOn"))
                .and_then(|s| httpdate_from_iso(&s))
                .unwrap_or_else(SystemTime::now);
            let justification = text("justification");
            if let Some(group) = text("groupId") {
                self.groups.entry(group.clone()).or_insert_with(|| format!("Group {}", short(&group)));
                let access = text("accessId").unwrap_or_else(|| "member".into());
                self.add_group_pending(
                    id,
                    &principal,
                    &group,
                    &access,
                    justification.as_deref(),
                    created,
                    None,
                    vec![me.clone()],
                );
            } else if arm.is_some() {
                let scope = text("scope").ok_or(format!("seed request {i} has no \"properties.scope\""))?;
                let role = text("roleDefinitionId").ok_or(format!("seed request {i} has no \"roleDefinitionId\""))?;
                let role_guid = role.rsplit('/').next().unwrap_or_default().to_string();
                if let Some(name) = body.pointer("/expandedProperties/scope/displayName").and_then(Value::as_str) {
                    self.arm_scopes.insert(scope.to_ascii_lowercase(), (name.to_string(), "unknown".into()));
                }
                self.add_arm_pending(
                    id,
                    &principal,
                    &scope,
                    &role_guid,
                    justification.as_deref(),
                    None,
                    created,
                    None,
                    vec![me.clone()],
                );
                if let Some(r) = self.requests.last_mut() {
                    r.role_definition_id = role;
                }
            } else {
                let role = text("roleDefinitionId").ok_or(format!("seed request {i} has no \"roleDefinitionId\""))?;
                self.roles.entry(role.clone()).or_insert_with(|| format!("Role {}", short(&role)));
                self.add_pending(
                    id,
                    &principal,
                    &role,
                    justification.as_deref(),
                    None,
                    created,
                    None,
                    vec![me.clone()],
                );
                if let Some(r) = self.requests.last_mut() {
                    r.scope = text("directoryScopeId").unwrap_or_else(|| "/".into());
                }
            }
            let r = self.requests.last_mut().ok_or("internal: request not added")?;
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
                r.end = s("endDateTime").and_then(|d| httpdate_from_iso(&d));
            }
            r.start = body.pointer("/scheduleInfo/startDateTime").and_then(Value::as_str).and_then(httpdate_from_iso);
        }
        Ok(items.len())
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

    pub fn find(&self, id: &str) -> Option<usize> {
        self.requests.iter().position(|r| r.id.eq_ignore_ascii_case(id))
    }

    /// The request as Graph serialises a `unifiedRoleAssignmentScheduleRequest`.
    pub fn request_json(&self, r: &Request, expand_principal: bool, expand_role: bool) -> Value {
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

/// Why a decision was refused: the status, Graph/ARM error code and message to answer with.
pub struct Refusal(pub u16, pub &'static str, pub String);

/// Real ids of built-in Azure roles.
pub const ARM_ROLES: &[(&str, &str)] = &[
    ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner"),
    ("b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor"),
    ("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader"),
    ("b86a8fe4-44ce-4948-aee5-eccb2c155cd7", "Key Vault Secrets Officer"),
    ("18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", "User Access Administrator"),
];

impl Tenant {
    /// Adds a pending PIM for Groups request (`accessId` is `member` or `owner`).
    #[allow(clippy::too_many_arguments)]
    pub fn add_group_pending(
        &mut self,
        id: String,
        principal_id: &str,
        group_id: &str,
        access_id: &str,
        justification: Option<&str>,
        created: SystemTime,
        duration: Option<&str>,
        approvers: Vec<String>,
    ) {
        self.add_pending(id, principal_id, "", justification, None, created, duration, approvers);
        if let Some(r) = self.requests.last_mut() {
            r.surface = Surface::Group;
            r.group_id = Some(group_id.to_string());
            r.access_id = Some(access_id.to_string());
            r.scope = String::new();
            r.expiration_type = "AfterDuration".into();
        }
    }

    /// Adds a pending Azure resource request at `scope` for the built-in role `role_guid`.
    #[allow(clippy::too_many_arguments)]
    pub fn add_arm_pending(
        &mut self,
        id: String,
        principal_id: &str,
        scope: &str,
        role_guid: &str,
        justification: Option<&str>,
        ticket: Option<(&str, &str)>,
        created: SystemTime,
        duration: Option<&str>,
        approvers: Vec<String>,
    ) {
        let role_id = format!("{scope}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}");
        self.add_pending(id, principal_id, &role_id, justification, ticket, created, duration, approvers);
        if let Some(r) = self.requests.last_mut() {
            r.surface = Surface::Arm;
            r.scope = scope.to_string();
            r.expiration_type = "AfterDuration".into();
        }
    }

    /// Groups, Azure scopes and the pending requests on them for the demo scenario.
    pub(crate) fn add_demo_groups_and_azure(&mut self) {
        let me = self.default_approver.clone();
        let lynne = self.user_id("LynneR");
        let finance = stable_guid(5, 0);
        let sites = stable_guid(5, 1);
        self.groups.insert(finance.clone(), "Finance Approvers".into());
        self.groups.insert(sites.clone(), "SharePoint Site Admins".into());
        for (i, (nick, group, access, why, mins, dur)) in [
            ("AlexW", &finance, "member", "Approve the Q4 supplier invoices", 18, "PT4H"),
            ("IsaiahL", &sites, "owner", "Add the new Legal site owners", 42, "PT2H"),
        ]
        .into_iter()
        .enumerate()
        {
            let principal = self.user_id(nick);
            self.add_group_pending(
                stable_guid(6, i as u64),
                &principal,
                group,
                access,
                Some(why),
                Tenant::ago(mins),
                Some(dur),
                vec![me.clone(), lynne.clone()],
            );
        }
        let sub = format!("/subscriptions/{}", stable_guid(7, 0));
        let rg = format!("{sub}/resourceGroups/rg-payments");
        let mg = "/providers/Microsoft.Management/managementGroups/contoso-platform".to_string();
        for (scope, name, kind) in [
            (&sub, "Contoso Production", "subscription"),
            (&rg, "rg-payments", "resourcegroup"),
            (&mg, "Contoso Platform", "managementgroup"),
        ] {
            self.arm_scopes.insert(scope.to_ascii_lowercase(), (name.to_string(), kind.to_string()));
        }
        for (i, (nick, scope, role, why, ticket, mins, dur)) in [
            (
                "JohannaL",
                &sub,
                ARM_ROLES[1].0,
                "Scale out the checkout service for the sale",
                Some(("ServiceNow", "CHG0004900")),
                9,
                "PT8H",
            ),
            (
                "NestorW",
                &rg,
                ARM_ROLES[3].0,
                "Rotate the payment gateway secrets",
                Some(("ServiceNow", "CHG0004911")),
                27,
                "PT1H",
            ),
            ("PradeepG", &mg, ARM_ROLES[2].0, "Audit the platform policies", None, 75, "P1D"),
        ]
        .into_iter()
        .enumerate()
        {
            let principal = self.user_id(nick);
            self.add_arm_pending(
                stable_guid(8, i as u64),
                &principal,
                scope,
                role,
                Some(why),
                ticket,
                Tenant::ago(mins),
                Some(dur),
                vec![me.clone(), lynne.clone()],
            );
        }
        // One ARM request in the provisioning flavour of pending.
        if let Some(r) = self.requests.last_mut() {
            r.status = "PendingApprovalProvisioning".into();
        }
    }

    /// Whether a request still waits for a decision.
    pub fn is_pending(r: &Request) -> bool {
        ["PendingApproval", "PendingApprovalProvisioning", "PendingAdminDecision"]
            .iter()
            .any(|s| r.status.eq_ignore_ascii_case(s))
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
        if !step.review_result.eq_ignore_ascii_case("NotReviewed") || !Tenant::is_pending(r) {
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

    fn user_json(&self, id: &str) -> Value {
        match self.users.get(id) {
            Some(u) => json!({
                "@odata.type": "#microsoft.graph.user",
                "id": u.id, "displayName": u.display_name, "userPrincipalName": u.upn
            }),
            None => Value::Null,
        }
    }

    /// A `privilegedAccessGroupAssignmentScheduleRequest`.
    pub fn group_request_json(&self, r: &Request, expand_group: bool, expand_principal: bool) -> Value {
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
            v["group"] = match self.groups.get(&group_id) {
                Some(name) => json!({"id": group_id, "displayName": name, "mail": null}),
                None => Value::Null,
            };
        }
        if expand_principal {
            v["principal"] = self.user_json(&r.principal_id);
        }
        v
    }

    /// An ARM `RoleAssignmentScheduleRequest`, names in `expandedProperties`.
    pub fn arm_request_json(&self, r: &Request) -> Value {
        let (scope_name, scope_type) = self
            .arm_scopes
            .get(&r.scope.to_ascii_lowercase())
            .cloned()
            .unwrap_or_else(|| (r.scope.clone(), "unknown".into()));
        let role_guid = r.role_definition_id.rsplit('/').next().unwrap_or_default();
        let role_name = ARM_ROLES.iter().find(|(g, _)| *g == role_guid).map(|(_, n)| n.to_string());
        let principal = self.users.get(&r.principal_id);
        let approval = format!("/providers/Microsoft.Authorization/roleAssignmentApprovals/{}", r.id);
        json!({
            "id": format!("{}/providers/Microsoft.Authorization/roleAssignmentScheduleRequests/{}", r.scope, r.id),
            "name": r.id,
            "type": "Microsoft.Authorization/RoleAssignmentScheduleRequests",
            "properties": {
                "scope": r.scope, "roleDefinitionId": r.role_definition_id, "principalId": r.principal_id,
                "principalType": "User", "requestType": r.action, "status": r.status,
                "approvalId": approval,
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
}

/// The first eight characters of an id, for placeholder names (by character, never mid-UTF-8).
fn short(id: &str) -> String {
    id.chars().take(8).collect()
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

//! The built-in scenarios the command line offers: `empty` (users and roles, no requests), `demo`
//! (a few requests on every surface, with the awkward cases a client must handle) and `bulk:N`
//! (N pending directory-role requests the default approver may decide). Seed files: `seed.rs`.

use std::time::{Duration, SystemTime};

use super::model::{DOMAIN, NewRequest, Request, Target, Tenant, User, stable_guid};
use crate::time::ago;

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

/// Real ids of built-in Azure roles.
pub const ARM_ROLES: &[(&str, &str)] = &[
    ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner"),
    ("b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor"),
    ("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader"),
    ("b86a8fe4-44ce-4948-aee5-eccb2c155cd7", "Key Vault Secrets Officer"),
    ("18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", "User Access Administrator"),
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

/// What a demo request asks for.
enum On {
    /// A directory role template, at the tenant root.
    Role(&'static str),
    /// One of the demo groups (see `add_demo`), as `member` or `owner`.
    Group(usize, &'static str),
    /// One of the demo Azure scopes (see `add_demo`), with one of [`ARM_ROLES`].
    Azure(usize, usize),
}

/// One request of the demo scenario.
struct Demo {
    /// Its id is `stable_guid(3, n)` for a directory role, `(6, n)` for a group, `(8, n)` for Azure.
    n: u64,
    nick: &'static str,
    on: On,
    why: &'static str,
    ticket: Option<(&'static str, &'static str)>,
    minutes_ago: u64,
    duration: &'static str,
    /// Who may decide it, by nickname.
    approvers: &'static [&'static str],
}

/// The default approver and Lynne, who may decide most demo requests.
const BOTH: &[&str] = &["MeganB", "LynneR"];

/// The demo's requests, in the order they are added (step ids follow that order).
const DEMO: &[Demo] = &[
    Demo {
        n: 0,
        nick: "AdeleV",
        on: On::Role("62e90394-69f5-4237-9190-012177145e10"),
        why: "Restore the MFA registration policy after the failed rollout",
        ticket: Some(("ServiceNow", "INC0012345")),
        minutes_ago: 12,
        duration: "PT2H",
        approvers: BOTH,
    },
    Demo {
        n: 1,
        nick: "AlexW",
        on: On::Role("29232cdf-9323-42fd-ade2-1d097af3e4de"),
        why: "Migrate the Sales shared mailboxes for the reorg",
        ticket: Some(("ServiceNow", "CHG0004821")),
        minutes_ago: 125,
        duration: "PT8H",
        approvers: BOTH,
    },
    // Given a fixed end instead of a duration, starting later today (see `add_demo`).
    Demo {
        n: 2,
        nick: "DiegoS",
        on: On::Role("fe930be7-5e62-47db-91af-98c3a49a38b1"),
        why: "Offboard 14 leavers from the HR list",
        ticket: Some(("Jira", "HR-2291")),
        minutes_ago: 35,
        duration: "PT4H",
        approvers: BOTH,
    },
    Demo {
        n: 3,
        nick: "LeeG",
        on: On::Role("194ae4cb-b126-40b2-bd5b-6091b380977d"),
        why: "Investigate the \"impossible travel\" alert for O'Neil",
        ticket: None,
        minutes_ago: 4,
        duration: "PT1H",
        approvers: BOTH,
    },
    Demo {
        n: 4,
        nick: "PattiF",
        on: On::Role("f28a1f50-f6e7-4571-818b-6a12f2af6b6c"),
        why: "Fix permissions on the Contracts site (Zürich office)",
        ticket: Some(("ServiceNow", "INC0012390")),
        minutes_ago: 58,
        duration: "PT30M",
        approvers: BOTH,
    },
    // The approver's own request: listed, but deciding it is refused (self-approval).
    Demo {
        n: 100,
        nick: "MeganB",
        on: On::Role("e8611ab8-c189-46e8-94e1-60213ab1f814"),
        why: "Quarterly access review clean-up",
        ticket: None,
        minutes_ago: 20,
        duration: "PT3H",
        approvers: BOTH,
    },
    // Waits on someone else: never listed for the default approver.
    Demo {
        n: 101,
        nick: "NestorW",
        on: On::Role("9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"),
        why: "Register the payroll connector app",
        ticket: None,
        minutes_ago: 90,
        duration: "PT2H",
        approvers: &["LynneR"],
    },
    // Already granted (see `add_demo`): listed by neither filter on PendingApproval.
    Demo {
        n: 102,
        nick: "PradeepG",
        on: On::Role("729827e3-9c14-49f7-bb1b-9608f156bbb8"),
        why: "Password resets for the front desk",
        ticket: None,
        minutes_ago: 600,
        duration: "PT8H",
        approvers: &["MeganB"],
    },
    Demo {
        n: 0,
        nick: "AlexW",
        on: On::Group(0, "member"),
        why: "Approve the Q4 supplier invoices",
        ticket: None,
        minutes_ago: 18,
        duration: "PT4H",
        approvers: BOTH,
    },
    Demo {
        n: 1,
        nick: "IsaiahL",
        on: On::Group(1, "owner"),
        why: "Add the new Legal site owners",
        ticket: None,
        minutes_ago: 42,
        duration: "PT2H",
        approvers: BOTH,
    },
    Demo {
        n: 0,
        nick: "JohannaL",
        on: On::Azure(0, 1),
        why: "Scale out the checkout service for the sale",
        ticket: Some(("ServiceNow", "CHG0004900")),
        minutes_ago: 9,
        duration: "PT8H",
        approvers: BOTH,
    },
    Demo {
        n: 1,
        nick: "NestorW",
        on: On::Azure(1, 3),
        why: "Rotate the payment gateway secrets",
        ticket: Some(("ServiceNow", "CHG0004911")),
        minutes_ago: 27,
        duration: "PT1H",
        approvers: BOTH,
    },
    // In the provisioning flavour of pending (see `add_demo`).
    Demo {
        n: 2,
        nick: "PradeepG",
        on: On::Azure(2, 2),
        why: "Audit the platform policies",
        ticket: None,
        minutes_ago: 75,
        duration: "P1D",
        approvers: BOTH,
    },
];

impl Tenant {
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

    /// The id of one of the scenario's people, by mail nickname.
    pub fn user_id(&self, nick: &str) -> String {
        let i = PEOPLE.iter().position(|(_, n)| *n == nick).unwrap_or(0);
        stable_guid(2, i as u64)
    }

    fn add_demo(&mut self) {
        let groups = [(stable_guid(5, 0), "Finance Approvers"), (stable_guid(5, 1), "SharePoint Site Admins")];
        for (id, name) in &groups {
            self.groups.insert(id.clone(), (*name).to_string());
        }
        let sub = format!("/subscriptions/{}", stable_guid(7, 0));
        let scopes = [
            (sub.clone(), "Contoso Production", "subscription"),
            (format!("{sub}/resourceGroups/rg-payments"), "rg-payments", "resourcegroup"),
            (
                "/providers/Microsoft.Management/managementGroups/contoso-platform".into(),
                "Contoso Platform",
                "managementgroup",
            ),
        ];
        for (scope, name, kind) in &scopes {
            self.arm_scopes.insert(scope.to_ascii_lowercase(), (name.to_string(), kind.to_string()));
        }
        for row in DEMO {
            let principal = self.user_id(row.nick);
            let approvers = row.approvers.iter().map(|nick| self.user_id(nick)).collect();
            let (kind, target) = match row.on {
                On::Role(role_id) => (3, Target::DirectoryRole { role_id, scope: "/" }),
                On::Group(g, access_id) => (6, Target::Group { group_id: &groups[g].0, access_id }),
                On::Azure(s, role) => {
                    let scope = scopes[s].0.as_str();
                    let role_definition_id =
                        format!("{scope}/providers/Microsoft.Authorization/roleDefinitions/{}", ARM_ROLES[role].0);
                    self.arm_roles.insert(
                        role_definition_id.to_ascii_lowercase(),
                        (ARM_ROLES[role].1.to_string(), "BuiltInRole".to_string()),
                    );
                    (8, Target::AzureRole { scope, role_definition_id })
                }
            };
            let new = NewRequest {
                id: stable_guid(kind, row.n),
                principal_id: &principal,
                justification: Some(row.why),
                ticket: row.ticket,
                created: ago(row.minutes_ago),
                duration: Some(row.duration),
                approvers,
            };
            self.add_pending(target, new);
        }
        let lynne = self.user_id("LynneR");
        let granted = self.demo_request(3, 102);
        granted.status = "Granted".into();
        granted.steps[0].status = "Completed".into();
        granted.steps[0].review_result = "Approved".into();
        granted.steps[0].reviewed_by = Some(lynne);
        let later = self.demo_request(3, 2);
        later.expiration_type = "afterDateTime".into();
        later.start = Some(SystemTime::now() + Duration::from_secs(3600));
        later.end = Some(SystemTime::now() + Duration::from_secs(5 * 3600));
        later.duration = None;
        self.demo_request(8, 2).status = "PendingApprovalProvisioning".into();
    }

    /// The demo request `stable_guid(kind, n)`.
    fn demo_request(&mut self, kind: u64, n: u64) -> &mut Request {
        let i = self.find(&stable_guid(kind, n)).expect("a request of the demo table");
        &mut self.requests[i]
    }

    fn add_bulk(&mut self, n: usize) {
        let me = self.default_approver.clone();
        let requesters: Vec<String> = (1..PEOPLE.len()).map(|i| stable_guid(2, i as u64)).collect();
        for i in 0..n {
            let principal = requesters[i % requesters.len()].clone();
            let role_id = ROLES[i % ROLES.len()].0;
            let (why, ticket) = (format!("Change window task {}", i + 1), format!("CHG{:07}", i + 1));
            let new = NewRequest {
                id: stable_guid(4, i as u64),
                principal_id: &principal,
                justification: Some(&why),
                ticket: Some(("ServiceNow", &ticket)),
                created: ago((i % 600) as u64),
                duration: Some("PT1H"),
                approvers: vec![me.clone()],
            };
            self.add_pending(Target::DirectoryRole { role_id, scope: "/" }, new);
        }
    }
}

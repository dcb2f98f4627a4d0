//! Forms: where Microsoft's published sources disagree or say nothing, the emulator can answer in
//! each published (or plausible) form, chosen by `--form KEY=VALUE` at start and by
//! `POST /_emulator/forms {"KEY": "VALUE", ...}` at run time (`GET /_emulator/forms` reads them).
//! Where the sources agree there is no form: the emulator answers as they show.
//!
//! Every key, its default and its sources are in [`HELP`] (the `--form` help text) and in
//! `docs/service-fidelity.md` ("Forms").

use std::time::Duration;

use serde_json::{Map, Value, json};

/// The `--form` help text: every key, its values (the default first) and why.
pub const HELP: &str = "\
Answer in one of the published forms where Microsoft's sources disagree or are silent; KEY=VALUE, \
repeatable (also POST /_emulator/forms {\"KEY\": \"VALUE\"} at run time; GET /_emulator/forms reads them). \
The default is first:
  group.stageId=approvalId|own           PIM for Groups: a stage's id is the approval's id (the one published \
approver example) or an id of its own
  group.waitingStatus=Completed|InProgress   status of a group stage that waits on its approver (published \
example: Completed with reviewResult NotReviewed)
  group.betaCollection=steps|stages      property holding a beta group approval's stages (resource page: steps; \
the approver example: stages)
  beta.reviewedBy=collection|identity    beta approvalStep.reviewedBy: a userIdentity collection (resource page) \
or one identity (old beta SDK); v1.0 is always one identity
  arm.stageName=distinct|equal           ARM stage `name` differs from its id's last segment (spec example) or \
equals it
  arm.decisionMethod=any|PATCH|PUT       the method an ARM decision is accepted with (others: 405)
  arm.decisionBody=any|topLevel|properties   the ARM decision body accepted: {reviewResult} or \
{properties: {reviewResult}} (the other: 400)
  arm.decisionAnswer=stage|empty         a decided ARM stage answers 200 with the stage (spec) or 200 with an \
empty body (Entra how-to)
  roles.expandOnFunction=accepted|refused    $expand on directory roles' filterByCurrentUser (refused: 400)
  roles.topOnFunction=accepted|refused   $top on directory roles' filterByCurrentUser (refused: 400)
  groups.expandOnFunction=accepted|refused   $expand on groups' filterByCurrentUser (refused: 400)
  groups.topOnFunction=accepted|refused  $top on groups' filterByCurrentUser (refused: 400)
  selfApproval=400:SelfApprovalNotAllowed    STATUS:CODE of a refused self-approval on Graph (no source \
publishes one), e.g. 403:Authorization_RequestDenied, 403:Forbidden, 400:BadRequest
  arm.selfApproval=400:SelfApprovalNotAllowed   the same on ARM, e.g. 403:AuthorizationFailed
  expiry.requestStatus=TimedOut          the status an expired request shows (ARM's enum has TimedOut; Graph \
publishes none), e.g. Canceled, Expired, Denied
  expiry.decision=409:Conflict           STATUS:CODE of a decision on an expired approval on Graph, e.g. \
400:BadRequest, 404:NotFound
  arm.expiry.decision=409:Conflict       the same on ARM
  replication=off|reads:K|ms:N           a new approval answers 404 on its first K reads and decisions, or for \
N ms after it was created (or the mode set)";

/// Who may see a new approval yet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Replication {
    #[default]
    Off,
    /// The first K reads or decisions of each new approval answer 404.
    Reads(u32),
    /// 404 for this long after the approval was created (or the mode set).
    For(Duration),
}

/// A refusal's status and error code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorForm {
    pub status: u16,
    pub code: String,
}

/// The forms in effect.
#[derive(Clone, Debug)]
pub struct Forms {
    pub group_stage_id_is_approval_id: bool,
    pub group_waiting_status: String,
    pub group_beta_stages: bool,
    pub beta_reviewed_by_collection: bool,
    pub arm_stage_name_distinct: bool,
    /// `None`: any.
    pub arm_decision_method: Option<String>,
    /// `None`: any; `Some(true)`: wrapped in `properties`; `Some(false)`: top level.
    pub arm_decision_wrapped: Option<bool>,
    pub arm_decision_answer_empty: bool,
    pub roles_expand_refused: bool,
    pub roles_top_refused: bool,
    pub groups_expand_refused: bool,
    pub groups_top_refused: bool,
    pub self_approval: ErrorForm,
    pub arm_self_approval: ErrorForm,
    pub expiry_request_status: String,
    pub expiry_decision: ErrorForm,
    pub arm_expiry_decision: ErrorForm,
    pub replication: Replication,
}

impl Default for Forms {
    fn default() -> Self {
        Forms {
            group_stage_id_is_approval_id: true,
            group_waiting_status: "Completed".into(),
            group_beta_stages: false,
            beta_reviewed_by_collection: true,
            arm_stage_name_distinct: true,
            arm_decision_method: None,
            arm_decision_wrapped: None,
            arm_decision_answer_empty: false,
            roles_expand_refused: false,
            roles_top_refused: false,
            groups_expand_refused: false,
            groups_top_refused: false,
            self_approval: ErrorForm { status: 400, code: "SelfApprovalNotAllowed".into() },
            arm_self_approval: ErrorForm { status: 400, code: "SelfApprovalNotAllowed".into() },
            expiry_request_status: "TimedOut".into(),
            expiry_decision: ErrorForm { status: 409, code: "Conflict".into() },
            arm_expiry_decision: ErrorForm { status: 409, code: "Conflict".into() },
            replication: Replication::Off,
        }
    }
}

/// The keys, in the order `GET /_emulator/forms` lists them.
pub const KEYS: &[&str] = &[
    "group.stageId",
    "group.waitingStatus",
    "group.betaCollection",
    "beta.reviewedBy",
    "arm.stageName",
    "arm.decisionMethod",
    "arm.decisionBody",
    "arm.decisionAnswer",
    "roles.expandOnFunction",
    "roles.topOnFunction",
    "groups.expandOnFunction",
    "groups.topOnFunction",
    "selfApproval",
    "arm.selfApproval",
    "expiry.requestStatus",
    "expiry.decision",
    "arm.expiry.decision",
    "replication",
];

fn choice(key: &str, value: &str, choices: &[&str]) -> Result<usize, String> {
    choices
        .iter()
        .position(|c| c.eq_ignore_ascii_case(value))
        .ok_or_else(|| format!("form {key}: '{value}' is not one of {}", choices.join(", ")))
}

fn status_code(key: &str, value: &str) -> Result<ErrorForm, String> {
    let (status, code) = value.split_once(':').ok_or(format!("form {key}: '{value}' is not STATUS:CODE"))?;
    let status: u16 = status.trim().parse().map_err(|_| format!("form {key}: '{status}' is not a status"))?;
    if !(400..500).contains(&status) || [401, 408, 429].contains(&status) {
        return Err(format!("form {key}: {status} is not a refusal (a 4xx other than 401, 408 and 429)"));
    }
    let code = code.trim();
    if code.is_empty() || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
        return Err(format!("form {key}: '{code}' is not an error code"));
    }
    Ok(ErrorForm { status, code: code.to_string() })
}

impl Forms {
    /// Sets one key from its text, as `--form KEY=VALUE` gives it.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let v = value.trim();
        let accepted = ["accepted", "refused"];
        match key {
            "group.stageId" => self.group_stage_id_is_approval_id = choice(key, v, &["approvalId", "own"])? == 0,
            "group.waitingStatus" => {
                let i = choice(key, v, &["Completed", "InProgress"])?;
                self.group_waiting_status = ["Completed", "InProgress"][i].into();
            }
            "group.betaCollection" => self.group_beta_stages = choice(key, v, &["steps", "stages"])? == 1,
            "beta.reviewedBy" => self.beta_reviewed_by_collection = choice(key, v, &["collection", "identity"])? == 0,
            "arm.stageName" => self.arm_stage_name_distinct = choice(key, v, &["distinct", "equal"])? == 0,
            "arm.decisionMethod" => {
                self.arm_decision_method = match choice(key, v, &["any", "PATCH", "PUT"])? {
                    0 => None,
                    1 => Some("PATCH".into()),
                    _ => Some("PUT".into()),
                }
            }
            "arm.decisionBody" => {
                self.arm_decision_wrapped = match choice(key, v, &["any", "topLevel", "properties"])? {
                    0 => None,
                    1 => Some(false),
                    _ => Some(true),
                }
            }
            "arm.decisionAnswer" => self.arm_decision_answer_empty = choice(key, v, &["stage", "empty"])? == 1,
            "roles.expandOnFunction" => self.roles_expand_refused = choice(key, v, &accepted)? == 1,
            "roles.topOnFunction" => self.roles_top_refused = choice(key, v, &accepted)? == 1,
            "groups.expandOnFunction" => self.groups_expand_refused = choice(key, v, &accepted)? == 1,
            "groups.topOnFunction" => self.groups_top_refused = choice(key, v, &accepted)? == 1,
            "selfApproval" => self.self_approval = status_code(key, v)?,
            "arm.selfApproval" => self.arm_self_approval = status_code(key, v)?,
            "expiry.requestStatus" => {
                if v.is_empty() || !v.chars().all(|c| c.is_ascii_alphabetic()) {
                    return Err(format!("form {key}: '{v}' is not a status name"));
                }
                if ["PendingApproval", "PendingApprovalProvisioning", "PendingAdminDecision"]
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(v))
                {
                    return Err(format!("form {key}: '{v}' is a pending status; an expired request no longer waits"));
                }
                self.expiry_request_status = v.to_string();
            }
            "expiry.decision" => self.expiry_decision = status_code(key, v)?,
            "arm.expiry.decision" => self.arm_expiry_decision = status_code(key, v)?,
            "replication" => self.replication = replication(v)?,
            other => return Err(format!("unknown form '{other}'; the forms are {}", KEYS.join(", "))),
        }
        Ok(())
    }

    /// Sets `KEY=VALUE`.
    pub fn set_pair(&mut self, pair: &str) -> Result<(), String> {
        let (k, v) = pair.split_once('=').ok_or(format!("form '{pair}' is not KEY=VALUE"))?;
        self.set(k.trim(), v)
    }

    /// Applies `{"KEY": "VALUE", ...}` (and `"reset": true` first, to go back to the defaults),
    /// all or nothing.
    pub fn apply(&self, body: &Value) -> Result<Forms, String> {
        let obj = body.as_object().ok_or("send a JSON object {\"KEY\": \"VALUE\", ...}")?;
        let mut next =
            if obj.get("reset").and_then(Value::as_bool) == Some(true) { Forms::default() } else { self.clone() };
        for (k, v) in obj {
            if k == "reset" {
                continue;
            }
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return Err(format!("form {k}: the value must be a string")),
            };
            next.set(k, &text)?;
        }
        Ok(next)
    }

    /// The value of a key as text.
    pub fn get(&self, key: &str) -> String {
        let sc = |s: &ErrorForm| format!("{}:{}", s.status, s.code);
        let ar = |refused: bool| if refused { "refused" } else { "accepted" }.to_string();
        match key {
            "group.stageId" => if self.group_stage_id_is_approval_id { "approvalId" } else { "own" }.into(),
            "group.waitingStatus" => self.group_waiting_status.clone(),
            "group.betaCollection" => if self.group_beta_stages { "stages" } else { "steps" }.into(),
            "beta.reviewedBy" => if self.beta_reviewed_by_collection { "collection" } else { "identity" }.into(),
            "arm.stageName" => if self.arm_stage_name_distinct { "distinct" } else { "equal" }.into(),
            "arm.decisionMethod" => self.arm_decision_method.clone().unwrap_or_else(|| "any".into()),
            "arm.decisionBody" => match self.arm_decision_wrapped {
                None => "any",
                Some(false) => "topLevel",
                Some(true) => "properties",
            }
            .into(),
            "arm.decisionAnswer" => if self.arm_decision_answer_empty { "empty" } else { "stage" }.into(),
            "roles.expandOnFunction" => ar(self.roles_expand_refused),
            "roles.topOnFunction" => ar(self.roles_top_refused),
            "groups.expandOnFunction" => ar(self.groups_expand_refused),
            "groups.topOnFunction" => ar(self.groups_top_refused),
            "selfApproval" => sc(&self.self_approval),
            "arm.selfApproval" => sc(&self.arm_self_approval),
            "expiry.requestStatus" => self.expiry_request_status.clone(),
            "expiry.decision" => sc(&self.expiry_decision),
            "arm.expiry.decision" => sc(&self.arm_expiry_decision),
            "replication" => match self.replication {
                Replication::Off => "off".into(),
                Replication::Reads(k) => format!("reads:{k}"),
                Replication::For(d) => format!("ms:{}", d.as_millis()),
            },
            _ => String::new(),
        }
    }

    /// Every key and its value, as `GET /_emulator/forms` answers.
    pub fn describe(&self) -> Value {
        let mut m = Map::new();
        for k in KEYS {
            m.insert((*k).to_string(), json!(self.get(k)));
        }
        Value::Object(m)
    }
}

fn replication(v: &str) -> Result<Replication, String> {
    if v.eq_ignore_ascii_case("off") {
        return Ok(Replication::Off);
    }
    let bad = || format!("form replication: '{v}' is not off, reads:K or ms:N");
    let (kind, n) = v.split_once(':').ok_or_else(bad)?;
    let n: u64 = n.trim().parse().map_err(|_| bad())?;
    match kind.trim() {
        "reads" => Ok(Replication::Reads(u32::try_from(n).map_err(|_| bad())?)),
        "ms" => Ok(Replication::For(Duration::from_millis(n.min(3_600_000)))),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_round_trips_and_bad_values_are_refused() {
        let f = Forms::default();
        for k in KEYS {
            let mut g = Forms::default();
            g.set(k, &f.get(k)).unwrap_or_else(|e| panic!("{k}: {e}"));
            assert_eq!(g.get(k), f.get(k));
        }
        let mut g = Forms::default();
        g.set_pair("selfApproval=403:Authorization_RequestDenied").unwrap();
        assert_eq!(g.self_approval, ErrorForm { status: 403, code: "Authorization_RequestDenied".into() });
        g.set_pair("replication=reads:3").unwrap();
        assert_eq!(g.replication, Replication::Reads(3));
        g.set_pair("arm.decisionBody=properties").unwrap();
        assert_eq!(g.get("arm.decisionBody"), "properties");
        for bad in ["selfApproval=200:Ok", "selfApproval=403", "group.stageId=maybe", "nope=1", "replication=soon", "x"]
        {
            assert!(g.clone().set_pair(bad).is_err(), "{bad}");
        }
        assert!(g.apply(&json!({"reset": true})).unwrap().replication == Replication::Off);
        assert!(g.apply(&json!({"group.stageId": "own", "bogus": "x"})).is_err(), "all or nothing");
    }
}

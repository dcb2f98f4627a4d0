//! The unattended approver's rules: a policy of ordered rules, each with conditions, an action
//! (`Approve`, `Deny`, `Skip`) and a justification template. The first rule whose conditions all
//! hold decides; no match means Skip (a person decides); a request of the approver themself is
//! never decided by a rule. `docs/policy.md` is the user's guide to the document.
//!
//! - [`Policy::from_json`] reads and checks a document (`{"Rules": [...]}`, keys exactly as
//!   documented, values matched in any case); every problem names the rule and the key.
//! - [`Policy::evaluate`] decides one request ([`RequestFacts`], the model's `PendingRequest` as
//!   JSON) in a [`Context`] (who the approver is, and when "now" is), and says why: every
//!   condition of every rule tried, held or failed.
//!
//! Nothing here sends anything: the caller turns an [`Evaluation`] into a decision.

mod condition;
mod load;
mod pattern;
mod request;
mod template;
mod window;
mod windows_zones;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{ErrorKind, PimError, Result};
use crate::model::Surface;
use crate::validate::Justification;
use condition::Condition;
use template::Template;

pub use load::PolicyProblem;
pub use request::RequestFacts;

/// What a rule does with a request it matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Action {
    Approve,
    Deny,
    /// Leave it to a person.
    Skip,
}

impl Action {
    /// `Approve`, `Deny` or `Skip`, in any case.
    pub fn parse(s: &str) -> Option<Action> {
        [Action::Approve, Action::Deny, Action::Skip].into_iter().find(|a| a.name().eq_ignore_ascii_case(s.trim()))
    }

    pub fn name(self) -> &'static str {
        match self {
            Action::Approve => "Approve",
            Action::Deny => "Deny",
            Action::Skip => "Skip",
        }
    }
}

/// One rule, checked at load.
#[derive(Clone, Debug)]
pub(crate) struct Rule {
    name: String,
    action: Action,
    justification: Option<Template>,
    /// In the order of `condition::CONDITION_KEYS`.
    conditions: Vec<Condition>,
}

/// A loaded policy: immutable, cheap to share between threads.
#[derive(Clone, Debug)]
pub struct Policy {
    rules: Vec<Rule>,
}

/// Who evaluates, and when.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Context {
    /// The approver's object id (the token's `oid`): their own requests are never decided.
    pub caller_id: String,
    /// The moment windows and ages are measured at; the current time when not given.
    #[serde(default = "Timestamp::now")]
    pub now: Timestamp,
}

impl Context {
    pub fn new(caller_id: impl Into<String>, now: Timestamp) -> Context {
        Context { caller_id: caller_id.into(), now }
    }

    /// `{"callerId": "<oid>", "now": "2026-05-04T09:30:00Z"}`; `now` may be left out.
    pub fn from_json(json: &str) -> Result<Context> {
        let c: Context = serde_json::from_str(json).map_err(|e| {
            PimError::new(ErrorKind::InvalidInput, format!("The evaluation context must be {{\"callerId\": \"<object id>\", \"now\": \"<RFC 3339 time>\"}}: {e}."))
        })?;
        if c.caller_id.trim().is_empty() {
            return Err(PimError::new(ErrorKind::InvalidInput, "The evaluation context's callerId is empty."));
        }
        Ok(c)
    }
}

/// Why a rule matched or not: one condition of one rule, held or failed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reason {
    /// The rule's name.
    pub rule: String,
    /// The condition's key (`Role`, `Window`, ...), or `OwnRequest` / `Justification` when a
    /// matched rule could not act.
    pub condition: String,
    pub held: bool,
    /// In words, for a person: "role 'Member' matches 'Member'".
    pub detail: String,
}

/// What a policy says about one request.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Evaluation {
    pub approval_id: String,
    pub surface: Option<Surface>,
    pub principal_id: Option<String>,
    /// The rule that matched, or `None` when none did.
    pub rule: Option<String>,
    /// What to do: `Approve` or `Deny` (send it, with `justification`), or `Skip` (a person decides).
    pub action: Action,
    /// The rendered text to send; `None` for Skip.
    pub justification: Option<String>,
    /// One sentence for a default view.
    pub summary: String,
    /// Every condition checked, rule by rule, in order.
    pub reasons: Vec<Reason>,
}

/// The error a refused document gives: every problem, one per line, after the source's name.
pub fn problems_error(source: Option<&str>, problems: &[PolicyProblem]) -> PimError {
    let source = source.filter(|s| !s.trim().is_empty()).map_or("The policy".to_string(), |s| format!("Policy '{s}'"));
    let message = match problems {
        [one] => format!("{source}: {one}."),
        many => {
            let lines: Vec<String> = many.iter().map(|p| format!("  {p}.")).collect();
            format!("{source} has {} problems:\n{}", many.len(), lines.join("\n"))
        }
    };
    PimError::new(ErrorKind::InvalidPolicy, message)
}

impl Policy {
    /// Reads and checks a document. `force` lets a rule approve every request. The problems, if
    /// any, each name the rule (position, name) and the key.
    pub fn parse(json: &str, force: bool) -> std::result::Result<Policy, Vec<PolicyProblem>> {
        load::load(json, force).map(|rules| Policy { rules })
    }

    /// As [`Policy::parse`], with the problems as one `InvalidPolicy` error whose message starts
    /// with `source` (the file's name, when there is one).
    pub fn from_json(json: &str, source: Option<&str>, force: bool) -> Result<Policy> {
        Policy::parse(json, force).map_err(|p| problems_error(source, &p))
    }

    /// The rules' names, in order.
    pub fn rule_names(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.name.as_str())
    }

    /// Decides one request: the first rule whose conditions all hold, Skip when none does, and
    /// Skip when the request is the caller's own (or names no requester) or the rendered
    /// justification could not be sent.
    pub fn evaluate(&self, request: &RequestFacts, context: &Context) -> Evaluation {
        let mut reasons = Vec::new();
        let matched = self.rules.iter().find(|rule| {
            let mut all = true;
            for c in &rule.conditions {
                let (held, detail) = c.check(request, context.now);
                reasons.push(Reason { rule: rule.name.clone(), condition: c.key().into(), held, detail });
                all &= held;
            }
            all
        });
        let mut e = Evaluation {
            approval_id: request.approval_id.clone(),
            surface: request.surface,
            principal_id: request.principal_id.clone(),
            rule: matched.map(|r| r.name.clone()),
            action: Action::Skip,
            justification: None,
            summary: format!("No rule matched ({} tried): a person decides.", self.rules.len()),
            reasons,
        };
        let Some(rule) = matched else { return e };
        let mut refuse = |condition: &str, detail: String, summary: String| {
            e.reasons.push(Reason { rule: rule.name.clone(), condition: condition.into(), held: false, detail });
            e.summary = summary;
        };
        if rule.action == Action::Skip {
            e.summary = format!("Rule '{}' matched: Skip, a person decides.", rule.name);
            return e;
        }
        let own = match request::given(&request.principal_id) {
            Some(p) => p.trim().eq_ignore_ascii_case(context.caller_id.trim()),
            None => true,
        };
        if own {
            let detail = if request::given(&request.principal_id).is_some() {
                "the request is the approver's own (its principal is the caller)"
            } else {
                "the request names no principal, so it may be the approver's own"
            };
            let verb = rule.action.name();
            refuse(
                "OwnRequest",
                detail.into(),
                format!("Rule '{}' would {verb}, but {detail}: a person decides.", rule.name),
            );
            return e;
        }
        let text = rule.justification.as_ref().map(|t| t.render(&rule.name, request)).unwrap_or_default();
        if let Err(err) = Justification::parse(&text) {
            refuse(
                "Justification",
                err.message.clone(),
                format!("Rule '{}' matched, but its justification cannot be sent: a person decides.", rule.name),
            );
            return e;
        }
        e.action = rule.action;
        e.justification = Some(text);
        e.summary = if rule.conditions.is_empty() {
            format!("Rule '{}' (no conditions) matched: {}.", rule.name, rule.action.name())
        } else {
            format!("Rule '{}' matched, every condition held: {}.", rule.name, rule.action.name())
        };
        e
    }

    /// [`Policy::evaluate`] over JSON: `requests_json` is one request object or an array of
    /// them (the model's `PendingRequest` shape); `context_json` as [`Context::from_json`].
    /// Returns a JSON array of [`Evaluation`]s, in the requests' order.
    pub fn evaluate_json(&self, requests_json: &str, context_json: &str) -> Result<String> {
        let context = Context::from_json(context_json)?;
        let requests = RequestFacts::list_from_json(requests_json).map_err(|e| {
            PimError::new(ErrorKind::InvalidInput, format!("The requests must be pending requests as JSON: {e}."))
        })?;
        let all: Vec<Evaluation> = requests.iter().map(|r| self.evaluate(r, &context)).collect();
        serde_json::to_string(&all).map_err(|e| PimError::new(ErrorKind::InvalidInput, e.to_string()))
    }
}

//! Reading a policy document: `{"Rules": [ {rule}, ... ]}`. Every problem is collected, each
//! naming the rule (position and name) and the key, so one load shows them all.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::condition::{CONDITION_KEYS, Condition};
use super::template::Template;
use super::{Action, Rule};
use crate::validate::MAX_JUSTIFICATION_CHARS;

/// Keys of a rule besides its conditions.
pub(crate) const RULE_KEYS: [&str; 3] = ["Name", "Action", "Justification"];
const MAX_NAME_CHARS: usize = 200;
const MAX_PROBLEMS: usize = 50;

/// One thing wrong with a policy document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyProblem {
    /// The rule's position, from 1; `None` for the document as a whole.
    pub rule: Option<usize>,
    /// The rule's name, when it has a usable one.
    pub rule_name: Option<String>,
    /// The key at fault (`Window.TimeZone` inside a window), when one is.
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for PolicyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.rule, &self.rule_name) {
            (Some(i), Some(n)) => write!(f, "rule {i} ('{n}')")?,
            (Some(i), None) => write!(f, "rule {i}")?,
            _ => write!(f, "document")?,
        }
        if let Some(k) = &self.key {
            write!(f, ", key '{k}'")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// JSON's name for a value's type, for messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Reads the document; every problem found, or the rules.
pub(crate) fn load(json: &str, force: bool) -> Result<Vec<Rule>, Vec<PolicyProblem>> {
    let doc_problem = |key: Option<&str>, message: String| PolicyProblem {
        rule: None,
        rule_name: None,
        key: key.map(str::to_string),
        message,
    };
    let doc: Value =
        serde_json::from_str(json).map_err(|e| vec![doc_problem(None, format!("it does not parse as JSON: {e}"))])?;
    if let Some(path) = duplicate_key(json) {
        let (rule, key) = split_path(&path);
        let rule_name = rule.and_then(|i| rule_values(&doc).get(i - 1)?.get("Name")?.as_str().map(str::to_string));
        return Err(vec![PolicyProblem { rule, rule_name, key: Some(key), message: "the key is given twice".into() }]);
    }
    let Value::Object(top) = &doc else {
        return Err(vec![doc_problem(
            None,
            format!("it must be an object with a Rules list, not {}", type_name(&doc)),
        )]);
    };
    let mut problems = Vec::new();
    for k in top.keys().filter(|k| *k != "Rules") {
        problems.push(doc_problem(Some(k), unknown_key(k, &["Rules"])));
    }
    let rules = match top.get("Rules") {
        None => {
            problems.push(doc_problem(Some("Rules"), "the document has no Rules".into()));
            Vec::new()
        }
        Some(Value::Array(_) | Value::Object(_)) => rule_values(&doc),
        Some(other) => {
            problems.push(doc_problem(Some("Rules"), format!("must be a list of rules, not {}", type_name(other))));
            Vec::new()
        }
    };
    let mut loaded = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for (i, v) in rules.iter().enumerate() {
        match rule(i + 1, v, force) {
            Ok(r) => {
                if let Some(first) = names.iter().position(|n| n.eq_ignore_ascii_case(&r.name)) {
                    problems.push(PolicyProblem {
                        rule: Some(i + 1),
                        rule_name: Some(r.name.clone()),
                        key: Some("Name".into()),
                        message: format!("rule {} has the same name (names are compared in any case)", first + 1),
                    });
                }
                names.push(r.name.clone());
                loaded.push(r);
            }
            Err(mut p) => {
                names.push(String::new());
                problems.append(&mut p);
            }
        }
    }
    if problems.is_empty() {
        Ok(loaded)
    } else {
        problems.truncate(MAX_PROBLEMS);
        Err(problems)
    }
}

/// `Rules` as a list: one rule object alone counts as a list of one.
fn rule_values(doc: &Value) -> Vec<Value> {
    match doc.get("Rules") {
        Some(Value::Array(items)) => items.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => Vec::new(),
    }
}

fn rule(index: usize, v: &Value, force: bool) -> Result<Rule, Vec<PolicyProblem>> {
    let name = v.get("Name").and_then(Value::as_str).map(str::trim).filter(|n| !n.is_empty());
    let problem = |key: Option<&str>, message: String| PolicyProblem {
        rule: Some(index),
        rule_name: name.map(str::to_string),
        key: key.map(str::to_string),
        message,
    };
    let Value::Object(map) = v else {
        return Err(vec![problem(None, format!("a rule must be an object, not {}", type_name(v)))]);
    };
    let mut problems = Vec::new();
    let known: Vec<&str> = RULE_KEYS.iter().chain(CONDITION_KEYS.iter()).copied().collect();
    let mut conditions = Vec::new();
    for (k, value) in map {
        if !known.contains(&k.as_str()) {
            problems.push(problem(Some(k), unknown_key(k, &known)));
        } else if value.is_null() {
            problems.push(problem(Some(k), "is null: give a value or leave the key out".into()));
        } else if CONDITION_KEYS.contains(&k.as_str()) {
            match Condition::parse(k, value) {
                Ok(c) => conditions.push(c),
                Err(m) => {
                    let key = m.strip_prefix("Window.").and_then(|rest| rest.split([' ', ':']).next());
                    let key = key.map_or(k.clone(), |inner| format!("Window.{inner}"));
                    problems.push(problem(Some(&key), m));
                }
            }
        }
    }
    conditions.sort_by_key(Condition::order);
    match map.get("Name") {
        None => problems.push(problem(Some("Name"), "every rule needs a Name".into())),
        Some(Value::String(n)) if n.trim().is_empty() => {
            problems.push(problem(Some("Name"), "the name is empty".into()))
        }
        Some(Value::String(n)) if n.chars().count() > MAX_NAME_CHARS => {
            problems.push(problem(Some("Name"), format!("the name is longer than {MAX_NAME_CHARS} characters")))
        }
        Some(Value::String(_)) | Some(Value::Null) => {}
        Some(other) => problems.push(problem(Some("Name"), format!("must be a string, not {}", type_name(other)))),
    }
    let action = match map.get("Action") {
        None => {
            problems.push(problem(Some("Action"), "every rule needs an Action: Approve, Deny or Skip".into()));
            None
        }
        Some(Value::String(a)) => {
            let action = Action::parse(a);
            if action.is_none() {
                problems.push(problem(Some("Action"), format!("'{a}' is not an action: Approve, Deny or Skip")));
            }
            action
        }
        Some(Value::Null) => None,
        Some(other) => {
            problems.push(problem(Some("Action"), format!("must be Approve, Deny or Skip, not {}", type_name(other))));
            None
        }
    };
    let justification = match map.get("Justification") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) if t.chars().count() > MAX_JUSTIFICATION_CHARS => {
            problems.push(problem(
                Some("Justification"),
                format!("the template is longer than {MAX_JUSTIFICATION_CHARS} characters"),
            ));
            None
        }
        Some(Value::String(t)) => Template::parse(t).map_err(|m| problems.push(problem(Some("Justification"), m))).ok(),
        Some(other) => {
            problems.push(problem(Some("Justification"), format!("must be a string, not {}", type_name(other))));
            None
        }
    };
    if matches!(action, Some(Action::Approve | Action::Deny)) && !map.contains_key("Justification") {
        problems.push(problem(
            Some("Justification"),
            "an Approve or Deny rule needs a Justification: the text sent with the decision".into(),
        ));
    }
    if action == Some(Action::Approve) && !force && conditions.iter().all(Condition::is_catch_all) {
        problems.push(problem(
            None,
            "this rule would approve every request (it has no condition that narrows it); \
             add a condition, or load the policy with -Force"
                .into(),
        ));
    }
    match (problems.is_empty(), name, action) {
        (true, Some(name), Some(action)) => Ok(Rule { name: name.to_string(), action, justification, conditions }),
        _ => Err(problems),
    }
}

/// The message for a key that is not known, with a hint when only its case is wrong.
fn unknown_key(k: &str, known: &[&str]) -> String {
    match known.iter().find(|n| n.eq_ignore_ascii_case(k)) {
        Some(right) => format!("'{k}' is not a key; keys are written exactly: did you mean '{right}'?"),
        None => format!("'{k}' is not a key (known: {})", known.join(", ")),
    }
}

/// `Rules[1].Role` -> (Some(2), "Role"); `Rules` -> (None, "Rules").
fn split_path(path: &str) -> (Option<usize>, String) {
    let rule = path.strip_prefix("Rules[").and_then(|rest| rest.split_once("]."));
    match rule.and_then(|(n, key)| Some((n.parse::<usize>().ok()?, key))) {
        Some((i, key)) => (Some(i + 1), key.to_string()),
        None => (None, path.to_string()),
    }
}

/// The path of the first key given twice in one object (serde_json keeps only the last).
fn duplicate_key(json: &str) -> Option<String> {
    let found = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_str(json);
    Dups { path: String::new(), found: &found }.deserialize(&mut de).ok()?;
    found.into_inner()
}

struct Dups<'a> {
    path: String,
    found: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for Dups<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Dups<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        while seq.next_element_seed(Dups { path: format!("{}[{i}]", self.path), found: self.found })?.is_some() {
            i += 1;
        }
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(k) = map.next_key::<String>()? {
            let path = if self.path.is_empty() { k.clone() } else { format!("{}.{k}", self.path) };
            if !seen.insert(k) && self.found.borrow().is_none() {
                *self.found.borrow_mut() = Some(path.clone());
            }
            map.next_value_seed(Dups { path, found: self.found })?;
        }
        Ok(())
    }
}

//! The conditions a rule may hold, how each is read from the policy document, and how each is
//! checked against a request, with a sentence saying why it held or failed.

use jiff::Timestamp;
use serde_json::Value;

use super::load::type_name;
use super::pattern::{Pattern, ScopePattern, Wildcard};
use super::request::{RequestFacts, given};
use super::window::Window;
use crate::model::Surface;
use crate::time::iso8601_seconds;

/// The condition keys, in the order a rule's conditions are checked and reported.
pub(crate) const CONDITION_KEYS: [&str; 12] = [
    "Surface",
    "Role",
    "Scope",
    "Principal",
    "RequestJustification",
    "TicketSystem",
    "TicketNumber",
    "TicketRequired",
    "MaxDuration",
    "Window",
    "RequestedWithin",
    "OlderThan",
];

/// An ISO 8601 duration as written, and its length.
#[derive(Clone, Debug)]
pub(crate) struct Duration {
    text: String,
    secs: f64,
}

#[derive(Clone, Debug)]
pub(crate) enum Condition {
    Surface(Vec<Surface>),
    Role(Vec<Wildcard>),
    Scope(Vec<ScopePattern>),
    Principal(Vec<Wildcard>),
    RequestJustification(Vec<Pattern>),
    TicketSystem(Vec<Pattern>),
    TicketNumber(Vec<Pattern>),
    TicketRequired(bool),
    MaxDuration(Duration),
    Window(Vec<Window>),
    RequestedWithin(Duration),
    OlderThan(Duration),
}

impl Condition {
    /// Reads the condition `key` (one of [`CONDITION_KEYS`]); the error says what is wrong with
    /// its value.
    pub(crate) fn parse(key: &str, v: &Value) -> Result<Condition, String> {
        Ok(match key {
            "Surface" => Condition::Surface(
                strings(v)?
                    .iter()
                    .map(|s| {
                        Surface::from_name(s)
                            .ok_or_else(|| format!("'{s}' is not a surface (DirectoryRole, Group, AzureResource)"))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            "Role" => Condition::Role(strings(v)?.iter().map(|s| Wildcard::new(s)).collect()),
            "Scope" => Condition::Scope(strings(v)?.iter().map(|s| ScopePattern::new(s)).collect()),
            "Principal" => Condition::Principal(strings(v)?.iter().map(|s| Wildcard::new(s)).collect()),
            "RequestJustification" => Condition::RequestJustification(patterns(v)?),
            "TicketSystem" => Condition::TicketSystem(patterns(v)?),
            "TicketNumber" => Condition::TicketNumber(patterns(v)?),
            "TicketRequired" => match v {
                Value::Bool(b) => Condition::TicketRequired(*b),
                _ => return Err(format!("must be $true or $false (a JSON boolean), not {}", type_name(v))),
            },
            "MaxDuration" => Condition::MaxDuration(duration(v)?),
            "Window" => Condition::Window(match v {
                Value::Array(items) if !items.is_empty() => {
                    items.iter().map(Window::parse).collect::<Result<_, _>>()?
                }
                Value::Array(_) => return Err("an empty list matches nothing".into()),
                one => vec![Window::parse(one)?],
            }),
            "RequestedWithin" => Condition::RequestedWithin(duration(v)?),
            "OlderThan" => Condition::OlderThan(duration(v)?),
            _ => return Err(format!("'{key}' is not a condition")),
        })
    }

    /// The key this condition was written under.
    pub(crate) fn key(&self) -> &'static str {
        CONDITION_KEYS[self.order()]
    }

    pub(crate) fn order(&self) -> usize {
        match self {
            Condition::Surface(_) => 0,
            Condition::Role(_) => 1,
            Condition::Scope(_) => 2,
            Condition::Principal(_) => 3,
            Condition::RequestJustification(_) => 4,
            Condition::TicketSystem(_) => 5,
            Condition::TicketNumber(_) => 6,
            Condition::TicketRequired(_) => 7,
            Condition::MaxDuration(_) => 8,
            Condition::Window(_) => 9,
            Condition::RequestedWithin(_) => 10,
            Condition::OlderThan(_) => 11,
        }
    }

    /// Whether the condition holds for every request (so it does not narrow an Approve rule).
    pub(crate) fn is_catch_all(&self) -> bool {
        match self {
            Condition::Surface(list) => Surface::ALL.iter().all(|s| list.contains(s)),
            Condition::Role(list) | Condition::Principal(list) => list.iter().any(Wildcard::is_catch_all),
            Condition::Scope(list) => list.iter().any(|s| s.wildcard.is_catch_all()),
            Condition::RequestJustification(list) | Condition::TicketSystem(list) | Condition::TicketNumber(list) => {
                list.iter().any(Pattern::is_catch_all)
            }
            Condition::TicketRequired(required) => !required,
            Condition::Window(list) => list.iter().any(Window::is_always),
            Condition::MaxDuration(_) | Condition::RequestedWithin(_) | Condition::OlderThan(_) => false,
        }
    }

    /// Whether the condition holds for `r` at `now`, and why, in words.
    pub(crate) fn check(&self, r: &RequestFacts, now: Timestamp) -> (bool, String) {
        match self {
            Condition::Surface(list) => match r.surface {
                Some(s) if list.contains(&s) => (true, format!("surface {} is {}", s.name(), names(list))),
                Some(s) => (false, format!("surface {} is not {}", s.name(), names(list))),
                None => (false, "the request names no surface".into()),
            },
            Condition::Role(list) => wildcards("role", list, &r.role_values(), |w, v| w.matches(v), |w| &w.text),
            Condition::Principal(list) => {
                wildcards("principal", list, &r.principal_values(), |w, v| w.matches(v), |w| &w.text)
            }
            Condition::Scope(list) => {
                wildcards("scope", list, &r.scope_values(), |s, v| s.matches(v), |s| &s.wildcard.text)
            }
            Condition::RequestJustification(list) => regexes("request justification", list, &r.justification),
            Condition::TicketSystem(list) => regexes("ticket system", list, &r.ticket_system),
            Condition::TicketNumber(list) => regexes("ticket number", list, &r.ticket_number),
            Condition::TicketRequired(false) => (true, "no ticket is required".into()),
            Condition::TicketRequired(true) => match given(&r.ticket_number) {
                Some(n) => (true, format!("ticket number {} is given", quote(n))),
                None => (false, "no ticket number is given".into()),
            },
            Condition::MaxDuration(max) => match r.duration_secs() {
                Some(s) if s <= max.secs => (true, format!("duration {} is within {}", iso(s), max.text)),
                Some(s) => (false, format!("duration {} is longer than {}", iso(s), max.text)),
                None => {
                    (false, format!("the request has no end (permanent or open-ended), so it exceeds {}", max.text))
                }
            },
            Condition::Window(list) => {
                let mut seen = Vec::new();
                for w in list {
                    let (held, local) = w.check(now);
                    if held {
                        return (true, format!("now ({local}) is within {}", w.text));
                    }
                    seen.push((local, &w.text));
                }
                let outside: Vec<String> = seen.iter().map(|(l, t)| format!("{l} is outside {t}")).collect();
                (false, format!("now: {}", outside.join("; ")))
            }
            Condition::RequestedWithin(d) => match age(r, now) {
                Some(a) if a <= d.secs => (true, format!("requested {} ago, within {}", iso(a), d.text)),
                Some(a) => (false, format!("requested {} ago, longer ago than {}", iso(a), d.text)),
                None => (false, "the request has no creation time".into()),
            },
            Condition::OlderThan(d) => match age(r, now) {
                Some(a) if a >= d.secs => (true, format!("requested {} ago, at least {}", iso(a), d.text)),
                Some(a) => (false, format!("requested {} ago, less than {}", iso(a), d.text)),
                None => (false, "the request has no creation time".into()),
            },
        }
    }
}

/// Seconds since the request was created (0 if its clock is ahead of ours).
fn age(r: &RequestFacts, now: Timestamp) -> Option<f64> {
    let created = r.created()?;
    Some(((now.as_millisecond() - created.as_millisecond()) as f64 / 1000.0).max(0.0))
}

/// A string, or a non-empty list of non-blank strings.
fn strings(v: &Value) -> Result<Vec<String>, String> {
    let one = |v: &Value| {
        match v {
        Value::String(s) if s.trim().is_empty() => Err("an empty value matches nothing".to_string()),
        Value::String(s) if s == "System.Collections.Hashtable" => Err(
            "is the text 'System.Collections.Hashtable': the document was converted to JSON too shallowly (ConvertTo-Json -Depth)".to_string(),
        ),
        Value::String(s) => Ok(s.trim().to_string()),
        other => Err(format!("must be a string or a list of strings, not {}", type_name(other))),
    }
    };
    match v {
        Value::Array(items) if items.is_empty() => Err("an empty list matches nothing".into()),
        Value::Array(items) => items.iter().map(one).collect(),
        other => Ok(vec![one(other)?]),
    }
}

fn patterns(v: &Value) -> Result<Vec<Pattern>, String> {
    let texts = match v {
        // A regular expression may be empty: it matches any text.
        Value::String(s) => vec![s.clone()],
        other => strings(other)?,
    };
    texts.iter().map(|t| Pattern::new(t)).collect()
}

fn duration(v: &Value) -> Result<Duration, String> {
    let Value::String(text) = v else {
        return Err(format!("must be an ISO 8601 duration such as PT4H, not {}", type_name(v)));
    };
    match iso8601_seconds(text) {
        Some(secs) if secs > 0.0 => Ok(Duration { text: text.trim().to_string(), secs }),
        Some(_) => Err(format!("'{text}' is zero; give a positive duration such as PT4H")),
        None => Err(format!(
            "'{text}' is not an ISO 8601 duration such as PT4H, PT30M, P1D or P1DT12H (years and months are not accepted)"
        )),
    }
}

fn names(list: &[Surface]) -> String {
    let n: Vec<&str> = list.iter().map(|s| s.name()).collect();
    if n.len() == 1 { n[0].to_string() } else { format!("one of {}", n.join(", ")) }
}

/// A value for a sentence: quoted, and cut at 80 characters.
fn quote(s: &str) -> String {
    let mut q: String = s.chars().take(80).collect();
    if s.chars().count() > 80 {
        q.push('…');
    }
    format!("'{q}'")
}

fn wildcards<P>(
    what: &str,
    list: &[P],
    values: &[&str],
    matches: impl Fn(&P, &str) -> bool,
    text: impl Fn(&P) -> &str,
) -> (bool, String) {
    let patterns: Vec<String> = list.iter().map(|p| quote(text(p))).collect();
    for p in list {
        if let Some(v) = values.iter().find(|v| matches(p, v)) {
            return (true, format!("{what} {} matches {}", quote(v), quote(text(p))));
        }
        if values.is_empty() && text(p).chars().all(|c| c == '*') && !text(p).is_empty() {
            return (true, format!("any {what} matches {}", quote(text(p))));
        }
    }
    match values.first() {
        None => (false, format!("the request names no {what}")),
        Some(v) if patterns.len() == 1 => (false, format!("{what} {} does not match {}", quote(v), patterns[0])),
        Some(v) => (false, format!("{what} {} matches none of {}", quote(v), patterns.join(", "))),
    }
}

/// A missing text is matched as empty.
fn regexes(what: &str, list: &[Pattern], value: &Option<String>) -> (bool, String) {
    let text = value.as_deref().unwrap_or("");
    let shown = if text.is_empty() { format!("(no {what})") } else { format!("{what} {}", quote(text)) };
    match list.iter().find(|p| p.regex.is_match(text)) {
        Some(p) => (true, format!("{shown} matches /{}/", p.text())),
        None => {
            let all: Vec<String> = list.iter().map(|p| format!("/{}/", p.text())).collect();
            (false, format!("{shown} does not match {}", all.join(" or ")))
        }
    }
}

/// Seconds as an ISO 8601 duration: `P1DT2H5M`, `PT30S`.
pub(crate) fn iso(secs: f64) -> String {
    let total = secs.round().max(0.0) as u64;
    let (d, h, m, s) = (total / 86_400, total % 86_400 / 3600, total % 3600 / 60, total % 60);
    let mut out = String::from("P");
    if d > 0 {
        out.push_str(&format!("{d}D"));
    }
    if h > 0 || m > 0 || s > 0 || d == 0 {
        out.push('T');
        for (n, u) in [(h, 'H'), (m, 'M'), (s, 'S')] {
            if n > 0 {
                out.push_str(&format!("{n}{u}"));
            }
        }
        if h == 0 && m == 0 && s == 0 {
            out.push_str("0S");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_as_iso() {
        assert_eq!(iso(0.0), "PT0S");
        assert_eq!(iso(93_900.0), "P1DT2H5M");
        assert_eq!(iso(86_400.0), "P1D");
        assert_eq!(iso(14_400.0), "PT4H");
    }
}

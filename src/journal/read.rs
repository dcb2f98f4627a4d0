//! Reading the log: its lines filtered, and its decisions (each intent paired with its outcome;
//! an intent with none is `Unknown`: it may have been sent).

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::append::lock;
use super::{Entry, Kind};
use crate::error::{ErrorKind, PimError, Result};

/// What to keep; every field may be left out. Times are RFC 3339; `from` is included, `to` is
/// not. `approvalId`, `result` and `rule` match exactly, in any case.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Filter {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub approval_id: Option<String>,
    pub result: Option<String>,
    pub rule: Option<String>,
}

impl Filter {
    /// `{"from", "to", "approvalId", "result", "rule"}`; NULL or blank means no filter.
    pub fn from_json(json: Option<&str>) -> Result<Filter> {
        match json.filter(|j| !j.trim().is_empty()) {
            None => Ok(Filter::default()),
            Some(j) => serde_json::from_str(j).map_err(|e| {
                PimError::new(
                    ErrorKind::InvalidInput,
                    format!("The filter must be {{\"from\", \"to\", \"approvalId\", \"result\", \"rule\"}} (each optional): {e}."),
                )
            }),
        }
    }

    fn keeps(&self, time: Option<&str>, approval_id: &str, result: Option<&str>, rule: Option<&str>) -> bool {
        let same = |want: &Option<String>, have: Option<&str>| {
            want.as_deref().is_none_or(|w| have.is_some_and(|h| h.trim().eq_ignore_ascii_case(w.trim())))
        };
        let t = time.and_then(|t| t.parse::<Timestamp>().ok());
        let in_range = match (self.from, self.to) {
            (None, None) => true,
            (from, to) => t.is_some_and(|t| from.is_none_or(|f| t >= f) && to.is_none_or(|e| t < e)),
        };
        in_range && same(&self.approval_id, Some(approval_id)) && same(&self.result, result) && same(&self.rule, rule)
    }
}

/// A line as read back: its number in the file, and the entry.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Line {
    pub line: u64,
    #[serde(flatten)]
    pub entry: Entry,
}

/// One decision: an intent and its outcome, as a person asks about it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    pub approval_id: String,
    pub surface: String,
    pub action: String,
    pub tenant: Option<String>,
    pub actor: Option<String>,
    pub principal: Option<String>,
    pub principal_id: Option<String>,
    pub role: Option<String>,
    pub scope: Option<String>,
    pub justification: Option<String>,
    pub rule: Option<String>,
    /// `Approved`, `Denied`, `Failed`, or `Unknown`: an intent with no outcome (it may have been
    /// sent), or an outcome that says so.
    pub result: String,
    pub error: Option<String>,
    pub request_id: Option<String>,
    /// When the intent was written; `None` for an outcome whose intent is not in the log.
    pub intent_time: Option<String>,
    pub outcome_time: Option<String>,
    pub intent_line: Option<u64>,
    pub outcome_line: Option<u64>,
}

fn read_failed(path: &Path, what: impl std::fmt::Display) -> PimError {
    PimError::new(ErrorKind::LogReadFailed, format!("The decision log '{}' cannot be read: {what}.", path.display()))
}

/// Opens the log for reading under a shared lock (appends wait, and no line is read half-written).
pub(crate) fn open_shared(path: &Path) -> Result<BufReader<File>> {
    if path.is_dir() {
        return Err(read_failed(path, "it is a folder"));
    }
    let file = File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => read_failed(path, "there is no such file (nothing has been logged there)"),
        _ => read_failed(path, e),
    })?;
    Ok(BufReader::new(lock(file, path, false)?))
}

/// Every line that is a log line, in order, with its number; a line that is not (torn, edited
/// into something else) is passed over: [`super::verify`] says what is wrong with the file.
fn lines(path: &Path) -> Result<Vec<Line>> {
    let mut reader = open_shared(path)?;
    let mut out = Vec::new();
    let mut buf = Vec::new();
    let mut n = 0;
    loop {
        buf.clear();
        let read = reader.read_until(b'\n', &mut buf).map_err(|e| read_failed(path, e))?;
        if read == 0 {
            break;
        }
        n += 1;
        let bytes = buf.strip_suffix(b"\n").unwrap_or(&buf);
        if let Ok(entry) = serde_json::from_slice::<Entry>(bytes) {
            out.push(Line { line: n, entry });
        }
    }
    Ok(out)
}

/// The log's lines that `filter` keeps.
pub fn read(path: &Path, filter: &Filter) -> Result<Vec<Line>> {
    let all = lines(path)?;
    Ok(all
        .into_iter()
        .filter(|l| {
            let e = &l.entry;
            filter.keeps(Some(&e.time), &e.approval_id, e.result.as_deref(), e.rule.as_deref())
        })
        .collect())
}

/// A decision begun by `e`: an intent (result `Unknown` until its outcome), or an outcome whose
/// intent is not in the log.
fn begin(e: Entry, line: u64) -> Decision {
    let intent = e.kind == Kind::Intent;
    Decision {
        result: if intent { "Unknown".into() } else { e.result.unwrap_or_else(|| "Unknown".into()) },
        error: e.error,
        request_id: e.request_id,
        intent_time: intent.then(|| e.time.clone()),
        outcome_time: (!intent).then_some(e.time),
        intent_line: intent.then_some(line),
        outcome_line: (!intent).then_some(line),
        approval_id: e.approval_id,
        surface: e.surface,
        action: e.action,
        tenant: e.tenant,
        actor: e.actor,
        principal: e.principal,
        principal_id: e.principal_id,
        role: e.role,
        scope: e.scope,
        justification: e.justification,
        rule: e.rule,
    }
}

/// The log's decisions that `filter` keeps (by the intent's time, else the outcome's), in the
/// order they were begun. Each outcome closes the latest open intent of the same approval id.
pub fn decisions(path: &Path, filter: &Filter) -> Result<Vec<Decision>> {
    let mut out: Vec<Decision> = Vec::new();
    let mut open: HashMap<String, Vec<usize>> = HashMap::new();
    for Line { line, entry: e } in lines(path)? {
        let key = e.approval_id.to_lowercase();
        let pending = if e.kind == Kind::Outcome { open.get_mut(&key).and_then(Vec::pop) } else { None };
        match pending {
            Some(i) => {
                let d = &mut out[i];
                d.result = e.result.unwrap_or_else(|| "Unknown".into());
                d.error = e.error;
                d.request_id = e.request_id;
                d.outcome_time = Some(e.time);
                d.outcome_line = Some(line);
            }
            None => {
                if e.kind == Kind::Intent {
                    open.entry(key).or_default().push(out.len());
                }
                out.push(begin(e, line));
            }
        }
    }
    Ok(out
        .into_iter()
        .filter(|d| {
            let time = d.intent_time.as_deref().or(d.outcome_time.as_deref());
            filter.keeps(time, &d.approval_id, Some(&d.result), d.rule.as_deref())
        })
        .collect())
}

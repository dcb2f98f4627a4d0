//! The decision log: a local, tamper-evident record of every decision sent. JSON Lines, one
//! event per line, each line carrying the SHA-256 of the line before it (`prev`), so an edited,
//! deleted or reordered line breaks the chain. An `intent` line is written before a decision is
//! sent and an `outcome` line after it, so a crash in between leaves a record of what may have
//! been sent. `docs/policy.md` describes the file for its readers.
//!
//! - [`DecisionLog::open`] and [`DecisionLog::append`]: writing, under an exclusive file lock, so
//!   processes appending at once never interleave (`append.rs`).
//! - [`read`], [`decisions`]: reading and filtering; intents paired with their outcomes, an
//!   intent without one reported as `Unknown` (`read.rs`).
//! - [`verify`]: the chain checked line by line (`verify.rs`).
//! - [`resolve_path`]: where the log is (a parameter, `PIMBRIDGE_DECISION_LOG`, the user's data
//!   folder) or that it is off (`path.rs`).
//!
//! The log never receives a token: events carry names and ids only, and a value that looks like
//! a bearer token is refused.

mod append;
mod path;
mod read;
mod verify;

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{ErrorKind, PimError, Result};
use crate::model::{Review, Surface};

pub use append::DecisionLog;
pub use path::{LogLocation, LogSource, Platform, resolve_path, resolve_path_with};
pub use read::{Decision, Filter, Line, decisions, read};
pub use verify::{BreakReason, Verification, verify};

/// The `prev` of the first line: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The longest line the log writes, in bytes; longer events are refused.
pub(crate) const MAX_LINE_BYTES: usize = 64 * 1024;

/// The results an outcome may record.
pub const RESULTS: [&str; 4] = ["Approved", "Denied", "Failed", "Unknown"];

/// Before the send, or after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Intent,
    Outcome,
}

/// One event as its writer gives it; the log adds `seq`, `time` and `prev`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Event {
    /// `intent` or `outcome`.
    pub kind: Option<Kind>,
    /// The tenant id.
    pub tenant: Option<String>,
    /// Who sent it: the approver's UPN or object id.
    pub actor: Option<String>,
    /// `DirectoryRole`, `Group` or `AzureResource` (any case; written as named).
    pub surface: Option<String>,
    pub approval_id: String,
    /// `Approve` or `Deny`.
    pub action: Option<String>,
    /// The requester, as a person reads it (UPN or name), and their object id.
    pub principal: Option<String>,
    pub principal_id: Option<String>,
    pub role: Option<String>,
    pub scope: Option<String>,
    /// Outcomes only: `Approved`, `Denied`, `Failed` or `Unknown` (sent, but no answer).
    pub result: Option<String>,
    /// Outcomes only: the error's kind (`AlreadyDecided`, `Throttled`, ...) when it failed.
    pub error: Option<String>,
    pub justification: Option<String>,
    /// The policy rule that decided it, if one did.
    pub rule: Option<String>,
    /// The service's `request-id` for the send (outcomes), for support cases.
    pub request_id: Option<String>,
}

impl Event {
    /// An intent to decide: written before the decision is sent.
    pub fn intent(surface: Surface, approval_id: impl Into<String>, review: Review) -> Event {
        Event {
            kind: Some(Kind::Intent),
            surface: Some(surface.name().into()),
            approval_id: approval_id.into(),
            action: Some(review.wire_value().into()),
            ..Event::default()
        }
    }

    /// The outcome of a decision sent: `result` is one of [`RESULTS`].
    pub fn outcome(surface: Surface, approval_id: impl Into<String>, review: Review, result: &str) -> Event {
        Event { kind: Some(Kind::Outcome), result: Some(result.into()), ..Event::intent(surface, approval_id, review) }
    }

    /// Reads an event from JSON (the C ABI's `event_json`), unknown keys refused.
    pub fn from_json(json: &str) -> Result<Event> {
        serde_json::from_str(json).map_err(|e| invalid(format!("The event must be a decision log event as JSON: {e}.")))
    }

    /// Several events, from a JSON array of them.
    pub fn many_from_json(json: &str) -> Result<Vec<Event>> {
        serde_json::from_str(json)
            .map_err(|e| invalid(format!("The events must be an array of decision log events as JSON: {e}.")))
    }
}

/// One line of the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// The line's number when it was written, from 1.
    pub seq: u64,
    /// When it was written: RFC 3339, UTC, milliseconds.
    pub time: String,
    pub kind: Kind,
    pub tenant: Option<String>,
    pub actor: Option<String>,
    pub surface: String,
    pub approval_id: String,
    pub action: String,
    pub principal: Option<String>,
    pub principal_id: Option<String>,
    pub role: Option<String>,
    pub scope: Option<String>,
    pub result: Option<String>,
    pub error: Option<String>,
    pub justification: Option<String>,
    pub rule: Option<String>,
    pub request_id: Option<String>,
    /// SHA-256 (lowercase hex) of the previous line's bytes, without its line break; [`GENESIS`]
    /// for the first line.
    pub prev: String,
}

/// Something that looks like a bearer token (a JWT: `eyJ...`.`...`.).
static TOKEN_SHAPE: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.").ok());

fn invalid(message: impl Into<String>) -> PimError {
    PimError::new(ErrorKind::InvalidInput, message)
}

impl Entry {
    /// Checks an event and makes it a line's content, without `seq`, `time` and `prev` yet.
    pub(crate) fn from_event(e: &Event) -> Result<Entry> {
        let kind = e.kind.ok_or_else(|| invalid("The event has no kind (intent or outcome)."))?;
        let surface = e
            .surface
            .as_deref()
            .and_then(Surface::from_name)
            .ok_or_else(|| invalid("The event's surface must be DirectoryRole, Group or AzureResource."))?;
        if e.approval_id.trim().is_empty() {
            return Err(invalid("The event has no approvalId."));
        }
        let action = match e.action.as_deref().map(str::trim) {
            Some(a) if a.eq_ignore_ascii_case("approve") => "Approve",
            Some(a) if a.eq_ignore_ascii_case("deny") => "Deny",
            _ => return Err(invalid("The event's action must be Approve or Deny.")),
        };
        let result = match (kind, e.result.as_deref().map(str::trim)) {
            (Kind::Intent, None) if e.error.is_none() => None,
            (Kind::Intent, _) => {
                return Err(invalid("An intent has no result or error yet: those belong to its outcome."));
            }
            (Kind::Outcome, Some(r)) => match RESULTS.iter().find(|x| x.eq_ignore_ascii_case(r)) {
                Some(x) => Some(x.to_string()),
                None => return Err(invalid(format!("The outcome's result must be one of {}.", RESULTS.join(", ")))),
            },
            (Kind::Outcome, None) => return Err(invalid("An outcome needs a result.")),
        };
        let fields = [
            &e.tenant,
            &e.actor,
            &e.principal,
            &e.principal_id,
            &e.role,
            &e.scope,
            &e.error,
            &e.justification,
            &e.rule,
            &e.request_id,
        ];
        let looks_like_token = |s: &str| TOKEN_SHAPE.as_ref().is_some_and(|r| r.is_match(s));
        if fields.iter().filter_map(|f| f.as_deref()).chain([e.approval_id.as_str()]).any(looks_like_token) {
            return Err(invalid(
                "The event holds something shaped like an access token; the decision log never holds one.",
            ));
        }
        Ok(Entry {
            seq: 0,
            time: String::new(),
            kind,
            tenant: e.tenant.clone(),
            actor: e.actor.clone(),
            surface: surface.name().to_string(),
            approval_id: e.approval_id.trim().to_string(),
            action: action.to_string(),
            principal: e.principal.clone(),
            principal_id: e.principal_id.clone(),
            role: e.role.clone(),
            scope: e.scope.clone(),
            result,
            error: e.error.clone(),
            justification: e.justification.clone(),
            rule: e.rule.clone(),
            request_id: e.request_id.clone(),
            prev: String::new(),
        })
    }
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Now, as the log writes times: `2026-05-04T09:30:00.123Z`.
pub(crate) fn now_rfc3339() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_checked() {
        let ok = Event::intent(Surface::Group, "a", Review::Approve);
        assert_eq!(Entry::from_event(&ok).unwrap().action, "Approve");
        let mut bad = ok.clone();
        bad.result = Some("Approved".into());
        assert!(Entry::from_event(&bad).is_err(), "an intent has no result");
        let out = Event::outcome(Surface::Group, "a", Review::Deny, "denied");
        assert_eq!(Entry::from_event(&out).unwrap().result.as_deref(), Some("Denied"));
        let weird = Event::outcome(Surface::Group, "a", Review::Deny, "Maybe");
        assert!(Entry::from_event(&weird).is_err());
    }

    #[test]
    fn nothing_shaped_like_a_token_is_logged() {
        let mut e = Event::intent(Surface::DirectoryRole, "a", Review::Approve);
        e.justification = Some("Bearer eyJ0eXAiOiJKV1QiLCJhbGciOi.eyJhdWQiOiJodHRwczovL2dyYXBo.sig".into());
        assert!(Entry::from_event(&e).unwrap_err().message.contains("access token"));
    }

    #[test]
    fn hashes_are_lowercase_hex() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(GENESIS.len(), 64);
    }
}

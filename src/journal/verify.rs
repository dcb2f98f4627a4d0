//! Checking the chain, line by line. Line `n` must carry, as `prev`, the SHA-256 of line `n - 1`
//! (of [`GENESIS`] for line 1) and, as `seq`, `n`. The first line that breaks that is named, with
//! the likeliest reason:
//!
//! - `torn`: the last line has no line break: a write that did not finish (a crash);
//! - `not JSON`: a line that is not JSON at all;
//! - `altered`: a line whose bytes changed (its successor's `prev` no longer matches, while the
//!   numbering runs on), or whose own `seq` or `prev` was edited;
//! - `deleted or reordered`: the numbering jumps where the chain breaks.
//!
//! A chain proves the order and content of every line that has a successor. The last line, and
//! lines cut from the end, can only be checked against a copy kept elsewhere: `lastHash` and
//! `lines` are the values to keep (anchoring).

use std::io::BufRead;
use std::path::Path;

use serde::Serialize;

use super::read::open_shared;
use super::{GENESIS, sha256_hex};
use crate::error::{ErrorKind, PimError, Result};

/// Why the chain breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum BreakReason {
    #[serde(rename = "altered")]
    Altered,
    #[serde(rename = "torn")]
    Torn,
    #[serde(rename = "deleted or reordered")]
    DeletedOrReordered,
    #[serde(rename = "not JSON")]
    NotJson,
}

/// What a check of the log found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    pub path: String,
    /// Whether every line chains to the one before.
    pub is_valid: bool,
    /// How many lines the file has.
    pub lines: u64,
    /// The first line that is broken (from 1), when one is.
    pub first_broken_line: Option<u64>,
    pub reason: Option<BreakReason>,
    /// In words, for a person.
    pub detail: Option<String>,
    /// SHA-256 of the last line: keep it elsewhere to detect a change to the end of the log.
    pub last_hash: Option<String>,
}

/// What each line must hold.
#[derive(serde::Deserialize)]
struct Links {
    seq: u64,
    prev: String,
}

/// Checks the log's chain. A missing or unreadable file gives `LogReadFailed`; a broken chain is
/// an answer (`isValid: false`), not an error.
pub fn verify(path: &Path) -> Result<Verification> {
    let mut reader = open_shared(path)?;
    let mut v = Verification {
        path: path.display().to_string(),
        is_valid: true,
        lines: 0,
        first_broken_line: None,
        reason: None,
        detail: None,
        last_hash: None,
    };
    let broken = |v: &mut Verification, line: u64, reason: BreakReason, detail: String| {
        if v.is_valid {
            v.is_valid = false;
            v.first_broken_line = Some(line);
            v.reason = Some(reason);
            v.detail = Some(detail);
        }
    };
    let mut prev_hash = GENESIS.to_string();
    let mut prev_seq = 0u64;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(|e| {
            PimError::new(
                ErrorKind::LogReadFailed,
                format!("The decision log '{}' cannot be read: {e}.", path.display()),
            )
        })?;
        if n == 0 {
            break;
        }
        v.lines += 1;
        let i = v.lines;
        let Some(bytes) = buf.strip_suffix(b"\n") else {
            broken(
                &mut v,
                i,
                BreakReason::Torn,
                format!("line {i}, the last, has no line break: a write that did not finish"),
            );
            v.last_hash = Some(sha256_hex(&buf));
            break;
        };
        let hash = sha256_hex(bytes);
        v.last_hash = Some(hash.clone());
        if !v.is_valid {
            continue;
        }
        let links = match serde_json::from_slice::<serde_json::Value>(bytes) {
            Err(_) => {
                broken(&mut v, i, BreakReason::NotJson, format!("line {i} is not JSON"));
                continue;
            }
            Ok(value) => serde_json::from_value::<Links>(value).ok(),
        };
        let Some(links) = links else {
            broken(&mut v, i, BreakReason::Altered, format!("line {i} lacks its seq or prev"));
            continue;
        };
        let follows = links.seq == prev_seq + 1;
        if links.prev != prev_hash {
            if i == 1 && links.seq == 1 {
                broken(&mut v, 1, BreakReason::Altered, "line 1's prev is not the genesis value".into());
            } else if i > 1 && follows {
                broken(
                    &mut v,
                    i - 1,
                    BreakReason::Altered,
                    format!("line {} changed: line {i} records another hash for it", i - 1),
                );
            } else {
                broken(
                    &mut v,
                    i,
                    BreakReason::DeletedOrReordered,
                    format!("line {i} (written as line {}) does not follow the line before it", links.seq),
                );
            }
            continue;
        }
        if !follows {
            broken(&mut v, i, BreakReason::Altered, format!("line {i} carries seq {} instead of {i}", links.seq));
            continue;
        }
        prev_hash = hash;
        prev_seq = links.seq;
    }
    Ok(v)
}

//! Where the decision log is: the one place that decides it.
//!
//! 1. A path given by the caller (the module's `-LogPath`), else
//! 2. the environment variable `PIMBRIDGE_DECISION_LOG`, else
//! 3. the user's data folder: `%LOCALAPPDATA%\PimBridge\decisions.jsonl` on Windows,
//!    `~/Library/Application Support/PimBridge/decisions.jsonl` on macOS, and
//!    `$XDG_DATA_HOME/PimBridge/decisions.jsonl` (or `~/.local/share/...`) elsewhere.
//!
//! `off` (any case) in 1 or 2 switches the log off. A blank value counts as not given. A path
//! must be absolute: PowerShell's current location is not the process's, so the module resolves
//! a relative `-LogPath` itself before handing it over.

use std::path::PathBuf;

use serde::Serialize;

use crate::error::{ErrorKind, PimError, Result};

/// The environment variable that names the log, or switches it off.
pub const ENV_VAR: &str = "PIMBRIDGE_DECISION_LOG";

/// Where the answer came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogSource {
    Parameter,
    Environment,
    Default,
}

/// The log's place, or `path: None` when it is switched off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogLocation {
    pub path: Option<PathBuf>,
    pub source: LogSource,
    pub enabled: bool,
}

/// The platform whose conventions apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    Windows,
    MacOs,
    /// Linux and the other Unixes (XDG).
    Unix,
}

impl Platform {
    pub fn current() -> Platform {
        if cfg!(windows) {
            Platform::Windows
        } else if cfg!(target_os = "macos") {
            Platform::MacOs
        } else {
            Platform::Unix
        }
    }

    fn is_absolute(self, p: &str) -> bool {
        match self {
            Platform::Windows => {
                let b = p.as_bytes();
                p.starts_with("\\\\")
                    || (b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && matches!(b[2], b'\\' | b'/'))
            }
            _ => p.starts_with('/'),
        }
    }

    fn join(self, base: &str, parts: &[&str]) -> PathBuf {
        let sep = if self == Platform::Windows { '\\' } else { '/' };
        let mut s = base.trim_end_matches(['/', '\\']).to_string();
        for p in parts {
            s.push(sep);
            s.push_str(p);
        }
        PathBuf::from(s)
    }
}

/// [`resolve_path_with`] on this platform, with this process's environment.
pub fn resolve_path(explicit: Option<&str>) -> Result<LogLocation> {
    resolve_path_with(explicit, &|name| std::env::var(name).ok(), Platform::current())
}

/// Where the log is, from a caller's path (`None` or blank: not given), the environment as
/// `env` reads it, and the platform's conventions.
pub fn resolve_path_with(
    explicit: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
    platform: Platform,
) -> Result<LogLocation> {
    let given = |v: Option<String>, source: LogSource| v.filter(|s| !s.trim().is_empty()).map(|s| (s, source));
    let chosen = given(explicit.map(str::to_string), LogSource::Parameter)
        .or_else(|| given(env(ENV_VAR), LogSource::Environment));
    if let Some((value, source)) = chosen {
        let value = value.trim();
        if value.eq_ignore_ascii_case("off") {
            return Ok(LogLocation { path: None, source, enabled: false });
        }
        if !platform.is_absolute(value) {
            let from = if source == LogSource::Parameter { "The log path" } else { ENV_VAR };
            return Err(PimError::new(
                ErrorKind::InvalidInput,
                format!("{from} '{value}' is not an absolute path (or 'off')."),
            ));
        }
        return Ok(LogLocation { path: Some(PathBuf::from(value)), source, enabled: true });
    }
    let file = ["PimBridge", "decisions.jsonl"];
    let var = |name: &str| env(name).filter(|v| platform.is_absolute(v.trim())).map(|v| v.trim().to_string());
    let path = match platform {
        Platform::Windows => var("LOCALAPPDATA").map(|base| platform.join(&base, &file)),
        Platform::MacOs => {
            var("HOME").map(|home| platform.join(&home, &["Library", "Application Support", file[0], file[1]]))
        }
        Platform::Unix => var("XDG_DATA_HOME")
            .map(|base| platform.join(&base, &file))
            .or_else(|| var("HOME").map(|home| platform.join(&home, &[".local", "share", file[0], file[1]]))),
    };
    let needs = match platform {
        Platform::Windows => "LOCALAPPDATA",
        _ => "HOME",
    };
    path.map(|p| LogLocation { path: Some(p), source: LogSource::Default, enabled: true }).ok_or_else(|| {
        PimError::new(
            ErrorKind::InvalidInput,
            format!("There is no user data folder for the decision log ({needs} is not set); give -LogPath or set {ENV_VAR}."),
        )
    })
}

//! The bearer token: kept in zeroizing memory, never printed, and read (not verified) for the
//! claims that let us refuse a hopeless call before making it.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::error::{ErrorKind, PimError, Result};

/// The longest token accepted, in bytes. Entra tokens are a few kilobytes (a token with many group
/// claims stays under 16 KiB); anything near this is not a token, and would make every request a
/// large write.
pub(crate) const MAX_TOKEN_BYTES: usize = 64 * 1024;

/// An access token. Its `Debug` and `Display` never show it.
#[derive(Clone)]
pub struct AccessToken(Zeroizing<String>);

impl AccessToken {
    pub fn new(raw: &str) -> Result<AccessToken> {
        if raw.len() > MAX_TOKEN_BYTES {
            return Err(PimError::new(
                ErrorKind::InvalidToken,
                format!(
                    "The access token is {} bytes long; at most {MAX_TOKEN_BYTES} are accepted. Pass the access token itself.",
                    raw.len()
                ),
            ));
        }
        let t = raw.trim();
        let t = t.strip_prefix("Bearer ").unwrap_or(t).trim();
        if t.is_empty() {
            return Err(PimError::new(ErrorKind::MissingToken, "No access token was given."));
        }
        if t.chars().any(|c| c.is_control() || c == ' ') {
            return Err(PimError::new(
                ErrorKind::InvalidToken,
                "The access token contains spaces or control characters; pass the token itself.",
            ));
        }
        Ok(AccessToken(Zeroizing::new(t.to_string())))
    }

    /// The `Authorization` header value, built in one allocation of its exact size (a `format!`
    /// that grows its buffer leaves copies of the token in the buffers it outgrew).
    pub(crate) fn bearer_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut v = Zeroizing::new(Vec::with_capacity(7 + self.0.len()));
        v.extend_from_slice(b"Bearer ");
        v.extend_from_slice(self.0.as_bytes());
        v
    }

    /// Whether the token's `exp` claim has passed (false for a token whose claims cannot be read).
    pub(crate) fn has_expired(&self) -> bool {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        self.claims().is_some_and(|c| c.expires_at <= now)
    }

    /// The claims, if the token is a JWT we can read. Opaque tokens give `None`.
    pub fn claims(&self) -> Option<TokenInfo> {
        TokenInfo::decode(&self.0)
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(<redacted>)")
    }
}

/// What a token says about itself, as far as deciding needs to know.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    pub audience: String,
    /// Seconds since the Unix epoch.
    pub expires_at: i64,
    /// Delegated scopes (`scp`).
    pub scopes: Vec<String>,
    /// True when the token carries application roles and no delegated scopes.
    pub app_only: bool,
    pub object_id: Option<String>,
    pub upn: Option<String>,
    /// The directory (tenant) that issued the token (`tid`): what the decision log records as
    /// the tenant when no Graph session names it.
    pub tenant_id: Option<String>,
}

/// Graph's audience, as app id or URI.
const GRAPH_AUDIENCES: &[&str] = &[
    "https://graph.microsoft.com",
    "https://graph.microsoft.com/",
    "00000003-0000-0000-c000-000000000000",
    "https://graph.microsoft.us",
    "https://dod-graph.microsoft.us",
    "https://microsoftgraph.chinacloudapi.cn",
];

/// Azure Resource Manager's audience, as URI or app id, in the public and national clouds.
const ARM_AUDIENCES: &[&str] = &[
    "https://management.azure.com/",
    "https://management.azure.com",
    "https://management.core.windows.net/",
    "https://management.core.windows.net",
    "797f4846-ba00-4fd7-ba43-dac1f8f63013",
    "https://management.usgovcloudapi.net/",
    "https://management.chinacloudapi.cn/",
];

impl TokenInfo {
    pub fn decode(token: &str) -> Option<TokenInfo> {
        let mut parts = token.split('.');
        let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
        // The decoded claims are zeroed when dropped, like the token they come from.
        let bytes = Zeroizing::new(URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?);
        let v: Value = serde_json::from_slice(&bytes).ok()?;
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let scp = s("scp");
        Some(TokenInfo {
            audience: s("aud").unwrap_or_default(),
            expires_at: v.get("exp").and_then(Value::as_i64).unwrap_or(i64::MAX),
            scopes: scp.as_deref().map(|x| x.split_whitespace().map(str::to_string).collect()).unwrap_or_default(),
            app_only: scp.is_none() && v.get("roles").is_some(),
            object_id: s("oid"),
            upn: s("upn").or_else(|| s("preferred_username")),
            tenant_id: s("tid"),
        })
    }

    pub fn is_arm(&self) -> bool {
        ARM_AUDIENCES.iter().any(|a| a.eq_ignore_ascii_case(&self.audience))
    }

    /// Refuses, before any call, an ARM token that is expired, for another audience, or app-only
    /// where a signed-in user is needed.
    pub fn check_arm(&self, needs_user: bool) -> Result<()> {
        self.check_expiry()?;
        if !self.is_arm() {
            return Err(PimError::new(
                ErrorKind::InvalidToken,
                format!(
                    "The Azure token is for '{}', not Azure Resource Manager; use a token for https://management.azure.com/ (Get-AzAccessToken).",
                    self.audience
                ),
            ));
        }
        if self.app_only && needs_user {
            return Err(PimError::new(
                ErrorKind::AppOnlyToken,
                "The Azure token is app-only; approving and denying needs the token of a signed-in approver.",
            ));
        }
        Ok(())
    }

    fn check_expiry(&self) -> Result<()> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        if self.expires_at <= now {
            return Err(PimError::new(
                ErrorKind::TokenExpired,
                format!("The access token expired {}; get a new one and try again.", ago(now - self.expires_at)),
            ));
        }
        Ok(())
    }

    pub fn is_graph(&self) -> bool {
        GRAPH_AUDIENCES.iter().any(|a| a.eq_ignore_ascii_case(&self.audience))
    }

    pub fn has_any_scope(&self, wanted: &[&str]) -> bool {
        self.scopes.iter().any(|s| wanted.iter().any(|w| w.eq_ignore_ascii_case(s)))
    }

    /// Refuses, before any call, a Graph token that is expired, meant for another audience, app-only
    /// where a signed-in user is needed, or missing every one of `scopes`.
    pub fn check_graph(&self, scopes: &[&str], needs_user: bool) -> Result<()> {
        self.check_expiry()?;
        if !self.is_graph() {
            return Err(PimError::new(
                ErrorKind::InvalidToken,
                format!("The access token is for '{}', not Microsoft Graph; use a Graph token here.", self.audience),
            ));
        }
        if self.app_only && needs_user {
            return Err(PimError::new(
                ErrorKind::AppOnlyToken,
                "This is an app-only (application) token; approving and denying PIM requests needs a delegated token of a signed-in approver.",
            ));
        }
        if !self.app_only && !self.has_any_scope(scopes) {
            return Err(PimError::new(
                ErrorKind::MissingScope,
                format!(
                    "The access token lacks the permission this needs: one of {}. It has: {}.",
                    scopes.join(", "),
                    if self.scopes.is_empty() { "none".to_string() } else { self.scopes.join(" ") }
                ),
            ));
        }
        Ok(())
    }
}

/// How long ago, in words: "less than a minute ago", "1 minute ago", "5 minutes ago", "2 hours ago",
/// "3 days ago" (whole units, rounded down).
fn ago(seconds: i64) -> String {
    let plural = |n: i64, unit: &str| if n == 1 { format!("1 {unit} ago") } else { format!("{n} {unit}s ago") };
    match seconds.max(0) {
        s if s < 60 => "less than a minute ago".to_string(),
        s if s < 3600 => plural(s / 60, "minute"),
        s if s < 2 * 86_400 => plural(s / 3600, "hour"),
        s => plural(s / 86_400, "day"),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

    pub fn jwt(claims: &serde_json::Value) -> String {
        format!("{}.{}.sig", B64.encode(b"{\"alg\":\"none\"}"), B64.encode(claims.to_string()))
    }

    #[test]
    fn expiry_reads_naturally() {
        assert_eq!(ago(0), "less than a minute ago");
        assert_eq!(ago(59), "less than a minute ago");
        assert_eq!(ago(60), "1 minute ago");
        assert_eq!(ago(5 * 60 + 30), "5 minutes ago");
        assert_eq!(ago(3600), "1 hour ago");
        assert_eq!(ago(2 * 3600 + 59 * 60), "2 hours ago");
        assert_eq!(ago(47 * 3600), "47 hours ago");
        assert_eq!(ago(3 * 86_400), "3 days ago");
        let old = jwt(&serde_json::json!({"aud": "https://graph.microsoft.com", "exp": 1000, "scp": "A"}));
        let e = TokenInfo::decode(&old).unwrap().check_graph(&["A"], false).unwrap_err();
        assert!(
            e.message.starts_with("The access token expired ") && e.message.contains(" days ago;"),
            "{}",
            e.message
        );
    }

    #[test]
    fn debug_never_shows_the_token() {
        let t = AccessToken::new("secret-token-value").unwrap();
        assert!(!format!("{t:?}").contains("secret"));
    }

    #[test]
    fn a_huge_token_is_refused_before_any_call() {
        let huge = "a".repeat(16 << 20);
        let e = AccessToken::new(&huge).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidToken);
        assert!(e.message.contains("16777216 bytes") && !e.message.contains("aaaa"), "{}", e.message);
        assert!(AccessToken::new(&"a".repeat(MAX_TOKEN_BYTES)).is_ok());
    }

    #[test]
    fn claims_drive_pre_checks() {
        let future = 4_000_000_000i64;
        let ok = jwt(
            &serde_json::json!({"aud": "https://graph.microsoft.com", "exp": future, "scp": "RoleAssignmentSchedule.ReadWrite.Directory", "oid": "x"}),
        );
        let info = TokenInfo::decode(&ok).unwrap();
        assert!(info.check_graph(&["RoleAssignmentSchedule.ReadWrite.Directory"], true).is_ok());
        assert_eq!(info.check_graph(&["Other.Scope"], true).unwrap_err().kind, ErrorKind::MissingScope);

        let app = jwt(&serde_json::json!({"aud": "https://graph.microsoft.com", "exp": future, "roles": ["x"]}));
        let info = TokenInfo::decode(&app).unwrap();
        assert_eq!(info.check_graph(&["A"], true).unwrap_err().kind, ErrorKind::AppOnlyToken);

        let old = jwt(&serde_json::json!({"aud": "https://graph.microsoft.com", "exp": 1000, "scp": "A"}));
        assert_eq!(
            TokenInfo::decode(&old).unwrap().check_graph(&["A"], false).unwrap_err().kind,
            ErrorKind::TokenExpired
        );

        let arm = jwt(
            &serde_json::json!({"aud": "https://management.azure.com/", "exp": future, "scp": "user_impersonation"}),
        );
        assert_eq!(
            TokenInfo::decode(&arm).unwrap().check_graph(&["A"], false).unwrap_err().kind,
            ErrorKind::InvalidToken
        );

        assert!(TokenInfo::decode("opaque-token").is_none());
        assert_eq!(AccessToken::new("  ").unwrap_err().kind, ErrorKind::MissingToken);
    }
}

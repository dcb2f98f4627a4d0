//! JWT-shaped bearer tokens: minted by `POST /_emulator/token`, checked on every PIM call.
//!
//! The signature is a SHA-256 over a per-process secret and the signed part, so a token edited by
//! hand (or minted by another emulator) is refused like a forged one would be.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const GRAPH_AUDIENCE: &str = "https://graph.microsoft.com";
pub const ARM_AUDIENCE: &str = "https://management.azure.com/";

/// Scopes a default Graph token carries: what listing and deciding need on every Graph surface,
/// and the directory look-ups around them (names in bulk through `directoryObjects/getByIds`).
pub const DEFAULT_GRAPH_SCOPES: &[&str] = &[
    "RoleAssignmentSchedule.ReadWrite.Directory",
    "PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup",
    "Directory.Read.All",
];

/// What a checked token says about its caller.
#[derive(Clone, Debug)]
pub struct Caller {
    pub oid: String,
    /// Delegated scopes (`scp`); empty for an app-only token.
    pub scopes: Vec<String>,
    pub app_only: bool,
    pub audience: String,
}

impl Caller {
    pub fn has_any_scope(&self, wanted: &[&str]) -> bool {
        self.scopes.iter().any(|s| wanted.iter().any(|w| w.eq_ignore_ascii_case(s)))
    }
}

/// Why a token was refused (answered 401).
#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    Missing,
    Malformed,
    Expired,
    WrongAudience,
}

impl TokenError {
    pub fn message(&self) -> &'static str {
        match self {
            TokenError::Missing => "Access token is empty.",
            TokenError::Malformed => "IDX14100: JWT is not well formed.",
            TokenError::Expired => "Lifetime validation failed, the token is expired.",
            TokenError::WrongAudience => "Invalid audience.",
        }
    }
}

pub struct Minter {
    secret: String,
    tenant_id: String,
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

impl Minter {
    pub fn new(tenant_id: &str) -> Minter {
        Minter { secret: uuid::Uuid::new_v4().to_string(), tenant_id: tenant_id.to_string() }
    }

    fn sign(&self, signed_part: &str) -> String {
        let mut h = Sha256::new();
        h.update(self.secret.as_bytes());
        h.update(signed_part.as_bytes());
        B64.encode(h.finalize())
    }

    /// A token for `oid`. `scopes` = `None` mints an app-only token (a `roles` claim, no `scp`).
    pub fn mint(&self, oid: &str, upn: &str, scopes: Option<&[String]>, audience: &str, expires_in: i64) -> String {
        let header = json!({"typ": "JWT", "alg": "HS256", "kid": "pim-emulator"});
        let iat = now();
        let mut claims = json!({
            "aud": audience,
            "iss": format!("https://sts.windows.net/{}/", self.tenant_id),
            "iat": iat, "nbf": iat, "exp": iat + expires_in,
            "oid": oid, "tid": self.tenant_id, "upn": upn,
            "app_displayname": "pim-emulator",
        });
        match scopes {
            Some(s) => claims["scp"] = json!(s.join(" ")),
            None => claims["roles"] = json!(["RoleManagement.ReadWrite.Directory"]),
        }
        let signed = format!("{}.{}", B64.encode(header.to_string()), B64.encode(claims.to_string()));
        let sig = self.sign(&signed);
        format!("{signed}.{sig}")
    }

    /// Checks an `Authorization` header value against the audience the route needs.
    pub fn check(&self, authorization: Option<&str>, audience: &str) -> Result<Caller, TokenError> {
        let raw = authorization.ok_or(TokenError::Missing)?;
        let token =
            raw.strip_prefix("Bearer ").or_else(|| raw.strip_prefix("bearer ")).ok_or(TokenError::Malformed)?.trim();
        if token.is_empty() {
            return Err(TokenError::Missing);
        }
        let parts: Vec<&str> = token.split('.').collect();
        if parts.len() != 3 {
            return Err(TokenError::Malformed);
        }
        let signed = format!("{}.{}", parts[0], parts[1]);
        if self.sign(&signed) != parts[2] {
            return Err(TokenError::Malformed);
        }
        let claims: Value =
            B64.decode(parts[1]).ok().and_then(|b| serde_json::from_slice(&b).ok()).ok_or(TokenError::Malformed)?;
        let exp = claims.get("exp").and_then(Value::as_i64).ok_or(TokenError::Malformed)?;
        if exp <= now() {
            return Err(TokenError::Expired);
        }
        let aud = claims.get("aud").and_then(Value::as_str).unwrap_or_default();
        if aud != audience {
            return Err(TokenError::WrongAudience);
        }
        let oid = claims.get("oid").and_then(Value::as_str).ok_or(TokenError::Malformed)?.to_string();
        let scp = claims.get("scp").and_then(Value::as_str);
        Ok(Caller {
            oid,
            scopes: scp.map(|s| s.split(' ').map(str::to_string).collect()).unwrap_or_default(),
            app_only: scp.is_none(),
            audience: aud.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_check_and_tampered_ones_do_not() {
        let m = Minter::new("t");
        let scopes = vec!["A".to_string()];
        let tok = m.mint("u", "u@x", Some(&scopes), GRAPH_AUDIENCE, 60);
        let c = m.check(Some(&format!("Bearer {tok}")), GRAPH_AUDIENCE).unwrap();
        assert_eq!(c.oid, "u");
        assert!(c.has_any_scope(&["a"]));
        assert_eq!(m.check(Some(&format!("Bearer {tok}x")), GRAPH_AUDIENCE).unwrap_err(), TokenError::Malformed);
        assert_eq!(m.check(Some(&format!("Bearer {tok}")), ARM_AUDIENCE).unwrap_err(), TokenError::WrongAudience);
        let old = m.mint("u", "u@x", Some(&scopes), GRAPH_AUDIENCE, -5);
        assert_eq!(m.check(Some(&format!("Bearer {old}")), GRAPH_AUDIENCE).unwrap_err(), TokenError::Expired);
        assert_eq!(m.check(None, GRAPH_AUDIENCE).unwrap_err(), TokenError::Missing);
    }
}

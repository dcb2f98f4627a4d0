//! A request as a policy sees it: the model's `PendingRequest` in its JSON shape (camelCase), as
//! `pim_list_pending` hands it out and the module passes it back. Fields the policy does not use
//! are ignored, so a PowerShell object with extra properties is accepted too.

use jiff::Timestamp;
use serde::{Deserialize, Deserializer};

use crate::model::{PendingRequest, Surface};
use crate::time::iso8601_seconds;

/// The facts of one request that rules look at.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestFacts {
    #[serde(deserialize_with = "surface_name")]
    pub surface: Option<Surface>,
    pub approval_id: String,
    pub principal_id: Option<String>,
    pub principal_name: Option<String>,
    pub principal_upn: Option<String>,
    pub role_id: Option<String>,
    pub role_name: Option<String>,
    pub scope_id: Option<String>,
    pub scope_name: Option<String>,
    pub justification: Option<String>,
    pub ticket_system: Option<String>,
    pub ticket_number: Option<String>,
    pub created_at: Option<String>,
    pub starts_at: Option<String>,
    pub duration: Option<String>,
    pub duration_seconds: Option<f64>,
    pub ends_at: Option<String>,
    pub group_id: Option<String>,
    pub group_name: Option<String>,
}

/// A surface named in any case (`group`, `Group`); an unknown name is an error.
fn surface_name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Surface>, D::Error> {
    let name: Option<String> = Option::deserialize(d)?;
    match name {
        None => Ok(None),
        Some(n) => Surface::from_name(&n).map(Some).ok_or_else(|| {
            serde::de::Error::custom(format!("'{n}' is not a surface (DirectoryRole, Group, AzureResource)"))
        }),
    }
}

impl From<&PendingRequest> for RequestFacts {
    fn from(p: &PendingRequest) -> RequestFacts {
        RequestFacts {
            surface: Some(p.surface),
            approval_id: p.approval_id.clone(),
            principal_id: p.principal_id.clone(),
            principal_name: p.principal_name.clone(),
            principal_upn: p.principal_upn.clone(),
            role_id: p.role_id.clone(),
            role_name: p.role_name.clone(),
            scope_id: p.scope_id.clone(),
            scope_name: p.scope_name.clone(),
            justification: p.justification.clone(),
            ticket_system: p.ticket_system.clone(),
            ticket_number: p.ticket_number.clone(),
            created_at: p.created_at.clone(),
            starts_at: p.starts_at.clone(),
            duration: p.duration.clone(),
            duration_seconds: p.duration_seconds,
            ends_at: p.ends_at.clone(),
            group_id: p.group_id.clone(),
            group_name: p.group_name.clone(),
        }
    }
}

/// A value that is present and not blank.
pub(crate) fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.trim().is_empty())
}

impl RequestFacts {
    /// Reads one request, or an array of them.
    pub fn list_from_json(json: &str) -> Result<Vec<RequestFacts>, String> {
        let value: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let one = |v: serde_json::Value, i: usize| {
            serde_json::from_value::<RequestFacts>(v).map_err(|e| format!("request {}: {e}", i + 1))
        };
        match value {
            serde_json::Value::Array(items) => items.into_iter().enumerate().map(|(i, v)| one(v, i)).collect(),
            v @ serde_json::Value::Object(_) => Ok(vec![one(v, 0)?]),
            _ => Err("expected a request object or an array of them".into()),
        }
    }

    /// The values a `Principal` pattern is matched against: UPN, display name, object id.
    pub(crate) fn principal_values(&self) -> Vec<&str> {
        [&self.principal_upn, &self.principal_name, &self.principal_id].into_iter().filter_map(given).collect()
    }

    /// The values a `Role` pattern is matched against: name, id.
    pub(crate) fn role_values(&self) -> Vec<&str> {
        [&self.role_name, &self.role_id].into_iter().filter_map(given).collect()
    }

    /// The values a `Scope` pattern is matched against: the scope's id and name, and for groups
    /// the group's id and name.
    pub(crate) fn scope_values(&self) -> Vec<&str> {
        let mut v: Vec<&str> = [&self.scope_id, &self.scope_name, &self.group_id, &self.group_name]
            .into_iter()
            .filter_map(given)
            .collect();
        v.dedup();
        v
    }

    /// The principal as a person reads it: UPN, else name, else id.
    pub(crate) fn principal_label(&self) -> Option<&str> {
        given(&self.principal_upn).or(given(&self.principal_name)).or(given(&self.principal_id))
    }

    pub(crate) fn role_label(&self) -> Option<&str> {
        given(&self.role_name).or(given(&self.role_id))
    }

    pub(crate) fn scope_label(&self) -> Option<&str> {
        given(&self.scope_name).or(given(&self.group_name)).or(given(&self.scope_id))
    }

    /// How long the activation lasts, in seconds: its duration, else its end minus its start (or
    /// its creation). `None`: no end (permanent, or open-ended).
    pub(crate) fn duration_secs(&self) -> Option<f64> {
        if let Some(s) = self.duration_seconds.filter(|s| s.is_finite() && *s >= 0.0) {
            return Some(s);
        }
        if let Some(s) = given(&self.duration).and_then(iso8601_seconds) {
            return Some(s);
        }
        let end = timestamp(&self.ends_at)?;
        let start = timestamp(&self.starts_at).or_else(|| timestamp(&self.created_at))?;
        Some((end.as_millisecond() - start.as_millisecond()) as f64 / 1000.0)
    }

    pub(crate) fn created(&self) -> Option<Timestamp> {
        timestamp(&self.created_at)
    }
}

/// An RFC 3339 time; one without an offset is taken as UTC, as Graph means it.
pub(crate) fn timestamp(v: &Option<String>) -> Option<Timestamp> {
    let s = given(v)?.trim();
    s.parse::<Timestamp>().ok().or_else(|| format!("{s}Z").parse::<Timestamp>().ok())
}

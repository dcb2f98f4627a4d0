//! How a client is set up and how to list, from the JSON a C caller passes (every field optional).

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::{ErrorKind, PimError, Result};
use crate::http::retry::RetryPolicy;
use crate::model::Surface;

/// How a client is set up.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ClientOptions {
    /// Graph's service root; national clouds and the emulator use other hosts.
    pub graph_uri: String,
    /// Azure Resource Manager's service root.
    pub arm_uri: String,
    pub timeout_ms: u64,
    pub connect_timeout_ms: u64,
    /// The most units of decision work in flight at once (a batch of up to twenty, or one ARM
    /// request): a run starts with eight and adds one per unit the service answered without a
    /// 429 or 503, halving on one but never below eight (`decide/pace.rs`).
    pub max_concurrency: usize,
    /// How long a decision unit that is not full waits for more requests of its surface, from its
    /// first, in a stream of decisions (`decide/stream.rs`): a unit leaves when it holds twenty,
    /// when this has passed, or when the input is closed. 0 sends each push at once.
    pub linger_ms: u64,
    pub retry: RetryPolicy,
    /// The largest answer read, in bytes (a page of a listing, a batch's answer): beyond it the
    /// answer is cut and the call fails with `ResponseTooLarge`.
    pub max_response_bytes: u64,
    /// The most pages one listing follows: beyond it the listing fails with `TooManyPages`.
    pub max_pages: u32,
}

/// The default `maxResponseBytes`: a page of 999 requests with every name expanded is about 2 MB.
pub(crate) const DEFAULT_MAX_RESPONSE_BYTES: u64 = 8 * 1024 * 1024;

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            graph_uri: "https://graph.microsoft.com".into(),
            arm_uri: "https://management.azure.com".into(),
            timeout_ms: 100_000,
            connect_timeout_ms: 30_000,
            max_concurrency: 32,
            linger_ms: 25,
            retry: RetryPolicy::default(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_pages: 1000,
        }
    }
}

impl ClientOptions {
    pub fn from_json(json: Option<&str>) -> Result<ClientOptions> {
        let o: ClientOptions = parse_options(json, "client options")?;
        o.retry.check()?;
        if !(1024..=1 << 30).contains(&o.max_response_bytes) {
            return Err(PimError::new(
                ErrorKind::InvalidOptions,
                "maxResponseBytes must be between 1024 and 1073741824.",
            ));
        }
        if o.linger_ms > 10_000 {
            return Err(PimError::new(ErrorKind::InvalidOptions, "lingerMs must be between 0 and 10000."));
        }
        if o.max_pages == 0 {
            return Err(PimError::new(ErrorKind::InvalidOptions, "maxPages must be at least 1."));
        }
        Ok(o)
    }
}

/// How to list.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ListOptions {
    /// Which surface to list; the token passed must be for it (Graph, or ARM for Azure resources).
    pub surface: Surface,
    /// Azure resources only: where to ask (`/subscriptions/...`); the tenant root when absent.
    pub arm_scope: Option<String>,
    /// Page size asked of the service (`$top`, Graph only); the service's default when absent.
    pub page_size: Option<u32>,
    /// After each page, read the approvals of its requests and fill in which stage waits on me
    /// (`stage`, `stageCount`): one Graph `$batch` of up to twenty reads per twenty requests, or
    /// one ARM read per request, a few at a time. Off by default: a listing then reads no approval.
    pub include_stage: bool,
}

impl Default for ListOptions {
    fn default() -> Self {
        ListOptions { surface: Surface::DirectoryRole, arm_scope: None, page_size: None, include_stage: false }
    }
}

impl ListOptions {
    pub fn from_json(json: Option<&str>) -> Result<ListOptions> {
        let o: ListOptions = parse_options(json, "list options")?;
        if o.page_size.is_some_and(|n| n == 0 || n > 999) {
            return Err(PimError::new(ErrorKind::InvalidOptions, "pageSize must be between 1 and 999."));
        }
        if let Some(scope) = &o.arm_scope {
            crate::validate::arm_scope(scope)?;
        }
        Ok(o)
    }
}

/// Options documents are JSON objects (not arrays, which serde would also accept for a struct);
/// absent or empty means every default.
fn parse_options<T: DeserializeOwned + Default>(json: Option<&str>, what: &str) -> Result<T> {
    let invalid = |e: String| PimError::new(ErrorKind::InvalidOptions, format!("Invalid {what}: {e}."));
    match json.map(str::trim) {
        None | Some("") => Ok(T::default()),
        Some(j) => match serde_json::from_str::<serde_json::Value>(j).map_err(|e| invalid(e.to_string()))? {
            v @ serde_json::Value::Object(_) => serde_json::from_value(v).map_err(|e| invalid(e.to_string())),
            _ => Err(invalid("expected a JSON object".into())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_refuse_unknown_fields_and_bad_values() {
        assert_eq!(ClientOptions::from_json(Some("{\"bogus\":1}")).unwrap_err().kind, ErrorKind::InvalidOptions);
        assert_eq!(ClientOptions::from_json(Some("{")).unwrap_err().kind, ErrorKind::InvalidOptions);
        assert_eq!(ListOptions::from_json(Some("{\"pageSize\":0}")).unwrap_err().kind, ErrorKind::InvalidOptions);
        for bad in [r#"{"maxPages":0}"#, r#"{"maxResponseBytes":10}"#, r#"{"retry":{"minDelayMs":0}}"#] {
            assert_eq!(ClientOptions::from_json(Some(bad)).unwrap_err().kind, ErrorKind::InvalidOptions, "{bad}");
        }
    }
}

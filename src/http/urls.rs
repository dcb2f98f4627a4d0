//! The one place URLs are built. Segments are pushed one by one, so each is encoded as a single
//! segment; ids reach here only after validation. Query components are percent-encoded here too.

use reqwest::Url;

use crate::error::{ErrorKind, PimError, Result};

/// The two services a surface can live on, and so the two kinds of token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// Microsoft Graph.
    Graph,
    /// Azure Resource Manager.
    Arm,
}

/// Where the services are, as configured.
#[derive(Clone, Debug)]
pub(crate) struct Urls {
    pub(crate) graph: Url,
    pub(crate) arm: Url,
}

impl Urls {
    pub(crate) fn root(&self, service: Service) -> &Url {
        match service {
            Service::Graph => &self.graph,
            Service::Arm => &self.arm,
        }
    }

    /// `{graph}/{version}/{segments...}?{query}`.
    pub(crate) fn graph(&self, version: &str, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.graph.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().push(version).extend(segments);
        }
        if !query.is_empty() {
            let q: Vec<String> =
                query.iter().map(|(k, v)| format!("{}={}", encode_query(k), encode_query(v))).collect();
            url.set_query(Some(&q.join("&")));
        }
        url
    }

    /// `{arm}/{segments...}?api-version=...[&$filter=...]`.
    pub(crate) fn arm<'a>(
        &self,
        segments: impl IntoIterator<Item = &'a str>,
        api_version: &str,
        filter: Option<&str>,
    ) -> Url {
        let mut url = self.arm.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        let mut q = format!("api-version={}", encode_query(api_version));
        if let Some(f) = filter {
            q.push_str(&format!("&$filter={}", encode_query(f)));
        }
        url.set_query(Some(&q));
        url
    }

    /// A `nextLink` is followed whole, as given, but only back to the service we started on:
    /// a link elsewhere would carry our token to a stranger.
    pub(crate) fn same_origin(&self, link: &str, service: Service) -> Result<Url> {
        let url = Url::parse(link).map_err(|e| {
            PimError::new(ErrorKind::InvalidResponse, format!("The service sent an invalid nextLink: {e}."))
        })?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(PimError::new(
                ErrorKind::InvalidResponse,
                "The service sent a nextLink with a user name or password in it; not following it.",
            ));
        }
        if url.origin() != self.root(service).origin() {
            return Err(PimError::new(
                ErrorKind::InvalidResponse,
                format!(
                    "The service sent a nextLink to another host ({}); not following it.",
                    url.origin().ascii_serialization()
                ),
            ));
        }
        Ok(url)
    }

    /// A Graph URL relative to `/{version}`, as batch items carry them.
    pub(crate) fn graph_relative(&self, url: &Url, version: &str) -> String {
        let prefix = format!("{}/{version}", self.graph.path().trim_end_matches('/'));
        let path = url.path().strip_prefix(&prefix).unwrap_or(url.path());
        match url.query() {
            Some(q) => format!("{path}?{q}"),
            None => path.to_string(),
        }
    }
}

/// `url` with one more path segment; its query stays.
pub(crate) fn with_segment(url: &Url, segment: &str) -> Url {
    let mut url = url.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.push(segment);
    }
    url
}

/// Percent-encodes a query component (RFC 3986 unreserved characters and `$` stay as they are).
fn encode_query(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~$,".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls() -> Urls {
        Urls {
            graph: Url::parse("https://graph.microsoft.com").unwrap(),
            arm: Url::parse("https://management.azure.com").unwrap(),
        }
    }

    #[test]
    fn urls_encode_each_segment_and_the_query() {
        let c = urls();
        let u = c.graph(
            "v1.0",
            &["roleManagement", "directory", "roleAssignmentScheduleRequests", "filterByCurrentUser(on='approver')"],
            &[("$filter", "status eq 'PendingApproval'")],
        );
        assert_eq!(
            u.as_str(),
            "https://graph.microsoft.com/v1.0/roleManagement/directory/roleAssignmentScheduleRequests/filterByCurrentUser(on='approver')?$filter=status%20eq%20%27PendingApproval%27"
        );
        let u = c.graph("beta", &["a", "x/../y"], &[]);
        assert_eq!(u.path(), "/beta/a/x%2F..%2Fy");
    }

    #[test]
    fn a_segment_added_keeps_the_query() {
        let base = urls().arm(["providers", "x", "stages"], "2021-01-01-preview", None);
        assert_eq!(
            with_segment(&base, "s1").as_str(),
            "https://management.azure.com/providers/x/stages/s1?api-version=2021-01-01-preview"
        );
        let graph = urls().graph("beta", &["a", "steps"], &[]);
        assert_eq!(with_segment(&graph, "s1").as_str(), "https://graph.microsoft.com/beta/a/steps/s1");
        assert_eq!(urls().graph_relative(&with_segment(&graph, "s1"), "beta"), "/a/steps/s1");
    }

    #[test]
    fn next_links_must_stay_on_the_service() {
        let c = urls();
        assert!(c.same_origin("https://graph.microsoft.com/v1.0/x?$skiptoken=1", Service::Graph).is_ok());
        let refused = |link: &str, service| c.same_origin(link, service).unwrap_err().kind;
        assert_eq!(refused("https://evil.example/v1.0/x", Service::Graph), ErrorKind::InvalidResponse);
        assert_eq!(refused("http://graph.microsoft.com/v1.0/x", Service::Graph), ErrorKind::InvalidResponse);
        assert_eq!(refused("https://graph.microsoft.com/x", Service::Arm), ErrorKind::InvalidResponse);
        assert_eq!(refused("https://u:p@graph.microsoft.com/v1.0/x", Service::Graph), ErrorKind::InvalidResponse);
    }
}

//! The client: lists what waits on the signed-in approver and decides it, over Microsoft Graph.

use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use reqwest::{Method, Url, redirect};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use crate::error::{ErrorKind, PimError, Result};
use crate::model::{DecisionOutcome, DecisionTarget, PendingRequest, Review, Surface};
use crate::retry::{RetryPolicy, is_retryable_status, parse_retry_after};
use crate::token::AccessToken;
use crate::validate::{ApprovalId, ArmApprovalId, Justification, service_uri};
use crate::wire;

/// Delegated scopes that may list directory-role requests waiting on me.
pub const DIRECTORY_READ_SCOPES: &[&str] = &[
    "RoleAssignmentSchedule.Read.Directory",
    "RoleAssignmentSchedule.ReadWrite.Directory",
    "RoleManagement.Read.Directory",
    "RoleManagement.ReadWrite.Directory",
    "RoleManagement.Read.All",
];
/// The one delegated scope that may decide directory-role approvals.
pub const DIRECTORY_DECIDE_SCOPES: &[&str] = &["RoleAssignmentSchedule.ReadWrite.Directory"];
/// Delegated scopes that may list group requests waiting on me.
pub const GROUP_READ_SCOPES: &[&str] =
    &["PrivilegedAssignmentSchedule.Read.AzureADGroup", "PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup"];
/// The one delegated scope that may decide group approvals.
pub const GROUP_DECIDE_SCOPES: &[&str] = &["PrivilegedAssignmentSchedule.ReadWrite.AzureADGroup"];

const ARM_LIST_API: &str = "2020-10-01";
const ARM_APPROVAL_API: &str = "2021-01-01-preview";
/// ARM statuses that still wait for an approver.
const ARM_PENDING: &[&str] = &["PendingApproval", "PendingApprovalProvisioning", "PendingAdminDecision"];

/// How a client is set up, from the JSON a C caller passes (every field optional).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ClientOptions {
    /// Graph's service root; national clouds and the emulator use other hosts.
    pub graph_uri: String,
    /// Azure Resource Manager's service root.
    pub arm_uri: String,
    pub timeout_ms: u64,
    pub connect_timeout_ms: u64,
    /// Decisions in flight at once.
    pub max_concurrency: usize,
    pub retry: RetryPolicy,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            graph_uri: "https://graph.microsoft.com".into(),
            arm_uri: "https://management.azure.com".into(),
            timeout_ms: 100_000,
            connect_timeout_ms: 30_000,
            max_concurrency: 8,
            retry: RetryPolicy::default(),
        }
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

impl ClientOptions {
    pub fn from_json(json: Option<&str>) -> Result<ClientOptions> {
        parse_options(json, "client options")
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
}

impl Default for ListOptions {
    fn default() -> Self {
        ListOptions { surface: Surface::DirectoryRole, arm_scope: None, page_size: None }
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

/// A connection to Graph: one HTTP client (connection pool) reused by every call.
#[derive(Debug)]
pub struct PimClient {
    http: reqwest::Client,
    graph: Url,
    arm: Url,
    options: ClientOptions,
}

/// The tokens a decision run may need: Graph for directory roles and groups, ARM for Azure
/// resources. Either may be absent when no request needs it.
#[derive(Clone, Debug, Default)]
pub struct Tokens {
    pub graph: Option<AccessToken>,
    pub arm: Option<AccessToken>,
}

impl Tokens {
    /// The token for `surface`, or the error that says which one is missing.
    pub fn for_surface(&self, surface: Surface) -> Result<&AccessToken> {
        let (token, what) = if surface.uses_graph() {
            (&self.graph, "a Microsoft Graph token")
        } else {
            (&self.arm, "an Azure Resource Manager token (audience https://management.azure.com/)")
        };
        token.as_ref().ok_or_else(|| {
            PimError::new(
                ErrorKind::MissingToken,
                format!("Deciding {surface:?} requests needs {what}, and none was given."),
            )
        })
    }
}

/// Runs `fut` unless `cancel` fires first.
pub(crate) async fn cancellable<T>(cancel: &CancellationToken, fut: impl Future<Output = Result<T>>) -> Result<T> {
    tokio::select! {
        biased;
        _ = cancel.cancelled() => Err(PimError::new(ErrorKind::Cancelled, "The operation was cancelled.")),
        r = fut => r,
    }
}

/// Waits, unless `cancel` fires first.
pub(crate) async fn pause(cancel: &CancellationToken, wait: Duration) -> Result<()> {
    cancellable(cancel, async {
        tokio::time::sleep(wait).await;
        Ok(())
    })
    .await
}

/// One HTTP answer, read whole.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) retry_after: Option<Duration>,
    pub(crate) request_id: Option<String>,
    pub(crate) body: Vec<u8>,
}

impl Answer {
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub(crate) fn error(&self) -> PimError {
        let parsed: wire::ErrorBody = serde_json::from_slice(&self.body).unwrap_or_default();
        let detail = parsed.error.unwrap_or_default();
        let request_id = detail.inner_error.and_then(|i| i.request_id).or_else(|| self.request_id.clone());
        PimError::from_service(self.status, detail.code, detail.message.unwrap_or_default(), request_id)
    }
}

impl PimClient {
    pub fn new(options: ClientOptions) -> Result<PimClient> {
        let graph = service_uri(&options.graph_uri, "The Graph URI")?;
        let arm = service_uri(&options.arm_uri, "The ARM URI")?;
        if options.max_concurrency == 0 || options.max_concurrency > 64 {
            return Err(PimError::new(ErrorKind::InvalidOptions, "maxConcurrency must be between 1 and 64."));
        }
        if options.timeout_ms == 0 || options.connect_timeout_ms == 0 {
            return Err(PimError::new(ErrorKind::InvalidOptions, "Timeouts must be greater than zero."));
        }
        // Follow at most 5 redirects and never from https down to http. reqwest itself drops the
        // Authorization header when a redirect leaves the host.
        let policy = redirect::Policy::custom(|attempt| {
            let downgrade =
                attempt.previous().iter().any(|u| u.scheme() == "https") && attempt.url().scheme() == "http";
            if downgrade {
                attempt.error("refused a redirect from https to http")
            } else if attempt.previous().len() > 5 {
                attempt.error("too many redirects")
            } else {
                attempt.follow()
            }
        });
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(options.timeout_ms))
            .connect_timeout(Duration::from_millis(options.connect_timeout_ms))
            .redirect(policy)
            .user_agent(concat!("PimBridge/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PimError::new(ErrorKind::InvalidOptions, format!("Cannot create the HTTP client: {e}.")))?;
        Ok(PimClient { http, graph, arm, options })
    }

    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// Graph's service root, as configured.
    pub(crate) fn graph_root(&self) -> &Url {
        &self.graph
    }

    /// The one place Graph URLs are built. Segments are pushed one by one, so each is encoded
    /// as a single segment; ids reach here only after validation.
    pub(crate) fn graph_url(&self, version: &str, segments: &[&str], query: &[(&str, &str)]) -> Url {
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

    /// The one place ARM URLs are built: validated segments pushed one by one, and the api-version.
    fn arm_url<'a>(&self, segments: impl IntoIterator<Item = &'a str>, api_version: &str, filter: Option<&str>) -> Url {
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
    fn same_origin(&self, link: &str, service: &Url) -> Result<Url> {
        let url = Url::parse(link).map_err(|e| {
            PimError::new(ErrorKind::InvalidResponse, format!("The service sent an invalid nextLink: {e}."))
        })?;
        if url.origin() != service.origin() {
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

    /// One attempt, read whole. Transport failures become `Network` or `Timeout`.
    pub(crate) async fn execute(
        &self,
        token: &AccessToken,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
    ) -> Result<Answer> {
        let mut req = self
            .http
            .request(method, url.clone())
            .header(reqwest::header::AUTHORIZATION, token.bearer().as_str())
            .header(reqwest::header::ACCEPT, "application/json");
        if let Some(b) = body {
            req = req.header(reqwest::header::CONTENT_TYPE, "application/json").body(b);
        }
        let resp = req.send().await.map_err(|e| transport_error(&e, &url))?;
        let status = resp.status().as_u16();
        let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let retry_after = header("retry-after").and_then(|v| parse_retry_after(&v, SystemTime::now()));
        let request_id = header("request-id").or_else(|| header("x-ms-request-id"));
        let body = resp.bytes().await.map_err(|e| transport_error(&e, &url))?.to_vec();
        Ok(Answer { status, retry_after, request_id, body })
    }

    /// GET with retries (a GET is safe to repeat), parsed as `T`.
    async fn get_json<T: DeserializeOwned>(
        &self,
        token: &AccessToken,
        url: &Url,
        cancel: &CancellationToken,
    ) -> Result<T> {
        let started = Instant::now();
        let mut attempt = 1;
        let mut unreachable = 0;
        loop {
            let outcome = cancellable(cancel, self.execute(token, Method::GET, url.clone(), None)).await;
            let (err, retry_after) = match outcome {
                Ok(a) if a.is_success() => {
                    return serde_json::from_slice(&a.body).map_err(|e| {
                        let mut err = PimError::new(
                            ErrorKind::InvalidResponse,
                            format!("The service's answer could not be read: {e}."),
                        );
                        err.request_id = a.request_id.clone();
                        err
                    });
                }
                Ok(a) if is_retryable_status(a.status) => (a.error(), a.retry_after),
                Ok(a) => return Err(a.error()),
                Err(e) if matches!(e.kind, ErrorKind::Network | ErrorKind::Timeout | ErrorKind::ConnectionLost) => {
                    (e, None)
                }
                Err(e) => return Err(e),
            };
            unreachable = if err.kind == ErrorKind::Network { unreachable + 1 } else { 0 };
            match self.options.retry.delay(attempt, started.elapsed(), retry_after, unreachable) {
                Some(wait) => pause(cancel, wait).await?,
                None => return Err(err),
            }
            attempt += 1;
        }
    }

    /// Lists every request of one surface waiting on the signed-in approver, page by page, names
    /// expanded in the same call. `on_page` sees each page as it arrives. Returns the count.
    pub async fn list_pending(
        &self,
        token: &AccessToken,
        options: &ListOptions,
        cancel: &CancellationToken,
        mut on_page: impl FnMut(Vec<PendingRequest>),
    ) -> Result<usize> {
        let claims = token.claims();
        match options.surface {
            Surface::DirectoryRole => {
                if let Some(info) = &claims {
                    info.check_graph(DIRECTORY_READ_SCOPES, false)?;
                }
                let segments = [
                    "roleManagement",
                    "directory",
                    "roleAssignmentScheduleRequests",
                    "filterByCurrentUser(on='approver')",
                ];
                let url = self.graph_list_url(&segments, "principal,roleDefinition", options);
                self.follow_pages::<wire::Page<wire::RoleRequest>, _>(
                    token,
                    url,
                    &self.graph,
                    cancel,
                    |page| {
                        let items = pending(
                            page.value,
                            |r| r.status.as_deref(),
                            &["PendingApproval"],
                            PendingRequest::from_directory_role,
                        );
                        (items, page.next_link)
                    },
                    &mut on_page,
                )
                .await
            }
            Surface::Group => {
                if let Some(info) = &claims {
                    info.check_graph(GROUP_READ_SCOPES, false)?;
                }
                let segments = [
                    "identityGovernance",
                    "privilegedAccess",
                    "group",
                    "assignmentScheduleRequests",
                    "filterByCurrentUser(on='approver')",
                ];
                let url = self.graph_list_url(&segments, "group,principal", options);
                self.follow_pages::<wire::Page<wire::GroupRequest>, _>(
                    token,
                    url,
                    &self.graph,
                    cancel,
                    |page| {
                        let items = pending(
                            page.value,
                            |r| r.status.as_deref(),
                            &["PendingApproval"],
                            PendingRequest::from_group,
                        );
                        (items, page.next_link)
                    },
                    &mut on_page,
                )
                .await
            }
            Surface::AzureResource => {
                if let Some(info) = &claims {
                    info.check_arm(false)?;
                }
                let scope = crate::validate::arm_scope(options.arm_scope.as_deref().unwrap_or(""))?;
                let segments = scope.iter().map(String::as_str).chain([
                    "providers",
                    "Microsoft.Authorization",
                    "roleAssignmentScheduleRequests",
                ]);
                let url = self.arm_url(segments, ARM_LIST_API, Some("asApprover()"));
                self.follow_pages::<wire::ArmPage<wire::ArmRequest>, _>(
                    token,
                    url,
                    &self.arm,
                    cancel,
                    |page| {
                        let items = pending(
                            page.value,
                            |r| r.properties.as_ref().and_then(|p| p.status.as_deref()),
                            ARM_PENDING,
                            PendingRequest::from_arm,
                        );
                        (items, page.next_link)
                    },
                    &mut on_page,
                )
                .await
            }
        }
    }

    /// `{version}/...?$filter=status eq 'PendingApproval'&$expand=...[&$top=N]` on Graph.
    fn graph_list_url(&self, segments: &[&str], expand: &str, options: &ListOptions) -> Url {
        let filter = format!("status eq {}", crate::validate::odata_literal("PendingApproval"));
        let top = options.page_size.map(|n| n.to_string());
        let mut query = vec![("$filter", filter.as_str()), ("$expand", expand)];
        if let Some(t) = &top {
            query.push(("$top", t));
        }
        self.graph_url("v1.0", segments, &query)
    }

    /// Reads pages until there is no next link, handing each page's requests to `on_page`.
    async fn follow_pages<P: DeserializeOwned, F>(
        &self,
        token: &AccessToken,
        first: Url,
        service: &Url,
        cancel: &CancellationToken,
        split: F,
        on_page: &mut impl FnMut(Vec<PendingRequest>),
    ) -> Result<usize>
    where
        F: Fn(P) -> (Vec<PendingRequest>, Option<String>),
    {
        let mut url = first;
        let mut count = 0;
        loop {
            let page: P = self.get_json(token, &url, cancel).await?;
            let (items, next) = split(page);
            count += items.len();
            on_page(items);
            match next {
                Some(link) => url = self.same_origin(&link, service)?,
                None => return Ok(count),
            }
        }
    }

    /// Where and how a decision on `target` is read and sent: the approval URL, the URL of a
    /// step, the method, and the body. Ids are validated here, before any URL exists.
    pub(crate) fn decision_route(
        &self,
        target: &DecisionTarget,
        review: Review,
        justification: &Justification,
    ) -> Result<DecisionRoute> {
        let body = wire::ReviewBody { review_result: review.wire_value(), justification: justification.as_str() };
        let serialize = |r: std::result::Result<Vec<u8>, serde_json::Error>| {
            r.map_err(|e| PimError::new(ErrorKind::InvalidInput, e.to_string()))
        };
        match target.surface {
            Surface::DirectoryRole | Surface::Group => {
                let id = ApprovalId::parse(&target.approval_id)?;
                let (version, base, steps): (&str, Vec<&str>, &str) = if target.surface == Surface::DirectoryRole {
                    // Directory-role approvals exist in beta only, as steps.
                    ("beta", vec!["roleManagement", "directory", "roleAssignmentApprovals"], "steps")
                } else {
                    ("v1.0", vec!["identityGovernance", "privilegedAccess", "group", "assignmentApprovals"], "stages")
                };
                let mut approval = base.clone();
                approval.push(id.as_str());
                Ok(DecisionRoute {
                    approval: self.graph_url(version, &approval, &[]),
                    step_base: {
                        let mut s = approval.clone();
                        s.push(steps);
                        self.graph_url(version, &s, &[])
                    },
                    step_query: None,
                    method: Method::PATCH,
                    body: serialize(serde_json::to_vec(&body))?,
                    arm: false,
                })
            }
            Surface::AzureResource => {
                let id = ArmApprovalId::parse(&target.approval_id)?;
                let mut stages: Vec<&str> = id.segments().collect();
                stages.push("stages");
                Ok(DecisionRoute {
                    approval: self.arm_url(id.segments(), ARM_APPROVAL_API, None),
                    step_base: self.arm_url(stages, ARM_APPROVAL_API, None),
                    step_query: Some(format!("api-version={ARM_APPROVAL_API}")),
                    // The form known to work against ARM: PUT with the body wrapped in `properties`.
                    method: Method::PUT,
                    body: serialize(serde_json::to_vec(&wire::ArmReviewBody { properties: body }))?,
                    arm: true,
                })
            }
        }
    }

    /// Reads an approval on any surface, as steps.
    async fn read_approval(
        &self,
        token: &AccessToken,
        route: &DecisionRoute,
        cancel: &CancellationToken,
    ) -> Result<wire::Approval> {
        if route.arm {
            let a: wire::ArmApproval = self.get_json(token, &route.approval, cancel).await?;
            Ok(a.into())
        } else {
            self.get_json(token, &route.approval, cancel).await
        }
    }

    /// Decides one request: read its approval, pick the step (stage) that is mine, unreviewed and
    /// in progress, and send the decision to it. An attempt whose outcome is unknown (timeout,
    /// reset, 5xx, 429) is never blindly repeated: the approval is read again first, and if our
    /// decision is there it is reported as made. Returns the step id.
    pub async fn decide(
        &self,
        token: &AccessToken,
        target: &DecisionTarget,
        review: Review,
        justification: &Justification,
        cancel: &CancellationToken,
    ) -> Result<String> {
        let route = self.decision_route(target, review, justification)?;
        let me = token.claims().and_then(|c| c.object_id);
        if let (Some(p), Some(me)) = (&target.principal_id, &me) {
            if p.eq_ignore_ascii_case(me) {
                return Err(PimError::new(
                    ErrorKind::SelfApproval,
                    "This is your own request; an approver cannot approve or deny their own request.",
                ));
            }
        }
        let started = Instant::now();
        let mut attempt = 1;
        let mut unreachable = 0;
        let mut sent = false;
        loop {
            let approval = self.read_approval(token, &route, cancel).await?;
            let step = match approval.steps().iter().find(|s| s.is_open_for_me()) {
                Some(s) => s,
                None => {
                    return match closed_step(&approval, review, sent, me.as_deref()) {
                        Closed::MadeByUs(step_id) => Ok(step_id),
                        Closed::Refused(e) => Err(e),
                    };
                }
            };
            if !is_safe_segment(&step.id) {
                return Err(PimError::new(
                    ErrorKind::InvalidResponse,
                    "The service sent a step id that is not a plain id.",
                ));
            }
            let step_id = step.id.clone();
            let step_url = route.step_url(&step_id);
            if cancel.is_cancelled() {
                return Err(PimError::new(ErrorKind::Cancelled, "The operation was cancelled."));
            }
            sent = true;
            let outcome =
                cancellable(cancel, self.execute(token, route.method.clone(), step_url, Some(route.body.clone())))
                    .await;
            let (err, retry_after) = match outcome {
                Ok(a) if a.is_success() => return Ok(step_id),
                // Our own earlier attempt may be the one that decided it: read again and see.
                Ok(a) if a.status == 409 && attempt > 1 => (a.error(), None),
                Ok(a) if is_retryable_status(a.status) => (a.error(), a.retry_after),
                Ok(a) => return Err(a.error()),
                Err(e) if matches!(e.kind, ErrorKind::Network | ErrorKind::Timeout | ErrorKind::ConnectionLost) => {
                    (e, None)
                }
                Err(e) => return Err(e),
            };
            unreachable = if err.kind == ErrorKind::Network { unreachable + 1 } else { 0 };
            match self.options.retry.delay(attempt, started.elapsed(), retry_after, unreachable) {
                Some(wait) => pause(cancel, wait).await?,
                None => return Err(err),
            }
            attempt += 1;
        }
    }

    /// Decides many requests, of any surfaces, with bounded concurrency; `on_outcome` sees each as
    /// it completes. A token that cannot decide a surface present in `targets` fails the whole
    /// call before anything is sent.
    pub async fn decide_many(
        &self,
        tokens: &Tokens,
        targets: Vec<DecisionTarget>,
        review: Review,
        justification: &Justification,
        cancel: &CancellationToken,
        mut on_outcome: impl FnMut(DecisionOutcome),
    ) -> Result<()> {
        for surface in [Surface::DirectoryRole, Surface::Group, Surface::AzureResource] {
            if targets.iter().any(|t| t.surface == surface) {
                let token = tokens.for_surface(surface)?;
                if let Some(info) = token.claims() {
                    match surface {
                        Surface::DirectoryRole => info.check_graph(DIRECTORY_DECIDE_SCOPES, true)?,
                        Surface::Group => info.check_graph(GROUP_DECIDE_SCOPES, true)?,
                        Surface::AzureResource => info.check_arm(true)?,
                    }
                }
            }
        }
        // Graph requests go in JSON batches of up to 20 (one surface per batch, since directory-role
        // approvals live in beta and group ones in v1.0); ARM has no batching, so one at a time.
        // Either way, at most `max_concurrency` HTTP requests are in flight.
        let indexed: Vec<(usize, DecisionTarget)> = targets.into_iter().enumerate().collect();
        let mut work: Vec<Work> = Vec::new();
        for surface in [Surface::DirectoryRole, Surface::Group] {
            let mine: Vec<(usize, DecisionTarget)> =
                indexed.iter().filter(|(_, t)| t.surface == surface).cloned().collect();
            for chunk in mine.chunks(crate::batch::MAX_BATCH) {
                work.push(Work::Batch(surface, chunk.to_vec()));
            }
        }
        work.extend(
            indexed.into_iter().filter(|(_, t)| t.surface == Surface::AzureResource).map(|(i, t)| Work::One(i, t)),
        );
        let mut outcomes = futures::stream::iter(work)
            .map(|w| async move {
                match w {
                    Work::Batch(surface, chunk) => match tokens.for_surface(surface) {
                        Ok(token) => self.decide_batch(token, surface, chunk, review, justification, cancel).await,
                        Err(e) => {
                            chunk.into_iter().map(|(i, t)| DecisionOutcome::new(i, t, review, Err(e.clone()))).collect()
                        }
                    },
                    Work::One(index, target) => {
                        let r = match tokens.for_surface(target.surface) {
                            Ok(token) => self.decide(token, &target, review, justification, cancel).await,
                            Err(e) => Err(e),
                        };
                        vec![DecisionOutcome::new(index, target, review, r)]
                    }
                }
            })
            .buffer_unordered(self.options.max_concurrency);
        while let Some(batch) = outcomes.next().await {
            for outcome in batch {
                on_outcome(outcome);
            }
            if cancel.is_cancelled() {
                return Err(PimError::new(ErrorKind::Cancelled, "The operation was cancelled."));
            }
        }
        Ok(())
    }
}

/// One unit of decision work: a Graph batch of one surface, or one ARM request.
enum Work {
    Batch(Surface, Vec<(usize, DecisionTarget)>),
    One(usize, DecisionTarget),
}

/// How one decision is read and sent, whatever the surface.
pub(crate) struct DecisionRoute {
    pub(crate) approval: Url,
    /// The URL of the step collection; a step id is pushed onto it.
    step_base: Url,
    step_query: Option<String>,
    pub(crate) method: Method,
    pub(crate) body: Vec<u8>,
    /// ARM nests approvals differently.
    arm: bool,
}

impl DecisionRoute {
    pub(crate) fn step_url(&self, step_id: &str) -> Url {
        let mut url = self.step_base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.push(step_id);
        }
        url.set_query(self.step_query.as_deref());
        url
    }
}

/// Keeps the requests whose status says they wait, as the domain model.
fn pending<W>(
    items: Vec<W>,
    status: impl Fn(&W) -> Option<&str>,
    waiting: &[&str],
    convert: impl Fn(W) -> PendingRequest,
) -> Vec<PendingRequest> {
    items.into_iter().filter(|w| waiting.iter().any(|s| wire::eq(status(w), s))).map(convert).collect()
}

impl DecisionOutcome {
    pub(crate) fn new(index: usize, target: DecisionTarget, review: Review, r: Result<String>) -> DecisionOutcome {
        let (result, step_id, error) = match r {
            Ok(step) => (review.past_tense(), Some(step), None),
            Err(e) => ("Failed", None, Some(e)),
        };
        DecisionOutcome {
            index,
            approval_id: target.approval_id,
            surface: target.surface,
            result,
            step_id,
            decided_at: error.is_none().then(|| rfc3339(SystemTime::now())),
            error,
        }
    }
}

/// Why no step is open for me.
pub(crate) enum Closed {
    /// Our own earlier attempt closed it: the decision was made (the step id).
    MadeByUs(String),
    /// Nothing can be sent, and this says why.
    Refused(PimError),
}

pub(crate) fn closed_step(approval: &wire::Approval, review: Review, sent: bool, me: Option<&str>) -> Closed {
    let mine: Vec<&wire::ApprovalStep> = approval.steps().iter().filter(|s| s.assigned_to_me == Some(true)).collect();
    if sent {
        let ours = mine.iter().find(|s| {
            let result = s.review_result.as_deref().unwrap_or_default();
            let same =
                result.eq_ignore_ascii_case(review.wire_value()) || result.eq_ignore_ascii_case(review.past_tense());
            let by_me = match (me, &s.reviewed_by) {
                (Some(me), Some(who)) => who.to_string().to_ascii_lowercase().contains(&me.to_ascii_lowercase()),
                _ => true,
            };
            same && by_me
        });
        if let Some(s) = ours {
            return Closed::MadeByUs(s.id.clone());
        }
    }
    if mine.iter().any(|s| !s.is_unreviewed()) {
        let result = mine.iter().find_map(|s| s.review_result.clone()).unwrap_or_else(|| "decided".into());
        return Closed::Refused(PimError::new(
            ErrorKind::AlreadyDecided,
            format!("This request has already been decided ({result}); nothing was sent."),
        ));
    }
    if let Some(s) = mine.first() {
        return Closed::Refused(PimError::new(
            ErrorKind::NotAssignedToMe,
            format!(
                "Your approval step is not in progress (status {}); nothing was sent.",
                s.status.as_deref().unwrap_or("unknown")
            ),
        ));
    }
    Closed::Refused(PimError::new(
        ErrorKind::NotAssignedToMe,
        "No approval step of this request is assigned to you; nothing was sent.",
    ))
}

/// Step ids go into a URL: accept only plain ids.
pub(crate) fn is_safe_segment(s: &str) -> bool {
    !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
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

/// `2026-11-26T14:52:12Z`.
fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0) as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, (rem / 60) % 60, rem % 60)
}

fn transport_error(e: &reqwest::Error, url: &Url) -> PimError {
    let host = url.host_str().unwrap_or("the service");
    if e.is_timeout() {
        PimError::new(ErrorKind::Timeout, format!("{host} did not answer in time."))
    } else if e.is_redirect() {
        PimError::new(ErrorKind::Network, format!("Refused a redirect from {host}: {}", source_chain(e)))
    } else if e.is_connect() {
        // Nobody answered at all: a down or wrong endpoint.
        PimError::new(ErrorKind::Network, format!("Cannot reach {host}: {}", source_chain(e)))
    } else {
        // Connected, then lost: the request may or may not have been acted on.
        PimError::new(
            ErrorKind::ConnectionLost,
            format!("The connection to {host} was lost before its answer came: {}", source_chain(e)),
        )
    }
}

/// The error and its causes, e.g. "error sending request: connection refused". No URLs with
/// secrets can appear: tokens travel in headers, never in URLs.
fn source_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        parts.push(s.to_string());
        cur = s.source();
    }
    parts.dedup();
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> PimClient {
        PimClient::new(ClientOptions::default()).unwrap()
    }

    #[test]
    fn urls_encode_each_segment_and_the_query() {
        let c = client();
        let u = c.graph_url(
            "v1.0",
            &["roleManagement", "directory", "roleAssignmentScheduleRequests", "filterByCurrentUser(on='approver')"],
            &[("$filter", "status eq 'PendingApproval'")],
        );
        assert_eq!(
            u.as_str(),
            "https://graph.microsoft.com/v1.0/roleManagement/directory/roleAssignmentScheduleRequests/filterByCurrentUser(on='approver')?$filter=status%20eq%20%27PendingApproval%27"
        );
        let u = c.graph_url("beta", &["a", "x/../y"], &[]);
        assert_eq!(u.path(), "/beta/a/x%2F..%2Fy");
    }

    #[test]
    fn next_links_must_stay_on_the_service() {
        let c = client();
        let g = c.graph.clone();
        assert!(c.same_origin("https://graph.microsoft.com/v1.0/x?$skiptoken=1", &g).is_ok());
        assert_eq!(c.same_origin("https://evil.example/v1.0/x", &g).unwrap_err().kind, ErrorKind::InvalidResponse);
        assert_eq!(
            c.same_origin("http://graph.microsoft.com/v1.0/x", &g).unwrap_err().kind,
            ErrorKind::InvalidResponse
        );
        let arm = c.arm.clone();
        assert_eq!(c.same_origin("https://graph.microsoft.com/x", &arm).unwrap_err().kind, ErrorKind::InvalidResponse);
    }

    #[test]
    fn options_refuse_unknown_fields_and_insecure_uris() {
        assert_eq!(ClientOptions::from_json(Some("{\"bogus\":1}")).unwrap_err().kind, ErrorKind::InvalidOptions);
        assert_eq!(ClientOptions::from_json(Some("{")).unwrap_err().kind, ErrorKind::InvalidOptions);
        let o = ClientOptions::from_json(Some("{\"graphUri\":\"http://example.com\"}")).unwrap();
        assert_eq!(PimClient::new(o).unwrap_err().kind, ErrorKind::InsecureUri);
        assert_eq!(ListOptions::from_json(Some("{\"pageSize\":0}")).unwrap_err().kind, ErrorKind::InvalidOptions);
    }

    #[test]
    fn dates_convert() {
        let t = httpdate::parse_http_date("Thu, 26 Nov 2026 14:52:12 GMT").unwrap();
        assert_eq!(rfc3339(t), "2026-11-26T14:52:12Z");
    }
}

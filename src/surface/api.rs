//! The contract between the core and each surface ([`SurfaceApi`]), the route of a decision, and
//! the pieces the surfaces share: the Graph list and decision routes, the filter on statuses that
//! still wait, and the schedule and ticket fields every surface maps alike.

use std::collections::HashMap;

use reqwest::{Method, Url};
use serde::Serialize;

use crate::error::{ErrorKind, PimError, Result};
use crate::http::paging::Page;
use crate::http::urls::{Service, Urls, with_segment};
use crate::model::PendingRequest;
use crate::options::ListOptions;
use crate::time::iso8601_seconds;
use crate::validate::odata_literal;
use crate::wire::{self, Approval, DirectoryObject, ReviewBody};

/// What a surface is, as plain facts.
pub(crate) struct Facts {
    /// The name of its [`Surface`](crate::model::Surface) variant.
    pub(crate) name: &'static str,
    /// The service it is reached on, and so the token it takes.
    pub(crate) service: Service,
    /// Delegated scopes, any one of which may list its requests (none for ARM).
    pub(crate) read_scopes: &'static [&'static str],
    /// Delegated scopes, any one of which may decide them (none for ARM).
    pub(crate) decide_scopes: &'static [&'static str],
    /// The Graph version its decisions are batched under; `None` when its service has no batching.
    pub(crate) batch_version: Option<&'static str>,
}

/// What the rest of the core needs from one surface.
pub(crate) trait SurfaceApi: Sync {
    fn facts(&self) -> &'static Facts;
    /// Whether an approval id has a shape only this surface's ids have.
    fn owns_id_shape(&self, _approval_id: &str) -> bool {
        false
    }
    /// The first page of the requests waiting on the signed-in approver, with the query options
    /// `query` allows (Graph; ARM has none to drop).
    fn list_url(&self, urls: &Urls, options: &ListOptions, query: ListQuery) -> Result<Url>;
    /// One page: the requests that still wait, as the model, and the next page's link.
    fn read_page(&self, body: &[u8]) -> serde_json::Result<Page<PendingRequest>>;
    /// Where and how a decision is read and sent. The id is validated here, before any URL exists.
    fn decision_route(&self, urls: &Urls, approval_id: &str, review: &ReviewBody) -> Result<DecisionRoute>;
    /// Where the approval of `approval_id` is read (the route a decision reads first). The id is
    /// validated here, before any URL exists.
    fn approval_url(&self, urls: &Urls, approval_id: &str) -> Result<Url> {
        let review = ReviewBody { review_result: "Approve", justification: "" };
        Ok(self.decision_route(urls, approval_id, &review)?.approval)
    }
    /// An approval as the service sends it, as steps. Graph's shape unless the surface says otherwise.
    fn read_approval(&self, body: &[u8]) -> serde_json::Result<Approval> {
        serde_json::from_slice(body)
    }
    /// The ids a listed request names without their names (asked only of a page listed without
    /// `$expand`): directory objects (users, groups, service principals) and role definitions.
    fn unnamed(&self, _p: &PendingRequest) -> Unnamed {
        Unnamed::default()
    }
    /// Fills in the names that `names` holds for the ids [`SurfaceApi::unnamed`] gave.
    fn name(&self, _p: &mut PendingRequest, _names: &Names) {}
    /// Where to learn who a request is for, knowing only its approval id (to tell whether a
    /// refused decision was the approver's own request). The id is validated here.
    fn principal_lookup(&self, urls: &Urls, approval_id: &str) -> Result<Url>;
    /// The principals of the requests on one page of [`SurfaceApi::principal_lookup`] that
    /// `approval_id` belongs to, and the next page's link.
    fn read_principals(&self, body: &[u8], approval_id: &str) -> serde_json::Result<Page<String>>;
}

/// A Graph request read by its id (on Graph a request's approval id is its own id, as the
/// published approver answers show): `v1.0/{segments}/{id}?$select=id,approvalId,principalId`.
pub(crate) fn graph_request_url(urls: &Urls, segments: &[&str], id: &str) -> Url {
    let mut path = segments.to_vec();
    path.push(id);
    urls.graph("v1.0", &path, &[("$select", "id,approvalId,principalId")])
}

/// The principal of a Graph request read by id, when it is the request of `approval_id`.
pub(crate) fn read_graph_principal(body: &[u8], approval_id: &str) -> serde_json::Result<Page<String>> {
    #[derive(serde::Deserialize, Default)]
    #[serde(rename_all = "camelCase", default)]
    struct Request {
        id: Option<String>,
        approval_id: Option<String>,
        principal_id: Option<String>,
    }
    let r: Request = serde_json::from_slice(body)?;
    let same = |v: &Option<String>| v.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(approval_id));
    let principal = if same(&r.approval_id) || same(&r.id) { non_empty(r.principal_id) } else { None };
    Ok((principal.into_iter().collect(), None))
}

/// How one decision is read and sent, whatever the surface.
#[derive(Clone, Debug)]
pub(crate) struct DecisionRoute {
    /// The approval, read to find the step that is mine.
    pub(crate) approval: Url,
    /// The collection of steps; a step id is pushed onto it.
    pub(crate) steps: Url,
    /// The published ways to send the decision, the first tried first (one on Graph). Where the
    /// sources disagree (ARM: PUT or PATCH, the body in `properties` or not), every form is here.
    pub(crate) forms: Vec<DecisionForm>,
}

/// One way to send a decision: a method and a body.
#[derive(Clone, Debug)]
pub(crate) struct DecisionForm {
    pub(crate) method: Method,
    pub(crate) body: Vec<u8>,
    /// The body's review fields wrapped in a `properties` object (ARM's resource shape).
    pub(crate) wrapped: bool,
}

impl DecisionRoute {
    pub(crate) fn step_url(&self, step_id: &str) -> Url {
        with_segment(&self.steps, step_id)
    }

    /// The form to try after `tried` (a bit per form) when the service refused form `current` as
    /// not its own: a 405 (the method) asks for the other method with the same body, a 400 (the
    /// body, or any other refusal) for the other body with the same method. A refused form is not
    /// applied, so trying another never decides twice. `None` when no such form is left.
    pub(crate) fn other_form(&self, current: usize, tried: u32, status: u16) -> Option<usize> {
        let now = self.forms.get(current)?;
        let wanted = |f: &DecisionForm| match status {
            405 => f.method != now.method && f.wrapped == now.wrapped,
            400 => f.method == now.method && f.wrapped != now.wrapped,
            _ => false,
        };
        (0..self.forms.len()).find(|&i| tried & (1 << i) == 0 && wanted(&self.forms[i]))
    }
}

/// Serializes a decision body; it cannot fail for these types, but is not unwrapped.
pub(crate) fn body_bytes(body: &impl Serialize) -> Result<Vec<u8>> {
    serde_json::to_vec(body).map_err(|e| PimError::new(ErrorKind::InvalidInput, e.to_string()))
}

/// The route of a Graph surface: read `{base}/{id}`, PATCH `{base}/{id}/{steps}/{step}`.
pub(crate) fn graph_route(
    urls: &Urls,
    version: &str,
    base: &[&str],
    id: &str,
    steps: &str,
    review: &ReviewBody,
) -> Result<DecisionRoute> {
    let mut approval: Vec<&str> = base.to_vec();
    approval.push(id);
    let approval_url = urls.graph(version, &approval, &[]);
    approval.push(steps);
    Ok(DecisionRoute {
        approval: approval_url,
        steps: urls.graph(version, &approval, &[]),
        forms: vec![DecisionForm { method: Method::PATCH, body: body_bytes(review)?, wrapped: false }],
    })
}

/// The query options a list may carry that a service may refuse: whether the Graph
/// `filterByCurrentUser` functions take `$expand` and `$top` is published nowhere
/// (`docs/service-fidelity.md` §7.1-3). `top` is sent only when a page size was asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ListQuery {
    pub(crate) expand: bool,
    pub(crate) top: bool,
}

/// Ids that a listed request names without their names.
#[derive(Debug, Default)]
pub(crate) struct Unnamed {
    /// Users, groups and service principals: `POST /v1.0/directoryObjects/getByIds`.
    pub(crate) objects: Vec<String>,
    /// Directory role definitions: `GET /v1.0/roleManagement/directory/roleDefinitions/{id}`.
    pub(crate) role_definitions: Vec<String>,
}

/// Names looked up in bulk, by id in lower case.
#[derive(Debug, Default)]
pub(crate) struct Names {
    pub(crate) objects: HashMap<String, DirectoryObject>,
    pub(crate) role_definitions: HashMap<String, String>,
}

impl Names {
    pub(crate) fn object(&self, id: Option<&str>) -> Option<&DirectoryObject> {
        id.and_then(|id| self.objects.get(&id.to_ascii_lowercase()))
    }

    pub(crate) fn role_definition(&self, id: Option<&str>) -> Option<String> {
        id.and_then(|id| self.role_definitions.get(&id.to_ascii_lowercase())).cloned()
    }

    /// The principal's name and user principal name, where the request has none yet.
    pub(crate) fn principal(&self, p: &mut PendingRequest) {
        if let Some(o) = self.object(p.principal_id.as_deref()) {
            p.principal_name = p.principal_name.take().or_else(|| non_empty(o.display_name.clone()));
            p.principal_upn = p.principal_upn.take().or_else(|| non_empty(o.user_principal_name.clone()));
        }
    }
}

/// The principal of a request, when the list gave its id but not its name.
pub(crate) fn unnamed_principal(p: &PendingRequest) -> Option<String> {
    p.principal_id.clone().filter(|_| p.principal_name.is_none())
}

/// `v1.0/...?$filter=status eq 'PendingApproval'[&$expand=...][&$top=N]` on Graph.
pub(crate) fn graph_list_url(
    urls: &Urls,
    segments: &[&str],
    expand: &str,
    options: &ListOptions,
    query: ListQuery,
) -> Url {
    let filter = format!("status eq {}", odata_literal("PendingApproval"));
    let top = options.page_size.filter(|_| query.top).map(|n| n.to_string());
    let mut pairs = vec![("$filter", filter.as_str())];
    if query.expand {
        pairs.push(("$expand", expand));
    }
    if let Some(t) = &top {
        pairs.push(("$top", t));
    }
    urls.graph("v1.0", segments, &pairs)
}

/// Keeps the requests whose status says they still wait for an approver, as the model.
pub(crate) fn keep_waiting<W>(
    items: Vec<W>,
    status: impl Fn(&W) -> Option<&str>,
    waiting: &[&str],
    convert: impl Fn(W) -> PendingRequest,
) -> Vec<PendingRequest> {
    items.into_iter().filter(|w| waiting.iter().any(|s| wire::eq(status(w), s))).map(convert).collect()
}

/// Empty strings (Graph sends `"ticketNumber": ""`) are as good as absent.
pub(crate) fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|v| !v.trim().is_empty())
}

/// The fields every surface fills alike, from the shared schedule and ticket shapes.
pub(crate) fn schedule_and_ticket(
    p: &mut PendingRequest,
    schedule: Option<wire::ScheduleInfo>,
    ticket: Option<wire::TicketInfo>,
) {
    let schedule = schedule.unwrap_or_default();
    let expiration = schedule.expiration.unwrap_or_default();
    let ticket = ticket.unwrap_or_default();
    p.ticket_system = non_empty(ticket.ticket_system);
    p.ticket_number = non_empty(ticket.ticket_number);
    p.starts_at = non_empty(schedule.start_date_time);
    p.duration = non_empty(expiration.duration);
    p.duration_seconds = p.duration.as_deref().and_then(iso8601_seconds);
    p.ends_at = non_empty(expiration.end_date_time);
}

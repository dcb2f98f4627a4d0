//! Listing: every request of one surface that waits on the signed-in approver, page by page.
//!
//! Whether the Graph `filterByCurrentUser` functions take `$expand` and `$top` is published
//! nowhere (`docs/service-fidelity.md` §7.1-3). When the first page is refused with a 400, it is
//! asked again without them (first without `$expand`, then without `$top`, then without both),
//! and what was refused is remembered for the rest of the client's life. The names the service
//! would have expanded are then looked up in bulk, page by page, never one call per request:
//! users, groups and service principals with `POST /v1.0/directoryObjects/getByIds` (up to 1,000
//! ids a call), directory role definitions in `$batch`es of up to twenty
//! `GET /v1.0/roleManagement/directory/roleDefinitions/{id}`. The look-ups are a courtesy: when
//! one fails (a token without `Directory.Read.All`, say) the requests come without those names.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use reqwest::{Method, Url};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::decide::rounds::{Carrier, read_approvals};
use crate::error::Result;
use crate::http::batch::{BatchItem, MAX_BATCH, send_batch};
use crate::http::cancellable;
use crate::http::paging::{BadItem, Paging};
use crate::http::retry::{Budget, retry};
use crate::http::trace::{TraceEvent, TraceLevel};
use crate::http::transport::{Http, Response, judge};
use crate::http::urls::Service;
use crate::model::{ListError, PendingRequest, Surface};
use crate::options::ListOptions;
use crate::surface::api::{ListQuery, Names, SurfaceApi};
use crate::token::AccessToken;
use crate::validate::is_plain_segment;
use crate::wire::{self, DirectoryObject};

/// Most ids `directoryObjects/getByIds` takes in one call (`directoryobject-getbyids.md`).
pub(crate) const MAX_IDS: usize = 1000;

/// The query options each surface's service refused, remembered for the client's life.
#[derive(Debug, Default)]
pub(crate) struct Refusals(Mutex<HashMap<Surface, ListQuery>>);

impl Refusals {
    /// What to ask for: every option not refused before (`$top` only when a page size is asked).
    fn query(&self, surface: Surface, options: &ListOptions) -> ListQuery {
        let refused = self.refused(surface);
        ListQuery { expand: !refused.expand, top: options.page_size.is_some() && !refused.top }
    }

    fn refused(&self, surface: Surface) -> ListQuery {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&surface).copied().unwrap_or(ListQuery { expand: false, top: false })
    }

    /// `asked` was refused and `taken` answered: what `asked` had and `taken` dropped was refused.
    fn remember(&self, surface: Surface, asked: ListQuery, taken: ListQuery) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let r = map.entry(surface).or_insert(ListQuery { expand: false, top: false });
        r.expand |= asked.expand && !taken.expand;
        r.top |= asked.top && !taken.top;
    }
}

/// Lists every request of `options.surface` waiting on the signed-in approver, within one time
/// budget; `on_page` sees each page as it arrives, names filled in, an item that could not be read
/// as its own error. Paging stops at a loop or after `max_pages` (`http/paging.rs`). Returns the
/// count, bad items included.
// Each item is a value in a list, not an error passed up with `?`: its size does not matter.
#[allow(clippy::result_large_err)]
pub(crate) async fn list_pending(
    http: &Http,
    refusals: &Refusals,
    max_pages: u32,
    token: &AccessToken,
    options: &ListOptions,
    cancel: &CancellationToken,
    on_page: &mut impl FnMut(Vec<std::result::Result<PendingRequest, ListError>>),
) -> Result<usize> {
    let surface = options.surface;
    surface.check_token(token, false)?;
    let api = surface.api();
    let service = surface.service();
    let budget = Budget::start(&http.retry);
    let (first, answer, query) = first_page(http, refusals, token, options, &budget, cancel).await?;
    let paging = Paging { http, token, service, max_pages, budget: &budget, cancel };
    let look_up_names = service == Service::Graph && !query.expand;
    let mut lookups = Lookups::default();
    let mut pages = paging.pages(first, Some(answer), |b| api.read_page(b), PendingRequest::check);
    while let Some(mut items) = pages.next().await? {
        if look_up_names {
            let mut good: Vec<&mut PendingRequest> = items.iter_mut().filter_map(|i| i.as_mut().ok()).collect();
            lookups.name(http, token, api, &mut good, &budget, cancel).await;
        }
        if options.include_stage {
            let mut good: Vec<&mut PendingRequest> = items.iter_mut().filter_map(|i| i.as_mut().ok()).collect();
            fill_stages(http, token, surface, &mut good, &budget, cancel).await;
        }
        let to_error = |b: BadItem| ListError { surface, request_id: b.id, approval_id: b.approval_id, error: b.error };
        on_page(items.into_iter().map(|i| i.map_err(to_error)).collect());
    }
    Ok(pages.count)
}

/// The first page's address, its answer, and the query options it was listed with. On Graph, a
/// 400 is asked again without the options the service may refuse; the first answer wins and is
/// remembered.
async fn first_page(
    http: &Http,
    refusals: &Refusals,
    token: &AccessToken,
    options: &ListOptions,
    budget: &Budget,
    cancel: &CancellationToken,
) -> Result<(Url, Response, ListQuery)> {
    let surface = options.surface;
    let api = surface.api();
    if surface.service() != Service::Graph {
        let all = ListQuery { expand: true, top: true };
        let url = api.list_url(&http.urls, options, all)?;
        let answer = http.get(token, &url, budget, cancel).await?;
        return Ok((url, answer, all));
    }
    let asked = refusals.query(surface, options);
    let url = api.list_url(&http.urls, options, asked)?;
    let refused = match http.get(token, &url, budget, cancel).await {
        Ok(answer) => return Ok((url, answer, asked)),
        Err(e) if e.http_status == 400 => e,
        Err(e) => return Err(e),
    };
    for taken in fallbacks(asked) {
        let url = api.list_url(&http.urls, options, taken)?;
        match http.get(token, &url, budget, cancel).await {
            Ok(answer) => {
                refusals.remember(surface, asked, taken);
                return Ok((url, answer, taken));
            }
            Err(e) if e.http_status == 400 => continue,
            Err(e) => return Err(e),
        }
    }
    Err(refused)
}

/// What to try after `asked` was refused: without `$expand`, then without `$top`, then without both.
fn fallbacks(asked: ListQuery) -> Vec<ListQuery> {
    let mut tries = Vec::new();
    if asked.expand {
        tries.push(ListQuery { expand: false, top: asked.top });
    }
    if asked.top {
        tries.push(ListQuery { expand: asked.expand, top: false });
    }
    if asked.expand && asked.top {
        tries.push(ListQuery { expand: false, top: false });
    }
    tries
}

/// ARM approval reads in flight at once when a listing reads stages (ARM has no batching).
const STAGE_READS_IN_FLIGHT: usize = 4;

/// Fills in which stage waits on me (`stage`, `stage_count`) for the requests of one page, read
/// as a decision reads them (`decide/rounds.rs` `read_approvals`: Graph in `$batch`es of twenty,
/// ARM one GET each, a few at a time) and picked by the same rule (`Approval::stage_of_mine`, the
/// step a decision would go to). One attempt each: a request whose approval cannot be read, or
/// shows no step open for me, keeps no stage, says why in the trace, and the listing goes on.
async fn fill_stages(
    http: &Http,
    token: &AccessToken,
    surface: Surface,
    items: &mut [&mut PendingRequest],
    budget: &Budget,
    cancel: &CancellationToken,
) {
    let api = surface.api();
    let unread = |p: &PendingRequest, reason: &str| {
        if let Some(t) = budget.trace.as_ref().filter(|t| t.records(TraceLevel::Calls)) {
            let reason = reason.to_string();
            t.record(TraceEvent::StageUnread { at_ms: t.at_ms(), approval_id: p.approval_id.clone(), reason });
        }
    };
    let mut reads = Vec::new();
    for (n, p) in items.iter().enumerate() {
        match api.approval_url(&http.urls, &p.approval_id) {
            Ok(url) => reads.push((n, url)),
            Err(e) => unread(p, &e.message),
        }
    }
    let carrier = surface.batch_version().map_or(Carrier::Direct, Carrier::Batch);
    for chunk in reads.chunks(MAX_BATCH) {
        if cancel.is_cancelled() {
            return;
        }
        let (replies, _) =
            read_approvals(http, token, carrier, chunk.to_vec(), budget, cancel, STAGE_READS_IN_FLIGHT).await;
        let mut answered = HashSet::new();
        for (n, reply) in replies {
            let Some(p) = items.get_mut(n) else { continue };
            answered.insert(n);
            let read =
                reply.and_then(|a| if a.is_success() { a.read(|b| api.read_approval(b)) } else { Err(a.error()) });
            match read.map(|a| a.stage_of_mine()) {
                Ok(Some((at, of))) => {
                    p.stage = Some(format!("{at} of {of}"));
                    p.stage_count = u32::try_from(of).ok();
                }
                Ok(None) => unread(p, "its approval shows no stage open for you"),
                Err(e) => unread(p, &format!("its approval could not be read ({})", e.message)),
            }
        }
        for (n, _) in chunk.iter().filter(|(n, _)| !answered.contains(n)) {
            unread(items[*n], "its approval read had no answer");
        }
    }
}

/// The names looked up during one listing, and the ids already asked for (found or not), so
/// that no id is asked twice.
#[derive(Default)]
struct Lookups {
    names: Names,
    asked_objects: HashSet<String>,
    asked_roles: HashSet<String>,
}

impl Lookups {
    /// Fills in the names of one page, asking only for ids not asked before.
    async fn name(
        &mut self,
        http: &Http,
        token: &AccessToken,
        api: &dyn SurfaceApi,
        items: &mut [&mut PendingRequest],
        budget: &Budget,
        cancel: &CancellationToken,
    ) {
        let mut objects = Vec::new();
        let mut roles = Vec::new();
        for p in items.iter() {
            let unnamed = api.unnamed(p);
            objects.extend(unnamed.objects.into_iter().filter(|id| self.asked_objects.insert(id.to_ascii_lowercase())));
            roles.extend(
                unnamed
                    .role_definitions
                    .into_iter()
                    .filter(|id| is_plain_segment(id) && self.asked_roles.insert(id.to_ascii_lowercase())),
            );
        }
        for chunk in objects.chunks(MAX_IDS) {
            if let Ok(found) = get_by_ids(http, token, chunk, budget, cancel).await {
                for o in found {
                    if let Some(id) = o.id.clone() {
                        self.names.objects.insert(id.to_ascii_lowercase(), o);
                    }
                }
            }
        }
        for chunk in roles.chunks(MAX_BATCH) {
            for (id, name) in role_definitions(http, token, chunk, budget, cancel).await {
                self.names.role_definitions.insert(id.to_ascii_lowercase(), name);
            }
        }
        for p in items.iter_mut() {
            api.name(p, &self.names);
        }
    }
}

/// The body of `directoryObjects/getByIds`.
#[derive(Serialize)]
struct GetByIds<'a> {
    ids: &'a [String],
    types: [&'static str; 3],
}

/// `POST /v1.0/directoryObjects/getByIds` (safe to repeat: it only reads), retried as a GET is.
async fn get_by_ids(
    http: &Http,
    token: &AccessToken,
    ids: &[String],
    budget: &Budget,
    cancel: &CancellationToken,
) -> Result<Vec<DirectoryObject>> {
    let url: Url = http.urls.graph("v1.0", &["directoryObjects", "getByIds"], &[]);
    let body = serde_json::to_vec(&GetByIds { ids, types: ["user", "group", "servicePrincipal"] }).unwrap_or_default();
    let (url, body) = (&url, &body);
    let answer = retry(&http.retry, budget, cancel, (), |()| async move {
        let sent =
            cancellable(cancel, http.execute(token, Method::POST, url.clone(), Some(body.clone()), budget)).await;
        ((), judge(sent))
    })
    .await?;
    let page: wire::Page<DirectoryObject> = answer.read(|b| serde_json::from_slice(b))?;
    Ok(page.value)
}

/// Up to twenty role definitions' names in one `$batch` (v1.0). Items that fail are left out.
async fn role_definitions(
    http: &Http,
    token: &AccessToken,
    ids: &[String],
    budget: &Budget,
    cancel: &CancellationToken,
) -> Vec<(String, String)> {
    let items = ids
        .iter()
        .enumerate()
        .map(|(n, id)| {
            let url = http.urls.graph(
                "v1.0",
                &["roleManagement", "directory", "roleDefinitions", id],
                &[("$select", "id,displayName")],
            );
            BatchItem::get(n, http.urls.graph_relative(&url, "v1.0"))
        })
        .collect();
    let (replies, _) = send_batch(http, token, "v1.0", items, budget, cancel, None).await;
    let mut names = Vec::new();
    for (n, reply) in replies {
        let (Some(id), Ok(answer)) = (n.parse::<usize>().ok().and_then(|n| ids.get(n)), reply) else { continue };
        if !answer.is_success() {
            continue;
        }
        if let Ok(Some(name)) = answer.read(|b| serde_json::from_slice::<DirectoryObject>(b)).map(|r| r.display_name) {
            names.push((id.clone(), name));
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn q(expand: bool, top: bool) -> ListQuery {
        ListQuery { expand, top }
    }

    #[test]
    fn a_refused_list_is_asked_again_without_each_option_then_both() {
        assert_eq!(fallbacks(q(true, true)), [q(false, true), q(true, false), q(false, false)]);
        assert_eq!(fallbacks(q(true, false)), [q(false, false)]);
        assert_eq!(fallbacks(q(false, true)), [q(false, false)]);
        assert!(fallbacks(q(false, false)).is_empty());
    }

    #[test]
    fn what_was_refused_is_remembered_per_surface() {
        let r = Refusals::default();
        let sized = ListOptions { page_size: Some(10), ..ListOptions::default() };
        assert_eq!(r.query(Surface::Group, &sized), q(true, true));
        assert_eq!(r.query(Surface::Group, &ListOptions::default()), q(true, false), "no $top without a page size");
        r.remember(Surface::Group, q(true, true), q(true, false));
        assert_eq!(r.query(Surface::Group, &sized), q(true, false));
        r.remember(Surface::Group, q(true, false), q(false, false));
        assert_eq!(r.query(Surface::Group, &sized), q(false, false));
        assert_eq!(r.query(Surface::DirectoryRole, &sized), q(true, true), "another surface is not affected");
    }
}

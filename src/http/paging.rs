//! Collections that come in pages: each page read (with retries), handed on as it arrives, item by
//! item, and the next link followed only back to the same service, never twice, and only so many
//! times. One item that cannot be read is one error; the rest of the page and the listing go on.

use std::collections::HashSet;

use reqwest::Url;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::retry::Budget;
use super::transport::{Http, Response};
use super::urls::Service;
use crate::error::{ErrorKind, PimError, Result};
use crate::token::AccessToken;

/// One page as a surface reads it: its items, and the link to the next page if there is one.
pub(crate) type Page<T> = (Vec<T>, Option<String>);

/// An item of a page that could not be read or checked: the ids it carries, as far as they can be
/// read, and why.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct BadItem {
    /// The item's own id (`id`, or ARM's `name`).
    pub(crate) id: Option<String>,
    /// Its approval's id (`approvalId`, or ARM's `properties.approvalId`).
    pub(crate) approval_id: Option<String>,
    pub(crate) error: PimError,
}

/// Where a listing may go, and how far.
pub(crate) struct Paging<'a> {
    pub(crate) http: &'a Http,
    pub(crate) token: &'a AccessToken,
    pub(crate) service: Service,
    pub(crate) max_pages: u32,
    pub(crate) budget: &'a Budget,
    pub(crate) cancel: &'a CancellationToken,
}

impl<'a> Paging<'a> {
    /// The pages from `first` one at a time, for a caller with more to do between pages than a
    /// closure can (look names up, say); `first_answer` when the caller already asked for it.
    pub(crate) fn pages<T, R, C>(
        &'a self,
        first: Url,
        first_answer: Option<Response>,
        read: R,
        check: C,
    ) -> Pages<'a, R, C>
    where
        R: Fn(&[u8]) -> serde_json::Result<Page<T>>,
        C: Fn(&T) -> Result<()>,
    {
        let seen = HashSet::from([first.as_str().to_string()]);
        Pages { paging: self, next: Some(first), first_answer, read, check, seen, pages: 0, count: 0 }
    }
}

/// Pages being read: see [`Paging::pages`].
pub(crate) struct Pages<'a, R, C> {
    paging: &'a Paging<'a>,
    next: Option<Url>,
    first_answer: Option<Response>,
    read: R,
    check: C,
    seen: HashSet<String>,
    pages: u32,
    /// Items read so far, bad ones included.
    pub(crate) count: usize,
}

impl<R, C> Pages<'_, R, C> {
    /// The next page's items, or `None` after the last page.
    pub(crate) async fn next<T>(&mut self) -> Result<Option<Vec<std::result::Result<T, BadItem>>>>
    where
        R: Fn(&[u8]) -> serde_json::Result<Page<T>>,
        C: Fn(&T) -> Result<()>,
    {
        let Some(url) = self.next.take() else { return Ok(None) };
        let p = self.paging;
        self.pages += 1;
        let answer = match self.first_answer.take() {
            Some(answer) => answer,
            None => p.http.get(p.token, &url, p.budget, p.cancel).await?,
        };
        let (items, next) = split_page(&answer, &self.read, &self.check)?;
        self.count += items.len();
        if let Some(link) = next {
            let next = p.http.urls.same_origin(&link, p.service)?;
            let (pages, count) = (self.pages, self.count);
            if !self.seen.insert(next.as_str().to_string()) {
                return Err(PimError::new(
                    ErrorKind::PagingLoop,
                    format!(
                        "The service's next link after page {pages} leads back to a page already read; the listing stopped there ({count} requests read)."
                    ),
                ));
            }
            if pages >= p.max_pages {
                return Err(PimError::new(
                    ErrorKind::TooManyPages,
                    format!(
                        "The listing stopped after {pages} pages (maxPages) with more to come ({count} requests read); raise maxPages or narrow the listing."
                    ),
                ));
            }
            self.next = Some(next);
        }
        Ok(Some(items))
    }
}

/// A page's items, each read alone so that one bad item is one error, and its next link.
fn split_page<T>(
    answer: &Response,
    read: &impl Fn(&[u8]) -> serde_json::Result<Page<T>>,
    check: &impl Fn(&T) -> Result<()>,
) -> Result<Page<std::result::Result<T, BadItem>>> {
    let mut page: Value = answer.read(|b| serde_json::from_slice(b))?;
    let invalid = |what: &str| {
        let mut e = PimError::new(ErrorKind::InvalidResponse, format!("The service's page could not be read: {what}."));
        e.request_id = answer.request_id.clone();
        e
    };
    let fields = page.as_object_mut().ok_or_else(|| invalid("it is not a JSON object"))?;
    let items = match fields.insert("value".into(), Value::Array(Vec::new())) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(invalid("its value is not an array")),
    };
    // The page without its items: what the surface makes of the rest (the next link).
    let skeleton = serde_json::to_vec(&page).map_err(|e| invalid(&e.to_string()))?;
    let (_, next) = read(&skeleton).map_err(|e| invalid(&e.to_string()))?;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let bad = |error: PimError| BadItem { id: id_of(&item), approval_id: approval_id_of(&item), error };
        let one = serde_json::to_vec(&serde_json::json!({ "value": [&item] })).unwrap_or_default();
        match read(&one) {
            Ok((read_items, _)) => {
                for t in read_items {
                    out.push(check(&t).map(|()| t).map_err(bad));
                }
            }
            Err(e) => {
                let shown = id_of(&item).map(|i| format!("Request '{}'", crate::validate::printable(&i)));
                let mut err = PimError::new(
                    ErrorKind::InvalidResponse,
                    format!("{} could not be read: {e}.", shown.as_deref().unwrap_or("A request")),
                );
                err.request_id = answer.request_id.clone();
                out.push(Err(bad(err)));
            }
        }
    }
    Ok((out, next))
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string)
}

fn id_of(item: &Value) -> Option<String> {
    text(item.get("id")).or_else(|| text(item.get("name")))
}

fn approval_id_of(item: &Value) -> Option<String> {
    text(item.get("approvalId")).or_else(|| text(item.get("properties").and_then(|p| p.get("approvalId"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(body: &[u8]) -> serde_json::Result<Page<String>> {
        #[derive(serde::Deserialize)]
        struct P {
            value: Vec<Item>,
            #[serde(rename = "@odata.nextLink")]
            next: Option<String>,
        }
        #[derive(serde::Deserialize)]
        struct Item {
            id: String,
        }
        let p: P = serde_json::from_slice(body)?;
        Ok((p.value.into_iter().map(|i| i.id).collect(), p.next))
    }

    #[test]
    fn one_bad_item_is_one_error_and_the_rest_go_on() {
        let body = br#"{"value":[{"id":"a"},{"id":5},{"id":"c"},{"id":"bad"}],"@odata.nextLink":"https://x/next"}"#;
        let answer = Response::new(200, |_| None, body.to_vec());
        let check = |s: &String| {
            if s == "bad" { Err(PimError::new(ErrorKind::InvalidResponse, "checked")) } else { Ok(()) }
        };
        let (items, next) = split_page(&answer, &reader, &check).unwrap();
        assert_eq!(next.as_deref(), Some("https://x/next"));
        assert_eq!(items.len(), 4);
        assert_eq!(items[0].as_deref().ok(), Some("a"));
        let bad = items[1].as_ref().unwrap_err();
        assert_eq!((bad.id.as_deref(), bad.error.kind), (None, ErrorKind::InvalidResponse));
        assert_eq!(items[2].as_deref().ok(), Some("c"));
        assert_eq!(items[3].as_ref().unwrap_err().id.as_deref(), Some("bad"));
    }

    #[test]
    fn a_page_that_is_no_page_is_an_error() {
        for body in [&b"[]"[..], b"not json", br#"{"value":5}"#] {
            let answer = Response::new(200, |_| None, body.to_vec());
            assert!(split_page(&answer, &reader, &|_| Ok(())).is_err(), "{}", String::from_utf8_lossy(body));
        }
    }
}

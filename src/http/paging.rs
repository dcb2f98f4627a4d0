//! Collections that come in pages: each page read (with retries), handed on as it arrives, and
//! the next link followed only back to the same service.

use reqwest::Url;
use tokio_util::sync::CancellationToken;

use super::transport::Http;
use super::urls::Service;
use crate::error::Result;
use crate::token::AccessToken;

/// One page as a surface reads it: its items, and the link to the next page if there is one.
pub(crate) type Page<T> = (Vec<T>, Option<String>);

/// Reads pages from `first` until there is no next link, handing each page's items to `on_page`.
/// Returns how many items there were.
pub(crate) async fn follow_pages<T>(
    http: &Http,
    token: &AccessToken,
    first: Url,
    service: Service,
    cancel: &CancellationToken,
    read: impl Fn(&[u8]) -> serde_json::Result<Page<T>>,
    on_page: &mut impl FnMut(Vec<T>),
) -> Result<usize> {
    let mut url = first;
    let mut count = 0;
    loop {
        let (items, next) = http.get(token, &url, cancel).await?.read(&read)?;
        count += items.len();
        on_page(items);
        match next {
            Some(link) => url = http.urls.same_origin(&link, service)?,
            None => return Ok(count),
        }
    }
}

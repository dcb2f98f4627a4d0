//! The way to the services and back: one HTTP client, the URLs, the one retry loop, paging and
//! Graph's JSON batch envelope. Nothing here knows a PIM surface; the surfaces say what to ask.

pub(crate) mod batch;
pub(crate) mod paging;
pub mod retry;
pub(crate) mod transport;
pub(crate) mod urls;

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::error::{PimError, Result};

/// Runs `fut` unless `cancel` fires first.
pub(crate) async fn cancellable<T>(cancel: &CancellationToken, fut: impl Future<Output = Result<T>>) -> Result<T> {
    tokio::select! {
        biased;
        _ = cancel.cancelled() => Err(PimError::cancelled()),
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

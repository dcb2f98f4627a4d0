//! The way to the services and back: one HTTP client, the URLs, the one retry loop, paging and
//! Graph's JSON batch envelope. Nothing here knows a PIM surface; the surfaces say what to ask.

pub(crate) mod batch;
pub(crate) mod paging;
pub mod retry;
pub mod trace;
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

/// Runs `fut`, which may be acting on the service (a decision on the wire): when `cancel` fires,
/// it is given `grace` more to finish. Cut off after that, it fails as a lost connection: it was
/// sent, and its outcome is unknown.
pub(crate) async fn with_grace<T>(
    cancel: &CancellationToken,
    grace: Duration,
    fut: impl Future<Output = Result<T>>,
) -> Result<T> {
    let mut fut = std::pin::pin!(fut);
    tokio::select! {
        biased;
        r = &mut fut => return r,
        _ = cancel.cancelled() => {}
    }
    match tokio::time::timeout(grace, fut).await {
        Ok(r) => r,
        Err(_) => Err(PimError::new(
            crate::error::ErrorKind::ConnectionLost,
            format!(
                "The operation was cancelled while this was on the wire, and its answer did not come within {} s.",
                grace.as_secs_f32()
            ),
        )),
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

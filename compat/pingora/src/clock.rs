//! The cache's time, read from tokio's clock so that `tokio::time::pause` and `advance` apply.

use std::time::Duration;

use readthrough_core::Timer;
use tokio::time::{Instant, Sleep};

/// tokio's clock measured from the moment the cache was created.
///
/// Reading the time works outside a runtime (tokio then falls back to the system's monotonic
/// clock), so a [`MemoryCache`](crate::MemoryCache) works in synchronous code; only
/// `RTCache`'s `lock_timeout` sleeps, and `RTCache` runs inside tokio.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TokioClock {
    epoch: Instant,
}

impl TokioClock {
    pub(crate) fn new() -> Self {
        TokioClock {
            epoch: Instant::now(),
        }
    }
}

impl Timer for TokioClock {
    type Sleep = Sleep;

    fn now(&self) -> Duration {
        Instant::now().saturating_duration_since(self.epoch)
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        tokio::time::sleep(duration)
    }
}

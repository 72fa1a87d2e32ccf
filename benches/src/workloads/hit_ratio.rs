//! Hit ratio of a bounded cache replaying a key sequence through the read-through API.

use std::sync::Arc;

use futures_lite::future::block_on;

use crate::contender::Contender;
use crate::workloads::Workload;

/// Replays `requests` on a cache of `capacity` entries; the first `warmup` requests fill the
/// cache and are not counted.
#[derive(Debug, Clone)]
pub struct HitRatio {
    /// The key sequence.
    pub requests: Arc<Vec<u64>>,
    /// The cache capacity in entries.
    pub capacity: usize,
    /// Leading requests that are replayed but not counted.
    pub warmup: usize,
}

impl Workload for HitRatio {
    /// Hits / counted requests.
    type Output = f64;

    fn run<C: Contender>(&self) -> f64 {
        let cache = C::with_capacity(self.capacity);
        let warmup = self.warmup.min(self.requests.len());
        block_on(async {
            for &key in &self.requests[..warmup] {
                cache.get_or_load(key).await;
            }
            let mut hits = 0u64;
            for &key in &self.requests[warmup..] {
                hits += u64::from(!cache.get_or_load(key).await.loaded);
            }
            let counted = (self.requests.len() - warmup).max(1);
            hits as f64 / counted as f64
        })
    }
}

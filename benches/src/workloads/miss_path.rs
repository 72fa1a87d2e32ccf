//! Misses with eviction: a full cache asked for keys it has never seen, with the instant loader.

use std::hint::black_box;
use std::time::Instant;

use futures_lite::future::block_on;

use crate::contender::Contender;
use crate::workloads::Workload;

/// Fills a cache of `capacity` entries, then times `misses` lookups of new, distinct keys.
#[derive(Debug, Clone, Copy)]
pub struct MissPath {
    /// The cache capacity (and the number of keys loaded before timing).
    pub capacity: u64,
    /// How many distinct absent keys are asked for while timing.
    pub misses: u64,
}

/// One run of [`MissPath`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MissTiming {
    /// Wall time per lookup.
    pub nanos_per_op: f64,
    /// Timed lookups that found a value instead of loading it (0 expected).
    pub unexpected_hits: u64,
}

impl Workload for MissPath {
    type Output = MissTiming;

    fn run<C: Contender>(&self) -> MissTiming {
        let cache = C::with_capacity(self.capacity as usize);
        block_on(async {
            for key in 0..self.capacity {
                cache.get_or_load(key).await;
            }
            cache.settle().await;
            let first_new_key = self.capacity;
            let start = Instant::now();
            let mut unexpected_hits = 0;
            for key in first_new_key..first_new_key + self.misses {
                let lookup = cache.get_or_load(black_box(key)).await;
                unexpected_hits += u64::from(!lookup.loaded);
                black_box(lookup.value);
            }
            let elapsed = start.elapsed();
            MissTiming {
                nanos_per_op: elapsed.as_nanos() as f64 / self.misses as f64,
                unexpected_hits,
            }
        })
    }
}

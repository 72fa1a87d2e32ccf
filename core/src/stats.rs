//! Counters, kept per shard and summed on demand, readable without locking.

use crate::sync::{AtomicUsize, Ordering};

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) hits: AtomicUsize,
    pub(crate) misses: AtomicUsize,
    pub(crate) lock_hits: AtomicUsize,
    pub(crate) loads: AtomicUsize,
    pub(crate) load_errors: AtomicUsize,
    pub(crate) lock_timeouts: AtomicUsize,
    pub(crate) evictions: AtomicUsize,
}

#[inline]
pub(crate) fn bump(counter: &AtomicUsize) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// A snapshot of the cache's counters (see [`Cache::stats`](crate::Cache::stats)).
///
/// Counters wrap around at `usize::MAX` (2³² on 32-bit MCUs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Calls answered from the cache with a fresh value.
    pub hits: usize,
    /// Calls that found no fresh value.
    pub misses: usize,
    /// Read-through calls answered by waiting for another caller's load.
    pub lock_hits: usize,
    /// Loader calls (a batch call counts once).
    pub loads: usize,
    /// Loader calls that failed or timed out.
    pub load_errors: usize,
    /// Waiters that gave up after `lock_timeout` and loaded themselves.
    pub lock_timeouts: usize,
    /// Entries evicted to make room.
    pub evictions: usize,
}

impl Stats {
    pub(crate) fn add(&mut self, counters: &Counters) {
        let read = |counter: &AtomicUsize| counter.load(Ordering::Relaxed);
        self.hits = self.hits.wrapping_add(read(&counters.hits));
        self.misses = self.misses.wrapping_add(read(&counters.misses));
        self.lock_hits = self.lock_hits.wrapping_add(read(&counters.lock_hits));
        self.loads = self.loads.wrapping_add(read(&counters.loads));
        self.load_errors = self.load_errors.wrapping_add(read(&counters.load_errors));
        self.lock_timeouts = self
            .lock_timeouts
            .wrapping_add(read(&counters.lock_timeouts));
        self.evictions = self.evictions.wrapping_add(read(&counters.evictions));
    }

    /// Hits as a share of hits and misses (0.0 before any call).
    ///
    /// ```
    /// # let mut stats = readthrough_core::Stats::default();
    /// # stats.hits = 3; stats.misses = 1;
    /// assert_eq!(stats.hit_ratio(), 0.75);
    /// ```
    pub fn hit_ratio(&self) -> f64 {
        let total = self.hits as f64 + self.misses as f64;
        if total == 0.0 {
            0.0
        } else {
            self.hits as f64 / total
        }
    }
}

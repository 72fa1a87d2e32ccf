//! Counters, kept per shard and summed on demand, readable without locking.

use crate::status::Status;
use crate::striped_counter::StripedCounter;
use crate::sync::{AtomicUsize, Ordering};

/// `repr(C)`, hits first: the shard puts them beside its lock. With `std` the hits are striped
/// per thread (the field holds only the stripes' address, which a hit reads), so a hit writes
/// no line another core's hit writes; without `std`, the hit count sits on the line every
/// read writes anyway (the lock's).
#[derive(Default)]
#[repr(C)]
pub(crate) struct Counters {
    pub(crate) hits: StripedCounter,
    pub(crate) misses: AtomicUsize,
    pub(crate) expired: AtomicUsize,
    pub(crate) lock_hits: AtomicUsize,
    pub(crate) stale: AtomicUsize,
    pub(crate) tier_hits: AtomicUsize,
    pub(crate) tier_lock_hits: AtomicUsize,
    pub(crate) refreshed: AtomicUsize,
    pub(crate) failures: AtomicUsize,
    pub(crate) loads: AtomicUsize,
    pub(crate) load_errors: AtomicUsize,
    pub(crate) lock_timeouts: AtomicUsize,
    pub(crate) evictions: AtomicUsize,
    pub(crate) oversized: AtomicUsize,
    pub(crate) tier_errors: AtomicUsize,
    pub(crate) fleet_lock_timeouts: AtomicUsize,
    pub(crate) fleet_locks_dropped: AtomicUsize,
    pub(crate) fail_safe: AtomicUsize,
    /// Callers waiting now for another's load (a gauge).
    pub(crate) waiting: AtomicUsize,
    /// Keys added since the duel's round began (counted only in a cache that duels; not a
    /// statistic: the duel reads and resets it).
    pub(crate) added: AtomicUsize,
}

impl Counters {
    /// Counts one answer under the counter of its status.
    #[inline]
    pub(crate) fn answered(&self, status: Status) {
        match self.answers(status) {
            Some(counter) => bump(counter),
            None => self.hits.bump(),
        }
    }

    /// Takes back one answer counted with `status` (it is counted again with another).
    pub(crate) fn unanswered(&self, status: Status) {
        match self.answers(status) {
            Some(counter) => {
                counter.fetch_sub(1, Ordering::Relaxed);
            }
            None => self.hits.unbump(),
        }
    }

    /// The counter of answers with `status`: `None` for hits, which are striped.
    fn answers(&self, status: Status) -> Option<&AtomicUsize> {
        Some(match status {
            Status::Hit => return None,
            Status::Miss => &self.misses,
            Status::Expired => &self.expired,
            Status::LockHit => &self.lock_hits,
            Status::Stale(_) => &self.stale,
            Status::TierHit => &self.tier_hits,
            Status::TierLockHit => &self.tier_lock_hits,
            Status::Refreshed => &self.refreshed,
        })
    }

    /// Counts one call's outcome: its status, or a failure.
    #[inline]
    pub(crate) fn outcome<V, E>(&self, outcome: &Result<crate::Answer<V>, E>) {
        match outcome {
            Ok(answer) => self.answered(answer.status),
            Err(_) => bump(&self.failures),
        }
    }
}

#[inline]
pub(crate) fn bump(counter: &AtomicUsize) {
    counter.fetch_add(1, Ordering::Relaxed);
}

#[inline]
pub(crate) fn bump_by(counter: &AtomicUsize, by: usize) {
    if by > 0 {
        counter.fetch_add(by, Ordering::Relaxed);
    }
}

/// A snapshot of the cache's counters (see [`Cache::stats`](crate::Cache::stats)).
///
/// Every answered call counts under exactly one of `hits`, `misses`, `expired`, `lock_hits`,
/// `stale`, `tier_hits`, `tier_lock_hits` and `refreshed` (the counter of its [`Status`]), or
/// under `failures` when it returned an error;
/// a batch call counts once per key it answered. A plain [`get`](crate::Cache::get) counts a
/// hit or, finding no fresh value, a miss. The other counters count events, not calls.
///
/// Counters wrap around at `usize::MAX` (2³² on 32-bit MCUs). They are summed without
/// locking, so a snapshot taken while calls run may be a few counts apart between fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Answers with [`Status::Hit`]: a fresh value was stored.
    pub hits: usize,
    /// Answers with [`Status::Miss`] (this caller's load produced the value), and plain `get`s
    /// that found no fresh value.
    pub misses: usize,
    /// Answers with [`Status::Expired`]: this caller reloaded an expired value.
    pub expired: usize,
    /// Answers with [`Status::LockHit`]: this caller waited for another caller's load.
    pub lock_hits: usize,
    /// Answers with [`Status::Stale`]: an expired value served within the stale window, or by
    /// fail-safe (those are counted in `fail_safe` as well).
    pub stale: usize,
    /// Answers with [`Status::TierHit`]: missing here, found in the shared tier, no load run.
    pub tier_hits: usize,
    /// Answers with [`Status::TierLockHit`]: waited for another node's fleet-locked load, then
    /// took its value from the shared tier.
    pub tier_lock_hits: usize,
    /// Answers with [`Status::Refreshed`]: this caller refreshed a value due for refresh ahead
    /// (caller-driven, without a [`Spawn`](crate::Spawn)) and returned the new one.
    pub refreshed: usize,
    /// Calls that returned an error (their own load's, or a shared one they waited for).
    pub failures: usize,
    /// Loader calls (a batch call counts once).
    pub loads: usize,
    /// Loader calls that failed or timed out, and batch calls that returned the wrong count.
    pub load_errors: usize,
    /// Waiters that gave up after `lock_timeout` and loaded themselves.
    pub lock_timeouts: usize,
    /// Entries evicted to make room (live or expired).
    pub evictions: usize,
    /// Values heavier than a shard's capacity: answered but not stored.
    pub oversized: usize,
    /// Calls to the shared tier that did not answer (error, timeout, open circuit breaker):
    /// the cache went on without the tier each time.
    pub tier_errors: usize,
    /// Leaders that waited the fleet wait for another node's landing in vain and loaded
    /// themselves.
    pub fleet_lock_timeouts: usize,
    /// Fleet locks left held because their holder's future was dropped or panicked before
    /// releasing them (an async release cannot run in `Drop`): they expire after their hold
    /// time.
    pub fleet_locks_dropped: usize,
    /// Answers fail-safe served: of the `stale` answers, those that carried the expired value
    /// fail-safe kept at hand ([`Builder::fail_safe`](crate::Builder::fail_safe)) where the
    /// caller would otherwise have had an error or a wait: a failed (or timed-out) load's
    /// leader and waiters, callers within the throttle after such a failure, and callers
    /// answered at the [soft timeout](crate::Builder::soft_timeout). Every one of them is also
    /// counted in `stale`, so `fail_safe <= stale`; the failed loads themselves are counted in
    /// `load_errors`. A batch call counts once per key fail-safe answered, when the call
    /// succeeds.
    pub fail_safe: usize,
}

impl Stats {
    pub(crate) fn add(&mut self, counters: &Counters) {
        let add = |total: &mut usize, counter: &AtomicUsize| {
            *total = total.wrapping_add(counter.load(Ordering::Relaxed));
        };
        self.hits = self.hits.wrapping_add(counters.hits.load());
        add(&mut self.misses, &counters.misses);
        add(&mut self.expired, &counters.expired);
        add(&mut self.lock_hits, &counters.lock_hits);
        add(&mut self.stale, &counters.stale);
        add(&mut self.tier_hits, &counters.tier_hits);
        add(&mut self.tier_lock_hits, &counters.tier_lock_hits);
        add(&mut self.refreshed, &counters.refreshed);
        add(&mut self.failures, &counters.failures);
        add(&mut self.loads, &counters.loads);
        add(&mut self.load_errors, &counters.load_errors);
        add(&mut self.lock_timeouts, &counters.lock_timeouts);
        add(&mut self.evictions, &counters.evictions);
        add(&mut self.oversized, &counters.oversized);
        add(&mut self.tier_errors, &counters.tier_errors);
        add(&mut self.fleet_lock_timeouts, &counters.fleet_lock_timeouts);
        add(&mut self.fleet_locks_dropped, &counters.fleet_locks_dropped);
        add(&mut self.fail_safe, &counters.fail_safe);
    }

    /// Every answered or failed call: the sum of the per-status counters and `failures`.
    ///
    /// ```
    /// # let mut stats = readthrough_core::Stats::default();
    /// # stats.hits = 3; stats.misses = 1; stats.failures = 1;
    /// assert_eq!(stats.calls(), 5);
    /// ```
    pub fn calls(&self) -> usize {
        [
            self.hits,
            self.misses,
            self.expired,
            self.lock_hits,
            self.stale,
            self.tier_hits,
            self.tier_lock_hits,
            self.refreshed,
            self.failures,
        ]
        .iter()
        .fold(0usize, |total, count| total.wrapping_add(*count))
    }

    /// Answers served from the cache without waiting for a load (`hits` and `stale`) as a
    /// share of all calls (0.0 before any call).
    ///
    /// ```
    /// # let mut stats = readthrough_core::Stats::default();
    /// # stats.hits = 3; stats.misses = 1;
    /// assert_eq!(stats.hit_ratio(), 0.75);
    /// ```
    pub fn hit_ratio(&self) -> f64 {
        let calls = self.calls();
        if calls == 0 {
            0.0
        } else {
            (self.hits as f64 + self.stale as f64) / calls as f64
        }
    }
}

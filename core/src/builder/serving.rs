//! The serving options: refresh ahead, fail-safe and the soft timeout (checked in
//! [`build`](Builder::build) with the others).

use core::time::Duration;

use super::Builder;
#[cfg(doc)]
use crate::cache::Cache;
use crate::refresh_ahead::RefreshAhead;
use crate::timer::Timer;

impl<K, V, E, T: Timer, S, L, W, N> Builder<K, V, E, T, S, L, W, N> {
    /// Refresh a value before it expires: a hit through
    /// [`get_or_revalidate_in_background`](Cache::get_or_revalidate_in_background) on a value
    /// past this point is answered at once ([`Status::Hit`](crate::Status::Hit)) and starts
    /// one background refresh, so a key read steadily never expires. However many hits see the
    /// value due at once, one refresh runs; a refresh that fails leaves the value in place
    /// until its TTL, and the next hit tries again.
    ///
    /// Without a [`Spawn`](crate::Spawn) (embassy), [`get_or_revalidate`](Cache::get_or_revalidate)
    /// refreshes in the caller instead: the first caller to find the value due loads and
    /// returns the new value, while the callers that arrive during that load get the current
    /// one at once; that caller is answered [`Status::Refreshed`](crate::Status::Refreshed).
    ///
    /// [`get_or_load`](Cache::get_or_load), [`get`](Cache::get) and
    /// [`Tiered::get_or_load`](crate::Tiered::get_or_load) never refresh ahead: a value past its
    /// refresh point is a plain hit there, and it expires at its TTL. Why: finding the refresh
    /// point needs the time left (not just "expired or not") and a check of this option on
    /// every hit, which measured +11 to +24 instructions per `get_or_load` hit (from 134.4,
    /// callgrind, closure loader) on every cache, with or without refresh ahead. Call
    /// [`get_or_revalidate_in_background`](Cache::get_or_revalidate_in_background) (a cache
    /// whose timer is a [`Spawn`](crate::Spawn): tokio, smol) or
    /// [`get_or_revalidate`](Cache::get_or_revalidate) (embassy) for the keys you want
    /// refreshed ahead; with no value due they answer as `get_or_load` does.
    ///
    /// Checked at build: a percentage lies between 1 and 99 and needs a `ttl`; a duration is
    /// longer than zero and shorter than the `ttl`.
    ///
    /// ```
    /// # use core::time::Duration;
    /// use readthrough_core::{BuildError, Cache, ManualTimer, RefreshAhead};
    /// let cache = Cache::<u32, u32>::builder()
    ///     .capacity(8)
    ///     .timer(ManualTimer::new())
    ///     .ttl(Duration::from_secs(60))
    ///     .refresh_ahead(RefreshAhead::AfterPercent(80))
    ///     .build();
    /// assert!(cache.is_ok());
    ///
    /// let refused = Cache::<u32, u32>::builder()
    ///     .capacity(8)
    ///     .timer(ManualTimer::new())
    ///     .refresh_ahead(RefreshAhead::AfterPercent(80))
    ///     .build();
    /// assert_eq!(refused.err(), Some(BuildError::RefreshAheadNeedsTtl));
    /// ```
    pub fn refresh_ahead(mut self, when: RefreshAhead) -> Self {
        self.settings.refresh_ahead = Some(when);
        self
    }

    /// Fail-safe: when a load fails (its error, or [`load_timeout`](Self::load_timeout)) and
    /// the key's value expired no longer than `max_stale` ago, every caller that waited for the
    /// load gets that value with [`Status::Stale`](crate::Status::Stale) instead of the error,
    /// and so does every caller for `throttle` after it, without a new load: a backend that is
    /// down is tried once per `throttle`, not by every caller. The failure still counts in
    /// [`Stats::load_errors`](crate::Stats::load_errors). With no such value at hand, the error
    /// is returned as without fail-safe.
    ///
    /// The expired value is the one still stored: it stays until it is replaced or evicted, so
    /// `max_stale` is a limit, not a promise. A batch call
    /// ([`get_or_load_many`](Cache::get_or_load_many)) fails safe key by key as single calls
    /// do: it returns the fallbacks when every key it loaded had one, and its error otherwise
    /// (the callers that waited for its keys get each key's fallback either way). Answers
    /// fail-safe served are counted in [`Stats::fail_safe`](crate::Stats::fail_safe). The
    /// throttled fallbacks are kept like
    /// remembered errors, within [`remembered_errors`](Self::remembered_errors). `throttle`
    /// must be longer than zero.
    ///
    /// ```
    /// # use core::time::Duration;
    /// use readthrough_core::{Cache, ManualTimer, Status};
    /// # futures_lite::future::block_on(async {
    /// let timer = ManualTimer::new();
    /// let cache = Cache::<u8, u32, &str>::builder()
    ///     .capacity(8)
    ///     .timer(timer.clone())
    ///     .ttl(Duration::from_secs(60))
    ///     .fail_safe(Duration::from_secs(3_600), Duration::from_secs(5))
    ///     .build()
    ///     .unwrap();
    /// cache.insert(1, 10);
    /// timer.advance(Duration::from_secs(70));
    /// let down = |_: &u8| async { Err("backend down") };
    /// let answer = cache.get_or_load(&1, down).await.unwrap();
    /// assert_eq!((answer.value, answer.status), (10, Status::Stale(Duration::from_secs(10))));
    /// # });
    /// ```
    pub fn fail_safe(mut self, max_stale: Duration, throttle: Duration) -> Self {
        self.settings.options.fail_safe = Some(crate::fail_safe::FailSafe {
            max_stale,
            throttle,
        });
        self
    }

    /// A soft timeout for [`get_or_revalidate_in_background`](Cache::get_or_revalidate_in_background):
    /// a caller of an expired key whose [fail-safe](Self::fail_safe) value is at hand waits at
    /// most this long for the load, then gets that value ([`Status::Stale`](crate::Status::Stale))
    /// while the load goes on in a spawned task, up to the hard
    /// [`load_timeout`](Self::load_timeout), and stores its value when it lands. A load that
    /// lands within the soft timeout answers as usual. Needs `fail_safe`; shorter than
    /// `load_timeout`, longer than zero.
    ///
    /// Only that entry point has a task to leave the load in; [`get_or_load`](Cache::get_or_load)
    /// waits for the load (a dropped caller cancels its own load, see
    /// [`Cache`]'s docs).
    ///
    /// ```
    /// # use core::time::Duration;
    /// use readthrough_core::{BuildError, Cache, ManualTimer};
    /// let refused = Cache::<u8, u32>::builder()
    ///     .capacity(8)
    ///     .timer(ManualTimer::new())
    ///     .soft_timeout(Duration::from_millis(100))
    ///     .build();
    /// assert_eq!(refused.err(), Some(BuildError::SoftTimeoutNeedsFailSafe));
    /// ```
    pub fn soft_timeout(mut self, soft_timeout: Duration) -> Self {
        self.settings.options.soft_timeout = Some(soft_timeout);
        self
    }
}

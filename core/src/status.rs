//! How an answer was served.

use core::time::Duration;

/// How the cache served an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// A fresh value was in the cache.
    Hit,
    /// Nothing was cached; this caller's load produced the value.
    Miss,
    /// A value was cached but had expired; this caller's load produced a new one.
    Expired,
    /// Another caller's load for the same key produced the value; this caller waited for it.
    LockHit,
    /// An expired value was served, this long past its expiry (within the stale window).
    Stale(Duration),
    /// Not in this cache's memory; the shared tier had it (another node loaded it), so no load
    /// ran. See [`Tiered`](crate::Tiered).
    TierHit,
    /// Another node held the fleet-wide load lock; this caller waited for that node's landing
    /// and then took the value from the shared tier. See [`Tiered`](crate::Tiered).
    TierLockHit,
    /// A fresh value was cached but past its [refresh-ahead](crate::Builder::refresh_ahead)
    /// point, and this caller loaded its replacement and returns it: the refresh ahead of a
    /// cache without a [`Spawn`](crate::Spawn) (embassy), driven by the first caller to find
    /// the value due, in [`get_or_revalidate`](crate::Cache::get_or_revalidate). Its latency is
    /// a load's; the callers that arrive during it get the current value ([`Hit`](Status::Hit)).
    Refreshed,
}

impl Status {
    /// True when this cache's memory served the answer with no load and no wait
    /// ([`Hit`](Status::Hit) or [`Stale`](Status::Stale)). An answer from the shared tier
    /// ([`TierHit`](Status::TierHit)) ran no load either, but crossed the network: it is not
    /// counted here.
    ///
    /// ```
    /// use readthrough_core::Status;
    /// assert!(Status::Hit.is_cached());
    /// assert!(!Status::LockHit.is_cached());
    /// ```
    pub fn is_cached(self) -> bool {
        matches!(self, Status::Hit | Status::Stale(_))
    }

    /// A short lowercase name: `"hit"`, `"miss"`, `"expired"`, `"lock_hit"`, `"stale"`,
    /// `"tier_hit"`, `"tier_lock_hit"` or `"refreshed"`.
    ///
    /// ```
    /// use readthrough_core::Status;
    /// assert_eq!(Status::LockHit.as_str(), "lock_hit");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Hit => "hit",
            Status::Miss => "miss",
            Status::Expired => "expired",
            Status::LockHit => "lock_hit",
            Status::Stale(_) => "stale",
            Status::TierHit => "tier_hit",
            Status::TierLockHit => "tier_lock_hit",
            Status::Refreshed => "refreshed",
        }
    }
}

/// A value and how it was served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer<V> {
    /// The value.
    pub value: V,
    /// How it was served.
    pub status: Status,
}

impl<V> Answer<V> {
    pub(crate) fn new(value: V, status: Status) -> Self {
        Answer { value, status }
    }

    /// The value without its status.
    ///
    /// ```
    /// use readthrough_core::{Answer, Status};
    /// # let answer = Answer { value: 3, status: Status::Hit };
    /// assert_eq!(answer.into_value(), 3);
    /// ```
    pub fn into_value(self) -> V {
        self.value
    }
}

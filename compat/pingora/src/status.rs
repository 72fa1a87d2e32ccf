//! How a lookup was answered, with Pingora's names.

use std::time::Duration;

use readthrough_core::Status;

/// How a query was answered. Same variants and methods as `pingora_memory_cache::CacheStatus`.
///
/// Difference from Pingora 0.9: this type also derives `Clone`, `Copy` and `Hash`, and converts
/// from [`readthrough_core::Status`]. Code written for Pingora compiles unchanged.
///
/// ```
/// use readthrough_pingora::CacheStatus;
/// use std::time::Duration;
///
/// let status = CacheStatus::Stale(Duration::from_secs(2));
/// assert_eq!(status.as_str(), "stale");
/// assert!(status.is_hit());
/// assert_eq!(status.stale(), Some(Duration::from_secs(2)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheStatus {
    /// A live value was in the cache.
    Hit,
    /// Nothing was cached under the key.
    Miss,
    /// A value was cached but its TTL had run out.
    Expired,
    /// Nothing was cached at first; the value came from another caller's lookup that this
    /// caller waited for.
    LockHit,
    /// An expired value was returned anyway; the duration says how long ago it expired.
    Stale(Duration),
}

impl CacheStatus {
    /// The status as a short lowercase word: `hit`, `miss`, `expired`, `lock_hit` or `stale`.
    ///
    /// ```
    /// use readthrough_pingora::CacheStatus;
    /// assert_eq!(CacheStatus::LockHit.as_str(), "lock_hit");
    /// ```
    pub fn as_str(&self) -> &str {
        Status::from(*self).as_str()
    }

    /// Whether a value was served: true for `Hit`, `LockHit` and `Stale`.
    ///
    /// ```
    /// use readthrough_pingora::CacheStatus;
    /// assert!(CacheStatus::LockHit.is_hit());
    /// assert!(!CacheStatus::Expired.is_hit());
    /// ```
    pub fn is_hit(&self) -> bool {
        matches!(
            self,
            CacheStatus::Hit | CacheStatus::LockHit | CacheStatus::Stale(_)
        )
    }

    /// How long ago the served value expired, for `Stale`; `None` otherwise.
    ///
    /// ```
    /// use readthrough_pingora::CacheStatus;
    /// assert_eq!(CacheStatus::Hit.stale(), None);
    /// ```
    pub fn stale(&self) -> Option<Duration> {
        match self {
            CacheStatus::Stale(age) => Some(*age),
            _ => None,
        }
    }
}

impl From<Status> for CacheStatus {
    /// ```
    /// use readthrough_core::Status;
    /// use readthrough_pingora::CacheStatus;
    /// assert_eq!(CacheStatus::from(Status::LockHit), CacheStatus::LockHit);
    /// ```
    fn from(status: Status) -> Self {
        match status {
            Status::Hit => CacheStatus::Hit,
            Status::Miss => CacheStatus::Miss,
            Status::Expired => CacheStatus::Expired,
            Status::LockHit => CacheStatus::LockHit,
            Status::Stale(age) => CacheStatus::Stale(age),
            // Pingora has no shared tier: a value found there was cached, or waited for.
            Status::TierHit => CacheStatus::Hit,
            Status::TierLockHit => CacheStatus::LockHit,
            // A cached value this caller reloaded (ahead of its expiry).
            Status::Refreshed => CacheStatus::Expired,
        }
    }
}

impl From<CacheStatus> for Status {
    /// ```
    /// use readthrough_core::Status;
    /// use readthrough_pingora::CacheStatus;
    /// assert_eq!(Status::from(CacheStatus::Expired), Status::Expired);
    /// ```
    fn from(status: CacheStatus) -> Self {
        match status {
            CacheStatus::Hit => Status::Hit,
            CacheStatus::Miss => Status::Miss,
            CacheStatus::Expired => Status::Expired,
            CacheStatus::LockHit => Status::LockHit,
            CacheStatus::Stale(age) => Status::Stale(age),
        }
    }
}

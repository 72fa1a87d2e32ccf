//! What the tier counts: every outcome of every call.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::breaker::BreakerState;

macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        #[derive(Default)]
        pub(crate) struct Counters {
            $(pub(crate) $name: AtomicU64,)*
        }

        /// A snapshot of a [`RedisTier`](crate::RedisTier)'s counters, each since it connected.
        ///
        /// ```
        /// let stats = readthrough_redis::TierStats::default();
        /// assert_eq!(stats.hits + stats.misses, 0);
        /// ```
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct TierStats {
            $($(#[$doc])* pub $name: u64,)*
            /// Whether calls are going to the server right now.
            pub breaker: BreakerState,
        }

        impl Counters {
            pub(crate) fn snapshot(&self, breaker: BreakerState) -> TierStats {
                TierStats {
                    $($name: self.$name.load(Ordering::Relaxed),)*
                    breaker,
                }
            }
        }
    };
}

counters! {
    /// Fetches that found a value.
    hits,
    /// Fetches that found nothing.
    misses,
    /// Fetches that found bytes the codec could not decode (a miss, not counted in `misses`).
    undecodable,
    /// Values written.
    stores,
    /// Values not written because they encoded to more than `max_value_bytes`.
    too_large,
    /// Values not written because the codec refused them.
    unencodable,
    /// Deletes that removed a value.
    deletes,
    /// Fleet locks taken.
    locks_acquired,
    /// Fleet lock attempts that found another node's lock.
    locks_held_elsewhere,
    /// Locks released by their holder.
    unlocks_released,
    /// Unlocks that found the lock expired or taken over.
    unlocks_lost,
    /// Announcements published.
    announcements_sent,
    /// Announcements heard from other nodes.
    announcements_heard,
    /// This node's own announcements coming back, ignored.
    own_announcements_ignored,
    /// Channel messages in no format this version reads, or with an undecodable key, ignored.
    foreign_messages_ignored,
    /// Calls cut off by the call timeout.
    timeouts,
    /// Calls that failed (connection trouble or an error reply).
    failures,
    /// Calls skipped because the breaker was open.
    skipped,
    /// Times the breaker opened.
    breaker_opened,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

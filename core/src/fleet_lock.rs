//! The fleet-wide load lock while this node holds it.

use crate::stats::{Counters, bump};
use crate::tier::{Announced, Announcement, Tier, Unlocked};

/// The fleet lock while this node holds it. Released (and the outcome announced) by
/// [`release`](FleetLock::release); dropped unreleased, it is left to expire and counted.
pub(crate) struct FleetLock<'a, Token> {
    counters: &'a Counters,
    /// Present until released: `Drop` then has nothing to count.
    token: Option<Token>,
}

impl<'a, Token> FleetLock<'a, Token> {
    /// The lock just acquired with `token`; tier errors and drops count in `counters`.
    pub(crate) fn held(counters: &'a Counters, token: Token) -> Self {
        FleetLock {
            counters,
            token: Some(token),
        }
    }

    /// Releases the lock and tells the other nodes what became of the load.
    pub(crate) async fn release<K, V, R>(mut self, tier: &R, key: &K, announcement: Announcement)
    where
        R: Tier<K, V, Token = Token>,
    {
        let Some(token) = self.token.take() else {
            return;
        };
        if let Unlocked::Unavailable(_) = tier.unlock(key, token).await {
            bump(&self.counters.tier_errors);
        }
        if let Announced::Unavailable(_) = tier.announce(key, announcement).await {
            bump(&self.counters.tier_errors);
        }
    }

    /// Releases the lock without announcing anything (nothing was loaded).
    pub(crate) async fn release_quietly<K, V, R>(mut self, tier: &R, key: &K)
    where
        R: Tier<K, V, Token = Token>,
    {
        if let Some(token) = self.token.take()
            && let Unlocked::Unavailable(_) = tier.unlock(key, token).await
        {
            bump(&self.counters.tier_errors);
        }
    }
}

impl<Token> Drop for FleetLock<'_, Token> {
    fn drop(&mut self) {
        if self.token.is_some() {
            // The holder was cancelled or panicked between taking the lock and releasing it.
            // Releasing is a network call; the lock's own expiry bounds what this costs the
            // other nodes.
            bump(&self.counters.fleet_locks_dropped);
        }
    }
}

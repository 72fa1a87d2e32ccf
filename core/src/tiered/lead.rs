//! The tiered leader's part of a load: the shared tier, then the fleet-wide lock, then the
//! loader; and what it tells the other nodes. It runs on a borrowed view of the node
//! ([`Tiered::view`]), so that a background task can run it with the tier called through its
//! `Send` futures.

use core::future::Future;
use core::hash::{BuildHasher, Hash};
use core::pin::pin;
use core::time::Duration;

use crate::cache::Cache;
use crate::error::Error;
use crate::fleet_lock::FleetLock;
use crate::lead::Led;
use crate::listener::Listener;
use crate::load_guard::{LoadGuard, Served};
use crate::loader::Loader;
use crate::lock::RawLock;
use crate::read_through::Intent;
use crate::shard::Shard;
use crate::stats::{Counters, bump};
use crate::status::Status;
use crate::tier::{Announced, Announcement, Fetched, Lifetime, LockOutcome, Stored, Tier};
use crate::timer::{Clock, Timer, with_timeout};
use crate::weigher::Weigh;

use super::Tiered;

/// How many times a leader waiting for another node's landing looks in the tier meanwhile.
const LOOKS: u32 = 10;

/// How a wait for another node's landing ended.
pub(super) enum Waited<V> {
    /// The other node announced something.
    Announced(Announcement),
    /// No announcement, but the value is in the tier.
    Found(V, Lifetime),
    /// A look in the tier got no answer.
    Unavailable,
    /// Nothing within the fleet wait.
    TimedOut,
}

/// Whether a value loaded without the fleet lock goes to the tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Share {
    /// The tier did not answer: do not call it again for this load.
    No,
    /// Another node's lock ran out or its load was abandoned: store and announce the value.
    Store,
}

impl<K, V, E, T, S, L, W, N, R> Tiered<&Cache<K, V, E, T, S, L, W, N>, R>
where
    K: Hash + Eq + Clone,
    V: Clone,
    T: Timer,
    S: BuildHasher,
    L: RawLock,
    W: Weigh<K, V>,
    N: Listener<K, V>,
    R: Tier<K, V>,
{
    /// The local leader's part: the tier, then the fleet lock, then the load; `intent` says
    /// which copies in the tier serve (see [`takes`](Self::takes)).
    pub(super) async fn lead<Ld>(
        &self,
        guard: LoadGuard<'_, K, V, E, T, S, L, W, N>,
        key: &K,
        loader: &Ld,
        split: &impl Fn(Ld::Value) -> (V, Option<Duration>),
        intent: Intent,
    ) -> Result<Led<V>, Error<E>>
    where
        Ld: Loader<K, Error = E>,
    {
        let shard = guard.shard();
        let counters = &shard.counters;
        match self.tier.fetch(key).await {
            Fetched::Hit { value, lifetime } if self.takes(intent, lifetime) => {
                return self.land_shared(guard, key, value, lifetime, Status::TierHit);
            }
            Fetched::Hit { .. } | Fetched::Miss | Fetched::Undecodable => {}
            Fetched::Unavailable(_) => {
                bump(&counters.tier_errors);
                crate::events::event!(
                    warn,
                    "tier fallback: the tier did not answer, loading locally"
                );
                let loaded = self.load(guard, shard, key, loader, split, Share::No);
                return loaded.await.map(Led::Landed);
            }
        }
        // Another node's abandoned load (or an invalidation) frees the lock: try it once more
        // before loading without it.
        let mut lock_attempts = 2;
        let share = loop {
            lock_attempts -= 1;
            // Listen before locking, so a landing between `HeldElsewhere` and the wait counts.
            let landing = self.tier.landing(key);
            match self.tier.lock(key, self.fleet.hold_for).await {
                LockOutcome::Acquired(token) => {
                    drop(landing);
                    let lock = FleetLock::held(counters, token);
                    // Another node may have landed between our fetch and our lock: look once
                    // more, so the fleet never repeats a load that just finished.
                    match self.tier.fetch(key).await {
                        Fetched::Hit { value, lifetime } if self.takes(intent, lifetime) => {
                            lock.release_quietly(&self.tier, key).await;
                            return self.land_shared(guard, key, value, lifetime, Status::TierHit);
                        }
                        Fetched::Hit { .. } | Fetched::Miss | Fetched::Undecodable => {}
                        // Load all the same: holding the lock, this node is the one to load.
                        Fetched::Unavailable(_) => bump(&counters.tier_errors),
                    }
                    let loaded = self.load_locked(guard, shard, key, loader, split, lock);
                    return loaded.await.map(Led::Landed);
                }
                LockOutcome::Unavailable(_) => {
                    bump(&counters.tier_errors);
                    break Share::No;
                }
                LockOutcome::HeldElsewhere => {}
            }
            match self.await_landing(key, landing).await {
                Waited::Found(value, lifetime) => {
                    return self.land_shared(guard, key, value, lifetime, Status::TierLockHit);
                }
                Waited::Announced(Announcement::Landed) => match self.tier.fetch(key).await {
                    Fetched::Hit { value, lifetime } => {
                        return self.land_shared(guard, key, value, lifetime, Status::TierLockHit);
                    }
                    // Landed and gone again (invalidated, evicted, undecodable here).
                    Fetched::Miss | Fetched::Undecodable => break Share::Store,
                    Fetched::Unavailable(_) => {
                        bump(&counters.tier_errors);
                        break Share::No;
                    }
                },
                Waited::Announced(Announcement::Abandoned | Announcement::Invalidated)
                    if lock_attempts > 0 => {}
                Waited::Announced(Announcement::Abandoned | Announcement::Invalidated) => {
                    break Share::Store;
                }
                Waited::Unavailable => {
                    bump(&counters.tier_errors);
                    break Share::No;
                }
                Waited::TimedOut => {
                    bump(&counters.fleet_lock_timeouts);
                    crate::events::event!(
                        warn,
                        "fleet lock timeout: gave up waiting for another node's load, loading here"
                    );
                    break Share::Store;
                }
            }
        };
        if share == Share::No {
            crate::events::event!(
                warn,
                "tier fallback: the tier did not answer, loading locally"
            );
        }
        let loaded = self.load(guard, shard, key, loader, split, share);
        loaded.await.map(Led::Landed)
    }
}

impl<K, V, E, T, S, L, W, N, R> Tiered<&Cache<K, V, E, T, S, L, W, N>, R>
where
    K: Hash + Eq + Clone,
    V: Clone,
    T: Timer,
    S: BuildHasher,
    L: RawLock,
    W: Weigh<K, V>,
    N: Listener<K, V>,
    R: Tier<K, V>,
{
    /// Waits for another node's landing of `key`, for at most the fleet wait, and looks in the
    /// tier every [`LOOKS`]th of it as well: an announcement can be lost (a reconnect, a publish
    /// that timed out) while the value landed all the same.
    pub(super) async fn await_landing(
        &self,
        key: &K,
        landing: impl Future<Output = Announcement>,
    ) -> Waited<V> {
        let mut landing = pin!(landing);
        let timer = &self.cache.timer;
        let started = timer.now();
        let look_every = self.fleet.wait / LOOKS;
        loop {
            let left = self
                .fleet
                .wait
                .saturating_sub(timer.now().saturating_sub(started));
            if left.is_zero() {
                return Waited::TimedOut;
            }
            match with_timeout(timer, left.min(look_every), landing.as_mut()).await {
                Ok(announcement) => return Waited::Announced(announcement),
                Err(_) if left <= look_every => return Waited::TimedOut,
                Err(_) => match self.tier.fetch(key).await {
                    Fetched::Hit { value, lifetime } => return Waited::Found(value, lifetime),
                    Fetched::Miss | Fetched::Undecodable => {}
                    Fetched::Unavailable(_) => return Waited::Unavailable,
                },
            }
        }
    }

    /// Whether a copy in the tier with `lifetime` left serves a load made for `intent`: any
    /// does for a caller that needs a value; a refresh ahead wants one not itself due for
    /// refresh (else every node would take the copy that is about to expire); an explicit
    /// refresh wants the origin's. A value another node landed while this one waited is new,
    /// and serves every intent.
    fn takes(&self, intent: Intent, lifetime: Lifetime) -> bool {
        match (intent, lifetime) {
            (Intent::Load | Intent::Revalidate, _)
            | (Intent::RefreshAhead, Lifetime::Unbounded) => true,
            (Intent::RefreshAhead, Lifetime::Remaining(left)) => {
                let left = u64::try_from(left.as_nanos()).unwrap_or(u64::MAX);
                !self.cache.due_for_refresh(left)
            }
            (Intent::Refresh, _) => false,
        }
    }

    /// How long a value the tier had lives here: what is left of its tier lifetime, at most
    /// `ttl`.
    pub(super) fn shared_ttl(&self, lifetime: Lifetime) -> Duration {
        match lifetime {
            Lifetime::Remaining(left) => left.min(self.fleet.ttl),
            Lifetime::Unbounded => self.fleet.ttl,
        }
    }

    /// Lands a value the tier had, for what is left of its tier lifetime (at most `ttl`).
    fn land_shared(
        &self,
        guard: LoadGuard<'_, K, V, E, T, S, L, W, N>,
        key: &K,
        value: V,
        lifetime: Lifetime,
        status: Status,
    ) -> Result<Led<V>, Error<E>> {
        let ttl = self.shared_ttl(lifetime);
        match guard.complete(key, Ok((value, Some(ttl))))? {
            Served::Loaded(value) | Served::FailSafe { value, .. } => {
                Ok(Led::Shared(value, status))
            }
        }
    }

    /// Loads holding the fleet lock, lands here, writes the tier, releases the lock and
    /// announces what happened (also when the load failed).
    async fn load_locked<Ld>(
        &self,
        guard: LoadGuard<'_, K, V, E, T, S, L, W, N>,
        shard: &Shard<K, V, E, <T as Clock>::Stamp, L>,
        key: &K,
        loader: &Ld,
        split: &impl Fn(Ld::Value) -> (V, Option<Duration>),
        lock: FleetLock<'_, R::Token>,
    ) -> Result<Served<V>, Error<E>>
    where
        Ld: Loader<K, Error = E>,
    {
        let loaded = self.cache.run_load(shard, loader.load(key)).await;
        let (landed, announcement) = match loaded.map(split) {
            Ok((value, ttl)) => {
                let landed = guard.complete(key, Ok((value, ttl)));
                let announcement = match &landed {
                    Ok(Served::Loaded(value)) => self.share(&shard.counters, key, value, ttl).await,
                    Ok(Served::FailSafe { .. }) | Err(_) => Announcement::Abandoned,
                };
                (landed, announcement)
            }
            Err(error) => (guard.complete(key, Err(error)), Announcement::Abandoned),
        };
        lock.release(&self.tier, key, announcement).await;
        landed
    }

    /// Loads without the fleet lock, lands here, and with [`Share::Store`] writes the tier and
    /// announces the landing (for the nodes that wait on an expired or abandoned lock).
    async fn load<Ld>(
        &self,
        guard: LoadGuard<'_, K, V, E, T, S, L, W, N>,
        shard: &Shard<K, V, E, <T as Clock>::Stamp, L>,
        key: &K,
        loader: &Ld,
        split: &impl Fn(Ld::Value) -> (V, Option<Duration>),
        share: Share,
    ) -> Result<Served<V>, Error<E>>
    where
        Ld: Loader<K, Error = E>,
    {
        let loaded = self.cache.run_load(shard, loader.load(key)).await;
        let (landed, ttl) = match loaded.map(split) {
            Ok((value, ttl)) => (guard.complete(key, Ok((value, ttl))), ttl),
            Err(error) => (guard.complete(key, Err(error)), None),
        };
        if share == Share::Store
            && let Ok(Served::Loaded(value)) = &landed
            && self.share(&shard.counters, key, value, ttl).await == Announcement::Landed
        {
            let landed = Announcement::Landed;
            self.announce(&shard.counters, key, landed).await;
        }
        landed
    }

    /// Tells the other nodes what happened to `key`, counting a tier that did not answer.
    pub(super) async fn announce(&self, counters: &Counters, key: &K, announcement: Announcement) {
        if let Announced::Unavailable(_) = self.tier.announce(key, announcement).await {
            bump(&counters.tier_errors);
        }
    }

    /// Writes a loaded value to the tier; says what to announce.
    pub(super) async fn share(
        &self,
        counters: &Counters,
        key: &K,
        value: &V,
        ttl: Option<Duration>,
    ) -> Announcement {
        let ttl = ttl.unwrap_or(self.fleet.ttl);
        if ttl.is_zero() {
            return Announcement::Abandoned;
        }
        match self.tier.store(key, value, ttl).await {
            Stored::Stored => Announcement::Landed,
            Stored::TooLarge | Stored::Unencodable => Announcement::Abandoned,
            Stored::Unavailable(_) => {
                bump(&counters.tier_errors);
                Announcement::Abandoned
            }
        }
    }
}

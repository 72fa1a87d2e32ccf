//! What the caller that leads a key's load does with its guard: run the loader (a plain
//! [`Cache`]), or ask the fleet's shared tier first ([`Tiered`](crate::Tiered)).
//!
//! The entry points that lead loads (read-through, stale-while-revalidate, refresh) are written
//! once, in the cache, against this trait; a tiered cache passes its own leader.

use core::hash::{BuildHasher, Hash};
use core::time::Duration;

use crate::cache::Cache;
use crate::error::Error;
use crate::listener::Listener;
use crate::load_guard::{LoadGuard, Served};
use crate::loader::Loader;
use crate::lock::RawLock;
use crate::status::{Answer, Status};
use crate::timer::Clock;
use crate::weigher::Weigh;

/// How a led load ended for its leader.
pub(crate) enum Led<V> {
    /// The loader ran and its outcome landed (a value, or fail-safe's fallback).
    Landed(Served<V>),
    /// No load ran: the shared tier had the value (another node loaded it), which landed here
    /// and answers with this status ([`Status::TierHit`] or [`Status::TierLockHit`]).
    Shared(V, Status),
}

impl<V> Led<V> {
    /// The leader's answer: `status` for its own load.
    pub(crate) fn answer(self, status: Status) -> Answer<V> {
        match self {
            Led::Landed(served) => served.answer(status),
            Led::Shared(value, shared) => Answer::new(value, shared),
        }
    }
}

/// The leader's part of a load, once the key's coalescing made this caller the leader.
pub(crate) trait Lead<K, V, E, T: Clock, S, L: RawLock, W, N> {
    /// Produces `key`'s value with `loader` (or from elsewhere) and lands it with `guard`.
    async fn lead<Ld>(
        &self,
        guard: LoadGuard<'_, K, V, E, T, S, L, W, N>,
        key: &K,
        loader: &Ld,
        split: &impl Fn(Ld::Value) -> (V, Option<Duration>),
    ) -> Result<Led<V>, Error<E>>
    where
        Ld: Loader<K, Error = E>;
}

/// A plain cache's leader: runs the loader and lands its outcome.
pub(crate) struct RunLoader;

impl<K, V, E, T, S, L, W, N> Lead<K, V, E, T, S, L, W, N> for RunLoader
where
    K: Hash + Eq + Clone,
    V: Clone,
    T: Clock,
    S: BuildHasher,
    L: RawLock,
    W: Weigh<K, V>,
    N: Listener<K, V>,
{
    async fn lead<Ld>(
        &self,
        guard: LoadGuard<'_, K, V, E, T, S, L, W, N>,
        key: &K,
        loader: &Ld,
        split: &impl Fn(Ld::Value) -> (V, Option<Duration>),
    ) -> Result<Led<V>, Error<E>>
    where
        Ld: Loader<K, Error = E>,
    {
        let cache: &Cache<K, V, E, T, S, L, W, N> = guard.cache();
        let loaded = cache.run_load(guard.shard(), loader.load(key)).await;
        guard.complete(key, loaded.map(split)).map(Led::Landed)
    }
}

//! Fail-safe: a failed load answers with the expired value at hand instead of the error.

use core::borrow::Borrow;
use core::hash::{BuildHasher, Hash};
use core::time::Duration;

use crate::cache::Cache;
use crate::listener::Listener;
use crate::lock::RawLock;
use crate::shard::Shard;
use crate::stats::bump;
use crate::status::{Answer, Status};
use crate::timer::Clock;
use crate::weigher::Weigh;

/// How fail-safe behaves: set with [`Builder::fail_safe`](crate::Builder::fail_safe).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FailSafe {
    /// The oldest expired value (time past its expiry) a failed load falls back to.
    pub(crate) max_stale: Duration,
    /// How long the fallback answers every caller before the backend is tried again.
    pub(crate) throttle: Duration,
}

impl<K, V, E, T, S, L, W, N> Cache<K, V, E, T, S, L, W, N>
where
    K: Hash + Eq,
    V: Clone,
    T: Clock,
    S: BuildHasher,
    L: RawLock,
    W: Weigh<K, V>,
    N: Listener<K, V>,
{
    /// The expired value fail-safe may answer with for `key` now, with its expiry: one no
    /// older than `max_stale` past it. A fresh value is not a fallback (the load that failed
    /// was started because there was none, or to refresh it, which keeps it anyway).
    pub(crate) fn fail_safe_value<Q>(
        &self,
        shard: &Shard<K, V, E, T::Stamp, L>,
        hash: u64,
        key: &Q,
        max_stale: Duration,
    ) -> Option<(V, T::Stamp)>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        shard.read(|state| {
            let entry = state.store.get(hash, key)?;
            let overdue = self.timer.overdue(entry.deadline)?;
            (overdue <= max_stale).then(|| (entry.value.clone(), entry.deadline))
        })
    }

    /// A fail-safe answer: `value`, this long past its expiry, counted in
    /// [`Stats::fail_safe`](crate::Stats::fail_safe) (its status is counted by the caller).
    pub(crate) fn fail_safe_answer(
        &self,
        shard: &Shard<K, V, E, T::Stamp, L>,
        value: V,
        age: Duration,
    ) -> Answer<V> {
        bump(&shard.counters.fail_safe);
        Answer::new(value, Status::Stale(age))
    }
}

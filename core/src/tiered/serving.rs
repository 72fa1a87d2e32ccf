//! Stale-while-revalidate, refresh ahead and explicit refreshes through the shared tier: the
//! cache's own entry points, with the tiered leader in the leader's part.

use core::hash::{BuildHasher, Hash};

use crate::cache::Cache;
use crate::error::Error;
use crate::listener::Listener;
use crate::loader::Loader;
use crate::lock::RawLock;
use crate::read_through::{Intent, Joined, Role};
use crate::revalidate::{Refresh, Revalidation, refreshed};
use crate::status::{Answer, Status};
use crate::tier::Tier;
use crate::timer::Timer;
use crate::weigher::Weigh;

use super::Tiered;

impl<K, V, E, T, S, L, W, N, R> Tiered<Cache<K, V, E, T, S, L, W, N>, R>
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
    /// Stale-while-revalidate and refresh ahead through the fleet, driven by the caller, as
    /// [`Cache::get_or_revalidate`]: a value within the stale window answers at once
    /// ([`Status::Stale`](crate::Status::Stale)) while the first caller to find it stale
    /// refreshes it, and a fresh value past the refresh-ahead point is refreshed by the first
    /// caller to see it ([`Status::Refreshed`](crate::Status::Refreshed)). That refresh asks
    /// the shared tier first: a value another node stored meanwhile is taken
    /// ([`Status::TierHit`](crate::Status::TierHit), no load) unless it is due for refresh
    /// ahead itself; otherwise the fleet lock decides which node loads. Fail-safe applies as
    /// in the cache: a failed load answers with this node's expired value.
    ///
    /// ```
    /// # use core::time::Duration;
    /// use readthrough_core::{Cache, ManualTimer, MemoryTier, Status, Tiered};
    /// # futures_lite::future::block_on(async {
    /// let timer = ManualTimer::new();
    /// let tier = MemoryTier::<u32, u32, _>::new(timer.clone());
    /// let node = |tier_node| {
    ///     let cache = Cache::<u32, u32>::builder().capacity(8).timer(timer.clone())
    ///         .ttl(Duration::from_secs(10)).stale_window(Duration::from_secs(60))
    ///         .lock_timeout(Duration::from_secs(1)).build().unwrap();
    ///     Tiered::new(cache, tier_node).unwrap()
    /// };
    /// let (a, b) = (node(tier.node()), node(tier.node()));
    /// let load = |value: u32| move |_: &u32| async move { Ok(value) };
    /// a.get_or_load(&1, load(1)).await.unwrap();
    /// b.get_or_load(&1, load(1)).await.unwrap();
    /// timer.advance(Duration::from_secs(11));
    ///
    /// // A refreshes: a load, stored in the tier.
    /// let refreshed = a.get_or_revalidate(&1, load(2)).await.unwrap();
    /// assert_eq!((refreshed.value, refreshed.status), (2, Status::Expired));
    /// // B's refresh finds A's value in the tier: no load.
    /// let from_tier = b.get_or_revalidate(&1, load(3)).await.unwrap();
    /// assert_eq!((from_tier.value, from_tier.status), (2, Status::TierHit));
    /// # });
    /// ```
    pub async fn get_or_revalidate<Ld>(&self, key: &K, loader: Ld) -> Result<Answer<V>, Error<E>>
    where
        Ld: Loader<K, Value = V, Error = E>,
    {
        let cache = &self.cache;
        let hash = cache.hash(key);
        let shard = cache.shard(hash);
        let split = |value| (value, None);
        let answer = match cache.revalidation(shard, hash, key) {
            Revalidation::Answered(answer) => return answer,
            Revalidation::Load(status) => {
                self.load_through(shard, hash, key, &loader, &split, status)
                    .await
            }
            Revalidation::Lead(Refresh {
                guard,
                current,
                intent,
                status,
            }) => {
                let led = self.view().lead(guard, key, &loader, &split, intent).await;
                refreshed(led, current, intent, status)
            }
            Revalidation::Current(answer) => Ok(answer),
        };
        shard.counters.outcome(&answer);
        answer
    }

    /// Refreshes `key` through the fleet unless a load of it is in flight here (then `None`),
    /// as [`Cache::refresh`]: the origin's value, loaded under the fleet lock (a copy in the
    /// tier is not taken), stored in the tier, and announced to the nodes waiting for it.
    ///
    /// ```
    /// # use core::time::Duration;
    /// use readthrough_core::{Cache, ManualTimer, MemoryTier, Status, Tiered};
    /// # futures_lite::future::block_on(async {
    /// let timer = ManualTimer::new();
    /// let tier = MemoryTier::<u32, u32, _>::new(timer.clone());
    /// let cache = Cache::<u32, u32>::builder().capacity(8).timer(timer.clone())
    ///     .ttl(Duration::from_secs(60)).lock_timeout(Duration::from_secs(1)).build().unwrap();
    /// let tiered = Tiered::new(cache, tier.node()).unwrap();
    /// let refreshed = tiered.refresh(&1, |_: &u32| async { Ok(5) }).await.unwrap().unwrap();
    /// assert_eq!((refreshed.value, refreshed.status), (5, Status::Miss));
    /// assert_eq!(tier.len(), 1);
    /// # });
    /// ```
    pub async fn refresh<Ld>(&self, key: &K, loader: Ld) -> Option<Result<Answer<V>, Error<E>>>
    where
        Ld: Loader<K, Value = V, Error = E>,
    {
        self.load_unless_busy(key, &loader, Intent::Refresh).await
    }

    /// Like [`refresh`](Self::refresh), but also `None` when this node's value is fresh (as
    /// [`Cache::revalidate`]); a fresh copy in the tier is taken
    /// ([`Status::TierHit`](crate::Status::TierHit)) instead of loading.
    ///
    /// ```
    /// # use core::time::Duration;
    /// use readthrough_core::{Cache, ManualTimer, MemoryTier, Tiered};
    /// # futures_lite::future::block_on(async {
    /// let timer = ManualTimer::new();
    /// let tier = MemoryTier::<u32, u32, _>::new(timer.clone());
    /// let cache = Cache::<u32, u32>::builder().capacity(8).timer(timer.clone())
    ///     .ttl(Duration::from_secs(60)).lock_timeout(Duration::from_secs(1)).build().unwrap();
    /// let tiered = Tiered::new(cache, tier.node()).unwrap();
    /// tiered.insert(1, 10).await;
    /// assert!(tiered.revalidate(&1, |_: &u32| async { Ok(11) }).await.is_none());
    /// # });
    /// ```
    pub async fn revalidate<Ld>(&self, key: &K, loader: Ld) -> Option<Result<Answer<V>, Error<E>>>
    where
        Ld: Loader<K, Value = V, Error = E>,
    {
        self.load_unless_busy(key, &loader, Intent::Revalidate)
            .await
    }

    /// Leads a load of `key` through the fleet unless `intent` finds no need for one or one
    /// in flight here (as the cache's `refresh` and `revalidate`).
    async fn load_unless_busy<Ld>(
        &self,
        key: &K,
        loader: &Ld,
        intent: Intent,
    ) -> Option<Result<Answer<V>, Error<E>>>
    where
        Ld: Loader<K, Value = V, Error = E>,
    {
        let cache = &self.cache;
        let hash = cache.hash(key);
        let shard = cache.shard(hash);
        let Joined::Role(Role::Leader(guard)) = cache.join(shard, hash, key, intent) else {
            return None;
        };
        let view = self.view();
        let led = view.lead(guard, key, loader, &|value| (value, None), intent);
        Some(led.await.map(|led| led.answer(Status::Miss)))
    }
}

//! A cache in front of a shared [`Tier`]: this node's memory (L1) first, then the fleet's tier
//! (L2), then the loader, with one load per key across the fleet.
//!
//! The tier is attached by wrapping a built [`Cache`] rather than by a type parameter of the
//! cache itself: a cache without a tier is the plain `Cache`, whose hit and miss paths do not
//! change at all, and every tier concern (the fleet lock, the landing wait, the writes that
//! reach the other nodes) lives here.

use core::hash::{BuildHasher, Hash};
use core::time::Duration;

#[cfg(all(target_has_atomic = "ptr", not(loom)))]
mod background;
mod batch;
mod lead;
mod serving;

use crate::cache::{Cache, Peek};
use crate::error::{BuildError, Error};
use crate::hit_or_load::HitOrLoad;
use crate::listener::Listener;
use crate::loader::Loader;
use crate::lock::RawLock;
use crate::read_through::{Intent, Turn};
use crate::shard::Shard;
use crate::stats::{Counters, Stats, bump};
use crate::status::{Answer, Status};
use crate::tier::{Announcement, Deleted, InvalidationSink, Stored, Tier};
use crate::timer::{Clock, Timer};
use crate::weigher::Weigh;

/// A [`Cache`] (this node's memory, L1) in front of a [`Tier`] shared by a fleet of nodes (L2).
///
/// - An L1 hit never touches the tier.
/// - On an L1 miss, the key's one local leader (the cache's usual coalescing) asks the tier:
///   a value there lands in L1 for what is left of its tier lifetime (at most the cache's
///   `ttl`) and answers [`Status::TierHit`].
/// - A tier miss takes the fleet-wide load lock, loads, writes the tier, releases the lock and
///   announces the landing. A node that finds the lock held waits for that landing (at most
///   half the cache's `lock_timeout`, so that its own local waiters are still waiting when it
///   is done) and answers [`Status::TierLockHit`]; after that wait it loads itself.
/// - A tier that does not answer is skipped for that call: the node loads locally, and counts
///   it in [`Stats::tier_errors`].
/// - [`insert`](Self::insert), [`remove`](Self::remove) and [`invalidate`](Self::invalidate)
///   write or delete the shared copy and announce it, so that the other nodes drop theirs; a
///   node receives those announcements as an [`InvalidationSink`] (which `Tiered` is).
///
/// The cache needs a [`Timer`], a `ttl` (how long values live in the tier) and a
/// `lock_timeout`; the fleet lock is held for `load_timeout` if set, else `lock_timeout`, and
/// expires by itself after that. A leader whose future is dropped (or panics) while holding the
/// fleet lock cannot release it (an async call cannot run in `Drop`): it is counted in
/// [`Stats::fleet_locks_dropped`], and the other nodes wait at most for its expiry.
///
/// ```
/// use core::time::Duration;
/// use readthrough_core::{Cache, ManualTimer, MemoryTier, Status, Tiered};
///
/// # futures_lite::future::block_on(async {
/// let timer = ManualTimer::new();
/// let tier = MemoryTier::<u32, String, _>::new(timer.clone());
/// let node = |tier_node| {
///     let cache = Cache::<u32, String>::builder()
///         .capacity(100)
///         .timer(timer.clone())
///         .ttl(Duration::from_secs(60))
///         .lock_timeout(Duration::from_secs(1))
///         .build()
///         .unwrap();
///     Tiered::new(cache, tier_node).unwrap()
/// };
/// let (a, b) = (node(tier.node()), node(tier.node()));
/// let load = |k: &u32| { let k = *k; async move { Ok(format!("row {k}")) } };
///
/// assert_eq!(a.get_or_load(&7, load).await.unwrap().status, Status::Miss);
/// let from_b = b.get_or_load(&7, load).await.unwrap();
/// assert_eq!((from_b.value.as_str(), from_b.status), ("row 7", Status::TierHit));
/// assert_eq!(b.get_or_load(&7, load).await.unwrap().status, Status::Hit);
/// # });
/// ```
pub struct Tiered<C, R> {
    cache: C,
    tier: R,
    fleet: Fleet,
}

/// A node borrowed: what the leader's part runs on.
type View<'a, K, V, E, T, S, L, W, N, R> = Tiered<&'a Cache<K, V, E, T, S, L, W, N>, &'a R>;

/// The tier's timing, derived from the cache's options when it is attached.
#[derive(Clone, Copy, Debug)]
struct Fleet {
    /// How long a fleet lock lives unless released.
    hold_for: Duration,
    /// How long a leader waits for another node's landing.
    wait: Duration,
    /// The tier lifetime of a value whose loader named none.
    ttl: Duration,
}

impl<C, R> Tiered<C, R> {
    /// The cache in front (this node's memory). Its own `insert`, `remove` and `invalidate`
    /// touch only this node: use `Tiered`'s to reach the fleet.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use readthrough_core::{Cache, ManualTimer, MemoryTier, Tiered};
    /// # let timer = ManualTimer::new();
    /// # let cache = Cache::<u32, u32>::builder().capacity(8).timer(timer.clone())
    /// #     .ttl(Duration::from_secs(1)).lock_timeout(Duration::from_secs(1)).build().unwrap();
    /// let tiered = Tiered::new(cache, MemoryTier::<u32, u32, _>::new(timer).node()).unwrap();
    /// assert_eq!(tiered.cache().len(), 0);
    /// ```
    pub fn cache(&self) -> &C {
        &self.cache
    }

    /// The shared tier.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use readthrough_core::{Cache, ManualTimer, MemoryTier, Tiered};
    /// # let timer = ManualTimer::new();
    /// # let cache = Cache::<u32, u32>::builder().capacity(8).timer(timer.clone())
    /// #     .ttl(Duration::from_secs(1)).lock_timeout(Duration::from_secs(1)).build().unwrap();
    /// let tiered = Tiered::new(cache, MemoryTier::<u32, u32, _>::new(timer).node()).unwrap();
    /// let _node = tiered.tier();
    /// ```
    pub fn tier(&self) -> &R {
        &self.tier
    }
}

impl<K, V, E, T, S, L, W, N, R> Tiered<Cache<K, V, E, T, S, L, W, N>, R>
where
    T: Timer,
{
    /// Puts `cache` in front of `tier`. Refuses a cache built without `ttl` or `lock_timeout`
    /// ([`BuildError::TierNeeds`]): the tier stores every value with a lifetime, and waiting
    /// for another node needs a bound.
    ///
    /// ```
    /// # use core::time::Duration;
    /// use readthrough_core::{BuildError, Cache, ManualTimer, MemoryTier, Tiered};
    /// let timer = ManualTimer::new();
    /// let tier = MemoryTier::<u32, u32, _>::new(timer.clone());
    /// let no_lock_timeout = Cache::<u32, u32>::builder()
    ///     .capacity(8)
    ///     .timer(timer)
    ///     .ttl(Duration::from_secs(60))
    ///     .build()
    ///     .unwrap();
    /// let refused = Tiered::new(no_lock_timeout, tier.node());
    /// assert_eq!(refused.err(), Some(BuildError::TierNeeds("lock_timeout")));
    /// ```
    pub fn new(cache: Cache<K, V, E, T, S, L, W, N>, tier: R) -> Result<Self, BuildError> {
        let options = cache.options;
        let ttl = options.ttl.ok_or(BuildError::TierNeeds("ttl"))?;
        let lock_timeout = options
            .lock_timeout
            .ok_or(BuildError::TierNeeds("lock_timeout"))?;
        let fleet = Fleet {
            hold_for: options.load_timeout.unwrap_or(lock_timeout),
            wait: lock_timeout / 2,
            ttl,
        };
        Ok(Tiered { cache, tier, fleet })
    }
}

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
    /// The fresh value for `key` from this node's memory, else from the shared tier, else from
    /// `loader` (run once per key across the fleet while the tier answers). The [`Status`]
    /// says which: `Hit`, `TierHit`, `TierLockHit`, `Miss`/`Expired` (this caller loaded) or
    /// `LockHit` (waited for a local caller). A hit allocates nothing and sends nothing.
    ///
    /// ```
    /// # use core::time::Duration;
    /// use readthrough_core::{Cache, ManualTimer, MemoryTier, Status, Tiered};
    /// # futures_lite::future::block_on(async {
    /// let timer = ManualTimer::new();
    /// let cache = Cache::<u32, u32>::builder()
    ///     .capacity(8)
    ///     .timer(timer.clone())
    ///     .ttl(Duration::from_secs(60))
    ///     .lock_timeout(Duration::from_secs(1))
    ///     .build()
    ///     .unwrap();
    /// let tiered = Tiered::new(cache, MemoryTier::new(timer).node()).unwrap();
    /// let load = |k: &u32| { let k = *k; async move { Ok(k * 2) } };
    /// assert_eq!(tiered.get_or_load(&4, load).await.unwrap().status, Status::Miss);
    /// assert_eq!(tiered.get_or_load(&4, load).await.unwrap().status, Status::Hit);
    /// # });
    /// ```
    pub fn get_or_load<Ld>(
        &self,
        key: &K,
        loader: Ld,
    ) -> impl Future<Output = Result<Answer<V>, Error<E>>>
    where
        Ld: Loader<K, Value = V, Error = E>,
    {
        self.read_through(key, loader, |value| (value, None))
    }

    /// [`get_or_load`](Self::get_or_load) with a loader that names each value's TTL (as
    /// [`Cache::get_or_load_with_ttl`]); the tier keeps the value that long too. A zero TTL
    /// stores the value nowhere.
    ///
    /// ```
    /// # use core::time::Duration;
    /// use readthrough_core::{Cache, ManualTimer, MemoryTier, Status, Tiered};
    /// # futures_lite::future::block_on(async {
    /// let timer = ManualTimer::new();
    /// let tier = MemoryTier::<u32, u32, _>::new(timer.clone());
    /// let cache = Cache::<u32, u32>::builder()
    ///     .capacity(8)
    ///     .timer(timer.clone())
    ///     .ttl(Duration::from_secs(60))
    ///     .lock_timeout(Duration::from_secs(1))
    ///     .build()
    ///     .unwrap();
    /// let tiered = Tiered::new(cache, tier.node()).unwrap();
    /// let load = |_: &u32| async { Ok((1, Some(Duration::from_secs(5)))) };
    /// tiered.get_or_load_with_ttl(&1, load).await.unwrap();
    /// timer.advance(Duration::from_secs(5));
    /// assert_eq!(tiered.get_or_load_with_ttl(&1, load).await.unwrap().status, Status::Expired);
    /// # });
    /// ```
    pub fn get_or_load_with_ttl<Ld>(
        &self,
        key: &K,
        loader: Ld,
    ) -> impl Future<Output = Result<Answer<V>, Error<E>>>
    where
        Ld: Loader<K, Value = (V, Option<Duration>), Error = E>,
    {
        self.read_through(key, loader, |loaded| loaded)
    }

    /// Stores `value` for `key` here and in the tier (for the cache's `ttl`), and tells the
    /// other nodes to drop their copies.
    ///
    /// ```
    /// # use core::time::Duration;
    /// use readthrough_core::{Cache, ManualTimer, MemoryTier, Status, Tiered};
    /// # futures_lite::future::block_on(async {
    /// let timer = ManualTimer::new();
    /// let tier = MemoryTier::<u32, u32, _>::new(timer.clone());
    /// let node = |tier_node| {
    ///     let cache = Cache::<u32, u32>::builder().capacity(8).timer(timer.clone())
    ///         .ttl(Duration::from_secs(60)).lock_timeout(Duration::from_secs(1)).build().unwrap();
    ///     Tiered::new(cache, tier_node).unwrap()
    /// };
    /// let (a, b) = (node(tier.node()), node(tier.node()));
    /// a.insert(1, 10).await;
    /// let answer = b.get_or_load(&1, |_: &u32| async { Ok(0) }).await.unwrap();
    /// assert_eq!((answer.value, answer.status), (10, Status::TierHit));
    /// # });
    /// ```
    pub async fn insert(&self, key: K, value: V) {
        let counters = self.counters(&key);
        if let Stored::Unavailable(_) = self.tier.store(&key, &value, self.fleet.ttl).await {
            bump(&counters.tier_errors);
        }
        self.view()
            .announce(counters, &key, Announcement::Invalidated)
            .await;
        self.cache.insert(key, value);
    }

    /// Removes `key` here and from the tier, tells the other nodes to drop their copies, and
    /// returns this node's value (if it had one).
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
    /// assert_eq!(tiered.remove(&1).await, Some(10));
    /// assert!(tier.is_empty());
    /// # });
    /// ```
    pub async fn remove(&self, key: &K) -> Option<V> {
        let removed = self.cache.remove(key);
        self.delete_shared(key).await;
        removed
    }

    /// Invalidates `key` here (as [`Cache::invalidate`]: a load in flight is detached), deletes
    /// it from the tier and tells the other nodes to drop their copies.
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
    /// tiered.insert(1, 10).await;
    /// tiered.invalidate(&1).await;
    /// let answer = tiered.get_or_load(&1, |_: &u32| async { Ok(11) }).await.unwrap();
    /// assert_eq!((answer.value, answer.status), (11, Status::Miss));
    /// # });
    /// ```
    pub async fn invalidate(&self, key: &K) {
        self.cache.invalidate(key);
        self.delete_shared(key).await;
    }

    /// The cache's counters, the tier's included (see [`Stats`]).
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use readthrough_core::{Cache, ManualTimer, MemoryTier, Tiered};
    /// # let timer = ManualTimer::new();
    /// # let cache = Cache::<u32, u32>::builder().capacity(8).timer(timer.clone())
    /// #     .ttl(Duration::from_secs(1)).lock_timeout(Duration::from_secs(1)).build().unwrap();
    /// let tiered = Tiered::new(cache, MemoryTier::new(timer).node()).unwrap();
    /// assert_eq!(tiered.stats().tier_errors, 0);
    /// ```
    pub fn stats(&self) -> Stats {
        self.cache.stats()
    }

    fn counters(&self, key: &K) -> &Counters {
        &self.cache.shard(self.cache.hash(key)).counters
    }

    async fn delete_shared(&self, key: &K) {
        let counters = self.counters(key);
        if let Deleted::Unavailable(_) = self.tier.delete(key).await {
            bump(&counters.tier_errors);
        }
        self.view()
            .announce(counters, key, Announcement::Invalidated)
            .await;
    }

    /// This node borrowed, for the leader's part ([`lead`](Self::lead) and what it calls).
    fn view(&self) -> View<'_, K, V, E, T, S, L, W, N, R> {
        Tiered {
            cache: &self.cache,
            tier: &self.tier,
            fleet: self.fleet,
        }
    }

    /// An L1 hit answers in the future's first poll, as the plain cache's (see [`HitOrLoad`]);
    /// a miss goes through the tier.
    fn read_through<Ld>(
        &self,
        key: &K,
        loader: Ld,
        split: impl Fn(Ld::Value) -> (V, Option<Duration>),
    ) -> impl Future<Output = Result<Answer<V>, Error<E>>>
    where
        Ld: Loader<K, Error = E>,
    {
        HitOrLoad::new(
            (self, key, loader, split),
            |&(tiered, key, _, _)| {
                let cache = &tiered.cache;
                let hash = cache.hash(key);
                let shard = cache.shard(hash);
                match cache.peek(shard, hash, key, false) {
                    Peek::Fresh(value) => {
                        shard.counters.hits.bump();
                        Ok(Ok(Answer::new(value, Status::Hit)))
                    }
                    Peek::Expired { .. } => Err((shard, hash, Status::Expired)),
                    Peek::Absent => Err((shard, hash, Status::Miss)),
                }
            },
            |(tiered, key, loader, split), (shard, hash, status)| async move {
                let answer = tiered
                    .load_through(shard, hash, key, &loader, &split, status)
                    .await;
                shard.counters.outcome(&answer);
                answer
            },
        )
    }

    /// The cache's miss path (its coalescing), with the tier in the leader's part.
    async fn load_through<Ld>(
        &self,
        shard: &Shard<K, V, E, <T as Clock>::Stamp, L>,
        hash: u64,
        key: &K,
        loader: &Ld,
        split: &impl Fn(Ld::Value) -> (V, Option<Duration>),
        status: Status,
    ) -> Result<Answer<V>, Error<E>>
    where
        Ld: Loader<K, Error = E>,
    {
        match self
            .cache
            .take_turn(shard, hash, key, loader, split, status)
            .await
        {
            Turn::Lead(guard) => {
                let view = self.view();
                let led = view.lead(guard, key, loader, split, Intent::Load).await;
                led.map(|led| led.answer(status))
            }
            Turn::Answered(answer) => answer,
        }
    }
}

impl<K, V, E, T, S, L, W, N, R> Tiered<Cache<K, V, E, T, S, L, W, N>, R>
where
    K: Hash + Eq,
    T: Timer,
    S: BuildHasher,
    L: RawLock,
    W: Weigh<K, V>,
    N: Listener<K, V>,
{
    /// Drops `key` from this node's memory only (as [`Cache::invalidate`]), leaving the tier
    /// alone: what the tier calls when another node invalidated the key.
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
    /// tiered.invalidate_local(&1);
    /// assert_eq!((tiered.cache().get(&1), tier.len()), (None, 1));
    /// # });
    /// ```
    pub fn invalidate_local(&self, key: &K) {
        self.cache.invalidate(key);
    }
}

impl<K, V, E, T, S, L, W, N, R> InvalidationSink<K> for Tiered<Cache<K, V, E, T, S, L, W, N>, R>
where
    K: Hash + Eq,
    T: Timer,
    S: BuildHasher,
    L: RawLock,
    W: Weigh<K, V>,
    N: Listener<K, V>,
{
    fn invalidate_local(&self, key: &K) {
        Tiered::invalidate_local(self, key);
    }
}

impl<C: core::fmt::Debug, R> core::fmt::Debug for Tiered<C, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Tiered")
            .field("cache", &self.cache)
            .field("fleet", &self.fleet)
            .finish_non_exhaustive()
    }
}

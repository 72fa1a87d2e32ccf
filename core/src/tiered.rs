//! A cache in front of a shared [`Tier`]: this node's memory (L1) first, then the fleet's tier
//! (L2), then the loader, with one load per key across the fleet.
//!
//! The tier is attached by wrapping a built [`Cache`] rather than by a type parameter of the
//! cache itself: a cache without a tier is the plain `Cache`, whose hit and miss paths do not
//! change at all, and every tier concern (the fleet lock, the landing wait, the writes that
//! reach the other nodes) lives here.

use core::future::Future;
use core::hash::{BuildHasher, Hash};
use core::pin::pin;
use core::time::Duration;

use crate::cache::{Cache, Peek};
use crate::error::{BuildError, Error};
use crate::fleet_lock::FleetLock;
use crate::listener::Listener;
use crate::load_guard::{LoadGuard, Served};
use crate::loader::Loader;
use crate::lock::RawLock;
use crate::read_through::Turn;
use crate::shard::Shard;
use crate::stats::{Counters, Stats, bump};
use crate::status::{Answer, Status};
use crate::tier::{
    Announced, Announcement, Deleted, Fetched, InvalidationSink, Lifetime, LockOutcome, Stored,
    Tier,
};
use crate::timer::{Clock, Timer, with_timeout};
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

/// How many times a leader waiting for another node's landing looks in the tier meanwhile.
const LOOKS: u32 = 10;

/// How a wait for another node's landing ended.
enum Waited<V> {
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
    pub async fn get_or_load<Ld>(&self, key: &K, loader: Ld) -> Result<Answer<V>, Error<E>>
    where
        Ld: Loader<K, Value = V, Error = E>,
    {
        self.read_through(key, &loader, |value| (value, None)).await
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
    pub async fn get_or_load_with_ttl<Ld>(&self, key: &K, loader: Ld) -> Result<Answer<V>, Error<E>>
    where
        Ld: Loader<K, Value = (V, Option<Duration>), Error = E>,
    {
        self.read_through(key, &loader, |loaded| loaded).await
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
        self.announce_invalidated(counters, &key).await;
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
        self.announce_invalidated(counters, key).await;
    }

    async fn announce_invalidated(&self, counters: &Counters, key: &K) {
        if let Announced::Unavailable(_) = self.tier.announce(key, Announcement::Invalidated).await
        {
            bump(&counters.tier_errors);
        }
    }

    async fn read_through<Ld>(
        &self,
        key: &K,
        loader: &Ld,
        split: impl Fn(Ld::Value) -> (V, Option<Duration>),
    ) -> Result<Answer<V>, Error<E>>
    where
        Ld: Loader<K, Error = E>,
    {
        let cache = &self.cache;
        let hash = cache.hash(key);
        let shard = cache.shard(hash);
        let status = match cache.peek(shard, hash, key, false) {
            Peek::Fresh(value) => {
                bump(&shard.counters.hits);
                return Ok(Answer::new(value, Status::Hit));
            }
            Peek::Expired { .. } => Status::Expired,
            Peek::Absent => Status::Miss,
        };
        let answer = self
            .load_through(shard, hash, key, loader, &split, status)
            .await;
        shard.counters.outcome(&answer);
        answer
    }

    /// The cache's coalescing protocol (as `Cache::load_through`), with the tier in the
    /// leader's part.
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
            Turn::Lead(guard) => self.lead(guard, shard, key, loader, split, status).await,
            Turn::Answered(answer) => answer,
        }
    }

    /// The local leader's part: the tier, then the fleet lock, then the load.
    async fn lead<Ld>(
        &self,
        guard: LoadGuard<'_, K, V, E, T, S, L, W, N>,
        shard: &Shard<K, V, E, <T as Clock>::Stamp, L>,
        key: &K,
        loader: &Ld,
        split: &impl Fn(Ld::Value) -> (V, Option<Duration>),
        status: Status,
    ) -> Result<Answer<V>, Error<E>>
    where
        Ld: Loader<K, Error = E>,
    {
        let counters = &shard.counters;
        match self.tier.fetch(key).await {
            Fetched::Hit { value, lifetime } => {
                return self.land_shared(guard, key, value, lifetime, Status::TierHit);
            }
            Fetched::Miss | Fetched::Undecodable => {}
            Fetched::Unavailable(_) => {
                bump(&counters.tier_errors);
                crate::events::event!(
                    warn,
                    "tier fallback: the tier did not answer, loading locally"
                );
                let loaded = self.load(guard, shard, key, loader, split, Share::No);
                return loaded.await.map(|served| served.answer(status));
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
                        Fetched::Hit { value, lifetime } => {
                            lock.release_quietly(&self.tier, key).await;
                            return self.land_shared(guard, key, value, lifetime, Status::TierHit);
                        }
                        Fetched::Miss | Fetched::Undecodable => {}
                        // Load all the same: holding the lock, this node is the one to load.
                        Fetched::Unavailable(_) => bump(&counters.tier_errors),
                    }
                    let loaded = self.load_locked(guard, shard, key, loader, split, lock);
                    return loaded.await.map(|served| served.answer(status));
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
        loaded.await.map(|served| served.answer(status))
    }

    /// Waits for another node's landing of `key`, for at most the fleet wait, and looks in the
    /// tier every [`LOOKS`]th of it as well: an announcement can be lost (a reconnect, a publish
    /// that timed out) while the value landed all the same.
    async fn await_landing(
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

    /// Lands a value the tier had, for what is left of its tier lifetime (at most `ttl`).
    fn land_shared(
        &self,
        guard: LoadGuard<'_, K, V, E, T, S, L, W, N>,
        key: &K,
        value: V,
        lifetime: Lifetime,
        status: Status,
    ) -> Result<Answer<V>, Error<E>> {
        let ttl = match lifetime {
            Lifetime::Remaining(left) => left.min(self.fleet.ttl),
            Lifetime::Unbounded => self.fleet.ttl,
        };
        let landed = guard.complete(key, Ok((value, Some(ttl))));
        landed.map(|served| served.answer(status))
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
            && let Announced::Unavailable(_) = self.tier.announce(key, Announcement::Landed).await
        {
            bump(&shard.counters.tier_errors);
        }
        landed
    }

    /// Writes a loaded value to the tier; says what to announce.
    async fn share(
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

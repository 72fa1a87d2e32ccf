//! The cache and its plain (non-loading) operations.

use core::borrow::Borrow;
use core::convert::Infallible;
use core::fmt;
use core::hash::{BuildHasher, Hash};
use core::time::Duration;

use crate::hasher::DefaultHashBuilder;

use crate::builder::Builder;
use crate::duel::{Duel, Role};
use crate::error::BuildError;
use crate::leaving::Leaving;
use crate::listener::{Listener, NoListener, RemovalCause};
use crate::lock::{DefaultLock, RawLock};
use crate::shard::{Shard, Shards};
use crate::stats::{Stats, bump, bump_by};
use crate::status::{Answer, Status};
use crate::store::{Inserted, Store};
use crate::timer::{Clock, NoTimer, Timer};
use crate::weigher::{Unweighted, Weigh};

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Options {
    pub(crate) ttl: Option<Duration>,
    pub(crate) lock_age: Option<Duration>,
    pub(crate) lock_timeout: Option<Duration>,
    pub(crate) load_timeout: Option<Duration>,
    pub(crate) stale_window: Duration,
    pub(crate) negative_ttl: Option<Duration>,
    /// How long before expiry a hit through the revalidating entry points starts a refresh.
    /// In nanoseconds, compared with the time a value has left without building a `Duration`.
    pub(crate) refresh_ahead: Option<u64>,
    pub(crate) fail_safe: Option<crate::fail_safe::FailSafe>,
    /// How long a caller of the background entry point waits for a load before it takes the
    /// fail-safe value at hand (the load goes on).
    pub(crate) soft_timeout: Option<Duration>,
}

/// What storing a value did, to be finished once the shard lock is released.
pub(crate) struct Stored<K, V> {
    pub(crate) leaving: Leaving<K, V>,
    /// A value too heavy to store, with its key: dropped outside the lock.
    pub(crate) rejected: Option<(K, V)>,
    /// The value was rejected for its weight (not for a zero TTL).
    pub(crate) oversized: bool,
    pub(crate) evicted: usize,
    /// A key was added (a miss) to a store in this part of the duel.
    pub(crate) added: Option<Role>,
}

impl<K, V> Stored<K, V> {
    /// Nothing stored yet: filled in place by [`Cache::store_in`], which is cheaper than
    /// returning it (it is large, and a miss moved it three times on its way out of the lock).
    pub(crate) fn new() -> Self {
        Stored {
            leaving: Leaving::new(),
            rejected: None,
            oversized: false,
            evicted: 0,
            added: None,
        }
    }
}

/// A bounded, sharded, read-through cache with lookup coalescing.
///
/// - `K`, `V`: key and value. Values are cloned out on every read: wrap large ones in `Arc`.
/// - `E`: the error your loaders return (shared with every waiter as `Arc<E>`).
/// - `T`: the [`Timer`] (default [`NoTimer`]: coalescing without time-based options).
/// - `S`: the key hasher; `L`: the shard [`RawLock`].
/// - `W`: how entries are weighed ([`Unweighted`]: the capacity counts entries; see
///   [`Builder::weigher`](crate::Builder::weigher)).
/// - `N`: who hears about entries that leave ([`NoListener`]; see
///   [`Builder::listener`](crate::Builder::listener)).
///
/// The runtime adapters name `T` for you (`readthrough_tokio::Cache<K, V, E>` and friends).
///
/// ```
/// use readthrough_core::{Cache, Status};
/// # futures_lite::future::block_on(async {
/// let cache = Cache::<u64, String>::new(1_000).unwrap();
/// let load = async |id: &u64| Ok(format!("user {id}"));
///
/// let first = cache.get_or_load(&7, load).await.unwrap();
/// assert_eq!((first.value.as_str(), first.status), ("user 7", Status::Miss));
/// let again = cache.get_or_load(&7, load).await.unwrap();
/// assert_eq!(again.status, Status::Hit);
/// # });
/// ```
pub struct Cache<
    K,
    V,
    E = Infallible,
    T = NoTimer,
    S = DefaultHashBuilder,
    L = DefaultLock,
    W = Unweighted,
    N = NoListener,
> where
    T: Clock,
{
    pub(crate) shards: Shards<K, V, E, T, L>,
    pub(crate) hasher: S,
    pub(crate) timer: T,
    pub(crate) options: Options,
    pub(crate) weigher: W,
    pub(crate) listener: N,
    capacity: usize,
    /// The shards' duel of regimes (see [`Duel`]).
    duel: Duel,
}

/// What a read of the store found.
pub(crate) enum Peek<V> {
    Fresh(V),
    /// Expired this long ago; the value is included when it may still be served stale.
    Expired {
        stale: Option<V>,
        overdue: Duration,
    },
    Absent,
}

impl<K, V, E> Cache<K, V, E> {
    /// Starts configuring a cache (capacity is required).
    ///
    /// ```
    /// # use readthrough_core::Cache;
    /// let cache = Cache::<&str, u32>::builder().capacity(64).build().unwrap();
    /// # cache.insert("a", 1);
    /// ```
    pub fn builder() -> Builder<K, V, E> {
        Builder::new()
    }
}

impl<K: Hash + Eq, V, E> Cache<K, V, E> {
    /// A cache of `capacity` entries with every other option at its default.
    ///
    /// ```
    /// # use readthrough_core::{BuildError, Cache};
    /// let cache = Cache::<u32, u32>::new(100).unwrap();
    /// assert_eq!(cache.capacity(), 100);
    /// assert_eq!(Cache::<u32, u32>::new(0).err(), Some(BuildError::ZeroCapacity));
    /// ```
    pub fn new(capacity: usize) -> Result<Self, BuildError> {
        Self::builder().capacity(capacity).build()
    }
}

/// The parts a [`Builder`] assembles a cache from.
pub(crate) struct Parts<K, V, E, T: Clock, S, L, W, N> {
    pub(crate) shards: Shards<K, V, E, T, L>,
    pub(crate) duel: Duel,
    pub(crate) capacity: usize,
    pub(crate) hasher: S,
    pub(crate) timer: T,
    pub(crate) options: Options,
    pub(crate) weigher: W,
    pub(crate) listener: N,
}

impl<K, V, E, T: Clock, S, L, W, N> Cache<K, V, E, T, S, L, W, N> {
    pub(crate) fn from_parts(parts: Parts<K, V, E, T, S, L, W, N>) -> Self {
        Cache {
            shards: parts.shards,
            hasher: parts.hasher,
            timer: parts.timer,
            options: parts.options,
            weigher: parts.weigher,
            listener: parts.listener,
            capacity: parts.capacity,
            duel: parts.duel,
        }
    }

    /// The capacity the cache was built with: the most entries it holds, or with a
    /// [weigher](crate::Builder::weigher) the most total weight.
    ///
    /// ```
    /// # use readthrough_core::Cache;
    /// assert_eq!(Cache::<u8, u8>::new(10).unwrap().capacity(), 10);
    /// ```
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The timer the cache reads time from.
    ///
    /// ```
    /// # use readthrough_core::{Cache, NoTimer};
    /// let cache = Cache::<u8, u8>::new(10).unwrap();
    /// let _: &NoTimer = cache.timer();
    /// ```
    pub fn timer(&self) -> &T {
        &self.timer
    }

    /// A snapshot of the counters, summed over the shards without locking.
    ///
    /// ```
    /// # use readthrough_core::Cache;
    /// let cache = Cache::<u8, u8>::new(10).unwrap();
    /// cache.insert(1, 1);
    /// cache.get(&1);
    /// cache.get(&2);
    /// let stats = cache.stats();
    /// assert_eq!((stats.hits, stats.misses), (1, 1));
    /// ```
    pub fn stats(&self) -> Stats {
        let mut stats = Stats::default();
        for shard in self.shards.iter() {
            stats.add(&shard.counters);
        }
        stats
    }
}

impl<K, V, E, T, S, L, W, N> Cache<K, V, E, T, S, L, W, N>
where
    K: Hash + Eq,
    T: Clock,
    S: BuildHasher,
    L: RawLock,
    W: Weigh<K, V>,
    N: Listener<K, V>,
{
    #[inline]
    pub(crate) fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The shard for `hash`, from the top half of the hash times a large odd constant, which
    /// every bit of the hash reaches. A fast hasher (foldhash, the default) may leave little
    /// variety in a hash's middle bits for keys that differ in a few low bits (ids 0, 1, 2, ...):
    /// picked from bits 24..56 as before, 100 sequential keys could land in 2 of 4 shards with
    /// some seeds, leaving half the capacity unused.
    #[inline]
    pub(crate) fn shard(&self, hash: u64) -> &Shard<K, V, E, T::Stamp, L> {
        let index = self.shard_index(hash);
        debug_assert!(index < self.shards.len());
        // SAFETY: `shard_index` is below the shard count (see there).
        unsafe { self.shards.get_unchecked(index) }
    }

    /// The place of `hash`'s shard: below the shard count, a 32-bit fraction of it. The builder
    /// makes at least one shard, and fewer than 2^32 of them (a slice of 2^32 shards of 128
    /// bytes could not be allocated), so the product never overflows and the place is valid.
    #[inline]
    fn shard_index(&self, hash: u64) -> usize {
        let spread = hash.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
        ((spread * self.shards.len() as u64) >> 32) as usize
    }

    #[inline]
    pub(crate) fn peek<Q>(
        &self,
        shard: &Shard<K, V, E, T::Stamp, L>,
        hash: u64,
        key: &Q,
        want_stale: bool,
    ) -> Peek<V>
    where
        V: Clone,
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        shard.read(|state| match state.store.get(hash, key) {
            None => Peek::Absent,
            Some(entry) => match self.timer.overdue(entry.deadline) {
                None => Peek::Fresh(entry.value.clone()),
                Some(overdue) => Peek::Expired {
                    stale: (want_stale && overdue <= self.options.stale_window)
                        .then(|| entry.value.clone()),
                    overdue,
                },
            },
        })
    }

    /// The fresh value for `key`, if any. Never loads, never waits, never allocates. Like
    /// `HashMap::get`, it takes any borrowed form of the key (`&str` for `String` keys).
    ///
    /// ```
    /// # use readthrough_core::Cache;
    /// let cache = Cache::<String, u32>::new(10).unwrap();
    /// assert_eq!(cache.get("a"), None);
    /// cache.insert("a".to_string(), 1);
    /// assert_eq!(cache.get("a"), Some(1));
    /// ```
    #[inline]
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        V: Clone,
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let shard = self.shard(hash);
        match self.peek(shard, hash, key, false) {
            Peek::Fresh(value) => {
                shard.counters.hits.bump();
                Some(value)
            }
            _ => {
                bump(&shard.counters.misses);
                None
            }
        }
    }

    /// The value for `key` even if it expired, as long as it expired no longer ago than the
    /// stale window: [`Status::Hit`] when fresh, [`Status::Stale`] with its age otherwise.
    ///
    /// ```
    /// # use core::time::Duration;
    /// use readthrough_core::{Cache, ManualTimer, Status};
    /// let timer = ManualTimer::new();
    /// let cache = Cache::<u8, u8>::builder()
    ///     .capacity(8)
    ///     .timer(timer.clone())
    ///     .ttl(Duration::from_secs(1))
    ///     .stale_window(Duration::from_secs(10))
    ///     .build()
    ///     .unwrap();
    /// cache.insert(1, 1);
    /// timer.advance(Duration::from_secs(3));
    /// assert_eq!(cache.get(&1), None);
    /// assert_eq!(cache.get_stale(&1).unwrap().status, Status::Stale(Duration::from_secs(2)));
    /// ```
    pub fn get_stale<Q>(&self, key: &Q) -> Option<Answer<V>>
    where
        V: Clone,
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let shard = self.shard(hash);
        match self.peek(shard, hash, key, true) {
            Peek::Fresh(value) => {
                shard.counters.hits.bump();
                Some(Answer::new(value, Status::Hit))
            }
            Peek::Expired {
                stale: Some(value),
                overdue,
            } => {
                bump(&shard.counters.stale);
                Some(Answer::new(value, Status::Stale(overdue)))
            }
            _ => {
                bump(&shard.counters.misses);
                None
            }
        }
    }

    /// Stores `value` for `key` with the default TTL (if any), replacing an older value.
    ///
    /// ```
    /// # use readthrough_core::Cache;
    /// let cache = Cache::<u8, &str>::new(10).unwrap();
    /// cache.insert(1, "one");
    /// cache.insert(1, "uno");
    /// assert_eq!(cache.get(&1), Some("uno"));
    /// ```
    pub fn insert(&self, key: K, value: V) {
        self.store(key, value, self.options.ttl);
    }

    /// Stores `value` unless `ttl` is zero; a zero TTL removes any value stored for `key`.
    pub(crate) fn store(&self, key: K, value: V, ttl: Option<Duration>) {
        let hash = self.hash(&key);
        let shard = self.shard(hash);
        let weight = self.weigher.weight(&key, &value);
        let mut stored = Stored::new();
        shard.write(|state| {
            self.store_in(&mut state.store, &mut stored, hash, key, value, weight, ttl);
        });
        self.finish_store(shard, stored);
    }

    /// Stores under the shard lock, noting in `stored` (new) what is left to do;
    /// [`finish_store`](Self::finish_store) does that once the lock is released. Runs no user
    /// code but the key's `Eq`.
    #[allow(
        clippy::too_many_arguments,
        reason = "the entry's parts, where it goes, and the note of what is left to do"
    )]
    pub(crate) fn store_in(
        &self,
        store: &mut Store<K, V, T::Stamp>,
        stored: &mut Stored<K, V>,
        hash: u64,
        key: K,
        value: V,
        weight: usize,
        ttl: Option<Duration>,
    ) {
        let deadline = match ttl {
            Some(Duration::ZERO) => {
                if let Some((old_key, old_value, old_deadline)) = store.remove(hash, &key) {
                    let cause = if self.timer.overdue(old_deadline).is_some() {
                        RemovalCause::Expired
                    } else {
                        RemovalCause::Replaced
                    };
                    stored.leaving.push(old_key, old_value, cause);
                }
                stored.rejected = Some((key, value));
                return;
            }
            Some(ttl) => self.timer.deadline(ttl),
            None => T::NEVER,
        };
        let expired = |deadline| self.timer.overdue(deadline).is_some();
        store.set_regime(self.duel.regime(store.role()));
        match store.insert::<W>(
            hash,
            key,
            value,
            weight,
            deadline,
            &expired,
            &mut stored.leaving,
        ) {
            Inserted::Added { evicted } => {
                stored.added = Some(store.role());
                stored.evicted = evicted;
            }
            Inserted::Replaced { evicted } => stored.evicted = evicted,
            Inserted::Rejected(key, value) => {
                stored.rejected = Some((key, value));
                stored.oversized = true;
            }
        }
    }

    /// Counts what a store did and hands the entries that left to the listener; call with no
    /// lock held.
    ///
    /// Inlined: `stored` is large, and a call would copy it.
    #[inline]
    pub(crate) fn finish_store(&self, shard: &Shard<K, V, E, T::Stamp, L>, stored: Stored<K, V>) {
        let Stored {
            leaving,
            rejected,
            oversized,
            evicted,
            added,
        } = stored;
        bump_by(&shard.counters.evictions, evicted);
        if let Some(role) = added
            && self.duel.count_miss(role, &shard.counters.added)
        {
            self.duel.end_round(
                self.shards
                    .iter()
                    .map(|shard| shard.counters.added.swap(0, crate::sync::Ordering::Relaxed)),
            );
        }
        if oversized {
            bump(&shard.counters.oversized);
        }
        drop(rejected);
        let spare = leaving.deliver(&self.listener);
        if spare.capacity() > 0 {
            // Only after an eviction of more than two entries: a second, short lock so the
            // next one reuses the list instead of allocating.
            shard.write(|state| state.store.return_spare(spare));
        }
    }

    /// Removes the value for `key` and returns it (even if expired); the listener hears of it
    /// as [`RemovalCause::Removed`]. A load in flight for `key` is not affected and stores its
    /// result when it finishes; see [`invalidate`](Self::invalidate).
    ///
    /// ```
    /// # use readthrough_core::Cache;
    /// let cache = Cache::<u8, u8>::new(10).unwrap();
    /// cache.insert(1, 10);
    /// assert_eq!(cache.remove(&1), Some(10));
    /// assert_eq!(cache.remove(&1), None);
    /// ```
    pub fn remove<Q>(&self, key: &Q) -> Option<V>
    where
        V: Clone,
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let removed = self
            .shard(hash)
            .write(|state| state.store.remove(hash, key));
        let (key, value, _) = removed?;
        if N::LISTENS {
            self.listener
                .on_removal(key, value.clone(), RemovalCause::Removed);
        }
        Some(value)
    }

    /// Removes the value for `key`, and detaches a load in flight for it (or a remembered
    /// error): its callers still get its result, but the result is not stored, and the next
    /// caller starts a fresh load. Use it when the source changed under a running load. The
    /// listener hears of a removed value as [`RemovalCause::Invalidated`].
    ///
    /// ```
    /// # use readthrough_core::Cache;
    /// let cache = Cache::<u8, u8>::new(10).unwrap();
    /// cache.insert(1, 10);
    /// cache.invalidate(&1);
    /// assert_eq!(cache.get(&1), None);
    /// ```
    pub fn invalidate<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let (removed, detached) = self.shard(hash).write(|state| {
            let removed = state.store.remove(hash, key);
            let detached = state.flights.remove(hash, |row| row.key.borrow() == key);
            if detached
                .as_ref()
                .is_some_and(|row| row.remembered.is_some())
            {
                state.remembered.forgot();
            }
            (removed, detached)
        });
        drop(detached);
        if let Some((key, value, _)) = removed {
            self.listener
                .on_removal(key, value, RemovalCause::Invalidated);
        }
    }

    /// Removes every value and detaches every load in flight (as [`invalidate`](Self::invalidate)
    /// does for one key). The listener hears of each value as [`RemovalCause::Cleared`].
    ///
    /// ```
    /// # use readthrough_core::Cache;
    /// let cache = Cache::<u8, u8>::new(10).unwrap();
    /// cache.insert(1, 10);
    /// cache.clear();
    /// assert!(cache.is_empty());
    /// ```
    pub fn clear(&self) {
        for shard in self.shards.iter() {
            let (entries, flights) = shard.write(|state| {
                state.remembered.clear();
                let flights = core::mem::take(&mut state.flights);
                (state.store.clear(), flights)
            });
            drop(flights);
            for (key, value) in entries {
                self.listener.on_removal(key, value, RemovalCause::Cleared);
            }
        }
    }

    /// The total weight of the stored entries: with a [weigher](crate::Builder::weigher), at
    /// most [`capacity`](Self::capacity); without one, the same as [`len`](Self::len).
    ///
    /// ```
    /// # use readthrough_core::Cache;
    /// let cache = Cache::<u8, u8>::new(10).unwrap();
    /// cache.insert(1, 10);
    /// assert_eq!(cache.weight(), 1);
    /// ```
    pub fn weight(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.read(|state| state.store.weight()))
            .sum()
    }

    /// The number of failed loads whose errors are remembered now
    /// ([`negative_ttl`](crate::Builder::negative_ttl)), at most the builder's
    /// [`remembered_errors`](crate::Builder::remembered_errors).
    ///
    /// ```
    /// # use readthrough_core::Cache;
    /// assert_eq!(Cache::<u8, u8>::new(10).unwrap().remembered_errors(), 0);
    /// ```
    pub fn remembered_errors(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.read(|state| state.remembered.count()))
            .sum()
    }

    /// The number of stored entries, including expired ones not yet replaced or evicted.
    ///
    /// ```
    /// # use readthrough_core::Cache;
    /// let cache = Cache::<u8, u8>::new(10).unwrap();
    /// cache.insert(1, 10);
    /// assert_eq!(cache.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.read(|state| state.store.len()))
            .sum()
    }

    /// True when no entry is stored.
    ///
    /// ```
    /// # use readthrough_core::Cache;
    /// assert!(Cache::<u8, u8>::new(10).unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of loads running now (waiters share one). Zero whenever the cache is idle:
    /// no load is ever left behind, even when its leader was cancelled or panicked.
    ///
    /// ```
    /// # use readthrough_core::Cache;
    /// let cache = Cache::<u8, u8>::new(10).unwrap();
    /// assert_eq!(cache.loads_in_flight(), 0);
    /// ```
    pub fn loads_in_flight(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| {
                shard.read(|state| {
                    state
                        .flights
                        .iter()
                        .filter(|row| row.flight.is_loading())
                        .count()
                })
            })
            .sum()
    }

    /// The number of callers waiting now for another caller's load (a gauge, not a counter).
    ///
    /// ```
    /// # use readthrough_core::Cache;
    /// assert_eq!(Cache::<u8, u8>::new(10).unwrap().waiters(), 0);
    /// ```
    pub fn waiters(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.counters.waiting.load(crate::sync::Ordering::Relaxed))
            .sum()
    }
}

impl<K, V, E, T, S, L, W, N> Cache<K, V, E, T, S, L, W, N>
where
    K: Hash + Eq,
    T: Timer,
    S: BuildHasher,
    L: RawLock,
    W: Weigh<K, V>,
    N: Listener<K, V>,
{
    /// Stores `value` for `key` for `ttl`; a zero `ttl` removes any value stored for `key`
    /// instead.
    ///
    /// ```
    /// # use core::time::Duration;
    /// use readthrough_core::{Cache, ManualTimer};
    /// let timer = ManualTimer::new();
    /// let cache = Cache::<u8, u8>::builder().capacity(8).timer(timer.clone()).build().unwrap();
    /// cache.insert_with_ttl(1, 1, Duration::from_secs(1));
    /// cache.insert_with_ttl(2, 2, Duration::ZERO);
    /// assert_eq!((cache.get(&1), cache.get(&2)), (Some(1), None));
    /// timer.advance(Duration::from_secs(1));
    /// assert_eq!(cache.get(&1), None);
    /// ```
    pub fn insert_with_ttl(&self, key: K, value: V, ttl: Duration) {
        self.store(key, value, Some(ttl));
    }
}

impl<K, V, E, T: Clock, S, L, W, N> fmt::Debug for Cache<K, V, E, T, S, L, W, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("capacity", &self.capacity)
            .field("shards", &self.shards.len())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

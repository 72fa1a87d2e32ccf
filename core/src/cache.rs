//! The cache and its plain (non-loading) operations.

use core::borrow::Borrow;
use core::convert::Infallible;
use core::fmt;
use core::hash::{BuildHasher, Hash};
use core::time::Duration;

use hashbrown::DefaultHashBuilder;

use crate::builder::Builder;
use crate::error::BuildError;
use crate::lock::{DefaultLock, RawLock};
use crate::shard::{Shard, Shards};
use crate::stats::{Stats, bump};
use crate::status::{Answer, Status};
use crate::store::{Inserted, Store};
use crate::timer::{Clock, NoTimer, Timer};

#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Options {
    pub(crate) ttl: Option<Duration>,
    pub(crate) lock_age: Option<Duration>,
    pub(crate) lock_timeout: Option<Duration>,
    pub(crate) load_timeout: Option<Duration>,
    pub(crate) stale_window: Duration,
    pub(crate) negative_ttl: Option<Duration>,
}

/// A bounded, sharded, read-through cache with lookup coalescing.
///
/// - `K`, `V`: key and value. Values are cloned out on every read: wrap large ones in `Arc`.
/// - `E`: the error your loaders return (shared with every waiter as `Arc<E>`).
/// - `T`: the [`Timer`] (default [`NoTimer`]: coalescing without time-based options).
/// - `S`: the key hasher; `L`: the shard [`RawLock`].
///
/// The runtime adapters name `T` for you (`readthrough_tokio::Cache<K, V, E>` and friends).
///
/// ```
/// use readthrough_core::{Cache, Status};
/// # futures_lite::future::block_on(async {
/// let cache = Cache::<u64, String>::new(1_000).unwrap();
/// let load = |id: &u64| { let id = *id; async move { Ok(format!("user {id}")) } };
///
/// let first = cache.get_or_load(&7, load).await.unwrap();
/// assert_eq!((first.value.as_str(), first.status), ("user 7", Status::Miss));
/// let again = cache.get_or_load(&7, load).await.unwrap();
/// assert_eq!(again.status, Status::Hit);
/// # });
/// ```
pub struct Cache<K, V, E = Infallible, T = NoTimer, S = DefaultHashBuilder, L = DefaultLock>
where
    T: Clock,
{
    pub(crate) shards: Shards<K, V, E, T, L>,
    pub(crate) hasher: S,
    pub(crate) timer: T,
    pub(crate) options: Options,
    capacity: usize,
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

impl<K, V, E, T: Clock, S, L> Cache<K, V, E, T, S, L> {
    pub(crate) fn from_parts(
        shards: Shards<K, V, E, T, L>,
        capacity: usize,
        hasher: S,
        timer: T,
        options: Options,
    ) -> Self {
        Cache {
            shards,
            hasher,
            timer,
            options,
            capacity,
        }
    }

    /// The capacity the cache was built with.
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

impl<K, V, E, T, S, L> Cache<K, V, E, T, S, L>
where
    K: Hash + Eq,
    T: Clock,
    S: BuildHasher,
    L: RawLock,
{
    #[inline]
    pub(crate) fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The shard for `hash`, from hash bits that neither hashbrown's bucket index (low bits) nor
    /// its control tag (top 7 bits) use, so every shard's table keeps well-spread hashes.
    #[inline]
    pub(crate) fn shard(&self, hash: u64) -> &Shard<K, V, E, T::Stamp, L> {
        let bits = (hash >> 24) as u32 as u64;
        let index = ((bits * self.shards.len() as u64) >> 32) as usize;
        &self.shards[index]
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
                bump(&shard.counters.hits);
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
                bump(&shard.counters.hits);
                Some(Answer::new(value, Status::Hit))
            }
            Peek::Expired {
                stale: Some(value),
                overdue,
            } => {
                bump(&shard.counters.hits);
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
        shard.write(|state| self.store_in(shard, &mut state.store, hash, key, value, ttl));
    }

    pub(crate) fn store_in(
        &self,
        shard: &Shard<K, V, E, T::Stamp, L>,
        store: &mut Store<K, V, T::Stamp>,
        hash: u64,
        key: K,
        value: V,
        ttl: Option<Duration>,
    ) {
        let deadline = match ttl {
            Some(Duration::ZERO) => {
                store.remove(hash, &key);
                return;
            }
            Some(ttl) => self.timer.deadline(ttl),
            None => T::NEVER,
        };
        let inserted = store.insert(hash, key, value, deadline, |key| self.hash(key));
        if inserted == Inserted::Evicted {
            bump(&shard.counters.evictions);
        }
    }

    /// Removes the value for `key` and returns it (even if expired). A load in flight for `key`
    /// is not affected and stores its result when it finishes; see
    /// [`invalidate`](Self::invalidate).
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
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        self.shard(hash)
            .write(|state| state.store.remove(hash, key))
    }

    /// Removes the value for `key`, and detaches a load in flight for it (or a remembered
    /// error): its callers still get its result, but the result is not stored, and the next
    /// caller starts a fresh load. Use it when the source changed under a running load.
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
        self.shard(hash).write(|state| {
            state.store.remove(hash, key);
            if let Ok(row) = state
                .flights
                .find_entry(hash, |row| row.key.borrow() == key)
            {
                row.remove();
            }
        });
    }

    /// Removes every value and detaches every load in flight (as [`invalidate`](Self::invalidate)
    /// does for one key).
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
            shard.write(|state| {
                state.store.clear();
                state.flights.clear();
            });
        }
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
}

impl<K, V, E, T, S, L> Cache<K, V, E, T, S, L>
where
    K: Hash + Eq,
    T: Timer,
    S: BuildHasher,
    L: RawLock,
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

impl<K, V, E, T: Clock, S, L> fmt::Debug for Cache<K, V, E, T, S, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("capacity", &self.capacity)
            .field("shards", &self.shards.len())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

//! `MemoryCache`: Pingora's plain in-memory cache, on the readthrough store.

use std::borrow::Borrow;
use std::fmt;
use std::hash::Hash;
use std::time::Duration;

use readthrough_core::{Cache, Status};
use readthrough_tokio::TokioTimer;

use crate::error::LookupError;
use crate::status::CacheStatus;

/// The store under both caches. Expired values stay servable to `get_stale` (Pingora keeps them
/// until they are evicted or replaced), hence the unbounded stale window.
pub(crate) type Store<K, T> = Cache<K, T, LookupError, TokioTimer>;

/// The largest capacity a cache is built with. Far beyond any real memory, and small enough that
/// every shard fits the store's `u32` index.
const MAX_SIZE: usize = u32::MAX as usize;

/// A bounded in-memory cache with optional per-entry TTLs: the API of
/// `pingora_memory_cache::MemoryCache` 0.9, on readthrough's store.
///
/// Differences from Pingora 0.9, all deliberate:
/// - **Real keys.** Pingora stores only a 64-bit hash of each key, so two keys whose hashes
///   collide share one entry. This cache stores the keys, which is why it needs `K: Eq`, and
///   why the methods that take a borrowed key `&Q` need `Q: ToOwned` with `Q::Owned: Into<K>`
///   (true for the usual pairs: `K` itself, `String`/`str`, `Vec<u8>`/`[u8]`). The owned key is
///   built for each call; for `String` keys that is one allocation per call.
/// - **A zero TTL removes.** `put` with `Some(Duration::ZERO)` removes any value stored for the
///   key. Pingora skips the insert and leaves the old value in place.
/// - **Every `put` is stored.** Pingora's `put` goes through TinyLFU admission and may silently
///   drop a new entry when the cache is full; here a `put` always stores (evicting another entry
///   if needed).
/// - **Size.** Sizes above `u32::MAX` are clamped to it. (`new(0)` holds one entry, as
///   Pingora's does.)
///
/// Time is tokio's clock (`tokio::time::Instant`), so a paused tokio clock applies; outside a
/// runtime it is the system's monotonic clock, as in Pingora.
///
/// ```
/// use readthrough_pingora::{CacheStatus, MemoryCache};
///
/// let cache: MemoryCache<String, u32> = MemoryCache::new(100);
/// cache.put("answer", 42, None);
/// assert_eq!(cache.get("answer"), (Some(42), CacheStatus::Hit));
/// assert_eq!(cache.get("question"), (None, CacheStatus::Miss));
/// assert!(format!("{cache:?}").starts_with("MemoryCache { store: Cache { capacity: 100"));
/// ```
pub struct MemoryCache<K: Hash, T: Clone> {
    pub(crate) store: Store<K, T>,
}

impl<K: Hash, T: Clone> fmt::Debug for MemoryCache<K, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryCache")
            .field("store", &self.store)
            .finish()
    }
}

impl<K: Hash, T: Clone + Send + Sync + 'static> MemoryCache<K, T>
where
    K: Eq,
{
    /// A cache holding at most `size` entries.
    ///
    /// ```
    /// use readthrough_pingora::MemoryCache;
    /// let cache: MemoryCache<u64, u64> = MemoryCache::new(1_000);
    /// # cache.put(&1, 1, None);
    /// ```
    pub fn new(size: usize) -> Self {
        Self::configured(size, None, None)
    }

    /// The store for an `RTCache`, which adds the lookup-coalescing time limits.
    pub(crate) fn configured(
        size: usize,
        lock_age: Option<Duration>,
        lock_timeout: Option<Duration>,
    ) -> Self {
        let mut builder = Cache::<K, T, LookupError>::builder()
            .capacity(size.clamp(1, MAX_SIZE))
            .timer(TokioTimer::new())
            .stale_window(Duration::MAX);
        if let Some(lock_age) = lock_age {
            builder = builder.lock_age(at_least_a_tick(lock_age));
        }
        if let Some(lock_timeout) = lock_timeout {
            builder = builder.lock_timeout(at_least_a_tick(lock_timeout));
        }
        let store = builder
            .build()
            .expect("capacity and durations were clamped into the ranges the builder accepts");
        MemoryCache { store }
    }

    /// The value for `key` unless it is missing or expired, with how the lookup went: `Hit`,
    /// `Miss`, or `Expired` (the value is then not returned; see [`get_stale`](Self::get_stale)).
    ///
    /// ```
    /// use readthrough_pingora::{CacheStatus, MemoryCache};
    /// let cache: MemoryCache<u32, &str> = MemoryCache::new(10);
    /// cache.put(&1, "one", None);
    /// assert_eq!(cache.get(&1), (Some("one"), CacheStatus::Hit));
    /// assert_eq!(cache.get(&2), (None, CacheStatus::Miss));
    /// ```
    pub fn get<Q>(&self, key: &Q) -> (Option<T>, CacheStatus)
    where
        K: Borrow<Q>,
        Q: Hash + ?Sized + ToOwned,
        Q::Owned: Into<K>,
    {
        self.get_owned(&owned(key))
    }

    pub(crate) fn get_owned(&self, key: &K) -> (Option<T>, CacheStatus) {
        match self.store.get_stale(key) {
            Some(answer) if answer.status == Status::Hit => (Some(answer.value), CacheStatus::Hit),
            Some(_) => (None, CacheStatus::Expired),
            None => (None, CacheStatus::Miss),
        }
    }

    /// Like [`get`](Self::get), but an expired value is returned too, with
    /// `CacheStatus::Stale(how long ago it expired)`.
    ///
    /// ```
    /// use readthrough_pingora::{CacheStatus, MemoryCache};
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// use std::time::Duration;
    /// let cache: MemoryCache<u32, u32> = MemoryCache::new(10);
    /// cache.put(&1, 10, Some(Duration::from_secs(1)));
    /// tokio::time::sleep(Duration::from_secs(3)).await;
    /// assert_eq!(cache.get_stale(&1), (Some(10), CacheStatus::Stale(Duration::from_secs(2))));
    /// # }
    /// ```
    pub fn get_stale<Q>(&self, key: &Q) -> (Option<T>, CacheStatus)
    where
        K: Borrow<Q>,
        Q: Hash + ?Sized + ToOwned,
        Q::Owned: Into<K>,
    {
        self.get_stale_owned(&owned(key))
    }

    pub(crate) fn get_stale_owned(&self, key: &K) -> (Option<T>, CacheStatus) {
        match self.store.get_stale(key) {
            Some(answer) => (Some(answer.value), answer.status.into()),
            None => (None, CacheStatus::Miss),
        }
    }

    /// Stores `value` for `key`, for `ttl` or (with `None`) until it is evicted. A zero `ttl`
    /// stores nothing and removes any value already stored for `key` (Pingora leaves the old
    /// value in place).
    ///
    /// ```
    /// use readthrough_pingora::{CacheStatus, MemoryCache};
    /// use std::time::Duration;
    /// let cache: MemoryCache<u32, u32> = MemoryCache::new(10);
    /// cache.put(&1, 10, Some(Duration::from_secs(60)));
    /// assert_eq!(cache.get(&1), (Some(10), CacheStatus::Hit));
    /// cache.put(&1, 11, Some(Duration::ZERO));
    /// assert_eq!(cache.get(&1), (None, CacheStatus::Miss));
    /// ```
    pub fn put<Q>(&self, key: &Q, value: T, ttl: Option<Duration>)
    where
        K: Borrow<Q>,
        Q: Hash + ?Sized + ToOwned,
        Q::Owned: Into<K>,
    {
        self.put_owned(owned(key), value, ttl);
    }

    pub(crate) fn put_owned(&self, key: K, value: T, ttl: Option<Duration>) {
        match ttl {
            Some(ttl) => self.store.insert_with_ttl(key, value, ttl),
            None => self.store.insert(key, value),
        }
    }

    /// Removes the value stored for `key`, if any.
    ///
    /// ```
    /// use readthrough_pingora::{CacheStatus, MemoryCache};
    /// let cache: MemoryCache<u32, u32> = MemoryCache::new(10);
    /// cache.put(&1, 10, None);
    /// cache.remove(&1);
    /// assert_eq!(cache.get(&1), (None, CacheStatus::Miss));
    /// ```
    pub fn remove<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + ?Sized + ToOwned,
        Q::Owned: Into<K>,
    {
        self.store.remove::<K>(&owned(key));
    }

    /// [`get`](Self::get) for each key, in order.
    ///
    /// ```
    /// use readthrough_pingora::{CacheStatus, MemoryCache};
    /// let cache: MemoryCache<u32, u32> = MemoryCache::new(10);
    /// cache.put(&2, 20, None);
    /// let answers = cache.multi_get([1, 2].iter());
    /// assert_eq!(answers, vec![(None, CacheStatus::Miss), (Some(20), CacheStatus::Hit)]);
    /// ```
    pub fn multi_get<'a, I, Q>(&self, keys: I) -> Vec<(Option<T>, CacheStatus)>
    where
        I: Iterator<Item = &'a Q>,
        Q: Hash + ?Sized + 'a + ToOwned,
        Q::Owned: Into<K>,
        K: Borrow<Q> + 'a,
    {
        keys.map(|key| self.get(key)).collect()
    }

    /// [`multi_get`](Self::multi_get), plus the keys that had no value (missing or expired), in
    /// order.
    ///
    /// ```
    /// use readthrough_pingora::{CacheStatus, MemoryCache};
    /// let cache: MemoryCache<u32, u32> = MemoryCache::new(10);
    /// cache.put(&2, 20, None);
    /// let (answers, missing) = cache.multi_get_with_miss([1, 2, 3].iter());
    /// assert_eq!(answers[1], (Some(20), CacheStatus::Hit));
    /// assert_eq!(missing, vec![&1, &3]);
    /// ```
    pub fn multi_get_with_miss<'a, I, Q>(
        &self,
        keys: I,
    ) -> (Vec<(Option<T>, CacheStatus)>, Vec<&'a Q>)
    where
        I: Iterator<Item = &'a Q>,
        Q: Hash + ?Sized + 'a + ToOwned,
        Q::Owned: Into<K>,
        K: Borrow<Q> + 'a,
    {
        let mut answers = Vec::with_capacity(keys.size_hint().0);
        let mut missing = Vec::new();
        for key in keys {
            let answer = self.get(key);
            if answer.0.is_none() {
                missing.push(key);
            }
            answers.push(answer);
        }
        (answers, missing)
    }
}

fn owned<K, Q>(key: &Q) -> K
where
    Q: ?Sized + ToOwned,
    Q::Owned: Into<K>,
{
    key.to_owned().into()
}

/// Pingora accepts zero for `lock_age` and `lock_timeout` (a lock that is always too old, a wait
/// that gives up at once); the store refuses zero, and one nanosecond behaves the same.
fn at_least_a_tick(duration: Duration) -> Duration {
    duration.max(Duration::from_nanos(1))
}

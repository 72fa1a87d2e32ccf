//! `RTCache`: Pingora's read-through cache, on readthrough's coalescing loads.

use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::marker::PhantomData;
use std::time::Duration;

use pingora_error::Error;
use readthrough_core::{BatchLoader, Loader};

use crate::error::{LookupError, lookup_failed};
use crate::lookup::{Lookup, MultiLookup};
use crate::memory::MemoryCache;
use crate::status::CacheStatus;

/// A read-through cache: on a miss it runs the [`Lookup`] `CB` to produce the value, and
/// concurrent callers for the same key share that one lookup. The API of
/// `pingora_memory_cache::RTCache` 0.9, on readthrough's cache.
///
/// `S` is the type of the `extra` context handed to every lookup.
///
/// Differences from Pingora 0.9, all deliberate (signatures are unchanged except for the extra
/// bounds named here):
/// - **Cancelled lookups.** When the caller running a lookup is cancelled (its future dropped,
///   e.g. by a timeout or an aborted task), one of the callers waiting for it takes the lookup
///   over and the key is never left locked. Pingora leaves the key locked: its waiters wait
///   forever (or until `lock_timeout`), and so does every later caller for that key.
/// - **Failed lookups.** A failing lookup runs once; every caller that waited for it receives
///   the error (its cause is then a [`SharedLookupError`](crate::SharedLookupError)). Pingora
///   runs the lookup again in every waiting caller.
/// - **Real keys.** Keys are stored rather than their 64-bit hashes, so colliding keys stay
///   distinct. This needs `K: Eq + Clone` on top of Pingora's `K: Hash + Send`.
/// - **Zero TTL.** A lookup or `ttl` of zero stores nothing and removes the old value
///   (Pingora leaves the old value in place).
/// - **Zero TTL, waiters.** Callers waiting on a lookup that returned a zero TTL get its value
///   (`LockHit`); Pingora's waiters find nothing cached and each run the lookup again.
/// - **Zero `lock_age` / `lock_timeout`** are taken as one nanosecond (the store refuses a
///   literal zero): a lock is too old at once, as in Pingora, and a waiter gives up after
///   tokio's timer granularity (about a millisecond) rather than without waiting at all.
///
/// ```
/// use async_trait::async_trait;
/// use pingora_error::ErrorTrait;
/// use readthrough_pingora::{CacheStatus, Lookup, RTCache};
/// use std::time::Duration;
///
/// struct Square;
///
/// #[async_trait]
/// impl Lookup<u32, u32, ()> for Square {
///     async fn lookup(
///         key: &u32,
///         _extra: Option<&()>,
///     ) -> Result<(u32, Option<Duration>), Box<dyn ErrorTrait + Send + Sync>> {
///         Ok((key * key, None))
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let cache: RTCache<u32, u32, Square, ()> = RTCache::new(100, None, None);
/// let (value, status) = cache.get(&3, None, None).await;
/// assert_eq!((value.unwrap(), status), (9, CacheStatus::Miss));
/// # }
/// ```
pub struct RTCache<K, T, CB, S>
where
    K: Hash + Send,
    T: Clone + Send,
{
    inner: MemoryCache<K, T>,
    callbacks: PhantomData<fn() -> (CB, S)>,
}

impl<K, T, CB, S> fmt::Debug for RTCache<K, T, CB, S>
where
    K: Hash + Send,
    T: Clone + Send,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RTCache")
            .field("inner", &self.inner)
            .finish()
    }
}

impl<K, T, CB, S> RTCache<K, T, CB, S>
where
    K: Hash + Send,
    T: Clone + Send + Sync + 'static,
    K: Eq,
{
    /// A cache of at most `size` entries.
    ///
    /// `lock_age`: a lookup running longer than this no longer makes new callers for its key
    /// wait; they run their own lookup (and do not store its result). `lock_timeout`: a caller
    /// waits at most this long for another caller's lookup, then runs its own (and does not
    /// store its result). `None` for either means no limit.
    ///
    /// ```
    /// # use async_trait::async_trait;
    /// # use pingora_error::ErrorTrait;
    /// # use readthrough_pingora::{Lookup, RTCache};
    /// use std::time::Duration;
    /// # struct Backend;
    /// # #[async_trait]
    /// # impl Lookup<u32, u32, ()> for Backend {
    /// #     async fn lookup(key: &u32, _: Option<&()>)
    /// #         -> Result<(u32, Option<Duration>), Box<dyn ErrorTrait + Send + Sync>> { Ok((*key, None)) }
    /// # }
    /// let cache: RTCache<u32, u32, Backend, ()> =
    ///     RTCache::new(1_000, Some(Duration::from_secs(10)), Some(Duration::from_secs(1)));
    /// # let _ = cache;
    /// ```
    pub fn new(size: usize, lock_age: Option<Duration>, lock_timeout: Option<Duration>) -> Self {
        RTCache {
            inner: MemoryCache::configured(size, lock_age, lock_timeout),
            callbacks: PhantomData,
        }
    }

    /// Removes the value cached for `key`. Not in Pingora 0.9 (its `RTCache` offers no way to
    /// drop an entry, Pingora issue #473). A lookup running for `key` still stores its result.
    ///
    /// ```
    /// # use async_trait::async_trait;
    /// # use pingora_error::ErrorTrait;
    /// # use readthrough_pingora::{CacheStatus, Lookup, RTCache};
    /// # use std::time::Duration;
    /// # struct Backend;
    /// # #[async_trait]
    /// # impl Lookup<u32, u32, ()> for Backend {
    /// #     async fn lookup(key: &u32, _: Option<&()>)
    /// #         -> Result<(u32, Option<Duration>), Box<dyn ErrorTrait + Send + Sync>> { Ok((*key, None)) }
    /// # }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let cache: RTCache<u32, u32, Backend, ()> = RTCache::new(100, None, None);
    /// cache.get(&1, None, None).await;
    /// cache.remove(&1);
    /// assert_eq!(cache.get(&1, None, None).await.1, CacheStatus::Miss);
    /// # }
    /// ```
    pub fn remove(&self, key: &K) {
        self.inner.store.remove(key);
    }

    /// How many lookups are running now. Not in Pingora 0.9; zero whenever the cache is idle,
    /// including after a caller running a lookup was cancelled.
    ///
    /// ```
    /// # use async_trait::async_trait;
    /// # use pingora_error::ErrorTrait;
    /// # use readthrough_pingora::{Lookup, RTCache};
    /// # use std::time::Duration;
    /// # struct Backend;
    /// # #[async_trait]
    /// # impl Lookup<u32, u32, ()> for Backend {
    /// #     async fn lookup(key: &u32, _: Option<&()>)
    /// #         -> Result<(u32, Option<Duration>), Box<dyn ErrorTrait + Send + Sync>> { Ok((*key, None)) }
    /// # }
    /// let cache: RTCache<u32, u32, Backend, ()> = RTCache::new(100, None, None);
    /// assert_eq!(cache.lookups_in_flight(), 0);
    /// ```
    pub fn lookups_in_flight(&self) -> usize {
        self.inner.store.loads_in_flight()
    }
}

impl<K, T, CB, S> RTCache<K, T, CB, S>
where
    K: Hash + Send,
    T: Clone + Send + Sync + 'static,
    CB: Lookup<K, T, S>,
    K: Eq + Clone,
{
    /// The value for `key`: from the cache when it holds a live one, otherwise from
    /// `CB::lookup(key, extra)`, which is then stored for the TTL the lookup returned, or `ttl`
    /// when it returned none (`None`: until evicted).
    ///
    /// The status is `Hit`, `Miss` or `Expired` (this caller ran the lookup), or `LockHit`
    /// (it waited for another caller's lookup). On error the status says what the cache held
    /// (`Miss` or `Expired`).
    ///
    /// ```
    /// # use async_trait::async_trait;
    /// # use pingora_error::ErrorTrait;
    /// # use readthrough_pingora::{CacheStatus, Lookup, RTCache};
    /// # use std::time::Duration;
    /// # struct Backend;
    /// # #[async_trait]
    /// # impl Lookup<u32, u32, ()> for Backend {
    /// #     async fn lookup(key: &u32, _: Option<&()>)
    /// #         -> Result<(u32, Option<Duration>), Box<dyn ErrorTrait + Send + Sync>> { Ok((*key + 1, None)) }
    /// # }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let cache: RTCache<u32, u32, Backend, ()> = RTCache::new(100, None, None);
    /// assert_eq!(cache.get(&1, None, None).await.1, CacheStatus::Miss);
    /// assert_eq!(cache.get(&1, None, None).await.1, CacheStatus::Hit);
    /// # }
    /// ```
    pub async fn get(
        &self,
        key: &K,
        ttl: Option<Duration>,
        extra: Option<&S>,
    ) -> (Result<T, Box<Error>>, CacheStatus) {
        let (cached, found) = self.inner.get_owned(key);
        if let Some(value) = cached {
            return (Ok(value), found);
        }
        let lookup = SingleLookup::<CB, T, S> {
            extra,
            ttl,
            callback: PhantomData,
        };
        match self.inner.store.get_or_load_with_ttl(key, lookup).await {
            Ok(answer) => (Ok(answer.value), answer.status.into()),
            Err(error) => (Err(lookup_failed(error)), found),
        }
    }

    /// Like [`get`](Self::get), but a value that expired no more than `stale_ttl` ago is
    /// returned as is, with `CacheStatus::Stale(how long ago it expired)`, without a lookup.
    ///
    /// ```
    /// # use async_trait::async_trait;
    /// # use pingora_error::ErrorTrait;
    /// # use readthrough_pingora::{CacheStatus, Lookup, RTCache};
    /// # use std::time::Duration;
    /// # struct Backend;
    /// # #[async_trait]
    /// # impl Lookup<u32, u32, ()> for Backend {
    /// #     async fn lookup(key: &u32, _: Option<&()>)
    /// #         -> Result<(u32, Option<Duration>), Box<dyn ErrorTrait + Send + Sync>> { Ok((*key, None)) }
    /// # }
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let cache: RTCache<u32, u32, Backend, ()> = RTCache::new(100, None, None);
    /// let ttl = Some(Duration::from_secs(1));
    /// cache.get(&1, ttl, None).await;
    /// tokio::time::sleep(Duration::from_secs(2)).await;
    /// let (_, status) = cache.get_stale(&1, ttl, None, Duration::from_secs(5)).await;
    /// assert_eq!(status, CacheStatus::Stale(Duration::from_secs(1)));
    /// # }
    /// ```
    pub async fn get_stale(
        &self,
        key: &K,
        ttl: Option<Duration>,
        extra: Option<&S>,
        stale_ttl: Duration,
    ) -> (Result<T, Box<Error>>, CacheStatus) {
        if let (Some(value), status) = self.inner.get_stale_owned(key)
            && status.stale().unwrap_or(Duration::ZERO) <= stale_ttl
        {
            return (Ok(value), status);
        }
        self.get(key, ttl, extra).await
    }
}

impl<K, T, CB, S> RTCache<K, T, CB, S>
where
    K: Hash + Clone + Send + Sync,
    T: Clone + Send + Sync + 'static,
    S: Clone + Send + Sync,
    CB: Lookup<K, T, S> + Sync + Send,
    K: Eq,
{
    /// Like [`get_stale`](Self::get_stale), and when it serves a stale value it also starts a
    /// lookup in a tokio task to refresh it. The cache must be `'static` (a `static` behind a
    /// `LazyLock`, or leaked). Concurrent refreshes of one key share a single lookup.
    ///
    /// ```
    /// # use async_trait::async_trait;
    /// # use pingora_error::ErrorTrait;
    /// # use readthrough_pingora::{CacheStatus, Lookup, RTCache};
    /// # use std::time::Duration;
    /// # struct Backend;
    /// # #[async_trait]
    /// # impl Lookup<u32, u32, ()> for Backend {
    /// #     async fn lookup(key: &u32, _: Option<&()>)
    /// #         -> Result<(u32, Option<Duration>), Box<dyn ErrorTrait + Send + Sync>> { Ok((*key, None)) }
    /// # }
    /// use std::sync::LazyLock;
    /// static CACHE: LazyLock<RTCache<u32, u32, Backend, ()>> =
    ///     LazyLock::new(|| RTCache::new(100, None, None));
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let ttl = Some(Duration::from_secs(1));
    /// CACHE.get(&1, ttl, None).await;
    /// tokio::time::sleep(Duration::from_secs(2)).await;
    /// let (_, status) = CACHE.get_stale_while_update(&1, ttl, None, Duration::from_secs(5)).await;
    /// assert!(status.stale().is_some());
    /// tokio::time::sleep(Duration::from_millis(1)).await;
    /// assert_eq!(CACHE.get(&1, ttl, None).await.1, CacheStatus::Hit);
    /// # }
    /// ```
    pub async fn get_stale_while_update(
        &'static self,
        key: &K,
        ttl: Option<Duration>,
        extra: Option<&S>,
        stale_ttl: Duration,
    ) -> (Result<T, Box<Error>>, CacheStatus) {
        let (value, status) = self.get_stale(key, ttl, extra, stale_ttl).await;
        if status.stale().is_some() {
            let key = key.clone();
            let extra = extra.cloned();
            tokio::spawn(async move {
                let _ = self.get(&key, ttl, extra.as_ref()).await;
            });
        }
        (value, status)
    }
}

impl<K, T, CB, S> RTCache<K, T, CB, S>
where
    K: Hash + Send,
    T: Clone + Send + Sync + 'static,
    CB: MultiLookup<K, T, S>,
    K: Eq + Clone,
{
    /// [`get`](Self::get) for several keys, with every key that has no live value looked up in
    /// one `CB::multi_lookup` call. Results are in the order of `keys`.
    ///
    /// Differences from Pingora 0.9, deliberate:
    /// - Pingora does no coalescing here; this `multi_get` joins lookups already running for
    ///   its keys (those answers say `LockHit`) and the keys it looks up are coalesced with
    ///   concurrent `get`s.
    /// - A `multi_lookup` returning the wrong number of values makes this return an error
    ///   (nothing from that call is cached); Pingora panics.
    ///
    /// - A key repeated in `keys` is passed to `multi_lookup` once (Pingora passes every
    ///   repetition); every repetition gets the value and status of the first.
    ///
    /// As in Pingora, a key this call looked up reports `Miss` even if an expired value was
    /// cached, and a lookup error (here also that of a lookup it joined) discards the whole
    /// answer.
    ///
    /// ```
    /// # use async_trait::async_trait;
    /// # use pingora_error::ErrorTrait;
    /// # use readthrough_pingora::{CacheStatus, MultiLookup, RTCache};
    /// # use std::time::Duration;
    /// # struct Backend;
    /// # #[async_trait]
    /// # impl MultiLookup<u32, u32, ()> for Backend {
    /// #     async fn multi_lookup(keys: &[&u32], _: Option<&()>)
    /// #         -> Result<Vec<(u32, Option<Duration>)>, Box<dyn ErrorTrait + Send + Sync>> {
    /// #         Ok(keys.iter().map(|k| (**k * 10, None)).collect())
    /// #     }
    /// # }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let cache: RTCache<u32, u32, Backend, ()> = RTCache::new(100, None, None);
    /// let answers = cache.multi_get([1, 2].iter(), None, None).await.unwrap();
    /// assert_eq!(answers, vec![(10, CacheStatus::Miss), (20, CacheStatus::Miss)]);
    /// # }
    /// ```
    pub async fn multi_get<'a, I>(
        &self,
        keys: I,
        ttl: Option<Duration>,
        extra: Option<&S>,
    ) -> Result<Vec<(T, CacheStatus)>, Box<Error>>
    where
        I: Iterator<Item = &'a K>,
        K: 'a,
    {
        let keys: Vec<K> = keys.cloned().collect();
        let lookup = BatchLookup::<CB, T, S> {
            extra,
            ttl,
            callback: PhantomData,
        };
        let answers = self
            .inner
            .store
            .get_or_load_many_with_ttl(&keys, lookup)
            .await
            .map_err(lookup_failed)?;
        let mut results: Vec<(T, CacheStatus)> = Vec::with_capacity(answers.len());
        for (index, answer) in answers.into_iter().enumerate() {
            let status = match CacheStatus::from(answer.status) {
                CacheStatus::Expired => CacheStatus::Miss,
                CacheStatus::LockHit => keys[..index]
                    .iter()
                    .position(|earlier| *earlier == keys[index])
                    .map_or(CacheStatus::LockHit, |first| results[first].1),
                other => other,
            };
            results.push((answer.value, status));
        }
        Ok(results)
    }
}

/// One key's lookup, as the store's [`Loader`]: `CB::lookup` with the caller's `extra`, the
/// caller's `ttl` standing in when the lookup names none.
struct SingleLookup<'x, CB, T, S> {
    extra: Option<&'x S>,
    ttl: Option<Duration>,
    callback: PhantomData<fn() -> (CB, T)>,
}

impl<'x, K, T, CB, S> Loader<K> for SingleLookup<'x, CB, T, S>
where
    CB: Lookup<K, T, S>,
{
    type Value = (T, Option<Duration>);
    type Error = LookupError;

    fn load(&self, key: &K) -> impl Future<Output = Result<(T, Option<Duration>), LookupError>> {
        let (ttl, extra) = (self.ttl, self.extra);
        async move {
            let (value, own_ttl) = CB::lookup(key, extra).await?;
            Ok((value, own_ttl.or(ttl)))
        }
    }
}

/// Several keys' lookup, as the store's [`BatchLoader`]: `CB::multi_lookup`.
struct BatchLookup<'x, CB, T, S> {
    extra: Option<&'x S>,
    ttl: Option<Duration>,
    callback: PhantomData<fn() -> (CB, T)>,
}

impl<'x, K, T, CB, S> BatchLoader<K> for BatchLookup<'x, CB, T, S>
where
    CB: MultiLookup<K, T, S>,
{
    type Value = (T, Option<Duration>);
    type Error = LookupError;

    fn load_many(
        &self,
        keys: &[&K],
    ) -> impl Future<Output = Result<Vec<(T, Option<Duration>)>, LookupError>> {
        let (ttl, extra) = (self.ttl, self.extra);
        async move {
            let mut values = CB::multi_lookup(keys, extra).await?;
            for (_, own_ttl) in &mut values {
                *own_ttl = own_ttl.or(ttl);
            }
            Ok(values)
        }
    }
}

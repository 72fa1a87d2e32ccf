//! Configuration, checked once when the cache is built.

use core::marker::PhantomData;
use core::time::Duration;

use hashbrown::DefaultHashBuilder;

use crate::cache::{Cache, Options};
use crate::error::BuildError;
use crate::lock::{DefaultLock, RawLock};
use crate::shard::Shard;
use crate::timer::{Clock, NoTimer, Timer};

#[cfg(feature = "std")]
const MAX_DEFAULT_SHARDS: usize = 64;
#[cfg(not(feature = "std"))]
const MAX_DEFAULT_SHARDS: usize = 4;

/// Entries per shard below which the default adds no further shard.
const ENTRIES_PER_DEFAULT_SHARD: usize = 64;

/// The builder's type parameters that no field holds.
type Types<K, V, E, L> = PhantomData<fn() -> (K, V, E, L)>;

/// Builds a [`Cache`]; start with [`Cache::builder`].
///
/// Options that need time (`ttl`, `lock_age`, `lock_timeout`, `load_timeout`, `stale_window`,
/// `negative_ttl`) exist only after [`timer`](Builder::timer) supplied a [`Timer`]. Everything
/// else is checked by [`build`](Builder::build), which returns a [`BuildError`] rather than
/// panicking.
///
/// ```
/// use readthrough_core::{BuildError, Cache};
///
/// let cache = Cache::<String, u64>::builder().capacity(10_000).shards(16).build().unwrap();
/// assert_eq!(cache.capacity(), 10_000);
///
/// let refused = Cache::<String, u64>::builder().capacity(0).build();
/// assert_eq!(refused.err(), Some(BuildError::ZeroCapacity));
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct Builder<K, V, E, T = NoTimer, S = DefaultHashBuilder, L = DefaultLock> {
    capacity: usize,
    shards: Option<usize>,
    preallocate: bool,
    hasher: S,
    timer: T,
    options: Options,
    types: Types<K, V, E, L>,
}

impl<K, V, E> Builder<K, V, E> {
    pub(crate) fn new() -> Self {
        Builder {
            capacity: 0,
            shards: None,
            preallocate: false,
            hasher: DefaultHashBuilder::default(),
            timer: NoTimer,
            options: Options::default(),
            types: PhantomData,
        }
    }
}

impl<K, V, E, T, S, L> Builder<K, V, E, T, S, L> {
    /// The most entries the cache holds (required, at least 1). It is split evenly over the
    /// shards, each of which evicts on its own.
    ///
    /// ```
    /// # use readthrough_core::Cache;
    /// let cache = Cache::<u32, u32>::builder().capacity(100).build().unwrap();
    /// assert_eq!(cache.capacity(), 100);
    /// ```
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// How many independently locked shards to use (default: one per 64 entries, at most 64
    /// with `std` and 4 without). More shards mean less contention and more fixed overhead.
    ///
    /// ```
    /// # use readthrough_core::Cache;
    /// let cache = Cache::<u32, u32>::builder().capacity(100).shards(4).build().unwrap();
    /// # assert_eq!(cache.capacity(), 100);
    /// ```
    pub fn shards(mut self, shards: usize) -> Self {
        self.shards = Some(shards);
        self
    }

    /// Reserves every table for the full capacity now, so that no insert or eviction allocates
    /// later. Without it, tables grow on demand (never past the capacity).
    ///
    /// ```
    /// # use readthrough_core::Cache;
    /// let cache = Cache::<u32, u32>::builder().capacity(1_000).preallocate().build().unwrap();
    /// # assert!(cache.is_empty());
    /// ```
    pub fn preallocate(mut self) -> Self {
        self.preallocate = true;
        self
    }

    /// The hasher for keys (default: hashbrown's `DefaultHashBuilder`, foldhash).
    ///
    /// ```
    /// # use readthrough_core::Cache;
    /// use std::hash::RandomState;
    /// let cache = Cache::<u32, u32>::builder().capacity(8).hasher(RandomState::new()).build().unwrap();
    /// # cache.insert(1, 1);
    /// ```
    pub fn hasher<S2>(self, hasher: S2) -> Builder<K, V, E, T, S2, L> {
        Builder {
            capacity: self.capacity,
            shards: self.shards,
            preallocate: self.preallocate,
            hasher,
            timer: self.timer,
            options: self.options,
            types: PhantomData,
        }
    }

    /// The shard lock (default: [`DefaultLock`]).
    ///
    /// ```
    /// # use readthrough_core::Cache;
    /// use readthrough_core::SpinLock;
    /// let cache = Cache::<u32, u32>::builder().capacity(8).lock::<SpinLock>().build().unwrap();
    /// # cache.insert(1, 1);
    /// ```
    pub fn lock<L2: RawLock>(self) -> Builder<K, V, E, T, S, L2> {
        Builder {
            capacity: self.capacity,
            shards: self.shards,
            preallocate: self.preallocate,
            hasher: self.hasher,
            timer: self.timer,
            options: self.options,
            types: PhantomData,
        }
    }

    /// The source of time; unlocks the time-based options.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use readthrough_core::{Cache, ManualTimer};
    /// let cache = Cache::<u32, u32>::builder()
    ///     .capacity(8)
    ///     .timer(ManualTimer::new())
    ///     .ttl(Duration::from_secs(60))
    ///     .build()
    ///     .unwrap();
    /// # cache.insert(1, 1);
    /// ```
    pub fn timer<T2: Timer>(self, timer: T2) -> Builder<K, V, E, T2, S, L> {
        Builder {
            capacity: self.capacity,
            shards: self.shards,
            preallocate: self.preallocate,
            hasher: self.hasher,
            timer,
            options: self.options,
            types: PhantomData,
        }
    }

    /// Checks the configuration and builds the cache.
    ///
    /// ```
    /// # use readthrough_core::{BuildError, Cache};
    /// let refused = Cache::<u32, u32>::builder().capacity(4).shards(8).build();
    /// assert_eq!(refused.err(), Some(BuildError::MoreShardsThanCapacity { shards: 8, capacity: 4 }));
    /// ```
    pub fn build(self) -> Result<Cache<K, V, E, T, S, L>, BuildError>
    where
        K: Eq,
        T: Clock,
        L: RawLock,
    {
        let capacity = self.capacity;
        if capacity == 0 {
            return Err(BuildError::ZeroCapacity);
        }
        let shards = match self.shards {
            Some(0) => return Err(BuildError::ZeroShards),
            Some(shards) if shards > capacity => {
                return Err(BuildError::MoreShardsThanCapacity { shards, capacity });
            }
            Some(shards) => shards,
            None => (capacity / ENTRIES_PER_DEFAULT_SHARD).clamp(1, MAX_DEFAULT_SHARDS),
        };
        let per_shard = capacity.div_ceil(shards);
        if u32::try_from(per_shard).is_err() {
            return Err(BuildError::ShardTooLarge);
        }
        for (name, duration) in [
            ("lock_age", self.options.lock_age),
            ("lock_timeout", self.options.lock_timeout),
            ("load_timeout", self.options.load_timeout),
        ] {
            if duration == Some(Duration::ZERO) {
                return Err(BuildError::ZeroDuration(name));
            }
        }
        let shards = (0..shards)
            .map(|_| Shard::new(per_shard, self.preallocate))
            .collect();
        Ok(Cache::from_parts(
            shards,
            capacity,
            self.hasher,
            self.timer,
            self.options,
        ))
    }
}

impl<K, V, E, T: Timer, S, L> Builder<K, V, E, T, S, L> {
    /// How long a stored value stays fresh when neither the loader nor the insert names a TTL
    /// (default: forever). Zero means values are never stored (loads are still coalesced).
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use readthrough_core::{Cache, ManualTimer};
    /// let cache = Cache::<u32, u32>::builder().capacity(8).timer(ManualTimer::new()).ttl(Duration::from_secs(5)).build();
    /// # assert!(cache.is_ok());
    /// ```
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.options.ttl = Some(ttl);
        self
    }

    /// A load older than this no longer makes new callers wait: they load for themselves (and
    /// do not store). Guards against a load that hangs. Must be longer than zero.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use readthrough_core::{BuildError, Cache, ManualTimer};
    /// let refused = Cache::<u32, u32>::builder().capacity(8).timer(ManualTimer::new()).lock_age(Duration::ZERO).build();
    /// assert_eq!(refused.err(), Some(BuildError::ZeroDuration("lock_age")));
    /// ```
    pub fn lock_age(mut self, lock_age: Duration) -> Self {
        self.options.lock_age = Some(lock_age);
        self
    }

    /// A waiter waits at most this long for another caller's load, then loads for itself (and
    /// does not store). Must be longer than zero.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use readthrough_core::{Cache, ManualTimer};
    /// let cache = Cache::<u32, u32>::builder().capacity(8).timer(ManualTimer::new()).lock_timeout(Duration::from_millis(50)).build();
    /// # assert!(cache.is_ok());
    /// ```
    pub fn lock_timeout(mut self, lock_timeout: Duration) -> Self {
        self.options.lock_timeout = Some(lock_timeout);
        self
    }

    /// A load running longer than this is abandoned with [`Error::LoadTimeout`](crate::Error),
    /// which every waiter receives. Must be longer than zero.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use readthrough_core::{Cache, ManualTimer};
    /// let cache = Cache::<u32, u32>::builder().capacity(8).timer(ManualTimer::new()).load_timeout(Duration::from_secs(2)).build();
    /// # assert!(cache.is_ok());
    /// ```
    pub fn load_timeout(mut self, load_timeout: Duration) -> Self {
        self.options.load_timeout = Some(load_timeout);
        self
    }

    /// How long past its expiry a value may still be served by
    /// [`get_stale`](Cache::get_stale) and [`get_or_revalidate`](Cache::get_or_revalidate)
    /// (default: zero, no stale serving).
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use readthrough_core::{Cache, ManualTimer};
    /// let cache = Cache::<u32, u32>::builder().capacity(8).timer(ManualTimer::new()).stale_window(Duration::from_secs(30)).build();
    /// # assert!(cache.is_ok());
    /// ```
    pub fn stale_window(mut self, stale_window: Duration) -> Self {
        self.options.stale_window = stale_window;
        self
    }

    /// Remember a failed load for this long: callers in that window get the same error at once
    /// instead of loading again (default: errors are not remembered).
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use readthrough_core::{Cache, ManualTimer};
    /// let cache = Cache::<u32, u32, String>::builder().capacity(8).timer(ManualTimer::new()).negative_ttl(Duration::from_secs(1)).build();
    /// # assert!(cache.is_ok());
    /// ```
    pub fn negative_ttl(mut self, negative_ttl: Duration) -> Self {
        self.options.negative_ttl = Some(negative_ttl);
        self
    }
}

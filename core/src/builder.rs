//! Configuration, checked once when the cache is built.

use core::marker::PhantomData;
use core::time::Duration;

use crate::hasher::DefaultHashBuilder;

use alloc::vec::Vec;

use crate::cache::{Cache, Options, Parts};
use crate::duel::Duel;
use crate::error::BuildError;
use crate::listener::{Listener, NoListener};
use crate::lock::{DefaultLock, RawLock};
use crate::refresh_ahead::RefreshAhead;
use crate::shard::{Shard, ShardSize};
use crate::timer::{Clock, NoTimer, Timer};
use crate::weigher::{Unweighted, Weigh, Weigher, Weighted};

mod serving;

#[cfg(feature = "std")]
const MAX_DEFAULT_SHARDS: usize = 64;
#[cfg(not(feature = "std"))]
const MAX_DEFAULT_SHARDS: usize = 4;

/// Entries per shard below which the default adds no further shard. Each shard evicts on its
/// own (its queues, ghost and frequency sketch see only its part of the requests), so small
/// shards cost hit ratio: on the OLTP trace at 750 to 2,000 entries, one shard per 64 entries
/// lost 0.6 to 0.8 points against one per 256; one per 1,024 against one per 256, over five
/// hasher seeds (`SEED=1..5 NO_BELADY=1 cargo run --release -p readthrough-benches --example
/// hit_ratios`): Zipf at 1% of the keys +0.15 to +0.28, P2 8,192 and 32,768 +0.09 to +0.27,
/// OLTP 750 to 2,000 up to +0.19, P6 32,768 +0.08 to +0.15, the worst cell -0.04. Caches of
/// 65,536 entries or more keep 64 shards (with `std`); reads do not contend on a shard's lock
/// (`ReadMostlyLock`), writes do, which is the price of fewer shards in a small cache.
const ENTRIES_PER_DEFAULT_SHARD: usize = 1024;

/// With a weigher, weight per shard below which the default adds no further shard: 8 MiB
/// when weights are bytes, so that by default entries up to 8 MiB can be stored. Each shard
/// bounds its own weight, and after an eviction leaves on average about half an evicted entry
/// unused: on the weighted benchmark (16 B to 64 KiB bodies, 64 MiB) 64 shards of 1 MiB held
/// 64.45 MiB and 8 of 8 MiB 65.45 MiB, and the byte hit ratio rose from 77.82% to 78.25%
/// (`cargo run --release -p readthrough-benches --example weighted_lab`).
const WEIGHT_PER_DEFAULT_SHARD: usize = 8 << 20;

/// The most shards a cache can have. More would not spread the load any better on any
/// machine, and each shard costs a lock and its tables.
pub const MAX_SHARDS: usize = 1 << 16;

/// The most weight (or entries) one shard can hold: slot numbers and weights are 32-bit.
const MAX_SHARD_CAPACITY: usize = u32::MAX as usize;

/// Remembered errors when [`Builder::remembered_errors`] is not set (or the capacity, if
/// smaller and the cache has no weigher).
pub const DEFAULT_REMEMBERED_ERRORS: usize = 1024;

/// What to reserve up front.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Preallocation {
    Off,
    /// Room for `capacity` entries (a cache without a weigher).
    Capacity,
    /// Room for this many entries (a cache with a weigher).
    Entries(usize),
}

/// Everything a builder holds that does not change its type.
#[derive(Clone, Copy, Debug)]
struct Settings {
    capacity: usize,
    shards: Option<usize>,
    preallocate: Preallocation,
    remembered_errors: Option<usize>,
    refresh_ahead: Option<RefreshAhead>,
    options: Options,
}

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
pub struct Builder<
    K,
    V,
    E,
    T = NoTimer,
    S = DefaultHashBuilder,
    L = DefaultLock,
    W = Unweighted,
    N = NoListener,
> {
    settings: Settings,
    hasher: S,
    timer: T,
    weigher: W,
    listener: N,
    types: Types<K, V, E, L>,
}

impl<K, V, E, T: core::fmt::Debug, S, L, W, N> core::fmt::Debug
    for Builder<K, V, E, T, S, L, W, N>
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Builder")
            .field("settings", &self.settings)
            .field("timer", &self.timer)
            .finish_non_exhaustive()
    }
}

impl<K, V, E> Builder<K, V, E> {
    pub(crate) fn new() -> Self {
        Builder {
            settings: Settings {
                capacity: 0,
                shards: None,
                preallocate: Preallocation::Off,
                remembered_errors: None,
                refresh_ahead: None,
                options: Options::default(),
            },
            hasher: DefaultHashBuilder::default(),
            timer: NoTimer,
            weigher: Unweighted,
            listener: NoListener,
            types: PhantomData,
        }
    }
}

impl<K, V, E, T, S, L, W, N> Builder<K, V, E, T, S, L, W, N> {
    /// The most entries the cache holds (required, at least 1); with a
    /// [`weigher`](Self::weigher), the most total weight. It is split over the shards, each of
    /// which evicts on its own (the remainder goes one unit each to the first shards), so the
    /// bound holds exactly: [`Cache::len`] (or [`Cache::weight`]) never exceeds it.
    ///
    /// ```
    /// # use readthrough_core::Cache;
    /// let cache = Cache::<u32, u32>::builder().capacity(100).build().unwrap();
    /// assert_eq!(cache.capacity(), 100);
    /// ```
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.settings.capacity = capacity;
        self
    }

    /// How many independently locked shards to use (default: one per 1,024 entries, or with a
    /// weigher one per 2²³ units of weight (8 MiB), at most 64 with `std` and 4 without). More
    /// shards mean less contention and more fixed overhead; with a weigher, an entry heavier
    /// than one shard's share of the capacity is not stored. Without a weigher, 16 shards or
    /// more also let the cache pick its eviction regime per workload, one or two shards trying
    /// the regime the others do not play (see the crate docs, "Eviction and bounds").
    /// At most [`MAX_SHARDS`], and at most one per unit of capacity.
    ///
    /// ```
    /// # use readthrough_core::Cache;
    /// let cache = Cache::<u32, u32>::builder().capacity(100).shards(4).build().unwrap();
    /// # assert_eq!(cache.capacity(), 100);
    /// ```
    pub fn shards(mut self, shards: usize) -> Self {
        self.settings.shards = Some(shards);
        self
    }

    /// The most failed loads remembered at once with [`negative_ttl`](Self::negative_ttl)
    /// (default: [`DEFAULT_REMEMBERED_ERRORS`], or the capacity if smaller without a weigher),
    /// split over the shards like the capacity. Past it, the oldest is forgotten, so a flood
    /// of distinct failing keys costs bounded memory. Must be at least 1.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use readthrough_core::{Cache, ManualTimer};
    /// let cache = Cache::<u32, u32, String>::builder()
    ///     .capacity(10_000)
    ///     .timer(ManualTimer::new())
    ///     .negative_ttl(Duration::from_secs(5))
    ///     .remembered_errors(100)
    ///     .build();
    /// # assert!(cache.is_ok());
    /// ```
    pub fn remembered_errors(mut self, limit: usize) -> Self {
        self.settings.remembered_errors = Some(limit);
        self
    }

    /// Calls `listener` with the key, the value and the [`RemovalCause`](crate::RemovalCause)
    /// of every entry that leaves the cache, after the shard lock is released. See
    /// [`Listener`].
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use readthrough_core::{Cache, RemovalCause};
    ///
    /// static EVICTED: AtomicUsize = AtomicUsize::new(0);
    /// let cache = Cache::<u32, u32>::builder()
    ///     .capacity(1)
    ///     .listener(|_: u32, _: u32, cause: RemovalCause| {
    ///         if cause == RemovalCause::Evicted {
    ///             EVICTED.fetch_add(1, Ordering::Relaxed);
    ///         }
    ///     })
    ///     .build()
    ///     .unwrap();
    /// cache.insert(1, 1);
    /// cache.insert(2, 2);
    /// assert_eq!(EVICTED.load(Ordering::Relaxed), 1);
    /// ```
    pub fn listener<N2: Listener<K, V>>(self, listener: N2) -> Builder<K, V, E, T, S, L, W, N2> {
        Builder {
            settings: self.settings,
            hasher: self.hasher,
            timer: self.timer,
            weigher: self.weigher,
            listener,
            types: PhantomData,
        }
    }

    /// The hasher for keys (default: [`DefaultHashBuilder`], foldhash).
    ///
    /// ```
    /// # use readthrough_core::Cache;
    /// use std::hash::RandomState;
    /// let cache = Cache::<u32, u32>::builder().capacity(8).hasher(RandomState::new()).build().unwrap();
    /// # cache.insert(1, 1);
    /// ```
    pub fn hasher<S2>(self, hasher: S2) -> Builder<K, V, E, T, S2, L, W, N> {
        Builder {
            settings: self.settings,
            hasher,
            timer: self.timer,
            weigher: self.weigher,
            listener: self.listener,
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
    pub fn lock<L2: RawLock>(self) -> Builder<K, V, E, T, S, L2, W, N> {
        Builder {
            settings: self.settings,
            hasher: self.hasher,
            timer: self.timer,
            weigher: self.weigher,
            listener: self.listener,
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
    pub fn timer<T2: Timer>(self, timer: T2) -> Builder<K, V, E, T2, S, L, W, N> {
        Builder {
            settings: self.settings,
            hasher: self.hasher,
            timer,
            weigher: self.weigher,
            listener: self.listener,
            types: PhantomData,
        }
    }

    /// Checks the configuration and builds the cache. Every refusal is a [`BuildError`] that
    /// says what to change; nothing is allocated blindly (reserving with
    /// [`preallocate`](Self::preallocate) is fallible).
    ///
    /// ```
    /// # use readthrough_core::{BuildError, Cache};
    /// let refused = Cache::<u32, u32>::builder().capacity(4).shards(8).build();
    /// assert_eq!(refused.err(), Some(BuildError::MoreShardsThanCapacity { shards: 8, capacity: 4 }));
    /// ```
    #[allow(
        clippy::type_complexity,
        reason = "the cache's own type parameters, spelled out"
    )]
    pub fn build(self) -> Result<Cache<K, V, E, T, S, L, W, N>, BuildError>
    where
        K: Eq,
        T: Clock,
        L: RawLock,
        W: Weigh<K, V>,
    {
        let Settings {
            capacity,
            shards,
            preallocate,
            remembered_errors,
            refresh_ahead,
            mut options,
        } = self.settings;
        if capacity == 0 {
            return Err(BuildError::ZeroCapacity);
        }
        let shards = match shards {
            Some(0) => return Err(BuildError::ZeroShards),
            Some(shards) if shards > MAX_SHARDS => {
                return Err(BuildError::TooManyShards {
                    shards,
                    max: MAX_SHARDS,
                });
            }
            Some(shards) if shards > capacity => {
                return Err(BuildError::MoreShardsThanCapacity { shards, capacity });
            }
            Some(shards) => shards,
            None if !W::UNIT => (capacity / WEIGHT_PER_DEFAULT_SHARD)
                .clamp(1, MAX_DEFAULT_SHARDS)
                .max(capacity.div_ceil(MAX_SHARD_CAPACITY)),
            None => (capacity / ENTRIES_PER_DEFAULT_SHARD)
                .clamp(1, MAX_DEFAULT_SHARDS)
                .max(capacity.div_ceil(MAX_SHARD_CAPACITY)),
        };
        // `try_from`, not a comparison with `MAX_SHARD_CAPACITY`: on 32-bit targets every
        // usize fits, and the comparison would be a constant.
        if u32::try_from(capacity.div_ceil(shards)).is_err() {
            return Err(BuildError::ShardTooLarge {
                shards_needed: capacity.div_ceil(MAX_SHARD_CAPACITY),
            });
        }
        let fail_safe = options.fail_safe.map(|fail_safe| fail_safe.throttle);
        for (name, duration) in [
            ("lock_age", options.lock_age),
            ("lock_timeout", options.lock_timeout),
            ("load_timeout", options.load_timeout),
            ("fail_safe throttle", fail_safe),
            ("soft_timeout", options.soft_timeout),
        ] {
            if duration == Some(Duration::ZERO) {
                return Err(BuildError::ZeroDuration(name));
            }
        }
        if let Some(soft) = options.soft_timeout {
            if options.fail_safe.is_none() {
                return Err(BuildError::SoftTimeoutNeedsFailSafe);
            }
            if options.load_timeout.is_some_and(|hard| soft >= hard) {
                return Err(BuildError::SoftTimeoutNotBelowLoadTimeout);
            }
        }
        options.refresh_ahead = match refresh_ahead {
            Some(when) => {
                let margin = when.margin(options.ttl)?;
                Some(u64::try_from(margin.as_nanos()).unwrap_or(u64::MAX))
            }
            None => None,
        };
        let weighted = !W::UNIT;
        let reserve = match preallocate {
            Preallocation::Off => 0,
            Preallocation::Capacity if weighted => {
                return Err(BuildError::PreallocateNeedsEntries);
            }
            Preallocation::Capacity => capacity,
            Preallocation::Entries(entries) => entries,
        };
        let remembered_errors = match remembered_errors {
            Some(0) => return Err(BuildError::ZeroRememberedErrors),
            Some(limit) => limit,
            None if weighted => DEFAULT_REMEMBERED_ERRORS,
            None => DEFAULT_REMEMBERED_ERRORS.min(capacity),
        };
        let mut built = Vec::new();
        built
            .try_reserve_exact(shards)
            .map_err(|_| BuildError::Allocation)?;
        let shard_entries = (!weighted).then(|| capacity / shards);
        let duel = Duel::new(shards, shard_entries);
        for index in 0..shards {
            let size = ShardSize {
                capacity: share(capacity, shards, index),
                reserve: share(reserve, shards, index),
                expected_entries: (!weighted).then(|| share(capacity, shards, index)),
                remembered_errors: share(remembered_errors, shards, index),
                role: duel.role(index),
            };
            built.push(Shard::new(size).map_err(|_| BuildError::Allocation)?);
        }
        Ok(Cache::from_parts(Parts {
            shards: built.into_boxed_slice(),
            duel,
            capacity,
            hasher: self.hasher,
            timer: self.timer,
            options,
            weigher: self.weigher,
            listener: self.listener,
        }))
    }
}

impl<K, V, E, T, S, L, N> Builder<K, V, E, T, S, L, Unweighted, N> {
    /// Reserves every table for the full capacity now, so that no insert or eviction allocates
    /// later; a reservation the allocator refuses is [`BuildError::Allocation`], not an abort.
    /// Without it, tables grow on demand (never past the capacity).
    ///
    /// ```
    /// # use readthrough_core::Cache;
    /// let cache = Cache::<u32, u32>::builder().capacity(1_000).preallocate().build().unwrap();
    /// # assert!(cache.is_empty());
    /// ```
    pub fn preallocate(mut self) -> Self {
        self.settings.preallocate = Preallocation::Capacity;
        self
    }

    /// Bounds the cache by total weight instead of entry count: `weigher` gives each entry a
    /// weight (usually its size in bytes) and [`capacity`](Self::capacity) bounds their sum.
    /// See [`Weigher`] for weights of zero and entries heavier than a shard.
    ///
    /// ```
    /// use readthrough_core::Cache;
    /// let cache = Cache::<String, String>::builder()
    ///     .capacity(64 * 1024)
    ///     .weigher(|key: &String, value: &String| key.len() + value.len())
    ///     .build()
    ///     .unwrap();
    /// cache.insert("k".to_string(), "v".repeat(100));
    /// assert_eq!(cache.weight(), 101);
    /// ```
    pub fn weigher<W2: Weigher<K, V>>(
        self,
        weigher: W2,
    ) -> Builder<K, V, E, T, S, L, Weighted<W2>, N> {
        Builder {
            settings: self.settings,
            hasher: self.hasher,
            timer: self.timer,
            weigher: Weighted(weigher),
            listener: self.listener,
            types: PhantomData,
        }
    }
}

impl<K, V, E, T, S, L, W, N> Builder<K, V, E, T, S, L, Weighted<W>, N> {
    /// Reserves room for `entries` entries now (a cache with a weigher cannot know how many
    /// entries its capacity holds), so that a cache that holds at most that many never
    /// allocates on insert or eviction. A reservation the allocator refuses is
    /// [`BuildError::Allocation`].
    ///
    /// ```
    /// # use readthrough_core::Cache;
    /// let cache = Cache::<u32, Vec<u8>>::builder()
    ///     .capacity(1 << 20)
    ///     .weigher(|_: &u32, body: &Vec<u8>| body.len())
    ///     .preallocate(4_096)
    ///     .build()
    ///     .unwrap();
    /// # assert!(cache.is_empty());
    /// ```
    pub fn preallocate(mut self, entries: usize) -> Self {
        self.settings.preallocate = Preallocation::Entries(entries);
        self
    }
}

/// Shard `index`'s part of `total` split over `shards`: the remainder goes one each to the
/// first shards, so the parts add up to `total` exactly.
fn share(total: usize, shards: usize, index: usize) -> usize {
    total / shards + usize::from(index < total % shards)
}

impl<K, V, E, T: Timer, S, L, W, N> Builder<K, V, E, T, S, L, W, N> {
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
        self.settings.options.ttl = Some(ttl);
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
        self.settings.options.lock_age = Some(lock_age);
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
        self.settings.options.lock_timeout = Some(lock_timeout);
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
        self.settings.options.load_timeout = Some(load_timeout);
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
        self.settings.options.stale_window = stale_window;
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
        self.settings.options.negative_ttl = Some(negative_ttl);
        self
    }
}

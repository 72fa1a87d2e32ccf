//! [`readthrough`](https://docs.rs/readthrough) on embassy: the cache's clock and sleeps come
//! from `embassy-time` (whatever time driver the firmware links), and its shards are locked by
//! the embassy-sync [`RawMutex`] the firmware picks.
//!
//! `#![no_std]`; needs a global allocator (the core is `no_std` + `alloc`). On chips without
//! compare-and-swap atomics (thumbv6m: RP2040, Cortex-M0+) turn on this crate's
//! `portable-atomic` and `critical-section` features.
//! Its `defmt` feature gives embassy-time's `Instant`/`Duration` and embassy-sync's errors
//! `defmt::Format`, and turns on the core's defmt events (`readthrough: load failed
//! (timed_out: false)`, filtered by `DEFMT_LOG`, e.g. `readthrough_core=info`), for firmware
//! that logs with defmt (the final binary supplies defmt's logger).
//!
//! There is no background refresh here: embassy spawns only statically declared tasks, so its
//! timer is not a [`Spawn`](readthrough_core::Spawn), and stale-while-revalidate and
//! [refresh ahead](readthrough_core::Builder::refresh_ahead) are the core's caller-driven
//! [`get_or_revalidate`](readthrough_core::Cache::get_or_revalidate): the first caller that finds
//! a value stale (or due for refresh) reloads it while concurrent callers get the current value
//! at once (the refreshing caller of a value due for refresh ahead is answered
//! [`Status::Refreshed`](readthrough_core::Status::Refreshed)). A firmware that wants no caller to wait can run the reload in a static task of its
//! own with [`refresh`](readthrough_core::Cache::refresh).
//!
//! ```
//! # embassy_time::MockDriver::get().reset();
//! use embassy_time::{Duration, MockDriver};
//! use readthrough_core::Status;
//!
//! # futures_lite::future::block_on(async {
//! let cache: readthrough_embassy::Cache<u8, u16> = readthrough_embassy::builder()
//!     .capacity(16)
//!     .ttl(core::time::Duration::from_secs(60))
//!     .build()
//!     .unwrap();
//! let read_sensor = |_: &u8| async { Ok(1234) };
//! assert_eq!(cache.get_or_load(&0, read_sensor).await.unwrap().status, Status::Miss);
//! assert_eq!(cache.get_or_load(&0, read_sensor).await.unwrap().status, Status::Hit);
//!
//! MockDriver::get().advance(Duration::from_secs(61));
//! assert_eq!(cache.get_or_load(&0, read_sensor).await.unwrap().status, Status::Expired);
//! # });
//! ```
#![no_std]
#![warn(missing_docs, missing_debug_implementations)]
#![warn(clippy::undocumented_unsafe_blocks)]
#![cfg_attr(docsrs, feature(doc_cfg))]

use core::cell::Cell;
use core::convert::Infallible;
use core::fmt;
use core::time::Duration;

use embassy_sync::blocking_mutex::raw::{CriticalSectionRawMutex, RawMutex};
use embassy_time::{Instant, TICK_HZ};
use readthrough_core::{RawLock, Timer};

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// The cache's [`Timer`] on `embassy-time`: [`now`](Timer::now) is the time since boot,
/// [`sleep`](Timer::sleep) an [`embassy_time::Timer`].
///
/// ```
/// # embassy_time::MockDriver::get().reset();
/// use core::time::Duration;
/// use readthrough_core::Timer;
/// use readthrough_embassy::EmbassyTimer;
///
/// embassy_time::MockDriver::get().advance(embassy_time::Duration::from_millis(1500));
/// assert_eq!(EmbassyTimer.now(), Duration::from_millis(1500));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct EmbassyTimer;

impl Timer for EmbassyTimer {
    type Sleep = embassy_time::Timer;

    fn now(&self) -> Duration {
        let nanos = u128::from(Instant::now().as_ticks()) * NANOS_PER_SEC / u128::from(TICK_HZ);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// Rounds up to whole ticks, so the sleep never ends early; a duration beyond the tick
    /// counter's range never ends.
    fn sleep(&self, duration: Duration) -> embassy_time::Timer {
        let ticks = duration
            .as_nanos()
            .saturating_mul(u128::from(TICK_HZ))
            .div_ceil(NANOS_PER_SEC);
        let ticks = u64::try_from(ticks).unwrap_or(u64::MAX);
        embassy_time::Timer::at(
            Instant::now().saturating_add(embassy_time::Duration::from_ticks(ticks)),
        )
    }
}

/// A shard lock made of an embassy-sync [`RawMutex`]: reads and writes both run under
/// `M::lock`.
///
/// - [`CriticalSectionRawMutex`]: safe against interrupts and other cores (the default of
///   [`Cache`]);
/// - `ThreadModeRawMutex` (Cortex-M): no interrupt masking, for caches only used from thread
///   mode;
/// - `NoopRawMutex`: no locking, for a cache used by one executor only (the cache is then not
///   `Sync`).
///
/// A `RawMutex` lets the thread that holds it lock it again; a shard lock must not be, so
/// entering a shard from inside a shard (a key's `Hash`/`Eq` or a value's `Drop` that calls
/// back into the same cache) panics instead of aliasing the shard.
///
/// ```
/// use embassy_sync::blocking_mutex::raw::NoopRawMutex;
/// use readthrough_embassy::{EmbassyLock, EmbassyTimer};
///
/// // One executor, no interrupts touching the cache: no locking needed.
/// let cache = readthrough_core::Cache::<u8, u8>::builder()
///     .capacity(8)
///     .lock::<EmbassyLock<NoopRawMutex>>()
///     .timer(EmbassyTimer)
///     .build()
///     .unwrap();
/// # let _ = &cache;
/// let lock = <EmbassyLock<NoopRawMutex> as readthrough_core::RawLock>::new();
/// assert_eq!(
///     format!("{lock:?}"),
///     "EmbassyLock { mutex: \"embassy_sync::blocking_mutex::raw::NoopRawMutex\", .. }"
/// );
/// ```
pub struct EmbassyLock<M: RawMutex> {
    mutex: M,
    entered: Cell<bool>,
}

// SAFETY: `entered` is only read or written inside `mutex.lock`, which no other thread (or
// interrupt, for the critical-section mutex) can enter at the same time; `M: Sync` says the
// mutex may be shared at all.
unsafe impl<M: RawMutex + Sync> Sync for EmbassyLock<M> {}

impl<M: RawMutex> EmbassyLock<M> {
    fn exclusive<R>(&self, f: impl FnOnce() -> R) -> R {
        self.mutex.lock(|| {
            assert!(
                !self.entered.replace(true),
                "readthrough: a shard was re-entered while locked (a key's Hash/Eq or a value's \
                 Drop called back into the cache)"
            );
            let _exit = Exit(&self.entered);
            f()
        })
    }
}

/// Names the mutex type only: `entered` may be read under the lock alone.
impl<M: RawMutex> fmt::Debug for EmbassyLock<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbassyLock")
            .field("mutex", &core::any::type_name::<M>())
            .finish_non_exhaustive()
    }
}

struct Exit<'a>(&'a Cell<bool>);

impl Drop for Exit<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

// SAFETY: every closure runs under `M::lock`, which excludes other threads and (for the
// critical-section mutex) interrupts; `entered` refuses the one overlap `M` allows, the same
// thread locking again, and is reset when the closure unwinds.
unsafe impl<M: RawMutex> RawLock for EmbassyLock<M> {
    fn new() -> Self {
        EmbassyLock {
            mutex: M::INIT,
            entered: Cell::new(false),
        }
    }

    fn read<R>(&self, f: impl FnOnce() -> R) -> R {
        self.exclusive(f)
    }

    fn write<R>(&self, f: impl FnOnce() -> R) -> R {
        self.exclusive(f)
    }
}

/// A read-through cache on embassy-time whose shards are locked by `M` (default:
/// [`CriticalSectionRawMutex`]). `E` is the loader's error type.
///
/// ```
/// # futures_lite::future::block_on(async {
/// let cache: readthrough_embassy::Cache<u8, u32> =
///     readthrough_embassy::builder().capacity(8).build().unwrap();
/// let answer = cache.get_or_load(&1, |_: &u8| async { Ok(42) }).await.unwrap();
/// assert_eq!(answer.value, 42);
/// # });
/// ```
pub type Cache<K, V, E = Infallible, M = CriticalSectionRawMutex> = readthrough_core::Cache<
    K,
    V,
    E,
    EmbassyTimer,
    readthrough_core::DefaultHashBuilder,
    EmbassyLock<M>,
>;

/// A builder for a [`Cache`] with [`EmbassyTimer`] and [`EmbassyLock`]`<M>` already set, so the
/// time options (`ttl`, `lock_age`, `lock_timeout`, `load_timeout`, `stale_window`, ...) are
/// available. Name `M` to pick another mutex than [`CriticalSectionRawMutex`].
///
/// ```
/// use core::time::Duration;
/// let cache: readthrough_embassy::Cache<u8, u16> = readthrough_embassy::builder()
///     .capacity(32)
///     .shards(2)
///     .ttl(Duration::from_secs(10))
///     .load_timeout(Duration::from_millis(500))
///     .build()
///     .unwrap();
/// assert_eq!(cache.capacity(), 32);
/// ```
///
/// On a small heap, bound it by bytes with a [weigher](readthrough_core::Builder::weigher):
///
/// ```
/// let records = readthrough_embassy::builder::<u8, [u8; 16], (), embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex>()
///     .capacity(1024)
///     .shards(1)
///     .weigher(|_: &u8, record: &[u8; 16]| core::mem::size_of_val(record) + 1)
///     .build()
///     .unwrap();
/// records.insert(1, [0; 16]);
/// assert_eq!(records.weight(), 17);
/// ```
pub fn builder<K, V, E, M: RawMutex>() -> readthrough_core::Builder<
    K,
    V,
    E,
    EmbassyTimer,
    readthrough_core::DefaultHashBuilder,
    EmbassyLock<M>,
> {
    readthrough_core::Cache::<K, V, E>::builder()
        .lock::<EmbassyLock<M>>()
        .timer(EmbassyTimer)
}

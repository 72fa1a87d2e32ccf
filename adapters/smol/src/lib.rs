//! [`readthrough`](https://docs.rs/readthrough) on smol: the cache's clock is the monotonic
//! system clock and its sleeps are [`async_io::Timer`]s, the timers smol (and async-std, which
//! runs on async-io) already drive. [`SmolTimer`] is also the cache's
//! [`Spawn`]: background refreshes
//! ([`get_or_revalidate_in_background`](readthrough_core::Cache::get_or_revalidate_in_background))
//! run on smol's global executor, which runs on background threads of its own
//! (`SMOL_THREADS`, default 1) whatever executor the caller is on, or on an
//! [`Executor`](smol::Executor) you name with [`SmolTimer::on`].
//!
//! ```
//! use std::time::Duration;
//! use readthrough_core::Status;
//!
//! smol::block_on(async {
//!     let cache: readthrough_smol::Cache<u64, String> = readthrough_smol::builder()
//!         .capacity(1_000)
//!         .ttl(Duration::from_millis(5))
//!         .build()
//!         .unwrap();
//!     let load = async |id: &u64| Ok(format!("row {id}"));
//!     assert_eq!(cache.get_or_load(&7, load).await.unwrap().status, Status::Miss);
//!     assert_eq!(cache.get_or_load(&7, load).await.unwrap().status, Status::Hit);
//!
//!     smol::Timer::after(Duration::from_millis(6)).await;
//!     assert_eq!(cache.get_or_load(&7, load).await.unwrap().status, Status::Expired);
//! });
//! ```
#![warn(missing_docs, missing_debug_implementations)]
#![warn(clippy::undocumented_unsafe_blocks)]
#![cfg_attr(docsrs, feature(doc_cfg))]

use core::convert::Infallible;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use std::time::Instant;

use readthrough_core::{Spawn, Timer};

/// The cache's [`Timer`] on async-io: [`now`](Timer::now) is [`std::time::Instant`] since this
/// timer was made, [`sleep`](Timer::sleep) an [`async_io::Timer`].
///
/// async-io's timers run on any executor (its reactor thread wakes them), so this timer works
/// under `smol`, `async-std`, `futures::executor` or a plain `block_on`.
///
/// ```
/// use readthrough_core::Timer;
/// use std::time::Duration;
///
/// let timer = readthrough_smol::SmolTimer::new();
/// smol::block_on(timer.sleep(Duration::from_millis(2)));
/// assert!(timer.now() >= Duration::from_millis(2));
/// ```
#[derive(Clone, Copy)]
pub struct SmolTimer {
    epoch: Instant,
    /// Where background refreshes run; smol's global executor when `None`.
    executor: Option<&'static smol::Executor<'static>>,
}

impl core::fmt::Debug for SmolTimer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SmolTimer")
            .field("epoch", &self.epoch)
            .field("own_executor", &self.executor.is_some())
            .finish()
    }
}

impl SmolTimer {
    /// A timer whose time starts at zero now.
    ///
    /// ```
    /// # use readthrough_core::Timer;
    /// let timer = readthrough_smol::SmolTimer::new();
    /// assert!(timer.now() < std::time::Duration::from_secs(1));
    /// ```
    pub fn new() -> Self {
        SmolTimer {
            epoch: Instant::now(),
            executor: None,
        }
    }

    /// A timer whose time starts at zero now and whose background refreshes run on
    /// `executor` instead of smol's global one (a service that runs its own executor).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use readthrough_core::Status;
    /// use readthrough_smol::SmolTimer;
    ///
    /// static EXECUTOR: smol::Executor<'static> = smol::Executor::new();
    ///
    /// smol::block_on(EXECUTOR.run(async {
    ///     let cache: Arc<readthrough_smol::Cache<u32, u32>> = Arc::new(
    ///         readthrough_core::Cache::builder()
    ///             .capacity(100)
    ///             .timer(SmolTimer::on(&EXECUTOR))
    ///             .ttl(Duration::from_millis(1))
    ///             .stale_window(Duration::from_secs(60))
    ///             .build()
    ///             .unwrap(),
    ///     );
    ///     cache.insert(1, 100);
    ///     smol::Timer::after(Duration::from_millis(2)).await;
    ///
    ///     let load = |_: &u32| async { Ok(200) };
    ///     let answer = cache.get_or_revalidate_in_background(&1, load).await.unwrap();
    ///     assert!(matches!(answer.status, Status::Stale(_)));
    ///     // get_stale: the refreshed value may already be past its 1 ms TTL again
    ///     while cache.get_stale(&1).map(|answer| answer.value) != Some(200) {
    ///         smol::Timer::after(Duration::from_millis(1)).await;
    ///     }
    /// }));
    /// ```
    pub fn on(executor: &'static smol::Executor<'static>) -> Self {
        SmolTimer {
            executor: Some(executor),
            ..Self::new()
        }
    }
}

impl Default for SmolTimer {
    fn default() -> Self {
        Self::new()
    }
}

impl Timer for SmolTimer {
    type Sleep = Sleep;

    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        Sleep(async_io::Timer::after(duration))
    }
}

/// The future [`SmolTimer::sleep`] returns: an [`async_io::Timer`] without its `Instant` output.
/// A duration too long to represent never fires.
///
/// ```
/// # use readthrough_core::Timer;
/// let sleep: readthrough_smol::Sleep = readthrough_smol::SmolTimer::new().sleep(std::time::Duration::ZERO);
/// smol::block_on(sleep);
/// ```
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Sleep(async_io::Timer);

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(drop)
    }
}

/// A read-through cache on async-io's timer. `E` is the loader's error type.
///
/// Build one with [`builder`], which sets the timer (a type alias has no `builder()` of its own).
///
/// ```
/// smol::block_on(async {
///     let cache: readthrough_smol::Cache<&str, u32, std::io::Error> =
///         readthrough_smol::builder().capacity(100).build().unwrap();
///     let answer = cache.get_or_load(&"answer", |_: &&str| async { Ok(42) }).await.unwrap();
///     assert_eq!(answer.value, 42);
/// });
/// ```
///
/// In an `Arc`, it refreshes in the background on smol's global executor: a stale value (or,
/// with [`refresh_ahead`](readthrough_core::Builder::refresh_ahead), one about to expire) is
/// answered at once while one task reloads it.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use readthrough_core::{RefreshAhead, Status};
///
/// smol::block_on(async {
///     let cache: Arc<readthrough_smol::Cache<u32, u32>> = Arc::new(
///         readthrough_smol::builder()
///             .capacity(100)
///             .ttl(Duration::from_secs(60))
///             // refresh a value read in its last 59.99 s: 10 ms after it was stored
///             .refresh_ahead(RefreshAhead::BeforeExpiry(Duration::from_millis(59_990)))
///             .build()
///             .unwrap(),
///     );
///     cache.insert(1, 100);
///     smol::Timer::after(Duration::from_millis(11)).await;
///
///     let load = |_: &u32| async { Ok(200) };
///     let answer = cache.get_or_revalidate_in_background(&1, load).await.unwrap();
///     assert_eq!((answer.value, answer.status), (100, Status::Hit));
///     while cache.get(&1) != Some(200) {
///         smol::Timer::after(Duration::from_millis(1)).await;
///     }
/// });
/// ```
pub type Cache<K, V, E = Infallible> = readthrough_core::Cache<K, V, E, SmolTimer>;

/// A builder for a [`Cache`] with a [`SmolTimer`] already set, so the time options (`ttl`,
/// `lock_age`, `lock_timeout`, `load_timeout`, `stale_window`, ...) are available.
///
/// ```
/// use std::time::Duration;
/// let cache: readthrough_smol::Cache<u32, u32> = readthrough_smol::builder()
///     .capacity(10_000)
///     .ttl(Duration::from_secs(30))
///     .build()
///     .unwrap();
/// assert_eq!(cache.capacity(), 10_000);
/// ```
///
/// Bound it by bytes with a [weigher](readthrough_core::Builder::weigher), and hear of every
/// entry that leaves with a [listener](readthrough_core::Builder::listener):
///
/// ```
/// use readthrough_core::RemovalCause;
/// let pages = readthrough_smol::builder::<String, String, ()>()
///     .capacity(1 << 20)
///     .weigher(|url: &String, page: &String| url.len() + page.len())
///     .listener(|url: String, _: String, cause: RemovalCause| println!("{url} left: {cause:?}"))
///     .build()
///     .unwrap();
/// pages.insert("/".to_string(), "<html>".to_string());
/// assert_eq!(pages.weight(), 7);
/// ```
pub fn builder<K, V, E>() -> readthrough_core::Builder<K, V, E, SmolTimer> {
    readthrough_core::Cache::<K, V, E>::builder().timer(SmolTimer::new())
}

impl Spawn for SmolTimer {
    /// Spawns `task` on the executor named with [`on`](SmolTimer::on), or else with
    /// [`smol::spawn`] on smol's global executor, and detaches it.
    fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        match self.executor {
            Some(executor) => executor.spawn(task).detach(),
            None => smol::spawn(task).detach(),
        }
    }
}

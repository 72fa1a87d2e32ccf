//! [`readthrough`](https://docs.rs/readthrough) on tokio: the cache's clock and sleeps come from
//! `tokio::time`, so a test that pauses tokio's clock (`#[tokio::test(start_paused = true)]`,
//! `tokio::time::advance`) drives TTLs, lock ages and timeouts deterministically.
//!
//! ```
//! use std::time::Duration;
//! use readthrough_core::Status;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
//! let cache: readthrough_tokio::Cache<u64, String> = readthrough_tokio::builder()
//!     .capacity(1_000)
//!     .ttl(Duration::from_secs(60))
//!     .build()
//!     .unwrap();
//! let load = async |id: &u64| Ok(format!("row {id}"));
//! assert_eq!(cache.get_or_load(&7, load).await.unwrap().status, Status::Miss);
//! assert_eq!(cache.get_or_load(&7, load).await.unwrap().status, Status::Hit);
//!
//! tokio::time::advance(Duration::from_secs(61)).await;
//! assert_eq!(cache.get_or_load(&7, load).await.unwrap().status, Status::Expired);
//! # });
//! ```
#![warn(missing_docs, missing_debug_implementations)]
#![warn(clippy::undocumented_unsafe_blocks)]
#![cfg_attr(docsrs, feature(doc_cfg))]

use core::convert::Infallible;
use core::future::Future;
use core::time::Duration;

use readthrough_core::{Spawn, Timer};

/// The cache's [`Timer`] on `tokio::time`: [`now`](Timer::now) is tokio's (pausable) clock since
/// this timer was made, [`sleep`](Timer::sleep) is [`tokio::time::sleep`]. It is also the
/// cache's [`Spawn`]: background refreshes
/// ([`get_or_revalidate_in_background`](readthrough_core::Cache::get_or_revalidate_in_background))
/// run in [`tokio::spawn`]ed tasks, on the runtime of the calling task; a timer made with
/// [`on`](Self::on) spawns and sleeps on the runtime it was given, wherever it is called from.
///
/// # Panics
///
/// A timer made with [`new`](Self::new): sleeping (every time-bounded wait: `lock_timeout`,
/// `load_timeout`) panics outside a tokio runtime with the time driver enabled
/// (`enable_time()`/`enable_all()`, or `#[tokio::main]`), as every tokio timer does; spawning a
/// background refresh panics outside a tokio runtime, as [`tokio::spawn`] does. A timer made
/// with [`on`](Self::on) does neither (its sleeps still need that runtime's time driver).
///
/// ```
/// use readthrough_core::Timer;
/// use readthrough_tokio::TokioTimer;
/// use std::time::Duration;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
/// let timer = TokioTimer::new();
/// timer.sleep(Duration::from_secs(5)).await;
/// assert_eq!(timer.now(), Duration::from_secs(5));
/// # });
/// ```
#[derive(Clone, Copy, Debug)]
pub struct TokioTimer {
    epoch: tokio::time::Instant,
    /// Where sleeps are registered and background refreshes run; the calling task's runtime
    /// when `None`.
    runtime: Option<&'static tokio::runtime::Handle>,
}

impl TokioTimer {
    /// A timer whose time starts at zero now.
    ///
    /// ```
    /// # use readthrough_core::Timer;
    /// let timer = readthrough_tokio::TokioTimer::new();
    /// assert!(timer.now() < std::time::Duration::from_secs(1));
    /// ```
    pub fn new() -> Self {
        TokioTimer {
            epoch: tokio::time::Instant::now(),
            runtime: None,
        }
    }

    /// A timer on the runtime `runtime` is a handle to: background refreshes are spawned there
    /// ([`Handle::spawn`](tokio::runtime::Handle::spawn)) and sleeps registered with its time
    /// driver, also when the cache is called from a thread outside any runtime (a blocking
    /// pool, another executor, a plain thread). The clock is read as [`new`](Self::new)'s is,
    /// in the caller's context (entering the runtime on every hit would cost the hit path):
    /// the same system clock in production, but a test's paused time is seen only by calls
    /// made inside that runtime.
    ///
    /// The handle is `'static`, as [`SmolTimer::on`]'s executor is, so that the timer stays
    /// `Copy` and costs the cache nothing to hold: a runtime in a `static`
    /// (`LazyLock<Runtime>`, then `RUNTIME.handle()`), or a handle leaked once
    /// (`Box::leak(Box::new(Handle::current()))`).
    ///
    /// [`SmolTimer::on`]: https://docs.rs/readthrough-smol/latest/readthrough_smol/struct.SmolTimer.html#method.on
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use readthrough_core::Status;
    /// use readthrough_tokio::TokioTimer;
    ///
    /// static RUNTIME: std::sync::LazyLock<tokio::runtime::Runtime> = std::sync::LazyLock::new(|| {
    ///     tokio::runtime::Builder::new_multi_thread()
    ///         .worker_threads(1)
    ///         .enable_all()
    ///         .build()
    ///         .unwrap()
    /// });
    /// let cache: Arc<readthrough_tokio::Cache<u32, u32>> = Arc::new(
    ///     readthrough_core::Cache::builder()
    ///         .capacity(100)
    ///         .timer(TokioTimer::on(RUNTIME.handle()))
    ///         .ttl(Duration::from_millis(1))
    ///         .stale_window(Duration::from_secs(600))
    ///         .build()
    ///         .unwrap(),
    /// );
    /// cache.insert(1, 100);
    /// std::thread::sleep(Duration::from_millis(2));
    ///
    /// // Called from this plain thread, outside the runtime: the refresh is spawned on it.
    /// let load = |_: &u32| async { Ok(200) };
    /// let answer = futures_lite::future::block_on(cache.get_or_revalidate_in_background(&1, load));
    /// assert!(matches!(answer.unwrap().status, Status::Stale(_)));
    /// while cache.get_stale(&1).map(|answer| answer.value) != Some(200) {
    ///     std::thread::yield_now();
    /// }
    /// ```
    pub fn on(runtime: &'static tokio::runtime::Handle) -> Self {
        TokioTimer {
            runtime: Some(runtime),
            ..Self::new()
        }
    }
}

impl Default for TokioTimer {
    fn default() -> Self {
        Self::new()
    }
}

impl Timer for TokioTimer {
    type Sleep = tokio::time::Sleep;

    fn now(&self) -> Duration {
        tokio::time::Instant::now().saturating_duration_since(self.epoch)
    }

    fn sleep(&self, duration: Duration) -> tokio::time::Sleep {
        match &self.runtime {
            // A sleep is bound to the time driver of the runtime it is made in.
            Some(runtime) => {
                let _entered = runtime.enter();
                tokio::time::sleep(duration)
            }
            None => tokio::time::sleep(duration),
        }
    }
}

/// A read-through cache on tokio's timer. `E` is the loader's error type.
///
/// Build one with [`builder`], which sets the timer (a type alias has no `builder()` of its own).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let cache: readthrough_tokio::Cache<&str, u32, std::io::Error> =
///     readthrough_tokio::builder().capacity(100).build().unwrap();
/// let answer = cache.get_or_load(&"answer", |_: &&str| async { Ok(42) }).await.unwrap();
/// assert_eq!(answer.value, 42);
/// # });
/// ```
///
/// In an `Arc`, it refreshes in the background: a stale value (or, with
/// [`refresh_ahead`](readthrough_core::Builder::refresh_ahead), one about to expire) is
/// answered at once while one spawned task reloads it.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use readthrough_core::Status;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
/// let cache: Arc<readthrough_tokio::Cache<u32, u32>> = Arc::new(
///     readthrough_tokio::builder()
///         .capacity(100)
///         .ttl(Duration::from_secs(10))
///         .stale_window(Duration::from_secs(60))
///         .build()
///         .unwrap(),
/// );
/// cache.insert(1, 100);
/// tokio::time::advance(Duration::from_secs(11)).await;
///
/// let load = |_: &u32| async { Ok(200) };
/// let answer = cache.get_or_revalidate_in_background(&1, load).await.unwrap();
/// assert_eq!((answer.value, answer.status), (100, Status::Stale(Duration::from_secs(1))));
///
/// tokio::task::yield_now().await; // the refresh task runs
/// assert_eq!(cache.get(&1), Some(200));
/// # });
/// ```
pub type Cache<K, V, E = Infallible> = readthrough_core::Cache<K, V, E, TokioTimer>;

/// A builder for a [`Cache`] with a [`TokioTimer`] already set, so the time options (`ttl`,
/// `lock_age`, `lock_timeout`, `load_timeout`, `stale_window`, ...) are available.
///
/// ```
/// use std::time::Duration;
/// let cache: readthrough_tokio::Cache<u32, u32> = readthrough_tokio::builder()
///     .capacity(10_000)
///     .ttl(Duration::from_secs(30))
///     .lock_timeout(Duration::from_secs(2))
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
/// let pages = readthrough_tokio::builder::<String, String, ()>()
///     .capacity(1 << 20)
///     .weigher(|url: &String, page: &String| url.len() + page.len())
///     .listener(|url: String, _: String, cause: RemovalCause| println!("{url} left: {cause:?}"))
///     .build()
///     .unwrap();
/// pages.insert("/".to_string(), "<html>".to_string());
/// assert_eq!(pages.weight(), 7);
/// ```
pub fn builder<K, V, E>() -> readthrough_core::Builder<K, V, E, TokioTimer> {
    readthrough_core::Cache::<K, V, E>::builder().timer(TokioTimer::new())
}

impl Spawn for TokioTimer {
    /// Spawns `task` on the timer's runtime ([`TokioTimer::on`]), or else with
    /// [`tokio::spawn`]: on the runtime of the calling task.
    ///
    /// # Panics
    ///
    /// A timer made with [`TokioTimer::new`], outside a tokio runtime, as [`tokio::spawn`]
    /// does.
    fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        match &self.runtime {
            Some(runtime) => drop(runtime.spawn(task)),
            None => drop(tokio::spawn(task)),
        }
    }
}

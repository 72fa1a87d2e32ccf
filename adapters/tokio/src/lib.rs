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
/// run in [`tokio::spawn`]ed tasks.
///
/// # Panics
///
/// Sleeping (every time-bounded wait: `lock_timeout`, `load_timeout`) panics outside a tokio
/// runtime with the time driver enabled (`enable_time()`/`enable_all()`, or `#[tokio::main]`),
/// as every tokio timer does; spawning a background refresh panics outside a tokio runtime,
/// as [`tokio::spawn`] does.
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
        tokio::time::sleep(duration)
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
    /// Spawns `task` with [`tokio::spawn`]: on the runtime of the calling task.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, as [`tokio::spawn`] does.
    fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(tokio::spawn(task));
    }
}

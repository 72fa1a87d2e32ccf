//! [`readthrough`](https://docs.rs/readthrough) on smol: the cache's clock is the monotonic
//! system clock and its sleeps are [`async_io::Timer`]s, the timers smol (and async-std, which
//! runs on async-io) already drive. Background stale-while-revalidate spawns on smol's global
//! executor or on an [`Executor`](smol::Executor) you pass.
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
//!     let load = |id: &u64| { let id = *id; async move { Ok(format!("row {id}")) } };
//!     assert_eq!(cache.get_or_load(&7, load).await.unwrap().status, Status::Miss);
//!     assert_eq!(cache.get_or_load(&7, load).await.unwrap().status, Status::Hit);
//!
//!     smol::Timer::after(Duration::from_millis(6)).await;
//!     assert_eq!(cache.get_or_load(&7, load).await.unwrap().status, Status::Expired);
//! });
//! ```
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

use core::convert::Infallible;
use core::future::Future;
use core::hash::{BuildHasher, Hash};
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;
use std::sync::Arc;
use std::time::Instant;

use readthrough_core::{Answer, Error, Listener, RawLock, Status, Timer, Weigh};

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
#[derive(Clone, Copy, Debug)]
pub struct SmolTimer {
    epoch: Instant,
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

/// Stale-while-revalidate with the refresh in a spawned smol task.
///
/// [`get_or_revalidate_in_background`](RevalidateInBackground::get_or_revalidate_in_background)
/// spawns with [`smol::spawn`], i.e. on smol's global executor, which runs on background threads
/// of its own (`SMOL_THREADS`, default 1) started on first use, whatever executor the caller is
/// on (async-std users included). A service that runs its own [`smol::Executor`] and wants the
/// refresh there uses
/// [`get_or_revalidate_on`](RevalidateInBackground::get_or_revalidate_on).
pub trait RevalidateInBackground<K, V, E> {
    /// Answers at once from the cache when it can, refreshing in the background when the value
    /// is stale:
    ///
    /// - a fresh value: returned ([`Status::Hit`]);
    /// - an expired value within the cache's `stale_window`: returned at once
    ///   ([`Status::Stale`]), and a task on smol's global executor runs the core's
    ///   [`revalidate`](readthrough_core::Cache::revalidate), which does nothing when a load for
    ///   the key is in flight or a fresh value has landed meanwhile, so a burst of stale reads
    ///   starts one load;
    /// - nothing usable: loads like [`get_or_load`](readthrough_core::Cache::get_or_load).
    ///
    /// The background load's outcome is only stored; an error from it is dropped (with
    /// `negative_ttl` set, the core caches it).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use readthrough_core::Status;
    /// use readthrough_smol::RevalidateInBackground;
    ///
    /// smol::block_on(async {
    ///     let cache: Arc<readthrough_smol::Cache<u32, u32>> = Arc::new(
    ///         readthrough_smol::builder()
    ///             .capacity(100)
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
    ///     assert_eq!(answer.value, 100);
    ///     assert!(matches!(answer.status, Status::Stale(_)));
    ///
    ///     // get_stale: the refreshed value may already be past its 1 ms TTL again
    ///     let mut refreshed = false;
    ///     for _ in 0..5_000 {
    ///         if cache.get_stale(&1).map(|answer| answer.value) == Some(200) {
    ///             refreshed = true;
    ///             break;
    ///         }
    ///         smol::Timer::after(Duration::from_millis(1)).await;
    ///     }
    ///     assert!(refreshed, "the background refresh stored its value within 5 s");
    /// });
    /// ```
    fn get_or_revalidate_in_background<F, Fut>(
        &self,
        key: &K,
        loader: F,
    ) -> impl Future<Output = Result<Answer<V>, Error<E>>> + Send
    where
        F: Fn(&K) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<V, E>> + Send + 'static;

    /// The same, with the refresh spawned on `executor` instead of smol's global one.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use readthrough_core::Status;
    /// use readthrough_smol::RevalidateInBackground;
    ///
    /// let executor = smol::Executor::new();
    /// smol::block_on(executor.run(async {
    ///     let cache: Arc<readthrough_smol::Cache<u32, u32>> = Arc::new(
    ///         readthrough_smol::builder()
    ///             .capacity(100)
    ///             .ttl(Duration::from_millis(1))
    ///             .stale_window(Duration::from_secs(60))
    ///             .build()
    ///             .unwrap(),
    ///     );
    ///     cache.insert(1, 100);
    ///     smol::Timer::after(Duration::from_millis(2)).await;
    ///
    ///     let load = |_: &u32| async { Ok(200) };
    ///     let answer = cache.get_or_revalidate_on(&executor, &1, load).await.unwrap();
    ///     assert!(matches!(answer.status, Status::Stale(_)));
    ///     // get_stale: the refreshed value may already be past its 1 ms TTL again
    ///     let mut refreshed = false;
    ///     for _ in 0..5_000 {
    ///         if cache.get_stale(&1).map(|answer| answer.value) == Some(200) {
    ///             refreshed = true;
    ///             break;
    ///         }
    ///         smol::Timer::after(Duration::from_millis(1)).await;
    ///     }
    ///     assert!(refreshed, "the refresh on `executor` stored its value within 5 s");
    /// }));
    /// ```
    fn get_or_revalidate_on<F, Fut>(
        &self,
        executor: &smol::Executor<'static>,
        key: &K,
        loader: F,
    ) -> impl Future<Output = Result<Answer<V>, Error<E>>> + Send
    where
        F: Fn(&K) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<V, E>> + Send + 'static;
}

impl<K, V, E, S, L, W, N> RevalidateInBackground<K, V, E>
    for Arc<readthrough_core::Cache<K, V, E, SmolTimer, S, L, W, N>>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    E: Send + Sync + 'static,
    S: BuildHasher + Send + Sync + 'static,
    L: RawLock + Send + Sync + 'static,
    W: Weigh<K, V> + Send + Sync + 'static,
    N: Listener<K, V> + Send + Sync + 'static,
{
    async fn get_or_revalidate_in_background<F, Fut>(
        &self,
        key: &K,
        loader: F,
    ) -> Result<Answer<V>, Error<E>>
    where
        F: Fn(&K) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<V, E>> + Send + 'static,
    {
        revalidate_with(self, key, loader, |refresh| smol::spawn(refresh).detach()).await
    }

    async fn get_or_revalidate_on<F, Fut>(
        &self,
        executor: &smol::Executor<'static>,
        key: &K,
        loader: F,
    ) -> Result<Answer<V>, Error<E>>
    where
        F: Fn(&K) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<V, E>> + Send + 'static,
    {
        revalidate_with(self, key, loader, |refresh| {
            executor.spawn(refresh).detach()
        })
        .await
    }
}

/// The core cache on smol's timer, with every other parameter open.
type SmolCache<K, V, E, S, L, W, N> = readthrough_core::Cache<K, V, E, SmolTimer, S, L, W, N>;

async fn revalidate_with<K, V, E, S, L, W, N, F, Fut>(
    cache: &Arc<SmolCache<K, V, E, S, L, W, N>>,
    key: &K,
    loader: F,
    spawn: impl FnOnce(Pin<Box<dyn Future<Output = ()> + Send + 'static>>),
) -> Result<Answer<V>, Error<E>>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    E: Send + Sync + 'static,
    S: BuildHasher + Send + Sync + 'static,
    L: RawLock + Send + Sync + 'static,
    W: Weigh<K, V> + Send + Sync + 'static,
    N: Listener<K, V> + Send + Sync + 'static,
    F: Fn(&K) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<V, E>> + Send + 'static,
{
    match cache.get_stale(key) {
        Some(answer) => {
            if let Status::Stale(_) = answer.status {
                let cache = Arc::clone(cache);
                let key = key.clone();
                spawn(Box::pin(async move {
                    let _outcome = cache.revalidate(&key, loader).await;
                }));
            }
            Ok(answer)
        }
        None => cache.get_or_load(key, loader).await,
    }
}

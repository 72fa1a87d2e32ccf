//! Where background work runs: supplied from outside, like time.

use core::fmt;
use core::future::Future;
use core::time::Duration;

use crate::timer::Timer;

/// Runs a future to completion in the background, detached from whoever started it.
///
/// The cache's background policy (stale-while-revalidate and
/// [refresh ahead](crate::Builder::refresh_ahead) through
/// [`Cache::get_or_revalidate_in_background`](crate::Cache::get_or_revalidate_in_background))
/// is core code; a runtime adapter only says how to start a task, on the same type that is
/// the cache's [`Timer`]: `readthrough_tokio::TokioTimer` spawns with `tokio::spawn`,
/// `readthrough_smol::SmolTimer` on smol's global executor or one you name. embassy has no
/// way to spawn a future that is not a static task, so its timer does not implement `Spawn`
/// and its caches refresh in the caller
/// ([`get_or_revalidate`](crate::Cache::get_or_revalidate)).
///
/// A task is `Send + 'static`: the servers' executors move tasks between threads, and a task
/// outlives the call that spawned it. Combine a timer and a spawner of your own with
/// [`WithSpawn`].
///
/// # Example
///
/// A spawner that runs each task on a thread of its own (an illustration, not advice):
///
/// ```
/// use core::future::Future;
/// use readthrough_core::Spawn;
///
/// struct ThreadPerTask;
///
/// impl Spawn for ThreadPerTask {
///     fn spawn<F>(&self, task: F)
///     where
///         F: Future<Output = ()> + Send + 'static,
///     {
///         std::thread::spawn(move || futures_lite::future::block_on(task));
///     }
/// }
///
/// let (sender, receiver) = std::sync::mpsc::channel();
/// ThreadPerTask.spawn(async move { sender.send(7).unwrap() });
/// assert_eq!(receiver.recv().unwrap(), 7);
/// ```
pub trait Spawn {
    /// Starts `task`; it runs to completion even though nobody awaits it.
    ///
    /// An implementation that cannot run the task (its executor is shut down) drops it: the
    /// cache cleans up after a background load that never ran, as after one that was
    /// cancelled.
    fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static;
}

/// A [`Timer`] and a [`Spawn`] in one value, for the cache's `T` parameter: time from
/// `timer`, background tasks on `spawner`.
///
/// ```
/// use core::future::Future;
/// use readthrough_core::{Cache, ManualTimer, Spawn, WithSpawn};
///
/// struct OnThreads;
/// impl Spawn for OnThreads {
///     fn spawn<F: Future<Output = ()> + Send + 'static>(&self, task: F) {
///         std::thread::spawn(move || futures_lite::future::block_on(task));
///     }
/// }
///
/// let cache = Cache::<u32, u32>::builder()
///     .capacity(8)
///     .timer(WithSpawn::new(ManualTimer::new(), OnThreads))
///     .build()
///     .unwrap();
/// # cache.insert(1, 1);
/// ```
#[derive(Clone, Copy, Default)]
pub struct WithSpawn<T, P> {
    /// The source of time.
    pub timer: T,
    /// Where background tasks run.
    pub spawner: P,
}

impl<T, P> WithSpawn<T, P> {
    /// `timer` for time, `spawner` for background tasks.
    ///
    /// ```
    /// # use readthrough_core::{ManualTimer, WithSpawn};
    /// let both = WithSpawn::new(ManualTimer::new(), ());
    /// # let _ = both.timer;
    /// ```
    pub fn new(timer: T, spawner: P) -> Self {
        WithSpawn { timer, spawner }
    }
}

impl<T: fmt::Debug, P> fmt::Debug for WithSpawn<T, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithSpawn")
            .field("timer", &self.timer)
            .finish_non_exhaustive()
    }
}

impl<T: Timer, P> Timer for WithSpawn<T, P> {
    type Sleep = T::Sleep;

    #[inline]
    fn now(&self) -> Duration {
        self.timer.now()
    }

    fn sleep(&self, duration: Duration) -> T::Sleep {
        self.timer.sleep(duration)
    }
}

impl<T, P: Spawn> Spawn for WithSpawn<T, P> {
    fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.spawner.spawn(task);
    }
}

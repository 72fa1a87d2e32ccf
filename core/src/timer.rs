//! Time, supplied from outside: the core never reads a clock or sleeps on its own.

use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

/// A source of monotonic time and sleeps, implemented by the runtime adapters
/// (`readthrough-tokio`, `readthrough-smol`, `readthrough-embassy`) on their runtime's own timer.
///
/// A cache built with a `Timer` gains the time-based options (TTLs, `lock_age`, `lock_timeout`,
/// `load_timeout`, stale serving). A cache built without one ([`NoTimer`]) still coalesces; those
/// options simply do not exist on its builder.
///
/// # Example
///
/// A timer whose time only moves when told to (handy in tests):
///
/// ```
/// use core::future::{ready, Ready};
/// use core::sync::atomic::{AtomicU64, Ordering};
/// use core::time::Duration;
/// use readthrough_core::Timer;
///
/// #[derive(Default)]
/// struct Manual(AtomicU64);
///
/// impl Timer for Manual {
///     type Sleep = Ready<()>;
///     fn now(&self) -> Duration {
///         Duration::from_nanos(self.0.load(Ordering::Relaxed))
///     }
///     fn sleep(&self, duration: Duration) -> Ready<()> {
///         self.0.fetch_add(duration.as_nanos() as u64, Ordering::Relaxed);
///         ready(())
///     }
/// }
///
/// let timer = Manual::default();
/// let _ = timer.sleep(Duration::from_secs(2));
/// assert_eq!(timer.now(), Duration::from_secs(2));
/// ```
pub trait Timer {
    /// The future [`sleep`](Timer::sleep) returns.
    type Sleep: Future<Output = ()>;

    /// Monotonic time elapsed since this timer's own epoch (any fixed point in the past).
    fn now(&self) -> Duration;

    /// A future that completes once `duration` has passed.
    fn sleep(&self, duration: Duration) -> Self::Sleep;
}

/// The "no timer" choice: the cache coalesces loads but has no notion of time.
///
/// Time-based builder options (`ttl`, `lock_age`, ...) are only defined when a [`Timer`] is
/// supplied, so asking for them on a `NoTimer` cache is a compile error:
///
/// ```compile_fail
/// use core::time::Duration;
/// use readthrough_core::Cache;
///
/// let cache = Cache::<u32, u32>::builder().capacity(8).ttl(Duration::from_secs(1)).build();
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct NoTimer;

/// The time interface the cache uses internally, implemented for [`NoTimer`] and every
/// [`Timer`]. You never implement it yourself.
///
/// With `NoTimer` an entry's deadline is a zero-sized `()`, so a cache without time spends no
/// memory on it.
pub trait Clock: sealed::Sealed {
    #[doc(hidden)]
    type Stamp: Copy + Send + Sync + 'static;
    #[doc(hidden)]
    type Sleep: Future<Output = ()>;
    #[doc(hidden)]
    const NEVER: Self::Stamp;
    #[doc(hidden)]
    fn stamp(&self) -> Self::Stamp;
    #[doc(hidden)]
    fn deadline(&self, ttl: Duration) -> Self::Stamp;
    /// How long ago `deadline` passed; `None` while it lies ahead (or is `NEVER`).
    #[doc(hidden)]
    fn overdue(&self, deadline: Self::Stamp) -> Option<Duration>;
    /// `Ok(nanoseconds left)` while `deadline` lies ahead (`u64::MAX` for `NEVER`), `Err(how
    /// long ago it passed)` after: one clock read for both questions, and no `Duration` built
    /// for a fresh value (a hit).
    #[doc(hidden)]
    fn until(&self, deadline: Self::Stamp) -> Result<u64, Duration>;
    #[doc(hidden)]
    fn age(&self, since: Self::Stamp) -> Duration;
    #[doc(hidden)]
    fn sleep_for(&self, duration: Duration) -> Self::Sleep;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::NoTimer {}
    impl<T: super::Timer> Sealed for T {}
}

impl Clock for NoTimer {
    type Stamp = ();
    type Sleep = core::future::Pending<()>;
    const NEVER: () = ();
    #[inline]
    fn stamp(&self) {}
    #[inline]
    fn deadline(&self, _ttl: Duration) {}
    #[inline]
    fn overdue(&self, _deadline: ()) -> Option<Duration> {
        None
    }
    #[inline]
    fn until(&self, _deadline: ()) -> Result<u64, Duration> {
        Ok(u64::MAX)
    }
    #[inline]
    fn age(&self, _since: ()) -> Duration {
        Duration::ZERO
    }
    fn sleep_for(&self, _duration: Duration) -> Self::Sleep {
        core::future::pending()
    }
}

/// Nanoseconds since the timer's epoch; `u64::MAX` is "never".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[doc(hidden)]
pub struct Nanos(u64);

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl<T: Timer> Clock for T {
    type Stamp = Nanos;
    type Sleep = T::Sleep;
    const NEVER: Nanos = Nanos(u64::MAX);
    #[inline]
    fn stamp(&self) -> Nanos {
        Nanos(nanos(self.now()).min(u64::MAX - 1))
    }
    #[inline]
    fn deadline(&self, ttl: Duration) -> Nanos {
        Nanos(self.stamp().0.saturating_add(nanos(ttl)).min(u64::MAX - 1))
    }
    #[inline]
    fn overdue(&self, deadline: Nanos) -> Option<Duration> {
        if deadline == Self::NEVER {
            return None;
        }
        let now = self.stamp().0;
        (now >= deadline.0).then(|| Duration::from_nanos(now - deadline.0))
    }
    #[inline]
    fn until(&self, deadline: Nanos) -> Result<u64, Duration> {
        if deadline == Self::NEVER {
            return Ok(u64::MAX);
        }
        let now = self.stamp().0;
        if now < deadline.0 {
            Ok(deadline.0 - now)
        } else {
            Err(Duration::from_nanos(now - deadline.0))
        }
    }
    #[inline]
    fn age(&self, since: Nanos) -> Duration {
        Duration::from_nanos(self.stamp().0.saturating_sub(since.0))
    }
    fn sleep_for(&self, duration: Duration) -> T::Sleep {
        self.sleep(duration)
    }
}

/// The error [`with_timeout`] returns when the time ran out first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeoutError;

impl fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("timed out")
    }
}

impl core::error::Error for TimeoutError {}

/// Runs `future` for at most `duration` of `timer`'s time.
///
/// ```
/// use core::future::pending;
/// use core::time::Duration;
/// use readthrough_core::{with_timeout, TimeoutError, Timer};
/// # struct Instant;
/// # impl Timer for Instant {
/// #     type Sleep = core::future::Ready<()>;
/// #     fn now(&self) -> Duration { Duration::ZERO }
/// #     fn sleep(&self, _: Duration) -> Self::Sleep { core::future::ready(()) }
/// # }
/// # futures_lite::future::block_on(async {
/// let never = pending::<u32>();
/// assert_eq!(with_timeout(&Instant, Duration::from_secs(1), never).await, Err(TimeoutError));
/// assert_eq!(with_timeout(&Instant, Duration::from_secs(1), async { 7 }).await, Ok(7));
/// # });
/// ```
pub fn with_timeout<T: Timer, F: Future>(
    timer: &T,
    duration: Duration,
    future: F,
) -> Timeout<F, T::Sleep> {
    Timeout {
        future,
        sleep: timer.sleep(duration),
    }
}

pub(crate) fn clock_timeout<C: Clock, F: Future>(
    clock: &C,
    duration: Duration,
    future: F,
) -> Timeout<F, C::Sleep> {
    Timeout {
        future,
        sleep: clock.sleep_for(duration),
    }
}

pin_project_lite::pin_project! {
    /// The future [`with_timeout`] returns: the inner future's output, or [`TimeoutError`] when
    /// the sleep finishes first. The inner future is polled first, so an output that is ready
    /// when time runs out still wins.
    #[must_use = "futures do nothing unless polled"]
    pub struct Timeout<F, S> {
        #[pin]
        future: F,
        #[pin]
        sleep: S,
    }
}

impl<F, S> core::fmt::Debug for Timeout<F, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Timeout").finish_non_exhaustive()
    }
}

impl<F: Future, S: Future<Output = ()>> Future for Timeout<F, S> {
    type Output = Result<F::Output, TimeoutError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(output) = this.future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        this.sleep.poll(cx).map(|()| Err(TimeoutError))
    }
}

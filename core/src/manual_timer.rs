//! A timer whose time moves only when told to: deterministic tests of TTLs and timeouts.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use event_listener::{Event, EventListener};

use crate::sync::Arc;
use crate::timer::Timer;

/// A [`Timer`] whose clock only moves when [`advance`](ManualTimer::advance) is called; sleeps
/// finish when the clock passes their deadline. Clones share one clock.
///
/// Made for tests: TTLs, `lock_age`, `lock_timeout` and `load_timeout` become deterministic and
/// take no real time.
///
/// ```
/// use core::time::Duration;
/// use readthrough_core::{Cache, ManualTimer};
///
/// let timer = ManualTimer::new();
/// let cache = Cache::<u32, u32>::builder()
///     .capacity(8)
///     .timer(timer.clone())
///     .ttl(Duration::from_secs(10))
///     .build()
///     .unwrap();
/// cache.insert(1, 100);
/// timer.advance(Duration::from_secs(9));
/// assert_eq!(cache.get(&1), Some(100));
/// timer.advance(Duration::from_secs(1));
/// assert_eq!(cache.get(&1), None);
/// ```
#[derive(Clone, Default)]
pub struct ManualTimer {
    shared: Arc<Shared>,
}

impl core::fmt::Debug for ManualTimer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ManualTimer")
            .field("now", &*self.shared.now.lock())
            .finish()
    }
}

#[derive(Default)]
struct Shared {
    now: spin::Mutex<Duration>,
    moved: Event,
}

impl ManualTimer {
    /// A timer at time zero.
    ///
    /// ```
    /// # use readthrough_core::{ManualTimer, Timer};
    /// assert_eq!(ManualTimer::new().now(), core::time::Duration::ZERO);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `by` and wakes the sleeps that are due.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use readthrough_core::{ManualTimer, Timer};
    /// let timer = ManualTimer::new();
    /// timer.advance(Duration::from_millis(5));
    /// assert_eq!(timer.now(), Duration::from_millis(5));
    /// ```
    pub fn advance(&self, by: Duration) {
        {
            let mut now = self.shared.now.lock();
            *now = now.saturating_add(by);
        }
        self.shared.moved.notify(usize::MAX);
    }
}

impl Timer for ManualTimer {
    type Sleep = ManualSleep;

    fn now(&self) -> Duration {
        *self.shared.now.lock()
    }

    fn sleep(&self, duration: Duration) -> ManualSleep {
        ManualSleep {
            timer: self.clone(),
            deadline: self.now().saturating_add(duration),
            listener: None,
        }
    }
}

/// The future [`ManualTimer::sleep`] returns.
#[must_use = "futures do nothing unless polled"]
pub struct ManualSleep {
    timer: ManualTimer,
    deadline: Duration,
    listener: Option<EventListener>,
}

impl core::fmt::Debug for ManualSleep {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ManualSleep")
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl Future for ManualSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if self.timer.now() >= self.deadline {
                return Poll::Ready(());
            }
            match self.listener.as_mut() {
                // Listen first, then look at the clock again: an advance in between is not lost.
                None => self.listener = Some(self.timer.shared.moved.listen()),
                Some(listener) => {
                    if Pin::new(listener).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    self.listener = None;
                }
            }
        }
    }
}

//! A load in flight: the state one leader publishes and its waiters read.

use event_listener::Event;

use crate::error::Error;
use crate::sync::{AtomicU8, Ordering, UnsafeCell};

const LOADING: u8 = 0;
const LOADED: u8 = 1;
const ABANDONED: u8 = 2;

/// What a leader publishes: its load's outcome, or, when the load failed and fail-safe had an
/// expired value at hand, that value and when it expired.
pub(crate) enum Outcome<V, E, X> {
    Loaded(Result<V, Error<E>>),
    FailSafe { value: V, expired: X },
}

impl<V: Clone, E, X: Copy> Clone for Outcome<V, E, X> {
    fn clone(&self) -> Self {
        match self {
            Outcome::Loaded(result) => Outcome::Loaded(result.clone()),
            Outcome::FailSafe { value, expired } => Outcome::FailSafe {
                value: value.clone(),
                expired: *expired,
            },
        }
    }
}

/// How a load ended, as its waiters see it.
pub(crate) enum Landing<V, E, X> {
    /// The leader's outcome, shared.
    Loaded(Result<V, Error<E>>),
    /// The load failed; fail-safe serves this expired value (expired at `expired`) instead.
    FailSafe { value: V, expired: X },
    /// The leader was cancelled or panicked before it had an outcome: someone must load again.
    Abandoned,
}

/// One load in flight. Shared (behind `Arc`) by the in-flight table, the leader's guard and
/// every waiter.
pub(crate) struct Flight<V, E, X> {
    pub(crate) event: Event,
    state: AtomicU8,
    outcome: UnsafeCell<Option<Outcome<V, E, X>>>,
}

// SAFETY: `outcome` is written once, by the unique leader guard, before `state` leaves LOADING
// with release ordering; it is only read after an acquire load sees LOADED, and never written
// again. So shared access only ever reads an initialised value, and `V`/`E` cross threads as
// values (Send) and by shared reference (Sync).
unsafe impl<V: Send + Sync, E: Send + Sync, X: Send + Sync> Sync for Flight<V, E, X> {}

impl<V, E, X> Flight<V, E, X> {
    pub(crate) fn new() -> Self {
        Flight {
            event: Event::new(),
            state: AtomicU8::new(LOADING),
            outcome: UnsafeCell::new(None),
        }
    }

    /// The landing, once there is one.
    pub(crate) fn landing(&self) -> Option<Landing<V, E, X>>
    where
        V: Clone,
        X: Copy,
    {
        match self.state.load(Ordering::Acquire) {
            LOADING => None,
            LOADED => {
                // SAFETY: LOADED was stored (release) after the single write of `outcome`.
                let outcome = self.outcome.with(|outcome| unsafe { (*outcome).clone() });
                outcome.map(|outcome| match outcome {
                    Outcome::Loaded(result) => Landing::Loaded(result),
                    Outcome::FailSafe { value, expired } => Landing::FailSafe { value, expired },
                })
            }
            _ => Some(Landing::Abandoned),
        }
    }

    pub(crate) fn is_loading(&self) -> bool {
        self.state.load(Ordering::Acquire) == LOADING
    }

    /// Publishes the outcome.
    ///
    /// # Safety
    ///
    /// Called at most once per flight, and not together with [`abandon`](Self::abandon): only
    /// the flight's leader guard calls either, and it is consumed or dropped doing so.
    pub(crate) unsafe fn publish(&self, outcome: Outcome<V, E, X>) {
        // SAFETY: the caller is the only writer and no reader looks before LOADED is stored.
        self.outcome
            .with_mut(|cell| unsafe { *cell = Some(outcome) });
        self.state.store(LOADED, Ordering::Release);
    }

    pub(crate) fn abandon(&self) {
        self.state.store(ABANDONED, Ordering::Release);
    }

    /// Wakes every waiter; called after the state left LOADING.
    pub(crate) fn wake_all(&self) {
        self.event.notify(usize::MAX);
    }
}

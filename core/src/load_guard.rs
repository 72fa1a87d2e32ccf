//! The leader's guard: it lands a load, or abandons it when dropped unlanded.

use core::hash::{BuildHasher, Hash};
use core::time::Duration;

use crate::cache::{Cache, Stored};
use crate::error::Error;
use crate::flight::{Flight, Outcome};
use crate::listener::Listener;
use crate::lock::RawLock;
use crate::shard::{FlightRow, Shard};
use crate::status::{Answer, Status};
use crate::sync::Arc;
use crate::timer::Clock;
use crate::weigher::Weigh;

/// The leader's duty to land its load. Dropping it unlanded abandons the flight: whatever
/// panics before the outcome is published (the loader, a `Clone`, `Eq` or `Drop` of the
/// user's types, the weigher) leaves it armed, so the waiters are woken and one of them loads.
pub(crate) struct LoadGuard<'c, K, V, E, T: Clock, S, L: RawLock, W, N> {
    cache: &'c Cache<K, V, E, T, S, L, W, N>,
    shard: &'c Shard<K, V, E, T::Stamp, L>,
    hash: u64,
    flight: Arc<Flight<V, E, T::Stamp>>,
    /// Set until the outcome is published: then `Drop` has nothing left to do.
    armed: bool,
    /// Whether a fail-safe fallback this guard lands is a counted answer to its leader
    /// ([`Stats::fail_safe`](crate::Stats::fail_safe)): not for a background task, which
    /// answers nobody, nor where the caller counts its answers itself.
    counts_fail_safe: bool,
}

impl<'c, K, V, E, T: Clock, S, L: RawLock, W, N> LoadGuard<'c, K, V, E, T, S, L, W, N> {
    /// Arms the guard of a flight just entered in `shard`'s table under `hash`.
    pub(crate) fn new(
        cache: &'c Cache<K, V, E, T, S, L, W, N>,
        shard: &'c Shard<K, V, E, T::Stamp, L>,
        hash: u64,
        flight: Arc<Flight<V, E, T::Stamp>>,
    ) -> Self {
        LoadGuard {
            cache,
            shard,
            hash,
            flight,
            armed: true,
            counts_fail_safe: true,
        }
    }

    /// The shard of the key it lands.
    pub(crate) fn shard(&self) -> &'c Shard<K, V, E, T::Stamp, L> {
        self.shard
    }

    /// This guard's fail-safe fallback is not counted as an answer: its leader answers nobody
    /// with it, or counts its answers itself.
    pub(crate) fn uncounted(mut self) -> Self {
        self.counts_fail_safe = false;
        self
    }
}

impl<K, V, E, T, S, L, W, N> LoadGuard<'_, K, V, E, T, S, L, W, N>
where
    K: Hash + Eq,
    V: Clone,
    T: Clock,
    S: BuildHasher,
    L: RawLock,
    W: Weigh<K, V>,
    N: Listener<K, V>,
{
    /// Lands the load of `key`: stores a value (unless the flight was detached, or its TTL is
    /// zero), remembers an error when negative caching is on, publishes the outcome and wakes
    /// every waiter. Returns the outcome for the leader.
    ///
    /// The user's code runs before the shard lock (`Clone`, the weigher), under it only before
    /// the outcome is published (the key's `Eq`), and after it (the listener, `Drop` of what
    /// left the cache) only once the waiters are woken.
    pub(crate) fn complete(
        mut self,
        key: &K,
        outcome: Result<(V, Option<Duration>), Error<E>>,
    ) -> Result<Served<V>, Error<E>> {
        let cache = self.cache;
        let shard = self.shard;
        let hash = self.hash;
        let fallback = match (&outcome, cache.options.fail_safe) {
            (Err(_), Some(fail_safe)) => {
                cache.fail_safe_value(shard, hash, key, fail_safe.max_stale)
            }
            _ => None,
        };
        // A loaded value's copy for the waiters is made after the lock, and only if the flight
        // was seen (see `unseen` below): a miss nobody waits for clones its value once, for the
        // store.
        let (for_waiters, to_store) = match (&outcome, &fallback) {
            (Ok((value, ttl)), _) => {
                let stored = value.clone();
                let weight = cache.weigher.weight(key, &stored);
                (None, Some((stored, weight, ttl.or(cache.options.ttl))))
            }
            (Err(_), Some((value, expired))) => (
                Some(Outcome::FailSafe {
                    value: value.clone(),
                    expired: *expired,
                }),
                None,
            ),
            (Err(error), None) => (Some(Outcome::Loaded(Err(error.clone()))), None),
        };
        // A fallback answers for its throttle; an error is remembered for `negative_ttl`.
        let remember_for = match (&fallback, cache.options.fail_safe) {
            (Some(_), Some(fail_safe)) => Some(fail_safe.throttle),
            _ => cache.options.negative_ttl.filter(|ttl| !ttl.is_zero()),
        };
        let flight = &self.flight;
        let armed = &mut self.armed;
        // Filled in place under the lock (see `Stored::new`) when the value is stored.
        let mut stored = Stored::new();
        let mut did_store = false;
        // Everything the critical section takes or leaves is reached by reference: a closure
        // holding values was copied on its way into the lock.
        let mut to_store = to_store;
        let mut for_waiters = for_waiters;
        let mut left_row = None;
        let wake = shard.write(|state| {
            let is_this = |row: &FlightRow<K, V, E, T::Stamp>| Arc::ptr_eq(&row.flight, flight);
            // Whether the flight's row left the table unseen: no waiter was handed the flight
            // (`waited`, set under this lock) and nothing but the row and this guard holds it
            // (a background lead's `DetachedLead` holds one more). Then nobody can read its
            // outcome: it is not published, and the flight, still loading with no listener,
            // is kept for the shard's next load instead of being freed (a miss then
            // allocates nothing).
            let mut unseen = false;
            let waited = match state.flights.find_mut(hash, is_this) {
                // Detached by `invalidate`: whether anyone waits is unknown.
                None => None,
                Some(row) => Some(row.waited),
            };
            let wake = match waited {
                None => true,
                Some(waited) => {
                    let leaves_unseen = |row_flight: &Arc<Flight<V, E, T::Stamp>>| {
                        !waited && Arc::strong_count(row_flight) == 2
                    };
                    match (to_store.take(), remember_for) {
                        (Some((value, weight, ttl)), _) => {
                            if let Some(FlightRow { key, flight, .. }) =
                                state.flights.remove(hash, is_this)
                            {
                                unseen = leaves_unseen(&flight);
                                left_row = Some(flight);
                                cache.store_in(
                                    &mut state.store,
                                    &mut stored,
                                    hash,
                                    key,
                                    value,
                                    weight,
                                    ttl,
                                );
                                did_store = true;
                            }
                        }
                        (None, Some(ttl)) => {
                            let until = cache.timer.deadline(ttl);
                            let overdue = |until| cache.timer.overdue(until).is_some();
                            state.remembered.remember(
                                &mut state.flights,
                                hash,
                                flight,
                                until,
                                overdue,
                            );
                        }
                        (None, None) => {
                            if let Some(row) = state.flights.remove(hash, is_this) {
                                unseen = leaves_unseen(&row.flight);
                                left_row = Some(row.flight);
                            }
                        }
                    }
                    waited
                }
            };
            if unseen {
                // One spare is enough; another one is freed outside the lock.
                if state.spare_flight.is_none() {
                    state.spare_flight = left_row.take();
                }
                *armed = false;
                return false;
            }
            // A failure is published under the lock: a remembered error's row stays in the
            // table, where the next caller reads its landing. A loaded value (its row gone) is
            // published after the lock, the guard armed until then.
            if let Some(for_waiters) = for_waiters.take() {
                // SAFETY: this guard is the flight's only leader and lands it once: it is
                // disarmed right after, before anything else can run, so neither this nor
                // `Drop` runs again.
                unsafe { flight.publish(for_waiters) };
                *armed = false;
            }
            wake
        });
        if self.armed
            && let Ok((value, _)) = &outcome
        {
            // If this `Clone` panics the guard is still armed: its `Drop` abandons the flight
            // and wakes the waiters, which then find the value stored.
            let for_waiters = Outcome::Loaded(Ok(value.clone()));
            // SAFETY: as above: the only leader, landing once, disarmed right after.
            unsafe { self.flight.publish(for_waiters) };
            self.armed = false;
        }
        let flight = &self.flight;
        if wake {
            flight.wake_all();
        }
        drop(left_row);
        if did_store {
            cache.finish_store(shard, stored);
        }
        match (outcome, fallback) {
            (Ok((value, _)), _) => Ok(Served::Loaded(value)),
            (Err(_), Some((value, expired))) => {
                let age = cache.timer.age(expired);
                if self.counts_fail_safe {
                    crate::stats::bump(&shard.counters.fail_safe);
                }
                crate::events::event!(
                    warn,
                    "fail-safe: the load failed, answering with the expired value",
                    expired_ms_ago = crate::events::millis(age),
                );
                Ok(Served::FailSafe { value, age })
            }
            (Err(error), None) => Err(error),
        }
    }
}

/// What a landed load gives its leader.
pub(crate) enum Served<V> {
    /// The loaded value.
    Loaded(V),
    /// The load failed; fail-safe answers with this expired value, this long past its expiry.
    FailSafe { value: V, age: Duration },
}

impl<V> Served<V> {
    /// The answer: with `status` for a loaded value, [`Status::Stale`] for a fallback.
    pub(crate) fn answer(self, status: Status) -> Answer<V> {
        match self {
            Served::Loaded(value) => Answer::new(value, status),
            Served::FailSafe { value, age } => Answer::new(value, Status::Stale(age)),
        }
    }
}

impl<K, V, E, T: Clock, S, L: RawLock, W, N> Drop for LoadGuard<'_, K, V, E, T, S, L, W, N> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        self.armed = false;
        abandon(self.shard, self.hash, &self.flight);
    }
}

/// Abandons a flight whose leader is gone before it landed: removes its row and wakes its
/// waiters, one of which then loads.
fn abandon<K, V, E, X, L: RawLock>(
    shard: &Shard<K, V, E, X, L>,
    hash: u64,
    flight: &Arc<Flight<V, E, X>>,
) {
    let (wake, left_row) = shard.write(|state| {
        let (wake, left_row) = match state
            .flights
            .remove(hash, |row| Arc::ptr_eq(&row.flight, flight))
        {
            Some(row) => (row.waited, Some(row)),
            // Detached by `invalidate` (or removed by a landing that then panicked):
            // whether anyone waits is unknown.
            None => (true, None),
        };
        flight.abandon();
        (wake, left_row)
    });
    if wake {
        flight.wake_all();
    }
    drop(left_row);
}

/// What a background task owns a share of: the cache itself, or something with the cache in
/// front (a `Tiered` node), so that one [`DetachedLead`] serves both.
#[cfg(all(target_has_atomic = "ptr", not(loom)))]
pub(crate) trait Front<K, V, E, T: Clock, S, L: RawLock, W, N> {
    /// The cache the lead lands in.
    fn front(&self) -> &Cache<K, V, E, T, S, L, W, N>;
}

#[cfg(all(target_has_atomic = "ptr", not(loom)))]
impl<K, V, E, T: Clock, S, L: RawLock, W, N> Front<K, V, E, T, S, L, W, N>
    for Cache<K, V, E, T, S, L, W, N>
{
    fn front(&self) -> &Cache<K, V, E, T, S, L, W, N> {
        self
    }
}

/// Names the cache type inside a [`DetachedLead`]'s owner, owning nothing.
#[cfg(all(target_has_atomic = "ptr", not(loom)))]
type FrontType<K, V, E, T, S, L, W, N> =
    core::marker::PhantomData<fn() -> Cache<K, V, E, T, S, L, W, N>>;

/// A background task's owner of a lead and the guard it attached.
#[cfg(all(target_has_atomic = "ptr", not(loom)))]
pub(crate) type Attached<'a, O, K, V, E, T, S, L, W, N> =
    (&'a O, LoadGuard<'a, K, V, E, T, S, L, W, N>);

/// A leader's duty handed to a background task that may not have started yet. It owns a
/// share of the cache, so a task that is dropped unpolled (its executor shut down) still
/// abandons the flight and wakes its waiters, as a cancelled leader does.
#[cfg(all(target_has_atomic = "ptr", not(loom)))]
pub(crate) struct DetachedLead<O, K, V, E, T, S, L, W, N>
where
    O: Front<K, V, E, T, S, L, W, N>,
    K: Hash + Eq,
    T: Clock,
    S: BuildHasher,
    L: RawLock,
    W: Weigh<K, V>,
    N: Listener<K, V>,
{
    owner: alloc::sync::Arc<O>,
    /// The cache type inside `owner` (its `Send`-ness is `owner`'s).
    front: FrontType<K, V, E, T, S, L, W, N>,
    hash: u64,
    flight: Arc<Flight<V, E, T::Stamp>>,
    /// Set until a task [attached](Self::attach) a guard: then the guard has the duty.
    armed: bool,
}

#[cfg(all(target_has_atomic = "ptr", not(loom)))]
impl<'c, K, V, E, T, S, L, W, N> LoadGuard<'c, K, V, E, T, S, L, W, N>
where
    K: Hash + Eq,
    T: Clock,
    S: BuildHasher,
    L: RawLock,
    W: Weigh<K, V>,
    N: Listener<K, V>,
{
    /// Hands the duty to land this load to a task that owns `owner` (whose cache this guard's
    /// flight belongs to).
    pub(crate) fn detach<O: Front<K, V, E, T, S, L, W, N>>(
        mut self,
        owner: alloc::sync::Arc<O>,
    ) -> DetachedLead<O, K, V, E, T, S, L, W, N> {
        debug_assert!(core::ptr::eq(self.cache, owner.front()));
        self.armed = false;
        DetachedLead {
            owner,
            front: core::marker::PhantomData,
            hash: self.hash,
            flight: Arc::clone(&self.flight),
            armed: true,
        }
    }

    /// The flight this guard lands, marked as waited for: its leader will wait for it too (the
    /// landing wakes only flights someone waits for).
    pub(crate) fn watch(&self) -> Arc<Flight<V, E, T::Stamp>> {
        let flight = &self.flight;
        self.shard.write(|state| {
            if let Some(row) = state
                .flights
                .find_mut(self.hash, |row| Arc::ptr_eq(&row.flight, flight))
            {
                row.waited = true;
            }
        });
        Arc::clone(flight)
    }
}

#[cfg(all(target_has_atomic = "ptr", not(loom)))]
impl<O, K, V, E, T, S, L, W, N> DetachedLead<O, K, V, E, T, S, L, W, N>
where
    O: Front<K, V, E, T, S, L, W, N>,
    K: Hash + Eq,
    T: Clock,
    S: BuildHasher,
    L: RawLock,
    W: Weigh<K, V>,
    N: Listener<K, V>,
{
    /// The owner and the guard, now that the task runs: the guard lands the load or abandons
    /// it.
    pub(crate) fn attach(&mut self) -> Attached<'_, O, K, V, E, T, S, L, W, N> {
        self.armed = false;
        let owner = &*self.owner;
        let cache = owner.front();
        // A task answers nobody: the callers waiting for it count their answers.
        let guard = LoadGuard::new(
            cache,
            cache.shard(self.hash),
            self.hash,
            Arc::clone(&self.flight),
        )
        .uncounted();
        (owner, guard)
    }
}

#[cfg(all(target_has_atomic = "ptr", not(loom)))]
impl<O, K, V, E, T, S, L, W, N> Drop for DetachedLead<O, K, V, E, T, S, L, W, N>
where
    O: Front<K, V, E, T, S, L, W, N>,
    K: Hash + Eq,
    T: Clock,
    S: BuildHasher,
    L: RawLock,
    W: Weigh<K, V>,
    N: Listener<K, V>,
{
    fn drop(&mut self) {
        if self.armed {
            self.armed = false;
            abandon(self.owner.front().shard(self.hash), self.hash, &self.flight);
        }
    }
}

//! Read-through with coalescing: who loads, who waits, and how a load lands.
//!
//! A caller that misses takes the shard's write lock and, in one critical section, looks at the
//! store again (a load may have just landed) and at the in-flight table. It leaves with a
//! [`Role`]: the [`Leader`](Role::Leader) holds a [`LoadGuard`] and runs the loader; a
//! [`Waiter`](Role::Waiter) holds the flight and waits for its landing; a
//! [`Bypass`](Role::Bypass) found a load older than `lock_age` and loads for itself.
//!
//! The guard lands the load in `Drop` too: a leader whose future is dropped or whose loader
//! panics marks its flight abandoned, removes it from the table and wakes the waiters, one of
//! which then becomes the new leader. No lock is held across an `.await`.

use core::future::Future;
use core::hash::{BuildHasher, Hash};
use core::time::Duration;

use crate::cache::{Cache, Peek};
use crate::error::Error;
use crate::flight::{Flight, Landing};
use crate::listener::Listener;
use crate::loader::Loader;
use crate::lock::RawLock;
use crate::shard::{FlightRow, Shard, row_hash};
use crate::stats::bump;
use crate::status::{Answer, Status};
use crate::sync::{Arc, Ordering};
use crate::timer::{Clock, Timer, clock_timeout};
use crate::weigher::Weigh;

/// What the caller means to do about a key that has no fresh value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Intent {
    /// Get a value: wait for a load in flight or lead one.
    Load,
    /// A stale value is at hand: lead a load if none is in flight, otherwise don't wait.
    Revalidate,
    /// Lead a load even if a fresh value is stored, unless one is in flight.
    Refresh,
}

pub(crate) enum Role<'c, K, V, E, T: Clock, S, L: RawLock, W, N> {
    Leader(LoadGuard<'c, K, V, E, T, S, L, W, N>),
    Waiter(Arc<Flight<V, E, T::Stamp>>),
    Bypass,
}

pub(crate) enum Joined<'c, K, V, E, T: Clock, S, L: RawLock, W, N> {
    /// A fresh value landed meanwhile, or a remembered error is still current.
    Ready(Result<V, Error<E>>),
    /// A load is in flight and the intent does not wait for it.
    Busy,
    Role(Role<'c, K, V, E, T, S, L, W, N>),
}

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
    ) -> Result<V, Error<E>> {
        let cache = self.cache;
        let shard = self.shard;
        let hash = self.hash;
        let (for_waiters, to_store) = match &outcome {
            Ok((value, ttl)) => {
                let stored = value.clone();
                let weight = cache.weigher.weight(key, &stored);
                (
                    Ok(value.clone()),
                    Some((stored, weight, ttl.or(cache.options.ttl))),
                )
            }
            Err(error) => (Err(error.clone()), None),
        };
        let flight = &self.flight;
        let armed = &mut self.armed;
        let (wake, stored, left_row) = shard.write(|state| {
            let is_this = |row: &FlightRow<K, V, E, T::Stamp>| Arc::ptr_eq(&row.flight, flight);
            let mut stored = None;
            let mut left_row = None;
            let remember_for = cache.options.negative_ttl.filter(|ttl| !ttl.is_zero());
            let wake = match state.flights.find_entry(hash, is_this) {
                // Detached by `invalidate`: whether anyone waits is unknown.
                Err(_) => true,
                Ok(row) => {
                    let waited = row.get().waited;
                    match (to_store, remember_for) {
                        (Some((value, weight, ttl)), _) => {
                            let (FlightRow { key, flight, .. }, _) = row.remove();
                            left_row = Some(flight);
                            stored = Some(cache.store_in(
                                &mut state.store,
                                hash,
                                key,
                                value,
                                weight,
                                ttl,
                            ));
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
                        (None, None) => left_row = Some(row.remove().0.flight),
                    }
                    waited
                }
            };
            // SAFETY: this guard is the flight's only leader and lands it once: it is disarmed
            // right after, before anything else can run, so neither this nor `Drop` runs again.
            unsafe { flight.publish(for_waiters) };
            *armed = false;
            (wake, stored, left_row)
        });
        if wake {
            flight.wake_all();
        }
        drop(left_row);
        if let Some(stored) = stored {
            cache.finish_store(shard, stored);
        }
        outcome.map(|(value, _)| value)
    }
}

impl<K, V, E, T: Clock, S, L: RawLock, W, N> Drop for LoadGuard<'_, K, V, E, T, S, L, W, N> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        self.armed = false;
        let flight = &self.flight;
        let (wake, left_row) = self.shard.write(|state| {
            let row = state
                .flights
                .find_entry(self.hash, |row| Arc::ptr_eq(&row.flight, flight));
            let (wake, left_row) = match row {
                Ok(row) => {
                    let (row, _) = row.remove();
                    (row.waited, Some(row))
                }
                // Detached by `invalidate` (or removed by a landing that then panicked):
                // whether anyone waits is unknown.
                Err(_) => (true, None),
            };
            flight.abandon();
            (wake, left_row)
        });
        if wake {
            flight.wake_all();
        }
        drop(left_row);
    }
}

/// Counts a caller as waiting for as long as it waits, however the wait ends.
struct Waiting<'a>(&'a crate::sync::AtomicUsize);

impl<'a> Waiting<'a> {
    fn start(gauge: &'a crate::sync::AtomicUsize) -> Self {
        gauge.fetch_add(1, Ordering::Relaxed);
        Waiting(gauge)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<K, V, E, T, S, L, W, N> Cache<K, V, E, T, S, L, W, N>
where
    K: Hash + Eq + Clone,
    V: Clone,
    T: Clock,
    S: BuildHasher,
    L: RawLock,
    W: Weigh<K, V>,
    N: Listener<K, V>,
{
    /// The fresh value for `key`, or its value after a load: this caller's (`Miss`/`Expired`),
    /// or another caller's it waited for (`LockHit`). Concurrent calls for one key run the
    /// loader once. Never allocates on a hit.
    ///
    /// If the loader fails, every caller that waited gets the same error (`Error::Load` with
    /// a shared `Arc`), and nothing is stored. If the leading caller's future is dropped or its
    /// loader panics, a waiting caller takes the load over.
    ///
    /// ```
    /// use readthrough_core::{Cache, Error, Status};
    /// # futures_lite::future::block_on(async {
    /// let cache = Cache::<u32, u32, &str>::new(100).unwrap();
    ///
    /// let answer = cache.get_or_load(&3, |k: &u32| { let k = *k; async move { Ok(k + 1) } }).await;
    /// assert_eq!(answer.unwrap().value, 4);
    ///
    /// let failed = cache.get_or_load(&9, |_: &u32| async { Err("backend down") }).await;
    /// assert!(matches!(failed, Err(Error::Load(e)) if *e == "backend down"));
    /// # });
    /// ```
    pub async fn get_or_load<Ld>(&self, key: &K, loader: Ld) -> Result<Answer<V>, Error<E>>
    where
        Ld: Loader<K, Value = V, Error = E>,
    {
        self.read_through(key, &loader, |value| (value, None)).await
    }

    pub(crate) async fn read_through<Ld>(
        &self,
        key: &K,
        loader: &Ld,
        split: impl Fn(Ld::Value) -> (V, Option<Duration>),
    ) -> Result<Answer<V>, Error<E>>
    where
        Ld: Loader<K, Error = E>,
    {
        let hash = self.hash(key);
        let shard = self.shard(hash);
        let status = match self.peek(shard, hash, key, false) {
            Peek::Fresh(value) => {
                bump(&shard.counters.hits);
                return Ok(Answer::new(value, Status::Hit));
            }
            Peek::Expired { .. } => Status::Expired,
            Peek::Absent => Status::Miss,
        };
        let answer = self
            .load_through(shard, hash, key, loader, &split, status)
            .await;
        shard.counters.outcome(&answer);
        answer
    }

    /// The miss path: join the key's load (lead, wait or bypass) until there is an answer.
    async fn load_through<Ld>(
        &self,
        shard: &Shard<K, V, E, T::Stamp, L>,
        hash: u64,
        key: &K,
        loader: &Ld,
        split: &impl Fn(Ld::Value) -> (V, Option<Duration>),
        status: Status,
    ) -> Result<Answer<V>, Error<E>>
    where
        Ld: Loader<K, Error = E>,
    {
        loop {
            let role = match self.join(shard, hash, key, Intent::Load) {
                Joined::Ready(result) => {
                    return result.map(|value| Answer::new(value, Status::Hit));
                }
                // `Intent::Load` always gets a role; a load that cannot be waited for is bypassed.
                Joined::Busy => Role::Bypass,
                Joined::Role(role) => role,
            };
            match role {
                Role::Leader(guard) => {
                    let loaded = self.run_load(shard, loader.load(key)).await;
                    let landed = guard.complete(key, loaded.map(split));
                    return landed.map(|value| Answer::new(value, status));
                }
                Role::Waiter(flight) => match self.wait(shard, &flight).await {
                    Some(Landing::Loaded(Ok(value))) => {
                        return Ok(Answer::new(value, Status::LockHit));
                    }
                    Some(Landing::Loaded(Err(error))) => return Err(error),
                    Some(Landing::Abandoned) => continue,
                    None => {
                        bump(&shard.counters.lock_timeouts);
                        return self.load_alone(shard, key, loader, split, status).await;
                    }
                },
                Role::Bypass => return self.load_alone(shard, key, loader, split, status).await,
            }
        }
    }

    /// Loads without coalescing and without storing: for a waiter that gave up or a bypass.
    async fn load_alone<Ld>(
        &self,
        shard: &Shard<K, V, E, T::Stamp, L>,
        key: &K,
        loader: &Ld,
        split: &impl Fn(Ld::Value) -> (V, Option<Duration>),
        status: Status,
    ) -> Result<Answer<V>, Error<E>>
    where
        Ld: Loader<K, Error = E>,
    {
        let loaded = self.run_load(shard, loader.load(key)).await?;
        Ok(Answer::new(split(loaded).0, status))
    }

    /// Runs one loader call under `load_timeout`, counting it.
    pub(crate) async fn run_load<O>(
        &self,
        shard: &Shard<K, V, E, T::Stamp, L>,
        load: impl Future<Output = Result<O, E>>,
    ) -> Result<O, Error<E>> {
        bump(&shard.counters.loads);
        let result = match self.options.load_timeout {
            Some(limit) => match clock_timeout(&self.timer, limit, load).await {
                Ok(loaded) => loaded.map_err(|error| Error::Load(Arc::new(error))),
                Err(_) => Err(Error::LoadTimeout),
            },
            None => load.await.map_err(|error| Error::Load(Arc::new(error))),
        };
        if result.is_err() {
            bump(&shard.counters.load_errors);
        }
        result
    }

    /// Waits for `flight` to land, for at most `lock_timeout`; `None` when that ran out.
    ///
    /// A loader that (directly or through other calls) waits for its own key waits here for
    /// itself: without `lock_timeout` it never finishes.
    pub(crate) async fn wait(
        &self,
        shard: &Shard<K, V, E, T::Stamp, L>,
        flight: &Flight<V, E, T::Stamp>,
    ) -> Option<Landing<V, E>> {
        let _waiting = Waiting::start(&shard.counters.waiting);
        let landing = async {
            loop {
                if let Some(landing) = flight.landing() {
                    return landing;
                }
                event_listener::listener!(flight.event => listener);
                // Registered first, checked again: a landing in between is not missed.
                if let Some(landing) = flight.landing() {
                    return landing;
                }
                listener.await;
            }
        };
        match self.options.lock_timeout {
            Some(limit) => clock_timeout(&self.timer, limit, landing).await.ok(),
            None => Some(landing.await),
        }
    }

    /// Decides this caller's role for `key` in one critical section with the store.
    pub(crate) fn join<'c>(
        &'c self,
        shard: &'c Shard<K, V, E, T::Stamp, L>,
        hash: u64,
        key: &K,
        intent: Intent,
    ) -> Joined<'c, K, V, E, T, S, L, W, N> {
        shard.write(|state| {
            if intent != Intent::Refresh
                && let Some(entry) = state.store.get(hash, key)
                && self.timer.overdue(entry.deadline).is_none()
            {
                return Joined::Ready(Ok(entry.value.clone()));
            }
            if let Ok(mut row) = state.flights.find_entry(hash, |row| row.key == *key) {
                let current = row.get();
                match current.remembered {
                    Some(kept) => {
                        if self.timer.overdue(kept.until).is_none()
                            && let Some(Landing::Loaded(Err(error))) = current.flight.landing()
                        {
                            return Joined::Ready(Err(error));
                        }
                        row.remove();
                        state.remembered.forgot();
                    }
                    None => {
                        let too_old = self
                            .options
                            .lock_age
                            .is_some_and(|age| self.timer.age(current.flight.started) > age);
                        return if too_old {
                            Joined::Role(Role::Bypass)
                        } else if intent == Intent::Load {
                            let waited_for = row.get_mut();
                            waited_for.waited = true;
                            Joined::Role(Role::Waiter(Arc::clone(&waited_for.flight)))
                        } else {
                            Joined::Busy
                        };
                    }
                }
            }
            let flight = Arc::new(Flight::new(self.timer.stamp()));
            let row = FlightRow {
                hash,
                key: key.clone(),
                flight: Arc::clone(&flight),
                remembered: None,
                waited: false,
            };
            state.flights.insert_unique(hash, row, row_hash);
            Joined::Role(Role::Leader(LoadGuard {
                cache: self,
                shard,
                hash,
                flight,
                armed: true,
            }))
        })
    }

    /// Stale-while-revalidate, driven by the caller (no task is spawned): a value past its TTL
    /// but within the stale window is returned at once as [`Status::Stale`] while another
    /// caller refreshes it; the first caller to find it stale does the refresh and returns the
    /// fresh value ([`Status::Expired`]). Without a usable stale value this is
    /// [`get_or_load`](Self::get_or_load).
    ///
    /// ```
    /// # use core::time::Duration;
    /// use readthrough_core::{Cache, ManualTimer, Status};
    /// # futures_lite::future::block_on(async {
    /// let timer = ManualTimer::new();
    /// let cache = Cache::<u8, u32>::builder()
    ///     .capacity(8)
    ///     .timer(timer.clone())
    ///     .ttl(Duration::from_secs(1))
    ///     .stale_window(Duration::from_secs(60))
    ///     .build()
    ///     .unwrap();
    /// cache.insert(1, 10);
    /// timer.advance(Duration::from_secs(5));
    /// let refreshed = cache.get_or_revalidate(&1, |_: &u8| async { Ok(11) }).await.unwrap();
    /// assert_eq!((refreshed.value, refreshed.status), (11, Status::Expired));
    /// # });
    /// ```
    pub async fn get_or_revalidate<Ld>(&self, key: &K, loader: Ld) -> Result<Answer<V>, Error<E>>
    where
        Ld: Loader<K, Value = V, Error = E>,
    {
        let hash = self.hash(key);
        let shard = self.shard(hash);
        let split = |value| (value, None);
        let (stale, overdue) = match self.peek(shard, hash, key, true) {
            Peek::Fresh(value) => {
                bump(&shard.counters.hits);
                return Ok(Answer::new(value, Status::Hit));
            }
            Peek::Expired {
                stale: Some(stale),
                overdue,
            } => (stale, overdue),
            Peek::Expired { stale: None, .. } => {
                let answer = self
                    .load_through(shard, hash, key, &loader, &split, Status::Expired)
                    .await;
                shard.counters.outcome(&answer);
                return answer;
            }
            Peek::Absent => {
                let answer = self
                    .load_through(shard, hash, key, &loader, &split, Status::Miss)
                    .await;
                shard.counters.outcome(&answer);
                return answer;
            }
        };
        let answer = match self.join(shard, hash, key, Intent::Revalidate) {
            Joined::Ready(Ok(value)) => Ok(Answer::new(value, Status::Hit)),
            Joined::Role(Role::Leader(guard)) => {
                let loaded = self.run_load(shard, loader.load(key)).await;
                let landed = guard.complete(key, loaded.map(split));
                landed.map(|value| Answer::new(value, Status::Expired))
            }
            // A refresh is running (or failed recently): the stale value is the answer.
            Joined::Ready(Err(_)) | Joined::Busy | Joined::Role(Role::Waiter(_) | Role::Bypass) => {
                Ok(Answer::new(stale, Status::Stale(overdue)))
            }
        };
        shard.counters.outcome(&answer);
        answer
    }

    /// Loads `key` and stores the result, fresh value or not, unless a load for `key` is
    /// already in flight (or its error is remembered): then `None` at once. Waiters of the load
    /// receive its result as usual.
    ///
    /// This is what the tokio and smol adapters spawn for background stale-while-revalidate.
    /// It is not a lookup: it counts a load in [`Stats`](crate::Stats), not an answer.
    ///
    /// ```
    /// use readthrough_core::Cache;
    /// # futures_lite::future::block_on(async {
    /// let cache = Cache::<u8, u32>::new(8).unwrap();
    /// cache.insert(1, 10);
    /// let refreshed = cache.refresh(&1, |_: &u8| async { Ok(11) }).await;
    /// assert_eq!(refreshed.unwrap().unwrap().value, 11);
    /// assert_eq!(cache.get(&1), Some(11));
    /// # });
    /// ```
    pub async fn refresh<Ld>(&self, key: &K, loader: Ld) -> Option<Result<Answer<V>, Error<E>>>
    where
        Ld: Loader<K, Value = V, Error = E>,
    {
        self.load_unless_busy(key, &loader, Intent::Refresh).await
    }

    /// Like [`refresh`](Self::refresh), but also `None` when the stored value is fresh: the
    /// entry point for a background stale-while-revalidate task, which may start after another
    /// refresh already landed.
    ///
    /// ```
    /// use readthrough_core::Cache;
    /// # futures_lite::future::block_on(async {
    /// let cache = Cache::<u8, u32>::new(8).unwrap();
    /// cache.insert(1, 10);
    /// assert!(cache.revalidate(&1, |_: &u8| async { Ok(11) }).await.is_none());
    /// let loaded = cache.revalidate(&2, |_: &u8| async { Ok(20) }).await;
    /// assert_eq!(loaded.unwrap().unwrap().value, 20);
    /// # });
    /// ```
    pub async fn revalidate<Ld>(&self, key: &K, loader: Ld) -> Option<Result<Answer<V>, Error<E>>>
    where
        Ld: Loader<K, Value = V, Error = E>,
    {
        self.load_unless_busy(key, &loader, Intent::Revalidate)
            .await
    }

    async fn load_unless_busy<Ld>(
        &self,
        key: &K,
        loader: &Ld,
        intent: Intent,
    ) -> Option<Result<Answer<V>, Error<E>>>
    where
        Ld: Loader<K, Value = V, Error = E>,
    {
        let hash = self.hash(key);
        let shard = self.shard(hash);
        let Joined::Role(Role::Leader(guard)) = self.join(shard, hash, key, intent) else {
            return None;
        };
        let loaded = self.run_load(shard, loader.load(key)).await;
        let landed = guard.complete(key, loaded.map(|value| (value, None)));
        Some(landed.map(|value| Answer::new(value, Status::Miss)))
    }
}

impl<K, V, E, T, S, L, W, N> Cache<K, V, E, T, S, L, W, N>
where
    K: Hash + Eq + Clone,
    V: Clone,
    T: Timer,
    S: BuildHasher,
    L: RawLock,
    W: Weigh<K, V>,
    N: Listener<K, V>,
{
    /// [`get_or_load`](Self::get_or_load) with a loader that also says how long its value
    /// stays fresh: `(value, Some(ttl))` overrides the default TTL, `None` keeps it, and a zero
    /// TTL returns the value to every waiter without storing it (an older value is removed).
    ///
    /// ```
    /// # use core::time::Duration;
    /// use readthrough_core::{Cache, ManualTimer, Status};
    /// # futures_lite::future::block_on(async {
    /// let timer = ManualTimer::new();
    /// let cache = Cache::<u8, u32>::builder().capacity(8).timer(timer.clone()).build().unwrap();
    /// let load = |_: &u8| async { Ok((5, Some(Duration::from_secs(2)))) };
    /// assert_eq!(cache.get_or_load_with_ttl(&1, load).await.unwrap().status, Status::Miss);
    /// timer.advance(Duration::from_secs(2));
    /// assert_eq!(cache.get_or_load_with_ttl(&1, load).await.unwrap().status, Status::Expired);
    /// # });
    /// ```
    pub async fn get_or_load_with_ttl<Ld>(&self, key: &K, loader: Ld) -> Result<Answer<V>, Error<E>>
    where
        Ld: Loader<K, Value = (V, Option<Duration>), Error = E>,
    {
        self.read_through(key, &loader, |loaded| loaded).await
    }
}

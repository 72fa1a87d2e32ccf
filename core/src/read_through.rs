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
use crate::hit_or_load::HitOrLoad;
use crate::listener::Listener;
use crate::load_guard::LoadGuard;
use crate::loader::Loader;
use crate::lock::RawLock;
use crate::shard::{FlightRow, Shard};
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
    /// The stored value is due for refresh ahead of its expiry: lead a load unless one is in
    /// flight or a value that is not yet due landed meanwhile.
    RefreshAhead,
}

pub(crate) enum Role<'c, K, V, E, T: Clock, S, L: RawLock, W, N> {
    Leader(LoadGuard<'c, K, V, E, T, S, L, W, N>),
    Waiter(Arc<Flight<V, E, T::Stamp>>),
    Bypass,
}

/// How a caller's turn on a key's load ended.
pub(crate) enum Turn<'c, K, V, E, T: Clock, S, L: RawLock, W, N> {
    /// This caller leads the load: it lands the outcome with the guard.
    Lead(LoadGuard<'c, K, V, E, T, S, L, W, N>),
    /// Served meanwhile: by another caller's landing, fail-safe, or a load of its own.
    Answered(Result<Answer<V>, Error<E>>),
}

pub(crate) enum Joined<'c, K, V, E, T: Clock, S, L: RawLock, W, N> {
    /// A fresh value landed meanwhile, or a remembered error is still current.
    Ready(Result<V, Error<E>>),
    /// A load failed a moment ago and fail-safe answers, within its throttle, with this
    /// expired value, this long past its expiry.
    FailSafe(V, Duration),
    /// A load is in flight and the intent does not wait for it.
    Busy,
    Role(Role<'c, K, V, E, T, S, L, W, N>),
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
    /// let answer = cache.get_or_load(&3, async |k: &u32| Ok(k + 1)).await;
    /// assert_eq!(answer.unwrap().value, 4);
    ///
    /// let failed = cache.get_or_load(&9, |_: &u32| async { Err("backend down") }).await;
    /// assert!(matches!(failed, Err(Error::Load(e)) if *e == "backend down"));
    /// # });
    /// ```
    pub fn get_or_load<Ld>(
        &self,
        key: &K,
        loader: Ld,
    ) -> impl Future<Output = Result<Answer<V>, Error<E>>>
    where
        Ld: Loader<K, Value = V, Error = E>,
    {
        self.read_through(key, loader, |value| (value, None))
    }

    /// A hit answers in the future's first poll without entering the miss path's state machine
    /// (see [`HitOrLoad`]); a miss joins the key's load.
    pub(crate) fn read_through<Ld, Sp>(
        &self,
        key: &K,
        loader: Ld,
        split: Sp,
    ) -> impl Future<Output = Result<Answer<V>, Error<E>>>
    where
        Ld: Loader<K, Error = E>,
        Sp: Fn(Ld::Value) -> (V, Option<Duration>),
    {
        HitOrLoad::new(
            (self, key, loader, split),
            |&(cache, key, _, _)| {
                let hash = cache.hash(key);
                let shard = cache.shard(hash);
                match cache.peek(shard, hash, key, false) {
                    Peek::Fresh(value) => {
                        shard.counters.hits.bump();
                        Ok(Ok(Answer::new(value, Status::Hit)))
                    }
                    Peek::Expired { .. } => Err((shard, hash, Status::Expired)),
                    Peek::Absent => Err((shard, hash, Status::Miss)),
                }
            },
            // The miss path's future is `load_through`'s own (no async block around it: one
            // generator, its arguments stored once).
            |(cache, key, loader, split), (shard, hash, status)| {
                cache.load_through(shard, hash, key, loader, split, status)
            },
        )
    }

    /// The miss path: join the key's load (lead, wait or bypass) until there is an answer, and
    /// count it.
    ///
    /// A function returning an `async move` block rather than an `async fn`: an `async fn`'s
    /// future stores its arguments twice (as passed, and moved into the body's locals), which
    /// made the read-through future 40 B larger and a miss 5 instructions longer.
    #[allow(
        clippy::manual_async_fn,
        reason = "an async fn stores its arguments twice (see above)"
    )]
    pub(crate) fn load_through<Ld>(
        &self,
        shard: &Shard<K, V, E, T::Stamp, L>,
        hash: u64,
        key: &K,
        loader: Ld,
        split: impl Fn(Ld::Value) -> (V, Option<Duration>),
        status: Status,
    ) -> impl Future<Output = Result<Answer<V>, Error<E>>>
    where
        Ld: Loader<K, Error = E>,
    {
        async move {
            // The usual miss leads at once: it does not build the waiting machinery's future.
            let guard = match self.join(shard, hash, key, Intent::Load) {
                Joined::Role(Role::Leader(guard)) => guard,
                joined => {
                    match self
                        .continue_turn(joined, shard, hash, key, &loader, &split, status)
                        .await
                    {
                        Turn::Lead(guard) => guard,
                        Turn::Answered(answer) => {
                            shard.counters.outcome(&answer);
                            return answer;
                        }
                    }
                }
            };
            let loaded = self.run_load(shard, loader.load(key)).await;
            let landed = guard.complete(key, loaded.map(&split));
            let answer = landed.map(|served| served.answer(status));
            shard.counters.outcome(&answer);
            answer
        }
    }

    /// Joins the key's load until this caller leads it or has its answer: waits for other
    /// callers' loads (taking over an abandoned one), and loads alone past `lock_timeout` or
    /// when bypassing. The one coalescing protocol, whatever the leader then does with its
    /// guard (run the loader, or ask a shared tier first).
    pub(crate) async fn take_turn<'c, Ld>(
        &'c self,
        shard: &'c Shard<K, V, E, T::Stamp, L>,
        hash: u64,
        key: &K,
        loader: &Ld,
        split: &impl Fn(Ld::Value) -> (V, Option<Duration>),
        status: Status,
    ) -> Turn<'c, K, V, E, T, S, L, W, N>
    where
        Ld: Loader<K, Error = E>,
    {
        let joined = self.join(shard, hash, key, Intent::Load);
        self.continue_turn(joined, shard, hash, key, loader, split, status)
            .await
    }

    /// [`take_turn`](Self::take_turn) from what this caller's first `join` found.
    ///
    /// An `async move` block, not an `async fn`, which would store `joined` twice (see
    /// `load_through`).
    #[allow(
        clippy::too_many_arguments,
        reason = "take_turn's arguments and what its first join found"
    )]
    #[allow(
        clippy::manual_async_fn,
        reason = "an async fn stores its arguments twice (see above)"
    )]
    fn continue_turn<'c, Ld>(
        &'c self,
        mut joined: Joined<'c, K, V, E, T, S, L, W, N>,
        shard: &'c Shard<K, V, E, T::Stamp, L>,
        hash: u64,
        key: &K,
        loader: &Ld,
        split: &impl Fn(Ld::Value) -> (V, Option<Duration>),
        status: Status,
    ) -> impl Future<Output = Turn<'c, K, V, E, T, S, L, W, N>>
    where
        Ld: Loader<K, Error = E>,
    {
        async move {
            loop {
                let role = match joined {
                    Joined::Ready(result) => {
                        return Turn::Answered(result.map(|value| Answer::new(value, Status::Hit)));
                    }
                    Joined::FailSafe(value, age) => {
                        return Turn::Answered(Ok(self.fail_safe_answer(shard, value, age)));
                    }
                    // `Intent::Load` always gets a role; a load that cannot be waited for is bypassed.
                    Joined::Busy => Role::Bypass,
                    Joined::Role(role) => role,
                };
                let answer = match role {
                    Role::Leader(guard) => return Turn::Lead(guard),
                    Role::Waiter(flight) => match self.wait(shard, &flight).await {
                        Some(Landing::Loaded(Ok(value))) => Ok(Answer::new(value, Status::LockHit)),
                        Some(Landing::FailSafe { value, expired }) => {
                            let age = self.timer.age(expired);
                            Ok(self.fail_safe_answer(shard, value, age))
                        }
                        Some(Landing::Loaded(Err(error))) => Err(error),
                        Some(Landing::Abandoned) => {
                            joined = self.join(shard, hash, key, Intent::Load);
                            continue;
                        }
                        None => {
                            bump(&shard.counters.lock_timeouts);
                            crate::events::event!(
                                warn,
                                "lock timeout: gave up waiting for another caller's load, loading alone"
                            );
                            self.load_alone(shard, key, loader, split, status).await
                        }
                    },
                    Role::Bypass => self.load_alone(shard, key, loader, split, status).await,
                };
                return Turn::Answered(answer);
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
    ///
    /// An `async move` block, not an `async fn`, which would store the loader's future twice
    /// (see `load_through`).
    #[allow(
        clippy::manual_async_fn,
        reason = "an async fn stores its arguments twice (see above)"
    )]
    pub(crate) fn run_load<'a, O>(
        &'a self,
        shard: &'a Shard<K, V, E, T::Stamp, L>,
        load: impl Future<Output = Result<O, E>> + 'a,
    ) -> impl Future<Output = Result<O, Error<E>>> + 'a {
        async move {
            bump(&shard.counters.loads);
            let result = match self.options.load_timeout {
                Some(limit) => match clock_timeout(&self.timer, limit, load).await {
                    Ok(loaded) => loaded.map_err(|error| Error::Load(Arc::new(error))),
                    Err(_) => Err(Error::LoadTimeout),
                },
                None => load.await.map_err(|error| Error::Load(Arc::new(error))),
            };
            if let Err(_error) = &result {
                bump(&shard.counters.load_errors);
                crate::events::event!(
                    warn,
                    "load failed",
                    timed_out = matches!(_error, Error::LoadTimeout)
                );
            }
            result
        }
    }

    /// Waits for `flight` to land, for at most `lock_timeout`; `None` when that ran out.
    ///
    /// A loader that (directly or through other calls) waits for its own key waits here for
    /// itself: without `lock_timeout` it never finishes.
    pub(crate) async fn wait(
        &self,
        shard: &Shard<K, V, E, T::Stamp, L>,
        flight: &Flight<V, E, T::Stamp>,
    ) -> Option<Landing<V, E, T::Stamp>> {
        self.wait_at_most(shard, flight, self.options.lock_timeout)
            .await
    }

    /// Waits for `flight` to land, for at most `limit` (if any); `None` when that ran out.
    pub(crate) async fn wait_at_most(
        &self,
        shard: &Shard<K, V, E, T::Stamp, L>,
        flight: &Flight<V, E, T::Stamp>,
        limit: Option<Duration>,
    ) -> Option<Landing<V, E, T::Stamp>> {
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
        match limit {
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
                && let Ok(left) = self.timer.until(entry.deadline)
                && !(intent == Intent::RefreshAhead && self.due_for_refresh(left))
            {
                return Joined::Ready(Ok(entry.value.clone()));
            }
            let is_key = |row: &FlightRow<K, V, E, T::Stamp>| row.key == *key;
            if let Some(row) = state.flights.find_mut(hash, is_key) {
                match row.remembered {
                    Some(kept) => {
                        if self.timer.overdue(kept.until).is_none() {
                            match row.flight.landing() {
                                Some(Landing::Loaded(Err(error))) => {
                                    return Joined::Ready(Err(error));
                                }
                                Some(Landing::FailSafe { value, expired }) => {
                                    return Joined::FailSafe(value, self.timer.age(expired));
                                }
                                _ => {}
                            }
                        }
                        let _forgotten = state.flights.remove(hash, is_key);
                        state.remembered.forgot();
                    }
                    None => {
                        let too_old = self
                            .options
                            .lock_age
                            .is_some_and(|age| self.timer.age(row.started) > age);
                        return if too_old {
                            Joined::Role(Role::Bypass)
                        } else if intent == Intent::Load {
                            row.waited = true;
                            Joined::Role(Role::Waiter(Arc::clone(&row.flight)))
                        } else {
                            Joined::Busy
                        };
                    }
                }
            }
            // A flight nobody else saw, landed and put aside by its leader: nothing to allocate.
            let flight = state
                .spare_flight
                .take()
                .unwrap_or_else(|| Arc::new(Flight::new()));
            let row = FlightRow {
                hash,
                key: key.clone(),
                flight: Arc::clone(&flight),
                started: self.timer.stamp(),
                remembered: None,
                waited: false,
            };
            state.flights.insert_new(row);
            Joined::Role(Role::Leader(LoadGuard::new(self, shard, hash, flight)))
        })
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
    pub fn get_or_load_with_ttl<Ld>(
        &self,
        key: &K,
        loader: Ld,
    ) -> impl Future<Output = Result<Answer<V>, Error<E>>>
    where
        Ld: Loader<K, Value = (V, Option<Duration>), Error = E>,
    {
        self.read_through(key, loader, |loaded| loaded)
    }
}

//! Stale-while-revalidate and refresh: the entry points that answer without waiting for a
//! load when a usable value is at hand.

use core::hash::{BuildHasher, Hash};
use core::time::Duration;

use crate::cache::Cache;
use crate::error::Error;
use crate::lead::Led;
use crate::listener::Listener;
use crate::load_guard::{LoadGuard, Served};
use crate::loader::Loader;
use crate::lock::RawLock;
use crate::read_through::{Intent, Joined, Role};
use crate::shard::Shard;
use crate::stats::bump;
use crate::status::{Answer, Status};
use crate::timer::Clock;
use crate::weigher::Weigh;

/// What a revalidating read found.
pub(crate) enum Serve<V> {
    /// A fresh value; `due` when it is past the refresh-ahead point and no load for it is in
    /// flight.
    Fresh { value: V, due: bool },
    /// An expired value within the stale window, this long past its expiry; `refreshing` when
    /// a load for it is in flight already.
    Stale {
        value: V,
        overdue: Duration,
        refreshing: bool,
    },
    /// Nothing to serve: a load answers, with this status.
    Load(Status),
}

/// What a revalidating read does next.
pub(crate) enum Revalidation<'c, K, V, E, T: Clock, S, L: RawLock, W, N> {
    /// Answered (and counted) at once.
    Answered(Result<Answer<V>, Error<E>>),
    /// Nothing usable at hand: a load answers, with this status.
    Load(Status),
    /// This caller refreshes the value at hand.
    Lead(Refresh<'c, K, V, E, T, S, L, W, N>),
    /// The answer, not counted yet.
    Current(Answer<V>),
}

/// A refresh this caller leads, with the value it had at hand (answered with `status` when
/// the refresh gives nothing better).
pub(crate) struct Refresh<'c, K, V, E, T: Clock, S, L: RawLock, W, N> {
    pub(crate) guard: LoadGuard<'c, K, V, E, T, S, L, W, N>,
    pub(crate) current: V,
    pub(crate) intent: Intent,
    pub(crate) status: Status,
}

/// The answer of a refresh led by a revalidating caller whose value at hand is `current`.
///
/// Refresh ahead: the new value ([`Status::Refreshed`], or the shared tier's status when
/// another node's copy was taken); a failed refresh leaves `current`, still fresh
/// ([`Status::Hit`]), unless it expired meanwhile and fail-safe answers. Stale-while-
/// revalidate: the new value ([`Status::Expired`]), fail-safe's `current`, or the error.
pub(crate) fn refreshed<V, E>(
    led: Result<Led<V>, Error<E>>,
    current: V,
    intent: Intent,
    status: Status,
) -> Result<Answer<V>, Error<E>> {
    match (led, intent) {
        (Ok(Led::Landed(Served::Loaded(value))), Intent::RefreshAhead) => {
            Ok(Answer::new(value, Status::Refreshed))
        }
        // The value expired while its refresh ran, and fail-safe answers with it.
        (Ok(Led::Landed(served @ Served::FailSafe { .. })), Intent::RefreshAhead) => {
            Ok(served.answer(Status::Hit))
        }
        // A failed refresh ahead leaves the value, still fresh, in place.
        (Err(_), Intent::RefreshAhead) => Ok(Answer::new(current, Status::Hit)),
        (Ok(Led::Landed(Served::Loaded(value))), _) => Ok(Answer::new(value, Status::Expired)),
        // Fail-safe: the value at hand is the answer.
        (Ok(Led::Landed(Served::FailSafe { .. })), _) => Ok(Answer::new(current, status)),
        (Ok(Led::Shared(value, shared)), _) => Ok(Answer::new(value, shared)),
        (Err(error), _) => Err(error),
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
    /// Stale-while-revalidate, driven by the caller (no task is spawned): a value past its TTL
    /// but within the stale window is returned at once as [`Status::Stale`] while another
    /// caller refreshes it; the first caller to find it stale does the refresh and returns the
    /// fresh value ([`Status::Expired`]). Without a usable stale value this is
    /// [`get_or_load`](Self::get_or_load).
    ///
    /// With [`refresh_ahead`](crate::Builder::refresh_ahead), a fresh value past the refresh
    /// point is refreshed the same way: the first caller to find it due loads and returns the
    /// new value ([`Status::Refreshed`]: its latency was a load's), callers during that load
    /// get the current value at once ([`Status::Hit`]), and a failed refresh returns (and
    /// keeps) the current value, still fresh, as [`Status::Hit`] (the failure counts in
    /// [`Stats::load_errors`](crate::Stats::load_errors)). This is how caches without a
    /// [`Spawn`](crate::Spawn) (embassy) refresh ahead; with one,
    /// [`get_or_revalidate_in_background`](Self::get_or_revalidate_in_background) keeps
    /// every caller from waiting.
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
        let answer = match self.revalidation(shard, hash, key) {
            Revalidation::Answered(answer) => return answer,
            // Counted by `load_through`.
            Revalidation::Load(status) => {
                return self
                    .load_through(shard, hash, key, loader, split, status)
                    .await;
            }
            Revalidation::Lead(Refresh {
                guard,
                current,
                intent,
                status,
            }) => {
                crate::events::event!(debug, "refresh started in the caller");
                let loaded = self.run_load(shard, loader.load(key)).await;
                let landed = guard.complete(key, loaded.map(split));
                refreshed(landed.map(Led::Landed), current, intent, status)
            }
            Revalidation::Current(answer) => Ok(answer),
        };
        shard.counters.outcome(&answer);
        answer
    }

    /// What [`get_or_revalidate`](Self::get_or_revalidate) does for `key`, decided with one
    /// read lock and at most one write lock; the answers given at once are counted.
    pub(crate) fn revalidation<'c>(
        &'c self,
        shard: &'c Shard<K, V, E, T::Stamp, L>,
        hash: u64,
        key: &K,
    ) -> Revalidation<'c, K, V, E, T, S, L, W, N> {
        let (current, intent, status) = match self.serve(shard, hash, key) {
            Serve::Fresh { value, due: false } => {
                shard.counters.hits.bump();
                return Revalidation::Answered(Ok(Answer::new(value, Status::Hit)));
            }
            // Refresh ahead driven by the caller: the caller that registers the load runs it.
            Serve::Fresh { value, due: true } => (value, Intent::RefreshAhead, Status::Hit),
            Serve::Stale {
                value,
                overdue,
                refreshing: true,
            } => {
                bump(&shard.counters.stale);
                let stale = Answer::new(value, Status::Stale(overdue));
                return Revalidation::Answered(Ok(stale));
            }
            Serve::Stale {
                value,
                overdue,
                refreshing: false,
            } => (value, Intent::Revalidate, Status::Stale(overdue)),
            Serve::Load(status) => return Revalidation::Load(status),
        };
        match self.join(shard, hash, key, intent) {
            Joined::Ready(Ok(value)) => Revalidation::Current(Answer::new(value, Status::Hit)),
            Joined::Role(Role::Leader(guard)) => Revalidation::Lead(Refresh {
                guard,
                current,
                intent,
                status,
            }),
            // A refresh is running (or failed recently): the value at hand is the answer.
            Joined::Ready(Err(_))
            | Joined::FailSafe(..)
            | Joined::Busy
            | Joined::Role(Role::Waiter(_) | Role::Bypass) => {
                Revalidation::Current(Answer::new(current, status))
            }
        }
    }

    /// What the revalidating entry points find for `key`, with one clock read. Counts
    /// nothing: the caller counts its answer.
    #[inline]
    pub(crate) fn serve(
        &self,
        shard: &Shard<K, V, E, T::Stamp, L>,
        hash: u64,
        key: &K,
    ) -> Serve<V> {
        let found = shard.read(|state| {
            let entry = state.store.get(hash, key)?;
            // Looked up only for a value that needs a refresh: while one is loading, the
            // callers need not take the write lock to find that out.
            let loading = || {
                state
                    .flights
                    .find(hash, |row| row.key == *key)
                    .is_some_and(|row| row.flight.is_loading())
            };
            Some(match self.timer.until(entry.deadline) {
                Ok(left) => Serve::Fresh {
                    value: entry.value.clone(),
                    due: self.due_for_refresh(left) && !loading(),
                },
                Err(overdue) if overdue <= self.options.stale_window => Serve::Stale {
                    value: entry.value.clone(),
                    overdue,
                    refreshing: loading(),
                },
                Err(_) => Serve::Load(Status::Expired),
            })
        });
        found.unwrap_or(Serve::Load(Status::Miss))
    }

    /// Whether a fresh value with `left` nanoseconds to live is due for refresh ahead.
    #[inline]
    pub(crate) fn due_for_refresh(&self, left: u64) -> bool {
        self.options
            .refresh_ahead
            .is_some_and(|margin| left <= margin)
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
        // Not a lookup: its answer is counted nowhere, a fallback included.
        let guard = guard.uncounted();
        let loaded = self.run_load(shard, loader.load(key)).await;
        let landed = guard.complete(key, loaded.map(|value| (value, None)));
        Some(landed.map(|served| served.answer(Status::Miss)))
    }
}

//! Background refresh: stale-while-revalidate and refresh ahead with the load in a task
//! started through the cache's [`Spawn`].

use alloc::sync::Arc;
use core::hash::{BuildHasher, Hash};
use core::time::Duration;

use crate::cache::Cache;
use crate::error::Error;
use crate::flight::Landing;
use crate::listener::Listener;
use crate::load_guard::LoadGuard;
use crate::loader::SendLoader;
use crate::lock::RawLock;
use crate::read_through::{Intent, Joined, Role};
use crate::revalidate::Serve;
use crate::spawn::Spawn;
use crate::status::{Answer, Status};
use crate::timer::{Clock, Timer};
use crate::weigher::Weigh;

impl<K, V, E, T, S, L, W, N> Cache<K, V, E, T, S, L, W, N>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    E: Send + Sync + 'static,
    T: Timer<Sleep: Send> + Spawn + Send + Sync + 'static,
    S: BuildHasher + Send + Sync + 'static,
    L: RawLock + Send + Sync + 'static,
    W: Weigh<K, V> + Send + Sync + 'static,
    N: Listener<K, V> + Send + Sync + 'static,
{
    /// Answers at once from the cache when it can, refreshing in the background:
    ///
    /// - a fresh value: returned ([`Status::Hit`]); if it is past the
    ///   [refresh-ahead](crate::Builder::refresh_ahead) point, one background refresh starts;
    /// - an expired value within the [stale window](crate::Builder::stale_window): returned at
    ///   once ([`Status::Stale`]), and one background refresh starts;
    /// - nothing usable: loaded in this call, like [`get_or_load`](Self::get_or_load).
    ///
    /// "One" holds however many callers see the value at once: the caller that starts the
    /// refresh registers it as the key's load before it spawns, so the others find it in
    /// flight and spawn nothing. Callers that miss meanwhile wait for that load. The refresh's
    /// outcome is only stored; a failure leaves the value where it was (with
    /// [`negative_ttl`](crate::Builder::negative_ttl), the error is remembered for waiters).
    ///
    /// The task is started with the timer's [`Spawn`] and owns a share of the cache, which is
    /// why this takes `self: &Arc<Self>`: a refresh outlives the call that starts it, and a
    /// cache cannot hand out a share of itself without being in an `Arc` (one it kept inside
    /// itself would never be freed). If the task never runs (its executor shut down), the
    /// load is abandoned as if cancelled: nothing stays locked.
    ///
    /// The loader is a [`SendLoader`], because the load runs in a `Send` task; that trait's
    /// docs say what that excludes and why.
    ///
    /// # Panics
    ///
    /// When the timer's [`Spawn::spawn`] panics, e.g. `tokio::spawn` outside a tokio runtime.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use core::future::Future;
    /// use core::pin::Pin;
    /// use core::time::Duration;
    /// use readthrough_core::{Cache, ManualTimer, Spawn, Status, WithSpawn};
    ///
    /// /// Keeps spawned tasks until the test runs them.
    /// #[derive(Clone, Default)]
    /// struct Later(Arc<Mutex<Vec<Pin<Box<dyn Future<Output = ()> + Send>>>>>);
    /// impl Spawn for Later {
    ///     fn spawn<F: Future<Output = ()> + Send + 'static>(&self, task: F) {
    ///         self.0.lock().unwrap().push(Box::pin(task));
    ///     }
    /// }
    ///
    /// # futures_lite::future::block_on(async {
    /// let (timer, tasks) = (ManualTimer::new(), Later::default());
    /// let cache = Arc::new(
    ///     Cache::<u32, u32>::builder()
    ///         .capacity(8)
    ///         .timer(WithSpawn::new(timer.clone(), tasks.clone()))
    ///         .ttl(Duration::from_secs(10))
    ///         .stale_window(Duration::from_secs(60))
    ///         .build()
    ///         .unwrap(),
    /// );
    /// cache.insert(1, 100);
    /// timer.advance(Duration::from_secs(11));
    ///
    /// let load = |_: &u32| async { Ok(200) };
    /// let answer = cache.get_or_revalidate_in_background(&1, load).await.unwrap();
    /// assert_eq!((answer.value, answer.status), (100, Status::Stale(Duration::from_secs(1))));
    ///
    /// let spawned: Vec<_> = tasks.0.lock().unwrap().drain(..).collect();
    /// assert_eq!(spawned.len(), 1);
    /// for task in spawned {
    ///     task.await;
    /// }
    /// assert_eq!(cache.get(&1), Some(200));
    /// # });
    /// ```
    pub async fn get_or_revalidate_in_background<Ld>(
        self: &Arc<Self>,
        key: &K,
        loader: Ld,
    ) -> Result<Answer<V>, Error<E>>
    where
        Ld: SendLoader<K, Value = V, Error = E>,
    {
        let hash = self.hash(key);
        let shard = self.shard(hash);
        let answer = match self.serve(shard, hash, key) {
            Serve::Fresh { value, due } => {
                if due {
                    self.refresh_in_background(hash, key, loader, Intent::RefreshAhead);
                }
                shard.counters.hits.bump();
                return Ok(Answer::new(value, Status::Hit));
            }
            Serve::Stale {
                value,
                overdue,
                refreshing,
            } => {
                if !refreshing {
                    self.refresh_in_background(hash, key, loader, Intent::Revalidate);
                }
                Ok(Answer::new(value, Status::Stale(overdue)))
            }
            Serve::Load(status) => {
                let at_hand = match (self.options.soft_timeout, self.options.fail_safe) {
                    (Some(soft), Some(fail_safe)) if status == Status::Expired => self
                        .fail_safe_value(shard, hash, key, fail_safe.max_stale)
                        .map(|at_hand| (soft, at_hand)),
                    _ => None,
                };
                match at_hand {
                    Some((soft, (value, expired))) => {
                        self.load_within(hash, key, loader, soft, value, expired)
                            .await
                    }
                    None => {
                        // Counted by `load_through`.
                        let split = |value| (value, None);
                        return self
                            .load_through(shard, hash, key, loader, split, status)
                            .await;
                    }
                }
            }
        };
        shard.counters.outcome(&answer);
        answer
    }

    /// The load of an expired key with a fail-safe value at hand under a soft timeout: the load
    /// runs in a spawned task (led by this caller, or already in flight), and this caller waits
    /// for it at most `soft`, then answers with the value at hand.
    async fn load_within<Ld>(
        self: &Arc<Self>,
        hash: u64,
        key: &K,
        loader: Ld,
        soft: Duration,
        at_hand: V,
        expired: <T as Clock>::Stamp,
    ) -> Result<Answer<V>, Error<E>>
    where
        Ld: SendLoader<K, Value = V, Error = E>,
    {
        let shard = self.shard(hash);
        // Aged when answered: the soft timeout passes before it is.
        let stale = |at_hand| self.fail_safe_answer(shard, at_hand, self.timer.age(expired));
        loop {
            let (landing, status) = match self.join(shard, hash, key, Intent::Load) {
                Joined::Ready(result) => {
                    return result.map(|value| Answer::new(value, Status::Hit));
                }
                Joined::FailSafe(value, age) => return Ok(self.fail_safe_answer(shard, value, age)),
                Joined::Busy | Joined::Role(Role::Bypass) => return Ok(stale(at_hand)),
                Joined::Role(Role::Waiter(flight)) => {
                    match self.wait_at_most(shard, &flight, Some(soft)).await {
                        // Its leader is gone: join again, perhaps to lead.
                        Some(Landing::Abandoned) => continue,
                        landing => (landing, Status::LockHit),
                    }
                }
                Joined::Role(Role::Leader(guard)) => {
                    let flight = guard.watch();
                    self.spawn_load(guard, hash, key, loader);
                    let landing = self.wait_at_most(shard, &flight, Some(soft)).await;
                    (landing, Status::Expired)
                }
            };
            return match landing {
                Some(Landing::Loaded(result)) => result.map(|value| Answer::new(value, status)),
                Some(Landing::FailSafe { value, expired }) => {
                    Ok(self.fail_safe_answer(shard, value, self.timer.age(expired)))
                }
                // Past the soft timeout (or the task was dropped unrun): the value at hand.
                Some(Landing::Abandoned) | None => {
                    crate::events::event!(
                        info,
                        "soft timeout: answering with the fail-safe value while the load goes on"
                    );
                    Ok(stale(at_hand))
                }
            };
        }
    }

    /// Registers a load of `key` and spawns it, unless one is in flight or a value that needs
    /// no refresh landed meanwhile.
    fn refresh_in_background<Ld>(self: &Arc<Self>, hash: u64, key: &K, loader: Ld, intent: Intent)
    where
        Ld: SendLoader<K, Value = V, Error = E>,
    {
        let shard = self.shard(hash);
        if let Joined::Role(Role::Leader(guard)) = self.join(shard, hash, key, intent) {
            self.spawn_load(guard, hash, key, loader);
        }
    }

    /// Hands the load `guard` leads to a spawned task.
    fn spawn_load<Ld>(
        self: &Arc<Self>,
        guard: LoadGuard<'_, K, V, E, T, S, L, W, N>,
        hash: u64,
        key: &K,
        loader: Ld,
    ) where
        Ld: SendLoader<K, Value = V, Error = E>,
    {
        crate::events::event!(debug, "load started in a background task");
        let mut lead = guard.detach(Arc::clone(self));
        let key = key.clone();
        self.timer.spawn(async move {
            let (cache, guard) = lead.attach();
            let loaded = cache
                .run_load(cache.shard(hash), loader.load_send(&key))
                .await;
            let _stored = guard.complete(&key, loaded.map(|value| (value, None)));
        });
    }
}

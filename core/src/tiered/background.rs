//! Background stale-while-revalidate and refresh ahead through the shared tier: the cache's
//! background refresh, with the tiered leader running in the spawned task.

use alloc::sync::Arc;
use core::hash::{BuildHasher, Hash};

use crate::cache::Cache;
use crate::error::Error;
use crate::listener::Listener;
use crate::load_guard::Front;
use crate::loader::{self, SendLoader};
use crate::lock::RawLock;
use crate::read_through::{Intent, Joined, Role};
use crate::revalidate::Serve;
use crate::spawn::Spawn;
use crate::status::{Answer, Status};
use crate::tier::{self, SendTier};
use crate::timer::Timer;
use crate::weigher::Weigh;

use super::Tiered;

impl<K, V, E, T, S, L, W, N, R> Front<K, V, E, T, S, L, W, N>
    for Tiered<Cache<K, V, E, T, S, L, W, N>, R>
where
    T: Timer,
    L: RawLock,
{
    fn front(&self) -> &Cache<K, V, E, T, S, L, W, N> {
        &self.cache
    }
}

impl<K, V, E, T, S, L, W, N, R> Tiered<Cache<K, V, E, T, S, L, W, N>, R>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    E: Send + Sync + 'static,
    T: Timer<Sleep: Send> + Spawn + Send + Sync + 'static,
    S: BuildHasher + Send + Sync + 'static,
    L: RawLock + Send + Sync + 'static,
    W: Weigh<K, V> + Send + Sync + 'static,
    N: Listener<K, V> + Send + Sync + 'static,
    R: SendTier<K, V>,
{
    /// Stale-while-revalidate and refresh ahead through the fleet, with the refresh in a
    /// background task, as [`Cache::get_or_revalidate_in_background`]:
    ///
    /// - a fresh value: returned ([`Status::Hit`]); past the refresh-ahead point, one
    ///   background refresh starts;
    /// - an expired value within the stale window: returned at once ([`Status::Stale`]), and
    ///   one background refresh starts;
    /// - nothing usable: loaded in this call through the fleet, as
    ///   [`get_or_load`](Self::get_or_load).
    ///
    /// One refresh per key on this node, however many callers see the value at once (the
    /// first registers it as the key's load before spawning). The refresh asks the shared tier
    /// first: a copy another node stored meanwhile lands here without a load (for a refresh
    /// ahead, unless that copy is itself due for refresh); otherwise the fleet lock decides
    /// which node loads, and the loaded value is stored in the tier and announced. A failed
    /// refresh leaves the value where it was.
    ///
    /// The task owns a share of this node, hence `self: &Arc<Self>`; it is started with the
    /// timer's [`Spawn`]. The loader is a [`SendLoader`] and the tier a [`SendTier`], because
    /// their futures run in a `Send` task.
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
    /// use readthrough_core::{Cache, ManualTimer, MemoryTier, Spawn, Status, Tiered, WithSpawn};
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
    /// let tier = MemoryTier::<u32, u32, _>::new(timer.clone());
    /// let cache = Cache::<u32, u32>::builder()
    ///     .capacity(8)
    ///     .timer(WithSpawn::new(timer.clone(), tasks.clone()))
    ///     .ttl(Duration::from_secs(10))
    ///     .stale_window(Duration::from_secs(60))
    ///     .lock_timeout(Duration::from_secs(1))
    ///     .build()
    ///     .unwrap();
    /// let node = Arc::new(Tiered::new(cache, tier.node()).unwrap());
    /// node.insert(1, 100).await;
    /// timer.advance(Duration::from_secs(11));
    ///
    /// let load = |_: &u32| async { Ok(200) };
    /// let answer = node.get_or_revalidate_in_background(&1, load).await.unwrap();
    /// assert_eq!((answer.value, answer.status), (100, Status::Stale(Duration::from_secs(1))));
    ///
    /// let spawned: Vec<_> = tasks.0.lock().unwrap().drain(..).collect();
    /// assert_eq!(spawned.len(), 1);
    /// for task in spawned {
    ///     task.await;
    /// }
    /// assert_eq!(node.cache().get(&1), Some(200));
    /// assert_eq!(tier.len(), 1);
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
        let cache = &self.cache;
        let hash = cache.hash(key);
        let shard = cache.shard(hash);
        let answer = match cache.serve(shard, hash, key) {
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
                let split = |value| (value, None);
                self.load_through(shard, hash, key, &loader, &split, status)
                    .await
            }
        };
        shard.counters.outcome(&answer);
        answer
    }

    /// Registers a refresh of `key` and spawns its tiered leader, unless a load is in flight
    /// or a value that needs no refresh landed meanwhile.
    fn refresh_in_background<Ld>(self: &Arc<Self>, hash: u64, key: &K, loader: Ld, intent: Intent)
    where
        Ld: SendLoader<K, Value = V, Error = E>,
    {
        let cache = &self.cache;
        let Joined::Role(Role::Leader(guard)) = cache.join(cache.shard(hash), hash, key, intent)
        else {
            return;
        };
        crate::events::event!(debug, "tiered refresh started in a background task");
        let mut lead = guard.detach(Arc::clone(self));
        let key = key.clone();
        cache.timer.spawn(async move {
            let (node, guard) = lead.attach();
            // The tier and the loader called through their `Send` futures.
            let view = Tiered {
                cache: &node.cache,
                tier: tier::Sending(&node.tier),
                fleet: node.fleet,
            };
            let loader = loader::Sending(&loader);
            let split = |value| (value, None);
            // A task answers nobody: the outcome is landed (or the old value kept) by `lead`.
            let _led = view.lead(guard, &key, &loader, &split, intent).await;
        });
    }
}

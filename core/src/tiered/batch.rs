//! Batch read-through across the fleet: the keys this node's batch leads are looked up in the
//! shared tier and fleet-locked one by one, and the rest are loaded in one loader call.

use alloc::vec::Vec;
use core::hash::{BuildHasher, Hash};
use core::time::Duration;

use crate::cache::Cache;
use crate::error::Error;
use crate::fleet_lock::FleetLock;
use crate::listener::Listener;
use crate::loader::BatchLoader;
use crate::lock::RawLock;
use crate::stats::bump;
use crate::status::{Answer, Status};
use crate::tier::{Announcement, Fetched, LockOutcome, Tier};
use crate::timer::Timer;
use crate::weigher::Weigh;

use super::Tiered;
use super::lead::Waited;

/// A key of the batch and where its value comes from.
enum Source<V, Token> {
    /// The tier had it (answering with this status), for this long.
    Shared(V, Status, Duration),
    /// To load, holding the fleet lock when there is one.
    Load(Option<Token>),
}

/// The batch loader the cache runs for the keys a tiered batch leads.
///
/// Its error is the inner loader's, not the cache's `E`: an impl whose bounds equate the two
/// makes the caller's future fail `Send` for an error type with a lifetime in it
/// (`Box<dyn Error + Send + Sync>`; see `crate::lead`).
struct ThroughTier<'a, C, R, B, K> {
    tiered: &'a Tiered<C, R>,
    loader: &'a B,
    /// Touched only between awaits of the one call; a lock (never contended) rather than a
    /// `RefCell` so that the call's future stays `Send`.
    shared: &'a spin::Mutex<Vec<(K, Status)>>,
}

impl<K, V, E, T, S, L, W, N, R, B> BatchLoader<K>
    for ThroughTier<'_, Cache<K, V, E, T, S, L, W, N>, R, B, K>
where
    K: Hash + Eq + Clone,
    V: Clone,
    T: Timer,
    S: BuildHasher,
    L: RawLock,
    W: Weigh<K, V>,
    N: Listener<K, V>,
    R: Tier<K, V>,
    B: BatchLoader<K, Value = V>,
{
    type Value = (V, Option<Duration>);
    type Error = B::Error;

    fn load_many(
        &self,
        keys: &[&K],
    ) -> impl core::future::Future<Output = Result<Vec<(V, Option<Duration>)>, B::Error>> {
        self.tiered
            .load_many_through(keys, self.loader, self.shared)
    }
}

impl<K, V, E, T, S, L, W, N, R> Tiered<Cache<K, V, E, T, S, L, W, N>, R>
where
    K: Hash + Eq + Clone,
    V: Clone,
    T: Timer,
    S: BuildHasher,
    L: RawLock,
    W: Weigh<K, V>,
    N: Listener<K, V>,
    R: Tier<K, V>,
{
    /// The values for `keys`, in order (as [`Cache::get_or_load_many`]), through the fleet:
    /// a key not in this node's memory is fetched from the tier ([`Status::TierHit`]); the keys
    /// still missing are fleet-locked one by one, and those this node locked (or that no other
    /// node landed within the fleet wait) are loaded with one call of `loader`, stored in the
    /// tier and announced. A key another node holds the lock of is waited for
    /// ([`Status::TierLockHit`]).
    ///
    /// The tier calls are made one key after another: a batch of `n` misses costs `n` round
    /// trips to the tier (and `n` lock calls) before its one load.
    ///
    /// ```
    /// # use core::time::Duration;
    /// use readthrough_core::{Cache, ManualTimer, MemoryTier, Status, Tiered};
    /// # futures_lite::future::block_on(async {
    /// let timer = ManualTimer::new();
    /// let tier = MemoryTier::<u32, u32, _>::new(timer.clone());
    /// let node = |tier_node| {
    ///     let cache = Cache::<u32, u32>::builder().capacity(8).timer(timer.clone())
    ///         .ttl(Duration::from_secs(60)).lock_timeout(Duration::from_secs(1)).build().unwrap();
    ///     Tiered::new(cache, tier_node).unwrap()
    /// };
    /// let (a, b) = (node(tier.node()), node(tier.node()));
    /// let tens = |keys: &[&u32]| {
    ///     let values: Vec<u32> = keys.iter().map(|k| **k * 10).collect();
    ///     async move { Ok(values) }
    /// };
    /// a.insert(1, 10).await;
    /// let answers = b.get_or_load_many(&[1, 2], tens).await.unwrap();
    /// assert_eq!((answers[0].value, answers[0].status), (10, Status::TierHit));
    /// assert_eq!((answers[1].value, answers[1].status), (20, Status::Miss));
    /// let again = a.get_or_load_many(&[2], tens).await.unwrap();
    /// assert_eq!(again[0].status, Status::TierHit);
    /// # });
    /// ```
    pub async fn get_or_load_many<B>(
        &self,
        keys: &[K],
        loader: B,
    ) -> Result<Vec<Answer<V>>, Error<E>>
    where
        B: BatchLoader<K, Value = V, Error = E>,
    {
        let shared = spin::Mutex::new(Vec::new());
        let through = ThroughTier {
            tiered: self,
            loader: &loader,
            shared: &shared,
        };
        let mut answers = self.cache.get_or_load_many_with_ttl(keys, through).await?;
        let shared = shared.into_inner();
        if !shared.is_empty() {
            for (key, answer) in keys.iter().zip(&mut answers) {
                let counted_as = answer.status;
                if let (Status::Miss | Status::Expired, Some((_, status))) =
                    (counted_as, shared.iter().find(|(shared, _)| shared == key))
                {
                    answer.status = *status;
                    // The cache counted a load's status; no load ran for this key.
                    let counters = self.counters(key);
                    counters.unanswered(counted_as);
                    counters.answered(*status);
                }
            }
        }
        Ok(answers)
    }

    /// The batch loader the cache runs for the keys it leads: the tier first, then `loader`
    /// for the rest in one call. Notes in `shared` which keys came from the tier, so that
    /// their answers can say so.
    ///
    async fn load_many_through<B>(
        &self,
        keys: &[&K],
        loader: &B,
        shared_keys: &spin::Mutex<Vec<(K, Status)>>,
    ) -> Result<Vec<(V, Option<Duration>)>, B::Error>
    where
        B: BatchLoader<K, Value = V>,
    {
        let tiered = self;
        let mut sources = Vec::with_capacity(keys.len());
        for &key in keys {
            sources.push(tiered.source(key).await);
        }
        let to_load: Vec<&K> = keys
            .iter()
            .zip(&sources)
            .filter(|(_, source)| matches!(source, Source::Load(_)))
            .map(|(&key, _)| key)
            .collect();
        let mut loaded = if to_load.is_empty() {
            Vec::new().into_iter()
        } else {
            match loader.load_many(&to_load).await {
                Ok(values) => values.into_iter(),
                Err(error) => {
                    for (&key, source) in keys.iter().zip(sources) {
                        if let Source::Load(Some(lock)) = source {
                            let lock = FleetLock::held(tiered.counters(key), lock);
                            lock.release(&tiered.tier, key, Announcement::Abandoned)
                                .await;
                        }
                    }
                    return Err(error);
                }
            }
        };
        let mut values = Vec::with_capacity(keys.len());
        let mut shared = Vec::new();
        for (&key, source) in keys.iter().zip(sources) {
            match source {
                Source::Shared(value, status, ttl) => {
                    shared.push((key.clone(), status));
                    values.push((value, Some(ttl)));
                }
                Source::Load(lock) => {
                    // A loader that returned too few values: the cache refuses the batch.
                    let Some(value) = loaded.next() else { break };
                    let counters = tiered.counters(key);
                    let announcement = tiered.view().share(counters, key, &value, None).await;
                    match lock {
                        Some(lock) => {
                            let lock = FleetLock::held(counters, lock);
                            lock.release(&tiered.tier, key, announcement).await;
                        }
                        None if announcement == Announcement::Landed => {
                            tiered.view().announce(counters, key, announcement).await;
                        }
                        None => {}
                    }
                    values.push((value, None));
                }
            }
        }
        // Any surplus is passed on for the cache to count and refuse.
        values.extend(loaded.map(|value| (value, None)));
        shared_keys.lock().extend(shared);
        Ok(values)
    }

    /// Where the value of `key`, which this node's batch leads, comes from.
    async fn source(&self, key: &K) -> Source<V, R::Token> {
        let counters = self.counters(key);
        match self.tier.fetch(key).await {
            Fetched::Hit { value, lifetime } => {
                return Source::Shared(value, Status::TierHit, self.view().shared_ttl(lifetime));
            }
            Fetched::Miss | Fetched::Undecodable => {}
            Fetched::Unavailable(_) => {
                bump(&counters.tier_errors);
                return Source::Load(None);
            }
        }
        let landing = self.tier.landing(key);
        match self.tier.lock(key, self.fleet.hold_for).await {
            LockOutcome::Acquired(token) => Source::Load(Some(token)),
            LockOutcome::Unavailable(_) => {
                bump(&counters.tier_errors);
                Source::Load(None)
            }
            LockOutcome::HeldElsewhere => match self.view().await_landing(key, landing).await {
                Waited::Found(value, lifetime) => {
                    Source::Shared(value, Status::TierLockHit, self.view().shared_ttl(lifetime))
                }
                Waited::Announced(Announcement::Landed) => match self.tier.fetch(key).await {
                    Fetched::Hit { value, lifetime } => {
                        Source::Shared(value, Status::TierLockHit, self.view().shared_ttl(lifetime))
                    }
                    _ => Source::Load(None),
                },
                Waited::Announced(_) => Source::Load(None),
                Waited::Unavailable => {
                    bump(&counters.tier_errors);
                    Source::Load(None)
                }
                Waited::TimedOut => {
                    bump(&counters.fleet_lock_timeouts);
                    Source::Load(None)
                }
            },
        }
    }
}

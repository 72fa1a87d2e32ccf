//! Batch read-through: all misses in one loader call, coalesced with single-key loads.
//!
//! Keys are classified first (hit, lead, wait). This call's own loads run and land before it
//! waits for anyone else's, so two batches that lead keys the other waits for cannot deadlock.

use alloc::vec::Vec;
use core::hash::{BuildHasher, Hash};
use core::time::Duration;

use crate::cache::{Cache, Peek};
use crate::error::Error;
use crate::flight::Landing;
use crate::listener::Listener;
use crate::load_guard::Served;
use crate::loader::BatchLoader;
use crate::lock::RawLock;
use crate::read_through::{Intent, Joined, Role};
use crate::shard::FlightFor;
use crate::stats::bump;
use crate::status::{Answer, Status};
use crate::sync::Arc;
use crate::timer::{Clock, Timer};
use crate::weigher::Weigh;

/// A key of the batch still without an answer.
#[derive(Clone, Copy)]
struct Pending {
    index: usize,
    hash: u64,
    status: Status,
    /// Its waiter gave up after `lock_timeout`: load it without coalescing.
    bypass: bool,
}

/// A key whose load another caller leads.
type Waiting<V, E, T> = (Pending, Arc<FlightFor<V, E, T>>);

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
    /// The values for `keys`, in order, loading every miss with one call of `loader`. Keys
    /// another caller is loading are waited for instead of loaded again. Duplicate keys are
    /// loaded once.
    ///
    /// If the loader fails, or returns a different number of values than it was given keys
    /// ([`Error::BatchSize`]), the whole call fails, nothing is stored, and callers waiting on
    /// those keys get the same error. With [`fail_safe`](crate::Builder::fail_safe), a key
    /// with an expired value at hand is answered with it ([`Status::Stale`]) as a single
    /// call's would be, and its waiters too; the call fails only if a key has none.
    ///
    /// ```
    /// use readthrough_core::{Cache, Error, Status};
    /// # futures_lite::future::block_on(async {
    /// let cache = Cache::<u32, u32>::new(100).unwrap();
    /// cache.insert(1, 10);
    /// let tens = |keys: &[&u32]| {
    ///     let values: Vec<u32> = keys.iter().map(|k| **k * 10).collect();
    ///     async move { Ok(values) }
    /// };
    /// let answers = cache.get_or_load_many(&[1, 2], tens).await.unwrap();
    /// assert_eq!(answers[0].status, Status::Hit);
    /// assert_eq!((answers[1].value, answers[1].status), (20, Status::Miss));
    ///
    /// let short = |_: &[&u32]| async { Ok(Vec::new()) };
    /// let refused = cache.get_or_load_many(&[3, 4], short).await;
    /// assert!(matches!(refused, Err(Error::BatchSize { expected: 2, returned: 0 })));
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
        self.read_through_many(keys, &loader, |value| (value, None))
            .await
    }

    pub(crate) async fn read_through_many<B>(
        &self,
        keys: &[K],
        loader: &B,
        split: impl Fn(B::Value) -> (V, Option<Duration>),
    ) -> Result<Vec<Answer<V>>, Error<E>>
    where
        B: BatchLoader<K, Error = E>,
    {
        let hashes: Vec<u64> = keys.iter().map(|key| self.hash(key)).collect();
        let answers = self.load_many(keys, &hashes, loader, split).await;
        // Counted once the call has its outcome: the statuses its caller sees, or one failure.
        match &answers {
            Ok(Batch { answers, fail_safe }) => {
                for (&hash, answer) in hashes.iter().zip(answers) {
                    self.shard(hash).counters.answered(answer.status);
                }
                for &index in fail_safe {
                    bump(&self.shard(hashes[index]).counters.fail_safe);
                }
            }
            Err(_) => {
                if let Some(&hash) = hashes.first() {
                    bump(&self.shard(hash).counters.failures);
                }
            }
        }
        answers.map(|batch| batch.answers)
    }

    /// The batch's answers; `hashes[i]` is the hash of `keys[i]`.
    async fn load_many<B>(
        &self,
        keys: &[K],
        hashes: &[u64],
        loader: &B,
        split: impl Fn(B::Value) -> (V, Option<Duration>),
    ) -> Result<Batch<V>, Error<E>>
    where
        B: BatchLoader<K, Error = E>,
    {
        let mut fail_safe = Vec::new();
        let mut answers: Vec<Option<Answer<V>>> = Vec::with_capacity(keys.len());
        answers.resize_with(keys.len(), || None);
        let mut pending = Vec::new();
        for (index, (key, &hash)) in keys.iter().zip(hashes).enumerate() {
            let shard = self.shard(hash);
            let status = match self.peek(shard, hash, key, false) {
                Peek::Fresh(value) => {
                    answers[index] = Some(Answer::new(value, Status::Hit));
                    continue;
                }
                Peek::Expired { .. } => Status::Expired,
                Peek::Absent => Status::Miss,
            };
            pending.push(Pending {
                index,
                hash,
                status,
                bypass: false,
            });
        }

        while !pending.is_empty() {
            // Each key this call loads, with its flight's guard (none when bypassing).
            let mut leading = Vec::new();
            let mut waiting: Vec<Waiting<V, E, T>> = Vec::new();
            for item in pending.drain(..) {
                if item.bypass {
                    leading.push((item, None));
                    continue;
                }
                let shard = self.shard(item.hash);
                match self.join(shard, item.hash, &keys[item.index], Intent::Load) {
                    Joined::Ready(Ok(value)) => {
                        answers[item.index] = Some(Answer::new(value, Status::Hit));
                    }
                    Joined::Ready(Err(error)) => return Err(error),
                    Joined::FailSafe(value, age) => {
                        answers[item.index] = Some(Answer::new(value, Status::Stale(age)));
                        fail_safe.push(item.index);
                    }
                    // The call counts its fail-safe answers once it has them all.
                    Joined::Role(Role::Leader(guard)) => {
                        leading.push((item, Some(guard.uncounted())));
                    }
                    Joined::Role(Role::Waiter(flight)) => waiting.push((item, flight)),
                    Joined::Role(Role::Bypass) | Joined::Busy => leading.push((item, None)),
                }
            }

            if let Some((first, _)) = leading.first() {
                let counted_in = self.shard(first.hash);
                let batch: Vec<&K> = leading.iter().map(|(item, _)| &keys[item.index]).collect();
                let loaded = self.run_load(counted_in, loader.load_many(&batch)).await;
                let values = match loaded {
                    Ok(values) if values.len() == batch.len() => Ok(values),
                    Ok(values) => {
                        bump(&counted_in.counters.load_errors);
                        Err(Error::BatchSize {
                            expected: batch.len(),
                            returned: values.len(),
                        })
                    }
                    Err(error) => Err(error),
                };
                match values {
                    Ok(values) => {
                        for ((item, guard), value) in leading.into_iter().zip(values) {
                            let (value, ttl) = split(value);
                            let value = match guard {
                                Some(guard) => match guard
                                    .complete(&keys[item.index], Ok((value, ttl)))?
                                {
                                    Served::Loaded(value) | Served::FailSafe { value, .. } => value,
                                },
                                None => value,
                            };
                            answers[item.index] = Some(Answer::new(value, item.status));
                        }
                    }
                    // As for a single key: each led key with a fail-safe value at hand is
                    // answered with it; the call fails if any key has none (after every key
                    // has landed, so each one's waiters get its fallback or the error).
                    Err(error) => {
                        let mut failed = false;
                        for (item, guard) in leading {
                            let key = &keys[item.index];
                            match guard.map(|guard| guard.complete(key, Err(error.clone()))) {
                                Some(Ok(Served::FailSafe { value, age })) => {
                                    answers[item.index] =
                                        Some(Answer::new(value, Status::Stale(age)));
                                    fail_safe.push(item.index);
                                }
                                // A bypass has no flight to fall back through, as for a key.
                                Some(Ok(Served::Loaded(_)) | Err(_)) | None => failed = true,
                            }
                        }
                        if failed {
                            return Err(error);
                        }
                    }
                }
            }

            for (item, flight) in waiting {
                match self.wait(self.shard(item.hash), &flight).await {
                    Some(Landing::Loaded(Ok(value))) => {
                        answers[item.index] = Some(Answer::new(value, Status::LockHit));
                    }
                    Some(Landing::FailSafe { value, expired }) => {
                        let age = self.timer.age(expired);
                        answers[item.index] = Some(Answer::new(value, Status::Stale(age)));
                        fail_safe.push(item.index);
                    }
                    Some(Landing::Loaded(Err(error))) => return Err(error),
                    Some(Landing::Abandoned) => pending.push(item),
                    None => {
                        bump(&self.shard(item.hash).counters.lock_timeouts);
                        crate::events::event!(
                            warn,
                            "lock timeout: gave up waiting for another caller's load, loading alone"
                        );
                        pending.push(Pending {
                            bypass: true,
                            ..item
                        });
                    }
                }
            }
        }
        debug_assert!(answers.iter().all(Option::is_some));
        Ok(Batch {
            answers: answers.into_iter().flatten().collect(),
            fail_safe,
        })
    }
}

/// A batch call's answers, and which of them fail-safe served (their indexes).
struct Batch<V> {
    answers: Vec<Answer<V>>,
    fail_safe: Vec<usize>,
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
    /// [`get_or_load_many`](Self::get_or_load_many) with per-value TTLs, as
    /// [`get_or_load_with_ttl`](Self::get_or_load_with_ttl) has them.
    ///
    /// ```
    /// # use core::time::Duration;
    /// use readthrough_core::{Cache, ManualTimer};
    /// # futures_lite::future::block_on(async {
    /// let timer = ManualTimer::new();
    /// let cache = Cache::<u8, u8>::builder().capacity(8).timer(timer.clone()).build().unwrap();
    /// let load = |keys: &[&u8]| {
    ///     let values: Vec<_> = keys.iter().map(|k| (**k, Some(Duration::from_secs(1)))).collect();
    ///     async move { Ok(values) }
    /// };
    /// cache.get_or_load_many_with_ttl(&[1, 2], load).await.unwrap();
    /// timer.advance(Duration::from_secs(1));
    /// assert_eq!(cache.get(&1), None);
    /// # });
    /// ```
    pub async fn get_or_load_many_with_ttl<B>(
        &self,
        keys: &[K],
        loader: B,
    ) -> Result<Vec<Answer<V>>, Error<E>>
    where
        B: BatchLoader<K, Value = (V, Option<Duration>), Error = E>,
    {
        self.read_through_many(keys, &loader, |loaded| loaded).await
    }
}

//! The cache's serving features through a shared tier (`Tiered` on `MemoryTier`):
//! stale-while-revalidate, refresh ahead, explicit refreshes, batch loads and fail-safe, each
//! with one load per key per fleet. Time is a `ManualTimer`: nothing here sleeps.

mod common;

use std::time::Duration;

use common::tier::{Node, TTL, background_node_with, node, node_with};
use common::{Calls, Gate, Tasks, block_on, bounded, join_all, yield_many};
use futures_lite::future::zip;
use readthrough_core::{
    Answer, BatchLoader, Error, Loader, LockOutcome, ManualTimer, MemoryTier, RefreshAhead,
    SendLoader, Status, Tier,
};

/// No test may hang: each gets this long (real time; the tests' own time is manual).
const BOUND: Duration = Duration::from_secs(20);
const STALE_WINDOW: Duration = Duration::from_secs(600);

/// A loader that counts its calls (and the keys of batch calls) and answers `value` (plus the
/// key, for batches) once `gate` opens.
#[derive(Clone)]
struct Origin {
    calls: Calls,
    keys: std::sync::Arc<std::sync::Mutex<Vec<u32>>>,
    gate: Gate,
    value: Result<u32, String>,
}

impl Origin {
    fn new(value: Result<u32, String>) -> Self {
        let gate = Gate::default();
        gate.open();
        Origin::gated(value, gate)
    }

    fn gated(value: Result<u32, String>, gate: Gate) -> Self {
        Origin {
            calls: Calls::default(),
            keys: Default::default(),
            gate,
            value,
        }
    }

    fn keys(&self) -> Vec<u32> {
        self.keys.lock().unwrap().clone()
    }
}

impl Loader<u32> for Origin {
    type Value = u32;
    type Error = String;

    async fn load(&self, _key: &u32) -> Result<u32, String> {
        self.calls.record();
        self.gate.then(self.value.clone()).await
    }
}

impl SendLoader<u32> for Origin {
    fn load_send(&self, key: &u32) -> impl Future<Output = Result<u32, String>> + Send {
        self.load(key)
    }
}

impl BatchLoader<u32> for Origin {
    type Value = u32;
    type Error = String;

    async fn load_many(&self, keys: &[&u32]) -> Result<Vec<u32>, String> {
        self.calls.record();
        self.keys.lock().unwrap().extend(keys.iter().copied());
        let base = self.gate.then(self.value.clone()).await?;
        Ok(keys.iter().map(|key| base + **key).collect())
    }
}

fn seen(answer: Result<Answer<u32>, Error<String>>) -> (u32, Status) {
    let answer = answer.expect("an answer");
    (answer.value, answer.status)
}

fn count(outcomes: &[(u32, Status)], wanted: Status) -> usize {
    outcomes
        .iter()
        .filter(|(_, status)| *status == wanted)
        .count()
}

fn with_stale_window(
    tier: &MemoryTier<u32, u32, ManualTimer>,
    timer: &ManualTimer,
) -> (Node, Node) {
    let stale = |builder: common::tier::NodeBuilder| builder.stale_window(STALE_WINDOW);
    (
        node_with(tier, timer, stale).0,
        node_with(tier, timer, stale).0,
    )
}

#[test]
fn stale_values_on_two_nodes_are_refreshed_with_one_load_for_the_fleet() {
    bounded(BOUND, || {
        let timer = ManualTimer::new();
        let tier = MemoryTier::new(timer.clone());
        let (a, b) = with_stale_window(&tier, &timer);
        block_on(a.get_or_load(&1, Origin::new(Ok(1)))).unwrap();
        assert_eq!(
            seen(block_on(b.get_or_load(&1, Origin::new(Ok(1))))),
            (1, Status::TierHit)
        );
        timer.advance(TTL + Duration::from_secs(1));
        // Stale on both nodes and gone from the tier: A's first caller leads and takes the
        // fleet lock; B's first caller finds the lock held and waits for A's landing; every
        // other caller on either node is answered at once with the stale value.
        let gate = Gate::default();
        let origin = Origin::gated(Ok(2), gate.clone());
        let callers: Vec<_> = (0..20)
            .map(|index| {
                let node = if index < 10 { &a } else { &b };
                node.get_or_revalidate(&1, origin.clone())
            })
            .collect();
        let opener = async {
            yield_many(10).await;
            gate.open();
        };
        let (outcomes, ()) = block_on(zip(join_all(callers), opener));
        let outcomes: Vec<_> = outcomes.into_iter().map(seen).collect();
        assert_eq!(origin.calls.count(), 1, "the fleet loaded the key twice");
        let stale = Status::Stale(Duration::from_secs(1));
        let (on_a, on_b) = outcomes.split_at(10);
        assert_eq!(on_a[0], (2, Status::Expired));
        assert_eq!((count(on_a, stale), count(on_b, stale)), (9, 9));
        assert_eq!(on_b[0], (2, Status::TierLockHit));
        assert!(on_a.iter().chain(on_b).all(|(value, status)| {
            *status == stale && *value == 1 || *status != stale && *value == 2
        }));
        assert_eq!((a.cache().get(&1), b.cache().get(&1)), (Some(2), Some(2)));
        assert_eq!(b.stats().tier_lock_hits, 1);
        assert_eq!(a.cache().loads_in_flight() + b.cache().loads_in_flight(), 0);
    });
}

#[test]
fn a_stale_node_takes_the_value_another_node_refreshed() {
    bounded(BOUND, || {
        let timer = ManualTimer::new();
        let tier = MemoryTier::new(timer.clone());
        let (a, b) = with_stale_window(&tier, &timer);
        block_on(a.get_or_load(&1, Origin::new(Ok(1)))).unwrap();
        block_on(b.get_or_load(&1, Origin::new(Ok(1)))).unwrap();
        timer.advance(TTL + Duration::from_secs(1));
        let origin = Origin::new(Ok(2));
        assert_eq!(
            seen(block_on(a.get_or_revalidate(&1, origin.clone()))),
            (2, Status::Expired)
        );
        assert_eq!(
            seen(block_on(b.get_or_revalidate(&1, origin.clone()))),
            (2, Status::TierHit)
        );
        // The background entry point (`revalidate`) takes the tier's copy too.
        timer.advance(TTL + Duration::from_secs(1));
        let refreshed = block_on(a.revalidate(&1, Origin::new(Ok(3))));
        assert_eq!(seen(refreshed.unwrap()), (3, Status::Miss));
        let refreshed = block_on(b.revalidate(&1, origin.clone()));
        assert_eq!(seen(refreshed.unwrap()), (3, Status::TierHit));
        assert!(block_on(b.revalidate(&1, origin.clone())).is_none());
        assert_eq!(origin.calls.count(), 1);
    });
}

#[test]
fn refresh_ahead_through_the_tier_loads_once_and_never_takes_a_copy_that_is_due_itself() {
    bounded(BOUND, || {
        let timer = ManualTimer::new();
        let tier = MemoryTier::new(timer.clone());
        let ahead = |builder: common::tier::NodeBuilder| {
            builder.refresh_ahead(RefreshAhead::BeforeExpiry(Duration::from_secs(10)))
        };
        let (a, _) = node_with(&tier, &timer, ahead);
        let (b, _) = node_with(&tier, &timer, ahead);
        block_on(a.get_or_load(&1, Origin::new(Ok(1)))).unwrap();
        block_on(b.get_or_load(&1, Origin::new(Ok(1)))).unwrap();
        timer.advance(TTL - Duration::from_secs(5));
        // Due on A: the tier's copy is just as old, so A loads (under the fleet lock).
        let origin = Origin::new(Ok(2));
        assert_eq!(
            seen(block_on(a.get_or_revalidate(&1, origin.clone()))),
            (2, Status::Refreshed)
        );
        assert_eq!(origin.calls.count(), 1);
        // Due on B: the tier now holds A's new value, which B takes without a load.
        assert_eq!(
            seen(block_on(b.get_or_revalidate(&1, origin.clone()))),
            (2, Status::TierHit)
        );
        assert_eq!(
            origin.calls.count(),
            1,
            "B loaded although A's value was shared"
        );

        // B's copy lives for what was left in the tier: not due again until 50 s on.
        timer.advance(Duration::from_secs(49));
        assert_eq!(
            seen(block_on(b.get_or_revalidate(&1, origin.clone()))),
            (2, Status::Hit)
        );
        assert_eq!(origin.calls.count(), 1);
    });
}

#[test]
fn an_explicit_refresh_loads_from_the_origin_and_shares_the_result() {
    bounded(BOUND, || {
        let timer = ManualTimer::new();
        let tier = MemoryTier::new(timer.clone());
        let (a, a_calls) = node(&tier, &timer);
        let (b, _) = node(&tier, &timer);
        block_on(a.get_or_load(&1, Origin::new(Ok(1)))).unwrap();
        let origin = Origin::new(Ok(2));
        let refreshed = block_on(a.refresh(&1, origin.clone())).unwrap();
        assert_eq!(seen(refreshed), (2, Status::Miss));
        assert_eq!(origin.calls.count(), 1, "the refresh took the tier's copy");
        assert_eq!(
            a_calls.locks(),
            2,
            "the refresh loaded without the fleet lock"
        );
        assert_eq!(
            seen(block_on(b.get_or_load(&1, origin.clone()))),
            (2, Status::TierHit)
        );
        // Another node holding the lock: the refresh waits for its landing.
        let other = tier.node();
        let LockOutcome::Acquired(_token) = block_on(other.lock(&1, Duration::from_secs(30)))
        else {
            panic!("the lock was free");
        };
        let landing = async {
            yield_many(5).await;
            block_on(other.store(&1, &7, TTL));
            block_on(other.announce(&1, readthrough_core::Announcement::Landed));
        };
        let (refreshed, ()) = block_on(zip(a.refresh(&1, origin.clone()), landing));
        assert_eq!(seen(refreshed.unwrap()), (7, Status::TierLockHit));
        assert_eq!(origin.calls.count(), 1);
    });
}

#[test]
fn a_batch_takes_what_the_tier_has_and_loads_the_rest_once_for_the_fleet() {
    bounded(BOUND, || {
        let timer = ManualTimer::new();
        let tier = MemoryTier::new(timer.clone());
        let (a, _) = node(&tier, &timer);
        let (b, b_calls) = node(&tier, &timer);
        let origin = Origin::new(Ok(100));
        let answers = block_on(a.get_or_load_many(&[1, 2, 3], origin.clone())).unwrap();
        let answers: Vec<_> = answers.into_iter().map(|a| (a.value, a.status)).collect();
        assert_eq!(
            answers,
            [
                (101, Status::Miss),
                (102, Status::Miss),
                (103, Status::Miss)
            ]
        );
        assert_eq!(tier.len(), 3);
        let answers = block_on(b.get_or_load_many(&[1, 2, 4, 3], origin.clone())).unwrap();
        let answers: Vec<_> = answers.into_iter().map(|a| (a.value, a.status)).collect();
        assert_eq!(
            answers,
            [
                (101, Status::TierHit),
                (102, Status::TierHit),
                (104, Status::Miss),
                (103, Status::TierHit)
            ]
        );
        assert_eq!(origin.calls.count(), 2);
        assert_eq!(
            origin.keys(),
            [1, 2, 3, 4],
            "B's batch loaded keys the tier had"
        );
        assert_eq!(b_calls.locks(), 1, "B locked more than its one missing key");
        let stats = b.stats();
        assert_eq!((stats.tier_hits, stats.misses, stats.loads), (3, 1, 1));
        // Now in B's memory: hits, and no tier calls.
        let fetches = b_calls.fetches();
        let answers = block_on(b.get_or_load_many(&[1, 4], origin.clone())).unwrap();
        assert!(answers.iter().all(|answer| answer.status == Status::Hit));
        assert_eq!(b_calls.fetches(), fetches);
        assert_eq!(a.cache().loads_in_flight() + b.cache().loads_in_flight(), 0);
    });
}

#[test]
fn a_batch_waits_for_a_key_another_node_is_loading() {
    bounded(BOUND, || {
        let timer = ManualTimer::new();
        let tier = MemoryTier::new(timer.clone());
        let (b, _) = node(&tier, &timer);
        let other = tier.node();
        let LockOutcome::Acquired(token) = block_on(other.lock(&2, Duration::from_secs(30))) else {
            panic!("the lock was free");
        };
        let origin = Origin::new(Ok(100));
        let landing = async {
            yield_many(5).await;
            block_on(other.store(&2, &42, TTL));
            block_on(other.unlock(&2, token));
            block_on(other.announce(&2, readthrough_core::Announcement::Landed));
        };
        let (answers, ()) = block_on(zip(b.get_or_load_many(&[1, 2], origin.clone()), landing));
        let answers: Vec<_> = answers
            .unwrap()
            .into_iter()
            .map(|a| (a.value, a.status))
            .collect();
        assert_eq!(answers, [(101, Status::Miss), (42, Status::TierLockHit)]);
        assert_eq!(origin.keys(), [1]);
    });
}

#[test]
fn a_failed_batch_releases_its_fleet_locks_and_loads_nothing_into_the_tier() {
    bounded(BOUND, || {
        let timer = ManualTimer::new();
        let tier = MemoryTier::new(timer.clone());
        let (a, _) = node(&tier, &timer);
        let failed = block_on(a.get_or_load_many(&[1, 2], Origin::new(Err("down".into()))));
        assert!(matches!(failed, Err(Error::Load(error)) if *error == "down"));
        assert!(tier.is_empty());
        for key in [1, 2] {
            assert!(
                matches!(
                    block_on(tier.node().lock(&key, Duration::from_secs(1))),
                    LockOutcome::Acquired(_)
                ),
                "the lock of {key} was left held"
            );
        }
        assert_eq!(a.stats().fleet_locks_dropped, 0);
    });
}

#[test]
fn fail_safe_through_the_tier_answers_with_this_nodes_expired_value() {
    bounded(BOUND, || {
        let timer = ManualTimer::new();
        let tier = MemoryTier::new(timer.clone());
        let fail_safe = |builder: common::tier::NodeBuilder| {
            builder.fail_safe(Duration::from_secs(600), Duration::from_secs(5))
        };
        let (a, _) = node_with(&tier, &timer, fail_safe);
        block_on(a.get_or_load(&1, Origin::new(Ok(1)))).unwrap();
        timer.advance(TTL + Duration::from_secs(2));
        // The tier lost its copy too (same TTL): the load through the fleet lock fails.
        let down = Origin::new(Err("origin down".into()));
        assert_eq!(
            seen(block_on(a.get_or_load(&1, down.clone()))),
            (1, Status::Stale(Duration::from_secs(2)))
        );
        assert!(
            tier.is_empty(),
            "a fail-safe value was shared as a fresh one"
        );
        // And with the tier down as well.
        tier.set_available(false);
        timer.advance(Duration::from_secs(5));
        assert_eq!(
            seen(block_on(a.get_or_load(&1, down.clone()))),
            (1, Status::Stale(Duration::from_secs(7)))
        );
        assert!(a.stats().tier_errors > 0);
        assert_eq!(down.calls.count(), 2);
        // The tier back and the origin up: loaded, shared.
        tier.set_available(true);
        timer.advance(Duration::from_secs(5));
        assert_eq!(
            seen(block_on(a.get_or_load(&1, Origin::new(Ok(3))))),
            (3, Status::Expired)
        );
        assert_eq!(tier.len(), 1);
    });
}

/// A caller can spawn what it gets from a tiered cache whose error type has a lifetime in it
/// (`Box<dyn Error + Send + Sync>`): the futures are `Send` (a compile-time check, in the shape
/// of a `tokio::spawn(async move { .. })`).
#[test]
fn tiered_futures_with_a_boxed_error_are_send() {
    type BoxError = Box<dyn std::error::Error + Send + Sync>;
    fn assert_send<F: std::future::Future + Send + 'static>(future: F) -> F {
        future
    }
    let timer = ManualTimer::new();
    let tier = MemoryTier::<u32, u32, _>::new(timer.clone());
    let cache = readthrough_core::Cache::<u32, u32, BoxError>::builder()
        .capacity(8)
        .timer(timer.clone())
        .ttl(TTL)
        .stale_window(STALE_WINDOW)
        .lock_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let tiered = std::sync::Arc::new(readthrough_core::Tiered::new(cache, tier.node()).unwrap());
    let load = |key: &u32| {
        let key = *key;
        async move { Ok::<u32, BoxError>(key + 1) }
    };
    let batch = |keys: &[&u32]| {
        let values: Vec<u32> = keys.iter().map(|key| **key + 1).collect();
        async move { Ok::<Vec<u32>, BoxError>(values) }
    };
    let node = tiered.clone();
    let loaded = assert_send(async move { node.get_or_load(&1, load).await.unwrap().value });
    let node = tiered.clone();
    let revalidated =
        assert_send(async move { node.get_or_revalidate(&2, load).await.unwrap().value });
    let node = tiered.clone();
    let refreshed =
        assert_send(async move { node.refresh(&3, load).await.unwrap().unwrap().value });
    let node = tiered.clone();
    let revalidate =
        assert_send(async move { node.revalidate(&4, load).await.unwrap().unwrap().value });
    let node = tiered.clone();
    let many =
        assert_send(async move { node.get_or_load_many(&[5], batch).await.unwrap()[0].value });
    let all = async {
        [
            loaded.await,
            revalidated.await,
            refreshed.await,
            revalidate.await,
            many.await,
        ]
    };
    assert_eq!(block_on(all), [2, 3, 4, 5, 6]);
}

#[test]
fn a_burst_of_stale_reads_in_the_background_spawns_one_refresh_through_the_tier() {
    bounded(BOUND, || {
        let (timer, tasks) = (ManualTimer::new(), Tasks::default());
        let tier = MemoryTier::new(timer.clone());
        let stale = |builder: common::tier::BackgroundBuilder| builder.stale_window(STALE_WINDOW);
        let (node, calls) = background_node_with(&tier, &timer, &tasks, stale);
        block_on(node.insert(1, 1));
        timer.advance(TTL + Duration::from_secs(1));
        let origin = Origin::new(Ok(2));
        // Fewer under miri, which runs 1,000 readers past the test's real-time bound.
        let burst = if cfg!(miri) { 50 } else { 1_000 };
        let readers: Vec<_> = (0..burst)
            .map(|_| node.get_or_revalidate_in_background(&1, origin.clone()))
            .collect();
        let outcomes: Vec<_> = block_on(join_all(readers)).into_iter().map(seen).collect();
        let stale = (1, Status::Stale(Duration::from_secs(1)));
        assert!(outcomes.iter().all(|outcome| *outcome == stale));
        assert_eq!((tasks.pending(), origin.calls.count()), (1, 0));
        assert_eq!(
            calls.fetches(),
            0,
            "a stale read must not wait for the tier"
        );

        assert_eq!(tasks.run_all(), 1);
        // The tier's copy expired with this node's: the task took the fleet lock and loaded.
        assert_eq!(
            (origin.calls.count(), calls.locks(), calls.stores()),
            (1, 1, 2)
        );
        assert_eq!(node.cache().get(&1), Some(2));
        let fetched = block_on(tier.node().fetch(&1));
        assert!(matches!(
            fetched,
            readthrough_core::Fetched::Hit { value: 2, .. }
        ));
        let fresh = seen(block_on(
            node.get_or_revalidate_in_background(&1, origin.clone()),
        ));
        assert_eq!(fresh, (2, Status::Hit));
        assert_eq!((tasks.pending(), node.cache().loads_in_flight()), (0, 0));
    });
}

#[test]
fn a_background_refresh_takes_another_nodes_fresher_copy_without_loading() {
    bounded(BOUND, || {
        let (timer, tasks) = (ManualTimer::new(), Tasks::default());
        let tier = MemoryTier::new(timer.clone());
        let stale = |builder: common::tier::BackgroundBuilder| builder.stale_window(STALE_WINDOW);
        let (a, _) = background_node_with(&tier, &timer, &tasks, stale);
        let (b, b_calls) = background_node_with(&tier, &timer, &tasks, stale);
        block_on(a.get_or_load(&1, Origin::new(Ok(1)))).unwrap();
        assert_eq!(
            seen(block_on(b.get_or_load(&1, Origin::new(Ok(1))))),
            (1, Status::TierHit)
        );
        timer.advance(TTL + Duration::from_secs(1));
        // A refreshes first (in its caller) and stores its value in the tier.
        let refreshed = seen(block_on(a.get_or_revalidate(&1, Origin::new(Ok(2)))));
        assert_eq!(refreshed, (2, Status::Expired));

        let b_origin = Origin::new(Ok(3));
        let stale_on_b = seen(block_on(
            b.get_or_revalidate_in_background(&1, b_origin.clone()),
        ));
        assert_eq!(stale_on_b, (1, Status::Stale(Duration::from_secs(1))));
        let locks_before = b_calls.locks();
        assert_eq!(tasks.run_all(), 1);
        assert_eq!(b_origin.calls.count(), 0, "B loaded a value the tier had");
        assert_eq!(
            b_calls.locks(),
            locks_before,
            "B took the fleet lock for a tier hit"
        );
        assert_eq!(b.cache().get(&1), Some(2));
        // Counted once, for B's caller that got it first; a task answers nobody, so its tier
        // hit is not an answer (as the plain cache's background loads are not).
        assert_eq!(b.stats().tier_hits, 1);
        assert_eq!(a.cache().loads_in_flight() + b.cache().loads_in_flight(), 0);
    });
}

#[test]
fn a_failed_background_refresh_keeps_the_stale_value_and_frees_the_fleet_lock() {
    bounded(BOUND, || {
        let (timer, tasks) = (ManualTimer::new(), Tasks::default());
        let tier = MemoryTier::new(timer.clone());
        let stale = |builder: common::tier::BackgroundBuilder| builder.stale_window(STALE_WINDOW);
        let (node, _) = background_node_with(&tier, &timer, &tasks, stale);
        block_on(node.insert(1, 1));
        timer.advance(TTL + Duration::from_secs(1));
        let failing = Origin::new(Err("origin down".to_string()));
        let answer = seen(block_on(
            node.get_or_revalidate_in_background(&1, failing.clone()),
        ));
        assert_eq!(answer, (1, Status::Stale(Duration::from_secs(1))));
        assert_eq!(tasks.run_all(), 1);
        assert_eq!(failing.calls.count(), 1);

        // Still the stale value; the next read tries again, in one more task.
        let again = seen(block_on(
            node.get_or_revalidate_in_background(&1, failing.clone()),
        ));
        assert_eq!(again, (1, Status::Stale(Duration::from_secs(1))));
        assert_eq!(tasks.run_all(), 1);
        assert_eq!(failing.calls.count(), 2);
        assert_eq!(node.cache().loads_in_flight(), 0);
        // The failed refresh released its fleet lock: another node takes it at once.
        let other = tier.node();
        let lock = block_on(other.lock(&1, Duration::from_secs(1)));
        assert!(matches!(lock, LockOutcome::Acquired(_)), "{lock:?}");
    });
}

#[test]
fn a_background_refresh_ahead_loads_once_and_the_value_never_expires() {
    bounded(BOUND, || {
        let (timer, tasks) = (ManualTimer::new(), Tasks::default());
        let tier = MemoryTier::new(timer.clone());
        let ahead = |builder: common::tier::BackgroundBuilder| {
            builder.refresh_ahead(RefreshAhead::BeforeExpiry(Duration::from_secs(10)))
        };
        let (node, calls) = background_node_with(&tier, &timer, &tasks, ahead);
        let origin = Origin::new(Ok(1));
        let first = seen(block_on(
            node.get_or_revalidate_in_background(&1, origin.clone()),
        ));
        assert_eq!((first, origin.calls.count()), ((1, Status::Miss), 1));
        // Within 10 s of expiry: a hit, and one refresh in the background.
        timer.advance(TTL - Duration::from_secs(5));
        let origin = Origin::new(Ok(2));
        for _ in 0..100 {
            let answer = seen(block_on(
                node.get_or_revalidate_in_background(&1, origin.clone()),
            ));
            assert_eq!(answer, (1, Status::Hit));
        }
        assert_eq!((tasks.pending(), origin.calls.count()), (1, 0));
        let locks_before = calls.locks();
        assert_eq!(tasks.run_all(), 1);
        // The tier's copy is as due as this node's: not taken, loaded under the fleet lock.
        assert_eq!((origin.calls.count(), calls.locks()), (1, locks_before + 1));
        timer.advance(Duration::from_secs(10));
        let later = seen(block_on(
            node.get_or_revalidate_in_background(&1, origin.clone()),
        ));
        assert_eq!(
            later,
            (2, Status::Hit),
            "the refreshed value expired with the old one"
        );
        assert_eq!((tasks.pending(), node.cache().loads_in_flight()), (0, 0));
    });
}

#[test]
fn a_background_refresh_dropped_unrun_leaves_nothing_in_flight_or_locked() {
    bounded(BOUND, || {
        let (timer, tasks) = (ManualTimer::new(), Tasks::default());
        let tier = MemoryTier::new(timer.clone());
        let stale = |builder: common::tier::BackgroundBuilder| builder.stale_window(STALE_WINDOW);
        let (node, _) = background_node_with(&tier, &timer, &tasks, stale);
        block_on(node.insert(1, 1));
        timer.advance(TTL + Duration::from_secs(1));
        let origin = Origin::new(Ok(2));
        let answer = seen(block_on(
            node.get_or_revalidate_in_background(&1, origin.clone()),
        ));
        assert_eq!(answer, (1, Status::Stale(Duration::from_secs(1))));
        assert_eq!(node.cache().loads_in_flight(), 1);
        // The executor shut down: the task is dropped without ever running.
        assert_eq!(tasks.drop_all(), 1);
        assert_eq!(node.cache().loads_in_flight(), 0);
        let other = tier.node();
        let lock = block_on(other.lock(&1, Duration::from_secs(1)));
        let LockOutcome::Acquired(token) = lock else {
            panic!("the fleet lock is held: {lock:?}");
        };
        block_on(other.unlock(&1, token));
        // The next read starts a new refresh, which lands.
        block_on(node.get_or_revalidate_in_background(&1, origin.clone())).unwrap();
        assert_eq!(tasks.run_all(), 1);
        assert_eq!((origin.calls.count(), node.cache().get(&1)), (1, Some(2)));
    });
}

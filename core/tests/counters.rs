//! Counters equal the statuses the callers saw: one count per answered call, under its status.

mod common;

use std::time::Duration;

use common::{Calls, Gate, block_on, join_all, yield_many};
use readthrough_core::{Answer, Cache, Error, ManualTimer, Stats, Status};

/// Tallies statuses (and failures) the way `Stats` should.
fn tally<'a>(outcomes: impl IntoIterator<Item = &'a Result<Status, ()>>) -> Stats {
    let mut stats = Stats::default();
    for outcome in outcomes {
        match outcome {
            Ok(Status::Hit) => stats.hits += 1,
            Ok(Status::Miss) => stats.misses += 1,
            Ok(Status::Expired) => stats.expired += 1,
            Ok(Status::LockHit) => stats.lock_hits += 1,
            Ok(Status::Stale(_)) => stats.stale += 1,
            Ok(Status::TierHit) => stats.tier_hits += 1,
            Ok(Status::TierLockHit) => stats.tier_lock_hits += 1,
            Ok(Status::Refreshed) => stats.refreshed += 1,
            Err(()) => stats.failures += 1,
        }
    }
    stats
}

fn per_status(stats: Stats) -> [usize; 9] {
    [
        stats.hits,
        stats.misses,
        stats.expired,
        stats.lock_hits,
        stats.stale,
        stats.tier_hits,
        stats.tier_lock_hits,
        stats.refreshed,
        stats.failures,
    ]
}

fn status<E>(outcome: Result<Answer<u32>, Error<E>>) -> Result<Status, ()> {
    outcome.map(|answer| answer.status).map_err(|_| ())
}

#[test]
fn a_storm_counts_one_miss_and_the_rest_as_lock_hits() {
    let cache = Cache::<u32, u32>::new(64).unwrap();
    let gate = Gate::default();
    let load = |_: &u32| gate.then(Ok(7));
    let callers: Vec<_> = (0..50)
        .map(|_| async { status(cache.get_or_load(&1, load).await) })
        .collect();
    let opener = async {
        yield_many(10).await;
        gate.open();
    };
    let (outcomes, ()) = block_on(futures_lite::future::zip(join_all(callers), opener));
    let outcomes: Vec<_> = outcomes
        .into_iter()
        .chain([status(block_on(cache.get_or_load(&1, load)))])
        .collect();
    let stats = cache.stats();
    assert_eq!(per_status(stats), per_status(tally(&outcomes)));
    assert_eq!((stats.misses, stats.lock_hits, stats.hits), (1, 49, 1));
    assert_eq!(stats.calls(), 51);
}

#[test]
fn an_abandoned_leader_counts_nothing_and_its_waiters_count_what_they_saw() {
    let cache = Cache::<u32, u32>::builder()
        .capacity(8)
        .shards(1)
        .build()
        .unwrap();
    let gate = Gate::default();
    let calls = Calls::default();
    let load = |_: &u32| {
        let call = calls.record();
        let gate = gate.clone();
        async move {
            if call == 1 {
                gate.wait().await;
            }
            Ok(call as u32)
        }
    };
    let mut leader = Box::pin(cache.get_or_load(&1, load));
    assert!(common::poll_once(leader.as_mut()).is_pending());
    let waiters: Vec<_> = (0..3)
        .map(|_| async { status(cache.get_or_load(&1, load).await) })
        .collect();
    let canceller = async {
        yield_many(5).await;
        drop(leader);
    };
    let (outcomes, ()) = block_on(futures_lite::future::zip(join_all(waiters), canceller));
    let stats = cache.stats();
    assert_eq!(per_status(stats), per_status(tally(&outcomes)));
    assert_eq!(stats.calls(), 3, "the cancelled call answered nothing");
    assert_eq!(stats.loads, 2);
}

#[test]
fn a_stale_answer_counts_as_stale_not_as_a_hit() {
    let timer = ManualTimer::new();
    let cache = Cache::<u32, u32>::builder()
        .capacity(8)
        .timer(timer.clone())
        .ttl(Duration::from_secs(1))
        .stale_window(Duration::from_secs(60))
        .build()
        .unwrap();
    cache.insert(1, 10);
    timer.advance(Duration::from_secs(5));
    let gate = Gate::default();
    let load = |_: &u32| gate.then(Ok(11));
    let callers: Vec<_> = (0..3)
        .map(|_| async { status(cache.get_or_revalidate(&1, load).await) })
        .collect();
    let opener = async {
        yield_many(10).await;
        gate.open();
    };
    let (mut outcomes, ()) = block_on(futures_lite::future::zip(join_all(callers), opener));
    outcomes.push(cache.get_stale(&1).map(|a| a.status).ok_or(()));
    let stats = cache.stats();
    assert_eq!(per_status(stats), per_status(tally(&outcomes)));
    assert_eq!((stats.expired, stats.stale, stats.hits), (1, 2, 1));
}

#[test]
fn a_failed_batch_that_waited_for_a_key_counts_one_failure() {
    let cache = Cache::<u32, u32, &str>::builder()
        .capacity(8)
        .shards(1)
        .build()
        .unwrap();
    let gate = Gate::default();
    let single = |key: &u32| {
        let outcome = if *key == 1 { Ok(1) } else { Err("row 2 down") };
        gate.then(outcome)
    };
    let never = |_: &[&u32]| async { Ok(Vec::<u32>::new()) };
    let first = async { status(cache.get_or_load(&1, single).await) };
    let second = async { status(cache.get_or_load(&2, single).await) };
    // The batch waits for key 1 (which lands) and key 2 (which fails).
    let batch_call = async {
        yield_many(3).await;
        let outcome = cache.get_or_load_many(&[1, 2], never).await;
        outcome.map(|_| Status::Hit).map_err(|_| ())
    };
    let opener = async {
        yield_many(10).await;
        gate.open();
    };
    let ((first, second), (batch_outcome, ())) = block_on(futures_lite::future::zip(
        futures_lite::future::zip(first, second),
        futures_lite::future::zip(batch_call, opener),
    ));
    assert_eq!(
        (first, second, batch_outcome),
        (Ok(Status::Miss), Err(()), Err(()))
    );
    let stats = cache.stats();
    assert_eq!(
        per_status(stats),
        per_status(tally(&[first, second, batch_outcome]))
    );
    assert_eq!((stats.failures, stats.lock_hits), (2, 0));
}

#[test]
fn a_waiter_that_finds_a_fresh_value_after_an_abandon_counts_a_hit() {
    let cache = Cache::<u32, u32>::builder()
        .capacity(8)
        .shards(1)
        .build()
        .unwrap();
    let gate = Gate::default();
    let load = |_: &u32| gate.then(Ok(5));
    let mut leader = Box::pin(cache.get_or_load(&1, load));
    assert!(common::poll_once(leader.as_mut()).is_pending());
    let waiter = async { status(cache.get_or_load(&1, load).await) };
    let interrupter = async {
        yield_many(3).await;
        // The leader is cancelled, and a value arrives before its waiter runs again.
        drop(leader);
        cache.insert(1, 9);
    };
    let (outcome, ()) = block_on(futures_lite::future::zip(waiter, interrupter));
    assert_eq!(outcome, Ok(Status::Hit));
    let stats = cache.stats();
    assert_eq!(per_status(stats), per_status(tally(&[outcome])));
}

#[test]
fn tiered_nodes_count_every_status_their_callers_saw() {
    use common::tier::node;
    use readthrough_core::MemoryTier;

    let timer = ManualTimer::new();
    let tier = MemoryTier::new(timer.clone());
    let nodes = [
        node(&tier, &timer).0,
        node(&tier, &timer).0,
        node(&tier, &timer).0,
    ];
    let gate = Gate::default();
    let load = |_: &u32| gate.then(Ok(5));
    // Nodes 0 and 1 storm key 1 together (Miss, TierLockHit, LockHit); node 2 comes later
    // (TierHit, then Hit); key 2 fails on node 0.
    let callers: Vec<_> = (0..20)
        .map(|index| {
            let node = &nodes[index % 2];
            async move { status(node.get_or_load(&1, load).await) }
        })
        .collect();
    let opener = async {
        yield_many(10).await;
        gate.open();
    };
    let (outcomes, ()) = block_on(futures_lite::future::zip(join_all(callers), opener));
    let mut seen: Vec<Vec<Result<Status, ()>>> = vec![Vec::new(), Vec::new(), Vec::new()];
    for (index, outcome) in outcomes.into_iter().enumerate() {
        seen[index % 2].push(outcome);
    }
    seen[2].push(status(block_on(nodes[2].get_or_load(&1, load))));
    seen[2].push(status(block_on(nodes[2].get_or_load(&1, load))));
    let fail = |_: &u32| async { Err::<u32, _>("down".to_string()) };
    seen[0].push(
        block_on(nodes[0].get_or_load(&2, fail))
            .map(|answer| answer.status)
            .map_err(|_| ()),
    );
    for (node, seen) in nodes.iter().zip(&seen) {
        assert_eq!(per_status(node.stats()), per_status(tally(seen)));
    }
    let total =
        |pick: fn(&Stats) -> usize| -> usize { nodes.iter().map(|node| pick(&node.stats())).sum() };
    assert_eq!(total(|s| s.misses), 1);
    assert_eq!(total(|s| s.tier_lock_hits), 1);
    assert_eq!(total(|s| s.tier_hits), 1);
    assert_eq!(total(|s| s.lock_hits), 18);
    assert_eq!(total(|s| s.failures), 1);
    assert_eq!(total(|s| s.calls()), 23);
}

/// Fail-safe answers count under `stale` (their status) and in `fail_safe` as well; the
/// stale-window answers of a revalidating read count only under `stale`.
#[test]
fn fail_safe_answers_are_stale_answers_counted_once_more() {
    let timer = ManualTimer::new();
    let cache = Cache::<u32, u32, &str>::builder()
        .capacity(8)
        .timer(timer.clone())
        .ttl(Duration::from_secs(1))
        .stale_window(Duration::from_secs(10))
        .fail_safe(Duration::from_secs(600), Duration::from_secs(5))
        .build()
        .unwrap();
    cache.insert(1, 10);
    cache.insert(2, 20);
    timer.advance(Duration::from_secs(30));
    cache.insert(3, 30);
    timer.advance(Duration::from_secs(2));
    let gate = Gate::default();
    let down = |_: &u32| gate.then(Err("down"));
    let mut outcomes = Vec::new();
    // Key 1: a leader and two waiters of a failed load, then one caller within the throttle.
    let callers: Vec<_> = (0..3)
        .map(|_| async { status(cache.get_or_load(&1, down).await) })
        .collect();
    let opener = async {
        yield_many(10).await;
        gate.open();
    };
    let (storm, ()) = block_on(futures_lite::future::zip(join_all(callers), opener));
    outcomes.extend(storm);
    outcomes.push(status(block_on(cache.get_or_load(&1, down))));
    // Key 2, 32 s past expiry (within `max_stale`), in a failed batch: fail-safe too.
    outcomes.push(status(
        block_on(cache.get_or_load_many(&[2], |_: &[&u32]| async { Err::<Vec<u32>, _>("down") }))
            .map(|mut answers| answers.remove(0)),
    ));
    // Key 3: within the stale window. A stale read is not fail-safe; a revalidating read whose
    // load fails, answered with it instead of the error, is.
    outcomes.push(cache.get_stale(&3).map(|a| a.status).ok_or(()));
    outcomes.push(status(block_on(cache.get_or_revalidate(&3, down))));
    // Key 4: nothing at hand: an error.
    outcomes.push(status(block_on(cache.get_or_load(&4, down))));
    let stats = cache.stats();
    assert_eq!(per_status(stats), per_status(tally(&outcomes)));
    assert_eq!((stats.stale, stats.fail_safe, stats.failures), (7, 6, 1));
    assert_eq!(stats.calls(), 8);
}

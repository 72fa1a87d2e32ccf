//! Coalescing where Pingora's `RTCache` falls short: cancelled or panicking leaders, shared
//! errors, loads that just landed, and many waiters.

mod common;

use std::pin::pin;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::{Calls, Gate, block_on, join_all, numbered_after, poll_once, yield_many};
use readthrough_core::{Cache, Error, ManualTimer, Status};

#[test]
fn cancelled_leader_hands_the_load_to_a_waiter() {
    let calls = Calls::default();
    let timer = ManualTimer::new();
    let cache: Cache<u32, u32, String, ManualTimer> = Cache::builder()
        .capacity(10)
        .timer(timer.clone())
        .build()
        .unwrap();
    let load = numbered_after(&calls, &timer, Duration::from_secs(1));

    let mut leader = Box::pin(cache.get_or_load(&7, &load));
    assert!(poll_once(leader.as_mut()).is_pending());
    let mut waiters: Vec<_> = (0..3)
        .map(|_| Box::pin(cache.get_or_load(&7, &load)))
        .collect();
    for waiter in &mut waiters {
        assert!(poll_once(waiter.as_mut()).is_pending());
    }
    assert_eq!(cache.loads_in_flight(), 1);

    drop(leader);
    assert_eq!(
        cache.loads_in_flight(),
        0,
        "the dropped leader's flight is gone at once"
    );

    let answers = block_on(async {
        let driver = async {
            yield_many(10).await;
            timer.advance(Duration::from_secs(1));
        };
        futures_lite::future::zip(join_all(waiters), driver).await.0
    });
    assert_eq!(calls.count(), 2, "one extra load at most");
    let statuses: Vec<Status> = answers.iter().map(|a| a.as_ref().unwrap().status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == Status::Miss).count(), 1);
    assert_eq!(
        statuses.iter().filter(|s| **s == Status::LockHit).count(),
        2
    );
    assert!(answers.iter().all(|a| a.as_ref().unwrap().value == 2));
    assert_eq!(cache.loads_in_flight(), 0);
    assert_eq!(
        block_on(cache.get_or_load(&7, &load)).unwrap().status,
        Status::Hit
    );
}

#[test]
fn waiter_cancelled_while_waiting_leaves_nothing_behind() {
    let gate = Gate::default();
    let cache = Cache::<u32, u32>::new(10).unwrap();
    let load = |_: &u32| gate.then(Ok(1));
    let mut leader = pin!(cache.get_or_load(&1, &load));
    assert!(poll_once(leader.as_mut()).is_pending());
    {
        let mut waiter = pin!(cache.get_or_load(&1, &load));
        assert!(poll_once(waiter.as_mut()).is_pending());
    }
    gate.open();
    assert_eq!(block_on(leader).unwrap().status, Status::Miss);
    assert_eq!(cache.loads_in_flight(), 0);
}

#[test]
#[cfg_attr(miri, ignore = "unwinding across threads is slow under miri")]
fn panicking_loader_does_not_strand_waiters() {
    let cache = Arc::new(Cache::<u32, u32>::new(10).unwrap());
    let calls = Calls::default();
    let leader_started = Arc::new(Barrier::new(2));
    let waiter_joined = Gate::default();

    let leader = {
        let (cache, calls, started, joined) = (
            cache.clone(),
            calls.clone(),
            leader_started.clone(),
            waiter_joined.clone(),
        );
        std::thread::spawn(move || {
            block_on(cache.get_or_load(&1, |_: &u32| {
                calls.record();
                let (started, joined) = (started.clone(), joined.clone());
                async move {
                    started.wait();
                    joined.wait().await;
                    panic!("loader panicked on purpose");
                }
            }))
        })
    };
    leader_started.wait();
    let answer = block_on(async {
        let waiter = cache.get_or_load(&1, |_: &u32| {
            calls.record();
            async { Ok(5) }
        });
        let opener = async {
            yield_many(5).await;
            waiter_joined.open();
        };
        futures_lite::future::zip(waiter, opener).await.0
    });
    assert!(leader.join().is_err(), "the leader's thread panicked");
    let answer = answer.unwrap();
    assert_eq!((answer.value, answer.status), (5, Status::Miss));
    assert_eq!(calls.count(), 2);
    assert_eq!(cache.loads_in_flight(), 0);
    assert_eq!(cache.get(&1), Some(5));
}

#[test]
fn a_failed_load_runs_once_and_every_waiter_gets_its_error() {
    let calls = Calls::default();
    let gate = Gate::default();
    let cache = Cache::<u32, u32, &'static str>::new(10).unwrap();
    let failing = |_: &u32| {
        calls.record();
        gate.then(Err::<u32, _>("backend down"))
    };
    let results = block_on(async {
        let callers = (0..50).map(|_| cache.get_or_load(&3, &failing)).collect();
        let opener = async {
            yield_many(10).await;
            gate.open();
        };
        futures_lite::future::zip(join_all(callers), opener).await.0
    });
    assert_eq!(calls.count(), 1);
    let errors: Vec<_> = results
        .into_iter()
        .map(|r| match r {
            Err(Error::Load(e)) => e,
            other => panic!("expected the shared load error, got {other:?}"),
        })
        .collect();
    assert!(
        errors
            .iter()
            .all(|e| readthrough_core::Arc::ptr_eq(e, &errors[0])),
        "one Arc shared by all"
    );
    assert_eq!(*errors[0], "backend down");
    assert_eq!(cache.get(&3), None, "errors are not cached by default");
    assert_eq!(cache.loads_in_flight(), 0);
    assert_eq!(cache.stats().load_errors, 1);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "a thread stress test; the loom model covers the interleavings"
)]
fn no_redundant_load_right_after_a_load_lands() {
    for _round in 0..20 {
        let cache = Arc::new(Cache::<u32, u32>::new(100).unwrap());
        let calls = Calls::default();
        let start = Arc::new(Barrier::new(4));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (cache, calls, start) = (cache.clone(), calls.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    for _ in 0..200 {
                        let answer = block_on(cache.get_or_load(&9, |_: &u32| {
                            calls.record();
                            async { Ok(9) }
                        }));
                        assert_eq!(answer.unwrap().value, 9);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(
            calls.count(),
            1,
            "a caller arriving after the load landed must hit"
        );
        assert_eq!(cache.loads_in_flight(), 0);
    }
}

#[test]
fn a_thousand_waiters_share_one_load() {
    let calls = Calls::default();
    let timer = ManualTimer::new();
    let cache: Cache<u32, u32, String, ManualTimer> = Cache::builder()
        .capacity(10)
        .timer(timer.clone())
        .build()
        .unwrap();
    let load = numbered_after(&calls, &timer, Duration::from_millis(10));
    let waiters = if cfg!(miri) { 50 } else { 1000 };
    let answers = block_on(async {
        let callers = (0..waiters).map(|_| cache.get_or_load(&1, &load)).collect();
        let driver = async {
            yield_many(3).await;
            timer.advance(Duration::from_millis(10));
        };
        futures_lite::future::zip(join_all(callers), driver).await.0
    });
    assert_eq!(calls.count(), 1);
    assert!(answers.iter().all(|a| a.as_ref().unwrap().value == 1));
    let lock_hits = answers
        .iter()
        .filter(|a| a.as_ref().unwrap().status == Status::LockHit);
    assert_eq!(lock_hits.count(), waiters - 1);
    assert_eq!(cache.stats().lock_hits, waiters - 1);
    assert_eq!(cache.loads_in_flight(), 0);
}

#[test]
fn a_batch_waits_for_single_key_loads_in_flight() {
    let gate = Gate::default();
    let cache = Cache::<u32, u32>::new(10).unwrap();
    let batch_calls = Calls::default();
    let single = |_: &u32| gate.then(Ok(100));
    let batch = |keys: &[&u32]| {
        batch_calls.record();
        let values: Vec<u32> = keys.iter().map(|k| **k).collect();
        async move { Ok(values) }
    };
    let mut leader = pin!(cache.get_or_load(&2, single));
    assert!(poll_once(leader.as_mut()).is_pending());
    let (answers, led) = block_on(async {
        let opener = async {
            yield_many(5).await;
            gate.open();
        };
        let batch = cache.get_or_load_many(&[1, 2, 3, 3], batch);
        let (both, ()) =
            futures_lite::future::zip(futures_lite::future::zip(batch, leader), opener).await;
        both
    });
    let answers = answers.unwrap();
    let got: Vec<(u32, Status)> = answers.iter().map(|a| (a.value, a.status)).collect();
    assert_eq!(
        got,
        [
            (1, Status::Miss),
            (100, Status::LockHit),
            (3, Status::Miss),
            (3, Status::LockHit)
        ]
    );
    assert_eq!(batch_calls.count(), 1);
    assert_eq!(led.unwrap().value, 100);
    assert_eq!(cache.loads_in_flight(), 0);
}

#[test]
fn a_failed_batch_fails_waiters_on_its_keys_too() {
    let gate = Gate::default();
    let cache = Cache::<u32, u32, &'static str>::new(10).unwrap();
    let batch = |_: &[&u32]| gate.then(Err::<Vec<u32>, _>("batch down"));
    let mut leader = pin!(cache.get_or_load_many(&[1, 2], batch));
    assert!(poll_once(leader.as_mut()).is_pending());
    let mut waiter = pin!(cache.get_or_load(&2, |_: &u32| async { Ok(0) }));
    assert!(poll_once(waiter.as_mut()).is_pending());
    gate.open();
    assert!(matches!(block_on(leader), Err(Error::Load(e)) if *e == "batch down"));
    assert!(matches!(block_on(waiter), Err(Error::Load(e)) if *e == "batch down"));
    assert_eq!(cache.loads_in_flight(), 0);
}

#[test]
fn invalidate_during_a_load_keeps_its_result_out_of_the_cache() {
    let gate = Gate::default();
    let cache = Cache::<u32, u32>::new(10).unwrap();
    let load = |_: &u32| gate.then(Ok(1));
    let mut leader = pin!(cache.get_or_load(&1, &load));
    assert!(poll_once(leader.as_mut()).is_pending());
    cache.invalidate(&1);
    assert_eq!(cache.loads_in_flight(), 0);
    gate.open();
    assert_eq!(block_on(leader).unwrap().value, 1);
    assert_eq!(cache.get(&1), None);
}

#[test]
fn refresh_is_skipped_while_a_load_is_in_flight() {
    let gate = Gate::default();
    let cache = Cache::<u32, u32>::new(10).unwrap();
    let slow = |_: &u32| gate.then(Ok(1));
    let mut leader = pin!(cache.get_or_load(&1, slow));
    assert!(poll_once(leader.as_mut()).is_pending());
    assert!(block_on(cache.refresh(&1, |_: &u32| async { Ok(2) })).is_none());
    gate.open();
    block_on(leader).unwrap();
    let refreshed = block_on(cache.refresh(&1, |_: &u32| async { Ok(3) }))
        .unwrap()
        .unwrap();
    assert_eq!(refreshed.value, 3);
    assert_eq!(cache.get(&1), Some(3));
}

/// Polls `future` until it is ready (its timer has fired).
fn ready<F: std::future::Future + ?Sized>(mut future: std::pin::Pin<&mut F>) -> F::Output {
    loop {
        if let std::task::Poll::Ready(output) = poll_once(future.as_mut()) {
            return output;
        }
    }
}

#[test]
fn a_flight_reused_after_an_unwatched_load_carries_nothing_of_it() {
    // One shard: every load below goes through the same shard's spare flight record.
    let calls = Calls::default();
    let timer = ManualTimer::new();
    let cache: Cache<u32, u32, String, ManualTimer> = Cache::builder()
        .capacity(16)
        .shards(1)
        .timer(timer.clone())
        .build()
        .unwrap();
    let load = numbered_after(&calls, &timer, Duration::from_millis(10));
    let fail = |_: &u32| async { Err::<u32, _>("down".to_string()) };

    // Loads nobody waits for, one that succeeds and one that fails: their flights are kept
    // for the next load, unpublished.
    let mut alone = Box::pin(cache.get_or_load(&1, &load));
    assert!(poll_once(alone.as_mut()).is_pending());
    timer.advance(Duration::from_millis(10));
    assert_eq!(ready(alone.as_mut()).unwrap().value, 1);
    assert!(block_on(cache.get_or_load(&2, fail)).is_err());

    // The next load's waiter waits for that load, and gets its value, not an earlier one.
    let mut leader = Box::pin(cache.get_or_load(&3, &load));
    let mut waiter = Box::pin(cache.get_or_load(&3, &load));
    assert!(poll_once(leader.as_mut()).is_pending());
    assert!(poll_once(waiter.as_mut()).is_pending());
    assert!(
        poll_once(waiter.as_mut()).is_pending(),
        "the waiter saw a landing before the load finished"
    );
    timer.advance(Duration::from_millis(10));
    let led = ready(leader.as_mut()).unwrap();
    let waited = ready(waiter.as_mut()).unwrap();
    assert_eq!((led.value, led.status), (2, Status::Miss));
    assert_eq!((waited.value, waited.status), (2, Status::LockHit));
    assert_eq!(calls.count(), 2);
    assert_eq!(cache.stats().loads, 3);
    assert_eq!(cache.loads_in_flight(), 0);
}

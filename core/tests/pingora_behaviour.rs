//! Every behaviour the Pingora `RTCache` test module checks, on the core API (with the batch
//! size mismatch now an error instead of a panic).

mod common;

use std::pin::pin;
use std::time::Duration;

use common::{Calls, block_on, join_all, numbered_after, poll_once};
use readthrough_core::{Cache, Error, ManualTimer, Status};

type Timed = Cache<u32, u32, String, ManualTimer>;

fn timed(timer: &ManualTimer) -> Timed {
    Cache::builder()
        .capacity(10)
        .timer(timer.clone())
        .build()
        .unwrap()
}

#[test]
fn basic_get_misses_then_hits() {
    let calls = Calls::default();
    let timer = ManualTimer::new();
    let cache = timed(&timer);
    let load = numbered_after(&calls, &timer, Duration::ZERO);
    block_on(async {
        let first = cache.get_or_load(&1, &load).await.unwrap();
        assert_eq!((first.value, first.status), (1, Status::Miss));
        let second = cache.get_or_load(&1, &load).await.unwrap();
        assert_eq!((second.value, second.status), (1, Status::Hit));
    });
    assert_eq!(calls.count(), 1);
}

#[test]
fn basic_get_error_is_returned_and_not_cached() {
    let cache = Cache::<u32, u32, String>::new(10).unwrap();
    block_on(async {
        let failing = |_: &u32| async { Err::<u32, _>("test error".to_string()) };
        let result = cache.get_or_load(&1, failing).await;
        assert!(matches!(result, Err(Error::Load(ref e)) if **e == "test error"));
        assert_eq!(cache.get(&1), None);
    });
}

#[test]
fn concurrent_gets_load_once() {
    let calls = Calls::default();
    let timer = ManualTimer::new();
    let cache = timed(&timer);
    let load = numbered_after(&calls, &timer, Duration::from_secs(1));
    let answers = block_on(async {
        let callers = (0..3).map(|_| cache.get_or_load(&1, &load)).collect();
        let driver = async {
            common::yield_many(10).await;
            timer.advance(Duration::from_secs(1));
        };
        let (answers, ()) = futures_lite::future::zip(join_all(callers), driver).await;
        answers
    });
    assert_eq!(calls.count(), 1);
    let values: Vec<u32> = answers.into_iter().map(|a| a.unwrap().value).collect();
    assert_eq!(values, [1, 1, 1]);
}

#[test]
fn concurrent_errors_reach_every_caller() {
    let calls = Calls::default();
    let cache = Cache::<u32, u32, String>::new(10).unwrap();
    let gate = common::Gate::default();
    let failing = |_: &u32| {
        calls.record();
        let gate = gate.clone();
        async move {
            gate.wait().await;
            Err::<u32, _>("test error".to_string())
        }
    };
    let results = block_on(async {
        let callers = (0..3).map(|_| cache.get_or_load(&1, &failing)).collect();
        let opener = async {
            common::yield_many(10).await;
            gate.open();
        };
        futures_lite::future::zip(join_all(callers), opener).await.0
    });
    assert!(results.iter().all(Result::is_err));
    assert_eq!(calls.count(), 1, "one load, its error shared");
}

#[test]
fn concurrent_gets_of_different_keys_load_each() {
    let calls = Calls::default();
    let timer = ManualTimer::new();
    let cache = timed(&timer);
    let load = numbered_after(&calls, &timer, Duration::ZERO);
    let total: u32 = block_on(async {
        let callers = [1, 3, 5]
            .iter()
            .map(|k| cache.get_or_load(k, &load))
            .collect();
        join_all(callers)
            .await
            .into_iter()
            .map(|a| a.unwrap().value)
            .sum()
    });
    assert_eq!(total, 1 + 2 + 3);
}

#[test]
fn lock_age_lets_later_callers_load_for_themselves() {
    let calls = Calls::default();
    let timer = ManualTimer::new();
    let cache: Timed = Cache::builder()
        .capacity(10)
        .timer(timer.clone())
        .lock_age(Duration::from_secs(1))
        .build()
        .unwrap();
    let slow = numbered_after(&calls, &timer, Duration::from_secs(2));
    let fast = numbered_after(&calls, &timer, Duration::ZERO);
    let mut leader = pin!(cache.get_or_load(&1, &slow));
    assert!(poll_once(leader.as_mut()).is_pending());
    timer.advance(Duration::from_millis(1500));
    let late: u32 = block_on(async {
        let callers = (0..2).map(|_| cache.get_or_load(&1, &fast)).collect();
        join_all(callers)
            .await
            .into_iter()
            .map(|a| a.unwrap().value)
            .sum()
    });
    timer.advance(Duration::from_millis(500));
    let first = block_on(leader).unwrap().value;
    assert_eq!(first + late, 1 + 2 + 3);
    assert_eq!(calls.count(), 3);
}

#[test]
fn lock_timeout_makes_waiters_load_for_themselves() {
    let calls = Calls::default();
    let timer = ManualTimer::new();
    let cache: Timed = Cache::builder()
        .capacity(10)
        .timer(timer.clone())
        .lock_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let slow = numbered_after(&calls, &timer, Duration::from_secs(2));
    let fast = numbered_after(&calls, &timer, Duration::ZERO);
    let total: u32 = block_on(async {
        let leader = cache.get_or_load(&1, &slow);
        let waiters = join_all((0..2).map(|_| cache.get_or_load(&1, &fast)).collect());
        let driver = async {
            common::yield_many(10).await;
            timer.advance(Duration::from_secs(1));
            common::yield_many(10).await;
            timer.advance(Duration::from_secs(1));
        };
        let ((first, rest), ()) =
            futures_lite::future::zip(futures_lite::future::zip(leader, waiters), driver).await;
        first.unwrap().value + rest.into_iter().map(|a| a.unwrap().value).sum::<u32>()
    });
    assert_eq!(total, 1 + 2 + 3);
    assert_eq!(cache.stats().lock_timeouts, 2);
}

#[test]
fn multi_get_loads_misses_and_then_hits() {
    let cache = Cache::<u32, u32, String>::new(10).unwrap();
    let identity = |keys: &[&u32]| {
        let values: Vec<u32> = keys.iter().map(|k| **k).collect();
        async move { Ok::<_, String>(values) }
    };
    block_on(async {
        let first = cache
            .get_or_load(&1, |k: &u32| {
                let k = *k;
                async move { Ok(k) }
            })
            .await;
        assert_eq!(first.unwrap().status, Status::Miss);
        assert_eq!(
            cache
                .get_or_load(&1, |_: &u32| async { Ok(0) })
                .await
                .unwrap()
                .status,
            Status::Hit
        );

        let answers = cache.get_or_load_many(&[1, 2, 3], identity).await.unwrap();
        let got: Vec<(u32, Status)> = answers.iter().map(|a| (a.value, a.status)).collect();
        assert_eq!(
            got,
            [(1, Status::Hit), (2, Status::Miss), (3, Status::Miss)]
        );

        let answers = cache.get_or_load_many(&[1, 2, 3], identity).await.unwrap();
        let got: Vec<(u32, Status)> = answers.iter().map(|a| (a.value, a.status)).collect();
        assert_eq!(got, [(1, Status::Hit), (2, Status::Hit), (3, Status::Hit)]);
    });
}

#[test]
fn inconsistent_batch_results_are_an_error_not_a_panic() {
    let cache = Cache::<u32, u32, String>::new(10).unwrap();
    let empty = |_: &[&u32]| async { Ok::<Vec<u32>, String>(Vec::new()) };
    let result = block_on(cache.get_or_load_many(&[4, 5, 6], empty));
    assert!(matches!(
        result,
        Err(Error::BatchSize {
            expected: 3,
            returned: 0
        })
    ));
    assert!(cache.is_empty());
    assert_eq!(cache.loads_in_flight(), 0);
}

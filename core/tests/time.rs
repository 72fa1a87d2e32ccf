//! Time-based behaviour on the manual timer: TTLs, stale serving, load timeouts, negative
//! caching.

mod common;

use std::pin::pin;
use std::time::Duration;

use common::{Calls, Gate, block_on, join_all, numbered_after, poll_once, yield_many};
use readthrough_core::{Cache, Error, ManualTimer, Status};

type Timed = Cache<u32, u32, String, ManualTimer>;

fn with_ttl(timer: &ManualTimer, ttl: Duration) -> Timed {
    Cache::builder()
        .capacity(16)
        .timer(timer.clone())
        .ttl(ttl)
        .build()
        .unwrap()
}

#[test]
fn values_expire_after_the_default_ttl() {
    let calls = Calls::default();
    let timer = ManualTimer::new();
    let cache = with_ttl(&timer, Duration::from_secs(10));
    let load = numbered_after(&calls, &timer, Duration::ZERO);
    block_on(async {
        assert_eq!(
            cache.get_or_load(&1, &load).await.unwrap().status,
            Status::Miss
        );
        timer.advance(Duration::from_secs(9));
        assert_eq!(
            cache.get_or_load(&1, &load).await.unwrap().status,
            Status::Hit
        );
        timer.advance(Duration::from_secs(1));
        let reloaded = cache.get_or_load(&1, &load).await.unwrap();
        assert_eq!((reloaded.value, reloaded.status), (2, Status::Expired));
    });
}

#[test]
fn a_loader_ttl_overrides_the_default() {
    let timer = ManualTimer::new();
    let cache = with_ttl(&timer, Duration::from_secs(100));
    let short = |_: &u32| async { Ok((5, Some(Duration::from_secs(1)))) };
    block_on(async {
        cache.get_or_load_with_ttl(&1, short).await.unwrap();
        timer.advance(Duration::from_secs(1));
        assert_eq!(cache.get(&1), None);
    });
}

#[test]
fn ttl_zero_is_not_stored_and_removes_the_old_value() {
    let timer = ManualTimer::new();
    let cache = with_ttl(&timer, Duration::from_secs(100));
    cache.insert(1, 10);
    let uncacheable = |_: &u32| async { Ok((11, Some(Duration::ZERO))) };
    block_on(async {
        timer.advance(Duration::from_secs(100));
        let answer = cache.get_or_load_with_ttl(&1, uncacheable).await.unwrap();
        assert_eq!((answer.value, answer.status), (11, Status::Expired));
    });
    assert_eq!(
        cache.len(),
        0,
        "the expired old value was removed, the new one not stored"
    );
    cache.insert(2, 20);
    cache.insert_with_ttl(2, 21, Duration::ZERO);
    assert_eq!(cache.get(&2), None);
}

#[test]
fn waiters_get_a_value_that_is_not_stored() {
    let timer = ManualTimer::new();
    let gate = Gate::default();
    let cache: Timed = Cache::builder()
        .capacity(16)
        .timer(timer.clone())
        .ttl(Duration::ZERO)
        .build()
        .unwrap();
    let calls = Calls::default();
    let load = |_: &u32| {
        calls.record();
        gate.then(Ok(3))
    };
    let answers = block_on(async {
        let callers = (0..5).map(|_| cache.get_or_load(&1, &load)).collect();
        let opener = async {
            yield_many(5).await;
            gate.open();
        };
        futures_lite::future::zip(join_all(callers), opener).await.0
    });
    assert!(answers.iter().all(|a| a.as_ref().unwrap().value == 3));
    assert_eq!(calls.count(), 1);
    assert!(cache.is_empty());
}

#[test]
fn stale_values_are_served_within_the_window_only() {
    let timer = ManualTimer::new();
    let cache: Timed = Cache::builder()
        .capacity(16)
        .timer(timer.clone())
        .ttl(Duration::from_secs(10))
        .stale_window(Duration::from_secs(5))
        .build()
        .unwrap();
    cache.insert(1, 1);
    assert_eq!(cache.get_stale(&1).unwrap().status, Status::Hit);
    timer.advance(Duration::from_secs(12));
    assert_eq!(cache.get(&1), None);
    assert_eq!(
        cache.get_stale(&1).unwrap().status,
        Status::Stale(Duration::from_secs(2))
    );
    timer.advance(Duration::from_secs(4));
    assert_eq!(cache.get_stale(&1), None);
}

#[test]
fn revalidation_serves_stale_while_one_caller_refreshes() {
    let timer = ManualTimer::new();
    let gate = Gate::default();
    let calls = Calls::default();
    let cache: Timed = Cache::builder()
        .capacity(16)
        .timer(timer.clone())
        .ttl(Duration::from_secs(10))
        .stale_window(Duration::from_secs(60))
        .build()
        .unwrap();
    cache.insert(1, 1);
    timer.advance(Duration::from_secs(11));
    let load = |_: &u32| {
        calls.record();
        gate.then(Ok(2))
    };
    let mut refresher = pin!(cache.get_or_revalidate(&1, &load));
    assert!(poll_once(refresher.as_mut()).is_pending());
    let others = block_on(join_all(
        (0..3).map(|_| cache.get_or_revalidate(&1, &load)).collect(),
    ));
    for answer in others {
        let answer = answer.unwrap();
        assert_eq!(
            (answer.value, answer.status),
            (1, Status::Stale(Duration::from_secs(1)))
        );
    }
    gate.open();
    let refreshed = block_on(refresher).unwrap();
    assert_eq!((refreshed.value, refreshed.status), (2, Status::Expired));
    assert_eq!(calls.count(), 1);
    assert_eq!(cache.get(&1), Some(2));
}

#[test]
fn a_load_past_its_timeout_fails_every_caller_with_load_timeout() {
    let calls = Calls::default();
    let timer = ManualTimer::new();
    let cache: Timed = Cache::builder()
        .capacity(16)
        .timer(timer.clone())
        .load_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let hung = numbered_after(&calls, &timer, Duration::from_secs(3600));
    let results = block_on(async {
        let callers = (0..3).map(|_| cache.get_or_load(&1, &hung)).collect();
        let driver = async {
            yield_many(5).await;
            timer.advance(Duration::from_secs(2));
        };
        futures_lite::future::zip(join_all(callers), driver).await.0
    });
    assert!(results.iter().all(|r| matches!(r, Err(Error::LoadTimeout))));
    assert_eq!(calls.count(), 1);
    assert_eq!(cache.loads_in_flight(), 0);
    assert_eq!(cache.stats().load_errors, 1);
}

#[test]
fn negative_ttl_remembers_an_error_for_a_while() {
    let calls = Calls::default();
    let timer = ManualTimer::new();
    let cache: Timed = Cache::builder()
        .capacity(16)
        .timer(timer.clone())
        .negative_ttl(Duration::from_secs(5))
        .build()
        .unwrap();
    let failing = |_: &u32| {
        calls.record();
        async { Err::<u32, _>("down".to_string()) }
    };
    block_on(async {
        assert!(cache.get_or_load(&1, &failing).await.is_err());
        assert!(cache.get_or_load(&1, &failing).await.is_err());
        assert_eq!(calls.count(), 1, "the error was remembered");
        assert_eq!(
            cache.loads_in_flight(),
            0,
            "a remembered error is not a load in flight"
        );
        timer.advance(Duration::from_secs(5));
        assert!(cache.get_or_load(&1, &failing).await.is_err());
        assert_eq!(calls.count(), 2, "the error was forgotten after its TTL");
        cache.invalidate(&1);
        let ok = cache
            .get_or_load(&1, |_: &u32| async { Ok(1) })
            .await
            .unwrap();
        assert_eq!(ok.status, Status::Miss);
    });
}

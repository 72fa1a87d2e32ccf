//! Fail-safe on the manual timer: a failed load answers with the expired value at hand.

mod common;

use std::pin::pin;
use std::time::Duration;

use common::{Calls, Gate, block_on, join_all, poll_once};
use readthrough_core::{BuildError, Cache, Error, ManualTimer, Status};

type Safe = Cache<u32, u32, String, ManualTimer>;

const MAX_STALE: Duration = Duration::from_secs(600);
const THROTTLE: Duration = Duration::from_secs(5);

/// TTL 60 s, fail-safe for values up to 10 min past expiry, a 5 s throttle, and `load_timeout`
/// if given; key 1 holds 7, expired 10 s ago.
fn expired_ten_seconds_ago(timer: &ManualTimer, load_timeout: Option<Duration>) -> Safe {
    let builder = Cache::builder()
        .capacity(16)
        .timer(timer.clone())
        .ttl(Duration::from_secs(60))
        .fail_safe(MAX_STALE, THROTTLE);
    let builder = match load_timeout {
        Some(limit) => builder.load_timeout(limit),
        None => builder,
    };
    let cache = builder.build().unwrap();
    cache.insert(1, 7);
    timer.advance(Duration::from_secs(70));
    cache
}

/// A loader that counts its calls, waits at `gate`, then fails.
fn down(
    calls: &Calls,
    gate: &Gate,
) -> impl Fn(&u32) -> std::pin::Pin<Box<dyn Future<Output = Result<u32, String>>>> + Clone {
    let (calls, gate) = (calls.clone(), gate.clone());
    move |_: &u32| {
        calls.record();
        let gate = gate.clone();
        Box::pin(async move {
            gate.wait().await;
            Err("backend down".to_string())
        })
    }
}

#[test]
fn a_thousand_waiters_of_a_failed_load_get_the_stale_value() {
    let (timer, calls, gate) = (ManualTimer::new(), Calls::default(), Gate::default());
    let cache = expired_ten_seconds_ago(&timer, None);
    let load = down(&calls, &gate);
    let answers = block_on(async {
        let callers = (0..1_000).map(|_| cache.get_or_load(&1, &load)).collect();
        let opener = async {
            common::yield_many(20).await;
            assert_eq!(cache.waiters(), 999);
            gate.open();
        };
        futures_lite::future::zip(join_all(callers), opener).await.0
    });
    for answer in answers {
        let answer = answer.expect("fail-safe answers");
        assert_eq!(
            (answer.value, answer.status),
            (7, Status::Stale(Duration::from_secs(10)))
        );
    }
    assert_eq!(calls.count(), 1);
    let stats = cache.stats();
    assert_eq!(
        (
            stats.load_errors,
            stats.failures,
            stats.stale,
            stats.fail_safe
        ),
        (1, 0, 1_000, 1_000)
    );
    assert_eq!(cache.loads_in_flight(), 0);
}

#[test]
fn the_backend_is_tried_once_per_throttle() {
    let (timer, calls, gate) = (ManualTimer::new(), Calls::default(), Gate::default());
    gate.open();
    let cache = expired_ten_seconds_ago(&timer, None);
    let load = down(&calls, &gate);
    block_on(async {
        for second in 0..20 {
            let answer = cache.get_or_load(&1, &load).await.unwrap();
            assert_eq!(
                (answer.value, answer.status),
                (7, Status::Stale(Duration::from_secs(10 + second)))
            );
            timer.advance(Duration::from_secs(1));
        }
    });
    assert_eq!(calls.count(), 4, "20 s of calls, one backend call per 5 s");
    let stats = cache.stats();
    assert_eq!(
        (stats.stale, stats.fail_safe, stats.load_errors),
        (20, 20, 4)
    );
}

/// A batch fails safe key by key, as single calls do.
#[test]
fn a_failing_batch_answers_with_the_values_at_hand() {
    let (timer, calls) = (ManualTimer::new(), Calls::default());
    let cache = expired_ten_seconds_ago(&timer, None);
    cache.insert(3, 30);
    timer.advance(Duration::from_secs(70));
    let batch_down = |_: &[&u32]| {
        calls.record();
        async { Err::<Vec<u32>, _>("backend down".to_string()) }
    };
    block_on(async {
        let answers = cache.get_or_load_many(&[1, 3], batch_down).await.unwrap();
        let seen: Vec<_> = answers.iter().map(|a| (a.value, a.status)).collect();
        assert_eq!(
            seen,
            [
                (7, Status::Stale(Duration::from_secs(80))),
                (30, Status::Stale(Duration::from_secs(10)))
            ]
        );
        // Within the throttle, a single caller gets the fallback without a load.
        let single = cache.get_or_load(&1, async |_: &u32| Ok(0)).await.unwrap();
        assert_eq!(single.status, Status::Stale(Duration::from_secs(80)));
        // A key with no value at hand fails the call; its sibling still landed its fallback.
        timer.advance(THROTTLE);
        let failed = cache.get_or_load_many(&[1, 2], batch_down).await;
        assert!(matches!(failed, Err(Error::Load(e)) if *e == "backend down"));
        let throttled = cache.get_or_load(&1, async |_: &u32| Ok(0)).await.unwrap();
        assert_eq!(throttled.status, Status::Stale(Duration::from_secs(85)));
    });
    assert_eq!(calls.count(), 2);
    let stats = cache.stats();
    assert_eq!(
        (
            stats.stale,
            stats.fail_safe,
            stats.failures,
            stats.load_errors
        ),
        (4, 4, 1, 2)
    );
    assert_eq!(cache.loads_in_flight(), 0);
}

/// The waiters of a failed batch's keys get each key's fallback.
#[test]
fn the_waiters_of_a_failing_batch_get_the_values_at_hand() {
    let (timer, gate) = (ManualTimer::new(), Gate::default());
    let cache = expired_ten_seconds_ago(&timer, None);
    let batch_down = |_: &[&u32]| {
        let gate = gate.clone();
        async move {
            gate.wait().await;
            Err::<Vec<u32>, _>("backend down".to_string())
        }
    };
    let (batch, single) = block_on(async {
        let batch = cache.get_or_load_many(&[1], batch_down);
        let single = async {
            common::yield_many(5).await;
            cache.get_or_load(&1, async |_: &u32| Ok(0)).await
        };
        let opener = async {
            common::yield_many(20).await;
            assert_eq!(cache.waiters(), 1);
            gate.open();
        };
        let ((batch, single), ()) =
            futures_lite::future::zip(futures_lite::future::zip(batch, single), opener).await;
        (batch, single)
    });
    assert_eq!(batch.unwrap()[0].value, 7);
    let single = single.unwrap();
    assert_eq!(
        (single.value, single.status),
        (7, Status::Stale(Duration::from_secs(10)))
    );
    assert_eq!(cache.stats().fail_safe, 2);
}

#[test]
fn a_load_past_its_timeout_fails_safe() {
    let (timer, calls, never) = (ManualTimer::new(), Calls::default(), Gate::default());
    let cache = expired_ten_seconds_ago(&timer, Some(Duration::from_secs(2)));
    let load = down(&calls, &never);
    let mut call = pin!(cache.get_or_load(&1, &load));
    assert!(poll_once(call.as_mut()).is_pending());
    timer.advance(Duration::from_secs(2));
    let answer = block_on(call).unwrap();
    assert_eq!(
        (answer.value, answer.status),
        (7, Status::Stale(Duration::from_secs(12)))
    );
}

#[test]
fn without_a_recent_enough_value_the_error_is_returned() {
    let (timer, calls, gate) = (ManualTimer::new(), Calls::default(), Gate::default());
    gate.open();
    let cache = expired_ten_seconds_ago(&timer, None);
    let load = down(&calls, &gate);
    block_on(async {
        let absent = cache.get_or_load(&2, &load).await;
        assert!(matches!(absent, Err(Error::Load(e)) if *e == "backend down"));
        timer.advance(MAX_STALE);
        let too_old = cache.get_or_load(&1, &load).await;
        assert!(matches!(too_old, Err(Error::Load(_))), "{too_old:?}");
    });
    assert_eq!(calls.count(), 2);
}

#[test]
fn the_backend_back_stores_a_fresh_value() {
    let (timer, calls, gate) = (ManualTimer::new(), Calls::default(), Gate::default());
    gate.open();
    let cache = expired_ten_seconds_ago(&timer, None);
    block_on(async {
        let stale = cache.get_or_load(&1, down(&calls, &gate)).await.unwrap();
        assert_eq!(stale.value, 7);
        timer.advance(THROTTLE);
        let back = cache.get_or_load(&1, async |_: &u32| Ok(8)).await.unwrap();
        assert_eq!((back.value, back.status), (8, Status::Expired));
    });
    assert_eq!(cache.get(&1), Some(8));
}

#[test]
fn a_zero_throttle_is_refused() {
    let refused = Cache::<u32, u32>::builder()
        .capacity(8)
        .timer(ManualTimer::new())
        .fail_safe(MAX_STALE, Duration::ZERO)
        .build();
    assert_eq!(
        refused.err(),
        Some(BuildError::ZeroDuration("fail_safe throttle"))
    );
}

/// With a soft timeout, callers of the background entry point wait for the load at most that
/// long, then get the fail-safe value; the load goes on in its task up to the hard timeout.
mod soft_timeout {
    use std::sync::Arc;

    use super::*;
    use common::{ManualRuntime, Tasks};
    use readthrough_core::WithSpawn;

    type Soft = Cache<u32, u32, String, ManualRuntime>;

    fn soft_cache(timer: &ManualTimer, tasks: &Tasks) -> Arc<Soft> {
        let cache = Cache::builder()
            .capacity(16)
            .timer(WithSpawn::new(timer.clone(), tasks.clone()))
            .ttl(Duration::from_secs(60))
            .fail_safe(MAX_STALE, THROTTLE)
            .soft_timeout(Duration::from_secs(1))
            .load_timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        cache.insert(1, 7);
        timer.advance(Duration::from_secs(70));
        Arc::new(cache)
    }

    /// A loader that counts its calls, waits at `gate`, then answers 8.
    fn slow(
        calls: &Calls,
        gate: &Gate,
    ) -> impl Fn(&u32) -> std::pin::Pin<Box<dyn Future<Output = Result<u32, String>> + Send>>
    + Clone
    + Send
    + Sync
    + 'static {
        let (calls, gate) = (calls.clone(), gate.clone());
        move |_: &u32| {
            calls.record();
            Box::pin(gate.then(Ok(8)))
        }
    }

    #[test]
    fn callers_get_the_value_at_hand_at_the_soft_timeout_and_the_load_still_lands() {
        let (timer, tasks) = (ManualTimer::new(), Tasks::default());
        let (calls, gate) = (Calls::default(), Gate::default());
        let cache = soft_cache(&timer, &tasks);
        let load = slow(&calls, &gate);
        let mut leader = pin!(cache.get_or_revalidate_in_background(&1, load.clone()));
        let mut waiter = pin!(cache.get_or_revalidate_in_background(&1, load.clone()));
        assert!(poll_once(leader.as_mut()).is_pending());
        assert!(poll_once(waiter.as_mut()).is_pending());
        assert_eq!(tasks.pending(), 1, "the load runs in a task");
        timer.advance(Duration::from_millis(999));
        assert!(poll_once(leader.as_mut()).is_pending());
        timer.advance(Duration::from_millis(1));
        for caller in [leader, waiter] {
            let answer = block_on(caller).unwrap();
            assert_eq!(
                (answer.value, answer.status),
                (7, Status::Stale(Duration::from_secs(11)))
            );
        }
        assert_eq!(cache.loads_in_flight(), 1, "the load goes on");
        assert_eq!((cache.stats().stale, cache.stats().fail_safe), (2, 2));
        gate.open();
        assert_eq!(tasks.run_all(), 1);
        assert_eq!((cache.get(&1), calls.count()), (Some(8), 1));
        assert_eq!(cache.loads_in_flight(), 0);
    }

    #[test]
    fn a_load_within_the_soft_timeout_answers_as_usual() {
        let (timer, tasks) = (ManualTimer::new(), Tasks::default());
        let (calls, gate) = (Calls::default(), Gate::default());
        let cache = soft_cache(&timer, &tasks);
        let mut caller = pin!(cache.get_or_revalidate_in_background(&1, slow(&calls, &gate)));
        assert!(poll_once(caller.as_mut()).is_pending());
        gate.open();
        assert_eq!(tasks.run_all(), 1);
        let answer = block_on(caller).unwrap();
        assert_eq!((answer.value, answer.status), (8, Status::Expired));
    }

    #[test]
    fn the_load_goes_on_until_the_hard_timeout() {
        let (timer, tasks) = (ManualTimer::new(), Tasks::default());
        let (calls, never) = (Calls::default(), Gate::default());
        let cache = soft_cache(&timer, &tasks);
        let mut caller = pin!(cache.get_or_revalidate_in_background(&1, slow(&calls, &never)));
        assert!(poll_once(caller.as_mut()).is_pending());
        let mut task = tasks.take().pop().unwrap();
        assert!(poll_once(task.as_mut()).is_pending(), "the load starts");
        timer.advance(Duration::from_secs(1));
        assert_eq!(block_on(caller).unwrap().value, 7);
        timer.advance(Duration::from_secs(28));
        assert!(
            poll_once(task.as_mut()).is_pending(),
            "before the hard timeout"
        );
        timer.advance(Duration::from_secs(1));
        assert!(poll_once(task.as_mut()).is_ready(), "at the hard timeout");
        assert_eq!(cache.loads_in_flight(), 0);
        assert_eq!(cache.stats().load_errors, 1);
        assert_eq!(calls.count(), 1);
    }

    #[test]
    fn the_builder_refuses_a_soft_timeout_that_makes_no_sense() {
        let refused = Cache::<u32, u32>::builder()
            .capacity(8)
            .timer(ManualTimer::new())
            .fail_safe(MAX_STALE, THROTTLE)
            .load_timeout(Duration::from_secs(1))
            .soft_timeout(Duration::from_secs(1))
            .build();
        assert_eq!(
            refused.err(),
            Some(BuildError::SoftTimeoutNotBelowLoadTimeout)
        );
        let refused = Cache::<u32, u32>::builder()
            .capacity(8)
            .timer(ManualTimer::new())
            .soft_timeout(Duration::from_secs(1))
            .build();
        assert_eq!(refused.err(), Some(BuildError::SoftTimeoutNeedsFailSafe));
    }
}

/// A caller-driven refresh ahead whose load outlasts the value's life and fails: fail-safe
/// answers with the value, now expired, as `Stale` (and counts it), not as a fresh `Hit`.
#[test]
fn a_refresh_ahead_that_fails_after_the_value_expired_answers_stale() {
    let (timer, calls, gate) = (ManualTimer::new(), Calls::default(), Gate::default());
    let cache: Safe = Cache::builder()
        .capacity(16)
        .timer(timer.clone())
        .ttl(Duration::from_secs(60))
        .refresh_ahead(readthrough_core::RefreshAhead::BeforeExpiry(
            Duration::from_secs(10),
        ))
        .fail_safe(MAX_STALE, THROTTLE)
        .build()
        .unwrap();
    cache.insert(1, 7);
    timer.advance(Duration::from_secs(55));
    let load = down(&calls, &gate);
    let mut refreshing = pin!(cache.get_or_revalidate(&1, &load));
    assert!(poll_once(refreshing.as_mut()).is_pending());
    timer.advance(Duration::from_secs(8));
    gate.open();
    let answer = block_on(refreshing).unwrap();
    assert_eq!(
        (answer.value, answer.status),
        (7, Status::Stale(Duration::from_secs(3)))
    );
    let stats = cache.stats();
    assert_eq!((stats.stale, stats.fail_safe, stats.hits), (1, 1, 0));
    assert_eq!(calls.count(), 1);
}

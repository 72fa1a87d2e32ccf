//! Background refresh through the cache's `Spawn`: stale-while-revalidate and refresh ahead,
//! on the manual timer with spawned tasks kept until the test runs them.

mod common;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use common::{Calls, ManualRuntime, Tasks, block_on};
use readthrough_core::{
    BuildError, Cache, Loader, ManualTimer, RefreshAhead, SendLoader, Status, WithSpawn,
};

type Background = Cache<u32, u32, String, ManualRuntime>;

fn cache(
    timer: &ManualTimer,
    tasks: &Tasks,
    refresh_ahead: Option<RefreshAhead>,
) -> Arc<Background> {
    let builder = Cache::builder()
        .capacity(64)
        .timer(WithSpawn::new(timer.clone(), tasks.clone()))
        .ttl(Duration::from_secs(60))
        .stale_window(Duration::from_secs(30));
    let builder = match refresh_ahead {
        Some(when) => builder.refresh_ahead(when),
        None => builder,
    };
    Arc::new(builder.build().unwrap())
}

/// A cache holding 7 for key 1, one second past its TTL (within the stale window).
fn stale_for_a_second(timer: &ManualTimer, tasks: &Tasks) -> Arc<Background> {
    let cache = cache(timer, tasks, None);
    cache.insert(1, 7);
    timer.advance(Duration::from_secs(61));
    cache
}

/// A loader that counts its calls and answers `100 + call number`, or fails when `fails`.
fn counting(
    calls: &Calls,
    fails: bool,
) -> impl Fn(&u32) -> std::pin::Pin<Box<dyn Future<Output = Result<u32, String>> + Send>>
+ Clone
+ Send
+ Sync
+ 'static {
    let calls = calls.clone();
    move |_: &u32| {
        let call = calls.record() as u32;
        Box::pin(async move {
            if fails {
                Err("backend down".to_string())
            } else {
                Ok(100 + call)
            }
        })
    }
}

/// Every answer of `callers` threads × `each` calls, made at once on real threads.
fn hit_from_threads(
    cache: &Arc<Background>,
    load: &(impl SendLoader<u32, Value = u32, Error = String> + Clone),
    callers: usize,
    each: usize,
) -> Vec<Status> {
    let barrier = std::sync::Barrier::new(callers);
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..callers)
            .map(|_| {
                let (cache, load, barrier) = (Arc::clone(cache), load.clone(), &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    (0..each)
                        .map(|_| {
                            let answer =
                                block_on(cache.get_or_revalidate_in_background(&1, load.clone()));
                            let answer = answer.unwrap();
                            assert_eq!(answer.value, 7, "the value at hand, at once");
                            answer.status
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|thread| thread.join().unwrap())
            .collect()
    })
}

#[test]
fn a_thousand_concurrent_hits_past_the_refresh_point_start_one_refresh() {
    let (timer, tasks, calls) = (ManualTimer::new(), Tasks::default(), Calls::default());
    let cache = cache(&timer, &tasks, Some(RefreshAhead::AfterPercent(80)));
    cache.insert(1, 7);
    timer.advance(Duration::from_secs(50)); // 10 s left; the last 12 s are due
    let statuses = hit_from_threads(&cache, &counting(&calls, false), 4, 250);
    assert_eq!(statuses.len(), 1_000);
    assert!(statuses.iter().all(|status| *status == Status::Hit));
    assert_eq!(tasks.pending(), 1, "one refresh spawned");
    assert_eq!(
        calls.count(),
        0,
        "the refresh runs in its task, not in a caller"
    );
    assert_eq!(cache.loads_in_flight(), 1);

    assert_eq!(tasks.run_all(), 1);
    assert_eq!(calls.count(), 1);
    assert_eq!(cache.get(&1), Some(101));
    assert_eq!(cache.loads_in_flight(), 0);
    assert_eq!(cache.stats().hits, 1_001);
}

#[test]
fn a_thousand_concurrent_stale_reads_start_one_refresh() {
    let (timer, tasks, calls) = (ManualTimer::new(), Tasks::default(), Calls::default());
    let cache = cache(&timer, &tasks, None);
    cache.insert(1, 7);
    timer.advance(Duration::from_secs(65));
    let statuses = hit_from_threads(&cache, &counting(&calls, false), 4, 250);
    assert!(
        statuses
            .iter()
            .all(|status| *status == Status::Stale(Duration::from_secs(5)))
    );
    assert_eq!(tasks.pending(), 1);
    assert_eq!(tasks.run_all(), 1);
    assert_eq!(calls.count(), 1);
    assert_eq!(cache.get(&1), Some(101));
    assert_eq!(cache.loads_in_flight(), 0);
}

#[test]
fn a_key_read_steadily_never_expires_with_refresh_ahead() {
    let (timer, tasks, calls) = (ManualTimer::new(), Tasks::default(), Calls::default());
    let cache = cache(&timer, &tasks, Some(RefreshAhead::AfterPercent(80)));
    let load = counting(&calls, false);
    block_on(async {
        let first = cache
            .get_or_revalidate_in_background(&1, load.clone())
            .await;
        assert_eq!(first.unwrap().status, Status::Miss);
        // One read a second for ten TTLs; spawned refreshes run right away.
        for second in 1..=600 {
            timer.advance(Duration::from_secs(1));
            let answer = cache
                .get_or_revalidate_in_background(&1, load.clone())
                .await
                .unwrap();
            assert_eq!(answer.status, Status::Hit, "at second {second}");
            tasks.run_all();
        }
    });
    // A refresh 48 s after each store: one load to start, then one per 48 s.
    assert_eq!(calls.count(), 1 + 600 / 48);
    assert_eq!(cache.stats().misses, 1);
}

#[test]
fn a_failed_refresh_leaves_the_value_until_its_ttl() {
    let (timer, tasks, calls) = (ManualTimer::new(), Tasks::default(), Calls::default());
    let cache = cache(
        &timer,
        &tasks,
        Some(RefreshAhead::BeforeExpiry(Duration::from_secs(20))),
    );
    cache.insert(1, 7);
    let failing = counting(&calls, true);
    block_on(async {
        timer.advance(Duration::from_secs(45));
        let answer = cache
            .get_or_revalidate_in_background(&1, failing.clone())
            .await;
        assert_eq!(answer.unwrap().value, 7);
        assert_eq!(tasks.run_all(), 1);
        assert_eq!(calls.count(), 1);
        assert_eq!(cache.get(&1), Some(7), "the failure removed nothing");
        assert_eq!(cache.loads_in_flight(), 0);

        // Still due: the next hit tries again, and the value stays until its TTL.
        timer.advance(Duration::from_secs(14));
        let answer = cache
            .get_or_revalidate_in_background(&1, failing.clone())
            .await;
        assert_eq!((answer.unwrap().value, tasks.run_all()), (7, 1));
        assert_eq!(calls.count(), 2);
        timer.advance(Duration::from_secs(1));
        assert_eq!(cache.get(&1), None, "expired at its TTL");
    });
}

#[test]
fn refresh_ahead_off_starts_nothing_on_a_fresh_hit() {
    let (timer, tasks, calls) = (ManualTimer::new(), Tasks::default(), Calls::default());
    let cache = cache(&timer, &tasks, None);
    cache.insert(1, 7);
    timer.advance(Duration::from_secs(59));
    let answer = block_on(cache.get_or_revalidate_in_background(&1, counting(&calls, false)));
    assert_eq!(answer.unwrap().status, Status::Hit);
    assert_eq!((tasks.pending(), calls.count()), (0, 0));
}

#[test]
fn a_refresh_task_dropped_unrun_leaves_nothing_locked() {
    let (timer, tasks, calls) = (ManualTimer::new(), Tasks::default(), Calls::default());
    let cache = stale_for_a_second(&timer, &tasks);
    let load = counting(&calls, false);
    block_on(async {
        let stale = cache
            .get_or_revalidate_in_background(&1, load.clone())
            .await;
        assert_eq!(stale.unwrap().status, Status::Stale(Duration::from_secs(1)));
        assert_eq!(cache.loads_in_flight(), 1);
        assert_eq!(tasks.drop_all(), 1, "the executor shut down");
        assert_eq!(cache.loads_in_flight(), 0);
        // The next stale read starts a new refresh, which lands.
        let stale = cache.get_or_revalidate_in_background(&1, load).await;
        assert!(matches!(stale.unwrap().status, Status::Stale(_)));
        assert_eq!(tasks.run_all(), 1);
        assert_eq!(cache.get(&1), Some(101));
    });
}

/// A waiter for a background refresh's flight is woken when the task is dropped unrun, and
/// takes the load over.
#[test]
fn a_waiter_on_a_refresh_dropped_unrun_takes_over() {
    let (timer, tasks, calls) = (ManualTimer::new(), Tasks::default(), Calls::default());
    let cache = stale_for_a_second(&timer, &tasks);
    let load = counting(&calls, false);
    block_on(async {
        let _ = cache
            .get_or_revalidate_in_background(&1, load.clone())
            .await;
        // Past the stale window: this caller waits for the refresh in flight.
        timer.advance(Duration::from_secs(30));
        let mut waiting = std::pin::pin!(cache.get_or_load(&1, load.clone()));
        assert!(common::poll_once(waiting.as_mut()).is_pending());
        assert_eq!(cache.waiters(), 1);
        tasks.drop_all();
        let answer = waiting.await.unwrap();
        assert_eq!((answer.value, answer.status), (101, Status::Expired));
        assert_eq!(cache.loads_in_flight(), 0);
    });
}

/// A struct loader works in the background through its `SendLoader` impl.
#[derive(Clone)]
struct Rows(Calls);

impl Loader<u32> for Rows {
    type Value = u32;
    type Error = String;
    async fn load(&self, key: &u32) -> Result<u32, String> {
        Ok(key * 1_000 + self.0.record() as u32)
    }
}

impl SendLoader<u32> for Rows {
    fn load_send(&self, key: &u32) -> impl Future<Output = Result<u32, String>> + Send {
        self.load(key)
    }
}

#[test]
fn a_struct_loader_refreshes_in_the_background() {
    let (timer, tasks, calls) = (ManualTimer::new(), Tasks::default(), Calls::default());
    let cache = cache(&timer, &tasks, None);
    let rows = Rows(calls.clone());
    block_on(async {
        let loaded = cache
            .get_or_revalidate_in_background(&2, rows.clone())
            .await;
        assert_eq!(loaded.unwrap().value, 2_001);
        timer.advance(Duration::from_secs(61));
        let stale = cache.get_or_revalidate_in_background(&2, rows).await;
        assert_eq!(stale.unwrap().value, 2_001);
        tasks.run_all();
    });
    assert_eq!(cache.get(&2), Some(2_002));
    assert_eq!(calls.count(), 2);
}

/// Without a spawner (embassy), refresh ahead is caller-driven: the first caller to find the
/// value due loads and gets the new value; callers during that load get the current one.
#[test]
fn refresh_ahead_without_spawn_is_driven_by_the_first_caller() {
    let timer = ManualTimer::new();
    let cache = Cache::<u32, u32, String>::builder()
        .capacity(8)
        .timer(timer.clone())
        .ttl(Duration::from_secs(60))
        .refresh_ahead(RefreshAhead::AfterPercent(50))
        .build()
        .unwrap();
    cache.insert(1, 7);
    let gate = common::Gate::default();
    let calls = Calls::default();
    let load = {
        let (gate, calls) = (gate.clone(), calls.clone());
        move |_: &u32| {
            let call = calls.record() as u32;
            gate.then(Ok::<u32, String>(100 + call))
        }
    };
    block_on(async {
        timer.advance(Duration::from_secs(29));
        let early = cache.get_or_revalidate(&1, load.clone()).await.unwrap();
        assert_eq!((early.value, calls.count()), (7, 0), "not due yet");

        timer.advance(Duration::from_secs(2));
        let mut refreshing = std::pin::pin!(cache.get_or_revalidate(&1, load.clone()));
        assert!(common::poll_once(refreshing.as_mut()).is_pending());
        let meanwhile = cache.get_or_revalidate(&1, load.clone()).await.unwrap();
        assert_eq!((meanwhile.value, meanwhile.status), (7, Status::Hit));
        gate.open();
        let refreshed = refreshing.await.unwrap();
        assert_eq!(
            (refreshed.value, refreshed.status),
            (101, Status::Refreshed)
        );
    });
    assert_eq!(calls.count(), 1);
    assert_eq!(cache.get(&1), Some(101));
}

#[test]
fn the_builder_refuses_refresh_ahead_that_makes_no_sense() {
    let build = |ttl: Option<Duration>, when: RefreshAhead| {
        let builder = Cache::<u32, u32>::builder()
            .capacity(8)
            .timer(ManualTimer::new());
        let builder = match ttl {
            Some(ttl) => builder.ttl(ttl),
            None => builder,
        };
        builder.refresh_ahead(when).build().err()
    };
    let minute = Some(Duration::from_secs(60));
    for percent in [0, 100, 101, u8::MAX] {
        assert_eq!(
            build(minute, RefreshAhead::AfterPercent(percent)),
            Some(BuildError::RefreshAheadPercent),
            "{percent}"
        );
    }
    assert_eq!(
        build(None, RefreshAhead::AfterPercent(80)),
        Some(BuildError::RefreshAheadNeedsTtl)
    );
    assert_eq!(
        build(Some(Duration::ZERO), RefreshAhead::AfterPercent(80)),
        Some(BuildError::RefreshAheadNeedsTtl)
    );
    assert_eq!(
        build(minute, RefreshAhead::BeforeExpiry(Duration::ZERO)),
        Some(BuildError::ZeroDuration("refresh_ahead"))
    );
    assert_eq!(
        build(minute, RefreshAhead::BeforeExpiry(Duration::from_secs(60))),
        Some(BuildError::RefreshAheadNotBeforeTtl)
    );
    assert_eq!(build(minute, RefreshAhead::AfterPercent(80)), None);
    assert_eq!(
        build(None, RefreshAhead::BeforeExpiry(Duration::from_secs(5))),
        None
    );
    let message = BuildError::RefreshAheadNeedsTtl.to_string();
    assert!(
        message.contains("ttl") && message.contains("BeforeExpiry"),
        "{message}"
    );
}

/// `get_or_load` does not refresh ahead (documented: it would cost every hit): a value past its
/// refresh point is a plain hit, loads nothing, and expires at its TTL.
#[test]
fn get_or_load_answers_a_value_due_for_refresh_as_a_hit_and_lets_it_expire() {
    let timer = ManualTimer::new();
    let cache = Cache::<u32, u32>::builder()
        .capacity(8)
        .timer(timer.clone())
        .ttl(Duration::from_secs(60))
        .refresh_ahead(RefreshAhead::AfterPercent(50))
        .build()
        .unwrap();
    cache.insert(1, 7);
    let calls = Calls::default();
    let load = |_: &u32| {
        calls.record();
        async { Ok(8) }
    };
    block_on(async {
        timer.advance(Duration::from_secs(59));
        let due = cache.get_or_load(&1, load).await.unwrap();
        assert_eq!((due.value, due.status, calls.count()), (7, Status::Hit, 0));
        timer.advance(Duration::from_secs(1));
        let expired = cache.get_or_load(&1, load).await.unwrap();
        assert_eq!((expired.value, expired.status), (8, Status::Expired));
    });
    assert_eq!(calls.count(), 1);
}

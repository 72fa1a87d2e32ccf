//! The behaviour suite, written once and run on every runtime.
//!
//! A runtime enters through [`Runtime`]: its timer and shard lock, how to run a test, spawn a
//! task and let time pass. `behaviour_suite!(R)` expands to one `#[test]` per behaviour.
//!
//! Time: on runtimes with controllable time (`VIRTUAL_TIME`: tokio's paused clock, embassy's
//! mock driver) durations are seconds that pass instantly and exact ages are asserted. On
//! runtimes with real time (smol) the unit is a few milliseconds and the tests rely only on
//! "a sleep lasts at least its duration": every assertion that a value is still fresh is made
//! right after it was stored, with a TTL of several units of slack.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use readthrough::{
    Builder, Cache, DefaultHashBuilder, Error, Loader, RawLock, RefreshAhead, SendLoader, Spawn,
    Status, Timer,
};

#[path = "../../core/tests/common/gate.rs"]
#[allow(
    dead_code,
    reason = "the suite does not use every helper of the core's gate"
)]
mod gate;

pub use gate::Gate;

/// A spawned task's result.
pub type Join<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What the suite needs from a runtime.
pub trait Runtime: 'static {
    type Timer: Timer<Sleep: Send> + Send + Sync + 'static;
    type Lock: RawLock + Send + Sync + 'static;
    /// The suite's unit of time.
    const UNIT: Duration;
    /// Time only moves when every task waits for it, so exact ages can be asserted.
    const VIRTUAL_TIME: bool;

    fn builder<K, V, E>() -> Builder<K, V, E, Self::Timer, DefaultHashBuilder, Self::Lock>;
    /// Runs one test to completion, failing it if it stalls.
    fn block_on(test: impl Future<Output = ()> + 'static);
    fn spawn<T: Send + 'static>(task: impl Future<Output = T> + Send + 'static) -> Join<T>;
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send;
    /// Lets other tasks run without letting virtual time pass.
    fn pause() -> impl Future<Output = ()> + Send;
}

pub type TestCache<R> =
    Cache<u64, u64, Failure, <R as Runtime>::Timer, DefaultHashBuilder, <R as Runtime>::Lock>;

#[derive(Debug, PartialEq, Eq)]
pub struct Failure(pub &'static str);

fn units<R: Runtime>(n: u32) -> Duration {
    R::UNIT * n
}

/// A loader that counts its calls, waits at its gate (if any), then answers `key * 10 + offset`
/// or fails.
#[derive(Clone)]
pub struct TestLoader {
    loads: Arc<AtomicUsize>,
    gate: Option<Gate>,
    offset: u64,
    fails: bool,
    panics: bool,
}

impl TestLoader {
    pub fn new() -> Self {
        TestLoader {
            loads: Arc::default(),
            gate: None,
            offset: 0,
            fails: false,
            panics: false,
        }
    }

    pub fn gated(gate: &Gate) -> Self {
        TestLoader {
            gate: Some(gate.clone()),
            ..Self::new()
        }
    }

    pub fn offset(self, offset: u64) -> Self {
        TestLoader { offset, ..self }
    }

    pub fn failing(self) -> Self {
        TestLoader {
            fails: true,
            ..self
        }
    }

    pub fn panicking(self) -> Self {
        TestLoader {
            panics: true,
            ..self
        }
    }

    pub fn loads(&self) -> usize {
        self.loads.load(Ordering::SeqCst)
    }
}

impl Loader<u64> for TestLoader {
    type Value = u64;
    type Error = Failure;

    async fn load(&self, key: &u64) -> Result<u64, Failure> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        if let Some(gate) = &self.gate {
            gate.wait().await;
        }
        if self.panics {
            panic!("the loader panicked (on purpose)");
        }
        if self.fails {
            Err(Failure("backend down"))
        } else {
            Ok(key * 10 + self.offset)
        }
    }
}

impl SendLoader<u64> for TestLoader {
    fn load_send(&self, key: &u64) -> impl Future<Output = Result<u64, Failure>> + Send {
        self.load(key)
    }
}

/// Waits (without letting virtual time pass) until `done` holds; fails the test if it never does.
async fn settle_until<R: Runtime>(what: &str, done: impl Fn() -> bool) {
    for _ in 0..20_000 {
        if done() {
            return;
        }
        R::pause().await;
    }
    panic!("never happened: {what}");
}

/// Waits until `callers` read-through calls of one key lead its load or wait for it, then lets
/// them settle.
async fn arrived<R: Runtime>(cache: &TestCache<R>, callers: usize) {
    settle_until::<R>("the callers arrive", || {
        cache.waiters() + cache.loads_in_flight() >= callers
    })
    .await;
    settle::<R>().await;
}

/// Lets every spawned task run until it blocks.
async fn settle<R: Runtime>() {
    for _ in 0..50 {
        R::pause().await;
    }
}

fn assert_age<R: Runtime>(status: Status, expected: Duration) {
    match status {
        Status::Stale(age) if R::VIRTUAL_TIME => assert_eq!(age, expected),
        Status::Stale(age) => assert!(age >= expected, "stale for {age:?}, expected {expected:?}"),
        other => panic!("expected Stale({expected:?}), got {other:?}"),
    }
}

const CALLERS: usize = 32;

/// N concurrent callers of one key: one load, one Miss, everyone else waited for it.
pub async fn coalescing<R: Runtime>() {
    let cache = Arc::new(R::builder().capacity(100).build().unwrap());
    let gate = Gate::default();
    let loader = TestLoader::gated(&gate);
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let (cache, loader) = (Arc::clone(&cache), loader.clone());
            R::spawn(async move { cache.get_or_load(&1, loader).await })
        })
        .collect();
    arrived::<R>(&cache, CALLERS).await;
    assert_eq!(loader.loads(), 1);
    assert_eq!(cache.loads_in_flight(), 1);
    gate.open();

    let mut statuses = Vec::new();
    for caller in callers {
        let answer = caller.await.unwrap();
        assert_eq!(answer.value, 10);
        statuses.push(answer.status);
    }
    assert_eq!(loader.loads(), 1);
    assert_eq!(statuses.iter().filter(|s| **s == Status::Miss).count(), 1);
    let waited = statuses.iter().filter(|s| **s == Status::LockHit).count();
    if R::VIRTUAL_TIME {
        assert_eq!(waited, CALLERS - 1, "{statuses:?}");
    } else {
        // A caller preempted between its lookup and joining the load may find the value stored.
        let late = statuses.iter().filter(|s| **s == Status::Hit).count();
        assert_eq!(waited + late, CALLERS - 1, "{statuses:?}");
    }
    assert_eq!(cache.loads_in_flight(), 0);
    assert_eq!(cache.get(&1), Some(10));
}

/// A value is a Hit until its TTL passes, then the next call reloads it (Expired).
pub async fn ttl_expiry<R: Runtime>() {
    let ttl = units::<R>(4);
    let cache: TestCache<R> = R::builder().capacity(100).ttl(ttl).build().unwrap();
    let loader = TestLoader::new();

    assert_eq!(
        cache.get_or_load(&1, loader.clone()).await.unwrap().status,
        Status::Miss
    );
    assert_eq!(
        cache.get_or_load(&1, loader.clone()).await.unwrap().status,
        Status::Hit
    );
    assert_eq!(loader.loads(), 1);

    R::sleep(ttl + R::UNIT).await;
    assert_eq!(cache.get(&1), None);
    let reloaded = cache.get_or_load(&1, loader.clone()).await.unwrap();
    assert_eq!((reloaded.value, reloaded.status), (10, Status::Expired));
    assert_eq!(loader.loads(), 2);

    cache.insert_with_ttl(2, 7, ttl);
    assert_eq!(cache.get(&2), Some(7));
    R::sleep(ttl + R::UNIT).await;
    assert_eq!(cache.get(&2), None);
    assert_eq!(cache.loads_in_flight(), 0);
}

/// Callers that arrive while a load is younger than `lock_age` wait for it; later callers
/// load for themselves without waiting, and their bypass result is not stored.
pub async fn lock_age<R: Runtime>() {
    let lock_age = units::<R>(4);
    let cache = Arc::new(
        R::builder()
            .capacity(100)
            .lock_age(lock_age)
            .build()
            .unwrap(),
    );
    let gate = Gate::default();
    let slow = TestLoader::gated(&gate);

    let leader = {
        let (cache, slow) = (Arc::clone(&cache), slow.clone());
        R::spawn(async move { cache.get_or_load(&1, slow).await })
    };
    settle_until::<R>("the slow load starts", || slow.loads() == 1).await;
    let early_waiter = {
        let (cache, slow) = (Arc::clone(&cache), slow.clone());
        R::spawn(async move { cache.get_or_load(&1, slow).await })
    };
    arrived::<R>(&cache, 2).await;

    R::sleep(lock_age + R::UNIT).await;
    let fast = TestLoader::new().offset(1);
    let bypass: Result<_, Error<Failure>> = cache.get_or_load(&1, fast.clone()).await;
    let bypass = bypass.unwrap();
    assert_eq!(bypass.value, 11, "a caller after lock_age loads for itself");
    assert_ne!(bypass.status, Status::LockHit);
    assert_eq!(fast.loads(), 1);
    assert_eq!(slow.loads(), 1, "the early waiter did not load");

    gate.open();
    let led = leader.await.unwrap();
    assert_eq!((led.value, led.status), (10, Status::Miss));
    let waited = early_waiter.await.unwrap();
    assert_eq!((waited.value, waited.status), (10, Status::LockHit));
    assert_eq!(
        cache.get(&1),
        Some(10),
        "the leader's value is the one stored"
    );
    assert_eq!(cache.loads_in_flight(), 0);
}

/// A waiter waits at most `lock_timeout` for someone else's load, then loads for itself.
pub async fn lock_timeout<R: Runtime>() {
    let lock_timeout = units::<R>(2);
    let cache = Arc::new(
        R::builder()
            .capacity(100)
            .lock_timeout(lock_timeout)
            .build()
            .unwrap(),
    );
    let gate = Gate::default();
    let slow = TestLoader::gated(&gate);

    let leader = {
        let (cache, slow) = (Arc::clone(&cache), slow.clone());
        R::spawn(async move { cache.get_or_load(&1, slow).await })
    };
    settle_until::<R>("the slow load starts", || slow.loads() == 1).await;

    let fast = TestLoader::new().offset(2);
    let started = cache.timer().now();
    let own = cache.get_or_load(&1, fast.clone()).await.unwrap();
    let waited = cache.timer().now() - started;
    assert_eq!(own.value, 12, "the waiter gave up and loaded for itself");
    assert_eq!(fast.loads(), 1);
    if R::VIRTUAL_TIME {
        assert_eq!(waited, lock_timeout);
    } else {
        assert!(waited >= lock_timeout, "gave up after {waited:?}");
    }

    gate.open();
    assert_eq!(leader.await.unwrap().value, 10);
    assert_eq!(slow.loads(), 1);
    assert_eq!(cache.get(&1), Some(10));
    assert_eq!(cache.loads_in_flight(), 0);
}

/// A load that outlasts `load_timeout` ends in `Error::LoadTimeout` for the leader and its
/// waiters; nothing is stored and the next call loads again.
pub async fn load_timeout<R: Runtime>() {
    let load_timeout = units::<R>(2);
    let cache = Arc::new(
        R::builder()
            .capacity(100)
            .load_timeout(load_timeout)
            .build()
            .unwrap(),
    );
    let never = Gate::default();
    let hanging = TestLoader::gated(&never);

    let started = cache.timer().now();
    let callers: Vec<_> = (0..4)
        .map(|_| {
            let (cache, hanging) = (Arc::clone(&cache), hanging.clone());
            R::spawn(async move { cache.get_or_load(&1, hanging).await })
        })
        .collect();
    for caller in callers {
        assert!(matches!(caller.await, Err(Error::LoadTimeout)));
    }
    let elapsed = cache.timer().now() - started;
    if R::VIRTUAL_TIME {
        assert_eq!(elapsed, load_timeout);
    } else {
        assert!(elapsed >= load_timeout, "timed out after {elapsed:?}");
    }
    assert_eq!(
        hanging.loads(),
        1,
        "the waiters shared the leader's timeout"
    );
    assert_eq!(cache.loads_in_flight(), 0);
    assert_eq!(cache.get(&1), None);

    let working = TestLoader::new();
    assert_eq!(
        cache.get_or_load(&1, working.clone()).await.unwrap().status,
        Status::Miss
    );
    assert_eq!(working.loads(), 1);
}

/// Within the stale window an expired value is still served: by `get_stale`, and by
/// `get_or_revalidate` to everyone but the one caller that refreshes it.
pub async fn stale_serving<R: Runtime>() {
    let ttl = units::<R>(4);
    let window = units::<R>(40);
    let cache = Arc::new(
        R::builder()
            .capacity(100)
            .ttl(ttl)
            .stale_window(window)
            .build()
            .unwrap(),
    );
    cache.insert(1, 100);
    assert_eq!(cache.get_stale(&1).map(|a| a.status), Some(Status::Hit));

    R::sleep(ttl + R::UNIT).await;
    assert_eq!(cache.get(&1), None, "expired values are not fresh hits");
    let stale = cache.get_stale(&1).unwrap();
    assert_eq!(stale.value, 100);
    assert_age::<R>(stale.status, R::UNIT);

    let gate = Gate::default();
    let refresh = TestLoader::gated(&gate);
    let refresher = {
        let (cache, refresh) = (Arc::clone(&cache), refresh.clone());
        R::spawn(async move { cache.get_or_revalidate(&1, refresh).await })
    };
    settle_until::<R>("the refresh starts", || refresh.loads() == 1).await;
    let meanwhile = cache.get_or_revalidate(&1, refresh.clone()).await.unwrap();
    assert_eq!(meanwhile.value, 100, "served stale while the refresh runs");
    assert_age::<R>(meanwhile.status, R::UNIT);

    gate.open();
    let refreshed = refresher.await.unwrap();
    assert_eq!(refreshed.value, 10);
    assert!(!refreshed.status.is_cached(), "{:?}", refreshed.status);
    assert_eq!(refresh.loads(), 1);
    assert_eq!(cache.get(&1), Some(10));
    assert_eq!(cache.loads_in_flight(), 0);

    R::sleep(ttl + window + R::UNIT).await;
    assert!(
        cache.get_stale(&1).is_none(),
        "past the stale window nothing is served"
    );
}

/// Dropping the leader's future does not strand its waiters: one of them takes over the
/// load, all get the value, and the key is not left locked.
pub async fn leader_cancellation<R: Runtime>() {
    let cache = Arc::new(R::builder().capacity(100).build().unwrap());
    let gate = Gate::default();
    let loader = TestLoader::gated(&gate);

    let mut leader = Box::pin(cache.get_or_load(&1, loader.clone()));
    assert!(futures_lite::future::poll_once(&mut leader).await.is_none());
    assert_eq!(loader.loads(), 1);
    let waiters: Vec<_> = (0..8)
        .map(|_| {
            let (cache, loader) = (Arc::clone(&cache), loader.clone());
            R::spawn(async move { cache.get_or_load(&1, loader).await })
        })
        .collect();
    arrived::<R>(&cache, 9).await;
    drop(leader);
    gate.open();

    for waiter in waiters {
        assert_eq!(waiter.await.unwrap().value, 10);
    }
    assert!(
        loader.loads() <= 2,
        "{} loads: at most one takeover",
        loader.loads()
    );
    assert_eq!(cache.loads_in_flight(), 0, "the key is not left locked");
    let after = cache.get_or_load(&1, loader.clone()).await.unwrap();
    assert_eq!(after.status, Status::Hit);
}

/// A leader whose load panics does not strand its waiters either: one of them loads instead.
pub async fn leader_panic<R: Runtime>() {
    use futures_lite::FutureExt;

    let cache = Arc::new(R::builder().capacity(100).build().unwrap());
    let gate = Gate::default();
    let panicking = TestLoader::gated(&gate).panicking();
    let leader = {
        let (cache, panicking) = (Arc::clone(&cache), panicking.clone());
        R::spawn(async move {
            std::panic::AssertUnwindSafe(cache.get_or_load(&1, panicking))
                .catch_unwind()
                .await
                .is_err()
        })
    };
    settle_until::<R>("the panicking load starts", || panicking.loads() == 1).await;
    let working = TestLoader::new();
    let waiters: Vec<_> = (0..8)
        .map(|_| {
            let (cache, working) = (Arc::clone(&cache), working.clone());
            R::spawn(async move { cache.get_or_load(&1, working).await })
        })
        .collect();
    arrived::<R>(&cache, 9).await;
    gate.open();

    assert!(leader.await, "the leader's call unwound");
    for waiter in waiters {
        assert_eq!(waiter.await.unwrap().value, 10);
    }
    assert_eq!(working.loads(), 1, "exactly one waiter took over");
    assert_eq!(cache.loads_in_flight(), 0, "the key is not left locked");
    assert_eq!(cache.get(&1), Some(10));
}

/// A failing load runs once; every caller that waited for it gets the same error.
pub async fn shared_error<R: Runtime>() {
    let cache = Arc::new(R::builder().capacity(100).build().unwrap());
    let gate = Gate::default();
    let failing = TestLoader::gated(&gate).failing();
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let (cache, failing) = (Arc::clone(&cache), failing.clone());
            R::spawn(async move { cache.get_or_load(&1, failing).await })
        })
        .collect();
    arrived::<R>(&cache, CALLERS).await;
    assert_eq!(failing.loads(), 1);
    gate.open();

    let mut errors = Vec::new();
    for caller in callers {
        match caller.await {
            Err(error @ Error::Load(_)) => errors.push(error),
            other => panic!("expected the shared load error, got {other:?}"),
        }
    }
    let first = errors[0].load_error().unwrap();
    assert_eq!(*first, Failure("backend down"));
    if R::VIRTUAL_TIME {
        assert_eq!(failing.loads(), 1);
        for error in &errors {
            assert!(
                std::ptr::eq(error.load_error().unwrap(), first),
                "one shared error"
            );
        }
    } else {
        // A caller preempted between its lookup and joining the load may arrive after the
        // failure landed and load again; still every load's error is shared by all its waiters.
        let mut distinct: Vec<*const Failure> = errors
            .iter()
            .map(|e| e.load_error().unwrap() as *const Failure)
            .collect();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), failing.loads());
    }
    assert_eq!(cache.loads_in_flight(), 0);
    assert_eq!(cache.get(&1), None);
}

/// Fail-safe with the backend down: 1,000 callers of an expired key get its value (`Stale`)
/// from one failed load; for the throttle after it, callers get it without a load; then one
/// caller tries the backend again; once it is back, the value is fresh again.
pub async fn fail_safe<R: Runtime>() {
    let ttl = units::<R>(4);
    let throttle = units::<R>(2);
    let cache = Arc::new(
        R::builder()
            .capacity(100)
            .ttl(ttl)
            .fail_safe(units::<R>(100), throttle)
            .build()
            .unwrap(),
    );
    cache.insert(1, 7);
    R::sleep(ttl + R::UNIT).await;
    let gate = Gate::default();
    let down = TestLoader::gated(&gate).failing();
    let callers: Vec<_> = (0..1_000)
        .map(|_| {
            let (cache, down) = (Arc::clone(&cache), down.clone());
            R::spawn(async move { cache.get_or_load(&1, down).await })
        })
        .collect();
    arrived::<R>(&cache, 1_000).await;
    gate.open();
    for caller in callers {
        let answer = caller
            .await
            .expect("fail-safe answers with the stale value");
        assert_eq!(answer.value, 7);
        assert_age::<R>(answer.status, R::UNIT);
    }
    assert_eq!(down.loads(), 1, "one backend call for 1,000 callers");

    let throttled = cache.get_or_load(&1, down.clone()).await.unwrap();
    assert_eq!(throttled.value, 7);
    assert_eq!(down.loads(), 1, "no backend call within the throttle");
    R::sleep(throttle).await;
    let retried = cache.get_or_load(&1, down.clone()).await.unwrap();
    assert_eq!(retried.value, 7);
    assert_age::<R>(retried.status, R::UNIT + throttle);
    assert_eq!(down.loads(), 2, "one backend call per throttle");
    let stats = cache.stats();
    assert_eq!((stats.load_errors, stats.failures), (2, 0));
    assert_eq!((stats.stale, stats.fail_safe), (1_002, 1_002));
    assert_eq!(cache.loads_in_flight(), 0);

    R::sleep(throttle).await;
    let back = TestLoader::new();
    let fresh = cache.get_or_load(&1, back.clone()).await.unwrap();
    assert_eq!((fresh.value, fresh.status), (10, Status::Expired));
    assert_eq!(back.loads(), 1);
}

/// A batch under fail-safe fails safe as single calls do: its keys with a value at hand are
/// answered with it, and so are the callers that waited for them; a key with none fails it.
pub async fn fail_safe_batch<R: Runtime>() {
    let (ttl, throttle) = (units::<R>(4), units::<R>(2));
    let cache = Arc::new(
        R::builder()
            .capacity(100)
            .ttl(ttl)
            .fail_safe(units::<R>(100), throttle)
            .build()
            .unwrap(),
    );
    cache.insert(1, 7);
    cache.insert(2, 8);
    R::sleep(ttl + R::UNIT).await;
    let gate = Gate::default();
    let batch = {
        let (cache, gate) = (Arc::clone(&cache), gate.clone());
        let down = move |_: &[&u64]| {
            let gate = gate.clone();
            async move {
                gate.wait().await;
                Err::<Vec<u64>, _>(Failure("backend down"))
            }
        };
        R::spawn(async move { cache.get_or_load_many(&[1, 2], down).await })
    };
    settle_until::<R>("the batch leads", || cache.loads_in_flight() == 2).await;
    let waiter = {
        let cache = Arc::clone(&cache);
        R::spawn(async move { cache.get_or_load(&2, TestLoader::new()).await })
    };
    settle_until::<R>("the waiter waits", || cache.waiters() == 1).await;
    gate.open();
    let answers = batch.await.expect("fail-safe answers the batch");
    assert_eq!(answers.iter().map(|a| a.value).collect::<Vec<_>>(), [7, 8]);
    for answer in &answers {
        assert_age::<R>(answer.status, R::UNIT);
    }
    let waited = waiter.await.expect("fail-safe answers the waiter");
    assert_eq!(waited.value, 8);
    assert_age::<R>(waited.status, R::UNIT);
    let stats = cache.stats();
    assert_eq!(
        (stats.fail_safe, stats.failures, stats.load_errors),
        (3, 0, 1)
    );

    R::sleep(throttle).await;
    let none_at_hand = |_: &[&u64]| async { Err::<Vec<u64>, _>(Failure("backend down")) };
    let failed = cache.get_or_load_many(&[1, 3], none_at_hand).await;
    assert!(matches!(failed, Err(Error::Load(ref e)) if e.0 == "backend down"));
    assert_eq!(cache.stats().failures, 1);
    assert_eq!(cache.loads_in_flight(), 0);
}

/// A cache with a TTL of ten units that refreshes values in their second half, holding 7 for
/// key 1, stored six units ago: due for refresh.
async fn due_for_refresh<R: Runtime>() -> Arc<TestCache<R>> {
    let cache = Arc::new(
        R::builder()
            .capacity(100)
            .ttl(units::<R>(10))
            .refresh_ahead(RefreshAhead::AfterPercent(50))
            .build()
            .unwrap(),
    );
    cache.insert(1, 7);
    R::sleep(units::<R>(6)).await;
    cache
}

/// Refresh ahead without a spawner (how embassy does it): the first caller to find a value past
/// the refresh point reloads it; callers during that load get the current value at once.
pub async fn refresh_ahead_in_the_caller<R: Runtime>() {
    let cache = due_for_refresh::<R>().await;
    let gate = Gate::default();
    let refresh = TestLoader::gated(&gate);
    let refresher = {
        let (cache, refresh) = (Arc::clone(&cache), refresh.clone());
        R::spawn(async move { cache.get_or_revalidate(&1, refresh).await })
    };
    settle_until::<R>("the refresh starts", || refresh.loads() == 1).await;
    for _ in 0..10 {
        let meanwhile = cache.get_or_revalidate(&1, refresh.clone()).await.unwrap();
        assert_eq!((meanwhile.value, meanwhile.status), (7, Status::Hit));
    }
    gate.open();
    let refreshed = refresher.await.unwrap();
    assert_eq!((refreshed.value, refreshed.status), (10, Status::Refreshed));
    assert_eq!(refresh.loads(), 1);
    let stats = cache.stats();
    assert_eq!((stats.refreshed, stats.hits, stats.calls()), (1, 10, 11));
    assert_eq!(cache.get(&1), Some(10));
    assert_eq!(cache.loads_in_flight(), 0);
}

/// Refresh ahead through the runtime's spawner: 1,000 concurrent hits past the refresh point
/// are answered at once and start one refresh; then a key read every unit never expires, with
/// one refresh per half TTL.
#[allow(
    dead_code,
    reason = "embassy has no Spawn: the background behaviours run on tokio and smol"
)]
pub async fn refresh_ahead_in_the_background<R: Runtime>()
where
    R::Timer: Spawn,
{
    let cache = due_for_refresh::<R>().await;
    let gate = Gate::default();
    let refresh = TestLoader::gated(&gate);
    let hits: Vec<_> = (0..1_000)
        .map(|_| {
            let (cache, refresh) = (Arc::clone(&cache), refresh.clone());
            R::spawn(async move { cache.get_or_revalidate_in_background(&1, refresh).await })
        })
        .collect();
    for hit in hits {
        let hit = hit.await.unwrap();
        assert_eq!((hit.value, hit.status), (7, Status::Hit));
    }
    settle_until::<R>("the refresh starts", || refresh.loads() == 1).await;
    settle::<R>().await;
    assert_eq!(refresh.loads(), 1, "one refresh for 1,000 hits");
    assert_eq!(cache.loads_in_flight(), 1);
    gate.open();
    settle_until::<R>("the refresh lands", || cache.get(&1) == Some(10)).await;
    assert_eq!(cache.loads_in_flight(), 0);

    let steady = TestLoader::new().offset(1);
    for _ in 0..50 {
        R::sleep(R::UNIT).await;
        let hit = cache
            .get_or_revalidate_in_background(&1, steady.clone())
            .await
            .unwrap();
        assert_eq!(hit.status, Status::Hit, "a key read steadily never expires");
        settle::<R>().await;
    }
    if R::VIRTUAL_TIME {
        assert_eq!(steady.loads(), 10, "one refresh per five units");
    }
    assert_eq!(cache.stats().misses + cache.stats().expired, 0);
}

/// A refresh that fails leaves the value in place until its TTL.
#[allow(
    dead_code,
    reason = "embassy has no Spawn: the background behaviours run on tokio and smol"
)]
pub async fn failed_refresh_keeps_the_value<R: Runtime>()
where
    R::Timer: Spawn,
{
    let cache = due_for_refresh::<R>().await;
    let failing = TestLoader::new().failing();
    let hit = cache
        .get_or_revalidate_in_background(&1, failing.clone())
        .await;
    assert_eq!(hit.unwrap().value, 7);
    settle_until::<R>("the refresh fails", || {
        failing.loads() == 1 && cache.loads_in_flight() == 0
    })
    .await;
    assert_eq!(cache.get(&1), Some(7), "the failure removed nothing");
    R::sleep(units::<R>(4)).await;
    assert_eq!(cache.get(&1), None, "gone at its TTL");
}

/// A soft timeout: with a fail-safe value at hand, callers get it at the soft bound while the
/// slow load goes on in its task and lands later.
#[allow(
    dead_code,
    reason = "embassy has no Spawn: the background behaviours run on tokio and smol"
)]
pub async fn soft_timeout<R: Runtime>()
where
    R::Timer: Spawn,
{
    let ttl = units::<R>(4);
    let soft = units::<R>(1);
    let cache = Arc::new(
        R::builder()
            .capacity(100)
            .ttl(ttl)
            .fail_safe(units::<R>(100), units::<R>(2))
            .soft_timeout(soft)
            .load_timeout(units::<R>(20))
            .build()
            .unwrap(),
    );
    cache.insert(1, 7);
    R::sleep(ttl + R::UNIT).await;
    let gate = Gate::default();
    let slow = TestLoader::gated(&gate);
    let started = cache.timer().now();
    let callers: Vec<_> = (0..10)
        .map(|_| {
            let (cache, slow) = (Arc::clone(&cache), slow.clone());
            R::spawn(async move { cache.get_or_revalidate_in_background(&1, slow).await })
        })
        .collect();
    for caller in callers {
        let answer = caller.await.unwrap();
        assert_eq!(answer.value, 7);
        assert_age::<R>(answer.status, R::UNIT + soft);
    }
    let waited = cache.timer().now() - started;
    if R::VIRTUAL_TIME {
        assert_eq!(waited, soft, "answered at the soft bound");
    }
    assert_eq!(slow.loads(), 1);
    assert_eq!(cache.loads_in_flight(), 1, "the slow load goes on");
    assert_eq!(
        cache.stats().fail_safe,
        10,
        "every caller answered by fail-safe"
    );
    gate.open();
    settle_until::<R>("the slow load lands", || cache.get(&1) == Some(10)).await;
    assert_eq!(cache.loads_in_flight(), 0);
    assert_eq!(slow.loads(), 1);
}

/// One `#[test]` per behaviour for runtime `$runtime`.
macro_rules! behaviour_suite {
    ($runtime:ty) => {
        behaviour_suite!(@tests $runtime;
            coalescing, ttl_expiry, lock_age, lock_timeout, load_timeout, stale_serving,
            leader_cancellation, leader_panic, shared_error, refresh_ahead_in_the_caller,
            fail_safe, fail_safe_batch);
    };
    (background $runtime:ty) => {
        behaviour_suite!(@tests $runtime;
            refresh_ahead_in_the_background, failed_refresh_keeps_the_value, soft_timeout);
    };
    (@tests $runtime:ty; $($behaviour:ident),*) => {
        $(
            #[test]
            fn $behaviour() {
                <$runtime as suite::Runtime>::block_on(suite::$behaviour::<$runtime>());
            }
        )*
    };
}

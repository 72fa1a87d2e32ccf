//! The behaviour suite on smol with deterministic time: the tests and their tasks run on one
//! `LocalExecutor`, the cache's clock is a [`ManualTimer`], and whenever no task can run the
//! clock moves one unit, so sleeps and timeouts end exactly when due and take no real time.
//! Real time on smol's own timer is covered by the smoke tests at the end.

#[macro_use]
mod suite;

use std::cell::RefCell;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Wake, Waker};
use std::time::Duration;

use readthrough::smol::SmolTimer;
use readthrough::{
    Builder, DefaultHashBuilder, DefaultLock, ManualTimer, Spawn, Status, Timer, WithSpawn,
};
use suite::{Join, Runtime};

/// Virtual time after which a test counts as stalled.
const STALL: Duration = Duration::from_secs(3600);

thread_local! {
    /// The running test's clock and executor (each test makes its own).
    static CLOCK: RefCell<ManualTimer> = RefCell::new(ManualTimer::new());
    static EXECUTOR: RefCell<Rc<smol::LocalExecutor<'static>>> =
        RefCell::new(Rc::new(smol::LocalExecutor::new()));
}

/// Spawns on the running test's executor.
#[derive(Clone, Copy, Debug, Default)]
struct OnTestExecutor;

impl Spawn for OnTestExecutor {
    fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        EXECUTOR.with(|executor| executor.borrow().spawn(task).detach());
    }
}

/// Whether the test's own future was woken.
struct Woken(AtomicBool);

impl Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// smol with the manual clock.
struct SmolManual;

impl Runtime for SmolManual {
    type Timer = WithSpawn<ManualTimer, OnTestExecutor>;
    type Lock = DefaultLock;
    const UNIT: Duration = Duration::from_secs(1);
    const VIRTUAL_TIME: bool = true;

    fn builder<K, V, E>() -> Builder<K, V, E, Self::Timer, DefaultHashBuilder, DefaultLock> {
        let clock = CLOCK.with(|clock| clock.borrow().clone());
        readthrough::Cache::builder().timer(WithSpawn::new(clock, OnTestExecutor))
    }

    fn block_on(test: impl Future<Output = ()> + 'static) {
        let clock = ManualTimer::new();
        CLOCK.with(|current| *current.borrow_mut() = clock.clone());
        let executor = Rc::new(smol::LocalExecutor::new());
        EXECUTOR.with(|current| *current.borrow_mut() = Rc::clone(&executor));
        let mut test = pin!(test);
        let woken = Arc::new(Woken(AtomicBool::new(true)));
        let waker = Waker::from(Arc::clone(&woken));
        let mut context = Context::from_waker(&waker);
        loop {
            if woken.0.swap(false, Ordering::SeqCst) && test.as_mut().poll(&mut context).is_ready()
            {
                return;
            }
            if executor.try_tick() || woken.0.load(Ordering::SeqCst) {
                continue;
            }
            // Nothing can run until time passes.
            assert!(clock.now() < STALL, "the test stalled");
            clock.advance(Self::UNIT);
        }
    }

    fn spawn<T: Send + 'static>(task: impl Future<Output = T> + Send + 'static) -> Join<T> {
        Box::pin(EXECUTOR.with(|executor| executor.borrow().spawn(task)))
    }

    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
        CLOCK.with(|clock| clock.borrow().sleep(duration))
    }

    fn pause() -> impl Future<Output = ()> + Send {
        smol::future::yield_now()
    }
}

behaviour_suite!(SmolManual);
behaviour_suite!(background SmolManual);

/// Real time on smol's global executor threads: the unit of time is 5 ms, and the suite only
/// relies on a sleep lasting at least its duration.
struct Smol;

/// Real time after which a real-time test counts as stalled.
const REAL_STALL: Duration = Duration::from_secs(30);

impl Runtime for Smol {
    type Timer = SmolTimer;
    type Lock = DefaultLock;
    const UNIT: Duration = Duration::from_millis(5);
    const VIRTUAL_TIME: bool = false;

    fn builder<K, V, E>() -> Builder<K, V, E, SmolTimer, DefaultHashBuilder, DefaultLock> {
        readthrough::smol::builder()
    }

    fn block_on(test: impl Future<Output = ()> + 'static) {
        smol::block_on(smol::future::or(test, async {
            smol::Timer::after(REAL_STALL).await;
            panic!("the test stalled");
        }));
    }

    fn spawn<T: Send + 'static>(task: impl Future<Output = T> + Send + 'static) -> Join<T> {
        Box::pin(smol::spawn(task))
    }

    async fn sleep(duration: Duration) {
        smol::Timer::after(duration).await;
    }

    async fn pause() {
        smol::Timer::after(Duration::from_micros(50)).await;
    }
}

/// The smoke test in real time: coalescing across smol's threads, and TTL and lock timeout on
/// async-io's timers.
#[test]
fn real_time_smoke() {
    Smol::block_on(async {
        suite::coalescing::<Smol>().await;
        suite::ttl_expiry::<Smol>().await;
        suite::lock_timeout::<Smol>().await;
    });
}

/// Background stale-while-revalidate on smol's global executor and on an executor of the
/// caller's ([`SmolTimer::on`]): the stale value at once, then the refreshed one.
#[test]
fn background_revalidation() {
    static EXECUTOR: smol::Executor<'static> = smol::Executor::new();
    smol::block_on(EXECUTOR.run(async {
        for (key, timer) in [(1, SmolTimer::new()), (2, SmolTimer::on(&EXECUTOR))] {
            let cache: Arc<readthrough::smol::Cache<u64, u64>> = Arc::new(
                readthrough::Cache::builder()
                    .capacity(100)
                    .timer(timer)
                    .ttl(Duration::from_millis(2))
                    .stale_window(Duration::from_secs(30))
                    .build()
                    .unwrap(),
            );
            let loads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let loader = {
                let loads = Arc::clone(&loads);
                move |key: &u64| {
                    let (loads, key) = (Arc::clone(&loads), *key);
                    async move {
                        loads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        Ok(key * 10)
                    }
                }
            };
            cache.insert(key, 100);
            smol::Timer::after(Duration::from_millis(3)).await;
            let answer = cache
                .get_or_revalidate_in_background(&key, loader.clone())
                .await
                .unwrap();
            assert_eq!(answer.value, 100);
            assert!(
                matches!(answer.status, Status::Stale(_)),
                "{:?}",
                answer.status
            );
            let refreshed = smol::future::or(
                async {
                    // The refreshed value may be past its 2 ms TTL again by the time we look.
                    while cache.get_stale(&key).map(|answer| answer.value) != Some(key * 10) {
                        smol::Timer::after(Duration::from_micros(100)).await;
                    }
                    true
                },
                async {
                    smol::Timer::after(REAL_STALL).await;
                    false
                },
            );
            assert!(refreshed.await, "the background refresh never stored");
            assert_eq!(loads.load(std::sync::atomic::Ordering::SeqCst), 1);
            assert_eq!(cache.loads_in_flight(), 0);
        }
    }));
}

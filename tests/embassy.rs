//! The behaviour suite on embassy-time's mock driver, with the adapter's critical-section shard
//! lock. Tasks run on a local executor; whenever none can run, the mock clock moves forward one
//! millisecond, so sleeps end as soon as every task waits for time (like tokio's paused clock).
//! The mock clock is global, so these tests run one at a time.

#[macro_use]
mod suite;

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::sync::Mutex;
use std::time::Duration;

use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_time::{Instant, MockDriver};
use readthrough::embassy::{EmbassyLock, EmbassyTimer};
use readthrough::{Builder, DefaultHashBuilder};
use smol::LocalExecutor;
use suite::{Join, Runtime};

/// Virtual time after which a test counts as stalled.
const STALL: Duration = Duration::from_secs(3600);
const STEP: embassy_time::Duration = embassy_time::Duration::from_millis(1);

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

thread_local! {
    static EXECUTOR: RefCell<Option<Rc<LocalExecutor<'static>>>> = const { RefCell::new(None) };
}

struct Embassy;

impl Runtime for Embassy {
    type Timer = EmbassyTimer;
    type Lock = EmbassyLock<CriticalSectionRawMutex>;
    const UNIT: Duration = Duration::from_secs(1);
    const VIRTUAL_TIME: bool = true;

    fn builder<K, V, E>() -> Builder<K, V, E, EmbassyTimer, DefaultHashBuilder, Self::Lock> {
        readthrough::embassy::builder()
    }

    fn block_on(test: impl Future<Output = ()> + 'static) {
        let _alone = ONE_AT_A_TIME
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        MockDriver::get().reset();
        let executor = Rc::new(LocalExecutor::new());
        EXECUTOR.with(|slot| *slot.borrow_mut() = Some(Rc::clone(&executor)));
        let test = executor.spawn(test);
        while !test.is_finished() {
            while executor.try_tick() {}
            if test.is_finished() {
                break;
            }
            assert!(
                Instant::now().as_secs() < STALL.as_secs(),
                "the test stalled"
            );
            MockDriver::get().advance(STEP);
        }
        futures_lite::future::block_on(test);
        EXECUTOR.with(|slot| slot.borrow_mut().take());
    }

    fn spawn<T: Send + 'static>(task: impl Future<Output = T> + Send + 'static) -> Join<T> {
        let task = EXECUTOR.with(|slot| {
            slot.borrow()
                .as_ref()
                .expect("spawn outside block_on")
                .spawn(task)
        });
        Box::pin(task)
    }

    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
        embassy_time::Timer::after(embassy_time::Duration::from_micros(
            duration.as_micros() as u64
        ))
    }

    fn pause() -> impl Future<Output = ()> + Send {
        futures_lite::future::yield_now()
    }
}

behaviour_suite!(Embassy);

/// The same cache on embassy's own executor (static tasks, embassy wakers) rather than the
/// harness's: four tasks ask for one key, one load runs, a waiter with `lock_timeout` gives up
/// on a load that hangs once the mock clock has passed its timeout.
mod on_embassy_executor {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::time::Duration;

    use embassy_executor::{Executor, Spawner};
    use embassy_time::MockDriver;
    use readthrough::embassy::Cache;
    use readthrough::{Answer, Error, Status};

    use super::ONE_AT_A_TIME;
    use crate::suite::{Failure, Gate, TestLoader};

    type SharedCache = Cache<u64, u64, Failure>;
    type Outcome = Result<Answer<u64>, Error<Failure>>;

    const TASKS: usize = 4;

    #[derive(Default)]
    struct Run {
        outcomes: Mutex<Vec<Outcome>>,
        finished: AtomicUsize,
        clock_stopped: AtomicBool,
    }

    #[embassy_executor::task(pool_size = TASKS)]
    async fn caller(
        cache: &'static SharedCache,
        loader: TestLoader,
        after: Option<TestLoader>,
        run: &'static Run,
    ) {
        if let Some(first) = after {
            while first.loads() == 0 {
                futures_lite::future::yield_now().await;
            }
        }
        let outcome = cache.get_or_load(&1, loader).await;
        run.outcomes.lock().unwrap().push(outcome);
        run.finished.fetch_add(1, Ordering::SeqCst);
    }

    /// Opens the gate once `callers` lookups lead or wait, and moves the mock clock one millisecond
    /// per turn until the callers are done.
    #[embassy_executor::task]
    async fn clock(
        cache: &'static SharedCache,
        gate: Option<Gate>,
        callers: usize,
        run: &'static Run,
    ) {
        while run.finished.load(Ordering::SeqCst) < callers {
            if let Some(gate) = gate
                .as_ref()
                .filter(|_| cache.waiters() + cache.loads_in_flight() >= callers)
            {
                gate.open();
            }
            MockDriver::get().advance(embassy_time::Duration::from_millis(1));
            futures_lite::future::yield_now().await;
        }
        run.clock_stopped.store(true, Ordering::SeqCst);
    }

    /// Runs one caller task per loader on a fresh embassy executor until all have answered;
    /// callers after the first wait for its load to start when `in_order`.
    fn run(
        cache: SharedCache,
        loaders: Vec<TestLoader>,
        gate: Option<Gate>,
        in_order: bool,
    ) -> Vec<Outcome> {
        let cache: &'static SharedCache = Box::leak(Box::new(cache));
        let run: &'static Run = Box::leak(Box::default());
        let executor: &'static mut Executor = Box::leak(Box::new(Executor::new()));
        let callers = loaders.len();
        executor.run_until(
            |spawner: Spawner| {
                let first = in_order.then(|| loaders[0].clone());
                for (index, loader) in loaders.into_iter().enumerate() {
                    let after = if index == 0 { None } else { first.clone() };
                    spawner.spawn(caller(cache, loader, after, run).unwrap());
                }
                spawner.spawn(clock(cache, gate, callers, run).unwrap());
            },
            || {
                assert!(
                    embassy_time::Instant::now().as_secs() < 3600,
                    "the tasks stalled"
                );
                run.clock_stopped.load(Ordering::SeqCst)
            },
        );
        assert_eq!(cache.loads_in_flight(), 0);
        std::mem::take(&mut *run.outcomes.lock().unwrap())
    }

    #[test]
    fn coalesces_tasks_of_the_embassy_executor() {
        let _alone = ONE_AT_A_TIME
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        MockDriver::get().reset();
        let gate = Gate::default();
        let loader = TestLoader::gated(&gate);
        let cache = readthrough::embassy::builder().capacity(8).build().unwrap();
        let outcomes = run(cache, vec![loader.clone(); TASKS], Some(gate), false);

        assert_eq!(loader.loads(), 1);
        let mut statuses: Vec<Status> = outcomes.into_iter().map(|o| o.unwrap().status).collect();
        statuses.sort_by_key(|s| s.as_str());
        assert_eq!(
            statuses,
            [
                Status::LockHit,
                Status::LockHit,
                Status::LockHit,
                Status::Miss
            ]
        );
    }

    #[test]
    fn lock_timeout_runs_on_embassy_time() {
        let _alone = ONE_AT_A_TIME
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        MockDriver::get().reset();
        let never = Gate::default();
        let hanging = TestLoader::gated(&never);
        let cache = readthrough::embassy::builder()
            .capacity(8)
            .lock_timeout(Duration::from_secs(2))
            .load_timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let fast = TestLoader::new().offset(3);
        let outcomes = run(cache, vec![hanging.clone(), fast.clone()], None, true);

        assert_eq!((hanging.loads(), fast.loads()), (1, 1));
        let values: Vec<_> = outcomes
            .iter()
            .map(|o| o.as_ref().map(|a| a.value).ok())
            .collect();
        assert!(
            values.contains(&Some(13)),
            "the waiter loaded for itself: {values:?}"
        );
        assert!(
            outcomes
                .iter()
                .any(|o| matches!(o, Err(Error::LoadTimeout))),
            "the hanging load timed out: {outcomes:?}"
        );
        assert!(embassy_time::Instant::now().as_secs() >= 5);
    }
}

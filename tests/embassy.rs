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

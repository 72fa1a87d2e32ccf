//! The embassy-time timer under the mock driver (one clock per process: tests take turns).

use std::sync::Mutex;
use std::time::Duration;

use embassy_time::MockDriver;
use futures_lite::future::{block_on, poll_once};
use readthrough_core::Timer;
use readthrough_embassy::EmbassyTimer;

static CLOCK: Mutex<()> = Mutex::new(());

fn with_fresh_clock(test: impl FnOnce(&MockDriver)) {
    let _turn = CLOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    MockDriver::get().reset();
    test(MockDriver::get());
}

#[test]
fn now_follows_the_driver() {
    with_fresh_clock(|driver| {
        assert_eq!(EmbassyTimer.now(), Duration::ZERO);
        driver.advance(embassy_time::Duration::from_micros(2_500_001));
        assert_eq!(EmbassyTimer.now(), Duration::from_micros(2_500_001));
    });
}

#[test]
fn sleep_ends_once_its_duration_passed_and_not_before() {
    with_fresh_clock(|driver| {
        let mut sleep = Box::pin(EmbassyTimer.sleep(Duration::from_millis(10)));
        assert!(block_on(poll_once(&mut sleep)).is_none());
        driver.advance(embassy_time::Duration::from_micros(9_999));
        assert!(block_on(poll_once(&mut sleep)).is_none());
        driver.advance(embassy_time::Duration::from_micros(1));
        assert!(block_on(poll_once(&mut sleep)).is_some());
    });
}

#[test]
fn a_sub_tick_sleep_rounds_up_to_one_tick() {
    with_fresh_clock(|driver| {
        let mut sleep = Box::pin(EmbassyTimer.sleep(Duration::from_nanos(1)));
        assert!(block_on(poll_once(&mut sleep)).is_none());
        driver.advance(embassy_time::Duration::from_ticks(1));
        assert!(block_on(poll_once(&mut sleep)).is_some());
    });
}

#[test]
fn an_enormous_sleep_does_not_panic_and_does_not_end() {
    with_fresh_clock(|driver| {
        let mut sleep = Box::pin(EmbassyTimer.sleep(Duration::MAX));
        driver.advance(embassy_time::Duration::from_secs(10 * 365 * 24 * 3600));
        assert!(block_on(poll_once(&mut sleep)).is_none());
    });
}

//! The async-io timer, in real (short) time.

use std::time::Duration;

use futures_lite::future::{block_on, poll_once};
use readthrough_core::Timer;
use readthrough_smol::SmolTimer;

#[test]
fn sleep_lasts_at_least_its_duration() {
    let timer = SmolTimer::new();
    let before = timer.now();
    block_on(timer.sleep(Duration::from_millis(3)));
    assert!(timer.now() - before >= Duration::from_millis(3));
}

#[test]
fn now_is_monotonic() {
    let timer = SmolTimer::new();
    let first = timer.now();
    let second = timer.now();
    assert!(second >= first);
}

#[test]
fn an_enormous_sleep_does_not_panic_and_does_not_end() {
    let timer = SmolTimer::new();
    let mut sleep = Box::pin(timer.sleep(Duration::MAX));
    block_on(async {
        assert!(poll_once(&mut sleep).await.is_none());
    });
}

//! The tokio timer under tokio's paused clock.

use std::time::Duration;

use futures_lite::future::poll_once;
use readthrough_core::Timer;
use readthrough_tokio::TokioTimer;

#[tokio::test(start_paused = true)]
async fn now_is_paused_time_since_construction() {
    tokio::time::advance(Duration::from_secs(5)).await;
    let timer = TokioTimer::new();
    assert_eq!(timer.now(), Duration::ZERO);
    tokio::time::advance(Duration::from_millis(1500)).await;
    assert_eq!(timer.now(), Duration::from_millis(1500));
}

#[tokio::test(start_paused = true)]
async fn sleep_ends_once_its_duration_passed_and_not_before() {
    let timer = TokioTimer::new();
    let mut sleep = Box::pin(timer.sleep(Duration::from_secs(10)));
    tokio::time::advance(Duration::from_millis(9_999)).await;
    assert!(poll_once(&mut sleep).await.is_none());
    tokio::time::advance(Duration::from_millis(1)).await;
    assert!(poll_once(&mut sleep).await.is_some());
}

#[tokio::test(start_paused = true)]
async fn an_enormous_sleep_does_not_panic_and_does_not_end() {
    let timer = TokioTimer::new();
    let mut sleep = Box::pin(timer.sleep(Duration::MAX));
    tokio::time::advance(Duration::from_secs(10 * 365 * 24 * 3600)).await;
    assert!(poll_once(&mut sleep).await.is_none());
}

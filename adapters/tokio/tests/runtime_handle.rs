//! `TokioTimer::on`: a cache called from outside any tokio runtime spawns its refreshes and
//! registers its sleeps on the runtime it was given.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_lite::future::block_on;
use readthrough_core::{Spawn, Status, Timer};
use readthrough_tokio::TokioTimer;

/// A `'static` handle to `runtime` (one small allocation per test).
fn leaked(runtime: &tokio::runtime::Runtime) -> &'static tokio::runtime::Handle {
    Box::leak(Box::new(runtime.handle().clone()))
}

#[test]
fn a_refresh_started_outside_the_runtime_runs_on_it() {
    // Not paused: the cache is read from this thread, where tokio's clock is the system's.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let cache: Arc<readthrough_tokio::Cache<u32, u32>> = Arc::new(
        readthrough_core::Cache::builder()
            .capacity(16)
            .timer(TokioTimer::on(leaked(&runtime)))
            .ttl(Duration::from_millis(1))
            .stale_window(Duration::from_secs(3_600))
            .build()
            .unwrap(),
    );
    cache.insert(1, 100);
    std::thread::sleep(Duration::from_millis(2));

    let loads = Arc::new(AtomicUsize::new(0));
    let load = {
        let loads = Arc::clone(&loads);
        move |_: &u32| {
            loads.fetch_add(1, Ordering::SeqCst);
            async { Ok(200) }
        }
    };
    // This thread is in no runtime: `tokio::spawn` would panic here.
    assert!(tokio::runtime::Handle::try_current().is_err());
    let answer = block_on(cache.get_or_revalidate_in_background(&1, load)).unwrap();
    assert_eq!(answer.value, 100);
    assert!(matches!(answer.status, Status::Stale(_)), "{answer:?}");
    assert_eq!(loads.load(Ordering::SeqCst), 0, "spawned, not run inline");
    assert_eq!(cache.loads_in_flight(), 1);

    // The current-thread runtime runs the task once it is driven.
    runtime.block_on(async {
        for _ in 0..100 {
            if cache.loads_in_flight() == 0 {
                break;
            }
            tokio::task::yield_now().await;
        }
    });
    assert_eq!(loads.load(Ordering::SeqCst), 1);
    assert_eq!(cache.loads_in_flight(), 0);
    assert_eq!(cache.get_stale(&1).unwrap().value, 200);
}

#[test]
fn a_sleep_made_outside_the_runtime_uses_its_clock() {
    // Paused: the sleep is this runtime's, so its clock jumps to the sleep's end.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let timer = TokioTimer::on(leaked(&runtime));
    assert!(tokio::runtime::Handle::try_current().is_err());
    let sleep = timer.sleep(Duration::from_secs(3_600));
    let started = runtime.block_on(async { tokio::time::Instant::now() });
    runtime.block_on(sleep);
    let slept = runtime.block_on(async { tokio::time::Instant::now() }) - started;
    assert_eq!(slept, Duration::from_secs(3_600));
}

#[test]
#[should_panic(expected = "no reactor running")]
fn a_timer_without_a_runtime_cannot_spawn_outside_one() {
    TokioTimer::new().spawn(async {});
}

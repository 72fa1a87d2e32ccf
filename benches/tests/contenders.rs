//! The harness measures what it claims: every contender reports misses and hits truthfully,
//! answers the loader's value, and coalesces a small storm the way the table says.

use std::sync::Arc;

use futures_lite::future::block_on;
use readthrough_benches::contender::{Contender, StormContender};
use readthrough_benches::loader::{StormOutcome, storm_loads};
use readthrough_benches::peers::defaults::{MokaDefaults, QuickCacheDefaults, ReadthroughDefaults};
use readthrough_benches::peers::{Moka, Pingora, QuickCache, Readthrough};

fn miss_then_hit<C: Contender>() {
    let cache = C::with_capacity(1_000);
    block_on(async {
        let first = cache.get_or_load(7).await;
        assert_eq!(
            (first.value, first.loaded),
            (7, true),
            "{}: first lookup",
            C::NAME
        );
        let second = cache.get_or_load(7).await;
        assert_eq!(
            (second.value, second.loaded),
            (7, false),
            "{}: second lookup",
            C::NAME
        );
        cache.settle().await;
    });
    if let Some(count) = cache.entry_count() {
        assert_eq!(count, 1, "{}: entry count", C::NAME);
    }
    if let Some(found) = cache.plain_get(7) {
        assert_eq!(found, Some(7), "{}: plain get", C::NAME);
    }
}

#[test]
fn every_contender_reports_misses_and_hits() {
    miss_then_hit::<Readthrough>();
    miss_then_hit::<Pingora>();
    miss_then_hit::<Moka>();
    miss_then_hit::<QuickCache>();
}

#[test]
fn every_default_contender_reports_misses_and_hits() {
    miss_then_hit::<ReadthroughDefaults>();
    miss_then_hit::<MokaDefaults>();
    miss_then_hit::<QuickCacheDefaults>();
}

/// Loader calls and successful answers of one storm of `tasks` tasks.
fn storm<C: Contender>(
    runtime: &tokio::runtime::Runtime,
    tasks: usize,
    outcome: StormOutcome,
) -> (u64, usize) {
    let cache = Arc::new(C::Storm::for_storm(64, outcome));
    let before = storm_loads();
    let values = runtime.block_on(async {
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move { cache.get_or_load_slowly(1).await })
            })
            .collect();
        let mut values = 0;
        for handle in handles {
            if let Ok(Ok(value)) = handle.await {
                assert_eq!(value, 1);
                values += 1;
            }
        }
        values
    });
    (storm_loads() - before, values)
}

// One test runs every storm: the loader-call counter is process-wide.
#[test]
fn storms_coalesce_as_the_table_reports() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    assert_eq!(
        storm::<Readthrough>(&runtime, 20, StormOutcome::Succeeds),
        (1, 20)
    );
    assert_eq!(
        storm::<Readthrough>(&runtime, 20, StormOutcome::Fails),
        (1, 0)
    );
    assert_eq!(
        storm::<Pingora>(&runtime, 20, StormOutcome::Succeeds),
        (1, 20)
    );
    assert_eq!(storm::<Moka>(&runtime, 20, StormOutcome::Succeeds), (1, 20));
    assert_eq!(
        storm::<QuickCache>(&runtime, 20, StormOutcome::Succeeds),
        (1, 20)
    );
    // Pingora's waiters each load again after a failure (its issue #474).
    let (pingora_failing_loads, values) = storm::<Pingora>(&runtime, 20, StormOutcome::Fails);
    assert_eq!((pingora_failing_loads, values), (20, 0));
}

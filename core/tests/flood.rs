//! Remembered errors under a flood of distinct failing keys: the live heap stays flat.
//!
//! A binary of its own, with no other test beside it, so that its per-thread heap figure
//! sees nothing but the cache it measures.
#![cfg(not(miri))]

mod common;

use std::time::Duration;

use common::counting_alloc::{Counting, live_bytes};
use readthrough_core::{Cache, ManualTimer};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Live heap of a cache of `capacity` (in `shards`, or the default) that remembered errors for
/// `failing` distinct keys, and of the same cache filled with `capacity` entries instead:
/// `(flooded, full)`.
fn flood(capacity: usize, shards: Option<usize>, failing: u64) -> (isize, isize) {
    let timer = ManualTimer::new();
    let build = || {
        let builder = Cache::<u64, u64, u64>::builder()
            .capacity(capacity)
            .timer(timer.clone())
            .negative_ttl(Duration::from_secs(60));
        match shards {
            Some(shards) => builder.shards(shards),
            None => builder,
        }
        .build()
        .unwrap()
    };
    futures_lite::future::block_on(async {});
    let before = live_bytes();
    let full = build();
    for key in 0..capacity as u64 {
        full.insert(key, key);
    }
    let full_heap = live_bytes() - before;
    drop(full);

    let before = live_bytes();
    let flooded = build();
    // An error of constant size, so that only the cache's own memory can grow.
    let fail = |key: &u64| {
        let key = *key;
        async move { Err(key) }
    };
    for key in 0..failing {
        let outcome = futures_lite::future::block_on(flooded.get_or_load(&key, fail));
        assert!(outcome.is_err());
    }
    assert!(flooded.remembered_errors() <= readthrough_core::DEFAULT_REMEMBERED_ERRORS);
    (live_bytes() - before, full_heap)
}

/// The default shards, and counts whose share of the remembered-error limit is no power of
/// two (a table sized again later, as tombstones used up its room, grew in those only).
const SHARD_COUNTS: [Option<usize>; 3] = [None, Some(7), Some(39)];

#[test]
fn a_flood_of_failing_keys_keeps_the_heap_flat() {
    let sizes: &[u64] = &[10_000, 100_000, 1_000_000];
    let capacity = 10_000;
    for shards in SHARD_COUNTS {
        let mut heaps = Vec::new();
        for &failing in sizes {
            let (flooded, full) = flood(capacity, shards, failing);
            println!(
                "capacity {capacity}, shards {shards:?}: {failing} failing keys leave {flooded} B live; a full cache holds {full} B"
            );
            heaps.push((flooded, full));
        }
        // The in-flight tables settle at their final size within the first sizes; after that
        // the heap does not grow with more distinct keys.
        let [.., (settled, _), (last, _)] = heaps[..] else {
            unreachable!("three sizes")
        };
        assert!(
            last <= settled + settled / 100,
            "shards {shards:?}: the heap grows with distinct failing keys: {heaps:?}"
        );
        for &(flooded, full) in &heaps {
            assert!(
                flooded <= full + 64 * 1024,
                "shards {shards:?}: remembered errors cost more than a full cache plus 64 KiB: {heaps:?}"
            );
        }
    }
}

//! Heap allocations, counted by a global allocator in this test binary alone.
//!
//! Only allocations made by the measuring thread count: the test harness's own threads
//! allocate when they report other tests.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use std::task::Poll;

use common::{Calls, numbered_after, poll_once};
use readthrough_core::{Cache, ManualTimer};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
    /// Bytes allocated minus bytes freed by this thread.
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

fn count_one() {
    // `try_with`: the thread-local is gone while a thread shuts down.
    let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
}

fn live_change(bytes: isize) {
    let _ = LIVE.try_with(|live| live.set(live.get() + bytes));
}

fn live_bytes() -> isize {
    LIVE.with(Cell::get)
}

fn allocations_so_far() -> usize {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: forwards to the system allocator, only counting.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        live_change(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        live_change(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        live_change(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during<R>(f: impl FnOnce() -> R) -> (usize, R) {
    let before = allocations_so_far();
    let result = f();
    (allocations_so_far() - before, result)
}

#[test]
fn hits_allocate_nothing() {
    let keys = if cfg!(miri) { 32 } else { 512 };
    let cache = Cache::<u64, u64>::new(2 * keys as usize).unwrap();
    for key in 0..keys {
        cache.insert(key, key);
    }
    let load = |k: &u64| {
        let k = *k;
        async move { Ok(k) }
    };
    // block_on sets up its thread-local parker on first use: not the cache's allocation.
    futures_lite::future::block_on(async {});
    let (allocations, found) = allocations_during(|| {
        let mut found = 0;
        for key in 0..keys {
            found += cache.get(&key).is_some() as usize;
            let answer = futures_lite::future::block_on(cache.get_or_load(&key, load));
            found += answer.is_ok() as usize;
        }
        found
    });
    assert_eq!(found, 2 * keys as usize);
    assert_eq!(
        allocations, 0,
        "a hit, plain or read-through, allocates nothing"
    );
}

#[test]
fn a_warm_preallocated_cache_inserts_and_evicts_without_allocating() {
    let (capacity, keys) = if cfg!(miri) {
        (32, 100)
    } else {
        (4096, 20_000)
    };
    let cache = Cache::<u64, u64>::builder()
        .capacity(capacity)
        .preallocate()
        .build()
        .unwrap();
    for key in 0..keys {
        cache.insert(key, key);
    }
    let (allocations, ()) = allocations_during(|| {
        for key in keys..3 * keys {
            cache.insert(key, key);
        }
    });
    assert_eq!(
        allocations, 0,
        "inserts and evictions in a warm cache allocate nothing"
    );
}

#[test]
fn a_warm_preallocated_weighted_cache_inserts_and_evicts_without_allocating() {
    let (entries, keys) = if cfg!(miri) {
        (32, 100)
    } else {
        (4096, 20_000)
    };
    // Weights of 1 or 2 units: an insert evicts at most two entries, which stay inline.
    // Room is reserved for as many entries as the capacity can hold (all of weight 1).
    let weight = |key: &u64, _: &u64| 1 + (*key % 2) as usize;
    let cache = Cache::<u64, u64>::builder()
        .capacity(entries * 2)
        .weigher(weight)
        .preallocate(entries * 2)
        .build()
        .unwrap();
    for key in 0..keys {
        cache.insert(key, key);
    }
    let (allocations, ()) = allocations_during(|| {
        for key in keys..3 * keys {
            cache.insert(key, key);
            assert!(cache.weight() <= entries * 2);
        }
    });
    assert_eq!(
        allocations, 0,
        "inserts and evictions in a warm weighted cache allocate nothing"
    );
}

#[test]
fn a_warm_weighted_cache_evicting_many_entries_per_insert_does_not_allocate() {
    let (capacity, keys) = if cfg!(miri) {
        (256, 400)
    } else {
        (32_768, 40_000)
    };
    // Weights of 1 to 32: a heavy insert evicts up to 32 light entries at once, more than the
    // two the eviction list keeps inline.
    let weight = |key: &u64, _: &u64| 1 + (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 59) as usize;
    let cache = Cache::<u64, u64>::builder()
        .capacity(capacity)
        .shards(1)
        .weigher(weight)
        .preallocate(capacity)
        .build()
        .unwrap();
    for key in 0..keys {
        cache.insert(key, key);
    }
    let (allocations, ()) = allocations_during(|| {
        for key in keys..4 * keys {
            cache.insert(key, key);
        }
    });
    assert!(cache.weight() <= capacity);
    assert_eq!(
        allocations, 0,
        "a warm weighted cache reuses its eviction list instead of allocating"
    );
}

/// Allocations made by the cache while `waiters` callers join one load (their first poll)
/// and while that load lands and every caller finishes: `(joining, landing)`.
fn storm(waiters: usize) -> (usize, usize) {
    let calls = Calls::default();
    let timer = ManualTimer::new();
    let cache: Cache<u32, u32, String, ManualTimer> = Cache::builder()
        .capacity(16)
        .timer(timer.clone())
        .build()
        .unwrap();
    let load = numbered_after(&calls, &timer, Duration::from_millis(10));
    // The callers' futures and the vector of answers are the caller's memory: made up front.
    let mut callers: Vec<_> = (0..waiters)
        .map(|_| Box::pin(cache.get_or_load(&1, &load)))
        .collect();
    let mut answers = Vec::with_capacity(waiters);
    let (joining, ()) = allocations_during(|| {
        for caller in &mut callers {
            assert!(poll_once(caller.as_mut()).is_pending());
        }
    });
    let (landing, ()) = allocations_during(|| {
        timer.advance(Duration::from_millis(10));
        for caller in &mut callers {
            loop {
                if let Poll::Ready(answer) = poll_once(caller.as_mut()) {
                    answers.push(answer);
                    break;
                }
            }
        }
    });
    assert_eq!(calls.count(), 1);
    assert!(answers.iter().all(|a| a.as_ref().unwrap().value == 1));
    (joining, landing)
}

#[test]
fn waiters_do_not_grow_the_heap() {
    let waiters = if cfg!(miri) { 30 } else { 1000 };
    let few = storm(10);
    let many = storm(waiters);
    println!("allocations (joining, landing): 10 waiters {few:?}, {waiters} waiters {many:?}");
    assert_eq!(
        few, many,
        "the number of waiters changed the number of allocations"
    );
}

#[test]
fn a_miss_allocates_only_its_flight() {
    let capacity = if cfg!(miri) { 32 } else { 1024 };
    let cache = Cache::<u64, u64>::builder()
        .capacity(capacity)
        .preallocate()
        .build()
        .unwrap();
    let load = |k: &u64| {
        let k = *k;
        async move { Ok(k) }
    };
    let mut key = 0;
    let mut miss = |cache: &Cache<u64, u64>| {
        key += 1;
        let answer = futures_lite::future::block_on(cache.get_or_load(&key, load)).unwrap();
        assert_eq!(answer.status, readthrough_core::Status::Miss);
    };
    // Fill the cache (and let each shard's in-flight table allocate once).
    for _ in 0..4 * capacity {
        miss(&cache);
    }
    let misses = if cfg!(miri) { 20 } else { 1000 };
    let (allocations, ()) = allocations_during(|| {
        for _ in 0..misses {
            miss(&cache);
        }
    });
    assert_eq!(
        allocations, misses,
        "one shared flight record per miss, nothing else"
    );
}

/// Live heap of a cache of `capacity` that remembered errors for `failing` distinct keys, and
/// of the same cache filled with `capacity` entries instead: `(flooded, full)`.
fn flood(capacity: usize, failing: u64) -> (isize, isize) {
    let timer = ManualTimer::new();
    let build = || {
        Cache::<u64, u64, u64>::builder()
            .capacity(capacity)
            .timer(timer.clone())
            .negative_ttl(Duration::from_secs(60))
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

#[test]
#[cfg_attr(
    miri,
    ignore = "a heap measurement over thousands of loads; the remembered-error paths run under miri in bounds.rs"
)]
fn a_flood_of_failing_keys_keeps_the_heap_flat() {
    let sizes: &[u64] = &[10_000, 100_000, 1_000_000];
    let capacity = 10_000;
    let mut heaps = Vec::new();
    for &failing in sizes {
        let (flooded, full) = flood(capacity, failing);
        println!(
            "capacity {capacity}: {failing} failing keys leave {flooded} B live; a full cache holds {full} B"
        );
        heaps.push((flooded, full));
    }
    // The in-flight tables settle at their final size within the first sizes; after that the
    // heap does not grow with more distinct keys.
    let [.., (settled, _), (last, _)] = heaps[..] else {
        unreachable!("three sizes")
    };
    assert!(
        last <= settled + settled / 100,
        "the heap grows with distinct failing keys: {heaps:?}"
    );
    for &(flooded, full) in &heaps {
        assert!(
            flooded <= full + 64 * 1024,
            "remembered errors cost more than a full cache plus 64 KiB: {heaps:?}"
        );
    }
}

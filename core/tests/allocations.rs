//! Heap allocations, counted by a global allocator in this test binary alone.
//!
//! Only allocations made by the measuring thread count: the test harness's own threads
//! allocate when they report other tests.

mod common;

use std::time::Duration;

use std::task::Poll;

use common::counting_alloc::{Counting, allocations_during};
use common::{Calls, numbered_after, poll_once};
use readthrough_core::{Cache, ManualTimer};

#[global_allocator]
static GLOBAL: Counting = Counting;

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

/// Allocations made by `insert` for keys `keys..until` after it warmed the cache with
/// `0..keys`.
fn allocations_once_warm(insert: impl Fn(u64), keys: u64, until: u64) -> usize {
    for key in 0..keys {
        insert(key);
    }
    allocations_during(|| (keys..until).for_each(&insert)).0
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
    let allocations = allocations_once_warm(|key| cache.insert(key, key), keys, 3 * keys);
    assert_eq!(
        allocations, 0,
        "inserts and evictions in a warm cache allocate nothing"
    );
}

#[test]
fn a_preallocated_cache_allocates_nothing_from_its_first_insert() {
    // Ten times the capacity in distinct keys: enough evictions for the table to fill with
    // tombstones and be rebuilt in place several times. 1,562 keys fill most of a 2,048-bucket
    // table (the size a reservation of the bare capacity gets), where a rebuild would grow it.
    let (capacity, keys) = if cfg!(miri) {
        (50, 500)
    } else {
        (1562, 15_620)
    };
    let cache = Cache::<u64, u64>::builder()
        .capacity(capacity)
        .shards(1)
        .preallocate()
        .build()
        .unwrap();
    let (allocations, ()) = allocations_during(|| (0..keys).for_each(|key| cache.insert(key, key)));
    assert_eq!(
        allocations, 0,
        "a preallocated cache reserved every table at build time"
    );
    assert_eq!(cache.len(), capacity);
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
    let insert = |key| {
        cache.insert(key, key);
        assert!(cache.weight() <= entries * 2);
    };
    let allocations = allocations_once_warm(insert, keys, 3 * keys);
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
    let allocations = allocations_once_warm(|key| cache.insert(key, key), keys, 4 * keys);
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
fn a_warm_miss_allocates_nothing() {
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
    // Fill the cache (and let each shard's in-flight table and first flight allocate once).
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
        allocations, 0,
        "a miss nobody waits for reuses its shard's flight record"
    );
}

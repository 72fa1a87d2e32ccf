//! Exact bounds: entry count and total weight never exceed the capacity, for every shard split;
//! oversized and zero-weight entries; configurations that used to abort are refused.

mod common;

use std::time::Duration;

use common::{BodyLen, block_on};
use readthrough_core::{BuildError, Cache, MAX_SHARDS, ManualTimer, Status};

type ByteCache = common::ByteCache<u32>;

#[test]
fn the_entry_bound_is_exact_for_every_shard_split() {
    let (capacities, shard_counts): (&[usize], &[usize]) = if cfg!(miri) {
        (&[1, 3, 10], &[1, 2, 3])
    } else {
        (&[1, 2, 3, 7, 10, 64, 100, 1000], &[1, 2, 3, 4, 7, 16, 64])
    };
    for &capacity in capacities {
        for &shards in shard_counts {
            if shards > capacity {
                continue;
            }
            let cache = Cache::<u64, u64>::builder()
                .capacity(capacity)
                .shards(shards)
                .build()
                .unwrap();
            for key in 0..(capacity as u64 * 4 + 50) {
                cache.insert(key, key);
                assert!(
                    cache.len() <= capacity,
                    "capacity {capacity}, {shards} shards: {} entries",
                    cache.len()
                );
            }
        }
    }
}

#[test]
fn ten_over_four_shards_holds_at_most_ten() {
    let cache = Cache::<u32, u32>::builder()
        .capacity(10)
        .shards(4)
        .build()
        .unwrap();
    for key in 0..1000 {
        cache.insert(key, key);
    }
    assert!(cache.len() <= 10, "{} entries", cache.len());
    let (capacity, keys) = if cfg!(miri) {
        (300, 1_000)
    } else {
        (10_000, 100_000)
    };
    let default_split = Cache::<u32, u32>::new(capacity).unwrap();
    for key in 0..keys {
        default_split.insert(key, key);
    }
    assert!(default_split.len() <= capacity, "{}", default_split.len());
}

fn byte_cache(capacity: usize, shards: usize) -> ByteCache {
    Cache::<u32, Vec<u8>>::builder()
        .capacity(capacity)
        .shards(shards)
        .weigher(BodyLen)
        .build()
        .unwrap()
}

#[test]
fn the_weight_bound_holds_for_mixed_sizes() {
    let cache = byte_cache(10_000, 4);
    let mut seed = 12345u64;
    let inserts = if cfg!(miri) { 300 } else { 5_000u32 };
    for key in 0..inserts {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let size = (seed >> 33) as usize % 1200;
        cache.insert(key % 700, vec![0; size]);
        assert!(cache.weight() <= 10_000, "weight {}", cache.weight());
    }
    assert!(
        cache.weight() > 5_000,
        "the cache fills up: {}",
        cache.weight()
    );
}

#[test]
fn replacing_with_a_heavier_value_evicts_to_stay_within_the_bound() {
    let cache = byte_cache(100, 1);
    for key in 0..10 {
        cache.insert(key, vec![0; 10]);
    }
    assert_eq!(cache.weight(), 100);
    cache.insert(3, vec![0; 50]);
    assert!(cache.weight() <= 100);
    assert_eq!(cache.get(&3).map(|body| body.len()), Some(50));
}

#[test]
fn an_entry_heavier_than_a_shard_is_answered_but_not_stored() {
    let cache = byte_cache(1000, 2);
    cache.insert(1, vec![0; 100]);
    // Each shard holds 500: 600 bytes fit the cache but no shard.
    cache.insert(1, vec![0; 600]);
    assert_eq!(cache.get(&1), None, "the older value is gone too");
    assert_eq!(cache.stats().oversized, 1);
    block_on(async {
        let answer = cache
            .get_or_load(&2, |_: &u32| async { Ok(vec![7u8; 600]) })
            .await
            .unwrap();
        assert_eq!((answer.value.len(), answer.status), (600, Status::Miss));
    });
    assert_eq!(cache.get(&2), None);
    assert_eq!((cache.weight(), cache.stats().oversized), (0, 2));
}

#[test]
fn zero_weight_entries_count_as_one() {
    let cache = byte_cache(5, 1);
    for key in 0..100 {
        cache.insert(key, Vec::new());
    }
    assert_eq!((cache.len(), cache.weight()), (5, 5));
}

#[test]
fn keys_of_every_weight_coming_back_from_the_ghost_keep_the_bound() {
    // Weights from 0 to past the whole capacity, each key asked for again after others pushed
    // it out: the weighed admission test sums the weights and sketch counts of up to 16
    // main-queue entries near u32::MAX each, and must neither overflow nor break the bound.
    let capacity = u32::MAX as usize;
    let cache = Cache::<u64, usize>::builder()
        .capacity(capacity)
        .shards(1)
        .weigher(|_: &u64, weight: &usize| *weight)
        .build()
        .unwrap();
    let weights = [
        0,
        1,
        capacity / 3,
        capacity / 17,
        capacity - 1,
        capacity,
        capacity + 1,
    ];
    for round in 0..40u64 {
        for (index, &weight) in weights.iter().enumerate() {
            let key = (round % 4) * 10 + index as u64;
            if cache.get(&key).is_none() {
                cache.insert(key, weight);
            }
            assert!(
                cache.weight() <= capacity,
                "weight {} in round {round}",
                cache.weight()
            );
        }
    }
    assert!(
        cache.get(&6).is_none() && cache.get(&16).is_none(),
        "heavier than the cache"
    );
    assert!(cache.stats().oversized > 0);
}

#[test]
fn configurations_that_used_to_abort_are_refused() {
    assert_eq!(
        Cache::<u8, u8>::builder()
            .capacity(usize::MAX)
            .shards(usize::MAX)
            .build()
            .err(),
        Some(BuildError::TooManyShards {
            shards: usize::MAX,
            max: MAX_SHARDS
        })
    );
    assert!(matches!(
        Cache::<u8, u8>::builder()
            .capacity(1 << 40)
            .shards(1 << 40)
            .build()
            .err(),
        Some(BuildError::TooManyShards { .. })
    ));
    assert!(matches!(
        Cache::<u8, u8>::builder()
            .capacity(u32::MAX as usize)
            .shards(u32::MAX as usize)
            .build()
            .err(),
        Some(BuildError::TooManyShards { .. })
    ));
    assert_eq!(
        Cache::<u8, u8>::builder()
            .capacity(u32::MAX as usize * 4 + 1)
            .shards(2)
            .build()
            .err(),
        Some(BuildError::ShardTooLarge { shards_needed: 5 })
    );
    let message = BuildError::ShardTooLarge { shards_needed: 5 }.to_string();
    assert!(message.contains("at least 5 shards"), "{message}");
}

#[test]
#[cfg_attr(miri, ignore = "asks the allocator for tens of gigabytes")]
fn an_impossible_preallocation_is_an_error_not_an_abort() {
    let refused = Cache::<u64, u64>::builder()
        .capacity(u32::MAX as usize * 64)
        .shards(64)
        .preallocate()
        .build();
    assert_eq!(refused.err(), Some(BuildError::Allocation));
}

#[test]
fn a_large_capacity_without_shards_named_gets_enough_shards() {
    // The default shard count rises until every shard fits in u32.
    let cache = Cache::<u8, u8>::new(u32::MAX as usize * 100).unwrap();
    cache.insert(1, 1);
    assert_eq!(cache.get(&1), Some(1));
}

#[test]
fn preallocate_without_an_entry_count_is_refused_for_a_weighted_cache() {
    let refused = Cache::<u32, Vec<u8>>::builder()
        .capacity(1 << 20)
        .preallocate()
        .weigher(|_: &u32, body: &Vec<u8>| body.len())
        .build();
    assert_eq!(refused.err(), Some(BuildError::PreallocateNeedsEntries));
    assert_eq!(
        Cache::<u8, u8>::builder()
            .capacity(8)
            .remembered_errors(0)
            .build()
            .err(),
        Some(BuildError::ZeroRememberedErrors)
    );
}

#[test]
fn remembered_errors_stay_within_their_limit() {
    let timer = ManualTimer::new();
    let cache = Cache::<u32, u32, String>::builder()
        .capacity(1000)
        .shards(4)
        .timer(timer.clone())
        .negative_ttl(Duration::from_secs(60))
        .remembered_errors(10)
        .build()
        .unwrap();
    block_on(async {
        let keys = if cfg!(miri) { 100 } else { 1000 };
        for key in 0..keys {
            assert!(cache.get_or_load(&key, no_row).await.is_err());
            assert!(cache.remembered_errors() <= 10);
        }
        // The latest errors are still remembered: no load runs for them.
        let loads = cache.stats().loads;
        assert!(cache.get_or_load(&(keys - 1), no_row).await.is_err());
        assert_eq!(cache.stats().loads, loads);
    });
    assert_eq!(cache.remembered_errors(), 10);
    assert_eq!(cache.loads_in_flight(), 0);
}

#[test]
fn expired_errors_are_swept_when_the_next_one_is_remembered() {
    let timer = ManualTimer::new();
    let cache = Cache::<u32, u32, String>::builder()
        .capacity(100)
        .shards(1)
        .timer(timer.clone())
        .negative_ttl(Duration::from_secs(60))
        .build()
        .unwrap();
    block_on(async {
        for key in 0..50 {
            assert!(cache.get_or_load(&key, no_row).await.is_err());
        }
        assert_eq!(cache.remembered_errors(), 50);
        timer.advance(Duration::from_secs(61));
        assert!(cache.get_or_load(&1000, no_row).await.is_err());
    });
    assert_eq!(cache.remembered_errors(), 1);
}

/// The builder takes any limit of remembered errors: the first error reserves a bounded room,
/// not room for all of them (which overflowed and panicked with `usize::MAX`).
#[test]
fn the_largest_limit_of_remembered_errors_remembers_without_panicking() {
    let cache = Cache::<u32, u32, String>::builder()
        .capacity(100)
        .shards(1)
        .timer(ManualTimer::new())
        .negative_ttl(Duration::from_secs(60))
        .remembered_errors(usize::MAX)
        .build()
        .unwrap();
    block_on(async {
        for key in 0..20 {
            assert!(cache.get_or_load(&key, no_row).await.is_err());
        }
    });
    assert_eq!(cache.remembered_errors(), 20);
    assert_eq!(cache.loads_in_flight(), 0);
}

/// A loader for which every key is missing.
async fn no_row(key: &u32) -> Result<u32, String> {
    Err(format!("no row {key}"))
}

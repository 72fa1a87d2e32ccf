//! A fixed amount of readthrough work for counting instructions under
//! `valgrind --tool=callgrind`, which is repeatable on a busy machine where wall time is not.
//!
//! `hit_instructions MODE N [defaults] [parking-lot]`: MODE is `get` (plain `get` hits), `get-async` (the
//! same inside an `async` block's loop with an await per lookup, as the `*-direct` modes loop), `load`
//! (`get_or_load` hits with a closure loader, awaited in an `async fn` of the caller's),
//! `load-struct` (the same with a `Loader` struct), `load-direct` (awaited in the loop itself,
//! as `hit_overhead` does), `load-struct-direct` (the `Loader` struct so), `load-async-closure-direct` (an async
//! closure so), `load-wrapper` (through the comparison's `Contender` wrapper, whose
//! ahash is randomly seeded), `miss` (`get_or_load` misses with eviction on a full cache),
//! `miss-weighed` (the same with a weigher) or `zipf-weighed` (`get_or_load` of Zipf keys with
//! a weigher: hits, misses and keys back from the ghost); N operations after the same
//! setup and warm-up. `defaults` builds the cache with `Cache::new` (the default hasher, seeded
//! per process, so counts may differ by a fraction of an instruction between runs) instead of
//! ahash with fixed seeds. `parking-lot` puts the shards behind `ParkingLotLock` instead of the
//! default `ReadMostlyLock`. Instructions per operation =
//! (total with N2 − total with N1) / (N2 − N1), which cancels the setup. It also prints the
//! allocations the N operations made (counting allocator).
//!
//! `benches/callgrind.sh` runs it for each mode and prints the figures.

use std::hint::black_box;

use core::hash::BuildHasher;
use futures_lite::future::block_on;
use readthrough_benches::await_point::await_point;
use readthrough_benches::contender::Contender;
use readthrough_benches::counting_alloc::{AllocationWindow, CountingAllocator};
use readthrough_benches::peers::Readthrough;
use readthrough_benches::zipf::Zipf;

use readthrough_core::{Cache, Loader, NoTimer, ParkingLotLock, RawLock, ReadMostlyLock};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Keys preloaded for the hits (as in the `compare` hit rows), and capacity of the miss runs.
const KEYS: u64 = 100_000;
/// The Zipf(0.99) key sequence the hits cycle through; generated whatever N is.
const SEQUENCE: usize = 1 << 20;

type Rt<S, L> = Cache<u64, u64, (), NoTimer, S, L>;

fn cache<L: RawLock>(capacity: usize) -> Rt<ahash::RandomState, L> {
    Cache::builder()
        .capacity(capacity)
        // Fixed seeds: the same table layout on every run, so the counts repeat exactly.
        .hasher(ahash::RandomState::with_seeds(1, 2, 3, 4))
        .lock::<L>()
        .build()
        .unwrap_or_else(|error| panic!("capacity {capacity}: {error}"))
}

/// What `Cache::new` builds (the default hasher, seeded per process), with the lock `L`.
fn default_cache<L: RawLock>(capacity: usize) -> Rt<readthrough_core::DefaultHashBuilder, L> {
    Cache::builder()
        .capacity(capacity)
        .lock::<L>()
        .build()
        .unwrap_or_else(|error| panic!("capacity {capacity}: {error}"))
}

async fn load<S: BuildHasher, L: RawLock>(cache: &Rt<S, L>, key: u64) -> u64 {
    let answer = cache
        .get_or_load(black_box(&key), |key: &u64| {
            let key = *key;
            async move { Ok(key) }
        })
        .await;
    answer.map_or(u64::MAX, |answer| answer.value)
}

/// A loader written as a struct, as a loader with state would be.
struct Identity;

impl Loader<u64> for &Identity {
    type Value = u64;
    type Error = ();
    async fn load(&self, key: &u64) -> Result<u64, ()> {
        Ok(*key)
    }
}

async fn load_struct<S: BuildHasher, L: RawLock>(cache: &Rt<S, L>, key: u64) -> u64 {
    let answer = cache.get_or_load(black_box(&key), &Identity).await;
    answer.map_or(u64::MAX, |answer| answer.value)
}

#[inline(never)]
fn loop_get<S: BuildHasher, L: RawLock>(cache: &Rt<S, L>, keys: &[u64], operations: usize) -> u64 {
    let mut checksum = 0u64;
    for index in 0..operations {
        let key = keys[index % SEQUENCE];
        checksum = checksum.wrapping_add(cache.get(black_box(&key)).unwrap_or(u64::MAX));
    }
    checksum
}

/// `get` awaited nowhere but looped inside an `async` block like the `*-direct` modes: the
/// loop's variables then live in the block's state (memory) rather than registers, which is
/// the caller's cost, not the read-through API's.
#[inline(never)]
fn loop_get_async<S: BuildHasher, L: RawLock>(
    cache: &Rt<S, L>,
    keys: &[u64],
    operations: usize,
) -> u64 {
    block_on(async {
        let mut checksum = 0u64;
        for index in 0..operations {
            let key = keys[index % SEQUENCE];
            checksum = checksum.wrapping_add(cache.get(black_box(&key)).unwrap_or(u64::MAX));
            await_point().await;
        }
        checksum
    })
}

#[inline(never)]
fn loop_load<S: BuildHasher, L: RawLock>(cache: &Rt<S, L>, keys: &[u64], operations: usize) -> u64 {
    block_on(async {
        let mut checksum = 0u64;
        for index in 0..operations {
            checksum = checksum.wrapping_add(load(cache, keys[index % SEQUENCE]).await);
        }
        checksum
    })
}

#[inline(never)]
fn loop_load_struct<S: BuildHasher, L: RawLock>(
    cache: &Rt<S, L>,
    keys: &[u64],
    operations: usize,
) -> u64 {
    block_on(async {
        let mut checksum = 0u64;
        for index in 0..operations {
            checksum = checksum.wrapping_add(load_struct(cache, keys[index % SEQUENCE]).await);
        }
        checksum
    })
}

#[inline(never)]
fn loop_load_direct<S: BuildHasher, L: RawLock>(
    cache: &Rt<S, L>,
    keys: &[u64],
    operations: usize,
) -> u64 {
    block_on(async {
        let mut checksum = 0u64;
        for index in 0..operations {
            let key = keys[index % SEQUENCE];
            let answer = cache
                .get_or_load(black_box(&key), |key: &u64| {
                    let key = *key;
                    async move { Ok(key) }
                })
                .await;
            checksum = checksum.wrapping_add(answer.map_or(u64::MAX, |answer| answer.value));
        }
        checksum
    })
}

#[inline(never)]
fn loop_load_struct_direct<S: BuildHasher, L: RawLock>(
    cache: &Rt<S, L>,
    keys: &[u64],
    operations: usize,
) -> u64 {
    block_on(async {
        let mut checksum = 0u64;
        for index in 0..operations {
            let key = keys[index % SEQUENCE];
            let answer = cache.get_or_load(black_box(&key), &Identity).await;
            checksum = checksum.wrapping_add(answer.map_or(u64::MAX, |answer| answer.value));
        }
        checksum
    })
}

#[inline(never)]
fn loop_load_async_closure_direct<S: BuildHasher, L: RawLock>(
    cache: &Rt<S, L>,
    keys: &[u64],
    operations: usize,
) -> u64 {
    block_on(async {
        let mut checksum = 0u64;
        for index in 0..operations {
            let key = keys[index % SEQUENCE];
            let answer = cache
                .get_or_load(black_box(&key), async |key: &u64| Ok(*key))
                .await;
            checksum = checksum.wrapping_add(answer.map_or(u64::MAX, |answer| answer.value));
        }
        checksum
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Get,
    GetAsync,
    Load,
    LoadStruct,
    LoadDirect,
    LoadStructDirect,
    LoadAsyncClosureDirect,
    LoadWrapper,
    Miss,
    MissWeighed,
    ZipfWeighed,
}

/// A cache with a weigher (each key weighs 1 to 64, from its number), fixed ahash seeds.
type Weighed = Cache<
    u64,
    u64,
    (),
    NoTimer,
    ahash::RandomState,
    readthrough_core::DefaultLock,
    readthrough_core::Weighted<fn(&u64, &u64) -> usize>,
>;

fn key_weight(key: &u64, _value: &u64) -> usize {
    (key % 64 + 1) as usize
}

/// Weighed runs: `MissWeighed` is `Miss` on a weighed cache of 100,000 × 32.5 units (every
/// operation a miss that evicts, none a key back from the ghost); `ZipfWeighed` is
/// read-through on Zipf(0.99) keys over four times the keys the cache holds (hits, misses and
/// keys back from the ghost, which the weighed admission test weighs).
fn run_weighed(mode: Mode, operations: usize) -> (u64, u64) {
    let cache: Weighed = Cache::builder()
        .capacity(KEYS as usize * 65 / 2)
        .hasher(ahash::RandomState::with_seeds(1, 2, 3, 4))
        .weigher(key_weight as fn(&u64, &u64) -> usize)
        .build()
        .unwrap_or_else(|error| panic!("weighed cache: {error}"));
    let load = |key: u64| {
        let cache = &cache;
        async move {
            let answer = cache
                .get_or_load(black_box(&key), |key: &u64| {
                    let key = *key;
                    async move { Ok(key) }
                })
                .await;
            answer.map_or(u64::MAX, |answer| answer.value)
        }
    };
    block_on(async {
        let mut checksum = 0u64;
        if let Mode::ZipfWeighed = mode {
            let keys = Zipf::new(4 * KEYS as usize, 0.99)
                .unwrap_or_else(|error| panic!("{error}"))
                .keys(SEQUENCE, 5);
            for &key in &keys {
                load(key).await;
            }
            let window = AllocationWindow::open();
            for index in 0..operations {
                checksum = checksum.wrapping_add(load(keys[index % SEQUENCE]).await);
            }
            return (window.close().0, checksum);
        }
        for key in 0..2 * KEYS {
            load(key).await;
        }
        let window = AllocationWindow::open();
        for key in 2 * KEYS..2 * KEYS + operations as u64 {
            checksum = checksum.wrapping_add(load(key).await);
        }
        (window.close().0, checksum)
    })
}

/// Runs `mode` for `operations` operations on caches that `make` builds; returns the
/// allocations of the timed part and a checksum.
fn run<S: BuildHasher, L: RawLock>(
    mode: Mode,
    operations: usize,
    keys: &[u64],
    make: impl Fn(usize) -> Rt<S, L>,
) -> (u64, u64) {
    match mode {
        Mode::MissWeighed | Mode::ZipfWeighed => run_weighed(mode, operations),
        Mode::LoadWrapper => {
            // The comparison's path: the `Contender` wrapper's `get_or_load` (with its own
            // ahash, randomly seeded) on a cache preloaded the same way.
            let wrapped = Readthrough::with_capacity(KEYS as usize * 2);
            for key in 0..KEYS {
                wrapped.cache().insert(key, key);
            }
            block_on(async {
                for &key in &keys[..SEQUENCE / 10] {
                    black_box(wrapped.cache().get(&key));
                    black_box(wrapped.get_or_load(key).await);
                }
                let window = AllocationWindow::open();
                let mut checksum = 0u64;
                for index in 0..operations {
                    let lookup = wrapped.get_or_load(black_box(keys[index % SEQUENCE]));
                    checksum = checksum.wrapping_add(lookup.await.value);
                }
                (window.close().0, checksum)
            })
        }
        Mode::Get
        | Mode::GetAsync
        | Mode::Load
        | Mode::LoadStruct
        | Mode::LoadDirect
        | Mode::LoadStructDirect
        | Mode::LoadAsyncClosureDirect => {
            // Twice the key count, as in the `compare` hit rows.
            let cache = make(KEYS as usize * 2);
            for key in 0..KEYS {
                cache.insert(key, key);
            }
            block_on(async {
                // Warm-up: one pass over a tenth of the sequence, both ways.
                for &key in &keys[..SEQUENCE / 10] {
                    black_box(cache.get(&key));
                    black_box(load(&cache, key).await);
                }
            });
            let window = AllocationWindow::open();
            // One function per mode, compiled on its own, so that no mode's code shapes another's
            // (LLVM's inlining decisions depend on everything else in the calling function).
            let checksum = match mode {
                Mode::GetAsync => loop_get_async(&cache, keys, operations),
                Mode::Load => loop_load(&cache, keys, operations),
                Mode::LoadStruct => loop_load_struct(&cache, keys, operations),
                Mode::LoadDirect => loop_load_direct(&cache, keys, operations),
                Mode::LoadStructDirect => loop_load_struct_direct(&cache, keys, operations),
                Mode::LoadAsyncClosureDirect => {
                    loop_load_async_closure_direct(&cache, keys, operations)
                }
                _ => loop_get(&cache, keys, operations),
            };
            (window.close().0, checksum)
        }
        Mode::Miss => {
            let cache = make(KEYS as usize);
            block_on(async {
                for key in 0..KEYS {
                    load(&cache, key).await;
                }
                // Warm-up: misses that evict, so the timed ones meet a cache in steady state.
                for key in KEYS..2 * KEYS {
                    load(&cache, key).await;
                }
                let window = AllocationWindow::open();
                let mut checksum = 0u64;
                for key in 2 * KEYS..2 * KEYS + operations as u64 {
                    checksum = checksum.wrapping_add(load(&cache, key).await);
                }
                (window.close().0, checksum)
            })
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"));
    let mode = args.next().unwrap_or_else(|| "load".to_string());
    let operations: usize = args.next().map_or(Ok(100_000), |n| n.parse())?;
    let keys = Zipf::new(KEYS as usize, 0.99)?.keys(SEQUENCE, 1);

    let parsed = match mode.as_str() {
        "get" => Mode::Get,
        "get-async" => Mode::GetAsync,
        "load" => Mode::Load,
        "load-struct" => Mode::LoadStruct,
        "load-direct" => Mode::LoadDirect,
        "load-struct-direct" => Mode::LoadStructDirect,
        "load-async-closure-direct" => Mode::LoadAsyncClosureDirect,
        "load-wrapper" => Mode::LoadWrapper,
        "miss" => Mode::Miss,
        "miss-weighed" => Mode::MissWeighed,
        "zipf-weighed" => Mode::ZipfWeighed,
        other => return Err(format!(
            "unknown mode {other}: use get, load, load-struct, load-direct, load-struct-direct, \
                 load-async-closure-direct, load-wrapper, miss, miss-weighed or zipf-weighed"
        )
        .into()),
    };
    let options: Vec<String> = args.collect();
    let defaults = options.iter().any(|option| option == "defaults");
    let parking_lot = options.iter().any(|option| option == "parking-lot");
    let (allocations, checksum) = match (defaults, parking_lot) {
        (true, false) => run(parsed, operations, &keys, default_cache::<ReadMostlyLock>),
        (true, true) => run(parsed, operations, &keys, default_cache::<ParkingLotLock>),
        (false, false) => run(parsed, operations, &keys, cache::<ReadMostlyLock>),
        (false, true) => run(parsed, operations, &keys, cache::<ParkingLotLock>),
    };
    // The size of one `get_or_load` future with the closure loader (what a caller's own future
    // carries across the await).
    let probe = cache::<ReadMostlyLock>(16);
    let future_bytes = size_of_val(&probe.get_or_load(&0, |key: &u64| {
        let key = *key;
        async move { Ok(key) }
    }));
    println!(
        "mode {mode} operations {operations} allocations {allocations} checksum {checksum} \
         get_or_load_future_bytes {future_bytes}"
    );
    Ok(())
}

//! A fixed amount of readthrough work for counting instructions under
//! `valgrind --tool=callgrind`, which is repeatable on a busy machine where wall time is not.
//!
//! `hit_instructions MODE N`: MODE is `get` (plain `get` hits), `load` (`get_or_load` hits with a
//! closure loader) or `miss` (`get_or_load` misses with eviction on a full cache); N operations
//! after the same setup and warm-up. Instructions per operation =
//! (total with N2 − total with N1) / (N2 − N1), which cancels the setup. It also prints the
//! allocations the N operations made (counting allocator).
//!
//! `benches/callgrind.sh` runs it for each mode and prints the figures.

use std::hint::black_box;

use futures_lite::future::block_on;
use readthrough_benches::counting_alloc::{AllocationWindow, CountingAllocator};
use readthrough_benches::zipf::Zipf;
use readthrough_core::{Cache, NoTimer};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Keys preloaded for the hits (as in the `compare` hit rows), and capacity of the miss runs.
const KEYS: u64 = 100_000;
/// The Zipf(0.99) key sequence the hits cycle through; generated whatever N is.
const SEQUENCE: usize = 1 << 20;

type Rt = Cache<u64, u64, (), NoTimer, ahash::RandomState>;

fn cache(capacity: usize) -> Rt {
    Cache::builder()
        .capacity(capacity)
        // Fixed seeds: the same table layout on every run, so the counts repeat exactly.
        .hasher(ahash::RandomState::with_seeds(1, 2, 3, 4))
        .build()
        .unwrap_or_else(|error| panic!("capacity {capacity}: {error}"))
}

async fn load(cache: &Rt, key: u64) -> u64 {
    let answer = cache
        .get_or_load(black_box(&key), |key: &u64| {
            let key = *key;
            async move { Ok(key) }
        })
        .await;
    answer.map_or(u64::MAX, |answer| answer.value)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"));
    let mode = args.next().unwrap_or_else(|| "load".to_string());
    let operations: usize = args.next().map_or(Ok(100_000), |n| n.parse())?;
    let keys = Zipf::new(KEYS as usize, 0.99)?.keys(SEQUENCE, 1);

    let (allocations, checksum) = match mode.as_str() {
        "get" | "load" => {
            // Twice the key count, as in the `compare` hit rows.
            let cache = cache(KEYS as usize * 2);
            for key in 0..KEYS {
                cache.insert(key, key);
            }
            block_on(async {
                // Warm-up: one pass over a tenth of the sequence, both ways.
                for &key in &keys[..SEQUENCE / 10] {
                    black_box(cache.get(&key));
                    black_box(load(&cache, key).await);
                }
                let window = AllocationWindow::open();
                let mut checksum = 0u64;
                for index in 0..operations {
                    let key = keys[index % SEQUENCE];
                    checksum = checksum.wrapping_add(if mode == "get" {
                        cache.get(black_box(&key)).unwrap_or(u64::MAX)
                    } else {
                        load(&cache, key).await
                    });
                }
                (window.close().0, checksum)
            })
        }
        "miss" => {
            let cache = cache(KEYS as usize);
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
        other => return Err(format!("unknown mode {other}: use get, load or miss").into()),
    };
    // The size of one `get_or_load` future with the closure loader (what a caller's own future
    // carries across the await).
    let probe = cache(16);
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

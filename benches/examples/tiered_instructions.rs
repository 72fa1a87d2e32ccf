//! What a shared tier costs an L1 hit: `get_or_load` hits on one cache, plain and wrapped in a
//! `Tiered` (on an in-process `MemoryTier`), counted under `valgrind --tool=callgrind` like
//! `hit_instructions`.
//!
//! `tiered_instructions MODE N`: MODE is `plain` (`Cache::get_or_load` hits) or `tiered`
//! (`Tiered::get_or_load` hits on the same configuration); N operations after the same setup
//! and warm-up. Both caches have a timer and a TTL (a tier needs them), so the only difference
//! is the tier. Run it with
//! `EXAMPLE=tiered_instructions MODES="plain tiered" bash benches/callgrind.sh`.

use std::hint::black_box;
use std::time::Duration;

use futures_lite::future::block_on;
use readthrough_benches::counting_alloc::{AllocationWindow, CountingAllocator};
use readthrough_benches::zipf::Zipf;
use readthrough_core::{Cache, ManualTimer, MemoryTier, Tiered};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Keys preloaded for the hits (as in `hit_instructions`).
const KEYS: u64 = 100_000;
/// The Zipf(0.99) key sequence the hits cycle through; generated whatever N is.
const SEQUENCE: usize = 1 << 20;

type Rt = Cache<u64, u64, (), ManualTimer, ahash::RandomState>;

fn cache(timer: &ManualTimer) -> Rt {
    Cache::builder()
        .capacity(KEYS as usize * 2)
        // Fixed seeds: the same table layout on every run, so the counts repeat exactly.
        .hasher(ahash::RandomState::with_seeds(1, 2, 3, 4))
        .timer(timer.clone())
        .ttl(Duration::from_secs(3_600))
        .lock_timeout(Duration::from_secs(1))
        .build()
        .expect("a valid configuration")
}

fn loader(key: &u64) -> impl Future<Output = Result<u64, ()>> + use<> {
    let key = *key;
    async move { Ok(key) }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"));
    let mode = args.next().unwrap_or_else(|| "tiered".to_string());
    let operations: usize = args.next().map_or(Ok(100_000), |n| n.parse())?;
    let keys = Zipf::new(KEYS as usize, 0.99)?.keys(SEQUENCE, 1);
    let timer = ManualTimer::new();
    let plain = cache(&timer);
    for key in 0..KEYS {
        plain.insert(key, key);
    }
    let tiered = match mode.as_str() {
        "plain" => None,
        "tiered" => {
            let tiered = Tiered::new(cache(&timer), MemoryTier::new(timer.clone()).node())?;
            for key in 0..KEYS {
                tiered.cache().insert(key, key);
            }
            Some(tiered)
        }
        other => return Err(format!("unknown mode {other}: use plain or tiered").into()),
    };
    let hit = async |key: u64| match &tiered {
        Some(tiered) => tiered.get_or_load(black_box(&key), loader).await,
        None => plain.get_or_load(black_box(&key), loader).await,
    };
    let (allocations, checksum) = block_on(async {
        for &key in &keys[..SEQUENCE / 10] {
            black_box(hit(key).await.ok());
        }
        let window = AllocationWindow::open();
        let mut checksum = 0u64;
        for index in 0..operations {
            let answer = hit(keys[index % SEQUENCE]).await;
            checksum = checksum.wrapping_add(answer.map_or(u64::MAX, |answer| answer.value));
        }
        (window.close().0, checksum)
    });
    println!("mode {mode} operations {operations} allocations {allocations} checksum {checksum}");
    Ok(())
}

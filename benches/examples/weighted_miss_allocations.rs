//! Allocations per readthrough miss in the weighted workload, by how many entries the miss
//! evicted: shows which misses allocate beyond the body's two and the flight's one.
//!
//! `cargo run --release -p readthrough-benches --example weighted_miss_allocations`

use std::collections::BTreeMap;

use futures_lite::future::block_on;
use readthrough_benches::body::{Body, body_sizes};
use readthrough_benches::counting_alloc::{AllocationWindow, CountingAllocator};
use readthrough_benches::peers::weighted::BodyLength;
use readthrough_benches::zipf::Zipf;
use readthrough_core::{Cache, Status};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sizes = body_sizes(100_000, 4);
    let requests = Zipf::new(100_000, 0.99)?.keys(400_000, 3);
    let cache = Cache::<u64, Body, ()>::builder()
        .capacity(64 << 20)
        .hasher(ahash::RandomState::with_seeds(1, 2, 3, 4))
        .weigher(BodyLength)
        .preallocate(8_500)
        .build()?;
    // (evicted, allocations) → misses
    let mut misses: BTreeMap<(usize, u64), u64> = BTreeMap::new();
    block_on(async {
        let window = AllocationWindow::open();
        for &key in &requests {
            let evictions_before = cache.stats().evictions;
            let allocations_before = window.read().0;
            let answer = cache
                .get_or_load(&key, |key: &u64| {
                    let body = Body::new(sizes[*key as usize] as usize);
                    async move { Ok(body) }
                })
                .await;
            let allocations = window.read().0 - allocations_before;
            let evicted = cache.stats().evictions - evictions_before;
            if answer.is_ok_and(|answer| answer.status != Status::Hit) {
                *misses.entry((evicted, allocations)).or_default() += 1;
            }
        }
    });
    println!("| entries evicted | allocations (2 are the body's) | misses |");
    println!("|---:|---:|---:|");
    for ((evicted, allocations), count) in misses {
        println!("| {evicted} | {allocations} | {count} |");
    }
    Ok(())
}

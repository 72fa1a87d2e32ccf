//! The `compare` hit rows for readthrough and quick_cache only, with each cache's defaults: a
//! read-through hit on 1 and on 2 threads, interleaved round by round, medians. A third column
//! runs readthrough's defaults with `ParkingLotLock` instead of the default `ReadMostlyLock`,
//! so that one run shows what the shard lock costs and buys. Shorter than
//! `compare`, for measuring a change to the hit path on a busy machine, where quick_cache (whose
//! code does not change) shows how much of a difference is the machine's.
//!
//! `cargo run --release -p readthrough-benches --example hit_threads [ROUNDS]` (default 7).

use std::sync::Arc;

use readthrough_benches::peers::defaults::{
    QuickCacheDefaults, ReadthroughDefaults, ReadthroughParkingLot,
};
use readthrough_benches::sizes::Sizes;
use readthrough_benches::stats::median;
use readthrough_benches::workloads::Workload;
use readthrough_benches::workloads::hit_path::{HitPath, HitTiming};
use readthrough_benches::zipf::Zipf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: usize = std::env::args().nth(1).map_or(Ok(7), |n| n.parse())?;
    let sizes = Sizes::full();
    let keys = Arc::new(Zipf::new(sizes.hit_keys as usize, 0.99)?.keys(sizes.hit_lookups, 1));
    let workload = |threads| HitPath {
        preloaded: sizes.hit_keys,
        keys: keys.clone(),
        threads,
    };
    let (one, two) = (workload(1), workload(2));
    // [readthrough, quick_cache, readthrough on ParkingLotLock] x [1 thread, 2 threads]
    let mut runs: [[Vec<HitTiming>; 2]; 3] = Default::default();
    for round in 0..rounds {
        for step in 0..3 {
            // Each contender runs first, second and third in turn.
            let index = (round + step) % 3;
            let (single, double) = match index {
                0 => (
                    one.run::<ReadthroughDefaults>(),
                    two.run::<ReadthroughDefaults>(),
                ),
                1 => (
                    one.run::<QuickCacheDefaults>(),
                    two.run::<QuickCacheDefaults>(),
                ),
                _ => (
                    one.run::<ReadthroughParkingLot>(),
                    two.run::<ReadthroughParkingLot>(),
                ),
            };
            runs[index][0].push(single);
            runs[index][1].push(double);
        }
    }
    let figure = |samples: &[HitTiming], f: fn(&HitTiming) -> Option<f64>| {
        let values: Vec<f64> = samples.iter().filter_map(f).collect();
        median(&values).unwrap_or(f64::NAN)
    };
    println!(
        "| defaults, {rounds} rounds, medians | readthrough | quick_cache | readthrough (ParkingLotLock) |"
    );
    println!("|---|---:|---:|---:|");
    let row = |label: &str, f: &dyn Fn(usize) -> f64| {
        println!("| {label} | {:.1} | {:.1} | {:.1} |", f(0), f(1), f(2));
    };
    row("read-through hit, 1 thread (ns/op)", &|i| {
        figure(&runs[i][0], |t| Some(t.nanos_per_op))
    });
    row("plain get hit, 1 thread (ns/op)", &|i| {
        figure(&runs[i][0], |t| t.plain_get_nanos)
    });
    row("read-through hit, 1 thread (Mops/s)", &|i| {
        figure(&runs[i][0], |t| Some(t.mops_per_sec))
    });
    row("read-through hit, 2 threads (Mops/s)", &|i| {
        figure(&runs[i][1], |t| Some(t.mops_per_sec))
    });
    row("2 threads / 1 thread (medians)", &|i| {
        figure(&runs[i][1], |t| Some(t.mops_per_sec))
            / figure(&runs[i][0], |t| Some(t.mops_per_sec))
    });
    Ok(())
}

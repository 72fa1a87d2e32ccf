//! The `compare` hit rows for readthrough and quick_cache only, with each cache's defaults: a
//! read-through hit on 1 and on 2 threads, interleaved round by round, medians. Shorter than
//! `compare`, for measuring a change to the hit path on a busy machine, where quick_cache (whose
//! code does not change) shows how much of a difference is the machine's.
//!
//! A third column runs readthrough's defaults with `ParkingLotLock` instead of the default
//! `ReadMostlyLock`, to show what the per-thread reader slots change.
//!
//! A fourth column runs the same reads on a table that shares nothing in writing
//! ([`ReadOnlyTable`]): its 2-thread / 1-thread ratio is what the machine gives a perfectly
//! parallel reader in those rounds (on a virtual machine whose second core is shared, less than
//! 2), and the last row reads each cache's ratio against it.
//!
//! `cargo run --release -p readthrough-benches --example hit_threads [ROUNDS]` (default 7).

use std::sync::Arc;

use readthrough_benches::peers::defaults::{
    QuickCacheDefaults, ReadthroughDefaults, ReadthroughParkingLot,
};
use readthrough_benches::peers::reference::ReadOnlyTable;
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
    // [readthrough, quick_cache, readthrough on ParkingLotLock, reference] x [1 thread, 2 threads]
    let mut runs: [[Vec<HitTiming>; 2]; 4] = Default::default();
    for round in 0..rounds {
        for step in 0..4 {
            let index = (round + step) % 4;
            let (single, double) = match index {
                0 => (
                    one.run::<ReadthroughDefaults>(),
                    two.run::<ReadthroughDefaults>(),
                ),
                1 => (
                    one.run::<QuickCacheDefaults>(),
                    two.run::<QuickCacheDefaults>(),
                ),
                2 => (
                    one.run::<ReadthroughParkingLot>(),
                    two.run::<ReadthroughParkingLot>(),
                ),
                _ => (one.run::<ReadOnlyTable>(), two.run::<ReadOnlyTable>()),
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
        "| defaults, {rounds} rounds, medians | readthrough | quick_cache | readthrough (ParkingLotLock) | read-only table |"
    );
    println!("|---|---:|---:|---:|---:|");
    let row = |label: &str, f: &dyn Fn(usize) -> f64| {
        println!(
            "| {label} | {:.1} | {:.1} | {:.1} | {:.1} |",
            f(0),
            f(1),
            f(2),
            f(3)
        );
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
    let scaling = |i: usize| {
        figure(&runs[i][1], |t| Some(t.mops_per_sec))
            / figure(&runs[i][0], |t| Some(t.mops_per_sec))
    };
    row("2 threads / 1 thread (medians)", &scaling);
    // Per round, so that a round where the machine lent less of its second core counts against
    // the reference as much as against the cache.
    let against_reference = |i: usize| {
        let per_round: Vec<f64> = (0..rounds)
            .map(|round| {
                let ratio =
                    |j: usize| runs[j][1][round].mops_per_sec / runs[j][0][round].mops_per_sec;
                ratio(i) / ratio(3)
            })
            .collect();
        median(&per_round).unwrap_or(f64::NAN)
    };
    row(
        "that ratio / the reference's in the same round (median)",
        &against_reference,
    );
    Ok(())
}

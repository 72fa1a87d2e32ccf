//! How the hit path scales when the machine lets it: readthrough on `ReadMostlyLock` (the
//! default with `std`), readthrough on `ParkingLotLock` and quick_cache, each cache's defaults,
//! each timed on 1 and then on 2 threads between two runs of a table that shares nothing in
//! writing ([`ReadOnlyTable`]).
//!
//! On a virtual machine whose second vCPU is lent only part of the time, a cache's 2-thread /
//! 1-thread ratio means little alone; here every run carries the reference's ratio from the same
//! moment, and the summary groups the runs by it: the rows where the reference scaled by 1.6 or
//! more say what each cache does with a second core that is really there.
//!
//! `cargo run --release -p readthrough-benches --example scaling_rounds [ROUNDS]` (default 20;
//! each round runs the three caches once, starting with a different one). Every run is also
//! printed to stderr as `round,cache,reference 1 thread,1 thread,2 threads,reference 2 threads`
//! (Mops/s).

use std::sync::Arc;

use readthrough_benches::peers::defaults::{
    QuickCacheDefaults, ReadthroughDefaults, ReadthroughParkingLot,
};
use readthrough_benches::sizes::Sizes;
use readthrough_benches::stats::median;
use readthrough_benches::workloads::Workload;
use readthrough_benches::workloads::hit_path::HitPath;
use readthrough_benches::workloads::hit_scaling::{HitScaling, ScalingRun};
use readthrough_benches::zipf::Zipf;

const CACHES: [&str; 3] = [
    "readthrough (ReadMostlyLock)",
    "readthrough (ParkingLotLock)",
    "quick_cache",
];

/// The reference's 2-thread / 1-thread ratio bounds of the summary's groups.
const GROUPS: [(f64, f64); 3] = [(0.0, 1.3), (1.3, 1.6), (1.6, f64::INFINITY)];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: usize = std::env::args().nth(1).map_or(Ok(20), |n| n.parse())?;
    let sizes = Sizes::full();
    let keys = Arc::new(Zipf::new(sizes.hit_keys as usize, 0.99)?.keys(sizes.hit_lookups, 1));
    let workload = HitScaling {
        path: HitPath {
            preloaded: sizes.hit_keys,
            keys,
            threads: 1,
        },
    };
    let mut runs: [Vec<ScalingRun>; 3] = Default::default();
    for round in 0..rounds {
        for step in 0..CACHES.len() {
            let index = (round + step) % CACHES.len();
            let run = match index {
                0 => workload.run::<ReadthroughDefaults>(),
                1 => workload.run::<ReadthroughParkingLot>(),
                _ => workload.run::<QuickCacheDefaults>(),
            };
            eprintln!(
                "{round},{},{:.1},{:.1},{:.1},{:.1}",
                CACHES[index],
                run.reference_one.mops_per_sec,
                run.one.mops_per_sec,
                run.two.mops_per_sec,
                run.reference_two.mops_per_sec
            );
            runs[index].push(run);
        }
    }
    println!(
        "| cache | reference's 2/1 ratio | runs | reference 2/1 (median) | cache 2/1 (median) | 1 thread Mops/s | 2 threads Mops/s |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|");
    for (name, runs) in CACHES.iter().zip(&runs) {
        for (low, high) in GROUPS {
            let group: Vec<&ScalingRun> = runs
                .iter()
                .filter(|run| (low..high).contains(&run.reference_scaling()))
                .collect();
            if group.is_empty() {
                continue;
            }
            let median_of = |figure: fn(&ScalingRun) -> f64| {
                let values: Vec<f64> = group.iter().map(|run| figure(run)).collect();
                median(&values).unwrap_or(f64::NAN)
            };
            println!(
                "| {name} | {low:.1} to {high:.1} | {} | {:.2} | {:.2} | {:.1} | {:.1} |",
                group.len(),
                median_of(ScalingRun::reference_scaling),
                median_of(ScalingRun::scaling),
                median_of(|run| run.one.mops_per_sec),
                median_of(|run| run.two.mops_per_sec),
            );
        }
    }
    Ok(())
}

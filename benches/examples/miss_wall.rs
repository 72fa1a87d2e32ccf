//! Wall time of a miss with eviction (the `compare` bench's miss row), readthrough and
//! quick_cache only, each as its own `::new(capacity)` configures it and with ahash given to
//! both, interleaved, medians: a quicker check than the whole `compare` run.
//!
//! `cargo run --release -p readthrough-benches --example miss_wall [ROUNDS]`

use readthrough_benches::peers::defaults::{QuickCacheDefaults, ReadthroughDefaults};
use readthrough_benches::peers::{QuickCache, Readthrough};
use readthrough_benches::stats::median;
use readthrough_benches::workloads::Workload;
use readthrough_benches::workloads::miss_path::MissPath;

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(7);
    let workload = MissPath {
        capacity: 100_000,
        misses: 1_000_000,
    };
    let mut runs: [Vec<f64>; 4] = Default::default();
    for round in 0..rounds {
        for step in 0..4 {
            let index = (round + step) % 4;
            let timing = match index {
                0 => workload.run::<ReadthroughDefaults>(),
                1 => workload.run::<QuickCacheDefaults>(),
                2 => workload.run::<Readthrough>(),
                _ => workload.run::<QuickCache>(),
            };
            runs[index].push(timing.nanos_per_op);
        }
    }
    // Within a round the two caches meet the same machine, so the median of the rounds'
    // ratios is steadier than the ratio of medians when the machine's speed drifts.
    let paired = |mine: usize, theirs: usize| {
        let ratios: Vec<f64> = runs[mine]
            .iter()
            .zip(&runs[theirs])
            .map(|(mine, theirs)| mine / theirs)
            .collect();
        median(&ratios).unwrap_or(f64::NAN)
    };
    let (paired_defaults, paired_ahash) = (paired(0, 1), paired(2, 3));
    let [rt, qc, rt_ahash, qc_ahash] = runs.map(|samples| median(&samples).unwrap_or(f64::NAN));
    println!(
        "miss with eviction, ns (median of {rounds}): defaults readthrough {rt:.1} quick_cache \
         {qc:.1} ({:.2}x); ahash readthrough {rt_ahash:.1} quick_cache {qc_ahash:.1} ({:.2}x)",
        rt / qc,
        rt_ahash / qc_ahash
    );
    println!(
        "median of the rounds' readthrough / quick_cache: defaults {paired_defaults:.2}x, ahash \
         {paired_ahash:.2}x"
    );
}

//! The measured workloads; each runs one contender at a time, and [`interleaved`] rotates the
//! contenders round by round so that drift in machine load spreads evenly over them.

pub mod allocations;
pub mod hit_path;
pub mod hit_ratio;
pub mod hit_scaling;
pub mod miss_path;
pub mod storm;
pub mod weighted;

use crate::contender::Contender;
use crate::peers::defaults::{MokaDefaults, QuickCacheDefaults, ReadthroughDefaults};
use crate::peers::{Moka, Pingora, QuickCache, Readthrough};

/// How many caches take part.
pub const CONTENDERS: usize = 4;

/// The contenders' names, in the order of every result array: readthrough first.
pub const NAMES: [&str; CONTENDERS] = [
    Readthrough::NAME,
    Pingora::NAME,
    Moka::NAME,
    QuickCache::NAME,
];

/// One measurement, generic over the cache under test.
pub trait Workload {
    /// What one run measures.
    type Output;

    /// Measures `C` once, on a fresh cache.
    fn run<C: Contender>(&self) -> Self::Output;
}

/// Runs `workload` on the contender at `index` in [`NAMES`].
pub fn run_contender<W: Workload>(workload: &W, index: usize) -> W::Output {
    match index {
        0 => workload.run::<Readthrough>(),
        1 => workload.run::<Pingora>(),
        2 => workload.run::<Moka>(),
        _ => workload.run::<QuickCache>(),
    }
}

/// Runs `workload` on the contender at `index` in [`NAMES`] as its own `::new(capacity)`
/// configures it (see [`crate::peers::defaults`]).
pub fn run_default_contender<W: Workload>(workload: &W, index: usize) -> W::Output {
    match index {
        0 => workload.run::<ReadthroughDefaults>(),
        1 => workload.run::<Pingora>(),
        2 => workload.run::<MokaDefaults>(),
        _ => workload.run::<QuickCacheDefaults>(),
    }
}

/// `rounds` runs of every contender, round `r` starting with contender `r mod 4`; results are
/// indexed like [`NAMES`].
pub fn interleaved<W: Workload>(workload: &W, rounds: usize) -> [Vec<W::Output>; CONTENDERS] {
    interleaved_with(workload, rounds, run_contender)
}

/// [`interleaved`] with the contenders `run` picks by index ([`run_contender`] or
/// [`run_default_contender`]).
pub fn interleaved_with<W: Workload>(
    workload: &W,
    rounds: usize,
    run: fn(&W, usize) -> W::Output,
) -> [Vec<W::Output>; CONTENDERS] {
    let mut results: [Vec<W::Output>; CONTENDERS] = Default::default();
    for round in 0..rounds {
        for step in 0..CONTENDERS {
            let index = (round + step) % CONTENDERS;
            results[index].push(run(workload, index));
        }
    }
    results
}

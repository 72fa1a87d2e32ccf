//! The weighted workload (issue 9): bodies of 16 B to 64 KiB (log-uniform, fixed per key),
//! Zipf(0.99) requests, a cache bounded by body bytes, read-through with an instant loader.
//! Run only on the caches that bound by weight; pingora's column stays `n/a`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use futures_lite::future::block_on;

use crate::body::{Body, live_bodies};
use crate::counting_alloc::AllocationWindow;
use crate::peers::weighted::{
    MokaWeighted, QuickCacheWeighted, ReadthroughWeighted, WeightedContender,
};
use crate::stats::median;
use crate::workloads::CONTENDERS;

/// One replay of `requests` on a fresh cache of `capacity` body bytes.
#[derive(Debug, Clone)]
pub struct WeightedReplay {
    /// Keys requested, in order (every key below `sizes.len()`).
    pub requests: Arc<Vec<u64>>,
    /// Body length of each key.
    pub sizes: Arc<[u32]>,
    /// Capacity in body bytes.
    pub capacity: usize,
    /// Leading requests that fill the cache and are not counted.
    pub warmup: usize,
    /// Count allocations (per hit, per miss, live heap). Off for the timed runs: counting makes
    /// every allocation pay two atomic read-modify-writes.
    pub count_allocations: bool,
}

/// What one [`WeightedReplay`] measured over its counted requests.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct WeightedRun {
    /// Counted requests answered from the cache / counted requests.
    pub hit_ratio: f64,
    /// Body bytes answered from the cache / body bytes requested.
    pub byte_hit_ratio: f64,
    /// Mean wall time of a hit, timer overhead subtracted.
    pub nanos_per_hit: f64,
    /// Mean wall time of a miss (loader and eviction included), timer overhead subtracted.
    pub nanos_per_miss: f64,
    /// Median wall time of a hit, timer overhead subtracted (robust to preemption on a busy
    /// machine, blind to work a cache does on a few calls only).
    pub median_nanos_per_hit: f64,
    /// Median wall time of a miss, timer overhead subtracted.
    pub median_nanos_per_miss: f64,
    /// Allocations per hit (counting runs only).
    pub allocations_per_hit: Option<f64>,
    /// Allocations per miss, the new body's two included (counting runs only).
    pub allocations_per_miss: Option<f64>,
    /// Live heap after the replay (counting from before the cache was built) minus the heap of
    /// the bodies still alive, divided by the entries held (counting runs only).
    pub overhead_per_entry: Option<f64>,
    /// Entries held after the replay.
    pub entries: usize,
    /// The most body bytes alive after any request (the workload drops every answer, so these
    /// are the bodies the cache keeps, including any it has not yet let go of).
    pub max_live_body_bytes: u64,
    /// The most weight the cache itself reported, sampled every 1024 requests and at the end.
    pub max_reported_weight: u64,
    /// Answered-but-not-stored entries, where the cache counts them.
    pub oversized: Option<u64>,
    /// The clock cost subtracted from every timed request (median of back-to-back reads).
    pub timer_overhead_nanos: f64,
}

/// The cost of the clock reads around one timed request: the median of back-to-back reads.
fn timer_overhead_nanos() -> f64 {
    let samples: Vec<f64> = (0..10_001)
        .map(|_| {
            let start = Instant::now();
            black_box(start.elapsed().as_nanos() as f64)
        })
        .collect();
    median(&samples).unwrap_or(0.0)
}

impl WeightedReplay {
    /// Runs the replay on `C`.
    pub fn run<C: WeightedContender>(&self) -> WeightedRun {
        let clock = timer_overhead_nanos();
        let stored_sizes = self.sizes.iter().map(|&s| u64::from(s)).sum::<u64>();
        let mean_body = stored_sizes as f64 / self.sizes.len().max(1) as f64;
        let estimated_entries = (self.capacity as f64 / mean_body).ceil() as usize;
        let (bodies_before, body_bytes_before) = live_bodies();

        // The samples are allocated before counting starts: they are the workload's heap.
        let counted_requests = self.requests.len().saturating_sub(self.warmup);
        let mut hit_nanos = Vec::with_capacity(counted_requests);
        let mut miss_nanos = Vec::with_capacity(counted_requests);
        let window = self.count_allocations.then(AllocationWindow::open);
        let cache = C::with_weight_capacity(self.capacity, estimated_entries, self.sizes.clone());
        let warmup = self.warmup.min(self.requests.len());

        let mut run = WeightedRun {
            timer_overhead_nanos: clock,
            ..WeightedRun::default()
        };
        let (mut hits, mut misses) = (0u64, 0u64);

        let (mut hit_allocations, mut miss_allocations) = (0u64, 0u64);
        let (mut bytes_requested, mut bytes_hit) = (0u64, 0u64);
        block_on(async {
            for (index, &key) in self.requests.iter().enumerate() {
                let allocations_before = window.as_ref().map_or(0, |w| w.read().0);
                let start = Instant::now();
                let (body, loaded) = cache.get_or_load(black_box(key)).await;
                let nanos = start.elapsed().as_nanos() as f64 - clock;
                let allocations = window.as_ref().map_or(0, |w| w.read().0) - allocations_before;
                let len = body.len() as u64;
                drop(body);
                if index >= warmup {
                    bytes_requested += len;
                    if loaded {
                        misses += 1;
                        miss_nanos.push(nanos);
                        miss_allocations += allocations;
                    } else {
                        hits += 1;
                        bytes_hit += len;
                        hit_nanos.push(nanos);
                        hit_allocations += allocations;
                    }
                }
                let live = live_bodies().1.saturating_sub(body_bytes_before);
                run.max_live_body_bytes = run.max_live_body_bytes.max(live);
                if index % 1024 == 0 {
                    run.max_reported_weight = run.max_reported_weight.max(cache.weight());
                }
            }
            cache.settle().await;
        });
        run.max_reported_weight = run.max_reported_weight.max(cache.weight());
        run.entries = cache.entry_count();
        run.oversized = cache.oversized();
        if let Some(window) = window {
            let (_, live_heap) = window.close();
            let (bodies, body_bytes) = live_bodies();
            let bodies = bodies.saturating_sub(bodies_before);
            let body_heap =
                Body::heap_bytes(0) as u64 * bodies + body_bytes.saturating_sub(body_bytes_before);
            run.overhead_per_entry =
                Some((live_heap as f64 - body_heap as f64) / run.entries.max(1) as f64);
            run.allocations_per_hit = Some(hit_allocations as f64 / hits.max(1) as f64);
            run.allocations_per_miss = Some(miss_allocations as f64 / misses.max(1) as f64);
        }
        drop(cache);
        let counted = (hits + misses).max(1) as f64;
        run.hit_ratio = hits as f64 / counted;
        run.byte_hit_ratio = bytes_hit as f64 / bytes_requested.max(1) as f64;
        let mean = |samples: &[f64]| samples.iter().sum::<f64>() / samples.len().max(1) as f64;
        run.nanos_per_hit = mean(&hit_nanos);
        run.nanos_per_miss = mean(&miss_nanos);
        run.median_nanos_per_hit = median(&hit_nanos).unwrap_or(0.0);
        run.median_nanos_per_miss = median(&miss_nanos).unwrap_or(0.0);
        run
    }

    /// `rounds` runs of each cache that bounds by weight, rotating which goes first; indexed
    /// like [`crate::workloads::NAMES`], pingora's (index 1) left empty.
    pub fn interleaved(&self, rounds: usize) -> [Vec<WeightedRun>; CONTENDERS] {
        const WEIGHING: [usize; 3] = [0, 2, 3];
        let mut results: [Vec<WeightedRun>; CONTENDERS] = Default::default();
        for round in 0..rounds {
            for step in 0..WEIGHING.len() {
                let index = WEIGHING[(round + step) % WEIGHING.len()];
                let run = match index {
                    0 => self.run::<ReadthroughWeighted>(),
                    2 => self.run::<MokaWeighted>(),
                    _ => self.run::<QuickCacheWeighted>(),
                };
                results[index].push(run);
            }
        }
        results
    }
}

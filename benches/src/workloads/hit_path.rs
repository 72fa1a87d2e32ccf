//! Hits through the read-through API: a preloaded key set read in Zipf order by 1 or more threads.

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use futures_lite::future::block_on;

use crate::contender::Contender;
use crate::workloads::Workload;

/// Preloads keys `0..preloaded`, then reads `keys` on each of `threads` threads (thread `t`
/// starts at a different offset of the same sequence, wrapping around).
#[derive(Debug, Clone)]
pub struct HitPath {
    /// How many keys are loaded before timing.
    pub preloaded: u64,
    /// The key sequence each thread reads (every key below `preloaded`).
    pub keys: Arc<Vec<u64>>,
    /// How many threads read at once.
    pub threads: usize,
}

/// One run of [`HitPath`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HitTiming {
    /// Wall time per operation of one thread: elapsed / operations per thread.
    pub nanos_per_op: f64,
    /// Operations of all threads per second of wall time, in millions.
    pub mops_per_sec: f64,
    /// Nanoseconds per plain `get` on one thread, where the cache has one (1-thread runs only).
    pub plain_get_nanos: Option<f64>,
    /// Lookups that ran the loader during the timed part (0 when the preload held).
    pub misses: u64,
}

impl Workload for HitPath {
    type Output = HitTiming;

    fn run<C: Contender>(&self) -> HitTiming {
        // Twice the key count, so no cache's admission policy turns the preload away.
        let cache = Arc::new(C::with_capacity(self.preloaded as usize * 2));
        block_on(async {
            for key in 0..self.preloaded {
                cache.get_or_load(key).await;
            }
            cache.settle().await;
        });
        // A warm-up pass settles frequency counters and branch predictors.
        read_through_pass::<C>(&cache, &self.keys[..self.keys.len() / 10]);

        let threads = self.threads.max(1);
        let (elapsed, misses) = if threads == 1 {
            let start = Instant::now();
            let misses = read_through_pass::<C>(&cache, &self.keys);
            (start.elapsed(), misses)
        } else {
            read_in_parallel(&cache, &self.keys, threads)
        };
        let operations_per_thread = self.keys.len() as f64;
        let plain_get_nanos = (threads == 1)
            .then(|| plain_get_pass::<C>(&cache, &self.keys))
            .flatten()
            .map(|elapsed| elapsed.as_nanos() as f64 / operations_per_thread);
        HitTiming {
            nanos_per_op: elapsed.as_nanos() as f64 / operations_per_thread,
            mops_per_sec: operations_per_thread * threads as f64 / elapsed.as_secs_f64() / 1e6,
            plain_get_nanos,
            misses,
        }
    }
}

fn read_through_pass<C: Contender>(cache: &C, keys: &[u64]) -> u64 {
    block_on(async {
        let mut misses = 0;
        for &key in keys {
            let lookup = cache.get_or_load(black_box(key)).await;
            misses += u64::from(lookup.loaded);
            black_box(lookup.value);
        }
        misses
    })
}

fn plain_get_pass<C: Contender>(cache: &C, keys: &[u64]) -> Option<Duration> {
    cache.plain_get(0)?;
    let start = Instant::now();
    for &key in keys {
        black_box(cache.plain_get(black_box(key)));
    }
    Some(start.elapsed())
}

fn read_in_parallel<C: Contender>(
    cache: &Arc<C>,
    keys: &Arc<Vec<u64>>,
    threads: usize,
) -> (Duration, u64) {
    let start_line = Arc::new(Barrier::new(threads + 1));
    let workers: Vec<_> = (0..threads)
        .map(|thread| {
            let (cache, keys, start_line) = (cache.clone(), keys.clone(), start_line.clone());
            std::thread::spawn(move || {
                let mut rotated = Vec::with_capacity(keys.len());
                let offset = keys.len() * thread / threads;
                rotated.extend_from_slice(&keys[offset..]);
                rotated.extend_from_slice(&keys[..offset]);
                start_line.wait();
                read_through_pass::<C>(&cache, &rotated)
            })
        })
        .collect();
    start_line.wait();
    let start = Instant::now();
    let misses = workers
        .into_iter()
        .map(|worker| worker.join().unwrap_or(u64::MAX))
        .sum();
    (start.elapsed(), misses)
}

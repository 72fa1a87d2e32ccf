//! A thundering herd: many tokio tasks ask at once for one absent key whose load takes 10 ms.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::contender::{Contender, StormContender};
use crate::loader::{StormOutcome, storm_loads};
use crate::workloads::Workload;

const STORM_KEY: u64 = 42;

/// `tasks` tasks spawned on `runtime` all look up one absent key through a fresh cache.
#[derive(Debug, Clone)]
pub struct Storm {
    /// The runtime the tasks run on (multi-thread, real time).
    pub runtime: Arc<tokio::runtime::Runtime>,
    /// How many tasks ask at once.
    pub tasks: usize,
    /// Whether the loader succeeds.
    pub outcome: StormOutcome,
}

/// One run of [`Storm`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StormResult {
    /// Loader calls during the storm.
    pub loads: u64,
    /// From the first spawn until the last task returned.
    pub elapsed: Duration,
    /// Tasks that got a value.
    pub values: usize,
    /// Tasks that got an error.
    pub errors: usize,
}

impl Workload for Storm {
    type Output = StormResult;

    fn run<C: Contender>(&self) -> StormResult {
        let cache = Arc::new(C::Storm::for_storm(1024, self.outcome));
        let loads_before = storm_loads();
        let (elapsed, values, errors) = self.runtime.block_on(async {
            let start = Instant::now();
            let tasks: Vec<_> = (0..self.tasks)
                .map(|_| {
                    let cache = cache.clone();
                    tokio::spawn(async move { cache.get_or_load_slowly(STORM_KEY).await })
                })
                .collect();
            let (mut values, mut errors) = (0, 0);
            for task in tasks {
                match task.await {
                    Ok(Ok(_)) => values += 1,
                    _ => errors += 1,
                }
            }
            (start.elapsed(), values, errors)
        });
        StormResult {
            loads: storm_loads() - loads_before,
            elapsed,
            values,
            errors,
        }
    }
}

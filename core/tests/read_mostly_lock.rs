//! A cache on [`ReadMostlyLock`] under readers and writers on several threads: every value read
//! is the one written for its key, every load is counted once, and the striped hit counter adds
//! up to exactly the hits the callers saw.
#![cfg(not(loom))]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use common::block_on;
use readthrough_core::{Cache, ReadMostlyLock, Status};

#[test]
fn readers_and_writers_on_several_threads_see_only_whole_values_and_exact_counts() {
    let (threads, rounds) = if cfg!(miri) { (3, 60) } else { (4, 20_000) };
    // Few entries and shards, so that readers, inserts and evictions meet on the same locks.
    let cache: Arc<Cache<u64, [u64; 4]>> = Arc::new(
        Cache::builder()
            .capacity(64)
            .shards(2)
            .lock::<ReadMostlyLock>()
            .build()
            .unwrap(),
    );
    let value_of = |key: u64| [key, key * 3, key * 5, key * 7];
    let loads = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(Barrier::new(threads));
    let workers: Vec<_> = (0..threads)
        .map(|thread| {
            let (cache, loads, start) = (cache.clone(), loads.clone(), start.clone());
            std::thread::spawn(move || {
                let (mut hits, mut gets) = (0usize, 0usize);
                start.wait();
                for round in 0..rounds {
                    let key = ((round * 7 + thread * 13) % 200) as u64;
                    match round % 3 {
                        0 => cache.insert(key, value_of(key)),
                        1 => {
                            gets += 1;
                            if let Some(value) = cache.get(&key) {
                                assert_eq!(value, value_of(key), "a torn or wrong value");
                                hits += 1;
                            }
                        }
                        _ => {
                            let load = |key: &u64| {
                                loads.fetch_add(1, Ordering::Relaxed);
                                let value = value_of(*key);
                                async move { Ok(value) }
                            };
                            let answer = block_on(cache.get_or_load(&key, load)).unwrap();
                            assert_eq!(answer.value, value_of(key), "a torn or wrong value");
                            gets += 1;
                            if answer.status == Status::Hit {
                                hits += 1;
                            }
                        }
                    }
                }
                (hits, gets)
            })
        })
        .collect();
    let (hits, gets) = workers
        .into_iter()
        .map(|worker| worker.join().unwrap())
        .fold((0, 0), |(h, g), (wh, wg)| (h + wh, g + wg));
    let stats = cache.stats();
    assert_eq!(stats.hits, hits, "the hit stripes add up to the hits seen");
    assert_eq!(stats.calls(), gets);
    assert_eq!(stats.loads, loads.load(Ordering::Relaxed));
    assert_eq!(cache.loads_in_flight(), 0);
}

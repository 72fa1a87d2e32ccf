//! Lab tool (issue 12, weighted admission): the `compare` bench's weighted workload replayed
//! on readthrough and quick_cache in one process, with the request and byte hit ratios, what
//! each holds at the end by body size, and two static references (the most requested keys
//! that fit, and the keys with the most requests per byte that fit).
//!
//! ```text
//! SEED=1 cargo run --release -p readthrough-benches --example weighted_lab
//! ```
//!
//! `SEED` (hasher), `SHARDS` (readthrough's shard count), `CAPACITY_MIB` (default 64), `ZIPF`
//! (exponent, default 0.99), `NO_PEERS`, `NO_STATIC`, `NO_PREALLOC` vary the run.

use quick_cache::sync::Cache as QuickCache;
use quick_cache::{OptionsBuilder, Weighter};
use readthrough_benches::body::body_sizes;
use readthrough_benches::sizes::Sizes;
use readthrough_benches::zipf::Zipf;
use readthrough_core::{Cache, NoTimer};

#[derive(Clone, Copy)]
struct SizeWeighter;

impl Weighter<u64, u32> for SizeWeighter {
    fn weight(&self, _key: &u64, size: &u32) -> u64 {
        u64::from(*size)
    }
}

/// Body-size classes: by powers of 4 from 16 B.
fn class(size: u32) -> usize {
    ((31 - size.max(16).leading_zeros()) as usize - 4) / 2
}

const CLASSES: usize = 6;

struct Outcome {
    hits: u64,
    bytes_hit: u64,
    held: Vec<bool>,
}

fn report(name: &str, outcome: &Outcome, requests: &[u64], warmup: usize, sizes: &[u32]) {
    let counted = &requests[warmup..];
    let bytes: u64 = counted.iter().map(|&k| u64::from(sizes[k as usize])).sum();
    let mut held_bytes = [0u64; CLASSES];
    let mut held_count = [0u64; CLASSES];
    for (key, &held) in outcome.held.iter().enumerate() {
        if held {
            held_bytes[class(sizes[key])] += u64::from(sizes[key]);
            held_count[class(sizes[key])] += 1;
        }
    }
    println!(
        "{name:>12}: requests {:.2}% bytes {:.2}% entries {} held {} KiB | held KiB by class (16B,64B,256B,1K,4K,16K+): {:?} count {:?}",
        outcome.hits as f64 * 100.0 / counted.len() as f64,
        outcome.bytes_hit as f64 * 100.0 / bytes as f64,
        held_count.iter().sum::<u64>(),
        held_bytes.iter().sum::<u64>() >> 10,
        held_bytes.map(|b| b >> 10),
        held_count,
    );
}

fn main() {
    let seed: u64 = std::env::var("SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let sizes_cfg = Sizes::full();
    let sizes = body_sizes(sizes_cfg.weighted_keys, 4);
    let exponent: f64 = std::env::var("ZIPF")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.99);
    let requests = Zipf::new(sizes_cfg.weighted_keys, exponent)
        .expect("a valid Zipf")
        .keys(sizes_cfg.weighted_requests, 3);
    let warmup = sizes_cfg.weighted_warmup;
    let capacity = std::env::var("CAPACITY_MIB")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .map_or(sizes_cfg.weighted_capacity, |mib| mib << 20);
    let total: u64 = sizes.iter().map(|&s| u64::from(s)).sum();
    let mean = total as f64 / sizes.len() as f64;
    let estimated = (capacity as f64 / mean).ceil() as usize;

    let mut builder = Cache::builder()
        .capacity(capacity)
        .hasher(ahash::RandomState::with_seeds(seed, 2, 3, 4))
        .weigher(|_: &u64, size: &u32| *size as usize);
    if std::env::var("NO_PREALLOC").is_err() {
        builder = builder.preallocate(estimated);
    }
    if let Some(shards) = std::env::var("SHARDS").ok().and_then(|s| s.parse().ok()) {
        builder = builder.shards(shards);
    }
    let cache: Cache<u64, u32, (), NoTimer, ahash::RandomState, _, _> =
        builder.build().expect("a valid capacity");
    let mut ours = Outcome {
        hits: 0,
        bytes_hit: 0,
        held: vec![false; sizes.len()],
    };
    for (index, &key) in requests.iter().enumerate() {
        if cache.get(&key).is_some() {
            if index >= warmup {
                ours.hits += 1;
                ours.bytes_hit += u64::from(sizes[key as usize]);
            }
        } else {
            cache.insert(key, sizes[key as usize]);
        }
    }
    for key in 0..sizes.len() as u64 {
        ours.held[key as usize] = cache.get(&key).is_some();
    }
    report("readthrough", &ours, &requests, warmup, &sizes);

    if std::env::var("NO_PEERS").is_err() {
        let options = OptionsBuilder::new()
            .estimated_items_capacity(estimated)
            .weight_capacity(capacity as u64)
            .build()
            .expect("valid options");
        let qc: QuickCache<u64, u32, SizeWeighter, ahash::RandomState> = QuickCache::with_options(
            options,
            SizeWeighter,
            ahash::RandomState::with_seeds(seed, 2, 3, 4),
            Default::default(),
        );
        let mut theirs = Outcome {
            hits: 0,
            bytes_hit: 0,
            held: vec![false; sizes.len()],
        };
        for (index, &key) in requests.iter().enumerate() {
            let mut loaded = false;
            let _ = qc.get_or_insert_with(&key, || {
                loaded = true;
                Ok::<u32, ()>(sizes[key as usize])
            });
            if !loaded && index >= warmup {
                theirs.hits += 1;
                theirs.bytes_hit += u64::from(sizes[key as usize]);
            }
        }
        for key in 0..sizes.len() as u64 {
            theirs.held[key as usize] = qc.peek(&key).is_some();
        }
        report("quick_cache", &theirs, &requests, warmup, &sizes);
    }

    if std::env::var("NO_STATIC").is_err() {
        // Static references from the counted requests' own frequencies.
        let mut counts = vec![0u64; sizes.len()];
        for &key in &requests[warmup..] {
            counts[key as usize] += 1;
        }
        for (name, by_bytes) in [("static freq", true), ("static f/size", false)] {
            let mut keys: Vec<usize> = (0..sizes.len()).collect();
            if by_bytes {
                keys.sort_by_key(|&k| std::cmp::Reverse(counts[k]));
            } else {
                keys.sort_by(|&a, &b| {
                    let da = counts[a] as f64 / f64::from(sizes[a]);
                    let db = counts[b] as f64 / f64::from(sizes[b]);
                    db.total_cmp(&da)
                });
            }
            let mut room = capacity as u64;
            let mut outcome = Outcome {
                hits: 0,
                bytes_hit: 0,
                held: vec![false; sizes.len()],
            };
            for key in keys {
                let size = u64::from(sizes[key]);
                if size <= room {
                    room -= size;
                    outcome.held[key] = true;
                    outcome.hits += counts[key];
                    outcome.bytes_hit += counts[key] * size;
                }
            }
            report(name, &outcome, &requests, warmup, &sizes);
        }
    }
}

//! readthrough's hit ratio on every trace and size the hit-ratio issue names, beside Belady's
//! optimal, in one quick run (no peers, no timing): the loop for trying an eviction idea.
//!
//! ```text
//! cargo run --release -p readthrough-benches --example hit_ratios            # all workloads
//! cargo run --release -p readthrough-benches --example hit_ratios -- OLTP zipf  # a subset
//! ```
//!
//! Traces are read from `../shared/data/traces/` beside the repository (`READTHROUGH_TRACES`
//! overrides the folder); a missing one is skipped with a message. Every request is counted;
//! the Zipf rows count after a warm-up of 1M requests, as the `compare` bench does. The
//! `weighted` rows replay the `compare` bench's weighted workload (bodies of 16 B to 64 KiB
//! under a 64 MiB weigher bound) with the same seeds: the request hit ratio, and the byte hit
//! ratio (bytes answered from the cache over bytes requested) that the bench reports first.
//!
//! The `synthetic` rows are workloads beyond the traces, to check that an idea works for the
//! reason it is meant to and not only on the traces: a Zipf(0.9) working set that moves every
//! 400,000 requests (recency after a change), a loop over 1.5 times the capacity interleaved
//! with Zipf(0.99) requests (a pattern LRU loses entirely), and Zipf(0.99) requests with a scan
//! of 10,000 new keys every 50,000 (one-time keys that must not flush the hot set).
//!
//! `SEED=n` sets the first of the hasher's fixed seeds (default 1), `NO_BELADY=1` skips the
//! optimal column (most of the run time), and `CAPACITIES=16384,24576` replays the traces at
//! those sizes instead of the issue's (to check an idea off the sizes it was tuned on).
//! `benches/hit_ratio_seeds.py` runs several builds of this example over several seeds and
//! prints each cell's difference against the first build (mean, lowest, highest).

use readthrough_benches::belady::belady_hit_ratio;
use readthrough_benches::block_trace::read_block_trace;
use readthrough_benches::body::body_sizes;
use readthrough_benches::rng::SplitMix64;
use readthrough_benches::sizes::Sizes;
use readthrough_benches::traces::{TRACES, traces_folder};
use readthrough_benches::zipf::Zipf;
use readthrough_core::{Cache, NoTimer};

const ZIPF_UNIVERSE: usize = 1_000_000;
const ZIPF_REQUESTS: usize = 5_000_000;
const ZIPF_WARMUP: usize = 1_000_000;

/// The first of the hasher's seeds (`SEED`, default 1).
fn seed() -> u64 {
    std::env::var("SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or(1)
}

/// Belady's hit ratio, unless `NO_BELADY` is set (then NaN, printed as such).
fn optimal(requests: &[u64], capacity: usize, warmup: usize) -> f64 {
    if std::env::var_os("NO_BELADY").is_some() {
        f64::NAN
    } else {
        belady_hit_ratio(requests, capacity, warmup)
    }
}

fn main() {
    let wanted: Vec<String> = std::env::args().skip(1).map(|a| a.to_lowercase()).collect();
    let selected =
        |name: &str| wanted.is_empty() || wanted.iter().any(|w| w == &name.to_lowercase());
    let capacities = match std::env::var("CAPACITIES") {
        Ok(list) => match list
            .split(',')
            .map(str::parse)
            .collect::<Result<Vec<usize>, _>>()
        {
            Ok(capacities) if capacities.iter().all(|&capacity| capacity > 0) => Some(capacities),
            _ => {
                eprintln!("CAPACITIES: expected sizes above 0 separated by commas, got {list:?}");
                std::process::exit(2);
            }
        },
        Err(_) => None,
    };
    let folder = traces_folder();
    println!("| workload | capacity | readthrough % | Belady % |");
    println!("|---|---:|---:|---:|");
    for trace in TRACES {
        let name = trace.name;
        if !selected(name) {
            continue;
        }
        let path = folder.join(trace.file);
        let requests = match read_block_trace(&path, usize::MAX) {
            Ok(requests) => requests,
            Err(error) => {
                eprintln!("skipping {name}: {} ({error})", path.display());
                continue;
            }
        };
        for capacity in capacities
            .clone()
            .unwrap_or_else(|| trace.capacities.to_vec())
        {
            row(name, &capacity, &requests, capacity, 0);
        }
    }
    if selected("weighted") {
        let (ratio, byte_ratio, entries) = replay_weighted(&Sizes::full());
        println!(
            "| weighted (64 MiB, {entries} entries at the end), requests | bytes | {:.2} | |",
            ratio * 100.0
        );
        println!(
            "| weighted (64 MiB), bytes | bytes | {:.2} | |",
            byte_ratio * 100.0
        );
    }
    if selected("synthetic") {
        for (name, requests, capacities) in synthetic() {
            for capacity in capacities {
                row(name, &capacity, &requests, capacity, 0);
            }
        }
    }
    if selected("zipf") {
        for exponent in [0.99, 0.8] {
            let requests = Zipf::new(ZIPF_UNIVERSE, exponent)
                .expect("a valid Zipf")
                .keys(ZIPF_REQUESTS, 2);
            for percent in [1, 10] {
                let capacity = ZIPF_UNIVERSE * percent / 100;
                let name = format!("Zipf {exponent}");
                row(
                    &name,
                    &format!("{percent}%"),
                    &requests,
                    capacity,
                    ZIPF_WARMUP,
                );
            }
        }
    }
}

/// Replays `requests` at `capacity` and prints the row: readthrough's hit ratio and Belady's,
/// counted after `warmup` requests.
fn row(name: &str, size: &dyn std::fmt::Display, requests: &[u64], capacity: usize, warmup: usize) {
    let ours = replay(requests, capacity, warmup);
    let best = optimal(requests, capacity, warmup);
    println!(
        "| {name} | {size} | {:.2} | {:.2} |",
        ours * 100.0,
        best * 100.0
    );
}

/// The synthetic workloads (see the module docs): name, requests, capacities.
fn synthetic() -> Vec<(&'static str, Vec<u64>, Vec<usize>)> {
    const KEYS: usize = 100_000;
    let zipf = |exponent, count, seed| {
        Zipf::new(KEYS, exponent)
            .expect("a valid Zipf")
            .keys(count, seed)
    };
    // Ten phases; each moves the working set by 30,000 keys.
    let moving: Vec<u64> = zipf(0.9, 4_000_000, 5)
        .chunks(400_000)
        .enumerate()
        .flat_map(|(phase, keys)| keys.iter().map(move |&key| key + phase as u64 * 30_000))
        .collect();
    // Loop keys live far above the Zipf keys; a coin picks which comes next.
    let looped = |capacity: usize| {
        let length = capacity as u64 * 3 / 2;
        let mut coin = SplitMix64::new(6);
        let mut next = 0;
        zipf(0.99, 2_000_000, 7)
            .into_iter()
            .flat_map(|key| {
                let step = if coin.next_u64() & 1 == 0 {
                    next = (next + 1) % length;
                    Some((1 << 40) + next)
                } else {
                    None
                };
                step.into_iter().chain([key])
            })
            .collect::<Vec<u64>>()
    };
    let mut scans = Vec::with_capacity(12_000_000);
    let mut fresh = 1u64 << 41;
    for (index, key) in zipf(0.99, 4_000_000, 8).into_iter().enumerate() {
        if index % 50_000 == 0 {
            scans.extend(fresh..fresh + 10_000);
            fresh += 10_000;
        }
        scans.push(key);
    }
    vec![
        ("synthetic: moving Zipf 0.9", moving, vec![2_000, 10_000]),
        ("synthetic: loop + Zipf 0.99", looped(5_000), vec![5_000]),
        ("synthetic: loop + Zipf 0.99", looped(20_000), vec![20_000]),
        ("synthetic: Zipf 0.99 + scans", scans, vec![2_000, 10_000]),
    ]
}

/// readthrough as the `compare` bench builds it (its default shards, ahash), replayed with a
/// plain lookup and an insert on a miss: what a read-through call with an instant loader does.
/// The hasher's seeds are fixed so that two runs of one build agree to the last digit: an
/// idea's effect is then not hidden in the noise of random seeds (a few tenths at OLTP 250).
fn replay(requests: &[u64], capacity: usize, warmup: usize) -> f64 {
    let cache: Cache<u64, u64, (), NoTimer, ahash::RandomState> = Cache::builder()
        .capacity(capacity)
        .hasher(ahash::RandomState::with_seeds(seed(), 2, 3, 4))
        .build()
        .expect("a valid capacity");
    let mut hits = 0u64;
    for (index, &key) in requests.iter().enumerate() {
        if cache.get(&key).is_some() {
            hits += u64::from(index >= warmup);
        } else {
            cache.insert(key, key);
        }
    }
    hits as f64 / (requests.len() - warmup).max(1) as f64
}

/// The `compare` bench's weighted workload (the same keys, body sizes and warm-up) replayed on
/// readthrough with a weigher: the request and byte hit ratios counted after the warm-up, and
/// the entries held at the end.
fn replay_weighted(sizes: &Sizes) -> (f64, f64, usize) {
    let body_sizes = body_sizes(sizes.weighted_keys, 4);
    let requests = Zipf::new(sizes.weighted_keys, 0.99)
        .expect("a valid Zipf")
        .keys(sizes.weighted_requests, 3);
    let cache: Cache<u64, u32, (), NoTimer, ahash::RandomState, _, _> = Cache::builder()
        .capacity(sizes.weighted_capacity)
        .hasher(ahash::RandomState::with_seeds(seed(), 2, 3, 4))
        .weigher(|_: &u64, size: &u32| *size as usize)
        .build()
        .expect("a valid capacity");
    let (mut hits, mut bytes, mut bytes_hit) = (0u64, 0u64, 0u64);
    for (index, &key) in requests.iter().enumerate() {
        let counted = index >= sizes.weighted_warmup;
        let size = u64::from(body_sizes[key as usize]);
        bytes += if counted { size } else { 0 };
        if cache.get(&key).is_some() {
            hits += u64::from(counted);
            bytes_hit += if counted { size } else { 0 };
        } else {
            cache.insert(key, body_sizes[key as usize]);
        }
    }
    let counted = (requests.len() - sizes.weighted_warmup).max(1);
    (
        hits as f64 / counted as f64,
        bytes_hit as f64 / bytes.max(1) as f64,
        cache.len(),
    )
}

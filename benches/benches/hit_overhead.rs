//! What the read-through API adds to a hit in readthrough itself: `get` vs `get_or_load` on the
//! same preloaded keys of one cache, 1 thread, interleaved rounds, medians (each ratio the
//! median of the rounds' own ratios to that round's `get`), with the loader written as a
//! closure, as an async closure and as a `Loader` struct. Also `get_or_load` awaited through
//! the comparison's `Contender` wrapper, to show what the harness adds, and `get` in the same
//! `async` loop as the `get_or_load` rows, with an await per lookup (see
//! [`readthrough_benches::await_point`]): what being in `async` code costs, apart from the
//! read-through API.
//!
//! Each loop hands the optimiser the same thing `get` gives, the value or nothing
//! (`answer.ok().map(|answer| answer.value)`): handing it the whole `Answer` (value and status)
//! costs about 0.2x a `get` of the benchmark's own (the answer goes through memory), on any
//! version of the cache (measured in `benches/RESULTS-hitpath.md`).
//!
//! `cargo bench -p readthrough-benches --bench hit_overhead` (`BENCH_QUICK=1` for tiny sizes).

use std::hint::black_box;
use std::time::Instant;

use futures_lite::future::block_on;
use readthrough_benches::await_point::await_point;
use readthrough_benches::contender::Contender;
use readthrough_benches::peers::Readthrough;
use readthrough_benches::sizes::Sizes;
use readthrough_benches::stats::median;
use readthrough_benches::zipf::Zipf;
use readthrough_core::Loader;

/// A loader written as a struct, as a loader with state would be.
struct Identity;

impl Loader<u64> for &Identity {
    type Value = u64;
    type Error = readthrough_benches::loader::LoadFailed;
    async fn load(&self, key: &u64) -> Result<u64, Self::Error> {
        Ok(*key)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sizes = Sizes::from_env();
    let keys = Zipf::new(sizes.hit_keys as usize, 0.99)?.keys(sizes.hit_lookups, 1);
    let wrapped = Readthrough::with_capacity(sizes.hit_keys as usize * 2);
    let cache = wrapped.cache();
    for key in 0..sizes.hit_keys {
        cache.insert(key, key);
    }

    let per_op = |start: Instant| start.elapsed().as_nanos() as f64 / keys.len() as f64;
    let mut get = Vec::new();
    let mut get_in_async_loop = Vec::new();
    let mut get_or_load = Vec::new();
    let mut with_struct = Vec::new();
    let mut with_async_closure = Vec::new();
    let mut through_wrapper = Vec::new();
    for _ in 0..sizes.rounds {
        let start = Instant::now();
        for &key in &keys {
            black_box(cache.get(black_box(&key)));
        }
        get.push(per_op(start));

        let start = Instant::now();
        block_on(async {
            for &key in &keys {
                black_box(cache.get(black_box(&key)));
                await_point().await;
            }
        });
        get_in_async_loop.push(per_op(start));

        let start = Instant::now();
        block_on(async {
            for &key in &keys {
                let answer = cache
                    .get_or_load(black_box(&key), |key: &u64| {
                        let key = *key;
                        async move { Ok(key) }
                    })
                    .await;
                black_box(answer.ok().map(|answer| answer.value));
            }
        });
        get_or_load.push(per_op(start));

        let start = Instant::now();
        block_on(async {
            for &key in &keys {
                let answer = cache.get_or_load(black_box(&key), &Identity).await;
                black_box(answer.ok().map(|answer| answer.value));
            }
        });
        with_struct.push(per_op(start));

        let start = Instant::now();
        block_on(async {
            for &key in &keys {
                let answer = cache
                    .get_or_load(black_box(&key), async |key: &u64| Ok(*key))
                    .await;
                black_box(answer.ok().map(|answer| answer.value));
            }
        });
        with_async_closure.push(per_op(start));

        let start = Instant::now();
        block_on(async {
            for &key in &keys {
                black_box(wrapped.get_or_load(black_box(key)).await);
            }
        });
        through_wrapper.push(per_op(start));
    }
    // Each row's median, and the median of its rounds' ratios to the same round's `get` (the
    // issue-15 target: at most 1.2): a round runs every row back to back, so its ratio holds
    // when the machine's speed drifts between rounds.
    let show = |samples: &[f64]| {
        let ratios: Vec<f64> = samples.iter().zip(&get).map(|(ns, get)| ns / get).collect();
        match (median(samples), median(&ratios)) {
            (Some(ns), Some(ratio)) => format!("{ns:.1} | {ratio:.2}"),
            _ => "n/a | n/a".to_string(),
        }
    };
    println!(
        "| readthrough hit, 1 thread, Zipf(0.99) over {} keys | ns/op | ÷ `get` (paired) |",
        sizes.hit_keys
    );
    println!("|---|---:|---:|");
    println!("| `get` | {} |", show(&get));
    println!(
        "| `get` in an `async` loop with an await per lookup | {} |",
        show(&get_in_async_loop)
    );
    println!(
        "| `get_or_load` (closure loader) | {} |",
        show(&get_or_load)
    );
    println!(
        "| `get_or_load` (`Loader` struct) | {} |",
        show(&with_struct)
    );
    println!(
        "| `get_or_load` (async closure) | {} |",
        show(&with_async_closure)
    );
    println!(
        "| `get_or_load` through the benchmark's wrapper | {} |",
        show(&through_wrapper)
    );
    Ok(())
}

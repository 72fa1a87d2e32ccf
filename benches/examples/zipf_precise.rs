//! The `compare` bench's Zipf hit ratios to three decimals, three runs per cache: the bench
//! prints one decimal, and where two caches show the same figure this tells them apart (each
//! run seeds its hasher at random, so the runs also show how much a cell moves).
//!
//! ```text
//! cargo run --release -p readthrough-benches --example zipf_precise
//! CONTENDERS=readthrough,moka cargo run --release -p readthrough-benches --example zipf_precise
//! ```
//!
//! The workload is the bench's: 5M requests over 1M keys, Zipf(0.99) and Zipf(0.8), caches of
//! 1% and 10% of the keys, the first 1M requests not counted.

use std::process::ExitCode;
use std::sync::Arc;

use readthrough_benches::contender::Contender;
use readthrough_benches::peers::{Moka, Pingora, QuickCache, Readthrough};
use readthrough_benches::workloads::Workload;
use readthrough_benches::workloads::hit_ratio::HitRatio;
use readthrough_benches::zipf::Zipf;

const KEYS: usize = 1_000_000;
const REQUESTS: usize = 5_000_000;
const WARMUP: usize = 1_000_000;
const RUNS: usize = 3;
const KNOWN: [&str; 4] = ["readthrough", "pingora", "moka", "quick_cache"];

fn runs<C: Contender>(workload: &HitRatio) -> String {
    let ratios: Vec<String> = (0..RUNS)
        .map(|_| format!("{:.3}", 100.0 * workload.run::<C>()))
        .collect();
    ratios.join(", ")
}

fn main() -> ExitCode {
    let contenders =
        std::env::var("CONTENDERS").unwrap_or_else(|_| "readthrough,quick_cache".into());
    let contenders: Vec<&str> = contenders.split(',').map(str::trim).collect();
    if let Some(other) = contenders.iter().find(|name| !KNOWN.contains(name)) {
        eprintln!("unknown contender {other:?} (one of {})", KNOWN.join(", "));
        return ExitCode::from(2);
    }
    println!("| workload | capacity | cache | hit % ({RUNS} runs) |\n|---|---:|---|---|");
    for exponent in [0.99, 0.8] {
        let requests = match Zipf::new(KEYS, exponent) {
            Ok(zipf) => Arc::new(zipf.keys(REQUESTS, 2)),
            Err(error) => {
                eprintln!("Zipf({exponent}): {error}");
                return ExitCode::FAILURE;
            }
        };
        for percent in [1, 10] {
            let workload = HitRatio {
                requests: requests.clone(),
                capacity: KEYS * percent / 100,
                warmup: WARMUP,
            };
            for &name in &contenders {
                let ratios = match name {
                    "readthrough" => runs::<Readthrough>(&workload),
                    "pingora" => runs::<Pingora>(&workload),
                    "moka" => runs::<Moka>(&workload),
                    _ => runs::<QuickCache>(&workload),
                };
                println!("| Zipf({exponent}) | {percent}% | {name} | {ratios} |");
            }
        }
    }
    ExitCode::SUCCESS
}

//! Where in a trace each cache misses: misses per window of requests, for readthrough and its
//! peers, beside the keys never seen before (the misses no cache can avoid). A hit ratio says
//! how far apart two caches are; this says when: while the cache first fills, after a flood of
//! new keys, when an old working set comes back.
//!
//! ```text
//! cargo run --release -p readthrough-benches --example miss_windows -- P6 524288
//! cargo run --release -p readthrough-benches --example miss_windows -- P2 524288 500000
//! CONTENDERS=readthrough,pingora cargo run --release -p readthrough-benches --example miss_windows -- OLTP 1000 100000
//! ```
//!
//! Arguments: the trace's name (`OLTP`, `P2`, `P6`: a file of the traces folder,
//! `../shared/data/traces/` beside the repository or `READTHROUGH_TRACES`), the capacity in
//! entries, and the window in requests (default 1,000,000). `CONTENDERS` picks the caches
//! (default `readthrough,pingora,moka,quick_cache`); they replay the trace one after another,
//! each through its read-through API with the instant loader, as the `compare` bench's
//! `trace` section does. The last row is each cache's hit ratio over the whole trace; under
//! "new keys", that of a cache that never evicts. The peers seed their hashers at random, and so does readthrough's
//! contender: two runs differ a little.

use std::collections::HashSet;
use std::process::ExitCode;

use futures_lite::future::block_on;
use readthrough_benches::block_trace::read_block_trace;
use readthrough_benches::contender::Contender;
use readthrough_benches::peers::{Moka, Pingora, QuickCache, Readthrough};
use readthrough_benches::traces::{TRACES, traces_folder};

const DEFAULT_WINDOW: usize = 1_000_000;
const DEFAULT_CONTENDERS: &str = "readthrough,pingora,moka,quick_cache";
const KNOWN: [&str; 4] = ["readthrough", "pingora", "moka", "quick_cache"];

/// Misses per window of `window` requests of a fresh cache of `capacity` entries.
fn misses<C: Contender>(requests: &[u64], capacity: usize, window: usize) -> Vec<u64> {
    let cache = C::with_capacity(capacity);
    block_on(async {
        let mut counts = Vec::new();
        for part in requests.chunks(window) {
            let mut missed = 0;
            for &key in part {
                missed += u64::from(cache.get_or_load(key).await.loaded);
            }
            counts.push(missed);
        }
        counts
    })
}

/// Keys seen for the first time per window: every cache misses them.
fn new_keys(requests: &[u64], window: usize) -> Vec<u64> {
    let mut seen = HashSet::new();
    requests
        .chunks(window)
        .map(|part| part.iter().filter(|&&key| seen.insert(key)).count() as u64)
        .collect()
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("{problem}");
    eprintln!("usage: miss_windows TRACE CAPACITY [WINDOW]   (TRACE: OLTP, P2 or P6)");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(trace) = args
        .first()
        .and_then(|name| TRACES.iter().find(|t| t.name.eq_ignore_ascii_case(name)))
    else {
        return usage("the first argument must name a trace");
    };
    let Some(capacity) = args.get(1).and_then(|c| c.parse::<usize>().ok()) else {
        return usage("the second argument must be a capacity in entries");
    };
    let window = match args.get(2).map(|w| w.parse::<usize>()) {
        None => DEFAULT_WINDOW,
        Some(Ok(window)) if window > 0 => window,
        Some(_) => return usage("the window must be a number of requests above 0"),
    };
    if capacity == 0 {
        return usage("the capacity must be above 0");
    }
    let path = traces_folder().join(trace.file);
    let requests = match read_block_trace(&path, usize::MAX) {
        Ok(requests) => requests,
        Err(error) => {
            eprintln!("skipping {}: {} ({error})", trace.name, path.display());
            return ExitCode::SUCCESS;
        }
    };
    let contenders = std::env::var("CONTENDERS").unwrap_or_else(|_| DEFAULT_CONTENDERS.into());
    let contenders: Vec<&str> = contenders.split(',').map(str::trim).collect();
    if let Some(other) = contenders.iter().find(|name| !KNOWN.contains(name)) {
        return usage(&format!(
            "unknown contender {other:?} (one of {})",
            KNOWN.join(", ")
        ));
    }
    let mut columns = vec![("new keys", new_keys(&requests, window))];
    for &name in &contenders {
        let counts = match name {
            "readthrough" => misses::<Readthrough>(&requests, capacity, window),
            "pingora" => misses::<Pingora>(&requests, capacity, window),
            "moka" => misses::<Moka>(&requests, capacity, window),
            _ => misses::<QuickCache>(&requests, capacity, window),
        };
        columns.push((name, counts));
    }

    println!(
        "misses per {window} requests, {} trace ({} requests), capacity {capacity}",
        trace.name,
        requests.len()
    );
    let header: Vec<&str> = columns.iter().map(|&(name, _)| name).collect();
    println!("| window | {} |", header.join(" | "));
    println!("|---:|{}", "---:|".repeat(columns.len()));
    for index in 0..columns[0].1.len() {
        let cells: Vec<String> = columns
            .iter()
            .map(|(_, counts)| counts[index].to_string())
            .collect();
        println!("| {index} | {} |", cells.join(" | "));
    }
    let totals: Vec<String> = columns
        .iter()
        .map(|(_, counts)| counts.iter().sum::<u64>().to_string())
        .collect();
    println!("| all | {} |", totals.join(" | "));
    let ratios: Vec<String> = columns
        .iter()
        .map(|(_, counts)| {
            let missed: u64 = counts.iter().sum();
            format!(
                "{:.2}",
                100.0 * (1.0 - missed as f64 / requests.len().max(1) as f64)
            )
        })
        .collect();
    println!("| hit % | {} |", ratios.join(" | "));
    ExitCode::SUCCESS
}

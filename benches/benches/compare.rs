//! The comparison: readthrough vs pingora-memory-cache, moka and quick_cache on the same
//! workloads in one process, interleaved, medians over rounds; prints a markdown table.
//!
//! `cargo bench -p readthrough-benches --bench compare`. `BENCH_QUICK=1` runs tiny sizes;
//! `BENCH_SECTIONS=hit,miss` runs only the named sections (hit, miss, storm, heap, zipf, trace,
//! weighted, defaults). `defaults` runs the hit and miss rows again with each cache as its own
//! `::new(capacity)` configures it (rows marked `[defaults]`); the other rows give every cache
//! ahash. The `trace` section replays OLTP, P2 and P6 from `../shared/data/traces/` (or the
//! folder `READTHROUGH_TRACES` names) at the capacities the traces are known by, with Belady's
//! optimal beside each row; `READTHROUGH_TRACE` replays one file instead, at the capacities
//! `READTHROUGH_TRACE_CAPACITIES` lists (comma-separated) if set.

use std::path::Path;
use std::sync::Arc;

use readthrough_benches::belady::belady_hit_ratio;
use readthrough_benches::block_trace::read_block_trace;
use readthrough_benches::body::body_sizes;
use readthrough_benches::counting_alloc::CountingAllocator;
use readthrough_benches::loader::StormOutcome;
use readthrough_benches::report::Table;
use readthrough_benches::sizes::Sizes;
use readthrough_benches::stats::median;
use readthrough_benches::traces::{TRACES, traces_folder};
use readthrough_benches::workloads::allocations::{AllocationsPerLookup, BytesPerEntry};
use readthrough_benches::workloads::hit_path::HitPath;
use readthrough_benches::workloads::hit_ratio::HitRatio;
use readthrough_benches::workloads::hit_scaling::{HitScaling, ScalingRun};
use readthrough_benches::workloads::miss_path::MissPath;
use readthrough_benches::workloads::storm::Storm;
use readthrough_benches::workloads::weighted::WeightedReplay;
use readthrough_benches::workloads::{
    CONTENDERS, NAMES, Workload, interleaved, interleaved_with, run_contender,
    run_default_contender,
};
use readthrough_benches::zipf::Zipf;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sizes = Sizes::from_env();
    eprintln!("sizes: {sizes:?}");
    let sections = std::env::var("BENCH_SECTIONS").unwrap_or_default();
    let wanted =
        |section: &str| sections.is_empty() || sections.split(',').any(|s| s.trim() == section);
    let mut table = Table::new();
    if wanted("hit") {
        hit_path(&sizes, &mut table, Configured::EqualHasher)?;
    }
    if wanted("miss") {
        miss_path(&sizes, &mut table, Configured::EqualHasher);
    }
    if wanted("defaults") {
        hit_path(&sizes, &mut table, Configured::Defaults)?;
        miss_path(&sizes, &mut table, Configured::Defaults);
    }
    if wanted("storm") {
        storms(&sizes, &mut table)?;
    }
    if wanted("heap") {
        heap(&sizes, &mut table);
    }
    if wanted("zipf") {
        zipf_hit_ratios(&sizes, &mut table)?;
    }
    if wanted("trace") {
        trace_hit_ratios(&sizes, &mut table)?;
    }
    if wanted("weighted") {
        weighted(&sizes, &mut table)?;
    }
    println!("{}", table.render());
    println!(
        "Ratios in parentheses are peer ÷ readthrough; \"paired\": the median of the rounds' own \
         ratios (each round runs every cache once, back to back)."
    );
    Ok(())
}

/// How the caches of a row set are configured.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Configured {
    /// ahash given to every cache (the rows without a suffix).
    EqualHasher,
    /// Each cache as its own `::new(capacity)` gives it (rows marked "defaults").
    Defaults,
}

impl Configured {
    fn suffix(self) -> &'static str {
        match self {
            Self::EqualHasher => "",
            Self::Defaults => " [defaults]",
        }
    }

    fn interleaved<W: Workload>(self, workload: &W, rounds: usize) -> [Vec<W::Output>; CONTENDERS] {
        match self {
            Self::EqualHasher => interleaved(workload, rounds),
            Self::Defaults => interleaved_with(workload, rounds, run_default_contender),
        }
    }
}

fn medians<T>(
    results: &[Vec<T>; CONTENDERS],
    figure: impl Fn(&T) -> Option<f64>,
) -> [Option<f64>; CONTENDERS] {
    results.each_ref().map(|runs| {
        let samples: Option<Vec<f64>> = runs.iter().map(&figure).collect();
        samples.and_then(|samples| median(&samples))
    })
}

/// Every round's figure of each contender (`None` where any round has none), for
/// [`Table::row_paired`].
fn per_round<T>(
    results: &[Vec<T>; CONTENDERS],
    figure: impl Fn(&T) -> Option<f64>,
) -> [Option<Vec<f64>>; CONTENDERS] {
    results
        .each_ref()
        .map(|runs| runs.iter().map(&figure).collect())
}

fn warn_if_nonzero(what: &str, counts: [u64; CONTENDERS]) {
    for (name, count) in NAMES.iter().zip(counts) {
        if count != 0 {
            eprintln!("warning: {name}: {count} {what}");
        }
    }
}

fn hit_path(
    sizes: &Sizes,
    table: &mut Table,
    configured: Configured,
) -> Result<(), Box<dyn std::error::Error>> {
    let suffix = configured.suffix();
    eprintln!(
        "hit path{suffix}: Zipf(0.99) over {} preloaded keys",
        sizes.hit_keys
    );
    let keys = Arc::new(Zipf::new(sizes.hit_keys as usize, 0.99)?.keys(sizes.hit_lookups, 1));
    // 1 and 2 threads in the same run, beside the machine's reference (see `HitScaling`).
    let workload = HitScaling {
        path: HitPath {
            preloaded: sizes.hit_keys,
            keys,
            threads: 1,
        },
    };
    let runs = configured.interleaved(&workload, sizes.rounds);
    for threads in [1, 2] {
        let timing = |run: &ScalingRun| if threads == 1 { run.one } else { run.two };
        warn_if_nonzero(
            &format!("misses in the {threads}-thread hit path{suffix}"),
            runs.each_ref()
                .map(|runs| runs.iter().map(|run| timing(run).misses).sum()),
        );
        let label = format!(
            "hit via read-through, {threads} thread{}",
            if threads == 1 { "" } else { "s" }
        );
        table.row_paired(
            &format!("{label} (ns/op per thread){suffix}"),
            per_round(&runs, |run| Some(timing(run).nanos_per_op)),
            1,
        );
        table.row_paired(
            &format!("{label} (Mops/s, all threads){suffix}"),
            per_round(&runs, |run| Some(timing(run).mops_per_sec)),
            1,
        );
        if threads == 1 {
            table.row_paired(
                &format!("plain `get` hit, 1 thread (ns/op){suffix}"),
                per_round(&runs, |run| run.one.plain_get_nanos),
                1,
            );
        }
    }
    table.row_paired(
        &format!("hit via read-through, 2 threads ÷ 1 thread (Mops/s){suffix}"),
        per_round(&runs, |run| Some(run.scaling())),
        2,
    );
    table.row_paired(
        &format!(
            "the same for a table that shares nothing, beside each cache's runs (the machine){suffix}"
        ),
        per_round(&runs, |run| Some(run.reference_scaling())),
        2,
    );
    table.row_paired(
        &format!("a cache's 2-thread ratio ÷ the machine's at that moment{suffix}"),
        per_round(&runs, |run| Some(run.against_reference())),
        2,
    );
    Ok(())
}

fn miss_path(sizes: &Sizes, table: &mut Table, configured: Configured) {
    let suffix = configured.suffix();
    eprintln!(
        "miss path{suffix}: capacity {}, {} distinct keys",
        sizes.miss_capacity, sizes.miss_lookups
    );
    let workload = MissPath {
        capacity: sizes.miss_capacity,
        misses: sizes.miss_lookups,
    };
    let runs = configured.interleaved(&workload, sizes.rounds);
    warn_if_nonzero(
        &format!("hits in the miss path{suffix}"),
        runs.each_ref()
            .map(|runs| runs.iter().map(|run| run.unexpected_hits).sum()),
    );
    table.row_paired(
        &format!(
            "miss + eviction, capacity {} (ns/op){suffix}",
            sizes.miss_capacity
        ),
        per_round(&runs, |run| Some(run.nanos_per_op)),
        1,
    );
}

fn storms(sizes: &Sizes, table: &mut Table) -> Result<(), Box<dyn std::error::Error>> {
    let runtime = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?,
    );
    // Spin the runtime's workers up and fault the caches' code in before anything is timed.
    let warmup = Storm {
        runtime: runtime.clone(),
        tasks: 10,
        outcome: StormOutcome::Succeeds,
    };
    for index in 0..CONTENDERS {
        run_contender(&warmup, index);
    }
    for (outcome, name) in [
        (StormOutcome::Succeeds, "storm"),
        (StormOutcome::Fails, "failing storm"),
    ] {
        eprintln!("{name}: {} tasks, one key, 10 ms loader", sizes.storm_tasks);
        let workload = Storm {
            runtime: runtime.clone(),
            tasks: sizes.storm_tasks,
            outcome,
        };
        let runs = interleaved(&workload, sizes.storm_rounds);
        let wrong_answers = runs.each_ref().map(|runs| {
            runs.iter()
                .map(|run| match outcome {
                    StormOutcome::Succeeds => run.errors as u64,
                    StormOutcome::Fails => run.values as u64,
                })
                .sum()
        });
        warn_if_nonzero(&format!("wrong answers in the {name}"), wrong_answers);
        let tasks = sizes.storm_tasks;
        table.row(
            &format!("{name}: loader calls ({tasks} tasks)"),
            medians(&runs, |run| Some(run.loads as f64)),
            0,
        );
        table.row(
            &format!("{name}: time until all {tasks} return (ms)"),
            medians(&runs, |run| Some(run.elapsed.as_secs_f64() * 1e3)),
            1,
        );
    }
    Ok(())
}

fn heap(sizes: &Sizes, table: &mut Table) {
    eprintln!("allocations per lookup");
    let counting = AllocationsPerLookup {
        capacity: sizes.miss_capacity,
        operations: sizes.allocation_lookups,
    };
    let runs = interleaved(&counting, 1);
    table.row(
        "allocations per hit",
        medians(&runs, |run| Some(run.per_hit)),
        2,
    );
    table.row(
        "allocations per miss (with eviction)",
        medians(&runs, |run| Some(run.per_miss)),
        2,
    );

    let entries = sizes.footprint_entries;
    for (keys, label) in [
        (
            entries,
            format!("heap bytes per entry ({entries} u64→u64 entries)"),
        ),
        (
            entries * 2,
            format!("heap bytes per entry ({entries} u64→u64 entries, after evicting {entries})"),
        ),
    ] {
        eprintln!("heap bytes per entry at {entries} entries, {keys} keys loaded");
        let footprint = BytesPerEntry { entries, keys };
        let runs = interleaved(&footprint, 1);
        for (name, runs) in NAMES.iter().zip(&runs) {
            if let Some(resident) = runs.first().and_then(|run| run.resident) {
                eprintln!("{name}: {resident} of {entries} entries resident");
            }
        }
        table.row(&label, medians(&runs, |run| Some(run.bytes_per_entry)), 0);
    }
}

fn zipf_hit_ratios(sizes: &Sizes, table: &mut Table) -> Result<(), Box<dyn std::error::Error>> {
    for exponent in [0.99, 0.8] {
        eprintln!(
            "hit ratio: Zipf({exponent}) over {} keys",
            sizes.zipf_universe
        );
        let requests =
            Arc::new(Zipf::new(sizes.zipf_universe, exponent)?.keys(sizes.zipf_requests, 2));
        for percent in [1, 10] {
            let workload = HitRatio {
                requests: requests.clone(),
                capacity: sizes.zipf_universe * percent / 100,
                warmup: sizes.zipf_warmup,
            };
            let runs = interleaved(&workload, 1);
            table.row(
                &format!("hit ratio %, Zipf({exponent}), capacity {percent}% of keys"),
                medians(&runs, |ratio| Some(ratio * 100.0)),
                1,
            );
        }
    }
    Ok(())
}

/// Hit ratios on the block traces ([`TRACES`], each at its capacities, skipped with a message
/// when absent), or on the one file `READTHROUGH_TRACE` names at the sizes' capacities or those
/// `READTHROUGH_TRACE_CAPACITIES` lists (comma-separated, e.g. `250,500,1000`).
fn trace_hit_ratios(sizes: &Sizes, table: &mut Table) -> Result<(), Box<dyn std::error::Error>> {
    let Some(path) = std::env::var_os("READTHROUGH_TRACE") else {
        let folder = traces_folder();
        for trace in TRACES {
            let capacities = &trace.capacities[..trace.capacities.len().min(sizes.trace_sizes)];
            trace_rows(&folder.join(trace.file), capacities, sizes, table)?;
        }
        return Ok(());
    };
    let capacities = match std::env::var("READTHROUGH_TRACE_CAPACITIES") {
        Ok(listed) => listed
            .split(',')
            .map(|capacity| capacity.trim().parse::<usize>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| format!("READTHROUGH_TRACE_CAPACITIES={listed:?}: {error}"))?,
        Err(_) => sizes.trace_capacities.clone(),
    };
    trace_rows(Path::new(&path), &capacities, sizes, table)
}

/// One row per capacity: the four caches replaying the trace at `path`, Belady's optimal in
/// the row's name.
fn trace_rows(
    path: &Path,
    capacities: &[usize],
    sizes: &Sizes,
    table: &mut Table,
) -> Result<(), Box<dyn std::error::Error>> {
    let name = trace_name(path);
    if !path.exists() {
        eprintln!(
            "skipping the {name} trace hit ratios: {} is absent",
            path.display()
        );
        return Ok(());
    }
    eprintln!("hit ratio: {name} block trace (Megiddo & Modha, ARC, FAST 2003)");
    let requests = Arc::new(read_block_trace(path, sizes.trace_limit)?);
    for &capacity in capacities {
        let workload = HitRatio {
            requests: requests.clone(),
            capacity,
            warmup: 0,
        };
        let runs = interleaved(&workload, 1);
        let optimal = belady_hit_ratio(&requests, capacity, 0) * 100.0;
        table.row(
            &format!(
                "hit ratio %, {name} trace ({} requests), capacity {capacity} (Belady {optimal:.1})",
                requests.len()
            ),
            medians(&runs, |ratio| Some(ratio * 100.0)),
            1,
        );
    }
    Ok(())
}

/// The trace's name for the table: its file name up to the first dot (`P6.lis.zst` is `P6`).
fn trace_name(path: &Path) -> String {
    path.file_name()
        .and_then(|name| name.to_str())
        .and_then(|name| name.split('.').next())
        .unwrap_or("block")
        .to_string()
}

fn weighted(sizes: &Sizes, table: &mut Table) -> Result<(), Box<dyn std::error::Error>> {
    let capacity = sizes.weighted_capacity;
    let mib = capacity as f64 / f64::from(1 << 20);
    eprintln!(
        "weighted: bodies of 16 B to 64 KiB (log-uniform) for {} keys, Zipf(0.99), {} requests \
         ({} warm-up), capacity {mib} MiB of body bytes",
        sizes.weighted_keys, sizes.weighted_requests, sizes.weighted_warmup
    );
    let body_sizes: Arc<[u32]> = body_sizes(sizes.weighted_keys, 4).into();
    let mut replay = WeightedReplay {
        requests: Arc::new(Zipf::new(sizes.weighted_keys, 0.99)?.keys(sizes.weighted_requests, 3)),
        sizes: body_sizes,
        capacity,
        warmup: sizes.weighted_warmup,
        count_allocations: false,
    };
    let timed = replay.interleaved(sizes.weighted_rounds);
    replay.count_allocations = true;
    let counted = replay.interleaved(1);
    for (name, runs) in NAMES.iter().zip(timed.iter().zip(&counted)) {
        for run in runs.0.iter().chain(runs.1) {
            eprintln!("{name}: {run:?}");
        }
    }
    let label = format!("weighted {mib} MiB");
    table.row(
        &format!("{label}: byte hit ratio %"),
        medians(&timed, |run| Some(run.byte_hit_ratio * 100.0)),
        1,
    );
    table.row(
        &format!("{label}: hit ratio %"),
        medians(&timed, |run| Some(run.hit_ratio * 100.0)),
        1,
    );
    table.row(
        &format!("{label}: hit, median (ns/op)"),
        medians(&timed, |run| Some(run.median_nanos_per_hit)),
        1,
    );
    table.row(
        &format!("{label}: hit, mean (ns/op)"),
        medians(&timed, |run| Some(run.nanos_per_hit)),
        1,
    );
    table.row(
        &format!("{label}: miss, loader makes the body, median (ns/op)"),
        medians(&timed, |run| Some(run.median_nanos_per_miss)),
        1,
    );
    table.row(
        &format!("{label}: miss, loader makes the body, mean (ns/op)"),
        medians(&timed, |run| Some(run.nanos_per_miss)),
        1,
    );
    table.row(
        &format!("{label}: allocations per hit"),
        medians(&counted, |run| run.allocations_per_hit),
        2,
    );
    table.row(
        &format!("{label}: allocations per miss (2 are the body's)"),
        medians(&counted, |run| run.allocations_per_miss),
        2,
    );
    table.row(
        &format!("{label}: heap bytes per entry beyond the bodies"),
        medians(&counted, |run| run.overhead_per_entry),
        0,
    );
    table.row(
        &format!("{label}: entries held"),
        medians(&counted, |run| Some(run.entries as f64)),
        0,
    );
    let all_runs: [Vec<_>; CONTENDERS] = std::array::from_fn(|index| {
        timed[index]
            .iter()
            .chain(&counted[index])
            .copied()
            .collect()
    });
    let most = |figure: fn(&readthrough_benches::workloads::weighted::WeightedRun) -> u64| {
        all_runs.each_ref().map(|runs| {
            runs.iter()
                .map(figure)
                .max()
                .map(|bytes| bytes as f64 / f64::from(1 << 20))
        })
    };
    table.row(
        &format!("{label}: most body bytes alive after a request (MiB)"),
        most(|run| run.max_live_body_bytes),
        2,
    );
    table.row(
        &format!("{label}: most weight the cache reported (MiB)"),
        most(|run| run.max_reported_weight),
        2,
    );
    Ok(())
}

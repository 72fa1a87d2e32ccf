//! Why tier calls time out under heavy local load (issue 11: the tokio proxy with 10,000
//! requests in flight saw its 50 ms tier calls time out): the server, the one multiplexed
//! connection, or this process's runtime?
//!
//! A `redis-server` on loopback (started here, idle but for this); a tokio runtime of 2 workers
//! busy with `TASKS` request-like tasks (each: `SLICES` slices of `SLICE_US` µs of CPU with a
//! yield between, as a request handler parses, looks up and writes); meanwhile one prober
//! fetches one key through a `RedisTier` again and again, one call at a time. Per setup:
//! - `quiet`: no load; the prober's calls as they are;
//! - `loaded`: the load on the prober's runtime, calls bounded by 2 s (their real latency);
//! - `loaded, 50 ms`: the same with the default 50 ms call timeout (how many time out, how
//!   late the timeout is seen, whether the breaker opens);
//! - `io_thread(true)`: the load on the prober's runtime, the tier's connection and calls on
//!   its own I/O thread (`RedisTierConfig::io_thread`), each call bounded by 50 ms;
//! - `load elsewhere`: the load on a runtime of its own (2 more workers on the same 2 cores):
//!   the server and the connection are as busy as before, only the prober's runtime is free.
//!
//! Results and what they mean: `adapters/redis/DESIGN.md`, "Tier calls under heavy local load".
//!
//! `cargo run --release -p readthrough-benches --example tier_overload`
//! (`TASKS`, `SLICES`, `SLICE_US` to change the load).

#[allow(
    dead_code,
    reason = "the tests' helper, of which this uses only start and url"
)]
#[path = "../../adapters/redis/tests/common/server.rs"]
mod server;

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use readthrough_core::{Fetched, Tier, Unavailable};
use readthrough_redis::{Postcard, RedisTier, RedisTierConfig};
use readthrough_tokio::TokioTimer;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Busy for `micros`: what handling part of a request costs.
fn spin(micros: u64) {
    let until = Instant::now() + Duration::from_micros(micros);
    while Instant::now() < until {
        black_box(());
    }
}

/// Starts the load on `runtime`: `TASKS` requests arriving at once, each `SLICES` slices of
/// `SLICE_US` µs of CPU with a yield between (parsing, lookups, writing); `left` counts the
/// requests not done yet.
fn start_load(runtime: &tokio::runtime::Handle, left: &Arc<AtomicUsize>) {
    let (tasks, slices, slice) = (
        env_or("TASKS", 10_000),
        env_or("SLICES", 5),
        env_or("SLICE_US", 50),
    );
    left.store(tasks as usize, Ordering::SeqCst);
    for _ in 0..tasks {
        let left = left.clone();
        runtime.spawn(async move {
            for _ in 0..slices {
                spin(slice);
                tokio::task::yield_now().await;
            }
            left.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

struct Probe {
    latencies_ms: Vec<f64>,
    timeouts: u64,
    late_by_ms: Vec<f64>,
    skipped: u64,
    breaker_opened: u64,
}

/// A tier on `url` with `call_timeout`, its key stored.
async fn tier(
    url: &str,
    call_timeout: Duration,
) -> (RedisTier<String, Postcard, TokioTimer>, Duration) {
    tier_on(url, call_timeout, false).await
}

/// [`tier`], with its connection and calls on an I/O thread of its own or not.
async fn tier_on(
    url: &str,
    call_timeout: Duration,
    io_thread: bool,
) -> (RedisTier<String, Postcard, TokioTimer>, Duration) {
    let config = RedisTierConfig::new()
        .prefix("overload")
        .call_timeout(call_timeout)
        .io_thread(io_thread);
    let tier = RedisTier::connect(url, config, Postcard, TokioTimer::new())
        .await
        .expect("connect");
    tier.store(&"k".to_string(), &"v".to_string(), Duration::from_secs(600))
        .await;
    (tier, call_timeout)
}

/// Fetches one key one call after another while `left` requests of the load are not done.
async fn probe(
    (tier, call_timeout): &(RedisTier<String, Postcard, TokioTimer>, Duration),
    left: &AtomicUsize,
) -> Probe {
    let call_timeout = *call_timeout;
    let key = "k".to_string();
    let opened_before = tier.stats().breaker_opened;
    let mut probe = Probe {
        latencies_ms: Vec::new(),
        timeouts: 0,
        late_by_ms: Vec::new(),
        skipped: 0,
        breaker_opened: 0,
    };
    while left.load(Ordering::SeqCst) > 0 {
        let start = Instant::now();
        let fetched = Tier::<String, String>::fetch(tier, &key).await;
        let took = start.elapsed();
        match fetched {
            Fetched::Hit { .. } => probe.latencies_ms.push(took.as_secs_f64() * 1e3),
            Fetched::Unavailable(Unavailable::TimedOut) => {
                probe.timeouts += 1;
                probe
                    .late_by_ms
                    .push(took.saturating_sub(call_timeout).as_secs_f64() * 1e3);
            }
            Fetched::Unavailable(Unavailable::CircuitOpen) => probe.skipped += 1,
            other => panic!("unexpected {other:?}"),
        }
        // A caller goes on to load after a skipped call: it does not spin on the tier.
        tokio::task::yield_now().await;
    }
    probe.breaker_opened = tier.stats().breaker_opened - opened_before;
    probe
}

fn quantile(samples: &mut [f64], q: f64) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    samples.sort_by(f64::total_cmp);
    samples[((samples.len() - 1) as f64 * q) as usize]
}

fn report(name: &str, mut probe: Probe) {
    println!(
        "| {name} | {} | {:.2} | {:.2} | {:.2} | {} | {:.1} | {:.1} | {} | {} |",
        probe.latencies_ms.len(),
        quantile(&mut probe.latencies_ms, 0.5),
        quantile(&mut probe.latencies_ms, 0.99),
        quantile(&mut probe.latencies_ms, 1.0),
        probe.timeouts,
        quantile(&mut probe.late_by_ms, 0.5),
        quantile(&mut probe.late_by_ms, 0.0),
        probe.breaker_opened,
        probe.skipped,
    );
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = server::RedisServer::start().ok_or("redis-server is not installed")?;
    let url = server.url();
    println!(
        "TASKS={} SLICES={} SLICE_US={}\n",
        env_or("TASKS", 10_000),
        env_or("SLICES", 5),
        env_or("SLICE_US", 50)
    );
    println!(
        "| setup | answered | p50 ms | p99 ms | max ms | timed out | timeout seen late by, median ms | least late ms | breaker opened | skipped (open) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let left = Arc::new(AtomicUsize::new(0));

    let prober = runtime();
    let (generous, tight) = prober.block_on(async {
        (
            tier(&url, Duration::from_secs(2)).await,
            tier(&url, Duration::from_millis(50)).await,
        )
    });
    left.store(200, Ordering::SeqCst);
    let quiet = prober.block_on(async {
        let counting = async {
            for _ in 0..200 {
                tokio::time::sleep(Duration::from_micros(500)).await;
                left.fetch_sub(1, Ordering::SeqCst);
            }
        };
        tokio::join!(probe(&tight, &left), counting).0
    });
    report("quiet, 50 ms", quiet);
    for (name, tier) in [("loaded, 2 s", &generous), ("loaded, 50 ms", &tight)] {
        start_load(prober.handle(), &left);
        report(name, prober.block_on(probe(tier, &left)));
    }
    drop((generous, tight));
    drop(prober);

    // The load on the callers' runtime, the tier's connection and calls on its I/O thread
    // (`RedisTierConfig::io_thread`).
    let loaded = runtime();
    let on_io = loaded.block_on(tier_on(&url, Duration::from_millis(50), true));
    start_load(loaded.handle(), &left);
    report(
        "loaded, io_thread(true), 50 ms",
        loaded.block_on(probe(&on_io, &left)),
    );
    drop(on_io);
    drop(loaded);

    // The same load on a runtime of its own: the prober's runtime is free.
    let elsewhere = runtime();
    let prober = runtime();
    let tight = prober.block_on(tier(&url, Duration::from_millis(50)));
    start_load(elsewhere.handle(), &left);
    report(
        "load elsewhere, 50 ms",
        prober.block_on(probe(&tight, &left)),
    );
    Ok(())
}

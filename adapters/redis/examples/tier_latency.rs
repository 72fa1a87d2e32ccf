//! What an L2 hit costs over loopback, against the bare redis-rs `GET` of the same bytes.
//!
//! Starts its own `redis-server` on a free loopback port (the tests' helper), stores one
//! 100-byte value through the tier, then times, per operation, in interleaved rounds (medians):
//! - `redis-rs GET`: a bare `GET` of the value's key on a redis-rs `ConnectionManager`;
//! - `RedisTier::fetch`: the tier's fetch (a script: `GET` + `PTTL`, then decoding);
//! - `Tiered L2 hit`: `Tiered::get_or_load` with the value dropped from L1 first, answered
//!   `TierHit` (L1 miss, local coalescing, fetch, landing in L1);
//! - `Tiered L1 hit`: `Tiered::get_or_load` answered from memory.
//!
//! `cargo run --release -p readthrough-redis --example tier_latency` (`ROUNDS`, `OPS` to change
//! the sizes). One connection, one caller at a time: latency, not throughput.

#[allow(
    dead_code,
    reason = "the tests' helper, of which this uses only start and url"
)]
#[path = "../tests/common/server.rs"]
mod server;

use std::hint::black_box;
use std::time::{Duration, Instant};

use readthrough_core::{Cache, Fetched, Status, Tier, Tiered};
use readthrough_redis::{Postcard, RedisTier, RedisTierConfig};
use readthrough_tokio::TokioTimer;

fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds = env_or("ROUNDS", 15);
    let ops = env_or("OPS", 2_000);
    let server = server::RedisServer::start().ok_or("redis-server is not installed")?;
    let timer = TokioTimer::new();
    let prefix = "bench:latency";
    let tier = RedisTier::<String, _, _>::connect(
        server.url(),
        // Generous: a slow reply on a busy machine is measured, not turned into a local load.
        RedisTierConfig::new()
            .prefix(prefix)
            .call_timeout(Duration::from_secs(2)),
        Postcard,
        timer,
    )
    .await?;
    let cache = Cache::<String, String, std::io::Error>::builder()
        .capacity(1_000)
        .timer(timer)
        .ttl(Duration::from_secs(3_600))
        .lock_timeout(Duration::from_secs(2))
        .build()?;
    let tiered = Tiered::new(cache, tier.clone())?;
    let key = "user:7".to_string();
    let value = "x".repeat(100);
    tier.store(&key, &value, Duration::from_secs(3_600)).await;

    // The value's Redis key, to `GET` the very bytes the tier stored.
    let client = redis::Client::open(server.url())?;
    let mut bare = redis::aio::ConnectionManager::new(client).await?;
    let names: Vec<Vec<u8>> = redis::cmd("KEYS")
        .arg(format!("{prefix}*:v:*"))
        .query_async(&mut bare)
        .await?;
    let name = names.into_iter().next().ok_or("the stored value's key")?;
    let stored: Vec<u8> = redis::cmd("GET").arg(&name).query_async(&mut bare).await?;

    let origin = |_: &String| async { Err(std::io::Error::other("the origin is not called")) };
    let mut samples: [Vec<f64>; 4] = Default::default();
    for _ in 0..rounds {
        let start = Instant::now();
        for _ in 0..ops {
            let bytes: Vec<u8> = redis::cmd("GET").arg(&name).query_async(&mut bare).await?;
            assert_eq!(bytes.len(), stored.len());
        }
        samples[0].push(start.elapsed().as_nanos() as f64 / ops as f64);

        let start = Instant::now();
        for _ in 0..ops {
            let fetched = Tier::<String, String>::fetch(&tier, black_box(&key)).await;
            assert!(matches!(fetched, Fetched::Hit { .. }));
        }
        samples[1].push(start.elapsed().as_nanos() as f64 / ops as f64);

        let start = Instant::now();
        for _ in 0..ops {
            tiered.invalidate_local(&key);
            let answer = tiered.get_or_load(black_box(&key), origin).await?;
            assert_eq!(answer.status, Status::TierHit);
        }
        samples[2].push(start.elapsed().as_nanos() as f64 / ops as f64);

        let start = Instant::now();
        for _ in 0..ops {
            let answer = tiered.get_or_load(black_box(&key), origin).await?;
            assert_eq!(answer.status, Status::Hit);
        }
        samples[3].push(start.elapsed().as_nanos() as f64 / ops as f64);
    }
    let bare_get = median(&mut samples[0]);
    println!(
        "{rounds} rounds of {ops} operations, {} value bytes on the wire, medians:",
        stored.len()
    );
    println!("| operation | ns per op | vs redis-rs GET |");
    println!("|---|---:|---:|");
    for (name, samples) in [
        "redis-rs GET",
        "RedisTier::fetch",
        "Tiered L2 hit",
        "Tiered L1 hit",
    ]
    .iter()
    .zip(samples.iter_mut())
    {
        let ns = median(samples);
        println!("| {name} | {ns:.0} | {:.2}x |", ns / bare_get);
    }
    Ok(())
}

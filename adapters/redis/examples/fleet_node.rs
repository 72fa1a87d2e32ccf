//! One node of a fleet: a tiered cache (this process's memory in front of a shared Redis) that
//! serves a storm of callers over a set of keys from a slow origin, and reports how many origin
//! loads it made. Start it several times against one server: across all of them, each key is
//! loaded once.
//!
//! ```text
//! redis-server --port 6379 &
//! cargo build --release -p readthrough-redis --example fleet_node
//! target/release/examples/fleet_node redis://127.0.0.1:6379/ &
//! target/release/examples/fleet_node redis://127.0.0.1:6379/
//! ```
//!
//! Arguments: the Redis URL (`redis://` or `rediss://`, with `user:password@` for AUTH), then
//! optionally `--start-at-ms T` (wait until `T` milliseconds since the Unix epoch, so that
//! several processes storm at once), `--callers N` (default 1,000), `--keys N` (default 100),
//! `--prefix P` (the Redis key prefix, default `fleet-node`). Prints one line:
//! `FLEET-PROCESS loads=.. hits=.. lock_hits=.. tier_hits=.. tier_lock_hits=.. tier_errors=..`.
//! The two-process test of this crate (`tests/tokio.rs`) starts this binary twice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use readthrough_core::{Loader, Status, Tiered};
use readthrough_redis::{Postcard, RedisTier, RedisTierConfig};
use readthrough_tokio::TokioTimer;

/// The origin: 20 ms a load, counted per key.
#[derive(Default)]
struct Origin {
    loads: Mutex<HashMap<String, usize>>,
}

impl Loader<String> for &Origin {
    type Value = String;
    type Error = std::io::Error;

    async fn load(&self, key: &String) -> Result<String, std::io::Error> {
        *self.loads.lock().unwrap().entry(key.clone()).or_default() += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
        Ok(format!("value of {key}"))
    }
}

struct Args {
    url: String,
    start_at: Option<SystemTime>,
    callers: usize,
    keys: usize,
    prefix: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let url = args.next().ok_or(
        "usage: fleet_node REDIS_URL [--start-at-ms T] [--callers N] [--keys N] [--prefix P]",
    )?;
    let mut parsed = Args {
        url,
        start_at: None,
        callers: 1_000,
        keys: 100,
        prefix: "fleet-node".to_string(),
    };
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|error| format!("{flag} {value}: {error}"))
        };
        match flag.as_str() {
            "--start-at-ms" => {
                parsed.start_at = Some(UNIX_EPOCH + Duration::from_millis(number()?));
            }
            "--callers" => parsed.callers = number()? as usize,
            "--keys" => parsed.keys = number()?.max(1) as usize,
            "--prefix" => parsed.prefix = value,
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    Ok(parsed)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let timer = TokioTimer::new();
    // A generous call timeout: a storm on a loaded machine can stall a reply past the 50 ms
    // default, which would turn into local loads (correct, but not what this shows).
    let config = RedisTierConfig::new()
        .prefix(args.prefix.as_str())
        .call_timeout(Duration::from_secs(2));
    let tier = RedisTier::connect(args.url.as_str(), config, Postcard, timer).await?;
    let cache = readthrough_tokio::builder::<String, String, std::io::Error>()
        .capacity(10_000)
        .ttl(Duration::from_secs(60))
        .lock_timeout(Duration::from_secs(10))
        .build()?;
    let node = Arc::new(Tiered::new(cache, tier.clone())?);
    tier.deliver_invalidations_to(&node);
    let origin = Arc::new(Origin::default());

    if let Some(wait) = args
        .start_at
        .and_then(|at| at.duration_since(SystemTime::now()).ok())
    {
        tokio::time::sleep(wait).await;
    }
    // Each caller a task of its own, as requests are on a server.
    let mut callers = tokio::task::JoinSet::new();
    for caller in 0..args.callers {
        let (node, origin) = (node.clone(), origin.clone());
        let key = format!("key{}", caller % args.keys);
        callers.spawn(async move {
            let answer = node.get_or_load(&key, &*origin).await;
            match answer {
                Ok(answer) if answer.value == format!("value of {key}") => Ok(answer.status),
                Ok(answer) => Err(format!("{key}: a wrong value, {}", answer.value)),
                Err(error) => Err(format!("{key}: {error}")),
            }
        });
    }
    let mut statuses = Vec::with_capacity(args.callers);
    for status in callers.join_all().await {
        statuses.push(status?);
    }
    let count = |wanted: Status| statuses.iter().filter(|status| **status == wanted).count();
    let stats = node.stats();
    let loads: usize = origin.loads.lock().unwrap().values().sum();
    println!(
        "FLEET-PROCESS loads={loads} hits={} lock_hits={} tier_hits={} tier_lock_hits={} tier_errors={}",
        count(Status::Hit),
        count(Status::LockHit),
        count(Status::TierHit),
        count(Status::TierLockHit),
        stats.tier_errors
    );
    Ok(())
}

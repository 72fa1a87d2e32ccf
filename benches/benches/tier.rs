//! What the shared Redis tier costs and saves, against a real `redis-server` on loopback that
//! this bench starts on a free port (the Redis adapter's test helper):
//!
//! 1. An L2 hit (`Tiered::get_or_load` answered `TierHit`, the value dropped from L1 first)
//!    and the tier's `fetch`, against a bare redis-rs `GET` of the same bytes on a redis-rs
//!    `ConnectionManager`: ns per operation and the ratio. One caller at a time: latency.
//! 2. An L1 hit with and without a tier: `Cache::get_or_load` and `Tiered::get_or_load` (on
//!    that Redis tier) hits on the same keys and configuration: ns per hit, allocations per hit.
//! 3. A fleet storm: 4 nodes in this process (each its own connection), 1,000 callers each over
//!    100 keys, a 20 ms origin: origin loads and the time until the last caller has its answer.
//!
//! Interleaved rounds, medians. `cargo bench -p readthrough-benches --bench tier`
//! (`BENCH_QUICK=1` for tiny sizes). Without `redis-server` it says so and measures nothing
//! (a bench is not a test: CI's tests fail on a missing server, this does not).

#[allow(
    dead_code,
    reason = "the tests' helper, of which this uses only start and url"
)]
#[path = "../../adapters/redis/tests/common/server.rs"]
mod server;

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use readthrough_benches::counting_alloc::{AllocationWindow, CountingAllocator};
use readthrough_benches::stats::median;
use readthrough_core::{Cache, Fetched, Loader, Status, Tier, Tiered};
use readthrough_redis::{Postcard, RedisTier, RedisTierConfig};
use readthrough_tokio::TokioTimer;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

type Node = Tiered<Cache<String, String, std::io::Error, TokioTimer>, Tier_>;
type Tier_ = RedisTier<String, Postcard, TokioTimer>;

struct Sizes {
    rounds: usize,
    l2_ops: usize,
    l1_ops: usize,
    storms: usize,
}

fn sizes() -> Sizes {
    if std::env::var_os("BENCH_QUICK").is_some() {
        Sizes {
            rounds: 3,
            l2_ops: 200,
            l1_ops: 20_000,
            storms: 1,
        }
    } else {
        Sizes {
            rounds: 15,
            l2_ops: 2_000,
            l1_ops: 1_000_000,
            storms: 5,
        }
    }
}

async fn connect(server: &server::RedisServer, prefix: &str) -> Tier_ {
    // Generous: a slow reply on a busy machine is measured, not turned into a local load.
    let config = RedisTierConfig::new()
        .prefix(prefix)
        .call_timeout(Duration::from_secs(2));
    RedisTier::connect(server.url(), config, Postcard, TokioTimer::new())
        .await
        .expect("connect to the bench's server")
}

fn cache(ttl: Duration) -> Cache<String, String, std::io::Error, TokioTimer> {
    Cache::builder()
        .capacity(10_000)
        .timer(TokioTimer::new())
        .ttl(ttl)
        .lock_timeout(Duration::from_secs(10))
        .build()
        .expect("a valid configuration")
}

fn per_op(start: Instant, ops: usize) -> f64 {
    start.elapsed().as_nanos() as f64 / ops as f64
}

/// An L2 hit against a bare GET of the same bytes (part 1).
async fn l2_hit(
    server: &server::RedisServer,
    sizes: &Sizes,
) -> Result<(), Box<dyn std::error::Error>> {
    let prefix = "bench:l2";
    let tier = connect(server, prefix).await;
    let tiered = Tiered::new(cache(Duration::from_secs(3_600)), tier.clone())?;
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
    let ops = sizes.l2_ops;
    let mut samples: [Vec<f64>; 3] = Default::default();
    for _ in 0..sizes.rounds {
        let start = Instant::now();
        for _ in 0..ops {
            let bytes: Vec<u8> = redis::cmd("GET").arg(&name).query_async(&mut bare).await?;
            assert_eq!(bytes.len(), stored.len());
        }
        samples[0].push(per_op(start, ops));

        let start = Instant::now();
        for _ in 0..ops {
            let fetched = Tier::<String, String>::fetch(&tier, black_box(&key)).await;
            assert!(matches!(fetched, Fetched::Hit { .. }));
        }
        samples[1].push(per_op(start, ops));

        let start = Instant::now();
        for _ in 0..ops {
            tiered.invalidate_local(&key);
            let answer = tiered.get_or_load(black_box(&key), origin).await?;
            assert_eq!(answer.status, Status::TierHit);
        }
        samples[2].push(per_op(start, ops));
    }
    let bare_get = median(&samples[0]).unwrap_or(f64::NAN);
    println!(
        "\n## L2 hit over loopback ({} value bytes on the wire; {} rounds of {ops}, medians)\n",
        stored.len(),
        sizes.rounds
    );
    println!("| operation | ns per op | vs redis-rs GET |");
    println!("|---|---:|---:|");
    for (name, samples) in [
        "redis-rs GET",
        "RedisTier::fetch",
        "Tiered L2 hit (TierHit)",
    ]
    .iter()
    .zip(&samples)
    {
        let ns = median(samples).unwrap_or(f64::NAN);
        println!("| {name} | {ns:.0} | {:.2}x |", ns / bare_get);
    }
    Ok(())
}

/// An L1 hit with and without a tier (part 2). The values are `u64`s, so that a hit's clone of
/// the value allocates nothing of its own (a `String` value would allocate in its clone).
async fn l1_hit(
    server: &server::RedisServer,
    sizes: &Sizes,
) -> Result<(), Box<dyn std::error::Error>> {
    let keys: Vec<String> = (0..1_000).map(|key| format!("key{key}")).collect();
    let cache = || {
        Cache::<String, u64, std::io::Error>::builder()
            .capacity(10_000)
            .timer(TokioTimer::new())
            .ttl(Duration::from_secs(3_600))
            .lock_timeout(Duration::from_secs(10))
            .build()
            .expect("a valid configuration")
    };
    let plain = cache();
    let tiered = Tiered::new(cache(), connect(server, "bench:l1").await)?;
    for (value, key) in keys.iter().enumerate() {
        plain.insert(key.clone(), value as u64);
        tiered.cache().insert(key.clone(), value as u64);
    }
    let origin = |_: &String| async { Err(std::io::Error::other("the origin is not called")) };
    let ops = sizes.l1_ops;
    let mut samples: [Vec<f64>; 2] = Default::default();
    let mut allocations = [0u64; 2];
    for _ in 0..sizes.rounds {
        let window = AllocationWindow::open();
        let start = Instant::now();
        for index in 0..ops {
            let answer = plain
                .get_or_load(black_box(&keys[index % keys.len()]), origin)
                .await;
            black_box(answer.ok());
        }
        samples[0].push(per_op(start, ops));
        allocations[0] += window.close().0;

        let window = AllocationWindow::open();
        let start = Instant::now();
        for index in 0..ops {
            let answer = tiered
                .get_or_load(black_box(&keys[index % keys.len()]), origin)
                .await;
            black_box(answer.ok());
        }
        samples[1].push(per_op(start, ops));
        allocations[1] += window.close().0;
    }
    let plain_ns = median(&samples[0]).unwrap_or(f64::NAN);
    println!(
        "\n## L1 hit with and without a tier (`get_or_load`, 1,000 preloaded keys, `u64` values; {} rounds of {ops}, medians)\n",
        sizes.rounds
    );
    println!("| cache | ns per hit | vs plain | allocations in all hits |");
    println!("|---|---:|---:|---:|");
    for (index, name) in ["Cache (no tier)", "Tiered on RedisTier"]
        .iter()
        .enumerate()
    {
        let ns = median(&samples[index]).unwrap_or(f64::NAN);
        println!(
            "| {name} | {ns:.1} | {:.2}x | {} |",
            ns / plain_ns,
            allocations[index]
        );
    }
    Ok(())
}

/// The storm's origin: 20 ms a load, counted.
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

/// A 4-node fleet storm (part 3).
async fn storm(
    server: &server::RedisServer,
    sizes: &Sizes,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut times = Vec::new();
    let mut loads = Vec::new();
    for run in 0..sizes.storms {
        let prefix = format!("bench:storm{run}");
        let mut nodes: Vec<Arc<Node>> = Vec::new();
        for _ in 0..4 {
            let tier = connect(server, &prefix).await;
            nodes.push(Arc::new(Tiered::new(cache(Duration::from_secs(60)), tier)?));
        }
        let origin = Origin {
            loads: Mutex::new(HashMap::new()),
        };
        let callers: Vec<_> = (0..1_000)
            .flat_map(|caller| nodes.iter().map(move |node| (caller, node)))
            .map(|(caller, node)| {
                let origin = &origin;
                async move {
                    let key = format!("key{}", caller % 100);
                    node.get_or_load(&key, origin)
                        .await
                        .map(|answer| answer.value)
                }
            })
            .collect();
        let start = Instant::now();
        let answers = join::join_all(callers).await;
        times.push(start.elapsed().as_secs_f64() * 1_000.0);
        assert!(answers.iter().all(Result::is_ok), "a caller failed");
        loads.push(origin.loads.lock().unwrap().values().sum::<usize>() as f64);
    }
    println!(
        "\n## Fleet storm (4 nodes, 1,000 callers each over 100 keys, 20 ms origin; {} runs, medians)\n",
        sizes.storms
    );
    println!("| origin loads | without a tier it would be | time to last answer |");
    println!("|---:|---:|---:|");
    println!(
        "| {} | 400 (100 per node) | {:.0} ms |",
        median(&loads).unwrap_or(f64::NAN),
        median(&times).unwrap_or(f64::NAN)
    );
    Ok(())
}

#[path = "../../core/tests/common/join.rs"]
mod join;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(server) = server::RedisServer::start() else {
        println!(
            "SKIPPED: redis-server is not installed (bash ci/install.sh redis); nothing measured"
        );
        return Ok(());
    };
    let sizes = sizes();
    l2_hit(&server, &sizes).await?;
    l1_hit(&server, &sizes).await?;
    storm(&server, &sizes).await?;
    Ok(())
}

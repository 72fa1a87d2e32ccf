//! The Redis tier against a real `redis-server`, on tokio.

mod common;

use std::time::Duration;

use readthrough_core::with_timeout;
use readthrough_tokio::TokioTimer;

/// No test may hang: each gets this long in all.
const BOUND: Duration = Duration::from_secs(60);

macro_rules! on_tokio {
    ($module:ident: $($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let timer = TokioTimer::new();
            with_timeout(&timer, BOUND, common::$module::$name(timer))
                .await
                .expect("the test did not finish in time");
        }
    )*};
}

on_tokio!(
    suite:
    connecting_to_a_dead_server_fails_within_the_connect_timeout,
    stores_and_fetches_with_the_remaining_ttl,
    a_value_expires_after_its_ttl,
    delete_removes_the_value,
    the_lock_is_exclusive_and_released_only_by_its_token,
    the_lock_expires_after_its_hold_time,
    announcements_reach_other_nodes_and_not_the_sender,
    garbage_bytes_are_a_counted_miss_and_get_overwritten,
    a_value_over_the_size_limit_is_not_written,
    a_paused_server_times_out_within_the_call_timeout,
    the_breaker_opens_on_failures_and_closes_when_the_server_is_back,
);

#[cfg(feature = "tokio-rustls")]
on_tokio!(
    tls:
    two_nodes_share_a_tier_over_tls,
);

#[cfg(feature = "cluster")]
on_tokio!(
    cluster:
    a_fleet_on_a_redis_cluster_loads_each_key_once_and_hears_invalidations,
);

on_tokio!(
    serving:
    stale_values_are_refreshed_once_across_the_fleet,
    a_batch_is_loaded_once_across_the_fleet,
    a_background_refresh_takes_another_nodes_copy_from_redis,
);

on_tokio!(
    fleet:
    a_fleet_storm_loads_each_key_once,
    writes_on_one_node_reach_the_others,
    a_server_killed_mid_storm_costs_local_loads_then_is_used_again,
    a_node_cancelled_holding_the_fleet_lock_delays_the_others_less_than_the_lock_timeout,
    a_stalled_server_costs_the_call_timeout_then_local_loads,
    garbage_in_the_tier_is_a_miss_and_gets_overwritten,
);

/// The cache spawns work on tokio's multi-threaded runtime, so every tier future must be
/// `Send`; this does not compile otherwise.
#[allow(dead_code)]
fn tier_futures_are_send(
    tier: &readthrough_redis::RedisTier<String, readthrough_redis::Postcard, TokioTimer>,
    key: &String,
    token: readthrough_redis::LockToken,
) {
    use readthrough_core::{Announcement, Tier};
    fn send<F: Send>(_: F) {}
    type Values = String;
    send(Tier::<String, Values>::fetch(tier, key));
    send(tier.store(key, key, Duration::from_secs(1)));
    send(Tier::<String, Values>::delete(tier, key));
    send(Tier::<String, Values>::lock(
        tier,
        key,
        Duration::from_secs(1),
    ));
    send(Tier::<String, Values>::unlock(tier, key, token));
    send(Tier::<String, Values>::announce(
        tier,
        key,
        Announcement::Landed,
    ));
    send(Tier::<String, Values>::landing(tier, key));
}

/// Two OS processes (the `fleet_node` example started twice) behind one `redis-server`, 1,000
/// callers each over the same 100 keys, storming at the same moment: one origin load per key
/// across both.
#[test]
fn two_processes_load_each_key_once() {
    let Some(server) = common::server::RedisServer::start() else {
        return;
    };
    let example = common::example::path("fleet_node");
    let start_at = std::time::SystemTime::now() + Duration::from_millis(1_500);
    let millis = start_at
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .to_string();
    let spawn = || {
        std::process::Command::new(&example)
            .arg(server.url())
            .args([
                "--start-at-ms",
                &millis,
                "--callers",
                "1000",
                "--keys",
                "100",
            ])
            .args(["--prefix", "test:fleet-processes"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", example.display()))
    };
    let children = [spawn(), spawn()];
    let (mut loads, mut from_tier) = (0, 0);
    for child in children {
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "a fleet process failed:\n{stdout}");
        let line = stdout
            .lines()
            .find(|line| line.starts_with("FLEET-PROCESS"))
            .unwrap_or_else(|| panic!("no report from a fleet process:\n{stdout}"));
        eprintln!("{line}");
        let field = |name: &str| -> usize {
            let prefix = format!("{name}=");
            let value = line
                .split_whitespace()
                .find_map(|field| field.strip_prefix(&prefix));
            value
                .unwrap_or_else(|| panic!("no {name} in {line}"))
                .parse()
                .unwrap()
        };
        loads += field("loads");
        from_tier += field("tier_hits") + field("tier_lock_hits");
        assert_eq!(field("tier_errors"), 0, "{line}");
    }
    assert_eq!(loads, 100, "the two processes loaded some keys twice");
    assert!(from_tier > 0, "no process took a value from the other");
}

/// A tiered cache's futures are `Send` too, so a request handler spawned on tokio's
/// multi-threaded runtime can await them; this does not compile otherwise.
#[allow(dead_code)]
fn tiered_futures_are_send(
    tiered: &readthrough_core::Tiered<
        readthrough_tokio::Cache<String, String, std::io::Error>,
        readthrough_redis::RedisTier<String, readthrough_redis::Postcard, TokioTimer>,
    >,
    key: &String,
) {
    fn send<F: Send>(_: F) {}
    let load = |key: &String| {
        let key = key.clone();
        async move { Ok(key) }
    };
    send(tiered.get_or_load(key, load));
    send(tiered.get_or_load_with_ttl(key, |key: &String| {
        let key = key.clone();
        async move { Ok((key, None)) }
    }));
    send(tiered.insert(key.clone(), key.clone()));
    send(tiered.remove(key));
    send(tiered.invalidate(key));
}

type TokioNode = readthrough_core::Tiered<
    readthrough_tokio::Cache<String, String, std::io::Error>,
    readthrough_redis::RedisTier<String, readthrough_redis::Postcard, TokioTimer>,
>;

/// And so is a background refresh's caller's future (its task is `Send` by `Spawn`'s bound).
#[allow(dead_code)]
fn background_futures_are_send(tiered: &std::sync::Arc<TokioNode>, key: &String) {
    fn send<F: Send>(_: F) {}
    let load = |key: &String| {
        let key = key.clone();
        async move { Ok(key) }
    };
    send(tiered.get_or_revalidate_in_background(key, load));
}

/// Busy for `micros`: a slice of a request handler's work.
fn spin(micros: u64) {
    let until = std::time::Instant::now() + Duration::from_micros(micros);
    while std::time::Instant::now() < until {
        std::hint::black_box(());
    }
}

/// A runtime kept busy by its own tasks (one thread, 2,000 request-like tasks of 5 slices of
/// 100 µs each, about 1 s of CPU): with the tier on an I/O thread, no call times out at 50 ms
/// and the breaker stays closed; every call is answered by the server, and quickly.
#[test]
fn on_an_io_thread_calls_are_answered_while_the_callers_runtime_is_busy() {
    let Some(server) = common::server::RedisServer::start() else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        use readthrough_core::{Fetched, Tier};
        let config = readthrough_redis::RedisTierConfig::new()
            .prefix("test:io-thread")
            .call_timeout(Duration::from_millis(50))
            .breaker(3, Duration::from_secs(1))
            .io_thread(true);
        let tier: readthrough_redis::RedisTier<String, readthrough_redis::Postcard, TokioTimer> =
            readthrough_redis::RedisTier::connect(
                server.url(),
                config,
                readthrough_redis::Postcard,
                TokioTimer::new(),
            )
            .await
            .unwrap();
        let key = "k".to_string();
        tier.store(&key, &"v".to_string(), Duration::from_secs(60))
            .await;
        let left = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(2_000));
        for _ in 0..2_000 {
            let left = left.clone();
            tokio::spawn(async move {
                for _ in 0..5 {
                    spin(100);
                    tokio::task::yield_now().await;
                }
                left.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
            });
        }
        let mut answered = 0;
        while left.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            let fetched = Tier::<String, String>::fetch(&tier, &key).await;
            assert!(
                matches!(fetched, Fetched::Hit { .. }),
                "call {answered} under load: {fetched:?}, {:?}",
                tier.stats()
            );
            answered += 1;
        }
        let stats = tier.stats();
        eprintln!("{answered} calls answered on the I/O thread while the runtime was busy");
        assert!(answered >= 2, "the load ended before the calls were made");
        assert_eq!((stats.timeouts, stats.breaker_opened), (0, 0));
    });
}

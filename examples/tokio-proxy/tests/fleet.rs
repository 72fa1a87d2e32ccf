//! Two proxies behind one `redis-server` (each its own cache and connection), 10,000 requests
//! spread over both: the origin is asked once per URL. The server is the Redis tier tests'
//! helper (a private `redis-server` on a free port; in CI a missing server fails the test).

#[allow(
    dead_code,
    reason = "the Redis tests' helper, of which this uses start and url"
)]
#[path = "../../../adapters/redis/tests/common/server.rs"]
mod server;

use std::collections::BTreeMap;
use std::time::Duration;

use hyper::StatusCode;
use readthrough_example_tokio_proxy::{
    Origin, OriginConfig, Proxy, ProxyConfig, fetch, http2_client,
};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::timeout;

const REQUESTS: usize = 10_000;
const URLS: usize = 100;
/// Requests in flight at once. All 10,000 at once starve redis-rs's connection task on a
/// loaded 2-core machine for longer than any sensible call timeout (seconds): the proxies then
/// go on without Redis, as designed, and load some URLs twice. That is the tier's fallback at
/// work, not what this test checks.
const IN_FLIGHT: usize = 500;
/// Bounds the whole test: far above what it needs, far below a hang.
const PATIENCE: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_proxies_behind_one_redis_ask_the_origin_once_per_url() {
    let Some(redis) = server::RedisServer::start() else {
        return;
    };
    let origin = Origin::start(OriginConfig {
        response_delay: Duration::from_millis(50),
        ..OriginConfig::default()
    })
    .await
    .unwrap();
    let config = ProxyConfig {
        redis: Some(redis.url()),
        // Hundreds of requests in flight on a loaded 2-core machine: a Redis reply can wait
        // longer than the 50 ms default. This test is about sharing, not about a slow tier.
        redis_call_timeout: Duration::from_secs(2),
        ..ProxyConfig::new(origin.addr())
    };
    let proxies = [
        Proxy::start(config.clone()).await.unwrap(),
        Proxy::start(config).await.unwrap(),
    ];
    let client = http2_client();
    let in_flight = std::sync::Arc::new(Semaphore::new(IN_FLIGHT));
    let mut requests = JoinSet::new();
    for index in 0..REQUESTS {
        let client = client.clone();
        // Every URL through both proxies (alternating per pass over the URLs).
        let proxy = &proxies[(index / URLS) % 2];
        let uri = format!("http://{}/item/{}", proxy.addr(), index % URLS)
            .parse()
            .unwrap();
        let permit = in_flight.clone().acquire_owned();
        requests.spawn(async move {
            let _permit = permit.await;
            fetch(&client, uri).await
        });
    }
    let mut x_caches = BTreeMap::new();
    let answered = timeout(PATIENCE, async {
        while let Some(joined) = requests.join_next().await {
            let response = joined.unwrap().unwrap();
            assert_eq!(response.status, StatusCode::OK);
            *x_caches
                .entry(response.x_cache.unwrap_or_default())
                .or_insert(0) += 1;
        }
    })
    .await;
    assert!(answered.is_ok(), "requests hung");
    eprintln!("x-cache over both proxies: {x_caches:?}");
    for proxy in &proxies {
        eprintln!("proxy stats: {:?}", proxy.cache().stats());
        eprintln!("tier stats: {:?}", proxy.tier_stats());
    }
    assert_eq!(
        origin.requests(),
        URLS,
        "the origin was asked more than once per URL"
    );
    assert_eq!(x_caches.get("MISS"), Some(&URLS));
    let from_the_other_proxy =
        x_caches.get("TIER-HIT").unwrap_or(&0) + x_caches.get("TIER-LOCK-HIT").unwrap_or(&0);
    assert!(
        from_the_other_proxy > 0,
        "no response came through Redis: {x_caches:?}"
    );
    for proxy in &proxies {
        assert_eq!(proxy.cache().stats().tier_errors, 0);
        assert_eq!(proxy.cache().loads_in_flight(), 0);
    }
}

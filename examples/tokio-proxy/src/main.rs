//! Starts an origin and the caching proxy in front of it on loopback, sends three rounds of
//! concurrent requests through the proxy (cold, warm, expired) and prints how they were served.
//!
//! With `--redis URL` it starts two proxies sharing that Redis and spreads every round over
//! both: the origin is still asked once per URL (expired responses are reloaded, not served
//! stale, with a shared tier).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use readthrough_example_tokio_proxy::{
    Origin, OriginConfig, Proxy, ProxyConfig, fetch, http2_client,
};
use tokio::task::JoinSet;

const REQUESTS_PER_ROUND: usize = 1_000;
const URLS: usize = 10;
/// Short, so that the third round finds every response expired and is served stale.
const RESPONSE_TTL: Duration = Duration::from_secs(3);

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let origin_config = OriginConfig {
        response_delay: Duration::from_millis(100),
        ..OriginConfig::default()
    };
    let mut args = std::env::args().skip(1);
    let redis = match (args.next().as_deref(), args.next()) {
        (None, _) => None,
        (Some("--redis"), Some(url)) => Some(url),
        _ => return Err("usage: readthrough-example-tokio-proxy [--redis URL]".into()),
    };
    let origin = Origin::start(origin_config.clone()).await?;
    let config = ProxyConfig {
        ttl: RESPONSE_TTL,
        redis: redis.clone(),
        ..ProxyConfig::new(origin.addr())
    };
    let mut proxies = vec![Proxy::start(config.clone()).await?];
    if redis.is_some() {
        proxies.push(Proxy::start(config).await?);
    }
    let addresses: Vec<String> = proxies
        .iter()
        .map(|proxy| format!("http://{}", proxy.addr()))
        .collect();
    println!(
        "origin http://{} (answers after {:?}), proxies {addresses:?}{}",
        origin.addr(),
        origin_config.response_delay,
        redis
            .as_deref()
            .map_or(String::new(), |url| format!(" sharing {url}"))
    );

    let client = http2_client();
    for round in 1..=3 {
        if round == 3 {
            tokio::time::sleep(RESPONSE_TTL).await;
            println!("(waited {RESPONSE_TTL:?}: every response is past its TTL)");
        }
        let started = Instant::now();
        let mut requests = JoinSet::new();
        for index in 0..REQUESTS_PER_ROUND {
            let client = client.clone();
            let proxy = &proxies[(index / URLS) % proxies.len()];
            let uri = format!("http://{}/item/{}", proxy.addr(), index % URLS).parse()?;
            requests.spawn(async move { fetch(&client, uri).await });
        }
        let mut statuses = BTreeMap::new();
        let mut x_caches = BTreeMap::new();
        while let Some(joined) = requests.join_next().await {
            let response = joined??;
            *statuses.entry(response.status.as_u16()).or_insert(0) += 1;
            let x_cache = response.x_cache.unwrap_or_else(|| "-".to_owned());
            *x_caches.entry(x_cache).or_insert(0) += 1;
        }
        println!(
            "round {round}: {REQUESTS_PER_ROUND} concurrent GETs over {URLS} URLs in {:?}: \
             status {statuses:?}, x-cache {x_caches:?}; origin requests so far: {}",
            started.elapsed(),
            origin.requests()
        );
    }
    for proxy in &proxies {
        while proxy.cache().loads_in_flight() > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    println!(
        "after the background refreshes: origin requests {}",
        origin.requests()
    );
    for proxy in &proxies {
        println!(
            "proxy http://{}: peak requests in flight {}, loads in flight now {}, cache stats {:?}",
            proxy.addr(),
            proxy.peak_requests_in_flight(),
            proxy.cache().loads_in_flight(),
            proxy.cache().stats()
        );
    }
    Ok(())
}

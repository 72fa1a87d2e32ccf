//! The proxy under real concurrent HTTP load, on loopback.
//!
//! Sockets: `ulimit -n` is 20,000 on the machine this was written on, and 10,000 concurrent
//! HTTP/1.1 requests would need 10,000 client sockets plus 10,000 proxy-side sockets. So the
//! 10,000-request test sends its requests as HTTP/2 streams, 1,250 on each of 8 connections, all in
//! flight at once (the proxy allows 4,096 streams per connection); the origin holds its answers
//! until the proxy is handling all 10,000 at the same moment. The HTTP/1.1 test runs the same 10,000 requests through a
//! keep-alive pool capped at 1,000 sockets.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use hyper::client::conn::http1;
use hyper::{Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use readthrough_example_tokio_proxy::{
    CachedResponse, ClientResponse, HttpClient, Origin, OriginConfig, Proxy, ProxyConfig, fetch,
    http1_client, http2_client,
};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::timeout;

const REQUESTS: usize = 10_000;
const URLS: usize = 100;
const HTTP2_CONNECTIONS: usize = 8;
const HTTP1_SOCKETS: usize = 1_000;
/// Bounds every wait in these tests: far above what they need, far below a hang.
const PATIENCE: Duration = Duration::from_secs(60);

fn uri(proxy: &Proxy, path_and_query: &str) -> Uri {
    format!("http://{}{path_and_query}", proxy.addr())
        .parse()
        .expect("a loopback address and an absolute path form a valid URI")
}

fn item_path(request_index: usize) -> String {
    format!("/item/{}", request_index % URLS)
}

async fn started_pair(origin_config: OriginConfig) -> (Origin, Proxy) {
    let origin = Origin::start(origin_config).await.expect("origin starts");
    let proxy = Proxy::start(ProxyConfig::new(origin.addr()))
        .await
        .expect("proxy starts");
    (origin, proxy)
}

/// Collects every response and checks each one against the origin's body for its URL.
async fn tally(mut requests: JoinSet<(String, ClientResponse)>) -> HashMap<String, usize> {
    let mut by_x_cache = HashMap::new();
    while let Some(joined) = timeout(PATIENCE, requests.join_next())
        .await
        .expect("all requests finish in time")
    {
        let (path, response) = joined.expect("request task does not panic");
        assert_eq!(response.status, StatusCode::OK, "{path}");
        assert_eq!(response.body, format!("origin 200 for {path}\n"));
        let x_cache = response.x_cache.expect("the proxy sets x-cache");
        *by_x_cache.entry(x_cache).or_insert(0) += 1;
    }
    by_x_cache
}

fn assert_each_url_loaded_once(origin: &Origin, by_x_cache: &HashMap<String, usize>) {
    assert!(
        origin.requests() <= URLS,
        "origin saw {}",
        origin.requests()
    );
    for url in 0..URLS {
        assert_eq!(origin.requests_for(&item_path(url)), 1, "/item/{url}");
    }
    assert_eq!(by_x_cache.get("MISS"), Some(&URLS), "{by_x_cache:?}");
    assert_eq!(by_x_cache.values().sum::<usize>(), REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_concurrent_http2_requests_reach_the_origin_once_per_url() {
    let (origin, proxy) = started_pair(OriginConfig::default()).await;
    // Holding the origin's answers keeps every request in flight until all 10,000 have arrived.
    origin.pause();
    let clients: Vec<HttpClient> = (0..HTTP2_CONNECTIONS).map(|_| http2_client()).collect();
    let mut requests = JoinSet::new();
    for index in 0..REQUESTS {
        let client = clients[index % HTTP2_CONNECTIONS].clone();
        let path = item_path(index);
        let uri = uri(&proxy, &path);
        requests.spawn(async move {
            let response = fetch(&client, uri).await.expect("proxy answers");
            (path, response)
        });
    }
    wait_until("all requests are in flight at the proxy", || {
        proxy.requests_in_flight() == REQUESTS
    })
    .await;
    wait_until("one load per URL reached the origin", || {
        origin.requests() == URLS
    })
    .await;
    assert_eq!(proxy.cache().loads_in_flight(), URLS);
    origin.resume();
    let by_x_cache = tally(requests).await;

    assert_each_url_loaded_once(&origin, &by_x_cache);
    assert_eq!(
        by_x_cache.get("LOCK-HIT"),
        Some(&(REQUESTS - URLS)),
        "every request but the leaders waited for a leader: {by_x_cache:?}"
    );
    assert_eq!(proxy.peak_requests_in_flight(), REQUESTS);
    assert_eq!(proxy.cache().loads_in_flight(), 0);
    println!(
        "HTTP/2: origin requests: {}, peak requests in flight at the proxy: {}, x-cache: {by_x_cache:?}",
        origin.requests(),
        proxy.peak_requests_in_flight()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_requests_over_a_keep_alive_http1_pool_reach_the_origin_once_per_url() {
    let (origin, proxy) = started_pair(OriginConfig::default()).await;
    origin.pause();
    let client = http1_client(HTTP1_SOCKETS);
    let sockets = Arc::new(Semaphore::new(HTTP1_SOCKETS));
    let mut requests = JoinSet::new();
    for index in 0..REQUESTS {
        let client = client.clone();
        let sockets = Arc::clone(&sockets);
        let path = item_path(index);
        let uri = uri(&proxy, &path);
        requests.spawn(async move {
            let _socket = sockets.acquire_owned().await.expect("never closed");
            let response = fetch(&client, uri).await.expect("proxy answers");
            (path, response)
        });
    }
    wait_until(
        "every socket carries a request in flight at the proxy",
        || proxy.requests_in_flight() == HTTP1_SOCKETS,
    )
    .await;
    wait_until("one load per URL reached the origin", || {
        origin.requests() == URLS
    })
    .await;
    origin.resume();
    let by_x_cache = tally(requests).await;

    assert_each_url_loaded_once(&origin, &by_x_cache);
    assert!(
        by_x_cache.get("LOCK-HIT").copied().unwrap_or(0) >= HTTP1_SOCKETS - URLS,
        "{by_x_cache:?}"
    );
    assert_eq!(proxy.cache().loads_in_flight(), 0);
    println!(
        "HTTP/1.1: origin requests: {}, peak requests in flight at the proxy: {}, x-cache: {by_x_cache:?}",
        origin.requests(),
        proxy.peak_requests_in_flight()
    );
}

/// Sends `GET path` on a connection of its own and waits for the answer; aborting the task that
/// runs this closes the connection mid-request.
async fn request_on_own_connection(proxy_addr: std::net::SocketAddr, path: &str) {
    let stream = TcpStream::connect(proxy_addr).await.expect("connects");
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    let request = Request::get(path)
        .header("host", proxy_addr.to_string())
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .expect("valid request");
    tokio::select! {
        _ = connection => {}
        _ = sender.send_request(request) => {}
    }
}

async fn wait_until(what: &str, condition: impl Fn() -> bool) {
    timeout(PATIENCE, async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting until {what}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_dropping_its_connection_mid_load_does_not_stall_the_others() {
    const SLOW_PATH: &str = "/slow";
    const WAITERS: usize = 50;
    let slow_delay = Duration::from_millis(500);
    let (origin, proxy) =
        started_pair(OriginConfig::default().slow_path(SLOW_PATH, slow_delay)).await;

    let proxy_addr = proxy.addr();
    let leader =
        tokio::spawn(async move { request_on_own_connection(proxy_addr, SLOW_PATH).await });
    wait_until("the leader's load reaches the origin", || {
        origin.requests_for(SLOW_PATH) == 1
    })
    .await;

    let client = http2_client();
    let mut waiters = JoinSet::new();
    for _ in 0..WAITERS {
        let client = client.clone();
        let uri = uri(&proxy, SLOW_PATH);
        waiters.spawn(async move {
            let response = fetch(&client, uri).await.expect("proxy answers");
            (SLOW_PATH.to_owned(), response)
        });
    }
    wait_until("every waiter reached the proxy", || {
        proxy.requests_received() == 1 + WAITERS
    })
    .await;
    // Lets the waiters' handlers get from "received" to waiting on the leader's load.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(origin.requests_for(SLOW_PATH), 1, "the waiters coalesced");

    leader.abort();
    let leader_outcome = leader.await;
    assert!(leader_outcome.is_err_and(|error| error.is_cancelled()));

    let started = tokio::time::Instant::now();
    let by_x_cache = timeout(slow_delay * 4, tally(waiters))
        .await
        .expect("waiters finish soon after the leader went away");
    println!(
        "waiters finished {:?} after the leader's connection was dropped: {by_x_cache:?}",
        started.elapsed()
    );

    assert_eq!(
        origin.requests_for(SLOW_PATH),
        2,
        "the dropped leader's load was abandoned and exactly one waiter loaded again"
    );
    assert_eq!(by_x_cache.get("MISS"), Some(&1), "{by_x_cache:?}");
    assert_eq!(
        by_x_cache.get("LOCK-HIT"),
        Some(&(WAITERS - 1)),
        "{by_x_cache:?}"
    );
    assert_eq!(proxy.cache().loads_in_flight(), 0);

    let again = fetch(&client, uri(&proxy, SLOW_PATH))
        .await
        .expect("answers");
    assert_eq!(again.x_cache.as_deref(), Some("HIT"));
    assert_eq!(origin.requests_for(SLOW_PATH), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_statuses_are_cached_and_other_methods_bypass_the_cache() {
    let (origin, proxy) = started_pair(OriginConfig {
        response_delay: Duration::ZERO,
        ..OriginConfig::default()
    })
    .await;
    let client = http1_client(4);

    let first = fetch(&client, uri(&proxy, "/not-found/x"))
        .await
        .expect("answers");
    let second = fetch(&client, uri(&proxy, "/not-found/x"))
        .await
        .expect("answers");
    assert_eq!(first.status, StatusCode::NOT_FOUND);
    assert_eq!(first.x_cache.as_deref(), Some("MISS"));
    assert_eq!(second.status, StatusCode::NOT_FOUND);
    assert_eq!(second.x_cache.as_deref(), Some("HIT"));
    assert_eq!(second.body, first.body);
    assert_eq!(origin.requests_for("/not-found/x"), 1);

    for _ in 0..2 {
        let mut post = Request::post(uri(&proxy, "/submit"))
            .body(post_body())
            .expect("valid request");
        post.headers_mut()
            .insert("content-type", "text/plain".parse().expect("valid header"));
        let response = client.request(post).await.expect("answers");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response
                .headers()
                .get("x-cache")
                .map(|value| value.as_bytes()),
            Some(&b"BYPASS"[..])
        );
    }
    assert_eq!(origin.requests_for("/submit"), 2);
    assert_eq!(proxy.cache().loads_in_flight(), 0);
}

fn post_body() -> http_body_util::combinators::BoxBody<bytes::Bytes, hyper::Error> {
    use http_body_util::BodyExt;
    http_body_util::Full::new(bytes::Bytes::from_static(b"payload"))
        .map_err(|never| match never {})
        .boxed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_responses_are_served_stale_while_one_request_refreshes_them() {
    const CLIENTS: usize = 20;
    let ttl = Duration::from_millis(200);
    let origin = Origin::start(OriginConfig {
        response_delay: Duration::ZERO,
        ..OriginConfig::default()
    })
    .await
    .expect("origin starts");
    let proxy = Proxy::start(ProxyConfig {
        ttl,
        stale_window: Duration::from_secs(60),
        ..ProxyConfig::new(origin.addr())
    })
    .await
    .expect("proxy starts");
    let client = http2_client();
    let page = uri(&proxy, "/page");

    let first = fetch(&client, page.clone()).await.expect("answers");
    assert_eq!(first.x_cache.as_deref(), Some("MISS"));
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    // Held refreshes show that stale answers do not wait for the origin.
    origin.pause();

    let mut stale_requests = JoinSet::new();
    for _ in 0..CLIENTS {
        let client = client.clone();
        let page = page.clone();
        stale_requests.spawn(async move {
            let response = fetch(&client, page).await.expect("answers");
            ("/page".to_owned(), response)
        });
    }
    let by_x_cache = tally(stale_requests).await;
    assert_eq!(by_x_cache.get("STALE"), Some(&CLIENTS), "{by_x_cache:?}");
    wait_until("the refresh reaches the origin", || {
        origin.requests_for("/page") == 2
    })
    .await;
    assert_eq!(proxy.cache().loads_in_flight(), 1, "one refresh for all");

    origin.resume();
    wait_until("the refresh is stored", || {
        proxy.cache().loads_in_flight() == 0
    })
    .await;
    let refreshed = fetch(&client, page).await.expect("answers");
    assert_eq!(refreshed.x_cache.as_deref(), Some("HIT"));
    assert_eq!(refreshed.body, first.body);
    assert_eq!(origin.requests_for("/page"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_on_expired_urls_refreshes_each_url_once_per_ttl() {
    const STALE_URLS: usize = 10;
    const STORM: usize = 1_000;
    let ttl = Duration::from_millis(800);
    let origin = Origin::start(OriginConfig {
        response_delay: Duration::ZERO,
        ..OriginConfig::default()
    })
    .await
    .expect("origin starts");
    let proxy = Proxy::start(ProxyConfig {
        ttl,
        stale_window: Duration::from_secs(60),
        ..ProxyConfig::new(origin.addr())
    })
    .await
    .expect("proxy starts");
    let client = http2_client();
    for url in 0..STALE_URLS {
        fetch(&client, uri(&proxy, &item_path(url)))
            .await
            .expect("answers");
    }
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;

    // With an instant origin, refreshes finish while other stale readers' background tasks are
    // still starting: those must find the fresh value instead of refreshing again. (A background
    // refresh that ignored freshness failed this check in 3 of 4 runs.)
    let started = tokio::time::Instant::now();
    let mut storm = JoinSet::new();
    for index in 0..STORM {
        let client = client.clone();
        let path = item_path(index % STALE_URLS);
        let uri = uri(&proxy, &path);
        storm.spawn(async move {
            let response = fetch(&client, uri).await.expect("answers");
            (path, response)
        });
    }
    let by_x_cache = tally(storm).await;
    let storm_time = started.elapsed();
    wait_until("the refreshes are stored", || {
        proxy.cache().loads_in_flight() == 0
    })
    .await;

    assert!(by_x_cache.contains_key("STALE"), "{by_x_cache:?}");
    // A refreshed response stays fresh for a TTL, so a storm shorter than the TTL (the usual case)
    // allows exactly one refresh per URL; a slower machine may see a refreshed response expire.
    let refreshes_allowed = 1 + (storm_time.as_millis() / ttl.as_millis()) as usize;
    for url in 0..STALE_URLS {
        let refreshes = origin.requests_for(&item_path(url)) - 1;
        assert!(
            (1..=refreshes_allowed).contains(&refreshes),
            "/item/{url}: {refreshes} refreshes in {storm_time:?} ({by_x_cache:?})"
        );
    }
    println!("storm of {STORM} over {STALE_URLS} expired URLs took {storm_time:?}: {by_x_cache:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_is_bounded_by_response_bytes() {
    const CAPACITY_BYTES: usize = 8 * 1024;
    let origin = Origin::start(OriginConfig {
        response_delay: Duration::ZERO,
        ..OriginConfig::default()
    })
    .await
    .expect("origin starts");
    let proxy = Proxy::start(ProxyConfig {
        capacity_bytes: CAPACITY_BYTES,
        ..ProxyConfig::new(origin.addr())
    })
    .await
    .expect("proxy starts");
    let client = http1_client(4);
    // What the pages weigh at least: key, fixed part and body (content types come on top).
    let mut pages_weigh = 0;
    for page in 0..500 {
        let path = format!("/page/{page}");
        let response = fetch(&client, uri(&proxy, &path)).await.expect("answers");
        assert_eq!(response.x_cache.as_deref(), Some("MISS"));
        pages_weigh += path.len() + std::mem::size_of::<CachedResponse>() + response.body.len();
        let held = proxy.cache().weight();
        assert!(held <= CAPACITY_BYTES, "{held} bytes held after {path}");
    }
    let stats = proxy.cache().stats();
    assert!(
        pages_weigh > 2 * CAPACITY_BYTES,
        "the pages outgrow the cache"
    );
    assert!(stats.evictions > 0 && stats.oversized == 0, "{stats:?}");
    assert!(
        proxy.cache().weight() > CAPACITY_BYTES / 2,
        "the cache fills up"
    );
}

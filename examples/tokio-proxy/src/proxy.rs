use std::convert::Infallible;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode, Uri};
use readthrough_core::Error;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::cache_header::{X_CACHE, cache_header_value};
use crate::cached_response::{CachedResponse, ResponseBytes};
use crate::client::{HttpClient, fetch, http1_client};
use crate::fleet::{FleetCache, ResponseCodec};
use crate::server::spawn_server;
use crate::upstream_error::UpstreamError;

/// The proxy's cache: origin responses keyed by path and query, on tokio's clock, bounded by
/// the bytes of the keys and responses it holds.
pub type ResponseCache = readthrough_core::Cache<
    String,
    CachedResponse,
    UpstreamError,
    readthrough_tokio::TokioTimer,
    readthrough_core::DefaultHashBuilder,
    readthrough_core::DefaultLock,
    readthrough_core::Weighted<ResponseBytes>,
>;

/// Where the proxy forwards to and how it caches.
#[derive(Clone, Debug)]
pub struct ProxyConfig {
    /// The origin server.
    pub origin: SocketAddr,
    /// Most bytes of responses (status, content type and body) and their keys kept at once. A
    /// response larger than a shard's share (by default one shard per 8 MiB, at most 64: 1/8 of
    /// the default 64 MiB) is served but not kept.
    pub capacity_bytes: usize,
    /// How long a cached response is served before the origin is asked again.
    pub ttl: Duration,
    /// How long past its TTL a response may still be served (`x-cache: STALE`) while one
    /// background request refreshes it; zero turns stale serving off.
    pub stale_window: Duration,
    /// Longest the proxy waits for the origin before answering 504.
    pub origin_timeout: Duration,
    /// Keep-alive connections to the origin kept open when idle.
    pub origin_idle_connections: usize,
    /// A Redis URL shared by several proxies: each keeps its own cache in front of it, and the
    /// fleet asks the origin once per URL (`x-cache: TIER-HIT` / `TIER-LOCK-HIT` for responses
    /// another proxy loaded). With Redis, expired responses are not served stale (the shared
    /// tier has no stale path yet). `None`: this proxy alone.
    pub redis: Option<String>,
    /// Longest a Redis call may take before the proxy goes on without Redis for that request
    /// (and, after a few in a row, for a back-off): the tier never makes the proxy less
    /// available than no tier.
    pub redis_call_timeout: Duration,
}

impl ProxyConfig {
    /// Defaults for a proxy in front of `origin`: 64 MiB of responses, fresh for 60 s and served
    /// stale for 30 s more while being refreshed, 10 s origin timeout.
    ///
    /// ```
    /// # use readthrough_example_tokio_proxy::ProxyConfig;
    /// let config = ProxyConfig::new(([127, 0, 0, 1], 8080).into());
    /// assert_eq!(config.capacity_bytes, 64 << 20);
    /// ```
    pub fn new(origin: SocketAddr) -> Self {
        Self {
            origin,
            capacity_bytes: 64 << 20,
            ttl: Duration::from_secs(60),
            stale_window: Duration::from_secs(30),
            origin_timeout: Duration::from_secs(10),
            origin_idle_connections: 128,
            redis: None,
            redis_call_timeout: Duration::from_millis(50),
        }
    }
}

/// The proxy's cache: its own, or its own in front of a Redis shared with other proxies.
enum Responses {
    Alone(Arc<ResponseCache>),
    Fleet(Arc<FleetCache>),
}

impl Responses {
    fn cache(&self) -> &ResponseCache {
        match self {
            Responses::Alone(cache) => cache,
            Responses::Fleet(fleet) => fleet.cache(),
        }
    }
}

struct ProxyState {
    origin: SocketAddr,
    client: HttpClient,
    cache: Responses,
    requests_received: AtomicUsize,
    requests_in_flight: AtomicUsize,
    peak_requests_in_flight: AtomicUsize,
}

/// Counts a request as in flight at the proxy until dropped, with the handler's future.
struct InFlight<'a>(&'a ProxyState);

impl<'a> InFlight<'a> {
    fn enter(state: &'a ProxyState) -> Self {
        state.requests_received.fetch_add(1, Ordering::Relaxed);
        let now_in_flight = state.requests_in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        state
            .peak_requests_in_flight
            .fetch_max(now_in_flight, Ordering::Relaxed);
        Self(state)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.requests_in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A caching reverse proxy on loopback. `GET` goes through the cache; other methods are forwarded
/// uncached (`x-cache: BYPASS`). The server stops when the `Proxy` is dropped.
pub struct Proxy {
    addr: SocketAddr,
    state: Arc<ProxyState>,
    server: JoinHandle<()>,
}

impl Proxy {
    /// Binds an ephemeral port on 127.0.0.1 and starts serving.
    ///
    /// ```
    /// # use readthrough_example_tokio_proxy::{fetch, http1_client, Origin, OriginConfig, Proxy, ProxyConfig};
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let origin = Origin::start(OriginConfig::default()).await?;
    /// let proxy = Proxy::start(ProxyConfig::new(origin.addr())).await?;
    /// let client = http1_client(4);
    /// let uri: hyper::Uri = format!("http://{}/page", proxy.addr()).parse()?;
    /// assert_eq!(fetch(&client, uri.clone()).await?.x_cache.as_deref(), Some("MISS"));
    /// assert_eq!(fetch(&client, uri).await?.x_cache.as_deref(), Some("HIT"));
    /// assert_eq!(origin.requests(), 1);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn start(config: ProxyConfig) -> io::Result<Self> {
        let invalid = |error: &dyn std::fmt::Display| {
            io::Error::new(io::ErrorKind::InvalidInput, error.to_string())
        };
        let builder = readthrough_tokio::builder()
            .capacity(config.capacity_bytes)
            .weigher(ResponseBytes)
            .ttl(config.ttl)
            .stale_window(config.stale_window)
            .load_timeout(config.origin_timeout);
        let cache = match &config.redis {
            None => Responses::Alone(Arc::new(builder.build().map_err(|error| invalid(&error))?)),
            Some(url) => {
                // A shared tier needs a bound on waiting for another proxy's load.
                let cache: ResponseCache = builder
                    .lock_timeout(config.origin_timeout)
                    .build()
                    .map_err(|error| invalid(&error))?;
                let tier = readthrough_redis::RedisTier::connect(
                    url.as_str(),
                    readthrough_redis::RedisTierConfig::new()
                        .prefix("readthrough-proxy:responses")
                        .call_timeout(config.redis_call_timeout),
                    ResponseCodec,
                    readthrough_tokio::TokioTimer::new(),
                )
                .await
                .map_err(|error| {
                    io::Error::new(io::ErrorKind::ConnectionRefused, error.to_string())
                })?;
                let fleet = Arc::new(
                    readthrough_core::Tiered::new(cache, tier.clone())
                        .map_err(|error| invalid(&error))?,
                );
                tier.deliver_invalidations_to(&fleet);
                Responses::Fleet(fleet)
            }
        };
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(ProxyState {
            origin: config.origin,
            client: http1_client(config.origin_idle_connections),
            cache,
            requests_received: AtomicUsize::new(0),
            requests_in_flight: AtomicUsize::new(0),
            peak_requests_in_flight: AtomicUsize::new(0),
        });
        let handler_state = Arc::clone(&state);
        let server = spawn_server(listener, move |request| {
            handle(Arc::clone(&handler_state), request)
        });
        Ok(Self {
            addr,
            state,
            server,
        })
    }

    /// The address the proxy listens on.
    ///
    /// ```
    /// # use readthrough_example_tokio_proxy::{Proxy, ProxyConfig};
    /// # #[tokio::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let proxy = Proxy::start(ProxyConfig::new(([127, 0, 0, 1], 9).into())).await?;
    /// assert!(proxy.addr().ip().is_loopback());
    /// # Ok(())
    /// # }
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The response cache, for its statistics and its in-flight loads.
    ///
    /// ```
    /// # use readthrough_example_tokio_proxy::{Proxy, ProxyConfig};
    /// # #[tokio::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let proxy = Proxy::start(ProxyConfig::new(([127, 0, 0, 1], 9).into())).await?;
    /// assert_eq!(proxy.cache().loads_in_flight(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn cache(&self) -> &ResponseCache {
        self.state.cache.cache()
    }

    /// The shared tier's counters (and its breaker's state), when the proxy has one.
    ///
    /// ```
    /// # use readthrough_example_tokio_proxy::{Proxy, ProxyConfig};
    /// # #[tokio::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let proxy = Proxy::start(ProxyConfig::new(([127, 0, 0, 1], 9).into())).await?;
    /// assert!(proxy.tier_stats().is_none());
    /// # Ok(())
    /// # }
    /// ```
    pub fn tier_stats(&self) -> Option<readthrough_redis::TierStats> {
        match &self.state.cache {
            Responses::Alone(_) => None,
            Responses::Fleet(fleet) => Some(fleet.tier().stats()),
        }
    }

    /// Requests the proxy has started handling, whatever became of them.
    ///
    /// ```
    /// # use readthrough_example_tokio_proxy::{Proxy, ProxyConfig};
    /// # #[tokio::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let proxy = Proxy::start(ProxyConfig::new(([127, 0, 0, 1], 9).into())).await?;
    /// assert_eq!(proxy.requests_received(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn requests_received(&self) -> usize {
        self.state.requests_received.load(Ordering::Relaxed)
    }

    /// Requests the proxy is handling right now.
    ///
    /// ```
    /// # use readthrough_example_tokio_proxy::{Proxy, ProxyConfig};
    /// # #[tokio::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let proxy = Proxy::start(ProxyConfig::new(([127, 0, 0, 1], 9).into())).await?;
    /// assert_eq!(proxy.requests_in_flight(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn requests_in_flight(&self) -> usize {
        self.state.requests_in_flight.load(Ordering::Relaxed)
    }

    /// The most requests the proxy was handling at the same moment so far.
    ///
    /// ```
    /// # use readthrough_example_tokio_proxy::{Proxy, ProxyConfig};
    /// # #[tokio::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let proxy = Proxy::start(ProxyConfig::new(([127, 0, 0, 1], 9).into())).await?;
    /// assert_eq!(proxy.peak_requests_in_flight(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn peak_requests_in_flight(&self) -> usize {
        self.state.peak_requests_in_flight.load(Ordering::Relaxed)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn handle(
    state: Arc<ProxyState>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let _in_flight = InFlight::enter(&state);
    let path_and_query = request
        .uri()
        .path_and_query()
        .map_or("/", |path_and_query| path_and_query.as_str())
        .to_owned();
    let origin_uri = match origin_uri(state.origin, &path_and_query) {
        Ok(uri) => uri,
        Err(_) => {
            return Ok(plain_response(
                StatusCode::BAD_REQUEST,
                "bad request target",
            ));
        }
    };
    if request.method() != Method::GET {
        return Ok(forward_uncached(&state.client, origin_uri, request).await);
    }
    let client = state.client.clone();
    let load = move |_: &String| {
        let client = client.clone();
        let uri = origin_uri.clone();
        async move { load_from_origin(&client, uri).await }
    };
    let answer = match &state.cache {
        Responses::Alone(cache) => {
            cache
                .get_or_revalidate_in_background(&path_and_query, load)
                .await
        }
        Responses::Fleet(fleet) => fleet.get_or_load(&path_and_query, load).await,
    };
    Ok(match answer {
        Ok(answer) => cached_response(answer.value, cache_header_value(answer.status)),
        Err(Error::LoadTimeout) => plain_response(StatusCode::GATEWAY_TIMEOUT, "origin timed out"),
        Err(error) => plain_response(StatusCode::BAD_GATEWAY, &error.to_string()),
    })
}

fn origin_uri(origin: SocketAddr, path_and_query: &str) -> Result<Uri, hyper::http::Error> {
    Uri::builder()
        .scheme("http")
        .authority(origin.to_string())
        .path_and_query(path_and_query)
        .build()
}

async fn load_from_origin(client: &HttpClient, uri: Uri) -> Result<CachedResponse, UpstreamError> {
    let response = fetch(client, uri).await?;
    Ok(CachedResponse {
        status: response.status,
        content_type: response.content_type,
        body: response.body,
    })
}

async fn forward_uncached(
    client: &HttpClient,
    origin_uri: Uri,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let (mut parts, body) = request.into_parts();
    parts.uri = origin_uri;
    let upstream = Request::from_parts(parts, body.boxed());
    let response = match client.request(upstream).await {
        Ok(response) => response,
        Err(error) => return plain_response(StatusCode::BAD_GATEWAY, &error.to_string()),
    };
    let (mut parts, body) = response.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => return plain_response(StatusCode::BAD_GATEWAY, &error.to_string()),
    };
    parts
        .headers
        .insert(X_CACHE, HeaderValue::from_static("BYPASS"));
    Response::from_parts(parts, Full::new(body))
}

fn cached_response(cached: CachedResponse, x_cache: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(cached.body));
    *response.status_mut() = cached.status;
    if let Some(content_type) = cached.content_type {
        response.headers_mut().insert(CONTENT_TYPE, content_type);
    }
    response
        .headers_mut()
        .insert(X_CACHE, HeaderValue::from_static(x_cache));
    response
}

fn plain_response(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(format!("{message}\n"))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

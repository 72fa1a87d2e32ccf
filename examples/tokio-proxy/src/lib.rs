//! A caching HTTP reverse proxy built on hyper and tokio, with a slow origin server to put behind it.
//!
//! The proxy answers `GET` requests from a [`readthrough_tokio`] cache keyed by path and query. On a
//! miss exactly one request per URL goes to the origin; every other client asking for that URL at the
//! same time waits for that one response. If the client whose request is loading a URL goes away, its
//! request is dropped with it and one of the waiting clients loads the URL instead, so nobody stalls.
//! Each response carries an `x-cache` header saying how it was served (`MISS`, `HIT`, `LOCK-HIT`, ...).
//! An expired response is served `STALE` within the stale window while one background request
//! refreshes it.
//!
//! It demonstrates the cache, not HTTP caching rules: it does not read `Cache-Control`, `Vary` or
//! cookies, and caches every `GET` response (error statuses included) for the configured TTL.
//!
//! ```no_run
//! use readthrough_example_tokio_proxy::{Origin, OriginConfig, Proxy, ProxyConfig};
//! # #[tokio::main]
//! # async fn main() -> std::io::Result<()> {
//! let origin = Origin::start(OriginConfig::default()).await?;
//! let proxy = Proxy::start(ProxyConfig::new(origin.addr())).await?;
//! println!("proxy on http://{} in front of http://{}", proxy.addr(), origin.addr());
//! # Ok(())
//! # }
//! ```

mod cache_header;
mod cached_response;
mod client;
mod fleet;
mod origin;
mod proxy;
mod server;
mod upstream_error;

pub use cache_header::{X_CACHE, cache_header_value};
pub use cached_response::{CachedResponse, ResponseBytes};
pub use client::{ClientResponse, HttpClient, fetch, http1_client, http2_client};
pub use fleet::{FleetCache, ResponseCodec, ResponseTier};
pub use origin::{Origin, OriginConfig};
pub use proxy::{Proxy, ProxyConfig, ResponseCache};
pub use upstream_error::UpstreamError;

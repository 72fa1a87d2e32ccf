use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Request, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::cache_header::X_CACHE;
use crate::upstream_error::UpstreamError;

/// A pooled plain-HTTP client (no TLS), used by the proxy towards the origin and by load generators
/// towards the proxy.
pub type HttpClient = Client<HttpConnector, BoxBody<Bytes, hyper::Error>>;

/// An HTTP/1.1 client keeping up to `max_idle_per_host` keep-alive connections per host.
///
/// It opens a new connection whenever no idle one is free, so the number of requests in flight at
/// once is the number of sockets it holds.
///
/// ```
/// let _client = readthrough_example_tokio_proxy::http1_client(64);
/// ```
pub fn http1_client(max_idle_per_host: usize) -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(max_idle_per_host)
        .build(connector)
}

/// An HTTP/2 client (prior knowledge, no TLS): all requests to a host share one connection as
/// concurrent streams, so thousands of requests can be in flight on one socket.
///
/// ```
/// let _client = readthrough_example_tokio_proxy::http2_client();
/// ```
pub fn http2_client() -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build(connector)
}

/// A response read to its end, with the proxy's `x-cache` header when present.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientResponse {
    /// The status code.
    pub status: StatusCode,
    /// The `content-type` header, when present.
    pub content_type: Option<HeaderValue>,
    /// The `x-cache` header, when the response came from the proxy.
    pub x_cache: Option<String>,
    /// The whole body.
    pub body: Bytes,
}

/// Sends `GET uri` and reads the whole response.
///
/// ```
/// # use readthrough_example_tokio_proxy::{fetch, http1_client, Origin, OriginConfig};
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let origin = Origin::start(OriginConfig::default()).await?;
/// let uri = format!("http://{}/hello", origin.addr()).parse()?;
/// let response = fetch(&http1_client(1), uri).await?;
/// assert_eq!(response.status, 200);
/// assert_eq!(response.body, "origin 200 for /hello\n");
/// # Ok(())
/// # }
/// ```
pub async fn fetch(client: &HttpClient, uri: Uri) -> Result<ClientResponse, UpstreamError> {
    let mut request = Request::new(empty_body());
    *request.uri_mut() = uri;
    let response = client
        .request(request)
        .await
        .map_err(UpstreamError::Request)?;
    let status = response.status();
    let content_type = response.headers().get(CONTENT_TYPE).cloned();
    let x_cache = response
        .headers()
        .get(X_CACHE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(UpstreamError::Body)?
        .to_bytes();
    Ok(ClientResponse {
        status,
        content_type,
        x_cache,
        body,
    })
}

pub(crate) fn empty_body() -> BoxBody<Bytes, hyper::Error> {
    Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed()
}

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::server::spawn_server;

/// How the origin behaves: how long it takes to answer, and which paths answer slower.
#[derive(Clone, Debug)]
pub struct OriginConfig {
    /// Time every response takes, standing in for the work a real backend does.
    pub response_delay: Duration,
    /// Paths (exact match on path and query) that take this much longer instead.
    pub slow_paths: Vec<(String, Duration)>,
}

impl Default for OriginConfig {
    fn default() -> Self {
        Self {
            response_delay: Duration::from_millis(50),
            slow_paths: Vec::new(),
        }
    }
}

impl OriginConfig {
    /// Makes `path_and_query` answer after `delay` instead of the usual response delay.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use readthrough_example_tokio_proxy::OriginConfig;
    /// let config = OriginConfig::default().slow_path("/report", Duration::from_secs(2));
    /// assert_eq!(config.delay_for("/report"), Duration::from_secs(2));
    /// assert_eq!(config.delay_for("/other"), config.response_delay);
    /// ```
    pub fn slow_path(mut self, path_and_query: &str, delay: Duration) -> Self {
        self.slow_paths.push((path_and_query.to_owned(), delay));
        self
    }

    /// The time the origin takes to answer `path_and_query`.
    ///
    /// ```
    /// # use readthrough_example_tokio_proxy::OriginConfig;
    /// let config = OriginConfig::default();
    /// assert_eq!(config.delay_for("/anything"), config.response_delay);
    /// ```
    pub fn delay_for(&self, path_and_query: &str) -> Duration {
        self.slow_paths
            .iter()
            .find(|(slow, _)| slow == path_and_query)
            .map_or(self.response_delay, |(_, delay)| *delay)
    }
}

/// Requests the origin has received, counted when they arrive (before the response delay).
#[derive(Default)]
struct RequestLog {
    per_path: Mutex<HashMap<String, usize>>,
}

impl RequestLog {
    fn record(&self, path_and_query: &str) {
        let mut per_path = self.per_path.lock().unwrap_or_else(PoisonError::into_inner);
        *per_path.entry(path_and_query.to_owned()).or_default() += 1;
    }

    fn count_for(&self, path_and_query: &str) -> usize {
        let per_path = self.per_path.lock().unwrap_or_else(PoisonError::into_inner);
        per_path.get(path_and_query).copied().unwrap_or(0)
    }

    fn total(&self) -> usize {
        let per_path = self.per_path.lock().unwrap_or_else(PoisonError::into_inner);
        per_path.values().sum()
    }
}

/// A slow HTTP origin on loopback that counts the requests it receives.
///
/// `GET /not-found...` answers 404; any other path answers 200 with a body naming the path. It
/// can hold its answers ([`Origin::pause`]) so that a test gets every request in flight first.
/// The server stops when the `Origin` is dropped.
pub struct Origin {
    addr: SocketAddr,
    log: Arc<RequestLog>,
    paused: Arc<watch::Sender<bool>>,
    server: JoinHandle<()>,
}

impl Origin {
    /// Binds an ephemeral port on 127.0.0.1 and starts serving.
    ///
    /// ```
    /// # use readthrough_example_tokio_proxy::{Origin, OriginConfig};
    /// # #[tokio::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let origin = Origin::start(OriginConfig::default()).await?;
    /// assert!(origin.addr().ip().is_loopback());
    /// assert_eq!(origin.requests(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn start(config: OriginConfig) -> io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let log = Arc::new(RequestLog::default());
        let config = Arc::new(config);
        let paused = Arc::new(watch::Sender::new(false));
        let handler_log = Arc::clone(&log);
        let handler_paused = Arc::clone(&paused);
        let server = spawn_server(listener, move |request| {
            respond(
                Arc::clone(&handler_log),
                Arc::clone(&config),
                handler_paused.subscribe(),
                request,
            )
        });
        Ok(Self {
            addr,
            log,
            paused,
            server,
        })
    }

    /// The address the origin listens on.
    ///
    /// ```
    /// # use readthrough_example_tokio_proxy::{Origin, OriginConfig};
    /// # #[tokio::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let origin = Origin::start(OriginConfig::default()).await?;
    /// assert_ne!(origin.addr().port(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// All requests received so far.
    ///
    /// ```
    /// # use readthrough_example_tokio_proxy::{Origin, OriginConfig};
    /// # #[tokio::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let origin = Origin::start(OriginConfig::default()).await?;
    /// assert_eq!(origin.requests(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn requests(&self) -> usize {
        self.log.total()
    }

    /// Requests received so far for one path and query.
    ///
    /// ```
    /// # use readthrough_example_tokio_proxy::{Origin, OriginConfig};
    /// # #[tokio::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let origin = Origin::start(OriginConfig::default()).await?;
    /// assert_eq!(origin.requests_for("/a"), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn requests_for(&self, path_and_query: &str) -> usize {
        self.log.count_for(path_and_query)
    }

    /// Holds every response (requests are still received and counted) until [`Origin::resume`]:
    /// lets a test get all its requests in flight before any is answered.
    ///
    /// ```
    /// # use readthrough_example_tokio_proxy::{Origin, OriginConfig};
    /// # #[tokio::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let origin = Origin::start(OriginConfig::default()).await?;
    /// origin.pause();
    /// assert!(origin.is_paused());
    /// origin.resume();
    /// assert!(!origin.is_paused());
    /// # Ok(())
    /// # }
    /// ```
    pub fn pause(&self) {
        self.paused.send_replace(true);
    }

    /// Lets held and new responses go out.
    ///
    /// ```
    /// # use readthrough_example_tokio_proxy::{Origin, OriginConfig};
    /// # #[tokio::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let origin = Origin::start(OriginConfig::default()).await?;
    /// origin.resume();
    /// assert!(!origin.is_paused());
    /// # Ok(())
    /// # }
    /// ```
    pub fn resume(&self) {
        self.paused.send_replace(false);
    }

    /// Whether responses are being held.
    ///
    /// ```
    /// # use readthrough_example_tokio_proxy::{Origin, OriginConfig};
    /// # #[tokio::main]
    /// # async fn main() -> std::io::Result<()> {
    /// let origin = Origin::start(OriginConfig::default()).await?;
    /// assert!(!origin.is_paused());
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_paused(&self) -> bool {
        *self.paused.borrow()
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn respond(
    log: Arc<RequestLog>,
    config: Arc<OriginConfig>,
    mut paused: watch::Receiver<bool>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path_and_query = request
        .uri()
        .path_and_query()
        .map_or("/", |path_and_query| path_and_query.as_str())
        .to_owned();
    log.record(&path_and_query);
    tokio::time::sleep(config.delay_for(&path_and_query)).await;
    // The sender lives in the Origin; once it is dropped the server is being torn down anyway.
    let _ = paused.wait_for(|paused| !paused).await;
    let status = if request.uri().path().starts_with("/not-found") {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::OK
    };
    let mut response = Response::new(Full::new(Bytes::from(format!(
        "origin {} for {path_and_query}\n",
        status.as_u16()
    ))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(response)
}

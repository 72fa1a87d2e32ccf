use std::convert::Infallible;
use std::future::Future;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// HTTP/2 streams one client connection may keep open at once. High enough that a load test's
/// thousands of concurrent requests are all in flight over a few connections.
const MAX_CONCURRENT_STREAMS: u32 = 4096;

/// Serves HTTP/1.1 and HTTP/2 (prior knowledge, no TLS) on `listener` until the returned task is
/// aborted; aborting it also ends every connection it accepted.
pub(crate) fn spawn_server<H, F>(listener: TcpListener, handler: H) -> JoinHandle<()>
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http2()
        .max_concurrent_streams(MAX_CONCURRENT_STREAMS);
    tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((stream, _peer)) = accepted else { continue };
                    let _ = stream.set_nodelay(true);
                    let builder = builder.clone();
                    let service = service_fn(handler.clone());
                    connections.spawn(async move {
                        // A connection ending with an error (client reset, protocol error) concerns
                        // only that client.
                        let _ = builder.serve_connection(TokioIo::new(stream), service).await;
                    });
                }
                Some(_finished) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
    })
}

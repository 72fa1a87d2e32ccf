use bytes::Bytes;
use hyper::StatusCode;
use hyper::header::HeaderValue;

/// What the proxy keeps of an origin response: cheap to clone, since every hit clones it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedResponse {
    /// The origin's status code (error statuses are cached like any other answer).
    pub status: StatusCode,
    /// The origin's `content-type`, when it sent one.
    pub content_type: Option<HeaderValue>,
    /// The whole body.
    pub body: Bytes,
}

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

/// Bytes of the fixed part of a kept response (status, header slot, body handle): what a
/// response weighs besides its content type and body.
const RESPONSE_OVERHEAD: usize = std::mem::size_of::<CachedResponse>();

impl CachedResponse {
    /// The memory this response holds: its fixed part, its content type and its body.
    ///
    /// ```
    /// # use readthrough_example_tokio_proxy::CachedResponse;
    /// let response = CachedResponse {
    ///     status: hyper::StatusCode::OK,
    ///     content_type: None,
    ///     body: bytes::Bytes::from_static(b"hello"),
    /// };
    /// assert_eq!(response.bytes(), std::mem::size_of::<CachedResponse>() + 5);
    /// ```
    pub fn bytes(&self) -> usize {
        let content_type = self.content_type.as_ref().map_or(0, |value| value.len());
        RESPONSE_OVERHEAD + content_type + self.body.len()
    }
}

/// Weighs a cached response by the bytes its key and the response hold, so that the cache's
/// capacity is a memory bound.
#[derive(Clone, Copy, Debug, Default)]
pub struct ResponseBytes;

impl readthrough_core::Weigher<String, CachedResponse> for ResponseBytes {
    fn weigh(&self, key: &String, response: &CachedResponse) -> usize {
        key.len() + response.bytes()
    }
}

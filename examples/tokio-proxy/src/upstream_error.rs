use core::fmt;

/// Why the proxy could not get a response from the origin.
#[derive(Debug)]
pub enum UpstreamError {
    /// The origin could not be reached or the request failed on the way.
    Request(hyper_util::client::legacy::Error),
    /// The origin answered but its body could not be read to the end.
    Body(hyper::Error),
}

impl fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Request(error) => write!(f, "request to origin failed: {error}"),
            Self::Body(error) => write!(f, "reading the origin's body failed: {error}"),
        }
    }
}

impl std::error::Error for UpstreamError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Request(error) => Some(error),
            Self::Body(error) => Some(error),
        }
    }
}

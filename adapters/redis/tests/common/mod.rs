//! What the tokio and smol test binaries share: the server helper and the test bodies, which
//! take the runtime's timer and so run unchanged on both.

#[cfg(feature = "cluster")]
pub mod cluster;
#[allow(dead_code, reason = "the smol test binary starts no processes")]
pub mod example;
pub mod fleet;
pub mod server;
pub mod serving;
pub mod suite;
#[cfg(any(feature = "tokio-rustls", feature = "smol-rustls"))]
pub mod tls;

/// The core's tests' helper, one copy for both.
#[path = "../../../../core/tests/common/join.rs"]
mod join;
pub use join::join_all;

//! The tier's settings, checked when it connects.

use core::fmt;
use core::time::Duration;

/// Settings of a [`RedisTier`](crate::RedisTier); the defaults suit a Redis on the same network.
///
/// ```
/// use std::time::Duration;
/// use readthrough_redis::RedisTierConfig;
///
/// let config = RedisTierConfig::new()
///     .prefix("myapp:users")
///     .call_timeout(Duration::from_millis(20))
///     .breaker(3, Duration::from_secs(2))
///     .max_value_bytes(64 * 1024);
/// assert_eq!(config.get_prefix(), "myapp:users");
/// ```
#[derive(Clone, Debug)]
pub struct RedisTierConfig {
    pub(crate) prefix: String,
    pub(crate) call_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) failures_to_open: u32,
    pub(crate) open_for: Duration,
    pub(crate) max_value_bytes: usize,
    /// Whether the connection and the calls run on an I/O thread of the tier's own.
    #[cfg(feature = "tokio")]
    pub(crate) io_thread: bool,
    /// PEM certificates that a `rediss://` server's chain must lead to, instead of the
    /// platform's trust store.
    #[cfg(any(feature = "tokio-rustls", feature = "smol-rustls"))]
    pub(crate) tls_roots: Option<Vec<u8>>,
}

impl Default for RedisTierConfig {
    fn default() -> Self {
        RedisTierConfig {
            prefix: "readthrough".to_owned(),
            call_timeout: Duration::from_millis(50),
            connect_timeout: Duration::from_secs(2),
            failures_to_open: 5,
            open_for: Duration::from_secs(1),
            max_value_bytes: 512 * 1024,
            #[cfg(feature = "tokio")]
            io_thread: false,
            #[cfg(any(feature = "tokio-rustls", feature = "smol-rustls"))]
            tls_roots: None,
        }
    }
}

impl RedisTierConfig {
    /// The defaults: prefix `readthrough`, 50 ms per call, 2 s to connect, the breaker opens
    /// after 5 consecutive failures for 1 s, values up to 512 KiB.
    ///
    /// ```
    /// let config = readthrough_redis::RedisTierConfig::new();
    /// assert_eq!(config.get_call_timeout(), std::time::Duration::from_millis(50));
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts every Redis key and the announcement channel, so that several caches (or versions
    /// of one cached type) share a server without seeing each other's entries. Must not contain
    /// `{` or `}`: those delimit the Redis Cluster hash tag that follows it.
    ///
    /// ```
    /// let config = readthrough_redis::RedisTierConfig::new().prefix("orders:v2");
    /// assert_eq!(config.get_prefix(), "orders:v2");
    /// ```
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The longest any single tier call may take; a slower call answers
    /// [`Unavailable::TimedOut`](readthrough_core::Unavailable::TimedOut) and the cache goes on
    /// without the tier. Keep it well below your loads' own latency.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let config = readthrough_redis::RedisTierConfig::new().call_timeout(Duration::from_millis(10));
    /// assert_eq!(config.get_call_timeout(), Duration::from_millis(10));
    /// ```
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.call_timeout = timeout;
        self
    }

    /// The longest [`RedisTier::connect`](crate::RedisTier::connect) waits for the first
    /// connection and subscription.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let config = readthrough_redis::RedisTierConfig::new().connect_timeout(Duration::from_secs(5));
    /// # let _ = config;
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The circuit breaker: after `failures` consecutive failed or timed-out calls the tier is
    /// skipped ([`Unavailable::CircuitOpen`](readthrough_core::Unavailable::CircuitOpen)) for
    /// `open_for`; then one call probes the server, and a success closes the breaker.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let config = readthrough_redis::RedisTierConfig::new().breaker(3, Duration::from_millis(500));
    /// # let _ = config;
    /// ```
    pub fn breaker(mut self, failures: u32, open_for: Duration) -> Self {
        self.failures_to_open = failures;
        self.open_for = open_for;
        self
    }

    /// Encoded values longer than this are not written ([`Stored::TooLarge`](readthrough_core::Stored::TooLarge)):
    /// a large value costs every node a transfer, and Redis a large allocation.
    ///
    /// ```
    /// let config = readthrough_redis::RedisTierConfig::new().max_value_bytes(4096);
    /// # let _ = config;
    /// ```
    pub fn max_value_bytes(mut self, bytes: usize) -> Self {
        self.max_value_bytes = bytes;
        self
    }

    /// Runs the tier's connection and every call on an I/O thread of its own (a current-thread
    /// tokio runtime) instead of the callers' runtime; callers still bound each call by
    /// [`call_timeout`](Self::call_timeout) on their own timer. For a process that keeps its
    /// runtime busy: there redis-rs's connection task waits in the run queue behind the
    /// callers' tasks, replies sit unread past the timeout, and the breaker opens on the
    /// process's own delay (see DESIGN.md, "Tier calls under heavy local load"). It costs a
    /// thread per tier and a hand-over per call. Needs the `tokio` feature.
    ///
    /// ```
    /// let config = readthrough_redis::RedisTierConfig::new().io_thread(true);
    /// # let _ = config;
    /// ```
    #[cfg(feature = "tokio")]
    pub fn io_thread(mut self, on: bool) -> Self {
        self.io_thread = on;
        self
    }

    /// Trusts the CA certificates in `pem` (one or more PEM blocks) for a `rediss://` server,
    /// instead of the platform's trust store: for a server whose certificate a private CA
    /// signed. The server's certificate must name the host of the URL (an IP address as an IP
    /// SAN). Needs the `tokio-rustls` or `smol-rustls` feature.
    ///
    /// ```
    /// # fn run() -> std::io::Result<()> {
    /// let pem = std::fs::read("/etc/redis/ca.pem")?;
    /// let config = readthrough_redis::RedisTierConfig::new().tls_root_certificates(pem);
    /// # let _ = config; Ok(()) }
    /// ```
    #[cfg(any(feature = "tokio-rustls", feature = "smol-rustls"))]
    pub fn tls_root_certificates(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls_roots = Some(pem.into());
        self
    }

    /// The key prefix.
    ///
    /// ```
    /// assert_eq!(readthrough_redis::RedisTierConfig::new().get_prefix(), "readthrough");
    /// ```
    pub fn get_prefix(&self) -> &str {
        &self.prefix
    }

    /// The per-call timeout.
    ///
    /// ```
    /// # use std::time::Duration;
    /// assert_eq!(readthrough_redis::RedisTierConfig::new().get_call_timeout(), Duration::from_millis(50));
    /// ```
    pub fn get_call_timeout(&self) -> Duration {
        self.call_timeout
    }

    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if self.prefix.contains(['{', '}']) {
            return Err(ConfigError::PrefixHasBraces);
        }
        if self.call_timeout.is_zero() || self.connect_timeout.is_zero() {
            return Err(ConfigError::ZeroTimeout);
        }
        if self.failures_to_open == 0 {
            return Err(ConfigError::ZeroBreakerThreshold);
        }
        Ok(())
    }
}

/// A [`RedisTierConfig`] that cannot work.
///
/// ```
/// use readthrough_redis::ConfigError;
/// assert_eq!(ConfigError::PrefixHasBraces.to_string(), "the key prefix must not contain '{' or '}'");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// The prefix contains `{` or `}`, which would move the Redis Cluster hash tag.
    PrefixHasBraces,
    /// A timeout of zero would refuse every call.
    ZeroTimeout,
    /// A breaker that opens after zero failures would never let a call through.
    ZeroBreakerThreshold,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConfigError::PrefixHasBraces => "the key prefix must not contain '{' or '}'",
            ConfigError::ZeroTimeout => "the call and connect timeouts must be above zero",
            ConfigError::ZeroBreakerThreshold => "the breaker must allow at least one failure",
        })
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_that_cannot_work_are_refused() {
        assert_eq!(RedisTierConfig::new().check(), Ok(()));
        let refused = [
            (
                RedisTierConfig::new().prefix("a{b"),
                ConfigError::PrefixHasBraces,
            ),
            (
                RedisTierConfig::new().prefix("a}b"),
                ConfigError::PrefixHasBraces,
            ),
            (
                RedisTierConfig::new().call_timeout(Duration::ZERO),
                ConfigError::ZeroTimeout,
            ),
            (
                RedisTierConfig::new().connect_timeout(Duration::ZERO),
                ConfigError::ZeroTimeout,
            ),
            (
                RedisTierConfig::new().breaker(0, Duration::from_secs(1)),
                ConfigError::ZeroBreakerThreshold,
            ),
        ];
        for (config, error) in refused {
            assert_eq!(config.check(), Err(error), "{config:?}");
        }
    }
}

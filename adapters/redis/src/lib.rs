//! A shared second tier for [`readthrough`](https://docs.rs/readthrough) on Redis: a fleet of
//! processes loads each key once, and an invalidation on one node reaches every node's memory.
//!
//! [`RedisTier`] implements the core's [`Tier`](readthrough_core::Tier) on
//! [redis-rs](https://docs.rs/redis) 1.x, on tokio (feature `tokio`) or smol/async-io (feature
//! `smol`). What it sends, per key:
//!
//! | tier call | Redis |
//! |---|---|
//! | `fetch` | a script running `GET` and `PTTL` of the value key (value and remaining lifetime together) |
//! | `store` | `SET value-key bytes PX ttl` (not written above `max_value_bytes`) |
//! | `delete` | `DEL value-key` |
//! | `lock` | `SET lock-key random-token NX PX hold_for` |
//! | `unlock` | a compare-and-delete script: `DEL` only if the lock still holds this token |
//! | `announce` | `PUBLISH prefix:announcements (node id, kind, key)` |
//! | `landing` | waits for a matching message on the node's own subscription |
//!
//! A node ignores its own announcements (each carries the sender's random node id). Keys and
//! values become bytes through a [`Codec`]; with the `serde` feature, [`Postcard`] encodes every
//! serde type. Bytes that do not decode are a counted miss, never a panic.
//!
//! # Availability
//!
//! The tier never makes the cache less available than no tier: every call is bounded by
//! [`call_timeout`](RedisTierConfig::call_timeout) (default 50 ms) on the cache's own
//! [`Timer`](readthrough_core::Timer), and after
//! [`breaker`](RedisTierConfig::breaker) consecutive failures the tier is skipped
//! (`Unavailable::CircuitOpen`, no network) for a back-off, after which one call probes it. The
//! connection reconnects and resubscribes by itself, so a restarted server is used again
//! without restarting the process. Every outcome is counted in [`TierStats`].
//!
//! # Connecting: AUTH and TLS
//!
//! [`RedisTier::connect`] takes a redis-rs URL:
//! - `redis://127.0.0.1:6379/0`: database 0 on a plain TCP connection;
//! - `redis://:password@host:6379` (`requirepass`), `redis://user:password@host:6379` (ACL user);
//! - `rediss://host:6380`: TLS, with this crate's `tokio-rustls` or `smol-rustls` feature
//!   (redis-rs's `tokio-rustls-comp` / `smol-rustls-comp`, rustls with the `ring` provider).
//!   The server's certificate is checked against the platform's trust store, or against your
//!   own CA with [`RedisTierConfig::tls_root_certificates`]; `rediss://host/#insecure` skips
//!   the check (with redis-rs's `tls-rustls-insecure`; tests only). Tested against a
//!   `redis-server --tls-port` with certificates made at test time, including a refused
//!   connection when the CA does not match.
//!
//! The connection always speaks RESP3 (Redis 6 or later, Valkey): one connection carries the
//! commands and the subscription.
//!
//! # Redis Cluster
//!
//! A key's value and lock are `prefix{tag}:v:key` and `prefix{tag}:l:key`, the tag a digest of
//! the key, so both land on one hash slot and each call touches one slot. Announcements use one
//! channel per prefix, which classic pub/sub delivers to every node of a cluster.
//! [`RedisTier::connect_cluster`] (feature `cluster`: redis-rs's `cluster-async`) connects to a
//! cluster: commands are routed by slot, and the subscription (RESP3 push messages, which
//! redis-rs 1.x supports on cluster connections, resubscribing after reconnects) hears the
//! announcements published through any node. Tested on a 3-master cluster of `redis-server`
//! processes made by `redis-cli --cluster create`: one load per key across the fleet, values
//! on all three masters, a key's value and lock in one slot (`CLUSTER KEYSLOT`), and an
//! invalidation heard by every other node within 100 ms.
//!
//! # Example
//!
//! A node: its cache in front of the tier ([`Tiered`](readthrough_core::Tiered)), hearing the
//! other nodes' invalidations.
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use readthrough_core::{Cache, Tiered};
//! use readthrough_redis::{Postcard, RedisTier, RedisTierConfig};
//! use readthrough_tokio::TokioTimer;
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let timer = TokioTimer::new();
//! let tier: RedisTier<String, _, _> = RedisTier::connect(
//!     "redis://127.0.0.1:6379",
//!     RedisTierConfig::new().prefix("myapp:users"),
//!     Postcard,
//!     timer,
//! )
//! .await?;
//! let cache = Cache::<String, String, std::io::Error>::builder()
//!     .capacity(10_000)
//!     .timer(timer)
//!     .ttl(Duration::from_secs(60))
//!     .lock_timeout(Duration::from_secs(2))
//!     .build()?;
//! let users = Arc::new(Tiered::new(cache, tier.clone())?);
//! tier.deliver_invalidations_to(&users);
//! let answer = users
//!     .get_or_load(&"user:7".to_string(), |key: &String| {
//!         let key = key.clone();
//!         async move { Ok(format!("row of {key}")) }
//!     })
//!     .await?;
//! println!("{} ({})", answer.value, answer.status.as_str());
//! # Ok(()) }
//! ```
//!
//! How the cache drives the tier: `DESIGN.md` in this crate.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

#[cfg(not(any(feature = "tokio", feature = "smol")))]
compile_error!("readthrough-redis needs a runtime: enable its `tokio` or `smol` feature");

mod backplane;
mod breaker;
mod codec;
mod config;
#[cfg(feature = "tokio")]
mod io_thread;
mod link;
mod message;
mod naming;
#[cfg(feature = "serde")]
mod postcard_codec;
mod stats;
mod tier;
mod token;

pub use breaker::BreakerState;
pub use codec::{Codec, DecodeError, EncodeError};
pub use config::{ConfigError, RedisTierConfig};
#[cfg(feature = "serde")]
pub use postcard_codec::Postcard;
pub use stats::TierStats;
pub use tier::{ConnectError, RedisTier};
pub use token::LockToken;

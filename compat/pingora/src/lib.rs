//! A drop-in replacement for [`pingora-memory-cache`](https://docs.rs/pingora-memory-cache/0.9)
//! 0.9, built on readthrough's cache.
//!
//! Switching is a change of import: `pingora_memory_cache::{RTCache, Lookup, ...}` becomes
//! `readthrough_pingora::{RTCache, Lookup, ...}` (or `readthrough::pingora::...` through the
//! facade's `pingora` feature). The types, method names, argument lists and return types are
//! Pingora's; `Lookup` and `MultiLookup` are the same `#[async_trait]` traits, and errors are
//! `pingora_error::Error`s.
//!
//! What changes is what Pingora gets wrong, each documented on the item it concerns:
//! - a caller whose lookup is cancelled no longer strands the callers waiting for it (one of
//!   them takes the lookup over);
//! - a failing lookup runs once and every waiting caller gets its error, instead of every
//!   waiter running the lookup again;
//! - a `MultiLookup` returning the wrong number of values is an error, not a panic;
//! - keys are stored, not their 64-bit hashes, so colliding keys stay distinct (hence a few
//!   extra bounds: `K: Eq`, and `K: Clone` where a key is stored);
//! - a zero TTL removes the old value instead of leaving it.
//!
//! Pingora 0.9's own test modules (`lib.rs` and `read_through.rs`) pass against this crate with
//! only their `use` lines changed, except the one test that expects the panic on a wrong batch
//! count; `scripts/pingora_verbatim.sh` in this crate's repository runs them.
//!
//! ```
//! use async_trait::async_trait;
//! use pingora_error::ErrorTrait;
//! use readthrough_pingora::{CacheStatus, Lookup, RTCache};
//! use std::time::Duration;
//!
//! struct Users;
//!
//! #[async_trait]
//! impl Lookup<u64, String, ()> for Users {
//!     async fn lookup(
//!         id: &u64,
//!         _extra: Option<&()>,
//!     ) -> Result<(String, Option<Duration>), Box<dyn ErrorTrait + Send + Sync>> {
//!         Ok((format!("user {id}"), None))
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let cache: RTCache<u64, String, Users, ()> = RTCache::new(1_000, None, None);
//! let (user, status) = cache.get(&7, Some(Duration::from_secs(60)), None).await;
//! assert_eq!((user.unwrap().as_str(), status), ("user 7", CacheStatus::Miss));
//! let (_, status) = cache.get(&7, None, None).await;
//! assert_eq!(status, CacheStatus::Hit);
//! # }
//! ```

#![warn(missing_docs, missing_debug_implementations)]
#![warn(clippy::undocumented_unsafe_blocks)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod error;
mod lookup;
mod memory;
mod read_through;
mod status;

pub use error::SharedLookupError;
pub use lookup::{Lookup, MultiLookup};
pub use memory::MemoryCache;
pub use read_through::RTCache;
pub use status::CacheStatus;

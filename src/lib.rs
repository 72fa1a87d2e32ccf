//! An async **read-through cache** with **lookup coalescing**: on a miss exactly one caller runs
//! your loader for the key while every concurrent caller for that key waits for its result
//! (errors included), values carry TTLs, the cache is bounded and evicts. The core is
//! `#![no_std]` + `alloc` and never names an executor; a Cargo feature picks the runtime whose
//! timer drives TTLs, lock ages and timeouts.
//!
//! | feature | gives | for |
//! |---|---|---|
//! | `std` (default) | OS-parking shard locks | servers |
//! | `tokio` | [`readthrough::tokio` module](crate::tokio): `Cache` on `tokio::time` (paused time works in tests), background stale-while-revalidate | tokio services |
//! | `smol` | [`readthrough::smol` module](crate::smol): `Cache` on async-io timers, background refresh on smol's executor | smol and async-std services |
//! | `embassy` | [`readthrough::embassy` module](crate::embassy): `Cache` on embassy-time, shard locks from embassy-sync (`no_std`) | embassy firmware |
//! | `pingora` | [`readthrough::pingora` module](crate::pingora): `RTCache`, `MemoryCache`, `Lookup`, `MultiLookup`, `CacheStatus` with pingora-memory-cache's signatures | moving off Pingora's `RTCache` by changing an import |
//! | `tracing` | `tracing` events (target `readthrough`): load failures, lock timeouts, fail-safe answers, soft timeouts, refresh starts, tier fallbacks | services that log with `tracing` |
//! | `defmt` | the same events as `defmt` frames (`readthrough: load failed (timed_out: false)`), filtered by `DEFMT_LOG` (`readthrough_core=info`); inert off bare metal, so host builds link no defmt | firmware that logs with defmt |
//! | `portable-atomic` | atomics and `Arc` from portable-atomic | chips without compare-and-swap (thumbv6m) |
//! | `critical-section` | the `critical-section` crate for the few global locks | with `portable-atomic` |
//!
//! Servers: `readthrough = { version = "0.1", features = ["tokio"] }` (or `"smol"`).
//! Firmware: `readthrough = { version = "0.1", default-features = false, features = ["embassy"] }`
//! (plus `"portable-atomic", "critical-section"` on thumbv6m).
//!
//! Without a runtime feature the cache still coalesces ([`Cache::new`]); the time-based options
//! (`ttl`, `lock_age`, `lock_timeout`, `load_timeout`, `stale_window`, `negative_ttl`) exist
//! only on a builder that was given a [`Timer`], so asking for them without one does not
//! compile.
//!
//! Every runtime's builder also takes a [weigher](Builder::weigher) (the capacity then bounds
//! total weight, usually bytes, instead of entries) and a [listener](Builder::listener) that
//! hears of every entry leaving the cache with its [`RemovalCause`]:
//!
//! ```
//! use readthrough::{Cache, RemovalCause};
//!
//! let bodies = Cache::<u32, Vec<u8>>::builder()
//!     .capacity(1 << 20)
//!     .weigher(|_: &u32, body: &Vec<u8>| body.len())
//!     .listener(|_: u32, _: Vec<u8>, cause: RemovalCause| assert_eq!(cause, RemovalCause::Evicted))
//!     .build()
//!     .unwrap();
//! bodies.insert(1, vec![0; 1000]);
//! assert_eq!(bodies.weight(), 1000);
//! ```
//!
//! # tokio
//!
//! ```
//! # #[cfg(feature = "tokio")]
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! use std::time::Duration;
//! use readthrough::Status;
//!
//! let users: readthrough::tokio::Cache<u64, String> = readthrough::tokio::builder()
//!     .capacity(10_000)
//!     .ttl(Duration::from_secs(60))
//!     .lock_timeout(Duration::from_secs(2))
//!     .build()
//!     .unwrap();
//! let fetch = async |id: &u64| Ok(format!("user {id}"));
//!
//! let first = users.get_or_load(&7, fetch).await.unwrap();
//! assert_eq!((first.value.as_str(), first.status), ("user 7", Status::Miss));
//! assert_eq!(users.get_or_load(&7, fetch).await.unwrap().status, Status::Hit);
//! # });
//! ```
//!
//! # smol (and async-std)
//!
//! ```
//! # #[cfg(feature = "smol")]
//! smol::block_on(async {
//!     use std::time::Duration;
//!     use readthrough::Status;
//!
//!     let rows: readthrough::smol::Cache<u32, String, std::io::Error> = readthrough::smol::builder()
//!         .capacity(1_000)
//!         .ttl(Duration::from_secs(30))
//!         .build()
//!         .unwrap();
//!     let query = async |id: &u32| Ok(format!("row {id}"));
//!     assert_eq!(rows.get_or_load(&1, query).await.unwrap().status, Status::Miss);
//!     assert_eq!(rows.get_or_load(&1, query).await.unwrap().status, Status::Hit);
//! });
//! ```
//!
//! # embassy
//!
//! On embassy the shards are locked by the embassy-sync `RawMutex` you name (default
//! `CriticalSectionRawMutex`), and stale-while-revalidate is caller-driven
//! ([`Cache::get_or_revalidate`]): embassy has no dynamic spawn.
//!
//! ```
//! # #[cfg(feature = "embassy")]
//! # futures_lite::future::block_on(async {
//! use core::time::Duration;
//! use readthrough::Status;
//!
//! let calibration: readthrough::embassy::Cache<u8, u16> = readthrough::embassy::builder()
//!     .capacity(16)
//!     .ttl(Duration::from_secs(600))
//!     .load_timeout(Duration::from_millis(200))
//!     .build()
//!     .unwrap();
//! let read_sensor = async |channel: &u8| Ok(1000 + u16::from(*channel));
//! assert_eq!(calibration.get_or_load(&3, read_sensor).await.unwrap().value, 1003);
//! assert_eq!(calibration.get_or_load(&3, read_sensor).await.unwrap().status, Status::Hit);
//! # });
//! ```
//!
//! # Without a runtime
//!
//! ```
//! # futures_lite::future::block_on(async {
//! let cache = readthrough::Cache::<&str, usize>::new(100).unwrap();
//! let answer = cache.get_or_load(&"coalesced", async |k: &&str| Ok(k.len())).await;
//! assert_eq!(answer.unwrap().value, 9);
//! # });
//! ```
#![no_std]
#![warn(missing_docs, missing_debug_implementations)]
#![warn(clippy::undocumented_unsafe_blocks)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(docsrs, doc(auto_cfg(hide(loom, feature = "portable-atomic"))))]

pub use readthrough_core::*;

#[cfg(feature = "embassy")]
#[doc(inline)]
pub use readthrough_embassy as embassy;
#[cfg(feature = "pingora")]
#[doc(inline)]
pub use readthrough_pingora as pingora;
#[cfg(feature = "redis")]
#[doc(inline)]
pub use readthrough_redis as redis;
#[cfg(feature = "smol")]
#[doc(inline)]
pub use readthrough_smol as smol;
#[cfg(feature = "tokio")]
#[doc(inline)]
pub use readthrough_tokio as tokio;

/// The README's Rust code blocks, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

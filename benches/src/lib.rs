//! Workloads, peers and measuring tools for comparing `readthrough` with
//! `pingora-memory-cache`, `moka` and `quick_cache` (see `benches/compare.rs`).

pub mod await_point;
pub mod belady;
pub mod block_trace;
pub mod body;
pub mod contender;
pub mod counting_alloc;
pub mod loader;
pub mod peers;
pub mod report;
pub mod rng;
pub mod sizes;
pub mod stats;
pub mod traces;
pub mod workloads;
pub mod zipf;

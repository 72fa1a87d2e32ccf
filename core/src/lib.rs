//! An async read-through in-memory cache with lookup coalescing, for `no_std` + `alloc`.
//!
//! On a miss, exactly one caller (the *leader*) runs your async loader for the key; everyone
//! else asking for that key meanwhile (the *waiters*) gets the leader's result instead of
//! hitting your backend again. Values can carry TTLs; the cache is bounded and evicts.
//!
//! This is the runtime-agnostic core. Applications usually depend on the `readthrough` crate
//! with a runtime feature (`tokio`, `smol`, `embassy`), which fills in the [`Timer`].
//!
//! ```
//! use readthrough_core::{Cache, Status};
//! # futures_lite::future::block_on(async {
//! let cache = Cache::<u64, String, &str>::new(10_000).unwrap();
//! let answer = cache
//!     .get_or_load(&42, async |id: &u64| Ok(format!("row {id}")))
//!     .await
//!     .unwrap();
//! assert_eq!(answer.value, "row 42");
//! assert_eq!(answer.status, Status::Miss);
//! assert_eq!(cache.get(&42).as_deref(), Some("row 42"));
//! # });
//! ```
//!
//! # Coalescing
//!
//! [`Cache::get_or_load`] returns an [`Answer`] whose [`Status`] says how it was served:
//! `Hit`, `Miss` (this caller loaded), `Expired` (this caller reloaded an expired value),
//! `LockHit` (this caller waited for another's load) or `Stale(age)`; with a shared tier also
//! `TierHit` and `TierLockHit`. Waiters park on an
//! `event-listener` notification pinned inside their own future, so a thousand waiters on one
//! key allocate nothing each.
//!
//! # Cancellation and failure
//!
//! The leader holds a guard that lands its load when dropped. If the leader's future is
//! dropped (a client went away, a `select!` lost) or its loader panics, the flight is marked
//! abandoned, removed, and the waiters are woken; one of them leads a new load. A key is never
//! left locked, and [`Cache::loads_in_flight`] is zero when the cache is idle.
//!
//! A failing loader runs once: every waiter receives the same [`Error::Load`] (`Arc<E>`), and
//! nothing is stored. With [`Builder::negative_ttl`], the error is also remembered for a while.
//!
//! # A shared tier (a fleet of caches)
//!
//! [`Tiered`] puts a cache in front of a [`Tier`] shared by several processes (the
//! `readthrough-redis` crate implements it on Redis; [`MemoryTier`] in memory, for tests). An
//! L1 hit never touches the tier; on a miss, the key's one local leader asks the tier
//! ([`Status::TierHit`]), and on a tier miss takes a fleet-wide load lock, loads, stores and
//! announces the landing, so each key is loaded once per fleet; a node that finds the lock held
//! waits for the landing ([`Status::TierLockHit`]), at most half the `lock_timeout`. A tier that
//! does not answer is skipped ([`Stats::tier_errors`]): the node loads locally. A cache without
//! a tier is the plain [`Cache`], whose hit and miss paths do not change. The serving features
//! work through the tier too; a node in an `Arc` whose tier is a [`SendTier`] refreshes stale
//! values in the background ([`Tiered::get_or_revalidate_in_background`]), taking another
//! node's fresher copy from the tier when there is one.
//!
//! # Time
//!
//! The core never reads a clock. Time comes from a [`Timer`] (two methods: `now` and `sleep`)
//! that the adapters implement on tokio, async-io and embassy-time. Options that need time
//! (TTLs, `lock_age`, `lock_timeout`, `load_timeout`, `stale_window`, `negative_ttl`) exist
//! only on a builder that has a timer, so using one without time is a compile error, not a
//! runtime surprise. [`ManualTimer`] moves only when told to, for deterministic tests.
//!
//! # Serving: background refresh, refresh ahead, fail-safe
//!
//! A timer that is also a [`Spawn`] (the tokio and smol adapters' are; [`WithSpawn`] makes one)
//! gives a cache in an `Arc` [`Cache::get_or_revalidate_in_background`]: a stale value is
//! answered at once while one spawned task reloads it, and with [`Builder::refresh_ahead`] a
//! value near its expiry is refreshed the same way, so a key read steadily never expires.
//! [`Builder::fail_safe`] answers the callers of a failed load with the expired value at hand
//! (once per throttle, not once per caller), and [`Builder::soft_timeout`] stops waiting for a
//! slow load at a soft bound while the load goes on. Caches without a spawner (embassy) refresh
//! in the caller ([`Cache::get_or_revalidate`]). The policy is written once, here; an adapter
//! only says how to spawn.
//!
//! Refresh ahead happens only through those two entry points: [`Cache::get_or_load`] (and
//! [`Cache::get`], [`Tiered::get_or_load`]) answer a value past its refresh point as the plain
//! hit it is and let it expire at its TTL. Looking for the refresh point costs every hit: in
//! `get_or_load` it measured +11 to +24 instructions per hit (134.4 before, callgrind,
//! `benches/callgrind.sh`, closure loader), on every cache, refresh ahead configured or not. A
//! service that configures refresh ahead calls `get_or_revalidate_in_background` (tokio,
//! smol) or `get_or_revalidate` (embassy) on its hot keys; both answer a value that needs no
//! refresh exactly as `get_or_load` does.
//!
//! # Eviction and bounds
//!
//! The capacity is a number of entries, or with [`Builder::weigher`] a total weight (usually
//! bytes). It is split over the shards exactly (the remainder goes one unit each to the first
//! shards), and each shard evicts on its own, so [`Cache::len`] (or [`Cache::weight`]) never
//! exceeds the capacity at any moment a caller can observe. An entry heavier than a shard's
//! share is answered but not stored (counted in [`Stats::oversized`]); a weight of 0 counts
//! as 1.
//!
//! Each shard evicts with S3-FIFO (Yang et al., SOSP 2023), sized by weight: a small probation
//! queue, a main queue, and a ghost filter of recently evicted keys. A scan of once-read keys
//! flushes only the probation queue. The probation queue's share of the weight adapts, as ARC's
//! target does, to which queue's evicted keys come back (from 0.5% to 90%; it starts at 2%), and
//! a key that a small frequency sketch (8 bytes per entry, fed on misses and when eviction
//! passes an entry; its counts halve after 15 increments per entry, 10 in the frequency
//! regime below) has seen often does not count as a reason to grow it. A key must be read twice
//! in probation to move on to the main queue; one read once leaves, and goes straight to the
//! main queue if it comes back while the ghost remembers it. A key the main queue evicted that
//! comes back goes straight back only if the sketch has seen it more often than the main-queue
//! entries it would push out (TinyLFU's admission), else through probation again; the test
//! grows more lenient each time a key read once comes back, and stricter each time a key the
//! main queue evicted comes back. A key probation evicted goes straight to the main queue if it
//! comes back while the ghost (three quarters of a store's worth of keys) still holds it among
//! the latest it remembers, and only through that test if it comes back later. With a weigher,
//! a key back from the ghost goes to the main queue only if the sketch has seen it, weight for
//! weight, at least as often as the entries it would push out; otherwise it goes through
//! probation again. A read bumps a two-bit counter with a relaxed atomic store under the
//! shard's shared lock: reads never take a write lock, and the sketch is never touched on a
//! hit.
//!
//! A cache of 16 shards or more without a weigher (by default with `std`, 16,384 entries or
//! more; without `std` a cache has at most 4 shards unless told otherwise) also picks, by set
//! dueling (Qureshi et al., ISCA 2007), between that recency regime and TinyLFU's frequency
//! regime (a probation queue of 1%, and every key leaving it moves on only if the sketch has
//! seen it more often than the entries it would push out; the ghost is not asked). The shards
//! follow one regime; one shard (two in a cache of 32 shards or more) challenges it in the
//! other, and the followers take the challenger's regime when its misses per round fall clearly
//! below their own mean per shard (a running verdict: each round's gap plus half the one
//! before, past 1%). The two shards of a pair take turns as challenger, twelve rounds each, so
//! that one shard's keys do not decide. Misses alone decide, so a hit pays nothing for it.
//! Frequency wins where keys come back too far apart for the ghost to remember them: on the P6
//! trace at 32,768 entries the cache hits 30.0% against 28.5% in recency alone; on P3 (another
//! trace of the collection) 17.9% (17.3% in recency alone, 18.8% held in frequency: the
//! followers switch after the first round, and two shards of 32 go on challenging in recency;
//! seeds 1 and 2 of `hit_ratios`); elsewhere the followers mostly stay in recency and the challenger
//! costs its shard's share of the difference. One challenger among 16 to 31 shards is one
//! shard's luck: where the regimes are within about 1.5% of misses of each other and the trace
//! is bursty (P12 at 24,576 entries) its rounds can pass the margin by chance and switch the
//! followers to the worse regime, costing 0.8 points there (against recency held, two seeds).
//!
//! Every entry that leaves (evicted, expired, replaced, removed, invalidated, cleared) can be
//! reported to a [`Listener`] set with [`Builder::listener`], with its key, value and
//! [`RemovalCause`]; without one, nothing is spent on reporting.
//!
//! Failed loads remembered with [`Builder::negative_ttl`] are bounded too: at most
//! [`Builder::remembered_errors`] of them (default [`DEFAULT_REMEMBERED_ERRORS`]), oldest
//! forgotten first, so a flood of distinct failing keys costs bounded memory.
//!
//! # Your code, the locks, and re-entry
//!
//! Each shard has one lock, never held across an `.await` and never two at once. Under it
//! run only your key's `Eq` (comparing keys in the table) and, on a hit, your value's `Clone`
//! (the value is cloned out under the shared lock). Your `Hash` runs before the lock is taken
//! (each entry keeps its hash, so eviction never calls it), and the weigher, the listener, the
//! `Clone` of a landing value and the `Drop` of everything that leaves the cache run with no
//! lock held. So a listener may call back into the cache; an `Eq` or `Clone` that calls back
//! into the same cache deadlocks (or panics, depending on the [`RawLock`]).
//!
//! A panic in any of that code leaves the cache consistent: the bound holds, the shard stays
//! usable, and a load that was landing is abandoned, so its waiters wake and one of them
//! loads again.
//!
//! A loader that waits for its own key (directly, or through another cache call that does)
//! waits for itself: without [`lock_timeout`](Builder::lock_timeout) it never finishes.
//!
//! # Memory
//!
//! A hit allocates nothing. A miss allocates one small shared record for the load (plus your
//! key's and value's own clones), unless its shard kept one: the record of a load that no other
//! caller waited for is kept for the shard's next load, so a miss nobody waits for allocates
//! nothing in a warm cache. Keys are stored whole, never as a bare hash, so keys whose
//! hashes collide stay distinct. Beside its key, value and deadline an entry takes 8 bytes (its
//! weight, and one word holding 29 bits of its hash, its queue and its frequency), and the store
//! adds per entry its table of slot numbers (about 6 to 11 bytes), the eviction queues (4), the
//! ghost (3) and the frequency sketch (8, allocated at a shard's first eviction): 44 bytes per
//! `u64` entry in all, 50 once the cache has evicted (`BENCH_SECTIONS=heap` in `benches/`).
//! [`Builder::preallocate`] reserves every table up front, with fallible allocation, so that
//! a warm cache never allocates on insert or eviction; with a weigher, an insert that evicts
//! more than two entries reuses the list an earlier one allocated for them.
//!
//! # Features
//!
//! | feature | default | what it does |
//! |---|---|---|
//! | `std` | yes | shard locks whose readers write only their own thread's lines ([`ReadMostlyLock`], the default: hits on several cores share no written line) or OS-parking ones ([`ParkingLotLock`]); the hit counter striped per thread; event-listener's std list |
//! | `portable-atomic` | no | atomics and `Arc` from portable-atomic, for targets without CAS (thumbv6m) |
//! | `critical-section` | no | critical sections for event-listener's list and portable-atomic's fallback |
//! | `tracing` | no | `tracing` events (target `readthrough`): load failures, lock timeouts, fail-safe answers, soft timeouts, refresh starts, tier fallbacks; nothing is spent without it |
//! | `defmt` | no | the same events as `defmt` frames (`readthrough: load failed (timed_out: false)`), for firmware; filtered by `DEFMT_LOG` (e.g. `readthrough_core=info`) like any defmt log. Only on bare-metal targets (`target_os = "none"`): on a host it is inert and defmt is not built, so a host build with every feature links no defmt logger |
//!
//! Without `std`, shards use [`SpinLock`]; pick another with [`Builder::lock`] (the embassy
//! adapter offers a critical-section lock).

#![no_std]
#![warn(missing_docs, missing_debug_implementations)]
#![warn(clippy::undocumented_unsafe_blocks)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(docsrs, doc(auto_cfg(hide(loom, feature = "portable-atomic"))))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[cfg(all(target_has_atomic = "ptr", not(loom)))]
mod background;
mod batch;
mod builder;
mod cache;
mod duel;
mod error;
mod events;
mod fail_safe;
mod fleet_lock;
mod flight;
mod flight_table;
mod ghost;
mod hasher;
mod hit_or_load;
mod lead;
mod leaving;
mod listener;
mod load_guard;
mod loader;
mod lock;
mod manual_timer;
#[cfg(feature = "std")]
mod read_mostly_lock;
mod read_through;
mod refresh_ahead;
mod remembered;
mod revalidate;
mod shard;
mod sketch;
#[cfg(feature = "std")]
mod slot_column;
mod spawn;
mod stats;
mod status;
mod store;
mod striped_counter;
mod sync;
#[cfg(feature = "std")]
mod thread_slot;
mod tier;
mod tiered;
mod timer;
mod weigher;

pub use builder::{Builder, DEFAULT_REMEMBERED_ERRORS, MAX_SHARDS};
pub use cache::Cache;
pub use error::{BuildError, Error};
pub use hasher::DefaultHashBuilder;
pub use listener::{Listener, NoListener, RemovalCause};
pub use loader::{BatchLoader, LoadFn, Loader, SendLoader};
#[cfg(loom)]
pub use lock::LoomLock;
#[cfg(feature = "std")]
pub use lock::ParkingLotLock;
pub use lock::{DefaultLock, RawLock, SpinLock};
pub use manual_timer::{ManualSleep, ManualTimer};
#[cfg(feature = "std")]
pub use read_mostly_lock::ReadMostlyLock;
pub use refresh_ahead::RefreshAhead;
pub use spawn::{Spawn, WithSpawn};
pub use stats::Stats;
pub use status::{Answer, Status};
pub use sync::Arc;
pub use tier::{
    Announced, Announcement, Deleted, Fetched, InvalidationSink, Lifetime, LockOutcome, MemoryTier,
    MemoryTierNode, MemoryToken, SendTier, Stored, Tier, Unavailable, Unlocked,
};
pub use tiered::Tiered;
pub use timer::{Clock, NoTimer, Timeout, TimeoutError, Timer, with_timeout};
pub use weigher::{Unweighted, Weigh, Weigher, Weighted};

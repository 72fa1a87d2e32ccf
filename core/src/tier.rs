//! A shared second tier behind the in-memory cache (L2), so that a fleet of processes loads each
//! key once and hears about each other's invalidations.
//!
//! The core only knows the [`Tier`] trait; the adapters implement it (`readthrough-redis` on
//! Redis). Values cross the trait as `V`: turning them into bytes is the adapter's business, so
//! a tier that keeps values in memory (like [`MemoryTier`]) needs no codec at all.

mod memory;

pub use memory::{MemoryTier, MemoryTierNode, MemoryToken};

use core::future::Future;
use core::time::Duration;

/// A store shared by several caches (the nodes of a fleet), with a fleet-wide load lock and
/// announcements between the nodes.
///
/// Every method answers with a named outcome; none fails with a panic, and a tier that cannot be
/// reached answers `Unavailable` so that the cache goes on without it (loads locally). The core
/// bounds nothing itself: implementations bound each call (the Redis tier by a timeout and a
/// circuit breaker), except [`landing`](Tier::landing), which the caller bounds with its timer.
///
/// How the cache drives a tier (one local leader per key, after an L1 miss):
/// 1. [`fetch`](Tier::fetch): a [`Fetched::Hit`] lands in L1 for the tier's remaining lifetime.
/// 2. On a miss: [`landing`](Tier::landing) (listen first), then [`lock`](Tier::lock).
/// 3. [`LockOutcome::Acquired`]: load, [`store`](Tier::store), [`unlock`](Tier::unlock),
///    [`announce`](Tier::announce) [`Announcement::Landed`].
/// 4. [`LockOutcome::HeldElsewhere`]: await the landing up to `lock_timeout`, fetch again; on
///    timeout or a second miss, load locally.
///
/// An in-memory implementation ([`MemoryTier`]) doubles as the reference for the contract:
///
/// ```
/// use core::time::Duration;
/// use readthrough_core::{Fetched, Lifetime, LockOutcome, ManualTimer, MemoryTier, Stored, Tier};
///
/// # futures_lite::future::block_on(async {
/// let tier = MemoryTier::<u32, String, _>::new(ManualTimer::new());
/// let (a, b) = (tier.node(), tier.node());
/// let LockOutcome::Acquired(token) = a.lock(&7, Duration::from_secs(1)).await else { panic!() };
/// assert_eq!(b.lock(&7, Duration::from_secs(1)).await, LockOutcome::HeldElsewhere);
/// assert_eq!(a.store(&7, &"seven".to_string(), Duration::from_secs(60)).await, Stored::Stored);
/// a.unlock(&7, token).await;
/// let Fetched::Hit { value, lifetime } = b.fetch(&7).await else { panic!() };
/// assert_eq!((value.as_str(), lifetime), ("seven", Lifetime::Remaining(Duration::from_secs(60))));
/// # });
/// ```
pub trait Tier<K, V> {
    /// Proof of holding a fleet lock, handed back to [`unlock`](Tier::unlock) (the Redis tier's
    /// random token).
    type Token;

    /// The value stored for `key` and how long it has left.
    fn fetch(&self, key: &K) -> impl Future<Output = Fetched<V>>;

    /// Stores `value` for `key`, expiring after `ttl`, replacing what was there.
    fn store(&self, key: &K, value: &V, ttl: Duration) -> impl Future<Output = Stored>;

    /// Deletes the stored value of `key`.
    fn delete(&self, key: &K) -> impl Future<Output = Deleted>;

    /// Takes the fleet-wide load lock of `key` unless another node holds it. The lock expires by
    /// itself after `hold_for`, so a node that dies holding it delays the others by at most that.
    fn lock(&self, key: &K, hold_for: Duration) -> impl Future<Output = LockOutcome<Self::Token>>;

    /// Releases the lock taken with `token`, only if it is still this holder's.
    fn unlock(&self, key: &K, token: Self::Token) -> impl Future<Output = Unlocked>;

    /// Tells the other nodes what happened to `key`. A node never hears its own announcements.
    fn announce(&self, key: &K, announcement: Announcement) -> impl Future<Output = Announced>;

    /// Resolves when another node announces something about `key` (a landing, an abandoned load,
    /// an invalidation).
    ///
    /// Interest is registered when this method is **called**, not when the future is first
    /// polled: call it before [`lock`](Tier::lock) so that a landing announced between a
    /// `HeldElsewhere` and the wait is not missed. It may never resolve (nobody lands, the tier
    /// is down): bound it with the cache's timer.
    fn landing(&self, key: &K) -> impl Future<Output = Announcement>;
}

/// What [`Tier::fetch`] found.
///
/// ```
/// use readthrough_core::{Fetched, Unavailable};
/// let outcome: Fetched<u32> = Fetched::Unavailable(Unavailable::TimedOut);
/// assert!(!matches!(outcome, Fetched::Hit { .. }));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fetched<V> {
    /// A value, with what is left of its tier lifetime.
    Hit {
        /// The stored value.
        value: V,
        /// How long it stays valid from now.
        lifetime: Lifetime,
    },
    /// Nothing stored for the key.
    Miss,
    /// Something was stored that is not a `V` (another version wrote it, or garbage): a miss
    /// that the next store overwrites.
    Undecodable,
    /// The tier did not answer.
    Unavailable(Unavailable),
}

/// What is left of a tier entry's lifetime.
///
/// ```
/// use core::time::Duration;
/// use readthrough_core::Lifetime;
/// assert_ne!(Lifetime::Remaining(Duration::from_secs(3)), Lifetime::Unbounded);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifetime {
    /// Expires after this long.
    Remaining(Duration),
    /// Stored without an expiry (written by something other than the cache): the cache applies
    /// its own TTL.
    Unbounded,
}

/// What [`Tier::store`] did.
///
/// ```
/// use readthrough_core::Stored;
/// assert_ne!(Stored::Stored, Stored::TooLarge);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stored {
    /// The value is in the tier.
    Stored,
    /// The value was larger than the tier accepts, and was not written.
    TooLarge,
    /// The value could not be turned into the tier's representation, and was not written.
    Unencodable,
    /// The tier did not answer.
    Unavailable(Unavailable),
}

/// What [`Tier::delete`] did.
///
/// ```
/// use readthrough_core::Deleted;
/// assert_ne!(Deleted::Deleted, Deleted::Absent);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deleted {
    /// A stored value was removed.
    Deleted,
    /// Nothing was stored for the key.
    Absent,
    /// The tier did not answer.
    Unavailable(Unavailable),
}

/// What [`Tier::lock`] got.
///
/// ```
/// use readthrough_core::LockOutcome;
/// let outcome: LockOutcome<u64> = LockOutcome::HeldElsewhere;
/// assert!(!matches!(outcome, LockOutcome::Acquired(_)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockOutcome<T> {
    /// This node holds the lock until it unlocks it or the lock expires.
    Acquired(T),
    /// Another node holds it: wait for its [`landing`](Tier::landing).
    HeldElsewhere,
    /// The tier did not answer: load locally.
    Unavailable(Unavailable),
}

/// What [`Tier::unlock`] did.
///
/// ```
/// use readthrough_core::Unlocked;
/// assert_ne!(Unlocked::Released, Unlocked::Lost);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unlocked {
    /// The lock was this holder's and is released.
    Released,
    /// The lock had expired (and may be another node's now): nothing was released.
    Lost,
    /// The tier did not answer; the lock expires by itself.
    Unavailable(Unavailable),
}

/// What a node tells the others about a key.
///
/// ```
/// use readthrough_core::Announcement;
/// assert_ne!(Announcement::Landed, Announcement::Invalidated);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Announcement {
    /// A fleet-locked load finished and its value is in the tier: fetch it.
    Landed,
    /// A fleet-locked load failed or was cancelled: nothing landed; the lock is free.
    Abandoned,
    /// The key was invalidated, removed or overwritten: drop the local (L1) copy.
    Invalidated,
}

/// What [`Tier::announce`] did.
///
/// ```
/// use readthrough_core::Announced;
/// assert_ne!(Announced::Sent, Announced::Unavailable(readthrough_core::Unavailable::Failed));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Announced {
    /// Handed to the tier for the other nodes.
    Sent,
    /// The tier did not answer: the other nodes keep their copies until they expire.
    Unavailable(Unavailable),
}

/// Why a tier call did not answer.
///
/// ```
/// use readthrough_core::Unavailable;
/// assert_ne!(Unavailable::TimedOut, Unavailable::CircuitOpen);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Unavailable {
    /// The call took longer than the tier's timeout.
    TimedOut,
    /// The tier answered with an error, or the connection failed.
    Failed,
    /// Recent calls failed, so the tier is skipped without trying until its back-off ends.
    CircuitOpen,
}

/// Where a tier delivers the keys that other nodes invalidated, so that this node drops its own
/// (L1) copies.
///
/// A tier's adapter calls it from wherever it hears the other nodes (the Redis tier: the task
/// that reads its pub/sub messages); the cache implements it by dropping the key from L1 without
/// touching the tier again. Every `Fn(&K)` is a sink:
///
/// ```
/// use core::cell::Cell;
/// use readthrough_core::InvalidationSink;
///
/// let dropped = Cell::new(0);
/// let sink = |key: &u32| dropped.set(*key);
/// sink.invalidate_local(&7);
/// assert_eq!(dropped.get(), 7);
/// ```
pub trait InvalidationSink<K> {
    /// Drops `key` from this node's memory tier. Called often and from the adapter's listener:
    /// must not block or call back into the tier.
    fn invalidate_local(&self, key: &K);
}

impl<K, F: Fn(&K)> InvalidationSink<K> for F {
    fn invalidate_local(&self, key: &K) {
        self(key)
    }
}

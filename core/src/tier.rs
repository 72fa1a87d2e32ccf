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

/// A reference to a tier is the tier: a borrowed view of a node (as a background refresh
/// uses) calls the same node.
///
/// ```
/// use readthrough_core::{Fetched, ManualTimer, MemoryTier, Tier};
/// # futures_lite::future::block_on(async {
/// let tier = MemoryTier::<u32, u32, _>::new(ManualTimer::new());
/// let node = tier.node();
/// assert_eq!(Tier::<u32, u32>::fetch(&&node, &1).await, Fetched::Miss);
/// # });
/// ```
impl<K, V, R: Tier<K, V> + ?Sized> Tier<K, V> for &R {
    type Token = R::Token;

    fn fetch(&self, key: &K) -> impl Future<Output = Fetched<V>> {
        (**self).fetch(key)
    }

    fn store(&self, key: &K, value: &V, ttl: Duration) -> impl Future<Output = Stored> {
        (**self).store(key, value, ttl)
    }

    fn delete(&self, key: &K) -> impl Future<Output = Deleted> {
        (**self).delete(key)
    }

    fn lock(&self, key: &K, hold_for: Duration) -> impl Future<Output = LockOutcome<Self::Token>> {
        (**self).lock(key, hold_for)
    }

    fn unlock(&self, key: &K, token: Self::Token) -> impl Future<Output = Unlocked> {
        (**self).unlock(key, token)
    }

    fn announce(&self, key: &K, announcement: Announcement) -> impl Future<Output = Announced> {
        (**self).announce(key, announcement)
    }

    fn landing(&self, key: &K) -> impl Future<Output = Announcement> {
        (**self).landing(key)
    }
}

/// A [`Tier`] whose futures can move to another thread, for refreshes that run in a background
/// task ([`Tiered::get_or_revalidate_in_background`](crate::Tiered::get_or_revalidate_in_background)).
///
/// Why `Tier` alone is not enough is the reason for [`SendLoader`](crate::SendLoader): the
/// futures of a generic tier's methods are `impl Future`s whose `Send`-ness only code that knows
/// the concrete tier can see (naming it in a bound needs return-type notation, unstable). An
/// implementation repeats each method with `+ Send` and calls the `Tier` method; for a concrete
/// type the compiler checks that its futures are `Send`. [`MemoryTierNode`] implements it, and
/// so does `readthrough_redis::RedisTier`.
///
/// ```
/// use core::future::Future;
/// use core::time::Duration;
/// use readthrough_core::{
///     Announced, Announcement, Deleted, Fetched, LockOutcome, SendTier, Stored, Tier, Unlocked,
/// };
///
/// /// A tier with nothing in it, whose lock is always free.
/// struct Empty;
///
/// impl Tier<u32, u32> for Empty {
///     type Token = ();
///     async fn fetch(&self, _: &u32) -> Fetched<u32> { Fetched::Miss }
///     async fn store(&self, _: &u32, _: &u32, _: Duration) -> Stored { Stored::Stored }
///     async fn delete(&self, _: &u32) -> Deleted { Deleted::Absent }
///     async fn lock(&self, _: &u32, _: Duration) -> LockOutcome<()> { LockOutcome::Acquired(()) }
///     async fn unlock(&self, _: &u32, _: ()) -> Unlocked { Unlocked::Released }
///     async fn announce(&self, _: &u32, _: Announcement) -> Announced { Announced::Sent }
///     async fn landing(&self, _: &u32) -> Announcement { core::future::pending().await }
/// }
///
/// impl SendTier<u32, u32> for Empty {
///     fn fetch_send(&self, key: &u32) -> impl Future<Output = Fetched<u32>> + Send {
///         self.fetch(key)
///     }
///     fn store_send(&self, key: &u32, value: &u32, ttl: Duration) -> impl Future<Output = Stored> + Send {
///         self.store(key, value, ttl)
///     }
///     fn delete_send(&self, key: &u32) -> impl Future<Output = Deleted> + Send {
///         self.delete(key)
///     }
///     fn lock_send(&self, key: &u32, hold_for: Duration) -> impl Future<Output = LockOutcome<()>> + Send {
///         self.lock(key, hold_for)
///     }
///     fn unlock_send(&self, key: &u32, token: ()) -> impl Future<Output = Unlocked> + Send {
///         self.unlock(key, token)
///     }
///     fn announce_send(&self, key: &u32, announcement: Announcement) -> impl Future<Output = Announced> + Send {
///         self.announce(key, announcement)
///     }
///     fn landing_send(&self, key: &u32) -> impl Future<Output = Announcement> + Send {
///         self.landing(key)
///     }
/// }
/// ```
pub trait SendTier<K, V>: Tier<K, V, Token: Send> + Send + Sync + 'static {
    /// [`fetch`](Tier::fetch), as a future that can move to another thread.
    fn fetch_send(&self, key: &K) -> impl Future<Output = Fetched<V>> + Send;

    /// [`store`](Tier::store), as a future that can move to another thread.
    fn store_send(&self, key: &K, value: &V, ttl: Duration) -> impl Future<Output = Stored> + Send;

    /// [`delete`](Tier::delete), as a future that can move to another thread.
    fn delete_send(&self, key: &K) -> impl Future<Output = Deleted> + Send;

    /// [`lock`](Tier::lock), as a future that can move to another thread.
    fn lock_send(
        &self,
        key: &K,
        hold_for: Duration,
    ) -> impl Future<Output = LockOutcome<Self::Token>> + Send;

    /// [`unlock`](Tier::unlock), as a future that can move to another thread.
    fn unlock_send(&self, key: &K, token: Self::Token) -> impl Future<Output = Unlocked> + Send;

    /// [`announce`](Tier::announce), as a future that can move to another thread.
    fn announce_send(
        &self,
        key: &K,
        announcement: Announcement,
    ) -> impl Future<Output = Announced> + Send;

    /// [`landing`](Tier::landing), as a future that can move to another thread (interest is
    /// registered when it is called, as there).
    fn landing_send(&self, key: &K) -> impl Future<Output = Announcement> + Send;
}

/// A tier called through its [`SendTier`] methods: a `Tier` whose futures are seen to be `Send`
/// by generic code, for the tiered leader running in a background task.
#[cfg(all(target_has_atomic = "ptr", not(loom)))]
pub(crate) struct Sending<'a, R>(pub(crate) &'a R);

#[cfg(all(target_has_atomic = "ptr", not(loom)))]
impl<K, V, R: SendTier<K, V>> Tier<K, V> for Sending<'_, R> {
    type Token = R::Token;

    fn fetch(&self, key: &K) -> impl Future<Output = Fetched<V>> {
        self.0.fetch_send(key)
    }

    fn store(&self, key: &K, value: &V, ttl: Duration) -> impl Future<Output = Stored> {
        self.0.store_send(key, value, ttl)
    }

    fn delete(&self, key: &K) -> impl Future<Output = Deleted> {
        self.0.delete_send(key)
    }

    fn lock(&self, key: &K, hold_for: Duration) -> impl Future<Output = LockOutcome<Self::Token>> {
        self.0.lock_send(key, hold_for)
    }

    fn unlock(&self, key: &K, token: Self::Token) -> impl Future<Output = Unlocked> {
        self.0.unlock_send(key, token)
    }

    fn announce(&self, key: &K, announcement: Announcement) -> impl Future<Output = Announced> {
        self.0.announce_send(key, announcement)
    }

    fn landing(&self, key: &K) -> impl Future<Output = Announcement> {
        self.0.landing_send(key)
    }
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

//! An in-process [`Tier`]: several caches in one process share it as if it were a server.
//! It is the test double of the tier contract (no network, time from a [`Timer`]).

use alloc::vec::Vec;
use core::future::Future;
use core::hash::Hash;
use core::time::Duration;

use event_listener::Event;
use hashbrown::HashMap;

use super::{
    Announced, Announcement, Deleted, Fetched, InvalidationSink, Lifetime, LockOutcome, SendTier,
    Stored, Tier, Unavailable, Unlocked,
};
use crate::sync::Arc;
use crate::timer::Timer;

/// A shared tier held in memory; each [`node`](MemoryTier::node) is one cache's view of it.
///
/// Values and locks expire on the given timer's time, so a [`ManualTimer`](crate::ManualTimer)
/// makes expiry deterministic. [`set_available`](MemoryTier::set_available) simulates an
/// outage: every call then answers `Unavailable(Failed)`.
///
/// ```
/// use core::time::Duration;
/// use readthrough_core::{Fetched, ManualTimer, MemoryTier, Tier};
///
/// # futures_lite::future::block_on(async {
/// let timer = ManualTimer::new();
/// let tier = MemoryTier::<&str, u32, _>::new(timer.clone());
/// let node = tier.node();
/// node.store(&"k", &1, Duration::from_secs(5)).await;
/// timer.advance(Duration::from_secs(5));
/// assert_eq!(node.fetch(&"k").await, Fetched::Miss);
/// # });
/// ```
pub struct MemoryTier<K, V, T> {
    shared: Arc<Shared<K, V, T>>,
}

/// One node's handle on a [`MemoryTier`]: implements [`Tier`]; its announcements reach the other
/// nodes, never itself.
///
/// ```
/// use readthrough_core::{Announcement, ManualTimer, MemoryTier, Tier};
///
/// # futures_lite::future::block_on(async {
/// let tier = MemoryTier::<u32, u32, _>::new(ManualTimer::new());
/// let (a, b) = (tier.node(), tier.node());
/// // Registered when called, so the announcement made before the first poll is not missed.
/// let landing = b.landing(&1);
/// a.announce(&1, Announcement::Landed).await;
/// assert_eq!(landing.await, Announcement::Landed);
/// # });
/// ```
pub struct MemoryTierNode<K, V, T> {
    shared: Arc<Shared<K, V, T>>,
    id: usize,
}

/// The proof of holding a [`MemoryTier`] lock: only the token that took it releases it.
///
/// ```
/// use core::time::Duration;
/// use readthrough_core::{LockOutcome, ManualTimer, MemoryTier, Tier, Unlocked};
///
/// # futures_lite::future::block_on(async {
/// let tier = MemoryTier::<u32, u32, _>::new(ManualTimer::new());
/// let node = tier.node();
/// let LockOutcome::Acquired(token) = node.lock(&1, Duration::from_secs(1)).await else { panic!() };
/// assert_eq!(node.unlock(&1, token).await, Unlocked::Released);
/// assert_eq!(node.unlock(&1, token).await, Unlocked::Lost);
/// # });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryToken(u64);

struct Shared<K, V, T> {
    timer: T,
    state: spin::Mutex<State<K, V>>,
    announced: Event,
}

struct State<K, V> {
    available: bool,
    values: HashMap<K, (V, Option<Duration>)>,
    locks: HashMap<K, (MemoryToken, Duration)>,
    next_token: u64,
    /// The last announcement per key, numbered so that a landing wait only takes later ones.
    last_heard: HashMap<K, Heard>,
    announcements: u64,
    /// Per node, the keys other nodes invalidated that it has not yet delivered to its sink.
    inboxes: Vec<Vec<K>>,
}

#[derive(Clone, Copy)]
struct Heard {
    number: u64,
    from: usize,
    announcement: Announcement,
}

impl<K: Hash + Eq + Clone, V: Clone, T: Timer> MemoryTier<K, V, T> {
    /// An empty tier on `timer`'s time.
    ///
    /// ```
    /// # use readthrough_core::{ManualTimer, MemoryTier};
    /// let tier = MemoryTier::<u32, u32, _>::new(ManualTimer::new());
    /// assert_eq!(tier.len(), 0);
    /// ```
    pub fn new(timer: T) -> Self {
        let state = State {
            available: true,
            values: HashMap::new(),
            locks: HashMap::new(),
            next_token: 0,
            last_heard: HashMap::new(),
            announcements: 0,
            inboxes: Vec::new(),
        };
        MemoryTier {
            shared: Arc::new(Shared {
                timer,
                state: spin::Mutex::new(state),
                announced: Event::new(),
            }),
        }
    }

    /// A new node (one cache's connection) on this tier.
    ///
    /// ```
    /// # use readthrough_core::{ManualTimer, MemoryTier};
    /// let tier = MemoryTier::<u32, u32, _>::new(ManualTimer::new());
    /// let (_a, _b) = (tier.node(), tier.node());
    /// ```
    pub fn node(&self) -> MemoryTierNode<K, V, T> {
        let mut state = self.shared.state.lock();
        state.inboxes.push(Vec::new());
        MemoryTierNode {
            shared: self.shared.clone(),
            id: state.inboxes.len() - 1,
        }
    }

    /// Simulates an outage (`false`) or a recovery (`true`).
    ///
    /// ```
    /// # use readthrough_core::{Deleted, ManualTimer, MemoryTier, Tier, Unavailable};
    /// # futures_lite::future::block_on(async {
    /// let tier = MemoryTier::<u32, u32, _>::new(ManualTimer::new());
    /// tier.set_available(false);
    /// assert_eq!(tier.node().delete(&1).await, Deleted::Unavailable(Unavailable::Failed));
    /// # });
    /// ```
    pub fn set_available(&self, available: bool) {
        self.shared.state.lock().available = available;
    }

    /// How many values are stored, expired ones included until they are next looked at.
    ///
    /// ```
    /// # use core::time::Duration;
    /// # use readthrough_core::{ManualTimer, MemoryTier, Tier};
    /// # futures_lite::future::block_on(async {
    /// let tier = MemoryTier::<u32, u32, _>::new(ManualTimer::new());
    /// tier.node().store(&1, &10, Duration::from_secs(1)).await;
    /// assert_eq!(tier.len(), 1);
    /// # });
    /// ```
    pub fn len(&self) -> usize {
        self.shared.state.lock().values.len()
    }

    /// Whether no value is stored.
    ///
    /// ```
    /// # use readthrough_core::{ManualTimer, MemoryTier};
    /// assert!(MemoryTier::<u32, u32, _>::new(ManualTimer::new()).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: Hash + Eq + Clone, V: Clone, T: Timer> MemoryTierNode<K, V, T> {
    /// Hands the keys other nodes invalidated since the last call to `sink`, in order.
    ///
    /// A network tier calls its sink from its listener task; this double has no task, so the
    /// test (or the cache) pumps it.
    ///
    /// ```
    /// use core::cell::RefCell;
    /// use readthrough_core::{Announcement, ManualTimer, MemoryTier, Tier};
    ///
    /// # futures_lite::future::block_on(async {
    /// let tier = MemoryTier::<u32, u32, _>::new(ManualTimer::new());
    /// let (a, b) = (tier.node(), tier.node());
    /// a.announce(&3, Announcement::Invalidated).await;
    /// let dropped = RefCell::new(Vec::new());
    /// b.deliver_invalidations(&|key: &u32| dropped.borrow_mut().push(*key));
    /// a.deliver_invalidations(&|key: &u32| dropped.borrow_mut().push(*key));
    /// assert_eq!(dropped.into_inner(), [3]);
    /// # });
    /// ```
    pub fn deliver_invalidations(&self, sink: &impl InvalidationSink<K>) {
        let keys = core::mem::take(&mut self.shared.state.lock().inboxes[self.id]);
        for key in &keys {
            sink.invalidate_local(key);
        }
    }

    fn with_state<R>(
        &self,
        unavailable: impl FnOnce(Unavailable) -> R,
        act: impl FnOnce(&mut State<K, V>, Duration) -> R,
    ) -> R {
        let now = self.shared.timer.now();
        let mut state = self.shared.state.lock();
        if !state.available {
            return unavailable(Unavailable::Failed);
        }
        act(&mut state, now)
    }
}

impl<K: Hash + Eq + Clone, V: Clone, T: Timer> Tier<K, V> for MemoryTierNode<K, V, T> {
    type Token = MemoryToken;

    async fn fetch(&self, key: &K) -> Fetched<V> {
        self.with_state(Fetched::Unavailable, |state, now| {
            match state.values.get(key) {
                None => Fetched::Miss,
                Some((_, Some(deadline))) if *deadline <= now => {
                    state.values.remove(key);
                    Fetched::Miss
                }
                Some((value, deadline)) => Fetched::Hit {
                    value: value.clone(),
                    lifetime: match deadline {
                        Some(deadline) => Lifetime::Remaining(*deadline - now),
                        None => Lifetime::Unbounded,
                    },
                },
            }
        })
    }

    async fn store(&self, key: &K, value: &V, ttl: Duration) -> Stored {
        self.with_state(Stored::Unavailable, |state, now| {
            let deadline = now.saturating_add(ttl);
            state
                .values
                .insert(key.clone(), (value.clone(), Some(deadline)));
            Stored::Stored
        })
    }

    async fn delete(&self, key: &K) -> Deleted {
        self.with_state(Deleted::Unavailable, |state, now| {
            match state.values.remove(key) {
                Some((_, Some(deadline))) if deadline <= now => Deleted::Absent,
                Some(_) => Deleted::Deleted,
                None => Deleted::Absent,
            }
        })
    }

    async fn lock(&self, key: &K, hold_for: Duration) -> LockOutcome<MemoryToken> {
        self.with_state(LockOutcome::Unavailable, |state, now| {
            if let Some((_, deadline)) = state.locks.get(key)
                && *deadline > now
            {
                return LockOutcome::HeldElsewhere;
            }
            state.next_token += 1;
            let token = MemoryToken(state.next_token);
            state
                .locks
                .insert(key.clone(), (token, now.saturating_add(hold_for)));
            LockOutcome::Acquired(token)
        })
    }

    async fn unlock(&self, key: &K, token: MemoryToken) -> Unlocked {
        self.with_state(Unlocked::Unavailable, |state, now| {
            match state.locks.get(key) {
                Some((held, deadline)) if *held == token && *deadline > now => {
                    state.locks.remove(key);
                    Unlocked::Released
                }
                _ => Unlocked::Lost,
            }
        })
    }

    async fn announce(&self, key: &K, announcement: Announcement) -> Announced {
        let announced = self.with_state(Announced::Unavailable, |state, _| {
            state.announcements += 1;
            let heard = Heard {
                number: state.announcements,
                from: self.id,
                announcement,
            };
            state.last_heard.insert(key.clone(), heard);
            if announcement == Announcement::Invalidated {
                for (node, inbox) in state.inboxes.iter_mut().enumerate() {
                    if node != self.id {
                        inbox.push(key.clone());
                    }
                }
            }
            Announced::Sent
        });
        self.shared.announced.notify(usize::MAX);
        announced
    }

    fn landing(&self, key: &K) -> impl Future<Output = Announcement> {
        let since = self.shared.state.lock().announcements;
        let key = key.clone();
        async move {
            loop {
                // Listen before looking, so an announcement in between wakes this wait.
                let listener = self.shared.announced.listen();
                if let Some(heard) = self.shared.state.lock().last_heard.get(&key)
                    && heard.number > since
                    && heard.from != self.id
                {
                    return heard.announcement;
                }
                listener.await;
            }
        }
    }
}

/// The node's futures are `Send` when its keys, values and timer are: background refreshes
/// can run through it.
impl<K, V, T> SendTier<K, V> for MemoryTierNode<K, V, T>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
    T: Timer + Send + Sync + 'static,
{
    fn fetch_send(&self, key: &K) -> impl Future<Output = Fetched<V>> + Send {
        self.fetch(key)
    }

    fn store_send(&self, key: &K, value: &V, ttl: Duration) -> impl Future<Output = Stored> + Send {
        self.store(key, value, ttl)
    }

    fn delete_send(&self, key: &K) -> impl Future<Output = Deleted> + Send {
        self.delete(key)
    }

    fn lock_send(
        &self,
        key: &K,
        hold_for: Duration,
    ) -> impl Future<Output = LockOutcome<MemoryToken>> + Send {
        self.lock(key, hold_for)
    }

    fn unlock_send(&self, key: &K, token: MemoryToken) -> impl Future<Output = Unlocked> + Send {
        self.unlock(key, token)
    }

    fn announce_send(
        &self,
        key: &K,
        announcement: Announcement,
    ) -> impl Future<Output = Announced> + Send {
        self.announce(key, announcement)
    }

    fn landing_send(&self, key: &K) -> impl Future<Output = Announcement> + Send {
        self.landing(key)
    }
}

impl<K, V, T> core::fmt::Debug for MemoryTier<K, V, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MemoryTier").finish_non_exhaustive()
    }
}

impl<K, V, T> core::fmt::Debug for MemoryTierNode<K, V, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MemoryTierNode")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

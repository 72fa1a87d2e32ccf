//! A shared tier for the core's tests: `MemoryTier` nodes that count the calls made to them,
//! and tiered caches of `u32` keys and values on a `ManualTimer`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use readthrough_core::{
    Announced, Announcement, Builder, Cache, Deleted, Fetched, LockOutcome, ManualTimer,
    MemoryTier, MemoryTierNode, MemoryToken, SendTier, Stored, Tier, Tiered, Timer, Unlocked,
};

use super::{ManualRuntime, Tasks};

pub const TTL: Duration = Duration::from_secs(60);
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a tiered leader waits for another node's landing: half the lock timeout.
pub const FLEET_WAIT: Duration = Duration::from_secs(1);

/// Calls one node made to the tier, per method.
#[derive(Default)]
pub struct TierCalls {
    pub fetches: AtomicUsize,
    pub locks: AtomicUsize,
    pub stores: AtomicUsize,
    pub announcements: AtomicUsize,
    /// Runs once, just before the next lock is taken: lets a test interleave another node.
    pub before_lock: std::sync::Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

impl TierCalls {
    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
    pub fn locks(&self) -> usize {
        self.locks.load(Ordering::SeqCst)
    }
    pub fn stores(&self) -> usize {
        self.stores.load(Ordering::SeqCst)
    }
    pub fn before_lock(&self, action: impl FnOnce() + Send + 'static) {
        *self.before_lock.lock().unwrap() = Some(Box::new(action));
    }
}

/// A `MemoryTier` node that counts what is asked of it.
pub struct CountingNode {
    pub node: MemoryTierNode<u32, u32, ManualTimer>,
    pub calls: Arc<TierCalls>,
}

fn count(counter: &AtomicUsize) {
    counter.fetch_add(1, Ordering::SeqCst);
}

impl Tier<u32, u32> for CountingNode {
    type Token = MemoryToken;

    async fn fetch(&self, key: &u32) -> Fetched<u32> {
        count(&self.calls.fetches);
        self.node.fetch(key).await
    }

    async fn store(&self, key: &u32, value: &u32, ttl: Duration) -> Stored {
        count(&self.calls.stores);
        self.node.store(key, value, ttl).await
    }

    async fn delete(&self, key: &u32) -> Deleted {
        self.node.delete(key).await
    }

    async fn lock(&self, key: &u32, hold_for: Duration) -> LockOutcome<MemoryToken> {
        count(&self.calls.locks);
        let action = self.calls.before_lock.lock().unwrap().take();
        if let Some(action) = action {
            action();
        }
        self.node.lock(key, hold_for).await
    }

    async fn unlock(&self, key: &u32, token: MemoryToken) -> Unlocked {
        self.node.unlock(key, token).await
    }

    async fn announce(&self, key: &u32, announcement: Announcement) -> Announced {
        count(&self.calls.announcements);
        self.node.announce(key, announcement).await
    }

    fn landing(&self, key: &u32) -> impl Future<Output = Announcement> {
        self.node.landing(key)
    }
}

/// Counted as through `Tier`: background refreshes call these.
impl SendTier<u32, u32> for CountingNode {
    fn fetch_send(&self, key: &u32) -> impl Future<Output = Fetched<u32>> + Send {
        self.fetch(key)
    }

    fn store_send(
        &self,
        key: &u32,
        value: &u32,
        ttl: Duration,
    ) -> impl Future<Output = Stored> + Send {
        self.store(key, value, ttl)
    }

    fn delete_send(&self, key: &u32) -> impl Future<Output = Deleted> + Send {
        self.delete(key)
    }

    fn lock_send(
        &self,
        key: &u32,
        hold_for: Duration,
    ) -> impl Future<Output = LockOutcome<MemoryToken>> + Send {
        self.lock(key, hold_for)
    }

    fn unlock_send(&self, key: &u32, token: MemoryToken) -> impl Future<Output = Unlocked> + Send {
        self.unlock(key, token)
    }

    fn announce_send(
        &self,
        key: &u32,
        announcement: Announcement,
    ) -> impl Future<Output = Announced> + Send {
        self.announce(key, announcement)
    }

    fn landing_send(&self, key: &u32) -> impl Future<Output = Announcement> + Send {
        self.landing(key)
    }
}

/// A tiered node whose cache's timer is `T`.
pub type NodeOn<T> = Tiered<Cache<u32, u32, String, T>, CountingNode>;

pub type Node = NodeOn<ManualTimer>;

/// A tiered node whose background refreshes are spawned on [`Tasks`].
pub type BackgroundNode = NodeOn<ManualRuntime>;

/// A tiered cache on a new node of `tier` (TTL 60 s, lock timeout 2 s), with its call counts.
pub fn node(
    tier: &MemoryTier<u32, u32, ManualTimer>,
    timer: &ManualTimer,
) -> (Node, Arc<TierCalls>) {
    node_with(tier, timer, |builder| builder)
}

/// The builder of a tiered node's cache, for `node_with` to add options to.
pub type NodeBuilder = Builder<u32, u32, String, ManualTimer>;

/// [`node`], with the cache's builder passed through `configure` (stale window, fail-safe...).
pub fn node_with(
    tier: &MemoryTier<u32, u32, ManualTimer>,
    timer: &ManualTimer,
    configure: impl FnOnce(NodeBuilder) -> NodeBuilder,
) -> (Node, Arc<TierCalls>) {
    node_on(tier, timer.clone(), configure)
}

/// The builder of a background node's cache.
pub type BackgroundBuilder = Builder<u32, u32, String, ManualRuntime>;

/// [`node_with`] on a cache that spawns its background refreshes on `tasks`.
pub fn background_node_with(
    tier: &MemoryTier<u32, u32, ManualTimer>,
    timer: &ManualTimer,
    tasks: &Tasks,
    configure: impl FnOnce(BackgroundBuilder) -> BackgroundBuilder,
) -> (Arc<BackgroundNode>, Arc<TierCalls>) {
    let runtime = ManualRuntime::new(timer.clone(), tasks.clone());
    let (node, calls) = node_on(tier, runtime, configure);
    (Arc::new(node), calls)
}

fn node_on<T: Timer>(
    tier: &MemoryTier<u32, u32, ManualTimer>,
    timer: T,
    configure: impl FnOnce(Builder<u32, u32, String, T>) -> Builder<u32, u32, String, T>,
) -> (NodeOn<T>, Arc<TierCalls>) {
    let builder = Cache::<u32, u32, String>::builder()
        .capacity(64)
        .shards(1)
        .timer(timer)
        .ttl(TTL)
        .lock_timeout(LOCK_TIMEOUT);
    let cache = configure(builder).build().unwrap();
    let calls = Arc::new(TierCalls::default());
    let counting = CountingNode {
        node: tier.node(),
        calls: calls.clone(),
    };
    (Tiered::new(cache, counting).unwrap(), calls)
}

//! The same caches as each one's own `::new(capacity)` gives them: default hasher, shards and
//! options (readthrough: foldhash and its default shards; moka: std's SipHash; quick_cache:
//! its `DefaultHashBuilder` (foldhash) and `available_parallelism() * 4` shards; pingora's
//! `RTCache::new` has no other configuration, so its default contender is [`super::Pingora`]).
//! Storms are not run on these; their storm types are the equal-hasher ones.

use crate::contender::{Contender, Lookup};
use crate::loader::LoadFailed;
use crate::peers::{MokaStorm, QuickCacheStorm, ReadthroughStorm};

/// `readthrough_core::Cache::new(capacity)`.
pub struct ReadthroughDefaults(readthrough_core::Cache<u64, u64, LoadFailed>);

impl Contender for ReadthroughDefaults {
    const NAME: &'static str = "readthrough";
    type Storm = ReadthroughStorm;

    fn with_capacity(capacity: usize) -> Self {
        Self(
            readthrough_core::Cache::new(capacity)
                .unwrap_or_else(|error| panic!("readthrough rejected {capacity}: {error}")),
        )
    }

    async fn get_or_load(&self, key: u64) -> Lookup {
        super::readthrough::lookup(&self.0, key).await
    }

    fn plain_get(&self, key: u64) -> Option<Option<u64>> {
        Some(self.0.get(&key))
    }

    async fn settle(&self) {}

    fn entry_count(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

/// readthrough's defaults but for the shard lock: `ParkingLotLock`, the default before
/// `ReadMostlyLock` (`hit_threads` shows the two side by side).
pub struct ReadthroughParkingLot(
    readthrough_core::Cache<
        u64,
        u64,
        LoadFailed,
        readthrough_core::NoTimer,
        readthrough_core::DefaultHashBuilder,
        readthrough_core::ParkingLotLock,
    >,
);

impl Contender for ReadthroughParkingLot {
    const NAME: &'static str = "readthrough (ParkingLotLock)";
    type Storm = ReadthroughStorm;

    fn with_capacity(capacity: usize) -> Self {
        Self(
            readthrough_core::Cache::builder()
                .capacity(capacity)
                .lock::<readthrough_core::ParkingLotLock>()
                .build()
                .unwrap_or_else(|error| panic!("readthrough rejected {capacity}: {error}")),
        )
    }

    async fn get_or_load(&self, key: u64) -> Lookup {
        super::readthrough::lookup(&self.0, key).await
    }

    fn plain_get(&self, key: u64) -> Option<Option<u64>> {
        Some(self.0.get(&key))
    }

    async fn settle(&self) {}

    fn entry_count(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

/// `moka::future::Cache::new(capacity)`.
pub struct MokaDefaults(moka::future::Cache<u64, u64>);

impl Contender for MokaDefaults {
    const NAME: &'static str = "moka get_with";
    type Storm = MokaStorm;

    fn with_capacity(capacity: usize) -> Self {
        Self(moka::future::Cache::new(capacity as u64))
    }

    async fn get_or_load(&self, key: u64) -> Lookup {
        super::moka::lookup(&self.0, key).await
    }

    fn plain_get(&self, _key: u64) -> Option<Option<u64>> {
        None
    }

    async fn settle(&self) {
        self.0.run_pending_tasks().await;
    }

    fn entry_count(&self) -> Option<usize> {
        Some(self.0.entry_count() as usize)
    }
}

/// `quick_cache::sync::Cache::new(capacity)`.
pub struct QuickCacheDefaults(quick_cache::sync::Cache<u64, u64>);

impl Contender for QuickCacheDefaults {
    const NAME: &'static str = "quick_cache";
    type Storm = QuickCacheStorm;

    fn with_capacity(capacity: usize) -> Self {
        Self(quick_cache::sync::Cache::new(capacity))
    }

    async fn get_or_load(&self, key: u64) -> Lookup {
        super::quick_cache::lookup(&self.0, key).await
    }

    fn plain_get(&self, key: u64) -> Option<Option<u64>> {
        Some(self.0.get(&key))
    }

    async fn settle(&self) {}

    fn entry_count(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

//! quick_cache's `sync::Cache` driven through `get_or_insert_async`, with ahash like the others.

use core::hash::BuildHasher;

use quick_cache::sync::{Cache, DefaultLifecycle};
use quick_cache::{OptionsBuilder, UnitWeighter};

use crate::contender::{Contender, Lookup, StormContender};
use crate::loader::{LoadFailed, StormOutcome, slow_load};

type Inner = Cache<u64, u64, UnitWeighter, ahash::RandomState, DefaultLifecycle<u64, u64>>;

/// A read-through lookup with the instant loader, as every quick_cache contender makes it.
pub(crate) async fn lookup<S: BuildHasher + Clone>(
    cache: &Cache<u64, u64, UnitWeighter, S, DefaultLifecycle<u64, u64>>,
    key: u64,
) -> Lookup {
    let mut loaded = false;
    let value = cache
        .get_or_insert_async(&key, async {
            loaded = true;
            Ok::<u64, LoadFailed>(key)
        })
        .await
        .unwrap_or(u64::MAX);
    Lookup { value, loaded }
}

/// `quick_cache::sync::Cache` of `capacity` unit-weight items.
pub struct QuickCache(Inner);

fn bounded(capacity: usize) -> Inner {
    let options = OptionsBuilder::new()
        .estimated_items_capacity(capacity)
        .weight_capacity(capacity as u64)
        .build()
        .unwrap_or_else(|error| panic!("quick_cache rejected capacity {capacity}: {error:?}"));
    Cache::with_options(
        options,
        UnitWeighter,
        ahash::RandomState::new(),
        DefaultLifecycle::default(),
    )
}

impl Contender for QuickCache {
    const NAME: &'static str = "quick_cache";
    type Storm = QuickCacheStorm;

    fn with_capacity(capacity: usize) -> Self {
        Self(bounded(capacity))
    }

    async fn get_or_load(&self, key: u64) -> Lookup {
        lookup(&self.0, key).await
    }

    fn plain_get(&self, key: u64) -> Option<Option<u64>> {
        Some(self.0.get(&key))
    }

    async fn settle(&self) {}

    fn entry_count(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

/// `quick_cache::sync::Cache` whose loads run the storm loader.
pub struct QuickCacheStorm {
    cache: Inner,
    outcome: StormOutcome,
}

impl StormContender for QuickCacheStorm {
    fn for_storm(capacity: usize, outcome: StormOutcome) -> Self {
        Self {
            cache: bounded(capacity),
            outcome,
        }
    }

    async fn get_or_load_slowly(&self, key: u64) -> Result<u64, LoadFailed> {
        self.cache
            .get_or_insert_async(&key, slow_load(key, self.outcome))
            .await
    }
}

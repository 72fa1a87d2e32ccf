//! moka's `future::Cache` driven through `get_with` / `try_get_with`, with ahash like the others.

use core::hash::BuildHasher;

use moka::future::Cache;

use crate::contender::{Contender, Lookup, StormContender};
use crate::loader::{LoadFailed, StormOutcome, slow_load};

/// A read-through lookup with the instant loader, as every moka contender makes it.
pub(crate) async fn lookup<S: BuildHasher + Clone + Send + Sync + 'static>(
    cache: &Cache<u64, u64, S>,
    key: u64,
) -> Lookup {
    let mut loaded = false;
    let value = cache
        .get_with(key, async {
            loaded = true;
            key
        })
        .await;
    Lookup { value, loaded }
}

/// `moka::future::Cache` bounded by entry count.
pub struct Moka(Cache<u64, u64, ahash::RandomState>);

fn bounded(capacity: usize) -> Cache<u64, u64, ahash::RandomState> {
    Cache::builder()
        .max_capacity(capacity as u64)
        .build_with_hasher(ahash::RandomState::new())
}

impl Contender for Moka {
    const NAME: &'static str = "moka get_with";
    type Storm = MokaStorm;

    fn with_capacity(capacity: usize) -> Self {
        Self(bounded(capacity))
    }

    async fn get_or_load(&self, key: u64) -> Lookup {
        lookup(&self.0, key).await
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

/// `moka::future::Cache` whose loads go through `try_get_with` with the storm loader.
pub struct MokaStorm {
    cache: Cache<u64, u64, ahash::RandomState>,
    outcome: StormOutcome,
}

impl StormContender for MokaStorm {
    fn for_storm(capacity: usize, outcome: StormOutcome) -> Self {
        Self {
            cache: bounded(capacity),
            outcome,
        }
    }

    async fn get_or_load_slowly(&self, key: u64) -> Result<u64, LoadFailed> {
        self.cache
            .try_get_with(key, slow_load(key, self.outcome))
            .await
            .map_err(|error| *error)
    }
}

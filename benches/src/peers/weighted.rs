//! The caches that bound by weight (readthrough's `weigher`, moka's `weigher`, quick_cache's
//! `Weighter`; pingora's `RTCache` has none), each weighing an entry by its body's length,
//! each with ahash, each told the same estimate of how many entries it will hold, each driven
//! through its read-through API with a loader that makes the key's body at once.

use std::sync::Arc;

use crate::body::Body;
use crate::loader::LoadFailed;

/// A u64 → [`Body`] read-through cache bounded by the total length of its bodies.
pub trait WeightedContender: Send + Sync + Sized + 'static {
    /// The name in the table (the same column as its [`crate::contender::Contender`]).
    const NAME: &'static str;

    /// A cache of at most `capacity` body bytes, told to expect about `entries` entries; its
    /// loader answers key `k` with a new body of `sizes[k]` bytes.
    fn with_weight_capacity(capacity: usize, entries: usize, sizes: Arc<[u32]>) -> Self;

    /// Looks `key` up through the read-through API: the body, and whether this call loaded it.
    fn get_or_load(&self, key: u64) -> impl Future<Output = (Body, bool)> + Send;

    /// Runs maintenance the cache defers (moka's pending tasks); a no-op for the others.
    fn settle(&self) -> impl Future<Output = ()> + Send;

    /// How many entries the cache holds.
    fn entry_count(&self) -> usize;

    /// The total weight the cache itself accounts for (its own figure).
    fn weight(&self) -> u64;

    /// Entries the cache answered but did not store for being too heavy, where it counts them.
    fn oversized(&self) -> Option<u64> {
        None
    }
}

fn body_of(sizes: &[u32], key: u64) -> Body {
    Body::new(sizes[key as usize] as usize)
}

mod readthrough_weighted {
    use super::*;
    use readthrough_core::{Cache, DefaultLock, NoListener, NoTimer, Status, Weigher, Weighted};

    /// Weighs a body by its length.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct BodyLength;

    impl Weigher<u64, Body> for BodyLength {
        fn weigh(&self, _key: &u64, body: &Body) -> usize {
            body.len()
        }
    }

    type Inner = Cache<
        u64,
        Body,
        LoadFailed,
        NoTimer,
        ahash::RandomState,
        DefaultLock,
        Weighted<BodyLength>,
        NoListener,
    >;

    /// readthrough with `.weigher(BodyLength).preallocate(entries)`.
    pub struct ReadthroughWeighted {
        cache: Inner,
        sizes: Arc<[u32]>,
    }

    impl WeightedContender for ReadthroughWeighted {
        const NAME: &'static str = "readthrough";

        fn with_weight_capacity(capacity: usize, entries: usize, sizes: Arc<[u32]>) -> Self {
            let cache = Cache::builder()
                .capacity(capacity)
                .hasher(ahash::RandomState::new())
                .weigher(BodyLength)
                .preallocate(entries)
                .build()
                .unwrap_or_else(|error| panic!("readthrough rejected {capacity} bytes: {error}"));
            Self { cache, sizes }
        }

        async fn get_or_load(&self, key: u64) -> (Body, bool) {
            let sizes = &self.sizes;
            let answer = self
                .cache
                .get_or_load(&key, |key: &u64| {
                    let body = body_of(sizes, *key);
                    async move { Ok(body) }
                })
                .await
                .unwrap_or_else(|_| panic!("the instant loader does not fail"));
            (answer.value, answer.status != Status::Hit)
        }

        async fn settle(&self) {}

        fn entry_count(&self) -> usize {
            self.cache.len()
        }

        fn weight(&self) -> u64 {
            self.cache.weight() as u64
        }

        fn oversized(&self) -> Option<u64> {
            Some(self.cache.stats().oversized as u64)
        }
    }
}

mod moka_weighted {
    use super::*;
    use moka::future::Cache;

    /// moka's `future::Cache` with `.weigher(..)` (a `u32` per entry) and `initial_capacity`.
    pub struct MokaWeighted {
        cache: Cache<u64, Body, ahash::RandomState>,
        sizes: Arc<[u32]>,
    }

    impl WeightedContender for MokaWeighted {
        const NAME: &'static str = "moka get_with";

        fn with_weight_capacity(capacity: usize, entries: usize, sizes: Arc<[u32]>) -> Self {
            let cache = Cache::builder()
                .max_capacity(capacity as u64)
                .initial_capacity(entries)
                .weigher(|_key: &u64, body: &Body| body.len() as u32)
                .build_with_hasher(ahash::RandomState::new());
            Self { cache, sizes }
        }

        async fn get_or_load(&self, key: u64) -> (Body, bool) {
            let mut loaded = false;
            let body = self
                .cache
                .get_with(key, async {
                    loaded = true;
                    body_of(&self.sizes, key)
                })
                .await;
            (body, loaded)
        }

        async fn settle(&self) {
            self.cache.run_pending_tasks().await;
        }

        fn entry_count(&self) -> usize {
            self.cache.entry_count() as usize
        }

        fn weight(&self) -> u64 {
            self.cache.weighted_size()
        }
    }
}

mod quick_cache_weighted {
    use super::*;
    use quick_cache::sync::{Cache, DefaultLifecycle};
    use quick_cache::{OptionsBuilder, Weighter};

    /// Weighs a body by its length.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct BodyWeighter;

    impl Weighter<u64, Body> for BodyWeighter {
        fn weight(&self, _key: &u64, body: &Body) -> u64 {
            body.len() as u64
        }
    }

    type Inner = Cache<u64, Body, BodyWeighter, ahash::RandomState, DefaultLifecycle<u64, Body>>;

    /// quick_cache's `sync::Cache` with `weight_capacity` and a [`BodyWeighter`].
    pub struct QuickCacheWeighted {
        cache: Inner,
        sizes: Arc<[u32]>,
    }

    impl WeightedContender for QuickCacheWeighted {
        const NAME: &'static str = "quick_cache";

        fn with_weight_capacity(capacity: usize, entries: usize, sizes: Arc<[u32]>) -> Self {
            let options = OptionsBuilder::new()
                .estimated_items_capacity(entries)
                .weight_capacity(capacity as u64)
                .build()
                .unwrap_or_else(|error| panic!("quick_cache rejected {capacity}: {error:?}"));
            let cache = Cache::with_options(
                options,
                BodyWeighter,
                ahash::RandomState::new(),
                DefaultLifecycle::default(),
            );
            Self { cache, sizes }
        }

        async fn get_or_load(&self, key: u64) -> (Body, bool) {
            let mut loaded = false;
            let body = self
                .cache
                .get_or_insert_async(&key, async {
                    loaded = true;
                    Ok::<Body, LoadFailed>(body_of(&self.sizes, key))
                })
                .await
                .unwrap_or_else(|_| panic!("the instant loader does not fail"));
            (body, loaded)
        }

        async fn settle(&self) {}

        fn entry_count(&self) -> usize {
            self.cache.len()
        }

        fn weight(&self) -> u64 {
            self.cache.weight()
        }
    }
}

pub use self::moka_weighted::MokaWeighted;
pub use self::quick_cache_weighted::{BodyWeighter, QuickCacheWeighted};
pub use self::readthrough_weighted::{BodyLength, ReadthroughWeighted};

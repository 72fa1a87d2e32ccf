//! readthrough's own cache, built with `Cache::builder().capacity(n)` and driven through
//! `get_or_load` with a closure loader, with ahash like the others. Storms run it on tokio's
//! timer (`readthrough-tokio`), as a tokio service would; the other workloads need no timer.

use core::hash::BuildHasher;

use readthrough_core::{Cache, NoTimer, RawLock, Status};
use readthrough_tokio::TokioTimer;

use crate::contender::{Contender, Lookup, StormContender};
use crate::loader::{LoadFailed, StormOutcome, slow_load};

/// The cache type behind [`Readthrough`].
pub type ReadthroughCache = Cache<u64, u64, LoadFailed, NoTimer, ahash::RandomState>;
type Inner = ReadthroughCache;

fn bounded(capacity: usize) -> Inner {
    Cache::builder()
        .capacity(capacity)
        .hasher(ahash::RandomState::new())
        .build()
        .unwrap_or_else(|error| panic!("readthrough rejected capacity {capacity}: {error}"))
}

/// A read-through lookup with the instant loader (a closure), as every readthrough contender
/// makes it.
pub(crate) async fn lookup<S: BuildHasher, L: RawLock>(
    cache: &Cache<u64, u64, LoadFailed, NoTimer, S, L>,
    key: u64,
) -> Lookup {
    let loaded = cache
        .get_or_load(&key, |key: &u64| {
            let key = *key;
            async move { Ok(key) }
        })
        .await;
    match loaded {
        Ok(answer) => Lookup {
            value: answer.value,
            loaded: answer.status != Status::Hit,
        },
        Err(_) => Lookup {
            value: u64::MAX,
            loaded: true,
        },
    }
}

/// `readthrough_core::Cache` with default shards and lock.
pub struct Readthrough(Inner);

impl Readthrough {
    /// The cache itself, for measuring its API without this wrapper.
    ///
    /// ```
    /// use readthrough_benches::contender::Contender;
    /// use readthrough_benches::peers::Readthrough;
    /// let wrapped = Readthrough::with_capacity(10);
    /// wrapped.cache().insert(1, 2);
    /// assert_eq!(wrapped.cache().get(&1), Some(2));
    /// ```
    pub fn cache(&self) -> &ReadthroughCache {
        &self.0
    }
}

impl Contender for Readthrough {
    const NAME: &'static str = "readthrough";
    type Storm = ReadthroughStorm;

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

type OnTokio = Cache<u64, u64, LoadFailed, TokioTimer, ahash::RandomState>;

/// readthrough's cache on tokio's timer whose loads run the storm loader.
pub struct ReadthroughStorm {
    cache: OnTokio,
    outcome: StormOutcome,
}

impl StormContender for ReadthroughStorm {
    fn for_storm(capacity: usize, outcome: StormOutcome) -> Self {
        let cache = Cache::builder()
            .capacity(capacity)
            .hasher(ahash::RandomState::new())
            .timer(TokioTimer::new())
            .build()
            .unwrap_or_else(|error| panic!("readthrough rejected capacity {capacity}: {error}"));
        Self { cache, outcome }
    }

    async fn get_or_load_slowly(&self, key: u64) -> Result<u64, LoadFailed> {
        let outcome = self.outcome;
        self.cache
            .get_or_load(&key, |key: &u64| slow_load(*key, outcome))
            .await
            .map(|answer| answer.value)
            .map_err(|_| LoadFailed)
    }
}

//! What every cache in the comparison offers the workloads.

use core::future::Future;

use crate::loader::{LoadFailed, StormOutcome};

/// The result of one read-through lookup with the instant loader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lookup {
    /// The value (the instant loader stores the key itself).
    pub value: u64,
    /// Whether this call ran the loader (a miss) rather than finding the value.
    pub loaded: bool,
}

/// A u64 → u64 read-through cache driven through the API its documentation recommends.
pub trait Contender: Send + Sync + Sized + 'static {
    /// The name in the table.
    const NAME: &'static str;

    /// The same cache configured for storms, whose loader sleeps and may fail.
    type Storm: StormContender;

    /// A cache that holds `capacity` entries.
    fn with_capacity(capacity: usize) -> Self;

    /// Looks `key` up through the read-through API; on a miss the instant loader stores `key`.
    fn get_or_load(&self, key: u64) -> impl Future<Output = Lookup> + Send;

    /// The plain (non-loading) lookup, where the cache has a synchronous one.
    fn plain_get(&self, key: u64) -> Option<Option<u64>>;

    /// Runs maintenance the cache defers (moka's pending tasks); a no-op for the others.
    fn settle(&self) -> impl Future<Output = ()> + Send;

    /// How many entries the cache holds, where it can tell.
    fn entry_count(&self) -> Option<usize>;
}

/// A cache whose loader is [`crate::loader::slow_load`].
pub trait StormContender: Send + Sync + Sized + 'static {
    /// A cache of `capacity` entries whose loader ends with `outcome`.
    fn for_storm(capacity: usize, outcome: StormOutcome) -> Self;

    /// Looks `key` up through the read-through API with the slow loader.
    fn get_or_load_slowly(&self, key: u64) -> impl Future<Output = Result<u64, LoadFailed>> + Send;
}

//! What can go wrong: a failed load (shared by everyone who waited for it) or a refused build.

use core::fmt;

use crate::sync::Arc;

/// Why a read-through call produced no value.
///
/// Cloning is cheap: a loader's error is shared behind an [`Arc`] by every caller that waited
/// for the same load.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error<E> {
    /// The loader returned this error. Every caller that waited for the same load receives the
    /// same `Arc`; the loader ran once.
    Load(Arc<E>),
    /// The load ran longer than the cache's `load_timeout` and was abandoned.
    LoadTimeout,
    /// A batch loader returned `returned` values for `expected` keys. Nothing was cached.
    BatchSize {
        /// How many keys the loader was asked for.
        expected: usize,
        /// How many values it returned.
        returned: usize,
    },
}

impl<E> Error<E> {
    /// The loader's error, when this is [`Error::Load`].
    ///
    /// ```
    /// use readthrough_core::{Arc, Error};
    /// let error: Error<&str> = Error::Load(Arc::new("no such row"));
    /// assert_eq!(error.load_error(), Some(&"no such row"));
    /// ```
    pub fn load_error(&self) -> Option<&E> {
        match self {
            Error::Load(error) => Some(error),
            _ => None,
        }
    }
}

impl<E> Clone for Error<E> {
    fn clone(&self) -> Self {
        match self {
            Error::Load(error) => Error::Load(Arc::clone(error)),
            Error::LoadTimeout => Error::LoadTimeout,
            Error::BatchSize { expected, returned } => Error::BatchSize {
                expected: *expected,
                returned: *returned,
            },
        }
    }
}

impl<E: fmt::Display> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Load(error) => write!(f, "load failed: {}", &**error),
            Error::LoadTimeout => f.write_str("load timed out"),
            Error::BatchSize { expected, returned } => write!(
                f,
                "batch loader returned {returned} values for {expected} keys"
            ),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> core::error::Error for Error<E> {}

/// Why a [`Builder`](crate::Builder) refused to build a cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// `capacity(0)`: a cache that can hold nothing would turn every call into a load.
    ZeroCapacity,
    /// `shards(0)`.
    ZeroShards,
    /// More shards than entries: some shards could hold nothing.
    MoreShardsThanCapacity {
        /// The requested shard count.
        shards: usize,
        /// The requested capacity.
        capacity: usize,
    },
    /// More shards than [`MAX_SHARDS`](crate::MAX_SHARDS).
    TooManyShards {
        /// The requested shard count.
        shards: usize,
        /// The most shards a cache can have.
        max: usize,
    },
    /// A shard would hold more than `u32::MAX` entries (or units of weight).
    ShardTooLarge {
        /// The fewest shards that split the capacity finely enough.
        shards_needed: usize,
    },
    /// The allocator refused the memory that [`preallocate`](crate::Builder::preallocate) (or
    /// the shard table) asked for: reserve less, or do not preallocate.
    Allocation,
    /// `preallocate()` was called before `weigher(..)`: a weighted cache cannot know how many
    /// entries its capacity holds, so it needs `preallocate(entries)` after `weigher(..)`.
    PreallocateNeedsEntries,
    /// `remembered_errors(0)`: to remember no errors, leave `negative_ttl` unset.
    ZeroRememberedErrors,
    /// A duration option was zero where zero has no meaning (`lock_age`, `lock_timeout`,
    /// `load_timeout`, `refresh_ahead`, `fail_safe throttle`, `soft_timeout`); the name says
    /// which.
    ZeroDuration(&'static str),
    /// A [`Tiered`](crate::Tiered) cache was built on a cache without this option:
    /// `lock_timeout` (how long to wait for another node's load) or `ttl` (how long values
    /// live in the shared tier).
    TierNeeds(&'static str),
    /// [`RefreshAhead::AfterPercent`](crate::RefreshAhead::AfterPercent) outside 1 to 99.
    RefreshAheadPercent,
    /// [`RefreshAhead::AfterPercent`](crate::RefreshAhead::AfterPercent) without a `ttl`
    /// (or with a zero one) to take the percentage of.
    RefreshAheadNeedsTtl,
    /// [`RefreshAhead::BeforeExpiry`](crate::RefreshAhead::BeforeExpiry) as long as the `ttl`
    /// or longer: every hit would start a refresh.
    RefreshAheadNotBeforeTtl,
    /// `soft_timeout` without `fail_safe`: the soft timeout answers with the fail-safe value.
    SoftTimeoutNeedsFailSafe,
    /// `soft_timeout` as long as `load_timeout` or longer: the load would end first.
    SoftTimeoutNotBelowLoadTimeout,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::ZeroCapacity => f.write_str("cache capacity must be at least 1"),
            BuildError::ZeroShards => f.write_str("shard count must be at least 1"),
            BuildError::MoreShardsThanCapacity { shards, capacity } => write!(
                f,
                "{shards} shards for a capacity of {capacity}: use at most one shard per entry"
            ),
            BuildError::TooManyShards { shards, max } => {
                write!(f, "{shards} shards requested; use at most {max}")
            }
            BuildError::ShardTooLarge { shards_needed } => write!(
                f,
                "a shard would hold more than u32::MAX units of capacity; use at least {shards_needed} shards"
            ),
            BuildError::Allocation => f.write_str(
                "the allocator refused the memory to preallocate; preallocate fewer entries or none",
            ),
            BuildError::PreallocateNeedsEntries => f.write_str(
                "a cache with a weigher needs `preallocate(entries)` after `weigher(..)`",
            ),
            BuildError::ZeroRememberedErrors => f.write_str(
                "`remembered_errors` must be at least 1; leave `negative_ttl` unset to remember none",
            ),
            BuildError::ZeroDuration(option) => write!(f, "`{option}` must be longer than zero"),
            BuildError::TierNeeds(option) => {
                write!(f, "a cache with a shared tier needs `{option}` to be set")
            }
            BuildError::RefreshAheadPercent => f.write_str(
                "`refresh_ahead(RefreshAhead::AfterPercent(percent))` needs a percentage from 1 to 99, e.g. 80",
            ),
            BuildError::RefreshAheadNeedsTtl => f.write_str(
                "`RefreshAhead::AfterPercent` is a percentage of the TTL: set a non-zero `ttl(..)`, or use `RefreshAhead::BeforeExpiry(duration)`",
            ),
            BuildError::SoftTimeoutNeedsFailSafe => f.write_str(
                "`soft_timeout` answers with the fail-safe value: set `fail_safe(max_stale, throttle)` too",
            ),
            BuildError::SoftTimeoutNotBelowLoadTimeout => f.write_str(
                "`soft_timeout` must be shorter than `load_timeout`, the hard limit of the load it stops waiting for",
            ),
            BuildError::RefreshAheadNotBeforeTtl => f.write_str(
                "`RefreshAhead::BeforeExpiry` must be shorter than the `ttl`, or every hit starts a refresh",
            ),
        }
    }
}

impl core::error::Error for BuildError {}

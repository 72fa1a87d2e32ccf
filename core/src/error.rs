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
    /// A shard would hold more than `u32::MAX` entries; use more shards.
    ShardTooLarge,
    /// A duration option was zero where zero has no meaning (`lock_age`, `lock_timeout`,
    /// `load_timeout`); the name says which.
    ZeroDuration(&'static str),
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
            BuildError::ShardTooLarge => {
                f.write_str("a shard would exceed u32::MAX entries; use more shards")
            }
            BuildError::ZeroDuration(option) => write!(f, "`{option}` must be longer than zero"),
        }
    }
}

impl core::error::Error for BuildError {}

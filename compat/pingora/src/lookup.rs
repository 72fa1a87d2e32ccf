//! The callbacks an `RTCache` runs on a miss, with Pingora's exact shapes.

use std::time::Duration;

use async_trait::async_trait;
use pingora_error::ErrorTrait;

/// Produces the value for a key that is not cached. Same trait as
/// `pingora_memory_cache::Lookup`: an associated function (no `self`), made async with
/// `#[async_trait]`. `extra` carries whatever per-call context the caller passed to
/// [`RTCache::get`](crate::RTCache::get).
///
/// The returned TTL, when `Some`, overrides the `ttl` argument of the `get` call that ran the
/// lookup.
///
/// ```
/// use async_trait::async_trait;
/// use pingora_error::ErrorTrait;
/// use readthrough_pingora::Lookup;
/// use std::time::Duration;
///
/// struct Doubler;
///
/// #[async_trait]
/// impl Lookup<u32, u32, ()> for Doubler {
///     async fn lookup(
///         key: &u32,
///         _extra: Option<&()>,
///     ) -> Result<(u32, Option<Duration>), Box<dyn ErrorTrait + Send + Sync>> {
///         Ok((key * 2, Some(Duration::from_secs(60))))
///     }
/// }
/// ```
#[async_trait]
pub trait Lookup<K, T, S> {
    /// The value for `key`, and optionally how long to keep it.
    async fn lookup(
        key: &K,
        extra: Option<&S>,
    ) -> Result<(T, Option<Duration>), Box<dyn ErrorTrait + Send + Sync>>
    where
        K: 'async_trait,
        S: 'async_trait;
}

/// Produces the values for several keys in one call, for backends with batch queries. Same
/// trait as `pingora_memory_cache::MultiLookup`.
///
/// Must return one `(value, ttl)` per key, in the order of `keys`. Pingora panics when the count
/// is wrong; [`RTCache::multi_get`](crate::RTCache::multi_get) returns an error instead and
/// caches nothing from that call.
///
/// ```
/// use async_trait::async_trait;
/// use pingora_error::ErrorTrait;
/// use readthrough_pingora::MultiLookup;
/// use std::time::Duration;
///
/// struct Squares;
///
/// #[async_trait]
/// impl MultiLookup<u32, u32, ()> for Squares {
///     async fn multi_lookup(
///         keys: &[&u32],
///         _extra: Option<&()>,
///     ) -> Result<Vec<(u32, Option<Duration>)>, Box<dyn ErrorTrait + Send + Sync>> {
///         Ok(keys.iter().map(|key| (**key * **key, None)).collect())
///     }
/// }
/// ```
#[async_trait]
pub trait MultiLookup<K, T, S> {
    /// One `(value, ttl)` per key of `keys`, in the same order.
    async fn multi_lookup(
        keys: &[&K],
        extra: Option<&S>,
    ) -> Result<Vec<(T, Option<Duration>)>, Box<dyn ErrorTrait + Send + Sync>>
    where
        K: 'async_trait,
        S: 'async_trait;
}

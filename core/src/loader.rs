//! What the cache calls on a miss.

use alloc::vec::Vec;
use core::future::Future;

/// Loads the value for one key on a miss.
///
/// Implemented for every closure `Fn(&K) -> impl Future<Output = Result<T, E>>`; implement it
/// yourself for a loader with state. The cache takes the loader by value, so to reuse one
/// loader across calls implement the trait for a reference to it:
///
/// ```
/// use readthrough_core::{Cache, Loader};
/// use std::collections::HashMap;
///
/// struct Db(HashMap<u32, String>);
///
/// impl Loader<u32> for &Db {
///     type Value = String;
///     type Error = &'static str;
///     async fn load(&self, key: &u32) -> Result<String, &'static str> {
///         self.0.get(key).cloned().ok_or("no such row")
///     }
/// }
///
/// # futures_lite::future::block_on(async {
/// let db = Db(HashMap::from([(1, "one".to_string())]));
/// let cache = Cache::<u32, String, &str>::new(100).unwrap();
/// assert_eq!(cache.get_or_load(&1, &db).await.unwrap().value, "one");
/// assert!(cache.get_or_load(&2, &db).await.is_err());
/// # });
/// ```
///
/// A closure works directly; copy what the future needs out of the borrowed key:
///
/// ```
/// use readthrough_core::Cache;
/// # futures_lite::future::block_on(async {
/// let cache = Cache::<u64, u64>::new(100).unwrap();
/// let answer = cache.get_or_load(&21, |k: &u64| { let k = *k; async move { Ok(k * 2) } }).await;
/// assert_eq!(answer.unwrap().value, 42);
/// # });
/// ```
pub trait Loader<K> {
    /// What a load produces: the cached value, or `(value, Option<ttl>)` for the `_with_ttl`
    /// methods.
    type Value;
    /// The error a load can fail with.
    type Error;

    /// Loads the value for `key`.
    fn load(&self, key: &K) -> impl Future<Output = Result<Self::Value, Self::Error>>;
}

impl<K, F, Fut, T, E> Loader<K> for F
where
    F: Fn(&K) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    type Value = T;
    type Error = E;

    fn load(&self, key: &K) -> impl Future<Output = Result<T, E>> {
        self(key)
    }
}

/// Loads the values for several keys in one call (a batch query).
///
/// Must return exactly one value per key, in the order of `keys`; any other count is reported as
/// [`Error::BatchSize`](crate::Error::BatchSize) and nothing is cached. Implemented for every
/// closure `Fn(&[&K]) -> impl Future<Output = Result<Vec<T>, E>>`.
///
/// ```
/// use readthrough_core::Cache;
/// # futures_lite::future::block_on(async {
/// let cache = Cache::<u32, u32>::new(100).unwrap();
/// let squares = |keys: &[&u32]| {
///     let values: Vec<u32> = keys.iter().map(|k| **k * **k).collect();
///     async move { Ok(values) }
/// };
/// let answers = cache.get_or_load_many(&[2, 3], squares).await.unwrap();
/// assert_eq!(answers[1].value, 9);
/// # });
/// ```
pub trait BatchLoader<K> {
    /// What a load produces per key.
    type Value;
    /// The error a load can fail with.
    type Error;

    /// Loads the values for `keys`, one per key, in order.
    fn load_many(&self, keys: &[&K])
    -> impl Future<Output = Result<Vec<Self::Value>, Self::Error>>;
}

impl<K, F, Fut, T, E> BatchLoader<K> for F
where
    F: Fn(&[&K]) -> Fut,
    Fut: Future<Output = Result<Vec<T>, E>>,
{
    type Value = T;
    type Error = E;

    fn load_many(&self, keys: &[&K]) -> impl Future<Output = Result<Vec<T>, E>> {
        self(keys)
    }
}

//! Who hears about entries that leave the cache, and why they left.

/// Why an entry left the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RemovalCause {
    /// Evicted to make room for another entry.
    Evicted,
    /// Past its TTL when it was evicted or replaced.
    Expired,
    /// A newer value for the same key replaced it (an insert or a load that landed).
    Replaced,
    /// Taken out by [`Cache::remove`](crate::Cache::remove).
    Removed,
    /// Taken out by [`Cache::invalidate`](crate::Cache::invalidate).
    Invalidated,
    /// Taken out by [`Cache::clear`](crate::Cache::clear).
    Cleared,
}

/// Hears about every entry that leaves the cache, with its key, its value and the cause.
///
/// Implemented for every closure `Fn(K, V, RemovalCause)`. It runs after the shard lock is
/// released, on the thread whose call removed the entry (an insert, a landing load, `remove`,
/// `clear`), so it may call back into the cache. It receives the key and value by value: the
/// cache is done with them.
///
/// ```
/// use std::sync::Mutex;
/// use readthrough_core::{Cache, RemovalCause};
///
/// let heard = std::sync::Arc::new(Mutex::new(Vec::new()));
/// let log = heard.clone();
/// let cache = Cache::<u32, &str>::builder()
///     .capacity(1)
///     .listener(move |key: u32, value: &'static str, cause: RemovalCause| {
///         log.lock().unwrap().push((key, value, cause));
///     })
///     .build()
///     .unwrap();
/// cache.insert(1, "one");
/// cache.insert(1, "uno");
/// cache.insert(2, "two");
/// assert_eq!(
///     *heard.lock().unwrap(),
///     [(1, "one", RemovalCause::Replaced), (1, "uno", RemovalCause::Evicted)]
/// );
/// ```
pub trait Listener<K, V> {
    /// False for [`NoListener`]: the cache then skips the work of reporting.
    #[doc(hidden)]
    const LISTENS: bool = true;

    /// Called once for every entry that leaves the cache.
    fn on_removal(&self, key: K, value: V, cause: RemovalCause);
}

impl<K, V, F> Listener<K, V> for F
where
    F: Fn(K, V, RemovalCause),
{
    fn on_removal(&self, key: K, value: V, cause: RemovalCause) {
        self(key, value, cause)
    }
}

/// The listener of a cache built without one: entries that leave are dropped (still outside
/// the shard lock).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoListener;

impl<K, V> Listener<K, V> for NoListener {
    const LISTENS: bool = false;

    #[inline]
    fn on_removal(&self, _key: K, _value: V, _cause: RemovalCause) {}
}

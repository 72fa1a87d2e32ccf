//! How much of the capacity an entry takes.

/// Gives each entry a weight; the cache's capacity then bounds the total weight instead of the
/// number of entries.
///
/// The unit is yours: usually bytes (of the value, or of key and value), so that `capacity` is
/// a memory bound. Implemented for every closure `Fn(&K, &V) -> usize`.
///
/// - A weight of 0 counts as 1: every entry takes room, so a cache never holds more entries
///   than its capacity, whatever the weigher says.
/// - An entry heavier than one shard's share of the capacity is handed to its callers but not
///   stored (a [`Status`](crate::Status) is still returned; the next call loads again). Use
///   fewer shards, or a larger capacity, when single entries are large.
/// - The weigher runs outside the shard lock, once per stored value; it must not call back into
///   the cache it weighs for.
///
/// ```
/// use readthrough_core::Cache;
///
/// // At most 1 KiB of bodies, whatever their number.
/// let cache = Cache::<u32, Vec<u8>>::builder()
///     .capacity(1024)
///     .shards(1)
///     .weigher(|_key: &u32, body: &Vec<u8>| body.len())
///     .build()
///     .unwrap();
/// cache.insert(1, vec![0; 600]);
/// cache.insert(2, vec![0; 600]);
/// assert_eq!(cache.weight(), 600);
/// assert_eq!(cache.len(), 1);
/// ```
pub trait Weigher<K, V> {
    /// The weight of an entry, in the unit of the cache's capacity.
    fn weigh(&self, key: &K, value: &V) -> usize;
}

impl<K, V, F> Weigher<K, V> for F
where
    F: Fn(&K, &V) -> usize,
{
    fn weigh(&self, key: &K, value: &V) -> usize {
        self(key, value)
    }
}

/// The weigher of a cache built without one: every entry weighs 1, so the capacity is a number
/// of entries.
#[derive(Clone, Copy, Debug, Default)]
pub struct Unweighted;

/// A weigher given to [`Builder::weigher`](crate::Builder::weigher).
#[derive(Clone, Copy, Debug, Default)]
pub struct Weighted<W>(pub(crate) W);

/// What the store needs from a cache's weigher: [`Unweighted`] or [`Weighted`].
pub trait Weigh<K, V>: sealed::Sealed {
    /// True for [`Unweighted`]: the capacity counts entries.
    #[doc(hidden)]
    const UNIT: bool = false;

    /// The weight to account for `key` and `value`, at least 1.
    #[doc(hidden)]
    fn weight(&self, key: &K, value: &V) -> usize;
}

impl<K, V> Weigh<K, V> for Unweighted {
    const UNIT: bool = true;

    #[inline]
    fn weight(&self, _key: &K, _value: &V) -> usize {
        1
    }
}

impl<K, V, W: Weigher<K, V>> Weigh<K, V> for Weighted<W> {
    #[inline]
    fn weight(&self, key: &K, value: &V) -> usize {
        self.0.weigh(key, value).max(1)
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Unweighted {}
    impl<W> Sealed for super::Weighted<W> {}
}

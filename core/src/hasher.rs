//! The key hasher a cache uses when none is named.

use core::hash::BuildHasher;

/// The default key hasher: foldhash (through hashbrown), seeded per process where the platform
/// allows. Our own type, so that a change of hashbrown's version is not a change of this
/// crate's API; name another [`BuildHasher`] with [`Builder::hasher`](crate::Builder::hasher).
///
/// ```
/// use core::hash::BuildHasher;
/// use readthrough_core::DefaultHashBuilder;
///
/// let hasher = DefaultHashBuilder::default();
/// assert_eq!(hasher.hash_one(42u64), hasher.clone().hash_one(42u64));
/// ```
#[derive(Clone, Default)]
pub struct DefaultHashBuilder(hashbrown::DefaultHashBuilder);

impl BuildHasher for DefaultHashBuilder {
    type Hasher = <hashbrown::DefaultHashBuilder as BuildHasher>::Hasher;

    #[inline]
    fn build_hasher(&self) -> Self::Hasher {
        self.0.build_hasher()
    }
}

impl core::fmt::Debug for DefaultHashBuilder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The seed stays private: it is what keeps keys from being chosen to collide.
        f.write_str("DefaultHashBuilder")
    }
}

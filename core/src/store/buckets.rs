//! How the store's hash table holds its keys: each bucket a slot index with spare bits of the
//! key's hash beside it, and the one rehash function the table is given.

use super::entry::Slot;

/// The table capacity (7/8 of its buckets) at which `keys` fill at most 5/8 of the buckets,
/// where erasing rarely leaves a tombstone (see `Store::make_table_room`).
#[inline]
pub(super) fn roomy(keys: usize) -> usize {
    keys.saturating_mul(7) / 5
}

/// The table's rehash function: the hash stored beside each entry. One function for every
/// call, so that hashbrown's growth code is compiled once (it is large, and flash is scarce).
pub(super) fn stored_hashes<K, V, X>(
    slots: &[Slot<K, V, X>],
    buckets: Buckets,
) -> impl Fn(&u32) -> u64 + '_ {
    move |&bucket| match &slots[buckets.index(bucket) as usize] {
        Slot::Occupied(entry) => entry.hash(),
        _ => 0,
    }
}

/// How a table bucket holds a slot index and, in the bits the index does not need, more of the
/// key's hash than the table's 7-bit control byte. In a full store, one lookup of an absent key
/// in six to ten meets a control byte equal to its own (more as tombstones lengthen the
/// probes); without these bits each such meeting reads a slot to compare keys, a cache line no
/// recent request touched. A store whose slot indexes need all 32 bits keeps no extra hash bits and compares
/// keys on every control-byte match, as a plain table does.
#[derive(Clone, Copy)]
pub(super) struct Buckets {
    /// The low bits, which hold the index.
    index_mask: u32,
    /// The others, which hold hash bits.
    check_mask: u32,
}

impl Buckets {
    /// The layout for a store whose slot indexes stay below `slots` (its capacity: each entry
    /// weighs at least 1). `bucket ^ check(hash)` is then the slot index of the key in the
    /// bucket if its hash is `hash`, and otherwise almost always an index past the last slot.
    pub(super) fn for_slots(slots: usize) -> Self {
        let index_bits = usize::BITS - slots.leading_zeros();
        let index_mask = u32::MAX.checked_shr(32 - index_bits.min(32)).unwrap_or(0);
        Buckets {
            index_mask,
            check_mask: !index_mask,
        }
    }

    /// The hash bits a bucket keeps: above the bucket position's low bits and below the control
    /// byte's top 7, which the table has already matched when it asks.
    #[inline]
    pub(super) fn check(self, hash: u64) -> u32 {
        (hash >> 25) as u32 & self.check_mask
    }

    #[inline]
    pub(super) fn bucket(self, index: u32, hash: u64) -> u32 {
        debug_assert_eq!(
            index & !self.index_mask,
            0,
            "a slot index past the capacity"
        );
        index | self.check(hash)
    }

    #[inline]
    pub(super) fn index(self, bucket: u32) -> u32 {
        bucket & self.index_mask
    }
}

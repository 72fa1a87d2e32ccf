//! A stored entry and the one word that tags it: the kept bits of its key's hash, its queue and
//! how often it was read since its last pass (see the store's module docs).

use core::num::NonZeroU32;

use crate::sync::{AtomicU32, Ordering};

pub(super) const MAX_FREQUENCY: u8 = 3;

/// How many bits of a key's hash its entry keeps: the rest of the entry's tag word holds its
/// queue (1 bit) and frequency (2 bits).
pub(super) const KEPT_HASH_BITS: u32 = 29;
pub(super) const KEPT_HASH_MASK: u32 = (1 << KEPT_HASH_BITS) - 1;
/// The tag bit of an entry in the main queue.
pub(super) const IN_MAIN: u32 = 1 << KEPT_HASH_BITS;
/// The frequency sits in the tag's top bits, so "below the most" is one comparison of the word.
pub(super) const FREQUENCY_SHIFT: u32 = KEPT_HASH_BITS + 1;
pub(super) const MOST_READ: u32 = (MAX_FREQUENCY as u32) << FREQUENCY_SHIFT;

/// The hash bits an entry keeps: the low ones, which hashbrown already relies on being varied.
#[inline]
pub(super) fn kept(hash: u64) -> u32 {
    hash as u32 & KEPT_HASH_MASK
}

/// The kept bits spread back over 64 bits by an odd multiplier, so that the table's control
/// bytes (its top 7 bits) and bucket (its low bits) and the ghost's and sketch's indexes all
/// vary with them. Not the shard's multiplier: with an identity hasher the shard (top bits of
/// `hash * 0x9E37...`) would otherwise fix the control bytes of every key in a shard.
#[inline]
pub(super) fn spread(kept: u32) -> u64 {
    u64::from(kept).wrapping_mul(0xD6E8_FEB8_6659_FD93)
}

/// The 64-bit hash the store works with for a key whose full hash is `hash`.
#[inline]
pub(super) fn store_hash(hash: u64) -> u64 {
    spread(kept(hash))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Queue {
    Small,
    Main,
}

pub(crate) struct Entry<K, V, X> {
    pub(crate) key: K,
    pub(crate) value: V,
    pub(crate) deadline: X,
    /// Never 0 (weights are at least 1), which leaves `Slot` a niche for its vacant variants.
    pub(super) weight: NonZeroU32,
    /// The kept hash bits, the queue bit and the frequency (see the module docs). Reads bump
    /// the frequency under the shared lock; everything else changes under the exclusive lock,
    /// so a read's store of the whole word never loses another field's change.
    pub(super) tag: AtomicU32,
}

impl<K, V, X> Entry<K, V, X> {
    #[inline]
    pub(super) fn touch(&self) {
        let tag = self.tag.load(Ordering::Relaxed);
        if tag < MOST_READ {
            self.tag
                .store(tag + (1 << FREQUENCY_SHIFT), Ordering::Relaxed);
        }
    }

    pub(super) fn frequency(&self) -> u8 {
        (self.tag.load(Ordering::Relaxed) >> FREQUENCY_SHIFT) as u8
    }

    pub(super) fn set_frequency(&self, frequency: u8) {
        let rest = self.tag.load(Ordering::Relaxed) & !(u32::MAX << FREQUENCY_SHIFT);
        self.tag.store(
            rest | u32::from(frequency) << FREQUENCY_SHIFT,
            Ordering::Relaxed,
        );
    }

    pub(super) fn queue(&self) -> Queue {
        if self.tag.load(Ordering::Relaxed) & IN_MAIN == 0 {
            Queue::Small
        } else {
            Queue::Main
        }
    }

    pub(super) fn move_to_main(&self) {
        let tag = self.tag.load(Ordering::Relaxed);
        self.tag.store(tag | IN_MAIN, Ordering::Relaxed);
    }

    /// The store's hash of the key (see [`spread`]).
    pub(super) fn hash(&self) -> u64 {
        spread(self.tag.load(Ordering::Relaxed) & KEPT_HASH_MASK)
    }

    pub(super) fn weight(&self) -> u32 {
        self.weight.get()
    }
}

/// Two variants, so that the vacant one needs a single invalid value of the entry's weight as
/// its tag (three variants would need two, and a `NonZeroU32` has one).
pub(super) enum Slot<K, V, X> {
    Occupied(Entry<K, V, X>),
    Vacant(Vacancy),
}

#[derive(Clone, Copy)]
pub(super) enum Vacancy {
    /// Still holding its place in a queue: the next new key takes that place.
    Queued(Queue),
    /// In no queue.
    Free,
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem;

    #[test]
    fn an_entry_adds_eight_bytes_to_its_key_value_and_deadline() {
        assert_eq!(mem::size_of::<Slot<u64, u64, ()>>(), 24);
        assert_eq!(mem::size_of::<Slot<u64, u64, u64>>(), 32);
        assert_eq!(mem::size_of::<Slot<u32, u32, ()>>(), 16);
    }

    #[test]
    fn the_tag_keeps_hash_queue_and_frequency_apart() {
        let hash = u64::MAX;
        let entry = Entry {
            key: 1u64,
            value: 2u64,
            deadline: (),
            weight: NonZeroU32::MIN,
            tag: AtomicU32::new(kept(hash)),
        };
        assert_eq!(entry.queue(), Queue::Small);
        for expected in 1..=MAX_FREQUENCY {
            entry.touch();
            assert_eq!(entry.frequency(), expected);
        }
        entry.touch();
        assert_eq!(entry.frequency(), MAX_FREQUENCY);
        entry.move_to_main();
        entry.set_frequency(1);
        assert_eq!(
            (entry.queue(), entry.frequency(), entry.hash()),
            (Queue::Main, 1, store_hash(hash))
        );
    }
}

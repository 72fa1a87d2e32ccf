//! Not a cache: the machine's own parallelism, as a reference for the 2-thread rows.
//!
//! On a virtual machine the second core may be shared with other guests, and then no reader
//! doubles its rate on 2 threads. [`ReadOnlyTable`] does about a cache's work on a hit (std's
//! SipHash of the key, a probe of a scattered table of the same size) and shares nothing in
//! writing once loaded, so its 2-thread / 1-thread ratio is what the machine gives a perfectly
//! parallel reader at that moment; a cache's own ratio is read against it.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::contender::{Contender, Lookup};
use crate::peers::ReadthroughStorm;

/// Keys (stored as key + 1; 0 is an empty slot) in an open-addressing table at most half
/// full, written on a key's first lookup, only read afterwards. Single-writer: only the
/// preload (one thread) inserts.
pub struct ReadOnlyTable {
    slots: Box<[AtomicU64]>,
    hasher: RandomState,
}

impl ReadOnlyTable {
    /// The slot holding `key`, or the empty slot where it belongs.
    fn slot(&self, key: u64) -> &AtomicU64 {
        let mask = self.slots.len() - 1;
        let mut index = self.hasher.hash_one(key) as usize & mask;
        loop {
            let slot = &self.slots[index];
            let held = slot.load(Ordering::Relaxed);
            if held == 0 || held == key.wrapping_add(1) {
                return slot;
            }
            index = (index + 1) & mask;
        }
    }
}

impl Contender for ReadOnlyTable {
    const NAME: &'static str = "read-only table (the machine's reference)";
    type Storm = ReadthroughStorm;

    fn with_capacity(capacity: usize) -> Self {
        let slots = (capacity.max(1) * 2).next_power_of_two();
        Self {
            slots: (0..slots).map(|_| AtomicU64::new(0)).collect(),
            hasher: RandomState::new(),
        }
    }

    async fn get_or_load(&self, key: u64) -> Lookup {
        let slot = self.slot(key);
        let held = slot.load(Ordering::Relaxed);
        if held == key.wrapping_add(1) {
            return Lookup {
                value: held - 1,
                loaded: false,
            };
        }
        slot.store(key.wrapping_add(1), Ordering::Relaxed);
        Lookup {
            value: key,
            loaded: true,
        }
    }

    fn plain_get(&self, key: u64) -> Option<Option<u64>> {
        let held = self.slot(key).load(Ordering::Relaxed);
        Some((held == key.wrapping_add(1)).then_some(key))
    }

    async fn settle(&self) {}

    fn entry_count(&self) -> Option<usize> {
        None
    }
}

#[cfg(test)]
mod tests {
    use futures_lite::future::block_on;

    use super::*;

    #[test]
    fn loads_each_key_once_then_reads_it() {
        let table = ReadOnlyTable::with_capacity(4);
        for key in [0, 1, 2, 3, 1 << 40] {
            assert_eq!(table.plain_get(key), Some(None));
            let first = block_on(table.get_or_load(key));
            assert_eq!((first.value, first.loaded), (key, true));
            let again = block_on(table.get_or_load(key));
            assert_eq!((again.value, again.loaded), (key, false));
            assert_eq!(table.plain_get(key), Some(Some(key)));
        }
    }
}

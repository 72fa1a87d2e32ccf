//! How often keys were seen lately: a count-min sketch of 4-bit counters that ages by halving.
//!
//! Each key has four counters, one in each quarter of a 64-bit word picked from its hash; its
//! estimate is the smallest of them (collisions only ever add). After about ten increments per
//! entry the store holds, every counter is halved, so old popularity fades (TinyLFU: Einziger,
//! Friedman and Manes, ACM ToS 2017). Words are picked by multiply-shift rather than masking, so
//! the table follows the store's size exactly. No floats. The table is allocated with the
//! store's other tables when they are reserved up front, else when the store first evicts
//! (until then no key can come back from the ghost, so nothing asks the sketch), sized from
//! the entries the store holds then: a cache with a huge capacity that holds a few entries
//! spends nothing on it.

use alloc::vec::Vec;

use crate::store::ReserveError;

/// The most a counter holds.
const MAX_COUNT: u64 = 15;

/// Increments between two halvings, per entry the store holds.
const SAMPLE_PER_ENTRY: usize = 10;

/// The table's size per entry the store holds: 4 bytes (a 64-bit word of 16 counters per 2
/// entries). Counters shared by too many keys make every key look frequent, which vetoes the
/// small queue's growth where it would help: on the benchmark traces 2 bytes cost OLTP 2 to 3.6
/// points of hit ratio and 3 bytes 0.6 to 1.1 points against 4; 4 bytes cost P2 at 8,192
/// entries 0.3 and Zipf(0.8) at 1% 0.2 against 3, and 6 bytes gained OLTP at most 0.4 more
/// while losing P2 another 0.7.
const BITS_PER_ENTRY: usize = 32;

/// Each nibble's low three bits: a word shifted right by one and masked halves every counter.
const HALVE_MASK: u64 = 0x7777_7777_7777_7777;

pub(crate) struct Sketch {
    /// Empty until [`start`](Self::start) or [`reserve`](Self::reserve): counting waits.
    words: Vec<u64>,
    /// The words the table has once allocated.
    size: usize,
    increments: usize,
    /// Increments between two halvings.
    sample: usize,
}

impl Sketch {
    /// A sketch for a store of `entries` entries, not yet allocated.
    pub(crate) fn new(entries: usize) -> Self {
        Sketch {
            words: Vec::new(),
            size: Self::words_for(entries),
            increments: 0,
            sample: entries.max(1) * SAMPLE_PER_ENTRY,
        }
    }

    /// Allocates the table now, so that no later increment allocates.
    pub(crate) fn reserve(&mut self) -> Result<(), ReserveError> {
        self.words
            .try_reserve_exact(self.size)
            .map_err(|_| ReserveError)?;
        self.words.resize(self.size, 0);
        Ok(())
    }

    /// Starts counting, with a table for `entries` entries (allocated now), unless it has
    /// started already.
    pub(crate) fn start(&mut self, entries: usize) {
        if self.words.is_empty() {
            *self = Sketch::new(entries);
            self.words.resize(self.size, 0);
        }
    }

    /// Grows a started table (forgetting what it held) when the store holds more than twice
    /// the entries it was sized for: only stores with a weigher, whose entry count is not
    /// known.
    #[inline]
    pub(crate) fn fit(&mut self, entries: usize) {
        if !self.words.is_empty() && Self::words_for(entries) > self.size * 2 {
            *self = Sketch::new(entries);
            self.words.resize(self.size, 0);
        }
    }

    fn words_for(entries: usize) -> usize {
        (entries / 64 * BITS_PER_ENTRY + entries % 64 * BITS_PER_ENTRY / 64).max(1)
    }

    fn word(&self, hash: u64) -> usize {
        ((u64::from(hash as u32) * self.size as u64) >> 32) as usize
    }

    /// The bit offset of the key's counter in quarter `quarter` of its word, from hash bits
    /// the word's choice did not use.
    fn shift(hash: u64, quarter: u32) -> u32 {
        let counter = ((hash >> (32 + 8 * quarter)) & 3) as u32;
        (quarter * 4 + counter) * 4
    }

    /// The key's estimated count, 0 to 15.
    pub(crate) fn estimate(&self, hash: u64) -> u8 {
        let Some(&word) = self.words.get(self.word(hash)) else {
            return 0;
        };
        (0..4)
            .map(|quarter| (word >> Self::shift(hash, quarter)) & MAX_COUNT)
            .min()
            .unwrap_or(0) as u8
    }

    /// Counts the key seen `times` more (on every miss, and with the hits an entry took
    /// between two passes of the eviction hand: at most 3).
    pub(crate) fn add(&mut self, hash: u64, times: u8) {
        if times == 0 || self.words.is_empty() {
            return;
        }
        let index = self.word(hash);
        // The lowest bit of each of the key's four counters.
        let ones = (0..4).fold(0, |ones, quarter| ones | 1 << Self::shift(hash, quarter));
        let word = &mut self.words[index];
        for _ in 0..times {
            // A counter at 15 has all four bits set: it stays (no carry into its neighbour).
            let full = *word & (*word >> 1) & (*word >> 2) & (*word >> 3) & ones;
            *word += ones & !full;
        }
        self.increments += usize::from(times);
        if self.increments >= self.sample {
            self.halve();
        }
    }

    fn halve(&mut self) {
        for word in &mut self.words {
            *word = (*word >> 1) & HALVE_MASK;
        }
        self.increments /= 2;
    }

    pub(crate) fn clear(&mut self) {
        self.words.iter_mut().for_each(|word| *word = 0);
        self.increments = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_saturate_and_fade() {
        let mut sketch = Sketch::new(64);
        sketch.add(1, 1);
        assert_eq!(sketch.estimate(1), 0, "not counting before it starts");
        sketch.start(64);
        let key = 0x1234_5678_9ABC_DEF0;
        assert_eq!(sketch.estimate(key), 0);
        sketch.add(key, 3);
        assert_eq!(sketch.estimate(key), 3);
        sketch.add(key, 20);
        assert_eq!(sketch.estimate(key), 15);
        let word = sketch.words[sketch.word(key)];
        assert_eq!(
            word.count_ones(),
            16,
            "only the key's four counters, all at 15"
        );
        sketch.halve();
        assert_eq!(sketch.estimate(key), 7);
    }

    #[test]
    fn halves_after_its_sample() {
        let mut sketch = Sketch::new(4);
        sketch.start(4);
        let key = 7u64 << 40 | 3;
        for _ in 0..39 {
            sketch.add(key, 1);
        }
        assert_eq!(sketch.estimate(key), 15);
        sketch.add(key, 1);
        assert_eq!(sketch.estimate(key), 7);
    }
}

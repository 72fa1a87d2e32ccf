//! How often keys were seen lately: a count-min sketch of 4-bit counters that ages by halving.
//!
//! Each key has four counters in one block of eight words (64 bytes), picked from its hash: its
//! `i`-th counter is one of the sixteen in word `2i` or `2i + 1` of the block (Caffeine's
//! layout), so counting a key or estimating it touches one or two cache lines. A table of
//! fewer than eight words (a store of under 8 entries) is one block that wraps around. Its
//! estimate is the smallest of them (collisions only ever add). After a number of increments
//! per entry the store holds (its memory, which the store sets: see `sketch_memory` in
//! `store/eviction.rs`), every counter is halved, so old popularity fades (TinyLFU: Einziger, Friedman
//! and Manes, ACM ToS 2017). Blocks are picked by multiply-shift rather than masking, so the
//! table follows the store's size. No floats. The table is allocated with the store's other tables
//! when they are reserved up front, else when the store first evicts (until then no key can
//! come back from the ghost, so nothing asks the sketch), sized from the entries the store
//! holds then: a cache with a huge capacity that holds a few entries spends nothing on it.
//!
//! The block layout replaced four counters in the four quarters of one word (four places each):
//! a key's counters there collided with any other key of its word in a quarter one time in
//! four, and so estimates ran high. At the same 4 bytes per entry, on `hit_ratios` with every
//! shard held in one regime: in frequency, where the sketch decides, P6 at 32,768 entries +0.36
//! to +0.43 points (three hasher seeds) and P3 (another trace of the collection) +0.61 to
//! +0.82 (two); in recency -0.14 to -0.05 there. Spreading the four counters over four words
//! anywhere in the table gained about as much (+0.34) at four cache lines per count.

use alloc::vec::Vec;

use crate::store::ReserveError;

/// The most a counter holds.
const MAX_COUNT: u64 = 15;

/// The table's size per entry the store holds: 8 bytes (sixteen 4-bit counters), as
/// Caffeine's. Counters shared by too many keys make every key look frequent, which vetoes the
/// small queue's growth where it would help: on the benchmark traces (with the former one-word
/// layout) 2 bytes cost OLTP 2 to 3.6 points of hit ratio and 3 bytes 0.6 to 1.1 points
/// against 4. From 4 to 8 bytes (with the store's `FREQUENT_RETURNER` lowered from 4 to 3, as
/// estimates no longer run a count high; five hasher seeds of `hit_ratios`): OLTP +0.02 to
/// +0.13 points, P2 32,768 and 131,072 +0.17 and +0.20, P6 32,768 +0.17 and 131,072 +0.11, P3
/// 131,072 +0.50, but P2 8,192 -0.24 and a loop of 20,000 keys -0.22. 12 bytes: OLTP up to
/// +0.35, P2 8,192 -0.66. Heap per `u64` entry once a cache has evicted: 45 to 49 bytes.
const BITS_PER_ENTRY: usize = 64;

/// Each nibble's low three bits: a word shifted right by one and masked halves every counter.
const HALVE_MASK: u64 = 0x7777_7777_7777_7777;

/// The words of a block.
const BLOCK_WORDS: usize = 8;

pub(crate) struct Sketch {
    /// Empty until [`start`](Self::start) or [`reserve`](Self::reserve): counting waits.
    words: Vec<u64>,
    /// The words the table has once allocated (a table of eight or more leaves the last
    /// `size % 8` unused).
    size: usize,
    increments: usize,
    /// Increments between two halvings: `entries * memory`.
    sample: usize,
    /// The entries it is sized for.
    entries: usize,
    /// Increments per entry between two halvings.
    memory: usize,
}

impl Sketch {
    /// A sketch for a store of `entries` entries that halves its counters every `memory`
    /// increments per entry, not yet allocated.
    pub(crate) fn new(entries: usize, memory: usize) -> Self {
        let entries = entries.max(1);
        Sketch {
            words: Vec::new(),
            size: Self::words_for(entries),
            increments: 0,
            sample: entries.saturating_mul(memory),
            entries,
            memory,
        }
    }

    /// Halves the counters every `memory` increments per entry from now on (the next increment
    /// halves them if that many have been counted since the last halving).
    pub(crate) fn set_memory(&mut self, memory: usize) {
        self.memory = memory;
        self.sample = self.entries.saturating_mul(memory);
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
            *self = Sketch::new(entries, self.memory);
            self.words.resize(self.size, 0);
        }
    }

    /// Grows a started table (forgetting what it held) when the store holds more than twice
    /// the entries it was sized for: only stores with a weigher, whose entry count is not
    /// known.
    #[inline]
    pub(crate) fn fit(&mut self, entries: usize) {
        if !self.words.is_empty() && Self::words_for(entries) > self.size * 2 {
            *self = Sketch::new(entries, self.memory);
            self.words.resize(self.size, 0);
        }
    }

    fn words_for(entries: usize) -> usize {
        (entries / 64 * BITS_PER_ENTRY + entries % 64 * BITS_PER_ENTRY / 64).max(1)
    }

    /// The first word of the key's block, from its hash's low 32 bits.
    fn block(&self, hash: u64) -> usize {
        let blocks = (self.size / BLOCK_WORDS).max(1);
        ((u64::from(hash as u32) * blocks as u64) >> 32) as usize * BLOCK_WORDS
    }

    /// Where the key's counter `i` (0 to 3) is: its word and bit offset, from hash bits the
    /// block's choice did not use.
    fn counter(&self, block: usize, hash: u64, i: u32) -> (usize, u32) {
        let bits = (hash >> (32 + 5 * i)) as u32;
        let word = block + 2 * i as usize + (bits & 1) as usize;
        let word = if word < self.size {
            word
        } else {
            word % self.size
        };
        (word, ((bits >> 1) & 15) * 4)
    }

    /// The key's estimated count, 0 to 15.
    pub(crate) fn estimate(&self, hash: u64) -> u8 {
        if self.words.is_empty() {
            return 0;
        }
        let block = self.block(hash);
        (0..4)
            .map(|i| {
                let (word, shift) = self.counter(block, hash, i);
                (self.words[word] >> shift) & MAX_COUNT
            })
            .min()
            .unwrap_or(0) as u8
    }

    /// Counts the key seen `times` more (on every miss, and with the hits an entry took
    /// between two passes of the eviction hand: at most 3).
    pub(crate) fn add(&mut self, hash: u64, times: u8) {
        if times == 0 || self.words.is_empty() {
            return;
        }
        let block = self.block(hash);
        for i in 0..4 {
            let (word, shift) = self.counter(block, hash, i);
            let count = (self.words[word] >> shift) & MAX_COUNT;
            self.words[word] += (MAX_COUNT - count).min(u64::from(times)) << shift;
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
        self.words.fill(0);
        self.increments = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_saturate_and_fade() {
        let mut sketch = Sketch::new(64, 10);
        sketch.add(1, 1);
        assert_eq!(sketch.estimate(1), 0, "not counting before it starts");
        sketch.start(64);
        let key = 0x1234_5678_9ABC_DEF0;
        assert_eq!(sketch.estimate(key), 0);
        sketch.add(key, 3);
        assert_eq!(sketch.estimate(key), 3);
        sketch.add(key, 20);
        assert_eq!(sketch.estimate(key), 15);
        let ones: u32 = sketch.words.iter().map(|word| word.count_ones()).sum();
        assert_eq!(ones, 16, "only the key's four counters, all at 15");
        sketch.halve();
        assert_eq!(sketch.estimate(key), 7);
    }

    #[test]
    fn keys_of_one_block_share_an_estimate_only_if_all_four_counters_meet() {
        let mut sketch = Sketch::new(64, 10);
        sketch.start(64);
        let key = 0x1234_5678_9ABC_DEF0_u64;
        sketch.add(key, 5);
        // The low 32 bits pick the block; each counter takes 5 bits from bit 32 on: its word
        // (of two), then its place (of sixteen).
        let place = |i: u64| 0b10 << (32 + 5 * i);
        let word = |i: u64| 0b1 << (32 + 5 * i);
        assert_eq!(sketch.estimate(key ^ place(3)), 0, "three counters shared");
        assert_eq!(sketch.estimate(key ^ word(0)), 0, "three counters shared");
        assert_eq!(
            sketch.estimate(key ^ place(0) ^ place(1) ^ place(2) ^ place(3)),
            0
        );
        assert_eq!(sketch.estimate(key ^ 1 << 60), 5, "the same four counters");
    }

    #[test]
    fn the_table_takes_eight_bytes_per_entry() {
        assert_eq!(Sketch::new(1 << 20, 10).size * 8, 8 << 20);
        assert_eq!(Sketch::new(5, 10).size, 5);
        assert_eq!(Sketch::new(1, 10).size, 1);
    }

    #[test]
    fn a_table_smaller_than_a_block_wraps_around() {
        let mut sketch = Sketch::new(4, 10);
        sketch.start(4);
        assert_eq!(sketch.words.len(), 4);
        for key in [0, u64::MAX, 0x1234_5678_9ABC_DEF0] {
            sketch.add(key, 2);
            assert!(sketch.estimate(key) >= 2);
        }
    }

    #[test]
    fn halves_after_its_memory_of_increments_per_entry() {
        let mut sketch = Sketch::new(4, 10);
        sketch.start(4);
        let key = 7u64 << 40 | 3;
        for _ in 0..39 {
            sketch.add(key, 1);
        }
        assert_eq!(sketch.estimate(key), 15);
        sketch.add(key, 1);
        assert_eq!(sketch.estimate(key), 7);
    }

    #[test]
    fn a_new_memory_holds_from_the_next_increment_and_survives_a_restart() {
        let mut sketch = Sketch::new(4, 10);
        sketch.set_memory(15);
        sketch.start(4);
        let key = 7u64 << 40 | 3;
        for _ in 0..59 {
            sketch.add(key, 1);
        }
        assert_eq!(
            sketch.estimate(key),
            15,
            "no halving before 4 x 15 increments"
        );
        sketch.set_memory(10);
        sketch.add(key, 1);
        assert_eq!(sketch.estimate(key), 7, "past 4 x 10: halved at once");
        sketch.fit(9);
        assert_eq!(sketch.sample, 9 * 10, "a regrown table keeps the memory");
    }
}

//! Keys a store evicted lately, remembered by 30-bit fingerprints: the ghost of S3-FIFO (Yang et
//! al., SOSP 2023) and of ARC's lists (Megiddo and Modha, FAST 2003), in a fixed table.
//!
//! The table is a row of sets of eight places (32 bytes, one cache line's half). A key's set is
//! picked by its hash; the set's first two places hold the two keys evicted into it last, in
//! order, and the six others hold older ones: the key pushed out of the second place takes one
//! of them at random. So a key just evicted is never forgotten before two more keys of its set
//! leave (on average two set's worths of evictions across the table, a quarter of its places),
//! and older ones fade at random, which lets a few keys that come back long after they left still
//! be recognised.
//!
//! The halves also tell the store how lately a key it recalls left: one held in an ordered
//! place left among the last of its set, one held in a random place long before (see
//! `ghost_places` in `store/eviction.rs` for what the store does with that).
//!
//! Both halves matter. A direct-mapped table (one place per set: every newer key overwrites
//! one at random) forgets a fifth of the keys that come back within a fifth of its size. Sets
//! kept wholly in order (first in, first out) remember exactly the latest evictions and nothing
//! older, while small caches and loops a little larger than the cache live on the few keys a
//! random table still holds long after.
//!
//! Against the direct-mapped table it replaced (the same 2 bytes per entry), on `hit_ratios`
//! with five hasher seeds (mean, and lowest to highest): OLTP +0.03 to +0.12 points at seven of
//! its eight sizes (250 entries -0.03), P2 at 524,288 entries +0.07, P6 at 131,072 +0.12, the
//! 10% Zipf cells +0.08 and +0.12, a moving Zipf working set +0.26, a loop of 1.5 times a cache
//! of 5,000 entries +0.14; P6 at 8,192 -0.12 and the loop at 20,000 -0.12. On two more traces
//! of the benchmark traces' collection: P3 at 131,072 +0.29 and P12 at 524,288 +0.27, but P3 at
//! 32,768 -0.44 (-0.70 to -0.12), where recency lives on keys that come back from far. Eight
//! ordered places gain more where the latest evictions count (P3 at 131,072 +1.55, the Zipf
//! cells +0.14 and +0.21) but lose P2 at 8,192 1.24 points and the loops 0.8 to 1.3; one ordered
//! place gains about half as much and loses a little less.

use alloc::vec::Vec;

use crate::store::ReserveError;

/// A key the ghost remembered: how it left the store, and whether lately.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Recalled {
    pub(crate) departure: Departure,
    /// Held in one of its set's ordered places: among the last keys to leave that set (about a
    /// quarter of the ghost's size ago, or less). Otherwise it outlived them at random.
    pub(crate) lately: bool,
}

/// How a key the ghost remembers left the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Departure {
    /// Evicted from the small queue unread.
    FromSmall,
    /// Evicted from the main queue.
    FromMain,
    /// Read once in the small queue: not enough to move on to the main queue.
    TurnedAway,
}

/// The fingerprint bit of a key the main queue evicted.
const FROM_MAIN: u32 = 1 << 31;
/// The fingerprint bit of a key turned away from the main queue (read once in the small one).
const TURNED_AWAY: u32 = 1 << 30;
/// The fingerprint's bits of the key's hash, below the two of its departure.
const HASH_MASK: u32 = TURNED_AWAY - 1;

/// Places per set.
const WAYS: usize = 8;
/// The places of a set that keep its latest keys in order; the rest are replaced at random.
const ORDERED: usize = 2;

/// One set: fingerprints, 0 for an empty place. Aligned so that a set never straddles two cache
/// lines.
#[derive(Clone, Copy, Default)]
#[repr(align(32))]
struct Set([u32; WAYS]);

pub(crate) struct Ghost {
    sets: Vec<Set>,
    /// How many keys the ghost is sized for: whole sets of them.
    places: usize,
    /// Records so far (wrapping): a Weyl sequence of it picks the random place. Not the key's
    /// hash, whose high bits follow its set's low ones for some hashers.
    records: u32,
}

impl Ghost {
    /// A ghost for about `places` keys, allocated at its first record (or `reserve`).
    pub(crate) fn new(places: usize) -> Self {
        Ghost {
            sets: Vec::new(),
            places: Self::whole_sets(places),
            records: 0,
        }
    }

    fn whole_sets(places: usize) -> usize {
        places.div_ceil(WAYS).max(1) * WAYS
    }

    /// How many keys it holds at most.
    pub(crate) fn places(&self) -> usize {
        self.places
    }

    /// Allocates room for `places` keys now.
    pub(crate) fn reserve(&mut self, places: usize) -> Result<(), ReserveError> {
        self.fit(places);
        let sets = self.places / WAYS;
        self.sets
            .try_reserve_exact(sets)
            .map_err(|_| ReserveError)?;
        self.sets.resize(sets, Set::default());
        Ok(())
    }

    /// Grows the ghost (forgetting what it held) when a store holds more entries than its
    /// size was meant for: only stores with a weigher, whose entry count is not known.
    pub(crate) fn fit(&mut self, places: usize) {
        if places > self.places {
            self.places = Self::whole_sets(places.max(self.places * 2));
            self.sets.clear();
        }
    }

    /// The key's fingerprint (never 0, the empty place) with how it left in the top two bits.
    fn fingerprint(hash: u64, departure: Departure) -> u32 {
        let how = match departure {
            Departure::FromSmall => 0,
            Departure::FromMain => FROM_MAIN,
            Departure::TurnedAway => TURNED_AWAY,
        };
        Self::hash_bits(hash) | how
    }

    /// The fingerprint's hash bits: never 0. The high bits of the hash, where the set comes
    /// from its low ones.
    fn hash_bits(hash: u64) -> u32 {
        (hash >> 33) as u32 & HASH_MASK | 1
    }

    /// The set for `hash`, from its low 32 bits scaled to the table (no power-of-two
    /// rounding, so the ghost's size follows the capacity).
    fn set(&self, hash: u64) -> usize {
        ((u64::from(hash as u32) * self.sets.len() as u64) >> 32) as usize
    }

    /// Remembers a key that left the store.
    pub(crate) fn record(&mut self, hash: u64, departure: Departure) {
        if self.sets.len() * WAYS != self.places {
            self.sets.resize(self.places / WAYS, Set::default());
        }
        self.records = self.records.wrapping_add(1);
        let index = self.set(hash);
        let set = &mut self.sets[index].0;
        let pushed_out = set[ORDERED - 1];
        if pushed_out != 0 {
            let random = self.records.wrapping_mul(0x9E37_79B9);
            let place = (u64::from(random) * (WAYS - ORDERED) as u64) >> 32;
            set[ORDERED + place as usize] = pushed_out;
        }
        // A move per ordered place, not `copy_within` (a call to `memmove`).
        for place in (1..ORDERED).rev() {
            set[place] = set[place - 1];
        }
        set[0] = Self::fingerprint(hash, departure);
    }

    /// Forgets `hash` if the ghost remembers it, and tells how and how lately it left.
    pub(crate) fn take(&mut self, hash: u64) -> Option<Recalled> {
        let index = self.set(hash);
        let set = &mut self.sets.get_mut(index)?.0;
        let bits = Self::hash_bits(hash);
        let place = set.iter().position(|&print| print & HASH_MASK == bits)?;
        let print = set[place];
        let lately = place < ORDERED;
        if lately {
            for place in place..ORDERED - 1 {
                set[place] = set[place + 1];
            }
            set[ORDERED - 1] = 0;
        } else {
            set[place] = 0;
        }
        let departure = match print & !HASH_MASK {
            0 => Departure::FromSmall,
            FROM_MAIN => Departure::FromMain,
            _ => Departure::TurnedAway,
        };
        Some(Recalled { departure, lately })
    }

    pub(crate) fn clear(&mut self) {
        self.sets.iter_mut().for_each(|set| *set = Set::default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// A well-mixed hash of `key` (SplitMix64's finaliser).
    fn mixed(key: u64) -> u64 {
        let mut hash = key.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        hash = (hash ^ (hash >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        hash = (hash ^ (hash >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        hash ^ (hash >> 31)
    }

    /// Hashes of `count` keys: all in the one set of a ghost of `WAYS` places.
    fn hashes(count: u64) -> Vec<u64> {
        (1..=count).map(mixed).collect()
    }

    fn remembers(ghost: &Ghost, hash: u64, places: core::ops::Range<usize>) -> bool {
        let bits = Ghost::hash_bits(hash);
        ghost.sets[0].0[places]
            .iter()
            .any(|&print| print & HASH_MASK == bits)
    }

    #[test]
    fn a_key_is_remembered_with_how_it_left_and_forgotten_once_taken() {
        let mut ghost = Ghost::new(64);
        for (key, departure) in [
            (1u64, Departure::FromSmall),
            (2, Departure::FromMain),
            (3, Departure::TurnedAway),
        ] {
            let hash = mixed(key);
            ghost.record(hash, departure);
            let lately = true;
            assert_eq!(ghost.take(hash), Some(Recalled { departure, lately }));
            assert_eq!(ghost.take(hash), None, "taken once");
        }
    }

    #[test]
    fn a_key_that_outlived_the_latest_of_its_set_is_recalled_as_long_gone() {
        let mut ghost = Ghost::new(WAYS);
        let hashes = hashes(1 + ORDERED as u64);
        ghost.record(hashes[0], Departure::FromMain);
        for &hash in &hashes[1..] {
            ghost.record(hash, Departure::FromSmall);
        }
        let recalled = |departure, lately| Some(Recalled { departure, lately });
        assert_eq!(ghost.take(hashes[0]), recalled(Departure::FromMain, false));
        assert_eq!(
            ghost.take(hashes[ORDERED]),
            recalled(Departure::FromSmall, true)
        );
    }

    #[test]
    fn the_latest_keys_of_a_set_are_never_forgotten() {
        let mut ghost = Ghost::new(WAYS);
        let hashes = hashes(100);
        for (index, &hash) in hashes.iter().enumerate() {
            ghost.record(hash, Departure::FromSmall);
            let latest = &hashes[(index + 1).saturating_sub(ORDERED)..=index];
            for &hash in latest {
                assert!(remembers(&ghost, hash, 0..ORDERED), "after key {index}");
            }
        }
    }

    #[test]
    fn older_keys_fade_at_random_but_some_outlive_eight_newer_keys_of_their_set() {
        let mut ghost = Ghost::new(WAYS * 128);
        let mut by_set: Vec<Vec<u64>> = vec![Vec::new(); 128];
        for key in 1..=20_000u64 {
            let hash = mixed(key);
            ghost.record(hash, Departure::FromSmall);
            by_set[ghost.set(hash)].push(hash);
        }
        let remembered = |hash: &&u64| {
            let set = &ghost.sets[ghost.set(**hash)].0;
            set.contains(&Ghost::fingerprint(**hash, Departure::FromSmall))
        };
        let all: usize = by_set
            .iter()
            .map(|keys| keys.iter().filter(remembered).count())
            .sum();
        assert_eq!(all, WAYS * 128, "every place holds a key");
        // Sets kept in order would remember none of these.
        let old: usize = by_set
            .iter()
            .map(|keys| keys[..keys.len() - WAYS].iter().filter(remembered).count())
            .sum();
        assert!(
            old > 192,
            "{old} keys older than the latest eight of their set"
        );
    }

    #[test]
    fn taking_a_key_keeps_the_order_of_the_others() {
        let mut ghost = Ghost::new(WAYS);
        let hashes = hashes(4);
        for &hash in &hashes[..3] {
            ghost.record(hash, Departure::FromSmall);
        }
        let lately = true;
        let departure = Departure::FromSmall;
        assert_eq!(ghost.take(hashes[2]), Some(Recalled { departure, lately }));
        // The second latest moved up: the next record keeps it among the ordered places.
        ghost.record(hashes[3], Departure::FromMain);
        assert!(remembers(&ghost, hashes[1], 0..ORDERED));
        assert!(remembers(&ghost, hashes[3], 0..ORDERED));
    }

    #[test]
    fn the_ghost_is_sized_in_whole_sets_and_grows_only_by_fit() {
        assert_eq!(Ghost::new(0).places(), WAYS);
        assert_eq!(Ghost::new(9).places(), 2 * WAYS);
        let mut ghost = Ghost::new(16);
        ghost.reserve(16).unwrap();
        assert_eq!(ghost.sets.len(), 2);
        ghost.fit(10);
        assert_eq!(ghost.places(), 16, "fit never shrinks");
        ghost.fit(17);
        assert_eq!(ghost.places(), 32, "at least doubles");
    }

    #[test]
    fn a_set_never_straddles_two_cache_lines() {
        assert_eq!(core::mem::size_of::<Set>(), 32);
        assert_eq!(core::mem::align_of::<Set>(), 32);
    }
}

//! Which entries leave a full store, and which way a new or returning key goes: the small
//! queue's adapted share, the door to the main queue, the frequency regime's test, and the
//! constants each was measured with (see the store's module docs for the whole policy).

use crate::duel::Regime;
use crate::ghost::Departure;
use crate::leaving::Leaving;
use crate::listener::RemovalCause;

use super::entry::{MAX_FREQUENCY, Queue, Slot, Vacancy};
use super::{Store, push_within};

/// The small (probation) queue starts with 2% of the weight, then adapts (see
/// [`Store::adapt_small_queue`]) between [`LEAST_SMALL_PER_MILLE`] and [`MOST_SMALL_PER_MILLE`].
/// A store starts mostly main queue and lets the keys back from the ghost grow its probation, as
/// ARC starts its target at nothing and Caffeine its window at 1%. Against 5% (`hit_ratios`,
/// five seeds): P2 524,288 +0.34 (every seed +0.32 to +0.35), the 10% Zipf cells +0.03 and
/// +0.03; P12 524,288 -0.07, P3 8,192 -0.07, the loop of 20,000 -0.06, P6 524,288 -0.05, P6
/// 8,192 and 131,072 -0.04, P2 32,768 -0.04, every other cell within 0.05 (OLTP -0.05 to
/// +0.02); off the grid (16,384, 24,576 and 65,536 entries, two seeds) P6 16,384 and 65,536
/// -0.15 and -0.12, the rest within 0.05. 1%: as much on P2 524,288 and Zipf, but P6 8,192 -0.11
/// and the 524,288 cells of P6 and P12 -0.08 and -0.06; 3%: P2 524,288 +0.21, the rest between.
const START_SMALL_PER_MILLE: usize = 20;

/// The small queue's share of a new (or cleared) store of `capacity`: see
/// [`START_SMALL_PER_MILLE`].
pub(super) fn starting_small_share(capacity: usize) -> usize {
    per_mille_of(capacity, START_SMALL_PER_MILLE).max(1)
}

/// 0.5%: Zipf workloads want a small queue of about 1%, and with the floor at 1% the adaptation
/// sat above it (1.6% to 1.8% at the end of the 1% Zipf cells). Against 1% (`hit_ratios`, five
/// seeds): Zipf(0.8) and Zipf(0.99) at 1% +0.04 and +0.03, the loops +0.09 and +0.06, P3 131,072
/// +0.05, but OLTP 250 to 750 and 1,750 -0.03 to -0.06 and P12 524,288 -0.05; every other cell
/// within 0.04. 0.2% (five seeds): Zipf 1% +0.05, but OLTP 500 -0.13, P12 524,288 -0.10.
pub(super) const LEAST_SMALL_PER_MILLE: usize = 5;
pub(super) const MOST_SMALL_PER_MILLE: usize = 900;
/// The frequency regime's small queue: 1%, as Caffeine's window. Held in frequency (seed 1),
/// 0.5% gave P6 32,768 +0.05 but P12 32,768 -0.70; 2%, P2 32,768 +0.20 but P6 32,768 -0.16.
pub(super) const FREQUENCY_WINDOW_PER_MILLE: usize = 10;

/// A key back from the small queue's ghost votes for a larger small queue only if the sketch
/// has seen it fewer times than this: one seen often was lost to a small queue too short to
/// show it, a sign the main queue should have held it, not that the small queue is short.
/// 4 with the recency regime's sketch memory of 15 increments per entry (see
/// [`sketch_memory`]), 3 with the former 10: a longer memory counts higher, and 3 then vetoed
/// the votes OLTP lives on (memory 15 with 3: OLTP -0.15 to -1.39, one seed). With memory 10,
/// 4 cost P2 8,192 0.9 points and 2 cost OLTP 3.5 to 5.2; with memory 15, 5 cost P2 8,192 0.6.
pub(super) const FREQUENT_RETURNER: u8 = 4;

/// How long the sketch remembers in each regime: the increments per entry between two halvings
/// of its counters. The recency regime asks the sketch whether a key may pass the door and
/// whether a returner votes (see [`FREQUENT_RETURNER`]), and a longer memory tells the keys
/// that come back steadily from those that came in a burst. The frequency regime keeps
/// TinyLFU's 10: there the sketch alone picks what stays, and a longer memory holds on to an
/// old working set after the requests have moved to a new one.
///
/// Recency 15 with `FREQUENT_RETURNER` 4, against 10 and 3 (`hit_ratios`, five seeds): OLTP
/// +0.10 to +0.36 at every size, P2 8,192 +0.15, the 1% Zipf cells +0.07 and +0.08, a loop of
/// 1.5 times a cache of 5,000 entries +0.39, scans +0.09, P12 8,192 and 32,768 +0.17 and
/// +0.20, a moving Zipf working set +0.10; P3 131,072 -0.18, P12 131,072 -0.08, P6 8,192
/// -0.08, P3 8,192 -0.06, the 10% Zipf cells -0.03 and -0.02, every other cell within 0.07;
/// off the grid P3 65,536 -0.25, P6 65,536 -0.17, P2 65,536 -0.11, P6 16,384 +0.18, P12
/// 16,384 and 24,576 +0.23 and +0.17, the rest within 0.09. With 15 in the frequency regime
/// too: P2 32,768 +0.42, but P6 32,768 -0.13 and P6 65,536 -1.00 (-1.54 to -0.38), P3 65,536
/// -0.52; with 12 there: P2 32,768 +0.22, P3 16,384 +0.45, but P6 65,536 -0.34, P12 16,384
/// -0.18. Longer, in both regimes (two seeds): 18 with 4 lost the OLTP gain from 750 entries on
/// (-0.04 to +0.01); 18 with 5 gained OLTP up to +0.49 but cost P6 32,768 0.49.
pub(super) fn sketch_memory(regime: Regime) -> usize {
    match regime {
        Regime::Recency => 15,
        Regime::Frequency => 10,
    }
}

/// How many keys the ghost remembers: three quarters of a store's worth (3 bytes per entry). A
/// key back from it that the small queue let go lately (one of the last keys to leave its set)
/// goes straight to the main queue; one it let go long ago (kept since at random) goes there
/// only through the door, as a key back from the main queue does: the ghost remembers it, but
/// only the sketch can tell whether it comes back often. Against a ghost of half a store's
/// worth that sends every such key straight on (`hit_ratios`, five seeds; P3 and P12 are two
/// more traces of the benchmark traces' collection): P6 8,192 +0.96, P2 8,192 +0.25, the 10%
/// Zipf cells +0.17 and +0.30, a moving Zipf working set +0.14 and +0.16, P3 +0.10 to +0.27,
/// P12 32,768 +0.17, OLTP 250 +0.12; OLTP 750 to 1,250 -0.08 to -0.13, a loop of 1.5 times a
/// cache of 5,000 entries -0.20, P12 524,288 -0.17, P6 131,072 -0.09, P2 and P6 elsewhere
/// within 0.05; off the grid (16,384, 24,576 and 65,536 entries) P3 65,536 +2.13, P12 24,576
/// +0.22, P2 16,384 +0.19, P2 65,536 -0.10, the rest -0.03 to +0.15. A larger ghost alone sends
/// keys straight back from further away: with a whole store's worth P3 131,072 +1.54 but P2
/// 131,072 -0.86 and the loop -4.9 (one seed); the door alone (half a store's worth): the loop
/// +0.4 but P3 131,072 -1.4.
pub(super) fn ghost_places(entries: usize) -> usize {
    entries - entries / 4
}

/// The ghost of a store whose entry count is not known up front starts this small and grows.
pub(super) const MIN_GHOST_PLACES: usize = 32;

/// How many main-queue places a key back from the ghost of a weighed store is weighed against
/// (see [`Store::worth_its_weight`]): enough to cover the heaviest entry many times over, few
/// enough to keep that miss cheap. On the weighted benchmark 8, 16 and 32 gave the same byte
/// hit ratio (78.23%, 78.25%, 78.23%), 4 gave 78.18% and 1 gave 78.17%.
pub(super) const MOST_WEIGHED_VICTIMS: usize = 16;

/// Where an entry at the head of its queue goes when the store must evict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WayOut {
    /// On to the main queue: a small-queue entry that earned it. Nothing leaves yet.
    MovesOn,
    /// Out, and the ghost remembers it as turned away: read in the small queue, but not enough
    /// to move on, so if it comes back soon it goes straight to main.
    TurnedAway,
    /// Out, and the ghost remembers which queue let it go: an unread small-queue entry, or a
    /// main-queue one (the read ones got another pass before this).
    Leaves,
}

/// Where a small-queue entry read `frequency` times goes in the recency regime, once the store
/// has filled. Read twice or more, it moves on. Read once, it is turned away, not weighed at the
/// door: it leaves as the ghost's turned-away kind, and if it comes back while the ghost holds
/// it, it goes straight to the main queue (S3-FIFO as libCacheSim runs it by default, which
/// moves a key on when read twice). Unread, it leaves as the small queue's. One read in probation
/// is weak evidence, and a second request soon after the first is caught either way: in the small
/// queue, or by the ghost one miss later. Against the door (`hit_ratios`, five seeds): OLTP +0.86,
/// +0.71, +0.46, +0.49, +0.32, +0.30, +0.16 and +0.09 from 250 to 2,000 entries, P2 8,192 +1.03, P2
/// 32,768 +0.24, P6 8,192 +0.17, P12 +0.09 to +0.38 at every size, P6 32,768 +0.07; P3 131,072
/// -0.52, the Zipf scans of 10,000 entries -0.12, P6 524,288 -0.11, the 10% Zipf cells -0.07 and
/// -0.06, P6 131,072 -0.05, every other cell within 0.07; off the grid (16,384, 24,576 and 65,536
/// entries, two seeds) P2 +0.11 to +0.54, P12 24,576 and 65,536 +0.51 and +0.24, P6 +0.01 to +0.10,
/// P3 -0.04 to -0.07, P12 16,384 -0.19 (-0.76 to +0.37); the weighted benchmark's byte hit ratio
/// 78.44% (78.48%). libCacheSim's S3-FIFO (a fixed small queue of 10%, a ghost of 90%;
/// `benches/published_policies.py`) had OLTP 1,000 and 2,000 at 40.86% and 47.03% against this
/// cache's 40.46% and 46.87% with the door.
fn recency_way_out(frequency: u8) -> WayOut {
    match frequency {
        0 => WayOut::Leaves,
        1 => WayOut::TurnedAway,
        _ => WayOut::MovesOn,
    }
}

/// How far the door's leniency goes: past the sketch's largest count, every key passes.
pub(super) const MOST_LENIENCY: u8 = 16;

impl<K, V, X: Copy> Store<K, V, X> {
    /// Moves the small queue's share by a key back from the ghost, as ARC moves its target
    /// (Megiddo and Modha, FAST 2003): one the small queue let go votes for a longer small
    /// queue, one the main queue let go for a shorter one, each vote weighed by how rare its
    /// kind is among the ghosts. A fixed share cannot serve every workload: on the benchmark
    /// traces OLTP wants 20-33%, P2 and Zipf 5%, P6 at 32,768 entries 2%.
    pub(super) fn adapt_small_queue(&mut self, hash: u64, weight: u32, evicted_from: Queue) {
        let weight = weight as usize;
        match evicted_from {
            Queue::Small if self.sketch.estimate(hash) < FREQUENT_RETURNER => {
                let ratio = (self.ghosts_from_main / self.ghosts_from_small.max(1)).max(1);
                let most = per_mille_of(self.capacity, MOST_SMALL_PER_MILLE).max(1);
                // Saturating: a heavy vote times a large ratio can pass `usize` on 32-bit chips.
                let step = weight.saturating_mul(ratio);
                self.small_capacity = self.small_capacity.saturating_add(step).min(most);
            }
            Queue::Small => {}
            Queue::Main => {
                let ratio = (self.ghosts_from_small / self.ghosts_from_main.max(1)).max(1);
                let step = weight.saturating_mul(ratio);
                let least = per_mille_of(self.capacity, LEAST_SMALL_PER_MILLE).max(1);
                self.small_capacity = self.small_capacity.saturating_sub(step).max(least);
            }
        }
    }

    /// Whether a key back from the small queue's ghost, weighing `weight`, is seen at least as
    /// often (by the sketch) as the main-queue entries next in line to leave, weight for
    /// weight: its estimate against their estimates' mean weighted by their weights, over as
    /// many of them as its weight displaces (at most [`MOST_WEIGHED_VICTIMS`]). Each byte a
    /// store holds then earns about as many hits as the bytes it would replace, whatever the
    /// entries' sizes: the byte hit ratio's measure of an entry is its frequency, not its
    /// frequency per byte (which favours light entries: what the request hit ratio rewards).
    ///
    /// On the weighted benchmark (16 B to 64 KiB bodies, Zipf 0.99, 64 MiB;
    /// `cargo run --release -p readthrough-benches --example weighted_lab`, 8 shards), byte
    /// hit ratio 76.40% with the former rule (a returner heavier than twice the mean entry was
    /// taken as new, which kept 16k entries: request hit ratio 80.35%), 77.86% with every
    /// returner to main, 78.25% with this test (quick_cache 78.10%), request hit ratio 77.47%.
    /// Against the sum of the victims' estimates (moka's rule, which favours light entries):
    /// 77.07% of bytes. Strictly more often: 78.25% of bytes too, 77.18% of requests.
    pub(super) fn worth_its_weight(&self, hash: u64, weight: u32) -> bool {
        let candidate = u64::from(self.sketch.estimate(hash));
        let (displaced, seen) = self.next_main_victims(weight);
        candidate * displaced >= seen
    }

    /// Whether a key the main queue evicted may go straight back to it when it returns, or one
    /// the small queue let go long ago: whether the sketch has seen it, plus the door's
    /// leniency, more often than the main-queue entries next in line to leave (weight for
    /// weight, as in [`Store::worth_its_weight`]). Strictly more often: letting ties in cost
    /// OLTP up to 0.5 points (at 250 entries, with a door of fixed strictness).
    ///
    /// The door also used to decide whether a key read once in the small queue moved on; it is
    /// now turned away whatever the sketch says (see [`recency_way_out`]). Measured
    /// then on `hit_ratios` (five hasher seeds, against no door): OLTP +0.1 to +1.3
    /// points (most at 250 entries), P2 +0.7 to +0.9 at 8,192 and 32,768 entries, P6 within
    /// +0.2 except 131,072 entries (-0.13 to -0.19), Zipf within 0.01, the weighted workload's
    /// byte hit ratio within 0.03, a moving Zipf working set (`hit_ratios synthetic`) -0.03 to
    /// -0.27. A fixed door (no leniency) gained more on OLTP and P2 but cost P6 at 131,072
    /// entries 0.7 to 0.8 points: there a new working set must get past the old one's counts.
    /// Keys back from the main queue through the door too (against sending them all to the
    /// small queue; five seeds): P6 131,072 +0.11 to +0.15, P2 +0.00 to +0.13, the 10% Zipf
    /// cells +0.02 to +0.05, P6 32,768 -0.09 to +0.04, OLTP -0.16 to +0.16.
    pub(super) fn passes_door(&self, hash: u64, weight: u32) -> bool {
        let (displaced, seen) = self.next_main_victims(weight);
        if displaced == 0 {
            return true;
        }
        let candidate = u64::from(self.sketch.estimate(hash)) + u64::from(self.leniency);
        candidate * displaced > seen
    }

    /// The frequency regime's door: whether the sketch has seen a key leaving the small queue
    /// more often than the main-queue entries that would leave for it, weight for weight. Those
    /// are the ones the main queue's hand would evict next, not the head of the queue: the hand
    /// is moved on past entries read since their last pass first.
    pub(super) fn outranks_victims(&mut self, hash: u64, weight: u32) -> bool {
        self.pass_read_main_entries();
        let (displaced, seen) = self.next_main_victims(weight);
        displaced == 0 || u64::from(self.sketch.estimate(hash)) * displaced > seen
    }

    /// Gives the main-queue entries at the head that were read since their last pass another
    /// pass (their hits into the sketch, one hit less, to the back of the queue), until an
    /// unread one is at the head: the one eviction from main takes.
    pub(super) fn pass_read_main_entries(&mut self) {
        // Each entry passes at most `MAX_FREQUENCY` times before it is unread: a bound, not a
        // count to reach.
        for _ in 0..self.main.len() * (usize::from(MAX_FREQUENCY) + 1) {
            let Some(&index) = self.main.front() else {
                return;
            };
            match &self.slots[index as usize] {
                Slot::Occupied(entry) if entry.frequency() == 0 => return,
                Slot::Occupied(entry) => {
                    let frequency = entry.frequency();
                    entry.set_frequency(frequency - 1);
                    self.sketch.add(entry.hash(), frequency);
                    self.main.rotate_left(1);
                }
                // A vacant place leaves its queue; the slot stays in `vacant`.
                _ => {
                    self.main.pop_front();
                    self.slots[index as usize] = Slot::Vacant(Vacancy::Free);
                }
            }
        }
    }

    /// The small queue's share of the weight now: adapted in the recency regime, 1% in the
    /// frequency regime (as Caffeine's window).
    pub(super) fn small_share(&self) -> usize {
        match self.regime {
            Regime::Recency => self.small_capacity,
            Regime::Frequency => per_mille_of(self.capacity, FREQUENCY_WINDOW_PER_MILLE).max(1),
        }
    }

    /// The weight of the main-queue entries next in line to leave, as many as `weight`
    /// displaces (at most [`MOST_WEIGHED_VICTIMS`]), and the sum of their sketch estimates
    /// times their weights.
    pub(super) fn next_main_victims(&self, weight: u32) -> (u64, u64) {
        let (mut displaced, mut seen) = (0u64, 0u64);
        for &index in self.main.iter().take(MOST_WEIGHED_VICTIMS) {
            if displaced >= u64::from(weight) {
                break;
            }
            if let Slot::Occupied(victim) = &self.slots[index as usize] {
                // At most 16 weights below 2^32 times an estimate below 16: no overflow.
                let victim_weight = u64::from(victim.weight());
                displaced += victim_weight;
                seen += u64::from(self.sketch.estimate(victim.hash())) * victim_weight;
            }
        }
        (displaced, seen)
    }

    /// Until the store first fills nothing is evicted, but the small queue must still hand its
    /// oldest entries to the main queue so it keeps its share. Only then: once full, a store
    /// with a weigher often has room after evicting one heavy entry, and handing the small
    /// queue's overflow to main there (untested by the frequency test) let one-hit entries
    /// crowd main (hit ratio 73.0% instead of 76.6% on the weighted benchmark).
    pub(super) fn make_room_in_small(&mut self) {
        while self.small_weight > self.small_share()
            && let Some(index) = self.small.pop_front()
        {
            match &mut self.slots[index as usize] {
                Slot::Occupied(entry) => {
                    entry.move_to_main();
                    self.small_weight -= entry.weight() as usize;
                    push_within(&mut self.main, index, self.capacity);
                }
                slot => *slot = Slot::Vacant(Vacancy::Free),
            }
        }
    }

    /// Evicts entries until `incoming` more weight fits; returns how many it evicted.
    pub(super) fn evict_while_over(
        &mut self,
        incoming: usize,
        expired: &impl Fn(X) -> bool,
        leaving: &mut Leaving<K, V>,
    ) -> usize {
        let mut evicted = 0;
        while self.weight + incoming > self.capacity && self.evict_one(expired, leaving) {
            evicted += 1;
        }
        evicted
    }

    /// Evicts one entry; false when there is nothing left to evict.
    pub(super) fn evict_one(
        &mut self,
        expired: &impl Fn(X) -> bool,
        leaving: &mut Leaving<K, V>,
    ) -> bool {
        loop {
            let from_small = self.small_weight >= self.small_share() || self.main.is_empty();
            // Main may hold only vacant places: the pass drops them, and then small must give.
            let popped = from_small
                .then(|| self.small.pop_front())
                .flatten()
                .or_else(|| {
                    self.pass_read_main_entries();
                    self.main.pop_front()
                })
                .or_else(|| self.small.pop_front());
            let Some(index) = popped else {
                return false;
            };
            let entry = match &mut self.slots[index as usize] {
                Slot::Occupied(entry) => entry,
                // A vacant place leaves its queue; the slot stays in `vacant`.
                slot => {
                    *slot = Slot::Vacant(Vacancy::Free);
                    continue;
                }
            };
            let frequency = entry.frequency();
            // The hits since the entry's last pass reach the sketch here, not on the hit path.
            let hash = entry.hash();
            let (queue, weight) = (entry.queue(), entry.weight());
            self.sketch.add(hash, frequency);
            // A main-queue entry here is unread: the read ones got another pass above. A
            // small-queue entry moves on to main: before the store first fills if read, then in
            // recency if read twice or more (see `recency_way_out`), in frequency, read or
            // not, if it outranks main's victims.
            let way_out = match (queue, self.regime) {
                (Queue::Main, _) => WayOut::Leaves,
                _ if !self.filled && frequency > 0 => WayOut::MovesOn,
                _ if !self.filled => WayOut::Leaves,
                (Queue::Small, Regime::Recency) => recency_way_out(frequency),
                (Queue::Small, Regime::Frequency) => {
                    if self.outranks_victims(hash, weight) {
                        WayOut::MovesOn
                    } else {
                        WayOut::TurnedAway
                    }
                }
            };
            let departure = match (way_out, queue) {
                (WayOut::MovesOn, _) => {
                    let Slot::Occupied(entry) = &self.slots[index as usize] else {
                        continue;
                    };
                    entry.set_frequency(0);
                    entry.move_to_main();
                    self.small_weight -= weight as usize;
                    push_within(&mut self.main, index, self.capacity);
                    continue;
                }
                (WayOut::TurnedAway, _) => Departure::TurnedAway,
                (WayOut::Leaves, Queue::Small) => Departure::FromSmall,
                (WayOut::Leaves, Queue::Main) => Departure::FromMain,
            };
            self.ghost.record(hash, departure);
            match queue {
                Queue::Small => self.ghosts_from_small += 1,
                Queue::Main => self.ghosts_from_main += 1,
            }
            if self.ghosts_from_small + self.ghosts_from_main > self.ghost.places() {
                self.ghosts_from_small /= 2;
                self.ghosts_from_main /= 2;
            }
            // The slot left its queue when it was popped: it is free, not queued.
            let Some(entry) = self.vacate(index, |_| Slot::Vacant(Vacancy::Free)) else {
                continue;
            };
            let cause = if expired(entry.deadline) {
                RemovalCause::Expired
            } else {
                RemovalCause::Evicted
            };
            leaving.push_or_spill(entry.key, entry.value, cause, &mut self.spare);
            return true;
        }
    }
}

pub(super) fn per_mille_of(amount: usize, per_mille: usize) -> usize {
    (amount as u64 * per_mille as u64 / 1000) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::duel::Role;
    use crate::store::Inserted;
    use crate::store::entry::store_hash;
    use crate::store::tests::{in_main, mixed, put};
    use crate::weigher::Weighted;
    use alloc::vec::Vec;

    #[test]
    fn the_sketch_remembers_longer_in_the_recency_regime() {
        let halved = |regime: Regime| {
            let mut store = Store::<u64, u64, ()>::new(64, 64, Some(64), Role::Follows).unwrap();
            store.set_regime(regime);
            let (key, other) = (mixed(1), mixed(2));
            store.sketch.add(key, 15);
            for _ in 0..64 * sketch_memory(Regime::Frequency) - 16 {
                store.sketch.add(other, 1);
            }
            store.sketch.add(other, 1);
            store.sketch.estimate(key) < 15
        };
        assert!(
            halved(Regime::Frequency),
            "halved after 10 increments per entry"
        );
        assert!(
            !halved(Regime::Recency),
            "still counting after 10 per entry"
        );
    }

    /// A store of 40 full of keys 0..40 (the sketch started by one eviction), with a key read
    /// `reads` times in the small queue, then pushed out of it by new keys. Where
    /// `main_is_popular`, the sketch has seen every key of the main queue 5 more times.
    fn door_test(reads: usize, main_is_popular: bool) -> Store<u64, u64, ()> {
        let mut store = Store::new(40, 40, Some(40), Role::Follows).unwrap();
        for key in 0..41 {
            put(&mut store, mixed(key), key);
        }
        assert!(store.filled);
        if main_is_popular {
            for &index in &store.main {
                if let Slot::Occupied(entry) = &store.slots[index as usize] {
                    store.sketch.add(entry.hash(), 5);
                }
            }
        }
        put(&mut store, mixed(100), 100);
        for _ in 0..reads {
            assert!(store.get(mixed(100), &100).is_some());
        }
        for key in 101..111 {
            put(&mut store, mixed(key), key);
        }
        store
    }

    /// Found by `bounds_hold_after_every_operation`: a main queue of removed entries' places
    /// only, a small queue under its share, a heavy insert. The main queue's places are dropped
    /// on the way; the small queue must then give up its entries, or the store stays over.
    #[test]
    fn a_main_queue_of_vacant_places_does_not_stop_eviction_from_the_small_queue() {
        type ByValue = Weighted<fn(&u64, &u64) -> usize>;
        fn put_weighing(store: &mut Store<u64, u64, ()>, key: u64, weight: usize) -> usize {
            let mut leaving = Leaving::new();
            match store.insert::<ByValue>(mixed(key), key, 0, weight, (), &|()| false, &mut leaving)
            {
                Inserted::Added { evicted } => evicted,
                _ => panic!("key {key} not added"),
            }
        }
        // 250: a small queue of 5 (its starting share of 2%), over the two entries of 2.
        let mut store = Store::new(250, 250, None, Role::Follows).unwrap();
        for key in 0..4 {
            put_weighing(&mut store, key, 50);
        }
        put_weighing(&mut store, 10, 2);
        put_weighing(&mut store, 11, 2);
        assert_eq!(
            (in_main(&store, 0), in_main(&store, 10)),
            (Some(true), Some(false))
        );
        for key in 0..4 {
            assert!(store.remove(mixed(key), &key).is_some());
        }
        assert!(store.small_weight < store.small_share() && !store.main.is_empty());

        assert_eq!(
            put_weighing(&mut store, 20, 249),
            2,
            "both small entries evicted"
        );
        assert_eq!(store.weight(), 249);
        assert_eq!((in_main(&store, 10), in_main(&store, 11)), (None, None));
    }

    #[test]
    fn a_key_read_once_in_the_small_queue_is_turned_away_and_comes_back_straight_to_main() {
        // Turned away even where the sketch has seen it more often than main's keys.
        for main_is_popular in [false, true] {
            let mut store = door_test(1, main_is_popular);
            assert_eq!(in_main(&store, 100), None, "turned away");
            assert_eq!(store.leniency, 0);
            // Back from the ghost it goes straight to the main queue, and the door learns.
            put(&mut store, mixed(100), 100);
            assert_eq!(in_main(&store, 100), Some(true));
            assert_eq!(store.leniency, 1);
        }
    }

    #[test]
    fn a_key_read_twice_in_the_small_queue_moves_on() {
        let store = door_test(2, true);
        assert_eq!(in_main(&store, 100), Some(true));
    }

    #[test]
    fn a_key_back_from_the_main_queue_makes_the_door_stricter() {
        let mut store = door_test(1, true);
        put(&mut store, mixed(100), 100);
        assert_eq!(store.leniency, 1);
        // One of the first keys, evicted by the new ones, as the main queue's ghost remembers
        // it (the test does not depend on which queue let it go).
        let evicted = (0..41)
            .find(|&key| store.find(store_hash(mixed(key)), &key).is_none())
            .expect("new keys pushed some of the first ones out");
        store
            .ghost
            .record(store_hash(mixed(evicted)), Departure::FromMain);
        put(&mut store, mixed(evicted), evicted);
        assert_eq!(store.leniency, 0);
        assert_eq!(
            in_main(&store, evicted),
            Some(false),
            "back to the small queue"
        );
    }

    #[test]
    fn a_key_back_from_the_main_queue_goes_straight_back_if_it_passes_the_door() {
        let mut store = door_test(1, true);
        let evicted = (0..41)
            .find(|&key| store.find(store_hash(mixed(key)), &key).is_none())
            .expect("new keys pushed some of the first ones out");
        let hash = store_hash(mixed(evicted));
        store.sketch.add(hash, 15);
        store.ghost.record(hash, Departure::FromMain);
        put(&mut store, mixed(evicted), evicted);
        assert_eq!(in_main(&store, evicted), Some(true));
    }

    #[test]
    fn a_key_the_small_queue_let_go_long_ago_comes_back_only_through_the_door() {
        // Key 100 left the small queue unread; the main queue's keys are popular. Whichever
        // place of the ghost the evictions after it left it in, it is put back as the latest.
        let back = |long_ago: bool| {
            let mut store = door_test(0, true);
            assert_eq!(in_main(&store, 100), None);
            let hash = store_hash(mixed(100));
            store.ghost.take(hash);
            store.ghost.record(hash, Departure::FromSmall);
            if long_ago {
                // Two more keys of its set leave (same set, other fingerprints): it outlives
                // them in a random place.
                for bit in [40, 41] {
                    store.ghost.record(hash ^ (1 << bit), Departure::FromSmall);
                }
            }
            put(&mut store, mixed(100), 100);
            in_main(&store, 100)
        };
        assert_eq!(
            back(false),
            Some(true),
            "lately: straight to the main queue"
        );
        assert_eq!(
            back(true),
            Some(false),
            "long ago: the sketch has not seen it more than main's victims"
        );
    }

    /// A store of 40 full of keys 0..40 in `regime`, with key 100 added, seen `seen` more times
    /// by the sketch but never read, then pushed out of the small queue by new keys. The first
    /// `read_popular` keys in line to leave the main queue are read and seen 8 more times.
    fn regime_test(regime: Regime, seen: u8, read_popular: usize) -> Store<u64, u64, ()> {
        let mut store = Store::new(40, 40, Some(40), Role::Follows).unwrap();
        for key in 0..41 {
            put(&mut store, mixed(key), key);
        }
        store.set_regime(regime);
        let head: Vec<u32> = store.main.iter().take(read_popular).copied().collect();
        for index in head {
            if let Slot::Occupied(entry) = &store.slots[index as usize] {
                store.sketch.add(entry.hash(), 8);
                entry.touch();
            }
        }
        put(&mut store, mixed(100), 100);
        store.sketch.add(store_hash(mixed(100)), seen);
        for key in 101..111 {
            put(&mut store, mixed(key), key);
        }
        store
    }

    #[test]
    fn in_the_frequency_regime_an_unread_key_moves_on_if_seen_more_than_main_victims() {
        let store = regime_test(Regime::Frequency, 4, 0);
        assert_eq!(in_main(&store, 100), Some(true));
        let store = regime_test(Regime::Frequency, 0, 0);
        assert_eq!(in_main(&store, 100), None, "seen no more than the victims");
        let store = regime_test(Regime::Recency, 4, 0);
        assert_eq!(in_main(&store, 100), None, "recency evicts unread keys");
    }

    #[test]
    fn the_frequency_regime_weighs_a_key_against_the_entries_that_would_really_leave() {
        // Read since their last pass, the popular head of the main queue gets another pass:
        // the victims are the unread keys behind it, which the key outranks.
        let store = regime_test(Regime::Frequency, 4, MOST_WEIGHED_VICTIMS);
        assert_eq!(in_main(&store, 100), Some(true));
    }

    #[test]
    fn in_the_frequency_regime_a_key_back_from_the_ghost_starts_in_the_small_queue() {
        for (regime, to_main) in [(Regime::Recency, true), (Regime::Frequency, false)] {
            let mut store = door_test(0, false);
            store.set_regime(regime);
            let hash = store_hash(mixed(200));
            store.ghost.record(hash, Departure::FromSmall);
            put(&mut store, mixed(200), 200);
            assert_eq!(in_main(&store, 200), Some(to_main), "{regime:?}");
            assert!(store.ghost.take(hash).is_none(), "the ghost forgot it");
        }
    }
}

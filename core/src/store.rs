//! One shard's storage: a hash table of real keys and an S3-FIFO eviction policy by weight.
//!
//! Entries live in a slab (`slots`); the table maps keys to slot numbers, and two FIFO queues of
//! slot numbers order them for eviction (S3-FIFO: Yang et al., SOSP 2023). New keys enter the
//! small queue; a key read while there moves to the main queue when it reaches the head, the
//! others are evicted and remembered in the ghost filter (`ghost.rs`), so that they go straight
//! to the main queue if they come back soon (later, only through the door below). Main-queue
//! entries read since their last pass get another pass.
//! One scan of cold keys therefore flushes only the small queue, not the hot working set. The
//! queues are sized by weight: the small queue starts with a twentieth of the capacity's weight.
//!
//! The way from the small queue to the main one has a door (TinyLFU's admission, Einziger,
//! Friedman and Manes, ACM ToS 2017): a key read only once while in the small queue moves on
//! only if the frequency sketch has seen it more often than the main-queue entries it would
//! push out; otherwise it is turned away (evicted, and remembered as such by the ghost). The
//! door learns how strict to be from its regrets: a turned-away key that comes back makes it
//! more lenient, a key the main queue evicted that comes back makes it stricter again. A key
//! the main queue evicted that comes back goes through the same door: straight back to the
//! main queue if the sketch has seen it often enough, else to the small queue. So does a key
//! the small queue evicted that comes back after the ghost's latest keys have moved on: the
//! ghost still knows it, but only the sketch knows whether it comes back often.
//!
//! That is the recency regime. A store can also play the frequency regime (TinyLFU's own):
//! a small queue of 1%, every key leaving it (read or not) moves on only if the sketch has seen
//! it more often than the main-queue entries that would really leave for it, and the ghost is
//! not asked. Which one a store plays is its cache's duel's call (see `duel.rs`): frequency
//! wins where keys come back too far apart for the ghost to remember them.
//!
//! A read only bumps a two-bit frequency counter with a relaxed atomic store, so it runs under
//! the shard's shared lock and never allocates. A removed entry leaves its slot vacant in its
//! queue, and the next new key takes that place; a vacant slot that eviction pops is free.
//!
//! The store never runs user code except the key's `Eq`, and only before it changes anything:
//! each entry keeps 29 bits of its hash (eviction and rehashing never call `Hash`), and entries
//! that leave are handed out (in [`Leaving`]) to be dropped or reported after the lock is
//! released.
//!
//! An entry is its key, value and deadline plus 8 bytes: its weight, and one 32-bit word holding
//! the kept hash bits, its queue and its frequency (24 bytes for `u64` keys and values without
//! expiry, where a full hash, a weight and the two flags took 32). The table, the ghost and the
//! sketch all see the kept bits spread back over 64 bits ([`spread`]), so the hash a lookup
//! brings and the one an entry keeps always agree.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::borrow::Borrow;
use core::mem;
use core::num::NonZeroU32;
use hashbrown::HashTable;

use crate::duel::{Regime, Role};
use crate::ghost::{Departure, Ghost, Recalled};
use crate::leaving::{Leaving, Spill};
use crate::listener::RemovalCause;
use crate::sketch::Sketch;
use crate::sync::{AtomicU32, Ordering};
use crate::weigher::Weigh;

const MAX_FREQUENCY: u8 = 3;

/// How many bits of a key's hash its entry keeps: the rest of the entry's tag word holds its
/// queue (1 bit) and frequency (2 bits).
const KEPT_HASH_BITS: u32 = 29;
const KEPT_HASH_MASK: u32 = (1 << KEPT_HASH_BITS) - 1;
/// The tag bit of an entry in the main queue.
const IN_MAIN: u32 = 1 << KEPT_HASH_BITS;
/// The frequency sits in the tag's top bits, so "below the most" is one comparison of the word.
const FREQUENCY_SHIFT: u32 = KEPT_HASH_BITS + 1;
const MOST_READ: u32 = (MAX_FREQUENCY as u32) << FREQUENCY_SHIFT;

/// The hash bits an entry keeps: the low ones, which hashbrown already relies on being varied.
#[inline]
fn kept(hash: u64) -> u32 {
    hash as u32 & KEPT_HASH_MASK
}

/// The kept bits spread back over 64 bits by an odd multiplier, so that the table's control
/// bytes (its top 7 bits) and bucket (its low bits) and the ghost's and sketch's indexes all
/// vary with them. Not the shard's multiplier: with an identity hasher the shard (top bits of
/// `hash * 0x9E37...`) would otherwise fix the control bytes of every key in a shard.
#[inline]
fn spread(kept: u32) -> u64 {
    u64::from(kept).wrapping_mul(0xD6E8_FEB8_6659_FD93)
}

/// The table capacity (7/8 of its buckets) at which `keys` fill at most 5/8 of the buckets,
/// where erasing rarely leaves a tombstone (see `Store::make_table_room`).
#[inline]
fn roomy(keys: usize) -> usize {
    keys.saturating_mul(7) / 5
}

/// The 64-bit hash the store works with for a key whose full hash is `hash`.
#[inline]
fn store_hash(hash: u64) -> u64 {
    spread(kept(hash))
}

/// The small (probation) queue starts with 1/20 of the weight, then adapts (see
/// [`Store::adapt_small_queue`]) between [`LEAST_SMALL_PER_MILLE`] and [`MOST_SMALL_PER_MILLE`].
const SMALL_SHARE: usize = 20;
/// 0.5%: Zipf workloads want a small queue of about 1%, and with the floor at 1% the adaptation
/// sat above it (1.6% to 1.8% at the end of the 1% Zipf cells). Against 1% (`hit_ratios`, five
/// seeds): Zipf(0.8) and Zipf(0.99) at 1% +0.04 and +0.03, the loops +0.09 and +0.06, P3 131,072
/// +0.05, but OLTP 250 to 750 and 1,750 -0.03 to -0.06 and P12 524,288 -0.05; every other cell
/// within 0.04. 0.2% (five seeds): Zipf 1% +0.05, but OLTP 500 -0.13, P12 524,288 -0.10.
const LEAST_SMALL_PER_MILLE: usize = 5;
const MOST_SMALL_PER_MILLE: usize = 900;
/// The frequency regime's small queue: 1%, as Caffeine's window. Held in frequency (seed 1),
/// 0.5% gave P6 32,768 +0.05 but P12 32,768 -0.70; 2%, P2 32,768 +0.20 but P6 32,768 -0.16.
const FREQUENCY_WINDOW_PER_MILLE: usize = 10;

/// A key back from the small queue's ghost votes for a larger small queue only if the sketch
/// has seen it fewer times than this: one seen often was lost to a small queue too short to
/// show it, a sign the main queue should have held it, not that the small queue is short.
/// 4 with the recency regime's sketch memory of 15 increments per entry (see
/// [`sketch_memory`]), 3 with the former 10: a longer memory counts higher, and 3 then vetoed
/// the votes OLTP lives on (memory 15 with 3: OLTP -0.15 to -1.39, one seed). With memory 10,
/// 4 cost P2 8,192 0.9 points and 2 cost OLTP 3.5 to 5.2; with memory 15, 5 cost P2 8,192 0.6.
const FREQUENT_RETURNER: u8 = 4;

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
fn sketch_memory(regime: Regime) -> usize {
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
fn ghost_places(entries: usize) -> usize {
    entries - entries / 4
}

/// The ghost of a store whose entry count is not known up front starts this small and grows.
const MIN_GHOST_PLACES: usize = 32;

/// How many main-queue places a key back from the ghost of a weighed store is weighed against
/// (see [`Store::worth_its_weight`]): enough to cover the heaviest entry many times over, few
/// enough to keep that miss cheap. On the weighted benchmark 8, 16 and 32 gave the same byte
/// hit ratio (78.23%, 78.25%, 78.23%), 4 gave 78.18% and 1 gave 78.17%.
const MOST_WEIGHED_VICTIMS: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Queue {
    Small,
    Main,
}

/// How far the door's leniency goes: past the sketch's largest count, every key passes.
const MOST_LENIENCY: u8 = 16;

pub(crate) struct Entry<K, V, X> {
    pub(crate) key: K,
    pub(crate) value: V,
    pub(crate) deadline: X,
    /// Never 0 (weights are at least 1), which leaves `Slot` a niche for its vacant variants.
    weight: NonZeroU32,
    /// The kept hash bits, the queue bit and the frequency (see the module docs). Reads bump
    /// the frequency under the shared lock; everything else changes under the exclusive lock,
    /// so a read's store of the whole word never loses another field's change.
    tag: AtomicU32,
}

impl<K, V, X> Entry<K, V, X> {
    #[inline]
    fn touch(&self) {
        let tag = self.tag.load(Ordering::Relaxed);
        if tag < MOST_READ {
            self.tag
                .store(tag + (1 << FREQUENCY_SHIFT), Ordering::Relaxed);
        }
    }

    fn frequency(&self) -> u8 {
        (self.tag.load(Ordering::Relaxed) >> FREQUENCY_SHIFT) as u8
    }

    fn set_frequency(&self, frequency: u8) {
        let rest = self.tag.load(Ordering::Relaxed) & !(u32::MAX << FREQUENCY_SHIFT);
        self.tag.store(
            rest | u32::from(frequency) << FREQUENCY_SHIFT,
            Ordering::Relaxed,
        );
    }

    fn queue(&self) -> Queue {
        if self.tag.load(Ordering::Relaxed) & IN_MAIN == 0 {
            Queue::Small
        } else {
            Queue::Main
        }
    }

    fn move_to_main(&self) {
        let tag = self.tag.load(Ordering::Relaxed);
        self.tag.store(tag | IN_MAIN, Ordering::Relaxed);
    }

    /// The store's hash of the key (see [`spread`]).
    fn hash(&self) -> u64 {
        spread(self.tag.load(Ordering::Relaxed) & KEPT_HASH_MASK)
    }

    fn weight(&self) -> u32 {
        self.weight.get()
    }
}

/// Two variants, so that the vacant one needs a single invalid value of the entry's weight as
/// its tag (three variants would need two, and a `NonZeroU32` has one).
enum Slot<K, V, X> {
    Occupied(Entry<K, V, X>),
    Vacant(Vacancy),
}

#[derive(Clone, Copy)]
enum Vacancy {
    /// Still holding its place in a queue: the next new key takes that place.
    Queued(Queue),
    /// In no queue.
    Free,
}

/// What an insert did.
pub(crate) enum Inserted<K, V> {
    /// Stored a key the store did not hold (a miss); this many entries were evicted for it.
    Added { evicted: usize },
    /// Replaced the value of a key the store held; this many entries were evicted for it.
    Replaced { evicted: usize },
    /// Heavier than the whole store: handed back, not stored (any older value was removed).
    Rejected(K, V),
}

/// Reserving the store's tables up front failed.
#[derive(Debug)]
pub(crate) struct ReserveError;

pub(crate) struct Store<K, V, X> {
    /// Each key's slot index, with spare high bits holding more of its hash: see [`Buckets`].
    table: HashTable<u32>,
    buckets: Buckets,
    slots: Vec<Slot<K, V, X>>,
    /// Every slot that is not occupied, once.
    vacant: Vec<u32>,
    small: VecDeque<u32>,
    main: VecDeque<u32>,
    ghost: Ghost,
    sketch: Sketch,
    /// About how many of the ghost's keys were evicted from each queue (both halved whenever
    /// their sum passes the ghost's size): ARC's balance between the two kinds of regret.
    ghosts_from_small: usize,
    ghosts_from_main: usize,
    /// How many counts of the sketch a key at the door to the main queue is given over the
    /// entries it would push out (see [`Store::passes_door`]): raised by each turned-away key
    /// that comes back, lowered by each key back from the main queue, 0 to [`MOST_LENIENCY`].
    leniency: u8,
    /// The most weight the store holds (at most `u32::MAX`, checked by the builder).
    capacity: usize,
    small_capacity: usize,
    weight: usize,
    small_weight: usize,
    /// Slots reserved up front, kept reserved across `clear`.
    reserved: usize,
    /// The emptied list of a multi-entry eviction, lent to the next one.
    spare: Spill<K, V>,
    /// Set at the first eviction since the store was created or cleared. From then on the
    /// small queue's overflow leaves it by eviction, through the frequency test.
    filled: bool,
    /// How keys get into the main queue now (see [`Regime`]).
    regime: Regime,
    /// The store's part in its cache's duel of regimes.
    role: Role,
}

impl<K, V, X: Copy> Store<K, V, X> {
    /// A store for `capacity` units of weight. `entries` is how many entries to reserve room
    /// for now (0: tables grow on demand, never past `capacity` entries); `expected_entries` is
    /// how many entries a full store is expected to hold, which sizes the ghost filter.
    pub(crate) fn new(
        capacity: usize,
        entries: usize,
        expected_entries: Option<usize>,
        role: Role,
    ) -> Result<Self, ReserveError> {
        let small_capacity = (capacity / SMALL_SHARE).max(1);
        let entries = entries.min(capacity);
        let ghost_places = expected_entries
            .map_or(MIN_GHOST_PLACES, ghost_places)
            .max(1);
        let mut store = Store {
            table: HashTable::new(),
            buckets: Buckets::for_slots(capacity),
            slots: Vec::new(),
            vacant: Vec::new(),
            small: VecDeque::new(),
            main: VecDeque::new(),
            ghost: Ghost::new(ghost_places),
            sketch: Sketch::new(
                expected_entries.unwrap_or(MIN_GHOST_PLACES),
                sketch_memory(Regime::Recency),
            ),
            ghosts_from_small: 0,
            ghosts_from_main: 0,
            leniency: 0,
            capacity,
            small_capacity,
            weight: 0,
            small_weight: 0,
            reserved: entries,
            spare: Vec::new(),
            filled: false,
            regime: Regime::Recency,
            role,
        };
        if entries > 0 {
            store.reserve(entries).map_err(|_| ReserveError)?;
        }
        Ok(store)
    }

    fn reserve(&mut self, entries: usize) -> Result<(), ReserveError> {
        let spare = entries / 8 + 1;
        // Room for the table never to grow in `make_table_room`: a reserved store allocates
        // nothing once built.
        self.table
            .try_reserve(roomy(entries) + 1, stored_hashes(&self.slots, self.buckets))
            .map_err(|_| ReserveError)?;
        self.slots
            .try_reserve_exact(entries)
            .map_err(|_| ReserveError)?;
        self.main
            .try_reserve_exact(entries)
            .map_err(|_| ReserveError)?;
        // The small queue can grow to most of the store (see `adapt_small_queue`).
        self.small
            .try_reserve_exact(per_mille_of(entries, MOST_SMALL_PER_MILLE) + 1)
            .map_err(|_| ReserveError)?;
        self.vacant
            .try_reserve_exact(spare)
            .map_err(|_| ReserveError)?;
        self.sketch.fit(entries);
        self.sketch.reserve()?;
        self.ghost.reserve(ghost_places(entries))
    }

    pub(crate) fn len(&self) -> usize {
        self.slots.len() - self.vacant.len()
    }

    pub(crate) fn weight(&self) -> usize {
        self.weight
    }

    pub(crate) fn role(&self) -> Role {
        self.role
    }

    pub(crate) fn set_regime(&mut self, regime: Regime) {
        if self.regime != regime {
            self.regime = regime;
            self.sketch.set_memory(sketch_memory(regime));
        }
    }

    /// The slot of `key`, whose store hash (not its full hash) is `hash`.
    fn find<Q>(&self, hash: u64, key: &Q) -> Option<u32>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let slots = &self.slots;
        // A bucket of another key gives an index past every slot, unless its hash agrees with
        // this one in all the check bits.
        let check = self.buckets.check(hash);
        self.table
            .find(hash, |&bucket| {
                matches!(
                    slots.get((bucket ^ check) as usize),
                    Some(Slot::Occupied(entry)) if entry.key.borrow() == key
                )
            })
            .map(|&bucket| bucket ^ check)
    }

    /// The entry for `key`, counted as read.
    #[inline]
    pub(crate) fn get<Q>(&self, hash: u64, key: &Q) -> Option<&Entry<K, V, X>>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let index = self.find(store_hash(hash), key)?;
        match &self.slots[index as usize] {
            Slot::Occupied(entry) => {
                entry.touch();
                Some(entry)
            }
            _ => None,
        }
    }

    /// Stores `value` for `key` with `weight` (at least 1), replacing an existing value in place
    /// (keeping its queue place and frequency), or taking a vacant slot or a new one, after
    /// evicting until the weight fits. Displaced entries go to `leaving`; `expired` tells an
    /// expired entry from a live one. `W` is the cache's weigher: whether entries all weigh 1
    /// is known at compile time, so a cache without a weigher carries no code of the weighed
    /// admission test.
    #[allow(
        clippy::too_many_arguments,
        reason = "the entry's four parts, the clock and the list of leavers"
    )]
    pub(crate) fn insert<W: Weigh<K, V>>(
        &mut self,
        hash: u64,
        key: K,
        value: V,
        weight: usize,
        deadline: X,
        expired: &impl Fn(X) -> bool,
        leaving: &mut Leaving<K, V>,
    ) -> Inserted<K, V>
    where
        K: Eq,
    {
        let kept_hash = kept(hash);
        let hash = spread(kept_hash);
        let existing = self.find(hash, &key);
        if weight > self.capacity {
            if let Some((old_key, old_value, old_deadline)) = existing.and_then(|i| self.take(i)) {
                leaving.push(old_key, old_value, replaced_cause(expired(old_deadline)));
            }
            return Inserted::Rejected(key, value);
        }
        // Fits in u32: the builder keeps every store's capacity within it. Weighers' weights
        // are at least 1 (`Weigh::weight`); 0 would still be stored as 1.
        let weight = NonZeroU32::new(weight as u32).unwrap_or(NonZeroU32::MIN);

        if let Some(index) = existing
            && let Slot::Occupied(entry) = &mut self.slots[index as usize]
        {
            let old_key = mem::replace(&mut entry.key, key);
            let old_value = mem::replace(&mut entry.value, value);
            let old_deadline = mem::replace(&mut entry.deadline, deadline);
            let old_weight = mem::replace(&mut entry.weight, weight).get() as usize;
            let in_small = entry.queue() == Queue::Small;
            let weight = weight.get() as usize;
            self.weight = self.weight - old_weight + weight;
            if in_small {
                self.small_weight = self.small_weight - old_weight + weight;
            }
            leaving.push(old_key, old_value, replaced_cause(expired(old_deadline)));
            let evicted = self.evict_while_over(0, expired, leaving);
            return Inserted::Replaced { evicted };
        }

        self.sketch.add(hash, 1);
        let evicted = self.evict_while_over(weight.get() as usize, expired, leaving);
        if evicted > 0 {
            if !self.filled {
                self.sketch.start(self.len() + evicted);
            }
            self.filled = true;
        } else if !self.filled {
            self.make_room_in_small();
        }
        let (index, place) = match self.vacant.pop() {
            Some(index) => match self.slots[index as usize] {
                Slot::Vacant(Vacancy::Queued(queue)) => (index, Some(queue)),
                _ => (index, None),
            },
            None => {
                grow_towards(&mut self.slots, self.capacity);
                self.slots.push(Slot::Vacant(Vacancy::Free));
                ((self.slots.len() - 1) as u32, None)
            }
        };
        let queue = place.unwrap_or_else(|| {
            // In a weighed store a key back from the small queue's ghost must be worth the
            // main-queue entries it would push out; one that is not is taken as new.
            // The frequency regime asks the sketch, not the ghost (which still forgets the key,
            // so that it is current if the store turns to recency).
            let returned = self.ghost.take(hash).filter(|recalled| {
                self.regime == Regime::Recency
                    && (W::UNIT
                        || recalled.departure == Departure::FromMain
                        || self.worth_its_weight(hash, weight.get()))
            });
            match returned.map(|recalled| recalled.departure) {
                Some(Departure::FromSmall) => {
                    self.adapt_small_queue(hash, weight.get(), Queue::Small);
                }
                Some(Departure::FromMain) => {
                    self.adapt_small_queue(hash, weight.get(), Queue::Main);
                    self.leniency = self.leniency.saturating_sub(1);
                }
                // Turned away by a door too strict, not by a small queue too short: no vote.
                Some(Departure::TurnedAway) => {
                    self.leniency = (self.leniency + 1).min(MOST_LENIENCY);
                }
                None => {}
            }
            // A key the main queue let go goes back to it only through the door (the sketch has
            // seen it more often than the entries it would push out), and so does one the small
            // queue let go long ago (see `GHOST_PLACES_PER_ENTRY`); otherwise it must show
            // again in the small queue that it is hot.
            let to_main = match returned {
                Some(Recalled {
                    departure: Departure::FromSmall,
                    lately: true,
                })
                | Some(Recalled {
                    departure: Departure::TurnedAway,
                    ..
                }) => true,
                Some(Recalled {
                    departure: Departure::FromSmall | Departure::FromMain,
                    ..
                }) => self.passes_door(hash, weight.get()),
                None => false,
            };
            if to_main {
                push_within(&mut self.main, index, self.capacity);
                Queue::Main
            } else {
                push_within(&mut self.small, index, self.capacity);
                Queue::Small
            }
        });
        let queue_bit = match queue {
            Queue::Small => 0,
            Queue::Main => IN_MAIN,
        };
        self.slots[index as usize] = Slot::Occupied(Entry {
            key,
            value,
            deadline,
            weight,
            tag: AtomicU32::new(kept_hash | queue_bit),
        });
        let weight = weight.get() as usize;
        self.weight += weight;
        if queue == Queue::Small {
            self.small_weight += weight;
        }
        self.make_table_room();
        let slots = &self.slots;
        let buckets = self.buckets;
        self.table.insert_unique(
            hash,
            buckets.bucket(index, hash),
            stored_hashes(slots, buckets),
        );
        self.ghost.fit(ghost_places(self.len()));
        self.sketch.fit(self.len());
        Inserted::Added { evicted }
    }

    /// Makes sure the table can take one more key without growing past what the store can
    /// hold. Erasing from a hashbrown table can leave tombstones; once they have used up its
    /// spare room, hashbrown would double a table that already has room for every key the
    /// store can hold. Rebuilding in place (from the stored hashes) keeps a warm store from
    /// allocating.
    ///
    /// A rebuild that finds the live keys filling more than 5/8 of the buckets doubles the
    /// table once (up to twice the store's capacity): an erase leaves a tombstone only where
    /// 16 buckets around it are all full, which at 3/4 load is common (a store of 1,562 keys
    /// in 2,048 buckets, evicting one key per miss, rebuilt about every 500 misses: 78
    /// instructions per miss) and under 5/8 is rare. It costs a churning store at most one
    /// doubling of its table (5 bytes a bucket), once.
    fn make_table_room(&mut self) {
        if self.table.len() < self.table.capacity() {
            return;
        }
        let live = self.table.len();
        let spare = live / 8 + 1;
        self.table.clear();
        let slots = &self.slots;
        let buckets = self.buckets;
        if self.table.capacity() < roomy(live) {
            let most = self.capacity.saturating_mul(2).saturating_add(1);
            let wanted = (live * 2).clamp(live + spare, most.max(live + spare));
            self.table.reserve(wanted, stored_hashes(slots, buckets));
        }
        for (index, slot) in slots.iter().enumerate() {
            if let Slot::Occupied(entry) = slot {
                let hash = entry.hash();
                self.table.insert_unique(
                    hash,
                    buckets.bucket(index as u32, hash),
                    stored_hashes(slots, buckets),
                );
            }
        }
    }

    /// Takes back an emptied spill list, keeping the larger of it and the one held.
    pub(crate) fn return_spare(&mut self, spare: Spill<K, V>) {
        if spare.capacity() > self.spare.capacity() {
            self.spare = spare;
        }
    }

    /// Takes the value for `key` out; its slot stays vacant in its queue.
    pub(crate) fn remove<Q>(&mut self, hash: u64, key: &Q) -> Option<(K, V, X)>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let index = self.find(store_hash(hash), key)?;
        self.take(index)
    }

    /// Takes the entry in slot `index` out of the table and the weights; its slot stays vacant
    /// in its queue.
    fn take(&mut self, index: u32) -> Option<(K, V, X)> {
        let entry = self.vacate(index, |queue| Slot::Vacant(Vacancy::Queued(queue)))?;
        Some((entry.key, entry.value, entry.deadline))
    }

    /// Replaces the occupied slot `index` by `vacant(its queue)` and returns its entry, out of
    /// the table and the weights.
    fn vacate(
        &mut self,
        index: u32,
        vacant: impl FnOnce(Queue) -> Slot<K, V, X>,
    ) -> Option<Entry<K, V, X>> {
        let slot = &mut self.slots[index as usize];
        let Slot::Occupied(entry) = slot else {
            return None;
        };
        let left = Slot::Vacant(Vacancy::Queued(entry.queue()));
        let Slot::Occupied(entry) = mem::replace(slot, left) else {
            return None;
        };
        self.slots[index as usize] = vacant(entry.queue());
        let hash = entry.hash();
        let bucket = self.buckets.bucket(index, hash);
        if let Ok(found) = self.table.find_entry(hash, |&held| held == bucket) {
            found.remove();
        }
        self.vacant.push(index);
        self.weight -= entry.weight() as usize;
        if entry.queue() == Queue::Small {
            self.small_weight -= entry.weight() as usize;
        }
        Some(entry)
    }

    /// Empties the store and returns its entries, to be dropped outside the lock. Reserved
    /// room is reserved again.
    pub(crate) fn clear(&mut self) -> impl Iterator<Item = (K, V)> + use<K, V, X> {
        let slots = mem::take(&mut self.slots);
        if self.reserved > 0 {
            // Best effort: a store that cannot get its room back grows on demand again.
            let _ = self.slots.try_reserve_exact(self.reserved);
        }
        self.table.clear();
        self.vacant.clear();
        self.small.clear();
        self.main.clear();
        self.ghost.clear();
        self.sketch.clear();
        self.ghosts_from_small = 0;
        self.ghosts_from_main = 0;
        self.leniency = 0;
        self.small_capacity = (self.capacity / SMALL_SHARE).max(1);
        self.weight = 0;
        self.small_weight = 0;
        self.filled = false;
        slots.into_iter().filter_map(|slot| match slot {
            Slot::Occupied(entry) => Some((entry.key, entry.value)),
            _ => None,
        })
    }

    /// Moves the small queue's share by a key back from the ghost, as ARC moves its target
    /// (Megiddo and Modha, FAST 2003): one the small queue let go votes for a longer small
    /// queue, one the main queue let go for a shorter one, each vote weighed by how rare its
    /// kind is among the ghosts. A fixed share cannot serve every workload: on the benchmark
    /// traces OLTP wants 20-33%, P2 and Zipf 5%, P6 at 32,768 entries 2%.
    fn adapt_small_queue(&mut self, hash: u64, weight: u32, evicted_from: Queue) {
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
    fn worth_its_weight(&self, hash: u64, weight: u32) -> bool {
        let candidate = u64::from(self.sketch.estimate(hash));
        let (displaced, seen) = self.next_main_victims(weight);
        candidate * displaced >= seen
    }

    /// Whether a key read once in the small queue may move on to the main queue, or a key the
    /// main queue evicted go straight back to it when it returns: whether the
    /// sketch has seen it, plus the door's leniency, more often than the main-queue entries
    /// next in line to leave (weight for weight, as in [`Store::worth_its_weight`]). Strictly
    /// more often: letting ties in cost OLTP up to 0.5 points (at 250 entries, with a door of
    /// fixed strictness). Keys read twice or more in the small queue pass without asking.
    ///
    /// Measured on `hit_ratios` (five hasher seeds, against no door): OLTP +0.1 to +1.3
    /// points (most at 250 entries), P2 +0.7 to +0.9 at 8,192 and 32,768 entries, P6 within
    /// +0.2 except 131,072 entries (-0.13 to -0.19), Zipf within 0.01, the weighted workload's
    /// byte hit ratio within 0.03, a moving Zipf working set (`hit_ratios synthetic`) -0.03 to
    /// -0.27. A fixed door (no leniency) gained more on OLTP and P2 but cost P6 at 131,072
    /// entries 0.7 to 0.8 points: there a new working set must get past the old one's counts.
    /// Keys back from the main queue through the door too (against sending them all to the
    /// small queue; five seeds): P6 131,072 +0.11 to +0.15, P2 +0.00 to +0.13, the 10% Zipf
    /// cells +0.02 to +0.05, P6 32,768 -0.09 to +0.04, OLTP -0.16 to +0.16.
    fn passes_door(&self, hash: u64, weight: u32) -> bool {
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
    fn outranks_victims(&mut self, hash: u64, weight: u32) -> bool {
        self.pass_read_main_entries();
        let (displaced, seen) = self.next_main_victims(weight);
        displaced == 0 || u64::from(self.sketch.estimate(hash)) * displaced > seen
    }

    /// Gives the main-queue entries at the head that were read since their last pass another
    /// pass (their hits into the sketch, one hit less, to the back of the queue), until an
    /// unread one is at the head: the one eviction from main takes.
    fn pass_read_main_entries(&mut self) {
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
    fn small_share(&self) -> usize {
        match self.regime {
            Regime::Recency => self.small_capacity,
            Regime::Frequency => per_mille_of(self.capacity, FREQUENCY_WINDOW_PER_MILLE).max(1),
        }
    }

    /// The weight of the main-queue entries next in line to leave, as many as `weight`
    /// displaces (at most [`MOST_WEIGHED_VICTIMS`]), and the sum of their sketch estimates
    /// times their weights.
    fn next_main_victims(&self, weight: u32) -> (u64, u64) {
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
    fn make_room_in_small(&mut self) {
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
    fn evict_while_over(
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
    fn evict_one(&mut self, expired: &impl Fn(X) -> bool, leaving: &mut Leaving<K, V>) -> bool {
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
            // recency if read (once: through the door), in frequency, read or not, if it
            // outranks main's victims.
            let (moves_on, turned_away) = match self.regime {
                _ if queue == Queue::Main => (false, false),
                _ if !self.filled => (frequency > 0, false),
                Regime::Recency => {
                    let turned_away = frequency == 1 && !self.passes_door(hash, weight);
                    (frequency > 0 && !turned_away, turned_away)
                }
                Regime::Frequency => {
                    let admitted = self.outranks_victims(hash, weight);
                    (admitted, !admitted)
                }
            };
            if moves_on {
                let Slot::Occupied(entry) = &self.slots[index as usize] else {
                    continue;
                };
                entry.set_frequency(0);
                entry.move_to_main();
                self.small_weight -= weight as usize;
                push_within(&mut self.main, index, self.capacity);
                continue;
            }
            let departure = match queue {
                Queue::Small if turned_away => Departure::TurnedAway,
                Queue::Small => Departure::FromSmall,
                Queue::Main => Departure::FromMain,
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

fn per_mille_of(amount: usize, per_mille: usize) -> usize {
    (amount as u64 * per_mille as u64 / 1000) as usize
}

fn replaced_cause(expired: bool) -> RemovalCause {
    if expired {
        RemovalCause::Expired
    } else {
        RemovalCause::Replaced
    }
}

/// The table's rehash function: the hash stored beside each entry. One function for every
/// call, so that hashbrown's growth code is compiled once (it is large, and flash is scarce).
fn stored_hashes<K, V, X>(slots: &[Slot<K, V, X>], buckets: Buckets) -> impl Fn(&u32) -> u64 + '_ {
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
struct Buckets {
    /// The low bits, which hold the index.
    index_mask: u32,
    /// The others, which hold hash bits.
    check_mask: u32,
}

impl Buckets {
    /// The layout for a store whose slot indexes stay below `slots` (its capacity: each entry
    /// weighs at least 1). `bucket ^ check(hash)` is then the slot index of the key in the
    /// bucket if its hash is `hash`, and otherwise almost always an index past the last slot.
    fn for_slots(slots: usize) -> Self {
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
    fn check(self, hash: u64) -> u32 {
        (hash >> 25) as u32 & self.check_mask
    }

    #[inline]
    fn bucket(self, index: u32, hash: u64) -> u32 {
        debug_assert_eq!(
            index & !self.index_mask,
            0,
            "a slot index past the capacity"
        );
        index | self.check(hash)
    }

    #[inline]
    fn index(self, bucket: u32) -> u32 {
        bucket & self.index_mask
    }
}

/// Grows `vec` by doubling, but never past `limit`, so a full store holds no spare capacity.
fn grow_towards<T>(vec: &mut Vec<T>, limit: usize) {
    if vec.len() == vec.capacity() {
        let more = vec.len().max(4).min(limit.saturating_sub(vec.len())).max(1);
        vec.reserve_exact(more);
    }
}

fn push_within(queue: &mut VecDeque<u32>, index: u32, limit: usize) {
    if queue.len() == queue.capacity() {
        let more = queue
            .len()
            .max(4)
            .min(limit.saturating_sub(queue.len()))
            .max(1);
        queue.reserve_exact(more);
    }
    queue.push_back(index);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::weigher::{Unweighted, Weighted};
    use core::sync::atomic::{AtomicUsize, Ordering::Relaxed};

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

    /// A key that counts how often it is compared.
    #[derive(Debug, Clone, Copy)]
    struct Counted(u64, &'static AtomicUsize);

    impl PartialEq for Counted {
        fn eq(&self, other: &Self) -> bool {
            self.1.fetch_add(1, Relaxed);
            self.0 == other.0
        }
    }

    impl Eq for Counted {}

    fn mixed(key: u64) -> u64 {
        let mut z = key.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn put<K: Eq>(store: &mut Store<K, u64, ()>, hash: u64, key: K) {
        let mut leaving = Leaving::new();
        store.insert::<Unweighted>(hash, key, 0, 1, (), &|()| false, &mut leaving);
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

    fn in_main(store: &Store<u64, u64, ()>, key: u64) -> Option<bool> {
        let index = store.find(store_hash(mixed(key)), &key)?;
        match &store.slots[index as usize] {
            Slot::Occupied(entry) => Some(entry.queue() == Queue::Main),
            _ => None,
        }
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
        let mut store = Store::new(100, 100, None, Role::Follows).unwrap();
        for key in 0..4 {
            put_weighing(&mut store, key, 20);
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
            put_weighing(&mut store, 20, 99),
            2,
            "both small entries evicted"
        );
        assert_eq!(store.weight(), 99);
        assert_eq!((in_main(&store, 10), in_main(&store, 11)), (None, None));
    }

    #[test]
    fn a_key_read_once_passes_the_door_only_if_seen_more_than_main_victims() {
        let store = door_test(1, false);
        assert_eq!(in_main(&store, 100), Some(true), "main's keys are unseen");

        let mut store = door_test(1, true);
        assert_eq!(in_main(&store, 100), None, "turned away");
        assert_eq!(store.leniency, 0);
        // Back from the ghost it goes straight to the main queue, and the door learns.
        put(&mut store, mixed(100), 100);
        assert_eq!(in_main(&store, 100), Some(true));
        assert_eq!(store.leniency, 1);
    }

    #[test]
    fn a_key_read_twice_in_the_small_queue_passes_the_door() {
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

    #[test]
    #[cfg_attr(miri, ignore = "80k inserts are slow under miri")]
    fn looking_up_absent_keys_compares_almost_no_keys() {
        static COMPARISONS: AtomicUsize = AtomicUsize::new(0);
        let capacity = 20_000;
        let mut store = Store::new(capacity, capacity, Some(capacity), Role::Follows).unwrap();
        // Twice the capacity: the second half evicts, leaving the table with tombstones.
        for key in 0..2 * capacity as u64 {
            put(&mut store, mixed(key), Counted(key, &COMPARISONS));
        }
        COMPARISONS.store(0, Relaxed);
        let absent = 2 * capacity as u64..4 * capacity as u64;
        for key in absent.clone() {
            assert!(store.get(mixed(key), &Counted(key, &COMPARISONS)).is_none());
        }
        // A table that compares keys on every control-byte match makes thousands here (about
        // one lookup in six); the hash bits beside each index leave next to none.
        let comparisons = COMPARISONS.load(Relaxed);
        assert!(comparisons < 20, "{comparisons} key comparisons");
    }

    #[test]
    fn every_capacity_finds_what_it_holds() {
        let capacities = [1, 2, 3, 4, 5, 7, 8, 9, 63, 64, 65, 255, 256, 257];
        for capacity in capacities.into_iter().chain([u32::MAX as usize]) {
            let mut store = Store::new(capacity, 0, None, Role::Follows).unwrap();
            // Fewer under miri, where each insert is slow; still past every small capacity.
            let most = if cfg!(miri) { 40 } else { 300 };
            let keys = 3 * capacity.min(most) as u64;
            for key in 0..keys {
                put(&mut store, mixed(key), key);
            }
            let held = (0..keys)
                .filter(|&key| store.get(mixed(key), &key).is_some())
                .count();
            assert_eq!(held, store.len(), "capacity {capacity}");
            assert!(store.len() <= capacity, "capacity {capacity}");
            assert!(store.get(mixed(keys), &keys).is_none());
            for key in 0..keys {
                if let Some((removed, _, ())) = store.remove(mixed(key), &key) {
                    assert_eq!(removed, key);
                }
            }
            assert_eq!(store.len(), 0, "capacity {capacity}");
        }
    }
}

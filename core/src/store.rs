//! One shard's storage: a hash table of real keys and an S3-FIFO eviction policy.
//!
//! Entries live in a slab (`slots`); the table maps keys to slot numbers, and two FIFO queues of
//! slot numbers order them for eviction (S3-FIFO: Yang et al., SOSP 2023). New keys enter the
//! small queue; a key read while there moves to the main queue when it reaches the head, the
//! others are evicted and remembered in the ghost filter, so that they go straight to the main
//! queue if they come back. Main-queue entries read since their last pass get another pass.
//! One scan of cold keys therefore flushes only the small queue, not the hot working set.
//!
//! A read only bumps a two-bit frequency counter with a relaxed atomic store, so it runs under
//! the shard's shared lock and never allocates. Every slot sits in exactly one queue for its
//! whole life; a removed entry leaves its slot vacant in place, and the next new key takes it.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::borrow::Borrow;
use hashbrown::HashTable;

use crate::sync::{AtomicU8, Ordering};

const MAX_FREQUENCY: u8 = 3;

/// The small (probation) queue holds 1/20 of the entries. The S3-FIFO paper uses 1/10; on
/// this crate's hit-ratio benchmarks (Zipf 0.99 and 0.8 at 1% and 10%, the P6 trace) 1/20 was
/// 0.1 to 1.0 points better everywhere but P6 at its largest size (-0.2).
const SMALL_SHARE: usize = 20;

/// The ghost filter remembers about half a store's worth of evicted keys.
const GHOST_SHARE: usize = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Queue {
    Small,
    Main,
}

pub(crate) struct Entry<K, V, X> {
    pub(crate) key: K,
    pub(crate) value: V,
    pub(crate) deadline: X,
    frequency: AtomicU8,
    queue: Queue,
}

impl<K, V, X> Entry<K, V, X> {
    #[inline]
    fn touch(&self) {
        let frequency = self.frequency.load(Ordering::Relaxed);
        if frequency < MAX_FREQUENCY {
            self.frequency.store(frequency + 1, Ordering::Relaxed);
        }
    }

    fn frequency(&self) -> u8 {
        self.frequency.load(Ordering::Relaxed)
    }

    fn set_frequency(&self, frequency: u8) {
        self.frequency.store(frequency, Ordering::Relaxed);
    }
}

/// What an insert did besides storing.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Inserted {
    New,
    Replaced,
    Evicted,
}

pub(crate) struct Store<K, V, X> {
    table: HashTable<u32>,
    slots: Vec<Option<Entry<K, V, X>>>,
    vacant: Vec<(u32, Queue)>,
    small: VecDeque<u32>,
    main: VecDeque<u32>,
    ghost: Ghost,
    capacity: usize,
    small_capacity: usize,
}

impl<K: Eq, V, X: Copy> Store<K, V, X> {
    /// A store for `capacity` entries (at most `u32::MAX`, checked by the builder). With
    /// `preallocate`, every table is reserved now; otherwise they grow on demand, never past
    /// `capacity`.
    pub(crate) fn new(capacity: usize, preallocate: bool) -> Self {
        let small_capacity = (capacity / SMALL_SHARE).max(1);
        let reserve = if preallocate { capacity } else { 0 };
        Store {
            table: HashTable::with_capacity(if preallocate {
                capacity + capacity / 8 + 1
            } else {
                0
            }),
            slots: Vec::with_capacity(reserve),
            vacant: Vec::new(),
            small: VecDeque::with_capacity(if preallocate { small_capacity + 1 } else { 0 }),
            main: VecDeque::with_capacity(reserve),
            ghost: Ghost::new(capacity),
            capacity,
            small_capacity,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.slots.len() - self.vacant.len()
    }

    /// The entry for `key`, counted as read.
    #[inline]
    pub(crate) fn get<Q>(&self, hash: u64, key: &Q) -> Option<&Entry<K, V, X>>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let slots = &self.slots;
        let index = *self.table.find(
            hash,
            |&index| matches!(&slots[index as usize], Some(entry) if entry.key.borrow() == key),
        )?;
        let entry = slots[index as usize].as_ref()?;
        entry.touch();
        Some(entry)
    }

    /// Stores `value` for `key`, replacing an existing value in place (keeping its queue place
    /// and frequency), or taking a vacant slot, a new one, or an evicted one.
    pub(crate) fn insert(
        &mut self,
        hash: u64,
        key: K,
        value: V,
        deadline: X,
        hash_of: impl Fn(&K) -> u64,
    ) -> Inserted {
        let slots = &mut self.slots;
        if let Some(&index) = self.table.find(
            hash,
            |&index| matches!(&slots[index as usize], Some(entry) if entry.key == key),
        ) && let Some(entry) = slots[index as usize].as_mut()
        {
            entry.value = value;
            entry.deadline = deadline;
            return Inserted::Replaced;
        }

        let (index, queue, inserted) = if let Some((index, queue)) = self.vacant.pop() {
            (index, queue, Inserted::New)
        } else {
            let (index, inserted) = if self.slots.len() < self.capacity {
                self.make_room_in_small();
                grow_towards(&mut self.slots, self.capacity);
                self.slots.push(None);
                ((self.slots.len() - 1) as u32, Inserted::New)
            } else {
                (self.evict(&hash_of), Inserted::Evicted)
            };
            let queue = if self.ghost.take(hash) {
                push_within(&mut self.main, index, self.capacity);
                Queue::Main
            } else {
                push_within(&mut self.small, index, self.small_capacity + 1);
                Queue::Small
            };
            (index, queue, inserted)
        };

        self.slots[index as usize] = Some(Entry {
            key,
            value,
            deadline,
            frequency: AtomicU8::new(0),
            queue,
        });
        if self.table.len() == self.table.capacity() && self.slots.len() == self.capacity {
            self.rebuild_table(&hash_of);
        }
        let slots = &self.slots;
        self.table.insert_unique(hash, index, |&index| {
            slots[index as usize]
                .as_ref()
                .map_or(0, |entry| hash_of(&entry.key))
        });
        inserted
    }

    /// Clears the table's tombstones by re-inserting every entry into the same allocation.
    ///
    /// Erasing from a hashbrown table can leave tombstones; once they have used up its spare
    /// room, the next insert would double the table, although a full store never holds more
    /// than `capacity` keys. Rebuilding in place keeps a warm store from allocating, and leaves
    /// at least an eighth of the capacity spare, so it runs at most once per that many removals.
    fn rebuild_table(&mut self, hash_of: &impl Fn(&K) -> u64) {
        self.table.clear();
        let spare = self.capacity / 8 + 1;
        let slots = &self.slots;
        let rehash = |&index: &u32| {
            slots[index as usize]
                .as_ref()
                .map_or(0, |entry| hash_of(&entry.key))
        };
        self.table.reserve(self.capacity + spare, rehash);
        for (index, slot) in self.slots.iter().enumerate() {
            if let Some(entry) = slot {
                self.table
                    .insert_unique(hash_of(&entry.key), index as u32, rehash);
            }
        }
    }

    /// Removes and returns the value for `key`; its slot stays vacant in its queue.
    pub(crate) fn remove<Q>(&mut self, hash: u64, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Eq + ?Sized,
    {
        let slots = &mut self.slots;
        let found = self.table.find_entry(
            hash,
            |&index| matches!(&slots[index as usize], Some(entry) if entry.key.borrow() == key),
        );
        let index = found.ok()?.remove().0;
        let entry = slots[index as usize].take()?;
        self.vacant.push((index, entry.queue));
        Some(entry.value)
    }

    pub(crate) fn clear(&mut self) {
        self.table.clear();
        self.slots.clear();
        self.vacant.clear();
        self.small.clear();
        self.main.clear();
        self.ghost.clear();
    }

    /// Before the store is full nothing is evicted, but the small queue must still hand its
    /// oldest entries to the main queue so it keeps its share. Called only when no slot
    /// is vacant, so the handed-over slot holds an entry.
    fn make_room_in_small(&mut self) {
        if self.small.len() > self.small_capacity
            && let Some(index) = self.small.pop_front()
        {
            if let Some(entry) = self.slots[index as usize].as_mut() {
                entry.queue = Queue::Main;
            }
            push_within(&mut self.main, index, self.capacity);
        }
    }

    /// Evicts one entry and returns its slot, now in no queue. Only called when every slot is
    /// occupied (no vacant slot), so every queued slot holds an entry.
    fn evict(&mut self, hash_of: &impl Fn(&K) -> u64) -> u32 {
        loop {
            let from_small = self.small.len() >= self.small_capacity || self.main.is_empty();
            let popped = if from_small {
                self.small.pop_front()
            } else {
                self.main.pop_front()
            };
            let Some(index) = popped else {
                // Both queues empty cannot happen with every slot occupied; returning a fresh
                // slot keeps the store consistent regardless.
                self.slots.push(None);
                return (self.slots.len() - 1) as u32;
            };
            let Some(entry) = self.slots[index as usize].as_mut() else {
                return index;
            };
            let frequency = entry.frequency();
            if frequency > 0 {
                if from_small {
                    entry.set_frequency(0);
                    entry.queue = Queue::Main;
                } else {
                    entry.set_frequency(frequency - 1);
                }
                self.main.push_back(index);
                continue;
            }
            let hash = hash_of(&entry.key);
            if from_small {
                self.ghost.record(hash);
            }
            if let Ok(found) = self.table.find_entry(hash, |&i| i == index) {
                found.remove();
            }
            self.slots[index as usize] = None;
            return index;
        }
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

/// Recently evicted keys, as 32-bit fingerprints in a direct-mapped table: a newer key that maps
/// to the same place overwrites an older one, which bounds the memory (4 bytes per place, half
/// a place per entry) and forgets the oldest keys first on average.
struct Ghost {
    fingerprints: Vec<u32>,
    places: usize,
}

impl Ghost {
    fn new(capacity: usize) -> Self {
        Ghost {
            fingerprints: Vec::new(),
            places: (capacity / GHOST_SHARE).max(1),
        }
    }

    fn fingerprint(hash: u64) -> u32 {
        (hash >> 32) as u32 | 1
    }

    /// The place for `hash`, from its low 32 bits scaled to the table (no power-of-two
    /// rounding, so the ghost's size follows the capacity exactly).
    fn place(&self, hash: u64) -> usize {
        ((u64::from(hash as u32) * self.places as u64) >> 32) as usize
    }

    fn record(&mut self, hash: u64) {
        if self.fingerprints.is_empty() {
            self.fingerprints.resize(self.places, 0);
        }
        let place = self.place(hash);
        self.fingerprints[place] = Self::fingerprint(hash);
    }

    fn take(&mut self, hash: u64) -> bool {
        let place = self.place(hash);
        match self.fingerprints.get_mut(place) {
            Some(slot) if *slot == Self::fingerprint(hash) => {
                *slot = 0;
                true
            }
            _ => false,
        }
    }

    fn clear(&mut self) {
        self.fingerprints.iter_mut().for_each(|slot| *slot = 0);
    }
}

//! Which of a shard's per-thread slots (reader counts of a [`ReadMostlyLock`], parts of the
//! hit counter) the calling thread uses.
//!
//! Each thread that reads a cache takes a small index, the smallest free one, on its first read
//! and gives it back when it exits, so that the live threads of a pool hold distinct indices.
//! A thread whose index is below the slot count has a slot of its own; the others share one
//! more slot, with read-modify-writes (a slot is then a counter, not an owner).
//!
//! No two live threads hold the same index, and a thread gives its index up before another
//! can take it, so a thread with a slot of its own is its only writer: it may count there with
//! a load and a store instead of a locked read-modify-write.
//!
//! [`ReadMostlyLock`]: crate::ReadMostlyLock

use core::cell::Cell;

/// Most own slots per shard. Each slot costs a shard 8 bytes per lock and per hit counter
/// (cells of `slot_column`'s table), so a shard costs up to 2 × 33 × 8 B = 528 B there (with
/// the shared slot); past 32 threads, the rest share one slot.
#[cfg_attr(loom, allow(dead_code))]
const MAX_SLOTS: usize = 32;

const UNASSIGNED: usize = usize::MAX;

/// The index of a thread that gave its index back while exiting: past every slot count, so
/// the destructors that still run on the thread count in shared rows.
#[cfg(not(loom))]
const GIVEN_BACK: usize = usize::MAX - 1;

#[cfg(not(loom))]
std::thread_local! {
    /// This thread's index, or `UNASSIGNED`. `const`-initialised and without `Drop`, so reading
    /// it is one thread-relative load: no lazy-initialisation check, no destructor registration.
    static INDEX: Cell<usize> = const { Cell::new(UNASSIGNED) };
    static LEASE: Lease = const { Lease(Cell::new(UNASSIGNED)) };
}

/// The index of the calling thread: unique among live threads, the smallest free when taken.
#[inline]
pub(crate) fn thread_index() -> usize {
    let index = INDEX.with(Cell::get);
    if index != UNASSIGNED { index } else { assign() }
}

/// How many threads get a slot of their own in each shard (indices below this), the others
/// sharing one more: twice the machine's parallelism, for a pool of one thread per core and as
/// many others (the thread that started the pool, threads that block), at most [`MAX_SLOTS`].
/// Asked once per process: on Linux the answer reads cgroup files.
#[cfg(not(loom))]
pub(crate) fn slot_count() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static SLOTS: AtomicUsize = AtomicUsize::new(0);
    match SLOTS.load(Ordering::Relaxed) {
        0 => {
            let slots = std::thread::available_parallelism()
                .map_or(1, usize::from)
                .saturating_mul(2)
                .min(MAX_SLOTS);
            SLOTS.store(slots, Ordering::Relaxed);
            slots
        }
        slots => slots,
    }
}

/// Two own slots under loom: a model's third thread uses the shared one.
#[cfg(loom)]
pub(crate) fn slot_count() -> usize {
    2
}

#[cfg(not(loom))]
#[cold]
#[inline(never)]
fn assign() -> usize {
    let index = leases::take();
    INDEX.with(|cell| cell.set(index));
    // A thread already exiting (running other thread-locals' destructors) cannot register the
    // lease's destructor: it keeps its index, which is then never given back.
    let _ = LEASE.try_with(|lease| lease.0.set(index));
    index
}

/// Gives the thread's index back when the thread exits. Destructors that run after this one
/// use [`GIVEN_BACK`] from then on: the next owner of the index writes its rows alone.
#[cfg(not(loom))]
struct Lease(Cell<usize>);

#[cfg(not(loom))]
impl Drop for Lease {
    fn drop(&mut self) {
        if self.0.get() != UNASSIGNED {
            // `INDEX` has no destructor, so it is still there; the index changes before it is
            // given back, and the leases' mutex orders this thread's last own-row stores before
            // the next owner's first.
            let _ = INDEX.try_with(|index| index.set(GIVEN_BACK));
            leases::give_back(self.0.get());
        }
    }
}

#[cfg(not(loom))]
mod leases {
    use alloc::vec::Vec;
    use std::sync::{Mutex, PoisonError};

    /// `taken[i]`: index `i` belongs to a live thread.
    static TAKEN: Mutex<Vec<bool>> = Mutex::new(Vec::new());

    pub(super) fn take() -> usize {
        let mut taken = TAKEN.lock().unwrap_or_else(PoisonError::into_inner);
        match taken.iter().position(|taken| !taken) {
            Some(index) => {
                taken[index] = true;
                index
            }
            None => {
                taken.push(true);
                taken.len() - 1
            }
        }
    }

    pub(super) fn give_back(index: usize) {
        let mut taken = TAKEN.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(taken) = taken.get_mut(index) {
            *taken = false;
        }
    }
}

// Under loom every execution starts afresh: indices are handed out in the order the model's
// threads first read, from a counter that loom resets with each execution. The counter is a
// plain std atomic inside loom's lazy static: loom runs one thread at a time, so it needs no
// modelling, and leaving it out keeps the model small.
#[cfg(loom)]
loom::thread_local! {
    static INDEX: Cell<usize> = Cell::new(UNASSIGNED);
}

#[cfg(loom)]
loom::lazy_static! {
    static ref NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
}

#[cfg(loom)]
fn assign() -> usize {
    let index = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    INDEX.with(|cell| cell.set(index));
    index
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_thread_keeps_its_index_and_live_threads_hold_distinct_ones() {
        let mine = thread_index();
        assert_eq!(thread_index(), mine);
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let other = std::thread::spawn(move || {
            tx.send(thread_index()).unwrap();
            stop_rx.recv().unwrap();
        });
        let theirs = rx.recv().unwrap();
        assert_ne!(theirs, mine);
        stop_tx.send(()).unwrap();
        other.join().unwrap();
    }

    #[test]
    fn slot_count_is_within_the_cap() {
        let slots = slot_count();
        assert!((2..=MAX_SLOTS).contains(&slots));
        assert_eq!(slot_count(), slots);
    }
}

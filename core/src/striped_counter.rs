//! A counter that threads bump without sharing a cache line: the hit counter.

#[cfg(not(feature = "std"))]
use crate::sync::AtomicUsize;
use crate::sync::Ordering;

/// With `std`: one cell per thread slot, a column of the per-thread table (`slot_column`), so
/// that hits on one shard from several cores write no common line; the count is the (wrapping)
/// sum of the cells, exact once the bumps are done, as one counter would be. A thread with a
/// row of its own counts with a load and a store, which cost a hit no locked instruction.
/// Without `std` there is no thread-local slot to pick a cell by: one counter.
#[cfg(feature = "std")]
pub(crate) struct StripedCounter(crate::slot_column::SlotColumn);

#[cfg(feature = "std")]
impl Default for StripedCounter {
    fn default() -> Self {
        StripedCounter(crate::slot_column::SlotColumn::new())
    }
}

#[cfg(feature = "std")]
impl StripedCounter {
    /// Adds `delta`, wrapping, to the calling thread's cell.
    #[inline]
    fn add(&self, delta: usize) {
        use crate::slot_column::Stripe;
        match self.0.stripe() {
            // No other thread writes this cell, so the store loses no count; both are atomic
            // so that `load` on another thread reads whole values.
            Stripe::Own(cell) => cell.store(
                cell.load(Ordering::Relaxed).wrapping_add(delta),
                Ordering::Relaxed,
            ),
            Stripe::Shared(cell) => {
                cell.fetch_add(delta, Ordering::Relaxed);
            }
        }
    }

    /// The count: the sum of the cells.
    pub(crate) fn load(&self) -> usize {
        self.0.cells().fold(0usize, |total, cell| {
            total.wrapping_add(cell.load(Ordering::Relaxed))
        })
    }
}

#[cfg(not(feature = "std"))]
#[derive(Default)]
pub(crate) struct StripedCounter(AtomicUsize);

#[cfg(not(feature = "std"))]
impl StripedCounter {
    /// Adds `delta`, wrapping.
    #[inline]
    fn add(&self, delta: usize) {
        self.0.fetch_add(delta, Ordering::Relaxed);
    }

    /// The count.
    pub(crate) fn load(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

impl StripedCounter {
    /// Counts one.
    #[inline]
    pub(crate) fn bump(&self) {
        self.add(1);
    }

    /// Takes one back (a cell may wrap below zero; the sum stays right).
    pub(crate) fn unbump(&self) {
        self.add(usize::MAX);
    }
}

#[cfg(all(test, feature = "std", not(loom)))]
mod tests {
    use super::*;
    use std::sync::{Arc, Barrier};
    use std::vec::Vec;

    #[test]
    fn the_count_is_every_bump_from_every_thread_less_the_ones_taken_back() {
        let counter = Arc::new(StripedCounter::default());
        let rounds = if cfg!(miri) { 50 } else { 1_000_000 };
        // More live threads than slots: some count in their own rows, the rest share one.
        let threads = crate::thread_slot::slot_count() + 3;
        let all_running = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (counter, all_running) = (counter.clone(), all_running.clone());
                std::thread::spawn(move || {
                    all_running.wait();
                    for _ in 0..rounds {
                        counter.bump();
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        // Taken back on a thread (and so a cell) that bumped nothing: that cell wraps.
        counter.unbump();
        assert_eq!(counter.load(), threads * rounds - 1);
    }

    std::thread_local! {
        static BUMP_ON_EXIT: core::cell::RefCell<Option<BumpOnExit>> =
            const { core::cell::RefCell::new(None) };
    }

    struct BumpOnExit(Arc<StripedCounter>);

    impl Drop for BumpOnExit {
        fn drop(&mut self) {
            self.0.bump();
        }
    }

    #[test]
    fn counts_from_exiting_threads_are_kept_while_new_threads_take_their_slots() {
        let counter = Arc::new(StripedCounter::default());
        let (waves, per_wave) = if cfg!(miri) { (2, 2) } else { (50, 4) };
        let mut handles = Vec::new();
        for _ in 0..waves {
            // Not joined yet: the next wave starts while this one may still be exiting.
            handles.extend((0..per_wave).map(|_| {
                let counter = counter.clone();
                std::thread::spawn(move || {
                    counter.bump();
                    // Bumps again from a destructor, which may run after the thread gave its
                    // slot back, while a thread of the next wave counts in that slot.
                    BUMP_ON_EXIT.with(|exit| *exit.borrow_mut() = Some(BumpOnExit(counter)));
                })
            }));
        }
        // A join returns once the thread's destructors have run.
        for handle in handles {
            handle.join().unwrap();
        }
        assert_eq!(counter.load(), 2 * waves * per_wave);
    }
}

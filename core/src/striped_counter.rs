//! A counter that threads bump without sharing a cache line: the hit counter.

use crate::sync::{AtomicUsize, Ordering};

/// With `std`: one cell per thread slot, a column of the per-thread table (`slot_column`), so
/// that hits on one shard from several cores write no common line; the count is the (wrapping)
/// sum of the cells, exact once the bumps are done, as one counter would be. Without `std`
/// there is no thread-local slot to pick a cell by: one counter.
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
    #[inline]
    fn stripe(&self) -> &AtomicUsize {
        self.0.mine()
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
    #[inline]
    fn stripe(&self) -> &AtomicUsize {
        &self.0
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
        self.stripe().fetch_add(1, Ordering::Relaxed);
    }

    /// Takes one back (a stripe may wrap below zero; the sum stays right).
    pub(crate) fn unbump(&self) {
        self.stripe().fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(all(test, feature = "std", not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::vec::Vec;

    #[test]
    fn the_count_is_every_bump_from_every_thread_less_the_ones_taken_back() {
        let counter = Arc::new(StripedCounter::default());
        let rounds = if cfg!(miri) { 50 } else { 10_000 };
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let counter = counter.clone();
                std::thread::spawn(move || {
                    for _ in 0..rounds {
                        counter.bump();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        // Taken back on a thread (and so a stripe) that bumped nothing: that stripe wraps.
        counter.unbump();
        assert_eq!(counter.load(), 3 * rounds - 1);
    }
}

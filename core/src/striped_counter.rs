//! A counter that threads bump without sharing a cache line: the hit counter.

use crate::sync::{AtomicUsize, Ordering};

/// With `std`: one stripe per thread slot (see `thread_slot`), each on a 128-byte line of its
/// own, so that hits on one shard from several cores write no common line; the count is the
/// (wrapping) sum of the stripes, exact once the bumps are done, as one counter would be.
/// Without `std` there is no thread-local slot to pick a stripe by: one counter.
#[cfg(feature = "std")]
pub(crate) struct StripedCounter {
    stripes: alloc::boxed::Box<[Stripe]>,
    /// `stripes.len() - 1`: the length is a power of two.
    mask: usize,
}

#[cfg(feature = "std")]
#[repr(align(128))]
struct Stripe(AtomicUsize);

#[cfg(feature = "std")]
impl Default for StripedCounter {
    fn default() -> Self {
        let stripes = crate::thread_slot::slot_count();
        StripedCounter {
            stripes: (0..stripes).map(|_| Stripe(AtomicUsize::new(0))).collect(),
            mask: stripes - 1,
        }
    }
}

#[cfg(feature = "std")]
impl StripedCounter {
    #[inline]
    fn stripe(&self) -> &AtomicUsize {
        &self.stripes[crate::thread_slot::thread_index() & self.mask].0
    }

    /// The count: the sum of the stripes.
    pub(crate) fn load(&self) -> usize {
        self.stripes.iter().fold(0usize, |total, stripe| {
            total.wrapping_add(stripe.0.load(Ordering::Relaxed))
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

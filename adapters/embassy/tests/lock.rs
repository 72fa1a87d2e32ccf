//! The shard lock built on embassy-sync mutexes.

use std::panic::{AssertUnwindSafe, catch_unwind};

use embassy_sync::blocking_mutex::raw::{CriticalSectionRawMutex, NoopRawMutex};
use readthrough_core::RawLock;
use readthrough_embassy::EmbassyLock;

#[test]
fn runs_closures_and_returns_their_results() {
    let lock = <EmbassyLock<CriticalSectionRawMutex> as RawLock>::new();
    assert_eq!(lock.read(|| 1), 1);
    assert_eq!(lock.write(|| 2), 2);
}

#[test]
fn reentry_panics_instead_of_aliasing_the_shard() {
    let lock = <EmbassyLock<NoopRawMutex> as RawLock>::new();
    let nested = catch_unwind(AssertUnwindSafe(|| lock.write(|| lock.read(|| ()))));
    assert!(nested.is_err());
}

#[test]
fn a_panicking_closure_releases_the_lock() {
    let lock = <EmbassyLock<CriticalSectionRawMutex> as RawLock>::new();
    let panicked = catch_unwind(AssertUnwindSafe(|| lock.write(|| panic!("in the closure"))));
    assert!(panicked.is_err());
    assert_eq!(lock.write(|| 3), 3);
}

#[test]
fn critical_section_lock_excludes_other_threads() {
    let lock = <EmbassyLock<CriticalSectionRawMutex> as RawLock>::new();
    let counter = std::cell::Cell::new(0u32);
    struct Shared<'a>(
        &'a EmbassyLock<CriticalSectionRawMutex>,
        &'a std::cell::Cell<u32>,
    );
    // SAFETY: the cell is only touched inside the lock's closures, which never overlap.
    unsafe impl Sync for Shared<'_> {}
    let shared = Shared(&lock, &counter);
    std::thread::scope(|scope| {
        for _ in 0..4 {
            let shared = &shared;
            scope.spawn(move || {
                for _ in 0..10_000 {
                    shared.0.write(|| {
                        let seen = shared.1.get();
                        std::hint::black_box(());
                        shared.1.set(seen + 1);
                    });
                }
            });
        }
    });
    assert_eq!(counter.get(), 40_000);
}

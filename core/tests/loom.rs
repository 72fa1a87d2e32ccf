//! A loom model of the leader / waiter / cancel protocol.
//!
//! Run with `RUSTFLAGS="--cfg loom" cargo test -p readthrough-core --release --test loom`.
//! loom explores every interleaving of the shard lock, the flight state and event-listener's
//! notifications, and reports a waiter that is never woken as a deadlock.
#![cfg(loom)]

use std::future::{Future, pending};
use std::pin::pin;
use std::task::{Context, Waker};

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use readthrough_core::{Arc, Cache, RawLock, ReadMostlyLock, Status};

fn small_cache() -> Arc<Cache<u8, u8>> {
    Arc::new(Cache::builder().capacity(4).shards(1).build().unwrap())
}

#[test]
fn two_callers_load_once_and_both_get_the_value() {
    loom::model(|| {
        let cache = small_cache();
        let loads = Arc::new(AtomicUsize::new(0));
        let caller = {
            let (cache, loads) = (cache.clone(), loads.clone());
            thread::spawn(move || {
                let load = |_: &u8| {
                    loads.fetch_add(1, Ordering::SeqCst);
                    async { Ok(7) }
                };
                loom::future::block_on(cache.get_or_load(&1, load)).unwrap()
            })
        };
        let load = |_: &u8| {
            loads.fetch_add(1, Ordering::SeqCst);
            async { Ok(7) }
        };
        let mine = loom::future::block_on(cache.get_or_load(&1, load)).unwrap();
        let theirs = caller.join().unwrap();
        assert_eq!((mine.value, theirs.value), (7, 7));
        assert_eq!(
            loads.load(Ordering::SeqCst),
            1,
            "one load, never a redundant one"
        );
        let statuses = [mine.status, theirs.status];
        assert!(statuses.contains(&Status::Miss));
        assert_eq!(cache.loads_in_flight(), 0);
    });
}

#[test]
fn a_cancelled_leader_never_strands_a_waiter() {
    loom::model(|| {
        let cache = small_cache();
        let cancelled = {
            let cache = cache.clone();
            thread::spawn(move || {
                let never = |_: &u8| pending::<Result<u8, core::convert::Infallible>>();
                let mut leader = pin!(cache.get_or_load(&1, never));
                let _ = leader
                    .as_mut()
                    .poll(&mut Context::from_waker(Waker::noop()));
            })
        };
        let answer = loom::future::block_on(cache.get_or_load(&1, |_: &u8| async { Ok(7) }));
        cancelled.join().unwrap();
        assert_eq!(answer.unwrap().value, 7);
        assert_eq!(cache.loads_in_flight(), 0);
    });
}

#[test]
fn a_failed_load_reaches_its_waiter() {
    loom::model(|| {
        let cache: Arc<Cache<u8, u8, &'static str>> =
            Arc::new(Cache::builder().capacity(4).shards(1).build().unwrap());
        let loads = Arc::new(AtomicUsize::new(0));
        let caller = {
            let (cache, loads) = (cache.clone(), loads.clone());
            thread::spawn(move || {
                let fail = |_: &u8| {
                    loads.fetch_add(1, Ordering::SeqCst);
                    async { Err("down") }
                };
                loom::future::block_on(cache.get_or_load(&1, fail)).is_err()
            })
        };
        let fail = |_: &u8| {
            loads.fetch_add(1, Ordering::SeqCst);
            async { Err("down") }
        };
        assert!(loom::future::block_on(cache.get_or_load(&1, fail)).is_err());
        assert!(caller.join().unwrap());
        // Errors are not stored: a caller arriving after the first load landed loads again.
        assert!((1..=2).contains(&loads.load(Ordering::SeqCst)));
        assert_eq!(cache.loads_in_flight(), 0);
    });
}

/// A value whose first clone after `armed` is set panics: the leader's landing unwinds.
struct Fragile {
    value: u8,
    armed: bool,
}

impl Clone for Fragile {
    fn clone(&self) -> Self {
        if self.armed {
            panic!("Clone panicked while landing (on purpose)");
        }
        Fragile {
            value: self.value,
            armed: false,
        }
    }
}

#[test]
fn a_leader_that_panics_while_landing_never_strands_a_waiter() {
    loom::model(|| {
        let cache: Arc<Cache<u8, Fragile>> =
            Arc::new(Cache::builder().capacity(4).shards(1).build().unwrap());
        let panicking = {
            let cache = cache.clone();
            thread::spawn(move || {
                let fragile = |_: &u8| async {
                    Ok(Fragile {
                        value: 1,
                        armed: true,
                    })
                };
                let call = std::panic::AssertUnwindSafe(|| {
                    loom::future::block_on(cache.get_or_load(&1, fragile))
                });
                std::panic::catch_unwind(call).is_err()
            })
        };
        let sound = |_: &u8| async {
            Ok(Fragile {
                value: 2,
                armed: false,
            })
        };
        let answer = loom::future::block_on(cache.get_or_load(&1, sound)).unwrap();
        let panicked = panicking.join().unwrap();
        // Either this caller led (2), or it waited for a landing that unwound and led then.
        assert_eq!(answer.value.value, 2);
        assert!(panicked || answer.status == Status::Miss);
        assert_eq!(cache.loads_in_flight(), 0);
    });
}

#[test]
fn a_flight_reused_while_its_last_leader_lets_go_still_coalesces() {
    loom::model(|| {
        let cache = small_cache();
        let loads = Arc::new(AtomicUsize::new(0));
        let other = {
            let (cache, loads) = (cache.clone(), loads.clone());
            thread::spawn(move || {
                // Nobody waits for key 1: its flight is kept for the shard's next load, which
                // may be key 2's, led by either thread while this one still lets key 1's go.
                let alone = loom::future::block_on(cache.get_or_load(&1, |_: &u8| async { Ok(1) }));
                assert_eq!(alone.unwrap().value, 1);
                let load = |_: &u8| {
                    loads.fetch_add(1, Ordering::SeqCst);
                    async { Ok(7) }
                };
                loom::future::block_on(cache.get_or_load(&2, load)).unwrap()
            })
        };
        let load = |_: &u8| {
            loads.fetch_add(1, Ordering::SeqCst);
            async { Ok(7) }
        };
        let mine = loom::future::block_on(cache.get_or_load(&2, load)).unwrap();
        let theirs = other.join().unwrap();
        assert_eq!((mine.value, theirs.value), (7, 7));
        assert_eq!(loads.load(Ordering::SeqCst), 1, "key 2 loaded once");
        assert_eq!(cache.loads_in_flight(), 0);
    });
}

/// A value behind a [`ReadMostlyLock`], in loom's cell, which reports any read or write that is
/// not ordered after the last write: it fails the model if the lock ever lets a reader in
/// beside a writer, or two writers in together.
struct Guarded {
    lock: ReadMostlyLock,
    value: loom::cell::UnsafeCell<u8>,
}

// SAFETY: `value` is only reached through `lock`.
unsafe impl Sync for Guarded {}

impl Guarded {
    fn new() -> Arc<Self> {
        Arc::new(Guarded {
            lock: ReadMostlyLock::new(),
            value: loom::cell::UnsafeCell::new(0),
        })
    }

    fn read(&self) -> u8 {
        // SAFETY: shared mode excludes writers.
        self.lock
            .read(|| self.value.with(|value| unsafe { *value }))
    }

    fn bump(&self) {
        // SAFETY: exclusive mode excludes everyone else.
        self.lock
            .write(|| self.value.with_mut(|value| unsafe { *value += 1 }))
    }
}

#[test]
fn the_read_mostly_lock_keeps_readers_out_of_a_write() {
    loom::model(|| {
        let guarded = Guarded::new();
        let writer = {
            let guarded = guarded.clone();
            thread::spawn(move || guarded.bump())
        };
        let seen = guarded.read();
        writer.join().unwrap();
        assert!(seen <= 1);
        assert_eq!(guarded.read(), 1);
    });
}

#[test]
fn the_read_mostly_lock_keeps_writers_apart() {
    loom::model(|| {
        let guarded = Guarded::new();
        let writer = {
            let guarded = guarded.clone();
            thread::spawn(move || guarded.bump())
        };
        guarded.bump();
        writer.join().unwrap();
        assert_eq!(guarded.read(), 2);
    });
}

/// Two writes in a row while a reader tries to enter: the reader may back out of both and then
/// count itself in while holding the flag, as a writer would take it.
#[test]
fn the_read_mostly_lock_lets_a_reader_in_behind_a_stream_of_writes() {
    loom::model(|| {
        let guarded = Guarded::new();
        let writer = {
            let guarded = guarded.clone();
            thread::spawn(move || {
                guarded.bump();
                guarded.bump();
            })
        };
        let seen = guarded.read();
        writer.join().unwrap();
        assert!(seen <= 2);
        assert_eq!(guarded.read(), 2);
    });
}

/// Three threads on two slots: all three read, so the third to take a slot shares the first's
/// (loom gives each execution's threads slots in the order they first read), while one of them
/// then writes. Every interleaving of three threads is too many to explore (not done in 15
/// minutes): three preemptions cover a reader interrupted inside the write, the writer
/// interrupted inside a read, and one more.
#[test]
fn the_read_mostly_lock_holds_with_readers_sharing_a_slot() {
    let mut model = loom::model::Builder::new();
    model.preemption_bound = Some(3);
    model.check(|| {
        let guarded = Guarded::new();
        let threads: Vec<_> = (0..2)
            .map(|role| {
                let guarded = guarded.clone();
                thread::spawn(move || {
                    if role == 0 {
                        assert_eq!(guarded.read(), 0);
                        guarded.bump();
                    } else {
                        assert!(guarded.read() <= 1);
                    }
                })
            })
            .collect();
        assert!(guarded.read() <= 1);
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(guarded.read(), 1);
    });
}

/// The whole cache on the lock: every lock operation is a flag and slots here, so the
/// full model is too large; two preemptions cover a caller interrupted inside another's read
/// or write.
#[test]
fn a_cache_on_the_read_mostly_lock_loads_once_for_two_callers() {
    let mut model = loom::model::Builder::new();
    model.preemption_bound = Some(2);
    model.check(|| {
        let cache = Arc::new(
            Cache::<u8, u8>::builder()
                .capacity(4)
                .shards(1)
                .lock::<ReadMostlyLock>()
                .build()
                .unwrap(),
        );
        let loads = Arc::new(AtomicUsize::new(0));
        let load = |loads: Arc<AtomicUsize>| {
            move |_: &u8| {
                loads.fetch_add(1, Ordering::SeqCst);
                async { Ok(7) }
            }
        };
        let caller = {
            let (cache, load) = (cache.clone(), load(loads.clone()));
            thread::spawn(move || loom::future::block_on(cache.get_or_load(&1, load)).unwrap())
        };
        let mine = loom::future::block_on(cache.get_or_load(&1, load(loads.clone()))).unwrap();
        let theirs = caller.join().unwrap();
        assert_eq!((mine.value, theirs.value), (7, 7));
        assert_eq!(loads.load(Ordering::SeqCst), 1);
        assert_eq!(cache.get(&1), Some(7));
        assert_eq!(cache.loads_in_flight(), 0);
    });
}

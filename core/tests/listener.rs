//! The eviction listener: one test per cause, called outside the shard lock.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::block_on;
use readthrough_core::{Cache, ManualTimer, RemovalCause};

type Heard = Arc<Mutex<Vec<(u32, u32, RemovalCause)>>>;

fn recorder() -> (Heard, impl Fn(u32, u32, RemovalCause) + Clone) {
    let heard: Heard = Arc::default();
    let log = heard.clone();
    (heard, move |key, value, cause| {
        log.lock().unwrap().push((key, value, cause))
    })
}

fn taken(heard: &Heard) -> Vec<(u32, u32, RemovalCause)> {
    std::mem::take(&mut *heard.lock().unwrap())
}

#[test]
fn evicted_replaced_removed_invalidated_and_cleared() {
    let (heard, listener) = recorder();
    let cache = Cache::<u32, u32>::builder()
        .capacity(2)
        .shards(1)
        .listener(listener)
        .build()
        .unwrap();
    cache.insert(1, 10);
    cache.insert(1, 11);
    assert_eq!(taken(&heard), [(1, 10, RemovalCause::Replaced)]);

    cache.insert(2, 20);
    cache.insert(3, 30);
    assert_eq!(taken(&heard), [(1, 11, RemovalCause::Evicted)]);

    assert_eq!(cache.remove(&2), Some(20));
    assert_eq!(taken(&heard), [(2, 20, RemovalCause::Removed)]);

    cache.invalidate(&3);
    assert_eq!(taken(&heard), [(3, 30, RemovalCause::Invalidated)]);

    cache.insert(4, 40);
    cache.insert(5, 50);
    cache.clear();
    let mut cleared = taken(&heard);
    cleared.sort_by_key(|(key, _, _)| *key);
    assert_eq!(
        cleared,
        [
            (4, 40, RemovalCause::Cleared),
            (5, 50, RemovalCause::Cleared)
        ]
    );
    assert!(cache.is_empty());
}

#[test]
fn expired_entries_leave_as_expired() {
    let (heard, listener) = recorder();
    let timer = ManualTimer::new();
    let cache = Cache::<u32, u32>::builder()
        .capacity(1)
        .timer(timer.clone())
        .ttl(Duration::from_secs(1))
        .listener(listener)
        .build()
        .unwrap();
    cache.insert(1, 10);
    timer.advance(Duration::from_secs(2));
    // Replaced after its expiry: it left because it expired.
    block_on(async {
        let answer = cache.get_or_load(&1, |_: &u32| async { Ok(11) }).await;
        assert_eq!(answer.unwrap().value, 11);
    });
    assert_eq!(taken(&heard), [(1, 10, RemovalCause::Expired)]);
    timer.advance(Duration::from_secs(2));
    // Evicted after its expiry: also expired.
    cache.insert(2, 20);
    assert_eq!(taken(&heard), [(1, 11, RemovalCause::Expired)]);
}

#[test]
fn a_landing_load_reports_what_it_replaced() {
    let (heard, listener) = recorder();
    let cache = Cache::<u32, u32>::builder()
        .capacity(4)
        .listener(listener)
        .build()
        .unwrap();
    cache.insert(1, 10);
    block_on(async {
        let refreshed = cache.refresh(&1, |_: &u32| async { Ok(12) }).await;
        assert_eq!(refreshed.unwrap().unwrap().value, 12);
    });
    assert_eq!(taken(&heard), [(1, 10, RemovalCause::Replaced)]);
}

/// What the listener calls: set once the cache it calls back into exists.
type Callback = Arc<dyn Fn(u32) + Send + Sync>;

#[test]
fn a_listener_that_calls_back_into_the_cache_does_not_deadlock() {
    let cache: Arc<Mutex<Option<Callback>>> = Arc::default();
    let callback = cache.clone();
    let reentered = Arc::new(Mutex::new(Vec::new()));
    let seen = reentered.clone();
    let built = Arc::new(
        Cache::<u32, u32>::builder()
            .capacity(1)
            .shards(1)
            .listener(move |key: u32, _: u32, _: RemovalCause| {
                let call = callback.lock().unwrap().clone();
                if let Some(call) = call {
                    call(key);
                }
            })
            .build()
            .unwrap(),
    );
    let weak = Arc::downgrade(&built);
    *cache.lock().unwrap() = Some(Arc::new(move |key| {
        let cache = weak.upgrade().unwrap();
        // Reads and writes the same shard from inside the listener.
        seen.lock()
            .unwrap()
            .push((key, cache.get(&key), cache.len()));
        if key < 100 {
            cache.insert(100 + key, key);
        }
    }));
    let finished = std::sync::mpsc::channel();
    let worker = {
        let built = built.clone();
        std::thread::spawn(move || {
            built.insert(1, 1);
            built.insert(2, 2);
            finished.0.send(()).unwrap();
        })
    };
    finished
        .1
        .recv_timeout(Duration::from_secs(10))
        .expect("a re-entrant listener deadlocked");
    worker.join().unwrap();
    let reentered = reentered.lock().unwrap();
    assert_eq!(reentered[0], (1, None, 1));
    assert!(built.len() <= 1);
    *cache.lock().unwrap() = None;
}

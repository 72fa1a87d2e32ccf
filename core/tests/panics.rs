//! Panics in the user's `Clone`, `Eq`, `Hash` and `Drop`: no waiter is stranded, the bound
//! holds, and the shard stays usable.

mod common;

use std::future::Future;
use std::hash::{Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{Calls, CollidingHasher, Gate, block_on, join_all, yield_many};
use futures_lite::FutureExt;
use readthrough_core::{Cache, Status};

/// A switch a test arms; the next user call that checks it disarms it and panics.
#[derive(Clone, Default)]
struct Trap(Arc<AtomicBool>);

impl Trap {
    fn arm(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    fn spring(&self, what: &str) {
        if self.0.swap(false, Ordering::SeqCst) {
            panic!("{what} panicked (on purpose)");
        }
    }
    fn armed(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// A value whose `Clone` springs its trap.
struct Fragile {
    value: u32,
    trap: Trap,
}

impl Clone for Fragile {
    fn clone(&self) -> Self {
        self.trap.spring("Clone");
        Fragile {
            value: self.value,
            trap: self.trap.clone(),
        }
    }
}

type Outcome = Result<Status, String>;
type Caller<'a> = Pin<Box<dyn Future<Output = Option<Outcome>> + 'a>>;

/// Runs `caller` catching its panic: `None` when it panicked.
fn caught<'a>(caller: impl Future<Output = Outcome> + 'a) -> Caller<'a> {
    Box::pin(async move { AssertUnwindSafe(caller).catch_unwind().await.ok() })
}

#[test]
fn a_panicking_clone_while_landing_does_not_strand_the_waiters() {
    let trap = Trap::default();
    let cache = Cache::<u32, Fragile, String>::builder()
        .capacity(8)
        .shards(1)
        .build()
        .unwrap();
    let gate = Gate::default();
    let calls = Calls::default();
    let load = |_: &u32| {
        let call = calls.record();
        let (gate, trap) = (gate.clone(), trap.clone());
        async move {
            gate.wait().await;
            if call == 1 {
                trap.arm();
            }
            Ok(Fragile {
                value: call as u32,
                trap,
            })
        }
    };
    let mut callers: Vec<Caller<'_>> = (0..6)
        .map(|_| {
            caught(async {
                let answer = cache
                    .get_or_load(&1, load)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(answer.status)
            })
        })
        .collect();
    callers.push(Box::pin(async {
        yield_many(20).await;
        assert_eq!(cache.waiters(), 5);
        gate.open();
        None
    }));
    let outcomes = block_on(join_all(callers));
    assert_eq!(outcomes[0], None, "the first leader panicked");
    let statuses: Vec<_> = outcomes[1..6].iter().map(|o| o.clone().unwrap()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == Ok(Status::Miss)).count(),
        1
    );
    // The others waited for the new load or, polled after it landed, found its value.
    let served = |s: &&Outcome| matches!(s, Ok(Status::LockHit | Status::Hit));
    assert_eq!(statuses.iter().filter(served).count(), 4, "{statuses:?}");
    assert_eq!(calls.count(), 2, "one waiter took the load over");
    assert_eq!((cache.loads_in_flight(), cache.waiters()), (0, 0));
    assert_eq!(cache.get(&1).map(|f| f.value), Some(2));
}

/// A key whose `Eq` springs one trap and whose `Hash` springs another.
#[derive(Clone, Default)]
struct TouchyKey {
    id: u32,
    eq_trap: Trap,
    hash_trap: Trap,
}

impl PartialEq for TouchyKey {
    fn eq(&self, other: &Self) -> bool {
        self.eq_trap.spring("Eq");
        self.id == other.id
    }
}

impl Eq for TouchyKey {}

impl Hash for TouchyKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.hash_trap.spring("Hash");
        self.id.hash(state);
    }
}

#[test]
fn a_panicking_eq_while_landing_does_not_strand_the_waiters() {
    let trap = Trap::default();
    let key = |id| TouchyKey {
        id,
        eq_trap: trap.clone(),
        hash_trap: trap.clone(),
    };
    // Every key hashes alike, so landing key 2 compares it with key 1.
    let cache = Cache::<TouchyKey, u32, String>::builder()
        .capacity(8)
        .shards(1)
        .hasher(CollidingHasher)
        .build()
        .unwrap();
    cache.insert(key(1), 10);
    let gate = Gate::default();
    let calls = Calls::default();
    let load = |_: &TouchyKey| {
        calls.record();
        let gate = gate.clone();
        async move {
            gate.wait().await;
            Ok(20)
        }
    };
    let two = key(2);
    let mut callers: Vec<Caller<'_>> = (0..4)
        .map(|_| {
            caught(async {
                let answer = cache
                    .get_or_load(&two, load)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(answer.status)
            })
        })
        .collect();
    callers.push(Box::pin(async {
        yield_many(20).await;
        trap.arm();
        gate.open();
        None
    }));
    let outcomes = block_on(join_all(callers));
    assert_eq!(outcomes[0], None, "the leader's landing panicked");
    assert!(
        outcomes[1..4].iter().all(|o| matches!(o, Some(Ok(_)))),
        "{outcomes:?}"
    );
    assert!(!trap.armed());
    assert_eq!((cache.loads_in_flight(), cache.waiters()), (0, 0));
    assert_eq!(cache.get(&key(2)), Some(20));
    assert_eq!(cache.get(&key(1)), Some(10));
    assert!(cache.len() <= 8);
}

#[test]
fn eviction_never_hashes_the_evicted_key() {
    let trap = Trap::default();
    // Only `Hash` is trapped: lookups of other keys may compare key 0 when tags collide.
    let cache = Cache::<TouchyKey, u32>::builder()
        .capacity(4)
        .shards(1)
        .build()
        .unwrap();
    let first = TouchyKey {
        id: 0,
        hash_trap: trap.clone(),
        ..TouchyKey::default()
    };
    cache.insert(first, 0);
    trap.arm();
    for id in 1..20 {
        let other = TouchyKey {
            id,
            ..TouchyKey::default()
        };
        cache.insert(other, id);
        assert!(cache.len() <= 4);
    }
    assert!(
        trap.armed(),
        "the evicted key's Hash (or Eq) was never called"
    );
}

/// A value whose `Drop` springs its trap.
struct Explosive {
    value: u32,
    trap: Trap,
}

impl Clone for Explosive {
    fn clone(&self) -> Self {
        Explosive {
            value: self.value,
            trap: self.trap.clone(),
        }
    }
}

impl Drop for Explosive {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.trap.spring("Drop");
        }
    }
}

#[test]
fn a_panicking_drop_of_an_evicted_value_leaves_the_shard_consistent() {
    let trap = Trap::default();
    let cache = Cache::<u32, Explosive>::builder()
        .capacity(4)
        .shards(1)
        .build()
        .unwrap();
    let value = |value| Explosive {
        value,
        trap: trap.clone(),
    };
    for key in 0..4 {
        cache.insert(key, value(key));
    }
    trap.arm();
    let evicting = catch_unwind(AssertUnwindSafe(|| cache.insert(10, value(10))));
    assert!(evicting.is_err(), "the evicted value's Drop panicked");
    assert_eq!(cache.len(), 4);
    assert_eq!(cache.get(&10).map(|v| v.value), Some(10));
    trap.arm();
    let replacing = catch_unwind(AssertUnwindSafe(|| cache.insert(10, value(11))));
    assert!(replacing.is_err(), "the replaced value's Drop panicked");
    assert_eq!(cache.get(&10).map(|v| v.value), Some(11));
    for key in 20..40 {
        cache.insert(key, value(key));
        assert!(cache.len() <= 4);
    }
}

#[test]
fn a_panicking_clone_in_a_batch_landing_hands_its_keys_to_their_waiters() {
    let trap = Trap::default();
    let cache = Cache::<u32, Fragile, String>::builder()
        .capacity(8)
        .shards(1)
        .build()
        .unwrap();
    let gate = Gate::default();
    let batch_calls = Calls::default();
    let batch = |keys: &[&u32]| {
        batch_calls.record();
        let values: Vec<_> = keys
            .iter()
            .map(|k| Fragile {
                value: **k,
                trap: trap.clone(),
            })
            .collect();
        let gate = gate.clone();
        let trap = trap.clone();
        async move {
            gate.wait().await;
            trap.arm();
            Ok(values)
        }
    };
    let single_calls = Calls::default();
    let single = |key: &u32| {
        single_calls.record();
        let value = Fragile {
            value: *key + 100,
            trap: Trap::default(),
        };
        async move { Ok(value) }
    };
    let keys = [1u32, 2];
    let mut callers: Vec<Caller<'_>> = vec![caught(async {
        let answers = cache
            .get_or_load_many(&keys, batch)
            .await
            .map_err(|e| e.to_string())?;
        Ok(answers[0].status)
    })];
    let (cache_ref, single_ref) = (&cache, &single);
    for key in [1u32, 2] {
        callers.push(caught(async move {
            let answer = cache_ref
                .get_or_load(&key, single_ref)
                .await
                .map_err(|e| e.to_string())?;
            Ok(answer.status)
        }));
    }
    callers.push(Box::pin(async {
        yield_many(20).await;
        assert_eq!(cache.waiters(), 2);
        gate.open();
        None
    }));
    let outcomes = block_on(join_all(callers));
    assert_eq!(outcomes[0], None, "the batch's landing panicked");
    assert!(matches!(outcomes[1], Some(Ok(_))), "{outcomes:?}");
    assert!(matches!(outcomes[2], Some(Ok(_))), "{outcomes:?}");
    assert_eq!(batch_calls.count(), 1);
    assert_eq!((cache.loads_in_flight(), cache.waiters()), (0, 0));
}

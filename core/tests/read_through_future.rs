//! The future `get_or_load` returns, polled by hand: it answers a hit in its first poll, drops
//! the loader exactly once however the call ends (hit, miss, cancelled load, panicking lookup),
//! and refuses to be polled after its answer.

mod common;

use std::hash::{Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::Poll;

use common::{Calls, Gate, poll_once};
use readthrough_core::{Cache, Loader, Status};

/// Counts drops of the loader (and, separately, of the futures its `load` returns).
#[derive(Clone, Default)]
struct Drops {
    loaders: Arc<AtomicUsize>,
    loads: Arc<AtomicUsize>,
}

impl Drops {
    fn loaders(&self) -> usize {
        self.loaders.load(Ordering::SeqCst)
    }
    fn loads(&self) -> usize {
        self.loads.load(Ordering::SeqCst)
    }
}

struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A loader with state: its value is its key plus 100, after `gate` opens.
struct GatedLoader {
    calls: Calls,
    gate: Gate,
    drops: Drops,
    _counted: Counted,
}

impl GatedLoader {
    fn new(calls: &Calls, gate: &Gate, drops: &Drops) -> Self {
        GatedLoader {
            calls: calls.clone(),
            gate: gate.clone(),
            drops: drops.clone(),
            _counted: Counted(drops.loaders.clone()),
        }
    }
}

impl Loader<Key> for GatedLoader {
    type Value = u32;
    type Error = String;
    async fn load(&self, key: &Key) -> Result<u32, String> {
        self.calls.record();
        let _counted = Counted(self.drops.loads.clone());
        self.gate.wait().await;
        Ok(key.id + 100)
    }
}

/// A key whose `Hash` panics while its switch is on.
#[derive(Clone)]
struct Key {
    id: u32,
    panics: Arc<AtomicBool>,
}

impl Key {
    fn new(id: u32) -> Self {
        Key {
            id,
            panics: Arc::default(),
        }
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for Key {}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        if self.panics.load(Ordering::SeqCst) {
            panic!("Hash panicked (on purpose)");
        }
        self.id.hash(state);
    }
}

fn cache() -> Cache<Key, u32, String> {
    Cache::new(16).unwrap()
}

#[test]
fn a_hit_answers_in_the_first_poll_and_drops_the_loader_once() {
    let (cache, calls, gate, drops) =
        (cache(), Calls::default(), Gate::default(), Drops::default());
    let key = Key::new(1);
    cache.insert(key.clone(), 7);
    {
        let mut call = pin!(cache.get_or_load(&key, GatedLoader::new(&calls, &gate, &drops)));
        let Poll::Ready(Ok(answer)) = poll_once(call.as_mut()) else {
            panic!("a hit did not answer in the first poll")
        };
        assert_eq!((answer.value, answer.status), (7, Status::Hit));
        assert_eq!(
            drops.loaders(),
            1,
            "the loader is dropped once the hit answered"
        );
    }
    assert_eq!(
        drops.loaders(),
        1,
        "dropping the finished future drops nothing again"
    );
    assert_eq!((calls.count(), drops.loads()), (0, 0));
    assert_eq!(cache.stats().hits, 1);
}

#[test]
fn a_miss_drops_its_loader_and_load_once() {
    let (cache, calls, gate, drops) =
        (cache(), Calls::default(), Gate::default(), Drops::default());
    let key = Key::new(2);
    {
        let mut call = pin!(cache.get_or_load(&key, GatedLoader::new(&calls, &gate, &drops)));
        assert!(
            poll_once(call.as_mut()).is_pending(),
            "the load waits for the gate"
        );
        assert_eq!((calls.count(), drops.loaders(), drops.loads()), (1, 0, 0));
        gate.open();
        let Poll::Ready(Ok(answer)) = poll_once(call.as_mut()) else {
            panic!("the load did not land once the gate opened")
        };
        assert_eq!((answer.value, answer.status), (102, Status::Miss));
        assert_eq!(
            drops.loads(),
            1,
            "the finished load is dropped when it lands"
        );
    }
    assert_eq!((drops.loaders(), drops.loads()), (1, 1));
    assert_eq!(cache.get(&key), Some(102));
}

#[test]
fn a_cancelled_miss_drops_its_loader_and_load_once_and_a_later_call_loads_again() {
    let (cache, calls, gate, drops) =
        (cache(), Calls::default(), Gate::default(), Drops::default());
    let key = Key::new(3);
    {
        let mut call = pin!(cache.get_or_load(&key, GatedLoader::new(&calls, &gate, &drops)));
        assert!(poll_once(call.as_mut()).is_pending());
    }
    assert_eq!((calls.count(), drops.loaders(), drops.loads()), (1, 1, 1));
    gate.open();
    let again = common::block_on(cache.get_or_load(&key, GatedLoader::new(&calls, &gate, &drops)));
    assert!(matches!(again, Ok(answer) if answer.status == Status::Miss));
    assert_eq!((calls.count(), drops.loaders(), drops.loads()), (2, 2, 2));
}

#[test]
fn a_lookup_that_panics_leaves_a_future_that_drops_its_loader_once() {
    let (cache, calls, gate, drops) =
        (cache(), Calls::default(), Gate::default(), Drops::default());
    let key = Key::new(4);
    key.panics.store(true, Ordering::SeqCst);
    {
        let mut call = pin!(cache.get_or_load(&key, GatedLoader::new(&calls, &gate, &drops)));
        let polled = catch_unwind(AssertUnwindSafe(|| poll_once(call.as_mut())));
        assert!(polled.is_err(), "the key's Hash panicked in the lookup");
        assert_eq!(drops.loaders(), 0, "the loader is still the future's");
    }
    assert_eq!((calls.count(), drops.loaders(), drops.loads()), (0, 1, 0));
}

#[test]
fn a_finished_read_through_future_polled_again_panics() {
    let (cache, calls, gate, drops) =
        (cache(), Calls::default(), Gate::default(), Drops::default());
    cache.insert(Key::new(5), 5);
    gate.open();
    for id in [5, 6] {
        let key = Key::new(id);
        let mut call = pin!(cache.get_or_load(&key, GatedLoader::new(&calls, &gate, &drops)));
        assert!(
            poll_once(call.as_mut()).is_ready(),
            "key {id}: a hit, then a load that does not wait"
        );
        let again = catch_unwind(AssertUnwindSafe(|| poll_once(call.as_mut())));
        assert!(
            again.is_err(),
            "key {id}: polled after its answer, the future panics"
        );
    }
    assert_eq!((calls.count(), drops.loaders(), drops.loads()), (1, 2, 1));
    let stats = cache.stats();
    assert_eq!(
        (stats.hits, stats.misses),
        (1, 1),
        "the second polls counted nothing"
    );
}

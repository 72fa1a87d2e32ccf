//! Random operation sequences on small caches whose keys, values, weigher and listener panic at
//! chosen moments, with arbitrary serving options (refresh ahead, fail-safe, load and soft
//! timeouts: a configuration the builder refuses must be a typed error, never a panic). After
//! every operation (a panic in user code is caught and is not a failure), and after the
//! background tasks it spawned have run: the bound holds, nothing is left loading or waiting,
//! every value answered for a key was written for that key, every caller of a storm of
//! concurrent loads gets an answer, and the fail-safe answers are among the stale ones.
//!
//! A crash is a panic the target did not inject (an assertion here, or a panic inside the cache),
//! an abort, or a hang (libFuzzer's timeout). Run: `bash ci/fuzz.sh` (or `cargo +nightly fuzz run
//! operations` in `fuzz/`).
#![no_main]

use std::cell::Cell;
use std::future::Future;
use std::hash::{BuildHasherDefault, DefaultHasher, Hash, Hasher};
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use readthrough_core::{
    Answer, Builder, Cache, DefaultLock, Error, Listener, ManualTimer, RefreshAhead, RemovalCause,
    Spawn, Unweighted, Weigh, WithSpawn,
};

// ---------------------------------------------------------------- injected panics

/// The payload of every panic this target injects; any other panic is a crash.
struct Injected;

thread_local! {
    /// User-code calls left before the next injected panic (`None`: none armed).
    static COUNTDOWN: Cell<Option<u16>> = const { Cell::new(None) };
}

/// Called at the start of every piece of user code: panics when the armed countdown runs out.
/// Never while unwinding (a second panic would abort the process, which is not the cache's fault).
fn user_code() {
    if std::thread::panicking() {
        return;
    }
    let fire = COUNTDOWN.with(|countdown| match countdown.get() {
        Some(0) => {
            countdown.set(None);
            true
        }
        Some(left) => {
            countdown.set(Some(left - 1));
            false
        }
        None => false,
    });
    if fire {
        panic::panic_any(Injected);
    }
}

fn arm(panic_after: Option<u8>) {
    COUNTDOWN.with(|countdown| countdown.set(panic_after.map(u16::from)));
}

/// libfuzzer-sys aborts on every panic; let the injected ones unwind quietly.
fn let_injected_panics_unwind() {
    let aborting = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if !info.payload().is::<Injected>() {
            aborting(info);
        }
    }));
}

/// Runs `f`, catching an injected panic.
fn catching<T>(f: impl FnOnce() -> T) -> Option<T> {
    panic::catch_unwind(AssertUnwindSafe(f)).ok()
}

// ---------------------------------------------------------------- user types

#[derive(Debug)]
struct Key(u8);

impl Clone for Key {
    fn clone(&self) -> Self {
        user_code();
        Key(self.0)
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        user_code();
        self.0 == other.0
    }
}

impl Eq for Key {}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        user_code();
        self.0.hash(state);
    }
}

impl Drop for Key {
    fn drop(&mut self) {
        user_code();
    }
}

/// A value remembers the key it was written for, so an answer for another key is caught.
#[derive(Debug)]
struct Value {
    key: u8,
    weight: u8,
}

impl Clone for Value {
    fn clone(&self) -> Self {
        user_code();
        Value {
            key: self.key,
            weight: self.weight,
        }
    }
}

impl Drop for Value {
    fn drop(&mut self) {
        user_code();
    }
}

#[derive(Clone, Debug)]
struct Failure;

type WeighFn = fn(&Key, &Value) -> usize;

fn weigh(_key: &Key, value: &Value) -> usize {
    user_code();
    usize::from(value.weight)
}

/// A listener that checks what it hears and may panic.
#[derive(Clone, Copy)]
struct Checking;

impl Listener<Key, Value> for Checking {
    fn on_removal(&self, key: Key, value: Value, _cause: RemovalCause) {
        assert_eq!(
            key.0, value.key,
            "the listener heard a value with another key"
        );
        user_code();
    }
}

/// Background tasks, run by the target after each step (on this thread, so that the injected
/// panics reach them too).
#[derive(Clone, Default)]
struct Queue(Arc<Mutex<Vec<Pin<Box<dyn Future<Output = ()> + Send>>>>>);

impl Spawn for Queue {
    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, task: F) {
        self.0.lock().unwrap().push(Box::pin(task));
    }
}

impl Queue {
    /// Runs every queued task (and those they queue) until each finishes, panics (an injected
    /// panic drops it, which abandons its load), or stays pending for three polls (dropped).
    fn run_all(&self) {
        for _ in 0..4 {
            let tasks: Vec<_> = self.0.lock().unwrap().drain(..).collect();
            if tasks.is_empty() {
                return;
            }
            for mut task in tasks {
                for _ in 0..3 {
                    let polled =
                        catching(|| task.as_mut().poll(&mut Context::from_waker(Waker::noop())));
                    if !matches!(polled, Some(Poll::Pending)) {
                        break;
                    }
                }
                // Finished or not, a task is dropped here; an unfinished one abandons its load.
                let _ = catching(move || drop(task));
            }
        }
        assert!(
            self.0.lock().unwrap().is_empty(),
            "background tasks kept spawning tasks"
        );
    }
}

type Clock = WithSpawn<ManualTimer, Queue>;

/// A key hasher with fixed keys: the default one is seeded per process, so a crash's input
/// would not replay the same shards, sketch counters and ghost places in another process.
type FixedHasher = BuildHasherDefault<DefaultHasher>;

type FuzzCache<W> = Cache<Key, Value, Failure, Clock, FixedHasher, DefaultLock, W, Checking>;

// ---------------------------------------------------------------- input

#[derive(Arbitrary, Debug)]
struct Input {
    capacity: u8,
    shards: u8,
    weighted: bool,
    ttl: Option<u8>,
    stale_window: u8,
    negative_ttl: Option<u8>,
    remembered_errors: u8,
    refresh_ahead: Option<Ahead>,
    /// `(max_stale, throttle)`.
    fail_safe: Option<(u8, u8)>,
    load_timeout: Option<u8>,
    soft_timeout: Option<u8>,
    steps: Vec<Step>,
}

#[derive(Arbitrary, Debug)]
enum Ahead {
    Percent(u8),
    BeforeExpiry(u8),
}

#[derive(Arbitrary, Debug)]
struct Step {
    /// Panic in the n-th piece of user code this step runs.
    panic_after: Option<u8>,
    op: Op,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Insert {
        key: u8,
        weight: u8,
    },
    InsertWithTtl {
        key: u8,
        weight: u8,
        ttl: u8,
    },
    Get {
        key: u8,
    },
    GetStale {
        key: u8,
    },
    Remove {
        key: u8,
    },
    Invalidate {
        key: u8,
    },
    Clear,
    GetOrLoad {
        key: u8,
        load: Load,
    },
    GetOrLoadWithTtl {
        key: u8,
        load: Load,
        ttl: Option<u8>,
    },
    GetOrLoadMany {
        keys: Vec<u8>,
        weight: u8,
        fails: bool,
        count_off_by: i8,
    },
    GetOrRevalidate {
        key: u8,
        load: Load,
    },
    /// Background refresh (and the soft timeout): polled once, then `advance` passes, then the
    /// spawned tasks run and the call must finish.
    GetOrRevalidateInBackground {
        key: u8,
        load: Load,
        advance: u8,
    },
    Refresh {
        key: u8,
        load: Load,
    },
    Revalidate {
        key: u8,
        load: Load,
    },
    /// A leader and waiters on one key, the leader held back until all have joined.
    Storm {
        key: u8,
        waiters: u8,
        cancel_leader: bool,
        load: Load,
    },
    Advance {
        tenths: u8,
    },
}

#[derive(Arbitrary, Clone, Copy, Debug)]
struct Load {
    weight: u8,
    fails: bool,
}

const KEYS: u8 = 16;

fn ms(tenths: u8) -> Duration {
    Duration::from_millis(u64::from(tenths) * 100)
}

// ---------------------------------------------------------------- running

fuzz_target!(init: let_injected_panics_unwind(), |data: &[u8]| {
    let Ok(input) = arbitrary::Unstructured::new(data).arbitrary::<Input>() else {
        return;
    };
    arm(None);
    let capacity = usize::from(input.capacity % 64) + 1;
    let shards = usize::from(input.shards % 8) % capacity + 1;
    let (timer, queue) = (ManualTimer::new(), Queue::default());
    let builder = configure(&input, capacity, shards, &timer, &queue);
    // Arbitrary serving options: the builder refuses the ones that make no sense with a
    // `BuildError` (a panic here is a crash).
    if input.weighted {
        if let Ok(cache) = builder.weigher(weigh as WeighFn).build() {
            run(&Arc::new(cache), &timer, &queue, &input, true);
        }
    } else if let Ok(cache) = builder.build() {
        run(&Arc::new(cache), &timer, &queue, &input, false);
    }
    arm(None);
});

fn configure(
    input: &Input,
    capacity: usize,
    shards: usize,
    timer: &ManualTimer,
    queue: &Queue,
) -> Builder<Key, Value, Failure, Clock, FixedHasher, DefaultLock, Unweighted, Checking> {
    let mut builder = Cache::builder()
        .hasher(FixedHasher::default())
        .capacity(capacity)
        .shards(shards)
        .timer(WithSpawn::new(timer.clone(), queue.clone()))
        .listener(Checking)
        .stale_window(ms(input.stale_window))
        .remembered_errors(usize::from(input.remembered_errors % 8) + 1);
    if let Some(ttl) = input.ttl {
        builder = builder.ttl(ms(ttl));
    }
    if let Some(ttl) = input.negative_ttl {
        builder = builder.negative_ttl(ms(ttl));
    }
    match input.refresh_ahead {
        Some(Ahead::Percent(percent)) => {
            builder = builder.refresh_ahead(RefreshAhead::AfterPercent(percent));
        }
        Some(Ahead::BeforeExpiry(tenths)) => {
            builder = builder.refresh_ahead(RefreshAhead::BeforeExpiry(ms(tenths)));
        }
        None => {}
    }
    if let Some((max_stale, throttle)) = input.fail_safe {
        builder = builder.fail_safe(ms(max_stale), ms(throttle));
    }
    if let Some(limit) = input.load_timeout {
        builder = builder.load_timeout(ms(limit));
    }
    if let Some(soft) = input.soft_timeout {
        builder = builder.soft_timeout(ms(soft));
    }
    builder
}

fn run<W: Weigh<Key, Value> + Send + Sync + 'static>(
    cache: &Arc<FuzzCache<W>>,
    timer: &ManualTimer,
    queue: &Queue,
    input: &Input,
    weighted: bool,
) {
    let mut injected = false;
    for step in input.steps.iter().take(64) {
        arm(step.panic_after);
        // An injected panic may end the step anywhere; what is checked is the state it leaves.
        let _ = catching(|| apply(cache, timer, queue, &step.op));
        queue.run_all();
        injected |= COUNTDOWN.with(Cell::get).is_none() && step.panic_after.is_some();
        arm(None);
        check_idle(cache, weighted);
        // A panicking `Drop` may unwind between counting an answer's fail-safe and its status.
        if !injected {
            let stats = cache.stats();
            assert!(
                stats.fail_safe <= stats.stale,
                "{} fail-safe answers but {} stale ones",
                stats.fail_safe,
                stats.stale
            );
        }
    }
}

fn check_idle<W: Weigh<Key, Value>>(cache: &FuzzCache<W>, weighted: bool) {
    if weighted {
        assert!(
            cache.weight() <= cache.capacity(),
            "weight {} over capacity",
            cache.weight()
        );
    } else {
        assert!(
            cache.len() <= cache.capacity(),
            "len {} over capacity",
            cache.len()
        );
    }
    assert!(
        cache.len() <= cache.weight(),
        "every entry weighs at least 1"
    );
    assert_eq!(cache.loads_in_flight(), 0, "a load was left in flight");
    assert_eq!(cache.waiters(), 0, "a waiter was left waiting");
    // Every key is still readable and answers with its own values (no lock left held).
    for key in 0..KEYS {
        if let Some(value) = cache.get(&Key(key)) {
            assert_eq!(value.key, key, "get answered another key's value");
        }
    }
}

fn answered(key: u8, result: &Result<Answer<Value>, Error<Failure>>) {
    if let Ok(answer) = result {
        assert_eq!(answer.value.key, key, "answered another key's value");
    }
}

fn single_loader(
    key: u8,
    load: Load,
) -> impl Fn(&Key) -> std::future::Ready<Result<Value, Failure>> {
    move |asked: &Key| {
        assert_eq!(asked.0, key, "the loader was asked for another key");
        std::future::ready(if load.fails {
            Err(Failure)
        } else {
            Ok(Value {
                key,
                weight: load.weight,
            })
        })
    }
}

/// Polls a future that never waits on anything outside this thread: with instant loaders it
/// must finish at once.
fn at_once<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("a call with an instant loader did not finish: it waits forever"),
    }
}

fn apply<W: Weigh<Key, Value> + Send + Sync + 'static>(
    cache: &Arc<FuzzCache<W>>,
    timer: &ManualTimer,
    queue: &Queue,
    op: &Op,
) {
    match *op {
        Op::Insert { key, weight } => cache.insert(
            Key(key % KEYS),
            Value {
                key: key % KEYS,
                weight,
            },
        ),
        Op::InsertWithTtl { key, weight, ttl } => {
            let key = key % KEYS;
            cache.insert_with_ttl(Key(key), Value { key, weight }, ms(ttl));
        }
        Op::Get { key } => {
            if let Some(value) = cache.get(&Key(key % KEYS)) {
                assert_eq!(value.key, key % KEYS);
            }
        }
        Op::GetStale { key } => {
            if let Some(answer) = cache.get_stale(&Key(key % KEYS)) {
                assert_eq!(answer.value.key, key % KEYS);
            }
        }
        Op::Remove { key } => {
            if let Some(value) = cache.remove(&Key(key % KEYS)) {
                assert_eq!(value.key, key % KEYS);
            }
        }
        Op::Invalidate { key } => cache.invalidate(&Key(key % KEYS)),
        Op::Clear => cache.clear(),
        Op::GetOrLoad { key, load } => {
            let key = key % KEYS;
            let result = at_once(cache.get_or_load(&Key(key), single_loader(key, load)));
            answered(key, &result);
        }
        Op::GetOrLoadWithTtl { key, load, ttl } => {
            let key = key % KEYS;
            let plain = single_loader(key, load);
            let loader = |asked: &Key| {
                let loaded = plain(asked).into_inner().map(|value| (value, ttl.map(ms)));
                std::future::ready(loaded)
            };
            let result = at_once(cache.get_or_load_with_ttl(&Key(key), loader));
            answered(key, &result);
        }
        Op::GetOrLoadMany {
            ref keys,
            weight,
            fails,
            count_off_by,
        } => {
            let keys: Vec<Key> = keys.iter().take(8).map(|key| Key(key % KEYS)).collect();
            let loader = |asked: &[&Key]| {
                let mut values: Vec<Value> = asked
                    .iter()
                    .map(|key| Value { key: key.0, weight })
                    .collect();
                match count_off_by {
                    1.. => values.push(Value { key: 0, weight }),
                    ..0 => {
                        values.pop();
                    }
                    0 => {}
                }
                std::future::ready(if fails { Err(Failure) } else { Ok(values) })
            };
            // `count_off_by` is rarely zero: keep the right count most of the time.
            let result = at_once(cache.get_or_load_many(&keys, loader));
            if let Ok(answers) = result {
                assert_eq!(answers.len(), keys.len());
                for (key, answer) in keys.iter().zip(&answers) {
                    assert_eq!(
                        answer.value.key, key.0,
                        "a batch answered another key's value"
                    );
                }
            }
        }
        Op::GetOrRevalidate { key, load } => {
            let key = key % KEYS;
            let result = at_once(cache.get_or_revalidate(&Key(key), single_loader(key, load)));
            answered(key, &result);
        }
        Op::GetOrRevalidateInBackground { key, load, advance } => {
            let key = key % KEYS;
            let asked = Key(key);
            let mut call = std::pin::pin!(
                cache.get_or_revalidate_in_background(&asked, single_loader(key, load))
            );
            let mut poll = || call.as_mut().poll(&mut Context::from_waker(Waker::noop()));
            let mut outcome = poll();
            if outcome.is_pending() {
                // Past the soft timeout (or not): the caller answers with the value at hand
                // or waits on; the load lands once its task runs.
                timer.advance(ms(advance));
                outcome = poll();
            }
            for _ in 0..4 {
                if outcome.is_ready() {
                    break;
                }
                queue.run_all();
                outcome = poll();
            }
            match outcome {
                Poll::Ready(result) => answered(key, &result),
                Poll::Pending => panic!("a background call with an instant loader never finished"),
            }
        }
        Op::Refresh { key, load } => {
            let key = key % KEYS;
            if let Some(result) = at_once(cache.refresh(&Key(key), single_loader(key, load))) {
                answered(key, &result);
            }
        }
        Op::Revalidate { key, load } => {
            let key = key % KEYS;
            if let Some(result) = at_once(cache.revalidate(&Key(key), single_loader(key, load))) {
                answered(key, &result);
            }
        }
        Op::Storm {
            key,
            waiters,
            cancel_leader,
            load,
        } => storm(cache, key % KEYS, waiters % 5, cancel_leader, load),
        Op::Advance { tenths } => timer.advance(ms(tenths)),
    }
}

/// A future that is pending until its gate opens.
struct Gated {
    open: Rc<Cell<bool>>,
}

impl Future for Gated {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if self.open.get() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

type Call<'a> = Pin<Box<dyn Future<Output = Result<Answer<Value>, Error<Failure>>> + 'a>>;

/// One leader and `waiters` waiters on `key`; the leader may be cancelled. Every caller that is
/// not cancelled and does not panic must get an answer.
fn storm<W: Weigh<Key, Value>>(
    cache: &FuzzCache<W>,
    key: u8,
    waiters: u8,
    cancel_leader: bool,
    load: Load,
) {
    let open = Rc::new(Cell::new(false));
    let keys: Vec<Key> = (0..=waiters).map(|_| Key(key)).collect();
    let loader = |asked: &Key| {
        assert_eq!(asked.0, key, "the loader was asked for another key");
        let gate = Gated { open: open.clone() };
        async move {
            gate.await;
            if load.fails {
                Err(Failure)
            } else {
                Ok(Value {
                    key,
                    weight: load.weight,
                })
            }
        }
    };
    let mut calls: Vec<Option<Call<'_>>> = keys
        .iter()
        .map(|key| Some(Box::pin(cache.get_or_load(key, loader)) as Call<'_>))
        .collect();
    let poll_all = |calls: &mut Vec<Option<Call<'_>>>| {
        for slot in calls.iter_mut() {
            let Some(call) = slot.as_mut() else { continue };
            let polled = catching(|| call.as_mut().poll(&mut Context::from_waker(Waker::noop())));
            match polled {
                Some(Poll::Pending) => {}
                Some(Poll::Ready(result)) => {
                    answered(key, &result);
                    *slot = None;
                }
                // Injected: this caller is gone (dropping it must not strand the others).
                None => *slot = None,
            }
        }
    };
    poll_all(&mut calls);
    if cancel_leader {
        calls[0] = None;
    }
    open.set(true);
    for _ in 0..=2 * usize::from(waiters) + 2 {
        poll_all(&mut calls);
    }
    let stranded = calls.iter().filter(|call| call.is_some()).count();
    assert_eq!(stranded, 0, "{stranded} callers never got an answer");
}
